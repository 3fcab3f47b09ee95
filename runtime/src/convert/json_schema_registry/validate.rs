//! Checks a JSON value against a JSON Schema (`json.fail.invalid.schema=true`): the
//! structural keywords that decide what a Connect record may hold — `type` (and type
//! lists), `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`,
//! `oneOf`/`anyOf`/`allOf`/`not`, `minimum`/`maximum` (and the exclusive forms),
//! `minLength`/`maxLength`, `minItems`/`maxItems` and local `$ref`s. Other keywords
//! (`pattern`, `format`, `patternProperties`, …) are not checked: see
//! docs/schema-registry.md for why Sluice does not use a full validator.

use serde_json::{Map, Value as Json};

/// `Ok` if `value` satisfies `schema`; else the first violation, with where it is
/// (a JSON pointer into the value).
pub fn validate(schema: &Json, value: &Json) -> Result<(), String> {
    Validator { root: schema }.check(schema, value, "", 0)
}

struct Validator<'a> {
    root: &'a Json,
}

fn type_of(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn has_type(v: &Json, t: &str) -> bool {
    match t {
        "integer" => match v {
            Json::Number(n) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        },
        "number" => v.is_number(),
        other => type_of(v) == other,
    }
}

fn at(path: &str) -> &str {
    if path.is_empty() {
        "/"
    } else {
        path
    }
}

impl Validator<'_> {
    fn check(&self, schema: &Json, v: &Json, path: &str, depth: usize) -> Result<(), String> {
        if depth > 64 {
            return Err(format!("{}: the schema nests too deep to check", at(path)));
        }
        let s = match schema {
            Json::Bool(true) => return Ok(()),
            Json::Bool(false) => return Err(format!("{}: no value is allowed here", at(path))),
            Json::Object(s) => s,
            _ => return Ok(()),
        };
        if let Some(r) = s.get("$ref").and_then(Json::as_str) {
            let target = r
                .strip_prefix('#')
                .and_then(|p| self.root.pointer(p))
                .ok_or_else(|| format!("{}: $ref {} cannot be resolved", at(path), r))?;
            return self.check(target, v, path, depth + 1);
        }
        self.check_type(s, v, path)?;
        if let Some(Json::Array(e)) = s.get("enum") {
            if !e.contains(v) {
                return Err(format!(
                    "{}: {} is not one of {}",
                    at(path),
                    v,
                    Json::Array(e.clone())
                ));
            }
        }
        if let Some(c) = s.get("const") {
            if c != v {
                return Err(format!("{}: {} is not the constant {}", at(path), v, c));
            }
        }
        self.check_bounds(s, v, path)?;
        match v {
            Json::Object(o) => self.check_object(s, o, path, depth)?,
            Json::Array(items) => self.check_array(s, items, path, depth)?,
            _ => {}
        }
        if let Some(Json::Array(all)) = s.get("allOf") {
            for sub in all {
                self.check(sub, v, path, depth + 1)?;
            }
        }
        if let Some(Json::Array(any)) = s.get("anyOf") {
            let mut why = Vec::new();
            if !any
                .iter()
                .any(|sub| match self.check(sub, v, path, depth + 1) {
                    Ok(()) => true,
                    Err(e) => {
                        why.push(e);
                        false
                    }
                })
            {
                return Err(format!(
                    "{}: matches no anyOf branch ({})",
                    at(path),
                    why.join("; ")
                ));
            }
        }
        if let Some(Json::Array(one)) = s.get("oneOf") {
            let mut why = Vec::new();
            let matching = one
                .iter()
                .filter(|sub| match self.check(sub, v, path, depth + 1) {
                    Ok(()) => true,
                    Err(e) => {
                        why.push(e);
                        false
                    }
                })
                .count();
            if matching != 1 {
                return Err(format!(
                    "{}: matches {} oneOf branches, not exactly one{}",
                    at(path),
                    matching,
                    if matching == 0 {
                        format!(" ({})", why.join("; "))
                    } else {
                        String::new()
                    }
                ));
            }
        }
        if let Some(not) = s.get("not") {
            if self.check(not, v, path, depth + 1).is_ok() {
                return Err(format!("{}: {} matches a schema it must not", at(path), v));
            }
        }
        Ok(())
    }

    fn check_type(&self, s: &Map<String, Json>, v: &Json, path: &str) -> Result<(), String> {
        let types: Vec<&str> = match s.get("type") {
            Some(Json::String(t)) => vec![t],
            Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
            _ => return Ok(()),
        };
        if types.iter().any(|t| has_type(v, t)) {
            return Ok(());
        }
        Err(format!(
            "{}: expected {} but found {}",
            at(path),
            types.join(" or "),
            type_of(v)
        ))
    }

    fn check_bounds(&self, s: &Map<String, Json>, v: &Json, path: &str) -> Result<(), String> {
        let num = |k: &str| s.get(k).and_then(Json::as_f64);
        if let Some(x) = v.as_f64() {
            let bad = num("minimum").is_some_and(|m| x < m)
                || num("maximum").is_some_and(|m| x > m)
                || num("exclusiveMinimum").is_some_and(|m| x <= m)
                || num("exclusiveMaximum").is_some_and(|m| x >= m);
            if bad {
                return Err(format!("{}: {} is out of the schema's bounds", at(path), v));
            }
        }
        let len = match v {
            Json::String(t) => Some((t.chars().count(), "minLength", "maxLength")),
            Json::Array(a) => Some((a.len(), "minItems", "maxItems")),
            _ => None,
        };
        if let Some((n, min, max)) = len {
            let bad = num(min).is_some_and(|m| (n as f64) < m)
                || num(max).is_some_and(|m| (n as f64) > m);
            if bad {
                return Err(format!(
                    "{}: length {} is out of the schema's bounds",
                    at(path),
                    n
                ));
            }
        }
        Ok(())
    }

    fn check_object(
        &self,
        s: &Map<String, Json>,
        o: &Map<String, Json>,
        path: &str,
        depth: usize,
    ) -> Result<(), String> {
        if let Some(Json::Array(req)) = s.get("required") {
            for r in req.iter().filter_map(Json::as_str) {
                if !o.contains_key(r) {
                    return Err(format!("{}: required property {} is missing", at(path), r));
                }
            }
        }
        let props = s.get("properties").and_then(Json::as_object);
        for (k, v) in o {
            let p = format!("{}/{}", path, k);
            match props.and_then(|p| p.get(k)) {
                Some(ps) => self.check(ps, v, &p, depth + 1)?,
                None => match s.get("additionalProperties") {
                    Some(Json::Bool(false)) => {
                        return Err(format!(
                            "{}: property {} is not in the schema, which allows no others",
                            at(path),
                            k
                        ))
                    }
                    Some(ap @ Json::Object(_)) => self.check(ap, v, &p, depth + 1)?,
                    _ => {}
                },
            }
        }
        Ok(())
    }

    fn check_array(
        &self,
        s: &Map<String, Json>,
        items: &[Json],
        path: &str,
        depth: usize,
    ) -> Result<(), String> {
        match s.get("items") {
            Some(Json::Array(tuple)) => {
                for (i, (sub, v)) in tuple.iter().zip(items).enumerate() {
                    self.check(sub, v, &format!("{}/{}", path, i), depth + 1)?;
                }
            }
            Some(sub) => {
                for (i, v) in items.iter().enumerate() {
                    self.check(sub, v, &format!("{}/{}", path, i), depth + 1)?;
                }
            }
            None => {}
        }
        Ok(())
    }
}
