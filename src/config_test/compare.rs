//! Expected against actual output: every field the test names must match; fields it
//! leaves out are not checked. `<field>_json` compares the field's text parsed as JSON,
//! so key order and spacing do not matter; an expected `error` is a part of the error
//! message (they are long and name positions).

use serde_json::Value as Json;

/// The differences, one line each (`output 2: value: expected "a", got "b"`).
pub fn differences(expected: &[Json], actual: &[Json]) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..expected.len().max(actual.len()) {
        let at = format!("output {}", i + 1);
        match (expected.get(i), actual.get(i)) {
            (Some(e), Some(a)) => subset(e, a, &at, &mut out),
            (Some(e), None) => out.push(format!("{at}: missing, expected {}", compact(e))),
            (None, Some(a)) => out.push(format!("{at}: not expected, got {}", compact(a))),
            (None, None) => {}
        }
    }
    out
}

fn compact(v: &Json) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn subset(expected: &Json, actual: &Json, at: &str, out: &mut Vec<String>) {
    match (expected, actual) {
        (Json::Object(e), Json::Object(a)) => {
            for (k, ev) in e {
                let here = format!("{at}: {k}");
                if let Some(field) = k.strip_suffix("_json").filter(|f| a.contains_key(*f)) {
                    let parsed = match &a[field] {
                        Json::String(s) => serde_json::from_str::<Json>(s).ok(),
                        other => Some(other.clone()),
                    };
                    match parsed {
                        Some(p) if same(&p, ev) => {}
                        Some(p) => out.push(format!(
                            "{here}: expected {}, got {}",
                            compact(ev),
                            compact(&p)
                        )),
                        None => out.push(format!(
                            "{here}: expected JSON {}, got text that is not JSON: {}",
                            compact(ev),
                            compact(&a[field])
                        )),
                    }
                    continue;
                }
                match a.get(k) {
                    Some(Json::String(got)) if k == "error" && ev.is_string() => {
                        let want = ev.as_str().unwrap_or_default();
                        if !got.contains(want) {
                            out.push(format!(
                                "{here}: expected a message containing {}, got {}",
                                compact(ev),
                                compact(&a[k])
                            ));
                        }
                    }
                    Some(av) => subset(ev, av, &here, out),
                    None if ev.is_null() => {}
                    None => out.push(format!("{here}: expected {}, got nothing", compact(ev))),
                }
            }
        }
        (e, a) if same(e, a) => {}
        (e, a) => out.push(format!("{at}: expected {}, got {}", compact(e), compact(a))),
    }
}

/// Equal values, where 5 and 5.0 are the same number.
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn named_fields_are_checked_and_others_are_not() {
        let e = vec![json!({"value": "a", "headers": {"h": "1"}})];
        let a = vec![json!({"topic": "t", "value": "a", "headers": {"h": "1", "x": "2"}})];
        assert!(differences(&e, &a).is_empty());
        let a2 = vec![json!({"value": "b", "headers": {"h": "2"}})];
        assert_eq!(
            differences(&e, &a2),
            // in the order the test names the fields
            vec![
                "output 1: value: expected \"a\", got \"b\"",
                "output 1: headers: h: expected \"1\", got \"2\""
            ]
        );
    }

    #[test]
    fn json_fields_compare_parsed_and_counts_must_match() {
        let e = vec![json!({"value_json": {"a": 1, "b": [true]}})];
        let a = vec![json!({"value": "{\"b\": [true], \"a\": 1.0}"})];
        assert_eq!(differences(&e, &a), Vec::<String>::new());
        let a = vec![json!({"value": "{\"a\":2}"}), json!({"value": "x"})];
        let d = differences(&e, &a);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].contains("value_json: expected"), "{d:?}");
        assert!(d[1].starts_with("output 2: not expected"), "{d:?}");
        assert_eq!(
            differences(&[json!({"error": "boom"})], &[]),
            vec!["output 1: missing, expected {\"error\":\"boom\"}"]
        );
    }
}
