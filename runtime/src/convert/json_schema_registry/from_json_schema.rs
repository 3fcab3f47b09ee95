//! JSON Schema → Connect schema, as Confluent's `JsonSchemaData.toConnectSchema` reads
//! it, for schemas Sluice (or Confluent's converter) wrote and for schemas written by
//! hand for other producers (confluent-kafka's `JSONSerializer`, …):
//!
//! - `integer` → int64 and `number` → float64 unless `connect.type` says otherwise;
//!   `string` → string (bytes with `connect.type: bytes`), `boolean` → boolean;
//! - `object` → a struct of its `properties` (ordered by `connect.index`, else as
//!   written), named by `title`; with `connect.type: map` → a map with string keys and
//!   the `additionalProperties` schema as values; `array` → an array of `items` (a map
//!   with `connect.type: map` and `key`/`value` items);
//! - `oneOf`/`anyOf` (and `type` lists) of `null` and one schema → that schema,
//!   optional; of one schema → that schema; of several → a struct named
//!   `io.confluent.connect.json.OneOf` with one optional field per branch;
//! - `allOf` → a struct of the properties of its object branches, else its most
//!   specific branch; `enum`/`const` → a string with `io.confluent.connect.json.Enum`
//!   parameters (the number for numeric enums);
//! - properties are required Connect fields unless they are a `oneOf` with `null`, or
//!   `use.optional.for.nonrequired=true` and not in `required`; an absent required
//!   property reads as null, as in Confluent's converter;
//! - `title` → name, `description` → doc, `connect.version`, `connect.parameters` and
//!   `default` → the same in Connect; local `$ref`s (`#/definitions/…`, `#/$defs/…`) are
//!   followed (a recursive one is an error, as are references to other schemas).
//!
//! `{}`/`true` (any value) and a lone `null` type have no Connect schema: an error names
//! where they are.

use serde_json::{Map, Value as Json};

use super::to_json_schema::{ENUM, NULL_MARKER, ONE_OF};
use super::value::json_to_connect;
use super::JsonSchemaOptions;
use crate::convert::ConvertError;
use crate::data::{SchemaBuilder, SchemaRef, SchemaType};

/// The Connect schema of a JSON Schema document.
pub fn connect_schema_from_json_schema(
    root: &Json,
    options: &JsonSchemaOptions,
) -> Result<SchemaRef, ConvertError> {
    let mut ctx = Ctx {
        root,
        options,
        refs: Vec::new(),
    };
    ctx.convert(root, "#", false).map_err(ConvertError::new)
}

struct Ctx<'a> {
    root: &'a Json,
    options: &'a JsonSchemaOptions,
    /// The `$ref`s being followed (to refuse recursion).
    refs: Vec<String>,
}

fn type_names(node: &Map<String, Json>) -> Vec<&str> {
    match node.get("type") {
        Some(Json::String(t)) => vec![t.as_str()],
        Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

fn is_null_schema(node: &Json) -> bool {
    node.as_object()
        .map(|o| type_names(o) == ["null"])
        .unwrap_or(false)
}

/// The node a local `$ref` names in `root`.
fn resolve<'r>(root: &'r Json, reference: &str, at: &str) -> Result<&'r Json, String> {
    {
        let Some(pointer) = reference.strip_prefix('#') else {
            return Err(format!(
                "{}: $ref {} points outside the schema; schema references are not supported",
                at, reference
            ));
        };
        root.pointer(pointer)
            .ok_or_else(|| format!("{}: $ref {} names nothing in the schema", at, reference))
    }
}

