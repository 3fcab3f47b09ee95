//! The Connect ↔ JSON Schema mapping both ways, values both ways, and the validator.

use bytes::Bytes;
use serde_json::json;

use super::to_json_schema::{ENUM, ONE_OF};
use super::*;
use crate::convert::DecimalFormat;
use crate::data::logical::{self, date_builder, decimal_builder, time_builder, timestamp_builder};
use crate::data::{primitive, SchemaBuilder, SchemaRef, SchemaType, Struct, Value};

fn opts() -> JsonSchemaOptions {
    JsonSchemaOptions::default()
}

fn address() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("shop.Address")
        .field("city", primitive(SchemaType::String, false))
        .field("zip", primitive(SchemaType::Int32, true))
        .build()
}

/// A struct with a field of every Connect type, required and optional.
fn everything() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("shop.Order")
        .version(3)
        .doc("an order")
        .field("i8", primitive(SchemaType::Int8, false))
        .field("i16", primitive(SchemaType::Int16, false))
        .field("i32", primitive(SchemaType::Int32, false))
        .field("i64", primitive(SchemaType::Int64, false))
        .field("f32", primitive(SchemaType::Float32, false))
        .field("f64", primitive(SchemaType::Float64, false))
        .field("flag", primitive(SchemaType::Boolean, false))
        .field("name", primitive(SchemaType::String, false))
        .field("blob", primitive(SchemaType::Bytes, false))
        .field("note", primitive(SchemaType::String, true))
        .field("count", primitive(SchemaType::Int64, true))
        .field("price", decimal_builder(2).build())
        .field("discount", decimal_builder(3).optional().build())
        .field("day", date_builder().build())
        .field("at", time_builder().build())
        .field("seen", timestamp_builder().optional().build())
        .field(
            "tags",
            SchemaBuilder::array(primitive(SchemaType::String, false)).build(),
        )
        .field(
            "attrs",
            SchemaBuilder::map(
                primitive(SchemaType::String, false),
                primitive(SchemaType::Int32, false),
            )
            .build(),
        )
        .field(
            "by_id",
            SchemaBuilder::map(
                primitive(SchemaType::Int32, false),
                primitive(SchemaType::String, true),
            )
            .optional()
            .build(),
        )
        .field("ship", address())
        .field(
            "bill",
            SchemaBuilder::from_schema(&address()).optional().build(),
        )
        .field(
            "level",
            SchemaBuilder::new(SchemaType::Int32)
                .default_value(Value::Int32(7))
                .build(),
        )
        .field(
            "kind",
            SchemaBuilder::new(SchemaType::String)
                .parameter(ENUM, "")
                .parameter(format!("{}.A", ENUM), "A")
                .parameter(format!("{}.B", ENUM), "B")
                .build(),
        )
        .field(
            "either",
            SchemaBuilder::struct_()
                .name(ONE_OF)
                .field(
                    format!("{}.field.0", ONE_OF),
                    primitive(SchemaType::Int64, true),
                )
                .field(
                    format!("{}.field.1", ONE_OF),
                    primitive(SchemaType::String, true),
                )
                .optional()
                .build(),
        )
        .build()
}

fn everything_value(s: &SchemaRef) -> Value {
    let field = |n: &str| s.field(n).unwrap().schema.clone();
    let ship =
        Struct::from_values(address(), vec![Value::from("Oslo"), Value::Int32(150)]).unwrap();
    let bill = Struct::from_values(field("bill"), vec![Value::from("Lima"), Value::Null]).unwrap();
    let either = Struct::from_values(field("either"), vec![Value::Null, Value::from("x")]).unwrap();
    Value::Struct(
        Struct::from_values(
            s.clone(),
            vec![
                Value::Int8(-8),
                Value::Int16(300),
                Value::Int32(-70000),
                Value::Int64(9_000_000_000),
                Value::Float32(1.1),
                Value::Float64(-0.25),
                Value::Boolean(true),
                Value::from("ç"),
                Value::Bytes(Bytes::from_static(&[0, 255])),
                Value::Null,
                Value::Int64(5),
                Value::Bytes(Bytes::from(logical::decimal_to_bytes(1234))),
                Value::Null,
                Value::Int32(19782),
                Value::Int32(3_600_000),
                Value::Int64(1_700_000_000_123),
                Value::Array(vec![Value::from("x"), Value::from("y")]),
                Value::Map(vec![(Value::from("a"), Value::Int32(1))]),
                Value::Map(vec![
                    (Value::Int32(1), Value::from("one")),
                    (Value::Int32(2), Value::Null),
                ]),
                Value::Struct(ship),
                Value::Struct(bill),
                Value::Int32(9),
                Value::from("B"),
                Value::Struct(either),
            ],
        )
        .unwrap(),
    )
}

