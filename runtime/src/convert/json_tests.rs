//! JsonConverter against Connect's envelope, type by type.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Value as Json};

use super::json::{JsonConverter, JsonConverterConfig};
use super::json_value::DecimalFormat;
use crate::data::logical::{self, decimal_builder};
use crate::data::{primitive, SchemaAndValue, SchemaBuilder, SchemaRef, SchemaType, Struct, Value};

fn enc(c: &mut JsonConverter, d: &SchemaAndValue) -> Json {
    serde_json::from_slice(&c.serialize(d).unwrap().unwrap()).unwrap()
}

fn dec(c: &mut JsonConverter, j: Json) -> SchemaAndValue {
    c.deserialize(Some(&serde_json::to_vec(&j).unwrap()))
        .unwrap()
}

fn round_trip(schema: SchemaRef, value: Value, expected_schema: Json, expected_payload: Json) {
    let mut c = JsonConverter::with_schemas(true);
    let data = SchemaAndValue::with_schema(schema.clone(), value.clone());
    let j = enc(&mut c, &data);
    assert_eq!(
        j,
        json!({"schema": expected_schema, "payload": expected_payload})
    );
    let back = dec(&mut c, j);
    assert_eq!(back.schema.as_deref(), Some(&*schema));
    assert_eq!(back.value, value);
}

#[test]
fn every_primitive_type() {
    use SchemaType::*;
    let cases: Vec<(SchemaType, Value, &str, Json)> = vec![
        (Int8, Value::Int8(-8), "int8", json!(-8)),
        (Int16, Value::Int16(300), "int16", json!(300)),
        (Int32, Value::Int32(70_000), "int32", json!(70_000)),
        (Int64, Value::Int64(1 << 40), "int64", json!(1u64 << 40)),
        (Float32, Value::Float32(1.5), "float", json!(1.5)),
        (Float64, Value::Float64(-2.25), "double", json!(-2.25)),
        (Boolean, Value::Boolean(true), "boolean", json!(true)),
        (
            String,
            Value::String("héllo".into()),
            "string",
            json!("héllo"),
        ),
        (
            Bytes,
            Value::Bytes(bytes::Bytes::from_static(b"\x00\x01\xff")),
            "bytes",
            json!("AAH/"),
        ),
    ];
    for (kind, value, name, payload) in cases {
        round_trip(
            primitive(kind, false),
            value,
            json!({"type": name, "optional": false}),
            payload,
        );
    }
}

#[test]
fn struct_with_connects_field_order_and_metadata() {
    let tags = SchemaBuilder::array(primitive(SchemaType::String, false))
        .optional()
        .build();
    let schema = SchemaBuilder::struct_()
        .name("x.User")
        .version(2)
        .doc("a user")
        .parameter("p", "v")
        .field("id", primitive(SchemaType::Int32, false))
        .field("tags", tags.clone())
        .field("nick", primitive(SchemaType::String, true))
        .build();
    let mut s = Struct::new(schema.clone());
    s.put("id", Value::Int32(1)).unwrap();
    s.put("tags", Value::Array(vec![Value::from("a")])).unwrap();
    round_trip(
        schema,
        Value::Struct(s),
        json!({"type":"struct","fields":[
            {"type":"int32","optional":false,"field":"id"},
            {"type":"array","items":{"type":"string","optional":false},"optional":true,"field":"tags"},
            {"type":"string","optional":true,"field":"nick"}],
          "optional":false,"name":"x.User","version":2,"doc":"a user","parameters":{"p":"v"}}),
        json!({"id":1,"tags":["a"],"nick":null}),
    );
    // Field order in the bytes is Connect's: type first, field last.
    let mut c = JsonConverter::with_schemas(true);
    let schema2 = SchemaBuilder::struct_()
        .field("id", primitive(SchemaType::Int32, false))
        .build();
    let mut s2 = Struct::new(schema2.clone());
    s2.put("id", Value::Int32(5)).unwrap();
    let text = c
        .serialize(&SchemaAndValue::with_schema(schema2, Value::Struct(s2)))
        .unwrap()
        .unwrap();
    assert_eq!(
        std::str::from_utf8(&text).unwrap(),
        r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false},"payload":{"id":5}}"#
    );
}