impl Ctx<'_> {
    fn convert(
        &mut self,
        node: &Json,
        at: &str,
        force_optional: bool,
    ) -> Result<SchemaRef, String> {
        let o = match node {
            Json::Object(o) if !o.is_empty() => o,
            Json::Object(_) | Json::Bool(true) => {
                return Err(format!(
                    "{}: the schema {} accepts any value, which has no Connect schema",
                    at, node
                ))
            }
            other => return Err(format!("{}: {} is not a JSON Schema", at, other)),
        };
        if let Some(r) = o.get("$ref") {
            let r = r
                .as_str()
                .ok_or_else(|| format!("{}: $ref is not a string", at))?;
            if self.refs.iter().any(|x| x == r) {
                return Err(format!(
                    "{}: $ref {} refers to itself; recursive schemas are not supported",
                    at, r
                ));
            }
            let target = resolve(self.root, r, at)?;
            self.refs.push(r.to_string());
            let s = self.convert(target, r, force_optional);
            self.refs.pop();
            return s;
        }
        let combined = o.get("oneOf").or_else(|| o.get("anyOf"));
        if let Some(subs) = combined {
            let subs = subs
                .as_array()
                .ok_or_else(|| format!("{}: oneOf/anyOf is not an array", at))?;
            return self.union(subs.to_vec(), at, force_optional);
        }
        let types = type_names(o);
        if types.len() > 1 {
            // a list of types is an anyOf of the same schema with each type
            let subs = types
                .iter()
                .map(|t| {
                    let mut s = o.clone();
                    s.insert("type".into(), Json::String(t.to_string()));
                    Json::Object(s)
                })
                .collect();
            return self.union(subs, at, force_optional);
        }
        if let Some(all) = o.get("allOf") {
            let all = all
                .as_array()
                .ok_or_else(|| format!("{}: allOf is not an array", at))?;
            return self.all_of(all, at, force_optional);
        }
        let numeric = matches!(types.first(), Some(&"integer") | Some(&"number"));
        let mut b = if (o.contains_key("enum") || o.contains_key("const")) && !numeric {
            let symbols: Vec<&Json> = match (o.get("enum"), o.get("const")) {
                (Some(Json::Array(e)), _) => e.iter().collect(),
                (_, Some(c)) => vec![c],
                _ => return Err(format!("{}: enum is not an array", at)),
            };
            let mut b = SchemaBuilder::new(SchemaType::String).parameter(ENUM, "");
            for s in symbols {
                let sym = match s {
                    Json::Null => NULL_MARKER.to_string(),
                    Json::String(t) => t.clone(),
                    other => other.to_string(),
                };
                b = b.parameter(format!("{}.{}", ENUM, sym), sym);
            }
            b
        } else {
            let t = match types.first() {
                Some(t) => *t,
                None if o.contains_key("properties")
                    || o.contains_key("additionalProperties")
                    || o.contains_key("required") =>
                {
                    "object"
                }
                None if o.contains_key("items") => "array",
                None => {
                    return Err(format!(
                        "{}: the schema has no type (and no properties or items): {}",
                        at, node
                    ))
                }
            };
            self.typed(o, t, at)?
        };
        let name = o.get("title").and_then(Json::as_str);
        if let (Some(n), true) = (name, b.clone().build().name.is_none()) {
            b = b.name(n);
        }
        if let Some(v) = o.get("connect.version").and_then(Json::as_i64) {
            b = b.version(v as i32);
        }
        if let Some(d) = o.get("description").and_then(Json::as_str) {
            b = b.doc(d);
        }
        if let Some(Json::Object(ps)) = o.get("connect.parameters") {
            for (k, v) in ps {
                let v = match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                b = b.parameter(k.clone(), v);
            }
        }
        if force_optional {
            b = b.optional();
        }
        if let Some(d) = o.get("default").filter(|d| !d.is_null()) {
            let plain = b.clone().build();
            let v = json_to_connect(&plain, Some(d))
                .map_err(|e| format!("{}: the default {} does not fit: {}", at, d, e))?;
            b = b.default_value(v);
        }
        Ok(b.build())
    }

    /// The builder for a schema of one JSON type `t`.
    fn typed(&mut self, o: &Map<String, Json>, t: &str, at: &str) -> Result<SchemaBuilder, String> {
        let connect_type = o.get("connect.type").and_then(Json::as_str);
        Ok(match t {
            "boolean" => SchemaBuilder::new(SchemaType::Boolean),
            "integer" | "number" => {
                let kind = match connect_type {
                    None if t == "integer" => SchemaType::Int64,
                    None => SchemaType::Float64,
                    Some("int8") => SchemaType::Int8,
                    Some("int16") => SchemaType::Int16,
                    Some("int32") => SchemaType::Int32,
                    Some("int64") => SchemaType::Int64,
                    Some("float32") => SchemaType::Float32,
                    Some("float64") => SchemaType::Float64,
                    Some("bytes") => SchemaType::Bytes,
                    Some(other) => {
                        return Err(format!(
                            "{}: connect.type {} is not a number type",
                            at, other
                        ))
                    }
                };
                SchemaBuilder::new(kind)
            }
            "string" => SchemaBuilder::new(if connect_type == Some("bytes") {
                SchemaType::Bytes
            } else {
                SchemaType::String
            }),
            "array" => {
                let items = o.get("items").ok_or_else(|| {
                    format!("{}: Array schema did not specify the items type", at)
                })?;
                let items_at = format!("{}/items", at);
                let entry = items.as_object().and_then(|i| i.get("properties"));
                match (connect_type, entry) {
                    (Some("map"), Some(props)) => {
                        let k = props.get("key").ok_or_else(|| {
                            format!("{}: a map entry schema without a key property", items_at)
                        })?;
                        let v = props.get("value").ok_or_else(|| {
                            format!("{}: a map entry schema without a value property", items_at)
                        })?;
                        let ks = self.convert(k, &format!("{}/properties/key", items_at), false)?;
                        let vs =
                            self.convert(v, &format!("{}/properties/value", items_at), false)?;
                        SchemaBuilder::map(ks, vs)
                    }
                    _ => SchemaBuilder::array(self.convert(items, &items_at, false)?),
                }
            }
            "object" if connect_type == Some("map") => {
                let vs = o.get("additionalProperties").ok_or_else(|| {
                    format!(
                        "{}: a map (connect.type map) without additionalProperties",
                        at
                    )
                })?;
                let vs = self.convert(vs, &format!("{}/additionalProperties", at), false)?;
                SchemaBuilder::map(crate::data::primitive(SchemaType::String, false), vs)
            }
            "object" => self.object(o, at)?,
            "null" => {
                return Err(format!(
                    "{}: a schema of type null alone has no Connect schema",
                    at
                ))
            }
            other => return Err(format!("{}: unknown type {}", at, other)),
        })
    }

    fn object(&mut self, o: &Map<String, Json>, at: &str) -> Result<SchemaBuilder, String> {
        let empty = Map::new();
        let props = match o.get("properties") {
            Some(Json::Object(p)) => p,
            Some(_) => return Err(format!("{}: properties is not an object", at)),
            None => &empty,
        };
        let required: Vec<&str> = o
            .get("required")
            .and_then(Json::as_array)
            .map(|r| r.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        self.fields(
            props
                .iter()
                .map(|(k, v)| (k, v, required.contains(&k.as_str()))),
            at,
        )
    }

    /// A struct of `props` (name, schema, required), ordered by `connect.index`.
    fn fields<'p>(
        &mut self,
        props: impl Iterator<Item = (&'p String, &'p Json, bool)>,
        at: &str,
    ) -> Result<SchemaBuilder, String> {
        let mut props: Vec<(usize, &String, &Json, bool)> = props
            .enumerate()
            .map(|(i, (k, v, r))| {
                let idx = v
                    .get("connect.index")
                    .and_then(Json::as_u64)
                    .map(|x| x as usize)
                    .unwrap_or(i);
                (idx, k, v, r)
            })
            .collect();
        props.sort_by_key(|p| p.0);
        let mut b = SchemaBuilder::struct_();
        for (_, name, schema, required) in props {
            let optional = self.options.optional_for_nonrequired && !required;
            let s = self.convert(schema, &format!("{}/properties/{}", at, name), optional)?;
            b = b.field(name.clone(), s);
        }
        Ok(b)
    }

    fn union(
        &mut self,
        subs: Vec<Json>,
        at: &str,
        force_optional: bool,
    ) -> Result<SchemaRef, String> {
        if subs.len() == 1 {
            return self.convert(&subs[0], &format!("{}/oneOf/0", at), force_optional);
        }
        if subs.len() == 2 {
            if let Some(i) = subs.iter().position(is_null_schema) {
                let other = 1 - i;
                return self.convert(&subs[other], &format!("{}/oneOf/{}", at, other), true);
            }
        }
        let mut b = SchemaBuilder::struct_().name(ONE_OF);
        let mut n = 0;
        for (i, s) in subs.iter().enumerate() {
            if is_null_schema(s) {
                b = b.optional();
                continue;
            }
            let f = self.convert(s, &format!("{}/oneOf/{}", at, i), true)?;
            b = b.field(format!("{}.field.{}", ONE_OF, n), f);
            n += 1;
        }
        if force_optional {
            b = b.optional();
        }
        Ok(b.build())
    }

    fn all_of(
        &mut self,
        subs: &[Json],
        at: &str,
        force_optional: bool,
    ) -> Result<SchemaRef, String> {
        // the properties of every object branch (following $refs and nested allOfs)
        let mut props: Vec<(String, Json, bool)> = Vec::new();
        let mut stack: Vec<&Json> = subs.iter().rev().collect();
        let mut seen = 0;
        while let Some(s) = stack.pop() {
            seen += 1;
            if seen > 1000 {
                return Err(format!("{}: allOf nests too deep", at));
            }
            let Some(o) = s.as_object() else { continue };
            if let Some(r) = o.get("$ref").and_then(Json::as_str) {
                stack.push(resolve(self.root, r, at)?);
                continue;
            }
            if let Some(Json::Array(inner)) = o.get("allOf") {
                stack.extend(inner.iter().rev());
            }
            if let Some(Json::Object(p)) = o.get("properties") {
                let required: Vec<&str> = o
                    .get("required")
                    .and_then(Json::as_array)
                    .map(|r| r.iter().filter_map(Json::as_str).collect())
                    .unwrap_or_default();
                for (k, v) in p {
                    let req = required.contains(&k.as_str());
                    match props.iter_mut().find(|(n, _, _)| n == k) {
                        Some(e) => *e = (k.clone(), v.clone(), req),
                        None => props.push((k.clone(), v.clone(), req)),
                    }
                }
            }
        }
        if !props.is_empty() {
            let mut b = self.fields(props.iter().map(|(k, v, r)| (k, v, *r)), at)?;
            if force_optional {
                b = b.optional();
            }
            return Ok(b.build());
        }
        // else the most specific branch: a union, an enum, a typed schema, a $ref
        let rank = |s: &Json| -> u8 {
            let Some(o) = s.as_object() else { return 9 };
            if o.contains_key("oneOf") || o.contains_key("anyOf") {
                0
            } else if o.contains_key("enum") || o.contains_key("const") {
                1
            } else if o.contains_key("type") {
                2
            } else if o.contains_key("$ref") {
                3
            } else {
                9
            }
        };
        let best = subs
            .iter()
            .enumerate()
            .filter(|(_, s)| rank(s) < 9)
            .min_by_key(|(_, s)| rank(s))
            .ok_or_else(|| format!("{}: unsupported allOf (no branch has a type)", at))?;
        // an enum branch beside a number branch is the number
        let numeric = subs.iter().any(|s| {
            matches!(
                s.get("type").and_then(Json::as_str),
                Some("integer") | Some("number")
            )
        });
        let (i, s) = if rank(best.1) == 1 && numeric {
            subs.iter()
                .enumerate()
                .find(|(_, s)| s.get("type").is_some())
                .unwrap_or(best)
        } else {
            best
        };
        self.convert(s, &format!("{}/allOf/{}", at, i), force_optional)
    }
}