#[test]
fn connect_schemas_are_written_as_confluent_writes_them() {
    let js = json_schema_from_connect(&everything(), &opts()).unwrap();
    assert_eq!(js["type"], "object");
    assert_eq!(js["title"], "shop.Order");
    assert_eq!(js["description"], "an order");
    assert_eq!(js["connect.version"], 3);
    assert!(js.get("required").is_none());
    let p = &js["properties"];
    assert_eq!(
        p["i8"],
        json!({"type":"integer","connect.type":"int8","connect.index":0})
    );
    assert_eq!(
        p["f32"],
        json!({"type":"number","connect.type":"float32","connect.index":4})
    );
    assert_eq!(p["flag"], json!({"type":"boolean","connect.index":6}));
    assert_eq!(
        p["blob"],
        json!({"type":"string","connect.type":"bytes","connect.index":8})
    );
    assert_eq!(
        p["note"],
        json!({"oneOf":[{"type":"null"},{"type":"string"}],"connect.index":9})
    );
    assert_eq!(
        p["price"],
        json!({"type":"string","title":"org.apache.kafka.connect.data.Decimal",
               "connect.type":"bytes","connect.version":1,
               "connect.parameters":{"scale":"2"},"connect.index":11})
    );
    assert_eq!(
        p["seen"],
        json!({"oneOf":[{"type":"null"},{"type":"integer","title":"org.apache.kafka.connect.data.Timestamp",
               "connect.type":"int64","connect.version":1}],"connect.index":15})
    );
    assert_eq!(
        p["day"]["title"],
        json!("org.apache.kafka.connect.data.Date")
    );
    assert_eq!(
        p["tags"],
        json!({"type":"array","items":{"type":"string"},"connect.index":16})
    );
    assert_eq!(
        p["attrs"],
        json!({"type":"object","additionalProperties":{"type":"integer","connect.type":"int32"},
               "connect.type":"map","connect.index":17})
    );
    assert_eq!(
        p["by_id"]["oneOf"][1],
        json!({"type":"array","items":{"type":"object","properties":{
            "key":{"type":"integer","connect.type":"int32","connect.index":0},
            "value":{"oneOf":[{"type":"null"},{"type":"string"}],"connect.index":1}}},
            "connect.type":"map"})
    );
    assert_eq!(p["ship"]["title"], "shop.Address");
    assert_eq!(p["ship"]["connect.index"], 19);
    assert_eq!(p["bill"]["oneOf"][0], json!({"type":"null"}));
    assert_eq!(p["bill"]["oneOf"][1]["title"], "shop.Address");
    assert_eq!(p["bill"]["connect.index"], 20);
    assert_eq!(
        p["level"],
        json!({"type":"integer","default":7,"connect.type":"int32","connect.index":21})
    );
    assert_eq!(p["kind"], json!({"enum":["A","B"],"connect.index":22}));
    assert_eq!(
        p["either"],
        json!({"oneOf":[{"type":"null"},
            {"type":"integer","connect.type":"int64","connect.index":0},
            {"type":"string","connect.index":1}],"connect.index":23})
    );
}

#[test]
fn every_connect_type_survives_the_round_trip() {
    for decimal_format in [DecimalFormat::Base64, DecimalFormat::Numeric] {
        let o = JsonSchemaOptions {
            decimal_format,
            ..opts()
        };
        let s = everything();
        let js = json_schema_from_connect(&s, &o).unwrap();
        let back = connect_schema_from_json_schema(&js, &o).unwrap();
        assert_eq!(back.as_ref(), s.as_ref(), "{}", js);
        let v = everything_value(&s);
        let j = json_from_connect(&s, &v, &o).unwrap().unwrap();
        assert!(validate(&js, &j).is_ok(), "{:?}", validate(&js, &j));
        let v2 = json_to_connect(&back, Some(&j)).unwrap();
        // the struct values carry their schema: compare values field by field
        let (Value::Struct(a), Value::Struct(b)) = (&v, &v2) else {
            panic!()
        };
        assert_eq!(a.values(), b.values(), "{}", j);
    }
}