#[test]
fn maps_with_string_and_other_keys() {
    let sm = SchemaBuilder::map(
        primitive(SchemaType::String, false),
        primitive(SchemaType::Int32, false),
    )
    .build();
    round_trip(
        sm,
        Value::Map(vec![
            (Value::from("a"), Value::Int32(1)),
            (Value::from("b"), Value::Int32(2)),
        ]),
        json!({"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int32","optional":false},"optional":false}),
        json!({"a":1,"b":2}),
    );
    let im = SchemaBuilder::map(
        primitive(SchemaType::Int32, false),
        primitive(SchemaType::String, true),
    )
    .build();
    round_trip(
        im,
        Value::Map(vec![
            (Value::Int32(1), Value::from("x")),
            (Value::Int32(2), Value::Null),
        ]),
        json!({"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"string","optional":true},"optional":false}),
        json!([[1, "x"], [2, null]]),
    );
}

#[test]
fn logical_types() {
    let d = decimal_builder(2).build();
    round_trip(
        d.clone(),
        Value::Bytes(Bytes::from(logical::decimal_to_bytes(156))),
        json!({"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}}),
        json!("AJw="),
    );
    round_trip(
        logical::date_builder().build(),
        Value::Int32(19_000),
        json!({"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1}),
        json!(19_000),
    );
    round_trip(
        logical::time_builder().build(),
        Value::Int32(3_600_000),
        json!({"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1}),
        json!(3_600_000),
    );
    round_trip(
        logical::timestamp_builder().build(),
        Value::Int64(1_700_000_000_000),
        json!({"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1}),
        json!(1_700_000_000_000i64),
    );
    // NUMERIC decimals are written as numbers and read back exactly.
    let mut c = JsonConverter::new(JsonConverterConfig {
        decimal_format: DecimalFormat::Numeric,
        ..Default::default()
    });
    let data = SchemaAndValue::with_schema(
        d.clone(),
        Value::Bytes(Bytes::from(logical::decimal_to_bytes(-12_345))),
    );
    let j = enc(&mut c, &data);
    assert_eq!(j["payload"], json!(-123.45));
    assert_eq!(dec(&mut c, j).value, data.value);
}

#[test]
fn nulls_optionals_and_defaults() {
    let mut c = JsonConverter::with_schemas(true);
    // No schema and no value: a tombstone, no bytes at all.
    assert_eq!(c.serialize(&SchemaAndValue::NULL).unwrap(), None);
    assert_eq!(c.deserialize(None).unwrap(), SchemaAndValue::NULL);
    // An optional schema with a null value keeps the schema in the envelope.
    let opt = primitive(SchemaType::String, true);
    let j = enc(
        &mut c,
        &SchemaAndValue::with_schema(opt.clone(), Value::Null),
    );
    assert_eq!(
        j,
        json!({"schema":{"type":"string","optional":true},"payload":null})
    );
    // A required field that is null: a clear error.
    let req = primitive(SchemaType::Int32, false);
    let err = c
        .serialize(&SchemaAndValue::with_schema(req.clone(), Value::Null))
        .unwrap_err();
    assert!(
        err.0.contains("null value for field that is required"),
        "{}",
        err
    );
    // A default replaces null on write and is read back for a null payload.
    let with_default = SchemaBuilder::new(SchemaType::Int32)
        .default_value(Value::Int32(7))
        .build();
    let j = enc(
        &mut c,
        &SchemaAndValue::with_schema(with_default.clone(), Value::Null),
    );
    assert_eq!(
        j,
        json!({"schema":{"type":"int32","optional":false,"default":7},"payload":7})
    );
    let back = dec(
        &mut c,
        json!({"schema":{"type":"int32","optional":false,"default":7},"payload":null}),
    );
    assert_eq!(back.value, Value::Int32(7));
    // Missing struct fields read as null for optional fields, errors for required.
    let s = SchemaBuilder::struct_()
        .field("a", primitive(SchemaType::Int32, false))
        .field("b", primitive(SchemaType::String, true))
        .build();
    let schema_json = json!({"type":"struct","fields":[{"type":"int32","optional":false,"field":"a"},{"type":"string","optional":true,"field":"b"}],"optional":false});
    let back = dec(&mut c, json!({"schema": schema_json, "payload": {"a": 1}}));
    let Value::Struct(st) = back.value else {
        panic!()
    };
    assert_eq!(st.get("b"), Some(&Value::Null));
    assert_eq!(Arc::clone(st.schema()).fields.len(), s.fields.len());
    let err = c
        .deserialize(Some(
            &serde_json::to_vec(&json!({"schema": schema_json, "payload": {"b": "x"}})).unwrap(),
        ))
        .unwrap_err();
    assert!(
        err.0
            .contains("field a: Invalid null value for required INT32 field"),
        "{}",
        err
    );
}

#[test]
fn schemaless_json() {
    let mut c = JsonConverter::with_schemas(false);
    let v = c
        .deserialize(Some(br#"{"a":1,"b":[1,"2",3.5],"c":null,"d":{"e":true}}"#))
        .unwrap();
    assert!(v.schema.is_none());
    assert_eq!(v.value.map_get("a"), Some(&Value::Int64(1)));
    assert_eq!(
        v.value.map_get("b"),
        Some(&Value::Array(vec![
            Value::Int64(1),
            Value::from("2"),
            Value::Float64(3.5)
        ]))
    );
    assert_eq!(v.value.map_get("c"), Some(&Value::Null));
    let out = c.serialize(&v).unwrap().unwrap();
    assert_eq!(
        std::str::from_utf8(&out).unwrap(),
        r#"{"a":1,"b":[1,"2",3.5],"c":null,"d":{"e":true}}"#
    );
    // With schemas enabled, a schemaless value gets "schema": null.
    let mut c = JsonConverter::with_schemas(true);
    let j = enc(&mut c, &SchemaAndValue::schemaless(Value::from("x")));
    assert_eq!(j, json!({"schema": null, "payload": "x"}));
}

#[test]
fn malformed_input_gives_clear_errors() {
    let mut c = JsonConverter::with_schemas(true);
    let e = c.deserialize(Some(b"{not json")).unwrap_err();
    assert!(
        e.0.starts_with(
            "Converting byte[] to Kafka Connect data failed due to serialization error"
        ),
        "{}",
        e
    );
    let e = c.deserialize(Some(br#"{"a":1}"#)).unwrap_err();
    assert!(
        e.0.contains("requires \"schema\" and \"payload\" fields"),
        "{}",
        e
    );
    let e = c
        .deserialize(Some(br#"{"schema":null,"payload":1,"extra":2}"#))
        .unwrap_err();
    assert!(e.0.contains("may not contain additional fields"), "{}", e);
    let e = c
        .deserialize(Some(br#"{"schema":{"type":"int32"},"payload":"seven"}"#))
        .unwrap_err();
    assert!(
        e.0.contains("expected an integer but found STRING"),
        "{}",
        e
    );
    let e = c
        .deserialize(Some(br#"{"schema":{"type":"int8"},"payload":300}"#))
        .unwrap_err();
    assert!(e.0.contains("out of range"), "{}", e);
    let e = c
        .deserialize(Some(br#"{"schema":{"type":"nope"},"payload":1}"#))
        .unwrap_err();
    assert!(e.0.contains("Unknown schema type: nope"), "{}", e);
    let e = c
        .deserialize(Some(br#"{"schema":{"type":"array"},"payload":[]}"#))
        .unwrap_err();
    assert!(
        e.0.contains("Array schema did not specify the element type"),
        "{}",
        e
    );
    let e = c
        .deserialize(Some(
            br#"{"schema":{"type":"struct","fields":[{"type":"int32"}]},"payload":{}}"#,
        ))
        .unwrap_err();
    assert!(e.0.contains("field name not specified"), "{}", e);
    let e = c
        .deserialize(Some(br#"{"schema":{"type":"bytes"},"payload":"%%%"}"#))
        .unwrap_err();
    assert!(e.0.contains("Invalid bytes field"), "{}", e);
    let e = c
        .deserialize(Some(br#"{"schema":{"type":"map","keys":{"type":"string"},"values":{"type":"int32"}},"payload":[1]}"#))
        .unwrap_err();
    assert!(
        e.0.contains("Maps with string fields should be encoded as JSON objects, but found ARRAY"),
        "{}",
        e
    );
    // A struct whose schema differs from the one given.
    let s1 = SchemaBuilder::struct_()
        .field("a", primitive(SchemaType::Int32, false))
        .build();
    let s2 = SchemaBuilder::struct_()
        .field("b", primitive(SchemaType::Int32, false))
        .build();
    let mut st = Struct::new(s1);
    st.put("a", Value::Int32(1)).unwrap();
    let e = c
        .serialize(&SchemaAndValue::with_schema(s2, Value::Struct(st)))
        .unwrap_err();
    assert!(e.0.contains("Mismatching schema"), "{}", e);
}

#[test]
fn schema_cache_reuses_parsed_schemas() {
    let mut c = JsonConverter::with_schemas(true);
    let a = dec(
        &mut c,
        json!({"schema":{"type":"string","optional":false},"payload":"a"}),
    );
    let b = dec(
        &mut c,
        json!({"schema":{"type":"string","optional":false},"payload":"b"}),
    );
    assert!(Arc::ptr_eq(
        a.schema.as_ref().unwrap(),
        b.schema.as_ref().unwrap()
    ));
}

/// `depth` nested arrays around `inner`.
fn nested(depth: usize, inner: &str) -> String {
    format!("{}{}{}", "[".repeat(depth), inner, "]".repeat(depth))
}

#[test]
fn nesting_is_limited_to_what_serde_json_reads() {
    use super::json::MAX_JSON_DEPTH;
    let mut plain = JsonConverter::with_schemas(false);
    // The deepest accepted document, and its value all the way down.
    let ok = plain
        .deserialize(Some(nested(MAX_JSON_DEPTH - 1, "1").as_bytes()))
        .unwrap();
    let mut v = &ok.value;
    for _ in 0..MAX_JSON_DEPTH - 1 {
        match v {
            Value::Array(items) => v = &items[0],
            other => panic!("expected an array, got {:?}", other),
        }
    }
    assert_eq!(v, &Value::Int64(1));
    // One more level, and far more, are record errors naming the limit.
    for depth in [MAX_JSON_DEPTH, 100_000] {
        let e = plain
            .deserialize(Some(nested(depth, "1").as_bytes()))
            .unwrap_err();
        assert!(
            e.0.contains("recursion limit exceeded") && e.0.contains("128 levels"),
            "{}",
            e
        );
    }
    let objects = format!("{}1{}", "{\"a\":".repeat(50_000), "}".repeat(50_000));
    assert!(plain.deserialize(Some(objects.as_bytes())).is_err());

    // With schemas: a deep payload, a deep schema, unclosed nesting.
    let mut c = JsonConverter::with_schemas(true);
    let deep_payload = format!("{{\"schema\":null,\"payload\":{}}}", nested(100_000, ""));
    let e = c.deserialize(Some(deep_payload.as_bytes())).unwrap_err();
    assert!(e.0.contains("128 levels"), "{}", e);
    let deep_schema = format!(
        "{{\"schema\":{}{{\"type\":\"int32\"}}{},\"payload\":1}}",
        "{\"type\":\"array\",\"items\":".repeat(100_000),
        "}".repeat(100_000)
    );
    let e = c.deserialize(Some(deep_schema.as_bytes())).unwrap_err();
    assert!(e.0.contains("128 levels"), "{}", e);
    // Unclosed nesting in the envelope's place: the schema is skipped over without
    // recursion, then the text ends.
    let e = c
        .deserialize(Some("[".repeat(1_000_000).as_bytes()))
        .unwrap_err();
    assert!(e.0.contains("EOF while parsing"), "{}", e);
    let e = plain
        .deserialize(Some("{\"a\":[".repeat(1_000_000).as_bytes()))
        .unwrap_err();
    assert!(e.0.contains("128 levels"), "{}", e);
}

#[test]
fn the_deepest_accepted_schema_and_payload_convert_both_ways() {
    // 125 array schemas inside the envelope: the payload nests 126 deep, the envelope
    // object making 127.
    let depth = 125;
    let schema = format!(
        "{}{{\"type\":\"string\"}}{}",
        "{\"type\":\"array\",\"items\":".repeat(depth),
        "}".repeat(depth)
    );
    let text = format!(
        "{{\"schema\":{},\"payload\":{}}}",
        schema,
        nested(depth, "\"x\"")
    );
    let mut c = JsonConverter::with_schemas(true);
    let v = c.deserialize(Some(text.as_bytes())).unwrap();
    let back = c.serialize(&v).unwrap().unwrap();
    let again = c.deserialize(Some(&back)).unwrap();
    assert_eq!(again.value, v.value);
}

#[test]
fn a_struct_schema_with_many_fields_reads_in_linear_time() {
    let n = 100_000;
    let fields: Vec<Json> = (0..n)
        .map(|i| json!({"type": "int32", "optional": true, "field": format!("f{i}")}))
        .collect();
    let text = serde_json::to_vec(
        &json!({"schema": {"type": "struct", "fields": fields}, "payload": {"f7": 7}}),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let mut c = JsonConverter::with_schemas(true);
    let v = c.deserialize(Some(&text)).unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    match v.value {
        Value::Struct(s) => assert_eq!(s.get("f7"), Some(&Value::Int32(7))),
        other => panic!("{:?}", other),
    }
    // A field named twice is still refused.
    let e = c
        .deserialize(Some(br#"{"schema":{"type":"struct","fields":[{"type":"int32","field":"a"},{"type":"int32","field":"a"}]},"payload":{}}"#))
        .unwrap_err();
    assert!(e.0.contains("field a twice"), "{}", e);
}

#[test]
fn the_schema_cache_holds_a_bounded_amount_of_text() {
    use super::json::SCHEMA_CACHE_BYTES;
    let mut c = JsonConverter::with_schemas(true);
    // Distinct schemas of 1 MiB each (a long doc): the cache never keeps more than its
    // byte budget.
    let doc = "d".repeat(1024 * 1024);
    for i in 0..40 {
        let text =
            format!("{{\"schema\":{{\"type\":\"int32\",\"doc\":\"{doc}{i}\"}},\"payload\":{i}}}");
        let v = c.deserialize(Some(text.as_bytes())).unwrap();
        assert_eq!(v.value, Value::Int32(i));
        assert!(c.cached_schema_bytes() <= SCHEMA_CACHE_BYTES);
    }
    assert!(c.cached_schema_bytes() > 0);
}

#[test]
fn fuzz_regression_schemaless_floats_round_trip_exactly() {
    // Found by fuzz target json_converter_schemaless: without serde_json's
    // float_roundtrip, 18446744073709515615 read as 1.8446744073709515e19 but its
    // written form read back one ulp off.
    let mut c = JsonConverter::with_schemas(false);
    let input = br#"[18446744073709515615, -0, 1e300, "\u00e9"]"#;
    let v = c.deserialize(Some(input)).unwrap();
    let written = c.serialize(&v).unwrap().unwrap();
    let back = c.deserialize(Some(&written)).unwrap();
    assert_eq!(back.value, v.value);
}

fn with_schema_content(content: &str) -> Result<JsonConverter, crate::config::ConfigErrors> {
    let raw: crate::config::RawConfig = [("schema.content".to_string(), content.to_string())]
        .into_iter()
        .collect();
    Ok(JsonConverter::new(JsonConverterConfig::parse(&raw)?))
}

#[test]
fn schema_content_reads_bare_payloads_with_the_configured_schema() {
    let content = r#"{"type":"struct","name":"p.Person","optional":false,"fields":[
        {"field":"name","type":"string","optional":false},
        {"field":"age","type":"int32","optional":true,"default":18}]}"#;
    let mut c = with_schema_content(content).unwrap();
    let sv = dec(&mut c, json!({"name": "Ada", "age": null}));
    let schema = sv.schema.clone().expect("the configured schema");
    assert_eq!(schema.name.as_deref(), Some("p.Person"));
    let Value::Struct(s) = &sv.value else {
        panic!("a struct: {:?}", sv.value)
    };
    assert_eq!(s.get("name"), Some(&Value::String("Ada".into())));
    // an envelope in the bytes is not unwrapped: it is the payload, and does not fit
    let e = c
        .deserialize(Some(br#"{"schema":null,"payload":{"name":"x"}}"#))
        .unwrap_err();
    assert!(e.0.contains("name"), "{}", e.0);
    // a tombstone stays null
    assert!(c.deserialize(None).unwrap().value.is_null());
    // writing still uses the envelope
    let out = enc(&mut c, &sv);
    assert_eq!(out["schema"]["name"], "p.Person");
    assert_eq!(out["payload"]["name"], "Ada");
}

#[test]
fn schema_content_that_is_not_a_schema_is_a_config_error() {
    for bad in [
        r#"{"type":"struct","fields":"#,
        r#"{"type":"no-such-type"}"#,
    ] {
        let e = with_schema_content(bad).err().expect("refused");
        let text = e.to_string();
        assert!(text.contains("schema.content"), "{}", text);
    }
}

#[test]
fn replace_null_with_default_applies_when_reading() {
    let envelope = json!({
        "schema": {"type":"struct","optional":false,"fields":[
            {"field":"name","type":"string","optional":true,"default":"anon"},
            {"field":"tags","type":"array","optional":true,
             "items":{"type":"int32","optional":true,"default":7}}]},
        "payload": {"name": null, "tags": [1, null]}
    });
    let mut replacing = JsonConverter::with_schemas(true);
    let Value::Struct(s) = dec(&mut replacing, envelope.clone()).value else {
        panic!("not a struct");
    };
    assert_eq!(s.get("name"), Some(&Value::String("anon".into())));
    assert_eq!(
        s.get("tags"),
        Some(&Value::Array(vec![Value::Int32(1), Value::Int32(7)]))
    );
    let mut keeping = JsonConverter::new(JsonConverterConfig {
        replace_null_with_default: false,
        ..Default::default()
    });
    let Value::Struct(s) = dec(&mut keeping, envelope).value else {
        panic!("not a struct");
    };
    assert_eq!(s.get("name"), Some(&Value::Null));
    assert_eq!(
        s.get("tags"),
        Some(&Value::Array(vec![Value::Int32(1), Value::Null]))
    );
}