#[test]
fn values_are_written_as_confluent_writes_them() {
    let s = everything();
    let j = json_from_connect(&s, &everything_value(&s), &opts())
        .unwrap()
        .unwrap();
    assert_eq!(j["f32"], json!(1.1));
    assert_eq!(j["blob"], "AP8=");
    assert_eq!(j["note"], json!(null));
    assert_eq!(j["price"], "BNI=");
    assert_eq!(j["seen"], json!(1_700_000_000_123i64));
    assert_eq!(j["attrs"], json!({"a": 1}));
    assert_eq!(
        j["by_id"],
        json!([{"key":1,"value":"one"},{"key":2,"value":null}])
    );
    assert_eq!(j["bill"], json!({"city":"Lima","zip":null}));
    assert_eq!(j["either"], "x");
    let numeric = JsonSchemaOptions {
        decimal_format: DecimalFormat::Numeric,
        ..opts()
    };
    let j = json_from_connect(&s, &everything_value(&s), &numeric)
        .unwrap()
        .unwrap();
    assert!(j.to_string().contains("\"price\":12.34"), "{}", j);
    // a required field holding null with no default is left out
    let r = SchemaBuilder::struct_()
        .field("a", primitive(SchemaType::Int32, false))
        .field("b", primitive(SchemaType::Int32, false))
        .build();
    let v =
        Value::Struct(Struct::from_values(r.clone(), vec![Value::Int32(1), Value::Null]).unwrap());
    assert_eq!(
        json_from_connect(&r, &v, &opts()).unwrap(),
        Some(json!({"a":1}))
    );
}

#[test]
fn hand_written_schemas_read_as_confluent_reads_them() {
    let js = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Person",
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "score": {"type": "number"},
            "active": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "address": {"type": "object", "properties": {"city": {"type": "string"}}},
            "nick": {"type": ["string", "null"]},
            "color": {"enum": ["red", "green"]},
            "home": {"$ref": "#/definitions/Place"}
        },
        "required": ["name", "age"],
        "definitions": {"Place": {"type": "object", "properties": {"x": {"type": "number"}}}}
    });
    let s = connect_schema_from_json_schema(&js, &opts()).unwrap();
    assert_eq!(s.name.as_deref(), Some("Person"));
    let names: Vec<&str> = s.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["name", "age", "score", "active", "tags", "address", "nick", "color", "home"]
    );
    let kind = |n: &str| s.field(n).unwrap().schema.kind;
    assert_eq!(kind("age"), SchemaType::Int64);
    assert_eq!(kind("score"), SchemaType::Float64);
    assert_eq!(kind("tags"), SchemaType::Array);
    assert_eq!(kind("address"), SchemaType::Struct);
    assert_eq!(kind("home"), SchemaType::Struct);
    assert!(!s.field("score").unwrap().schema.optional);
    assert!(s.field("nick").unwrap().schema.optional);
    assert_eq!(
        s.field("color")
            .unwrap()
            .schema
            .parameters
            .get(&format!("{}.red", ENUM)),
        Some(&"red".to_string())
    );
    // absent properties read as null, present ones with their values
    let v = json_to_connect(
        &s,
        Some(&json!({"name":"ann","age":41,"tags":["a"],"address":{"city":"Oslo"},"nick":null,"color":"red"})),
    )
    .unwrap();
    let Value::Struct(v) = v else { panic!() };
    assert_eq!(v.get("age"), Some(&Value::Int64(41)));
    assert_eq!(v.get("score"), Some(&Value::Null));
    assert_eq!(v.get("color"), Some(&Value::from("red")));
    // with use.optional.for.nonrequired, properties not in required are optional
    let o = JsonSchemaOptions {
        optional_for_nonrequired: true,
        ..opts()
    };
    let s = connect_schema_from_json_schema(&js, &o).unwrap();
    assert!(s.field("score").unwrap().schema.optional);
    assert!(!s.field("name").unwrap().schema.optional);
    // 41.0 is an integer to JSON Schema; 41.5 is not
    let s = connect_schema_from_json_schema(&js, &opts()).unwrap();
    let Value::Struct(v) = json_to_connect(&s, Some(&json!({"name":"a","age":41.0}))).unwrap()
    else {
        panic!()
    };
    assert_eq!(v.get("age"), Some(&Value::Int64(41)));
    assert!(json_to_connect(&s, Some(&json!({"name":"a","age":41.5}))).is_err());
    // a wrong JSON type is an error naming the field
    let s = connect_schema_from_json_schema(&js, &opts()).unwrap();
    let e = json_to_connect(&s, Some(&json!({"name":"ann","age":"x"}))).unwrap_err();
    assert!(
        e.0.contains("field age") && e.0.contains("STRING"),
        "{}",
        e.0
    );
}

#[test]
fn unions_and_unsupported_schemas() {
    let js = json!({"oneOf": [{"type": "integer"}, {"type": "string"},
        {"type": "object", "properties": {"a": {"type": "integer"}}}]});
    let s = connect_schema_from_json_schema(&js, &opts()).unwrap();
    assert_eq!(s.name.as_deref(), Some(ONE_OF));
    assert_eq!(s.fields.len(), 3);
    let Value::Struct(v) = json_to_connect(&s, Some(&json!({"a": 1}))).unwrap() else {
        panic!()
    };
    assert!(v.values()[0].is_null() && !v.values()[2].is_null());
    let Value::Struct(v) = json_to_connect(&s, Some(&json!("t"))).unwrap() else {
        panic!()
    };
    assert_eq!(v.values()[1], Value::from("t"));
    for bad in [json!({}), json!(true), json!({"type": "null"})] {
        let e = connect_schema_from_json_schema(&bad, &opts()).unwrap_err();
        assert!(e.0.contains('#'), "{}", e.0);
    }
    let recursive = json!({"type":"object","properties":{"next":{"$ref":"#"}}});
    let e = connect_schema_from_json_schema(&recursive, &opts()).unwrap_err();
    assert!(e.0.contains("recursive"), "{}", e.0);
    let external = json!({"$ref": "other.json"});
    let e = connect_schema_from_json_schema(&external, &opts()).unwrap_err();
    assert!(e.0.contains("not supported"), "{}", e.0);
}

#[test]
fn validation_finds_what_does_not_match() {
    let js = json!({"type":"object","properties":{
        "n":{"type":"integer","maximum":10},
        "s":{"oneOf":[{"type":"null"},{"type":"string","maxLength":3}]},
        "l":{"type":"array","items":{"type":"boolean"}}},
        "required":["n"],"additionalProperties":false});
    assert!(validate(&js, &json!({"n": 1, "s": null, "l": [true]})).is_ok());
    let why = |v| validate(&js, &v).unwrap_err();
    assert!(why(json!({"s": "a"})).contains("required property n"));
    assert!(why(json!({"n": 11})).contains("/n"));
    assert!(why(json!({"n": 1.5})).contains("expected integer"));
    assert!(why(json!({"n": 1, "s": "long"})).contains("/s"));
    assert!(why(json!({"n": 1, "l": [1]})).contains("/l/0"));
    assert!(why(json!({"n": 1, "x": 1})).contains("property x"));
    // object.additional.properties=false writes additionalProperties: false
    let o = JsonSchemaOptions {
        additional_properties: false,
        ..opts()
    };
    let js = json_schema_from_connect(&address(), &o).unwrap();
    assert_eq!(js["additionalProperties"], json!(false));
    assert!(validate(&js, &json!({"city": "x", "zip": 1, "other": 2})).is_err());
}

#[test]
fn config_keys_are_parsed_and_checked() {
    let raw = |pairs: &[(&str, &str)]| -> crate::config::RawConfig {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let e = match JsonSchemaConverter::new(&raw(&[("decimal.format", "TEXT")]), false) {
        Err(e) => e,
        Ok(_) => panic!("accepted a bad config"),
    };
    let keys: Vec<&str> = e.0.iter().map(|i| i.key.as_str()).collect();
    assert!(keys.contains(&"schema.registry.url"), "{:?}", keys);
    assert!(keys.contains(&"decimal.format"), "{:?}", keys);
    assert!(JsonSchemaConverter::new(
        &raw(&[
            ("schema.registry.url", "http://127.0.0.1:1"),
            ("decimal.format", "numeric"),
            ("json.fail.invalid.schema", "true")
        ]),
        false
    )
    .is_ok());
    assert!(crate::convert::find_converter("json-schema").is_some());
    assert_eq!(
        crate::convert::find_converter("JsonSchemaConverter").map(|p| p.class),
        Some("io.confluent.connect.json.JsonSchemaConverter")
    );
}
