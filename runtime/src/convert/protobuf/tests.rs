//! Unit tests of the Protobuf mapping (both ways) and the message-index encoding.

use base64::Engine;
use bytes::Bytes;
use prost_reflect::prost::Message as _;
use prost_reflect::DynamicMessage;

use super::files::compile;
use super::indexes::{decode_indexes, encode_indexes, indexes_of, message_at};
use super::to_proto::TAG;
use super::value::{from_message, to_message};
use super::*;
use crate::data::logical::{date_builder, decimal_builder, decimal_to_bytes, timestamp_builder};
use crate::data::{primitive, SchemaBuilder, SchemaRef, SchemaType, Struct, Value};

fn row_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("shop.Row")
        .field("id", primitive(SchemaType::Int32, false))
        .field("small", primitive(SchemaType::Int16, false))
        .field("name", primitive(SchemaType::String, true))
        .field("price", decimal_builder(2).optional().build())
        .field("at", timestamp_builder().optional().build())
        .field("day", date_builder().optional().build())
        .field(
            "tags",
            SchemaBuilder::array(primitive(SchemaType::String, false))
                .optional()
                .build(),
        )
        .field(
            "attrs",
            SchemaBuilder::map(
                primitive(SchemaType::String, false),
                primitive(SchemaType::Int64, false),
            )
            .optional()
            .build(),
        )
        .field(
            "inner",
            SchemaBuilder::struct_()
                .name("shop.Inner")
                .field("ok", primitive(SchemaType::Boolean, false))
                .optional()
                .build(),
        )
        .build()
}

fn row(schema: &SchemaRef, name: Option<&str>) -> Value {
    let mut s = Struct::new(schema.clone());
    s.put("id", Value::Int32(7)).unwrap();
    s.put("small", Value::Int16(-3)).unwrap();
    if let Some(n) = name {
        s.put("name", Value::from(n)).unwrap();
    }
    s.put("price", Value::Bytes(Bytes::from(decimal_to_bytes(-12345))))
        .unwrap();
    s.put("at", Value::Int64(1_700_000_000_123)).unwrap();
    s.put("day", Value::Int32(19_000)).unwrap();
    s.put("tags", Value::Array(vec!["a".into(), "b".into()]))
        .unwrap();
    s.put("attrs", Value::Map(vec![("k".into(), Value::Int64(5))]))
        .unwrap();
    let inner_schema = schema.field("inner").unwrap().schema.clone();
    let mut inner = Struct::new(inner_schema);
    inner.put("ok", Value::Boolean(true)).unwrap();
    s.put("inner", Value::Struct(inner)).unwrap();
    Value::Struct(s)
}

#[test]
fn message_indexes_are_zigzag_varints_with_a_short_form_for_the_first_message() {
    let mut out = Vec::new();
    encode_indexes(&[0], &mut out);
    assert_eq!(out, vec![0]);
    out.clear();
    encode_indexes(&[1], &mut out);
    assert_eq!(out, vec![2, 2]);
    out.clear();
    encode_indexes(&[0, 2], &mut out);
    assert_eq!(out, vec![4, 0, 4]);
    out.clear();
    encode_indexes(&[70], &mut out);
    assert_eq!(out, vec![2, 140, 1]);
    for idx in [vec![0], vec![1], vec![0, 2], vec![3, 1, 70]] {
        let mut b = Vec::new();
        encode_indexes(&idx, &mut b);
        b.extend_from_slice(b"rest");
        let (back, rest) = decode_indexes(&b).unwrap();
        assert_eq!(back, idx);
        assert_eq!(rest, b"rest");
    }
    assert!(decode_indexes(&[]).unwrap_err().0.contains("cut short"));
    assert!(decode_indexes(&[1]).unwrap_err().0.contains("invalid"));
    assert!(decode_indexes(&[4, 2]).unwrap_err().0.contains("cut short"));
}

#[test]
fn indexes_locate_nested_messages() {
    let f = compile(
        "syntax = \"proto3\";\nmessage A { message B {} message C { message D {} } }\nmessage E {}\n",
    )
    .unwrap();
    let d = message_at(&f, &[0, 1, 0]).unwrap();
    assert_eq!(d.full_name(), "A.C.D");
    assert_eq!(indexes_of(&d), vec![0, 1, 0]);
    assert_eq!(message_at(&f, &[1]).unwrap().full_name(), "E");
    assert!(message_at(&f, &[2]).unwrap_err().contains("does not exist"));
}

#[test]
fn connect_structs_become_proto3_messages_as_confluent_writes_them() {
    let p = proto_from_connect(&row_schema(), &ProtobufOptions::default()).unwrap();
    assert_eq!(p.full_name, "shop.Row");
    let t = &p.text;
    for want in [
        "syntax = \"proto3\";",
        "package shop;",
        "import \"confluent/meta.proto\";",
        "import \"confluent/type/decimal.proto\";",
        "import \"google/protobuf/timestamp.proto\";",
        "import \"google/type/date.proto\";",
        "message Row {",
        "  int32 id = 1;",
        "  int32 small = 2 [(confluent.field_meta) = { params: [{ key: \"connect.type\", value: \"int16\" }] }];",
        "  string name = 3;",
        "  confluent.type.Decimal price = 4 [(confluent.field_meta) = { params: [{ key: \"scale\", value: \"2\" }] }];",
        "  google.protobuf.Timestamp at = 5;",
        "  google.type.Date day = 6;",
        "  repeated string tags = 7;",
        "  repeated ConnectDefault1Entry attrs = 8;",
        "  Inner inner = 9;",
        "  message ConnectDefault1Entry {",
        "    string key = 1;",
        "    int64 value = 2;",
        "  message Inner {",
        "    bool ok = 1;",
    ] {
        assert!(t.contains(want), "missing {:?} in\n{}", want, t);
    }
    // unnamed structs get Confluent's default name
    let anon = SchemaBuilder::struct_()
        .field("x", primitive(SchemaType::Int64, false))
        .build();
    let p = proto_from_connect(&anon, &ProtobufOptions::default()).unwrap();
    assert_eq!(p.full_name, "ConnectDefault1");
    assert!(
        p.text
            .contains("message ConnectDefault1 {\n  int64 x = 1;\n}"),
        "{}",
        p.text
    );
    // a primitive root is refused with the reason
    let e = proto_from_connect(
        &primitive(SchemaType::Int32, false),
        &ProtobufOptions::default(),
    )
    .unwrap_err();
    assert!(e.0.contains("struct"), "{}", e.0);
}

#[test]
fn optional_and_wrapper_settings_change_nullable_fields() {
    let s = SchemaBuilder::struct_()
        .name("N")
        .field("a", primitive(SchemaType::String, true))
        .field("b", primitive(SchemaType::Int32, false))
        .build();
    let opts = ProtobufOptions {
        optional_for_nullables: true,
        ..Default::default()
    };
    let t = proto_from_connect(&s, &opts).unwrap().text;
    assert!(
        t.contains("  optional string a = 1;\n  int32 b = 2;"),
        "{}",
        t
    );
    let opts = ProtobufOptions {
        wrapper_for_nullables: true,
        ..Default::default()
    };
    let t = proto_from_connect(&s, &opts).unwrap().text;
    assert!(
        t.contains("import \"google/protobuf/wrappers.proto\";"),
        "{}",
        t
    );
    assert!(
        t.contains("  google.protobuf.StringValue a = 1;\n  int32 b = 2;"),
        "{}",
        t
    );
}

/// Connect → .proto → descriptor → bytes → descriptor → Connect gives the same values.
fn round_trip(opts: &ProtobufOptions, name: Option<&str>) -> (Value, Value, SchemaRef) {
    let schema = row_schema();
    let value = row(&schema, name);
    let p = proto_from_connect(&schema, opts).unwrap();
    let file = compile(&p.text).unwrap_or_else(|e| panic!("{}\n{}", e, p.text));
    let desc = file
        .parent_pool()
        .get_message_by_name(&p.full_name)
        .unwrap();
    let bytes = to_message(&desc, &value, "").unwrap().encode_to_vec();
    let back = DynamicMessage::decode(desc.clone(), bytes.as_slice()).unwrap();
    let connect = connect_schema_from_proto(&desc, opts).unwrap();
    let read = from_message(&connect, &back, opts, "").unwrap();
    (value, read, connect)
}

#[test]
fn values_round_trip_and_the_schema_read_back_is_confluents() {
    let (_, read, connect) = round_trip(&ProtobufOptions::default(), Some("x"));
    assert_eq!(connect.name.as_deref(), Some("Row"));
    let f = |n: &str| connect.field(n).unwrap().schema.clone();
    assert_eq!(f("small").kind, SchemaType::Int16);
    assert!(f("id").optional, "Confluent reads every field as optional");
    assert_eq!(f("id").parameters.get(TAG).map(String::as_str), Some("1"));
    assert_eq!(
        f("price").parameters.get("scale").map(String::as_str),
        Some("2")
    );
    assert_eq!(
        f("at").name.as_deref(),
        Some(crate::data::logical::TIMESTAMP)
    );
    assert_eq!(f("attrs").kind, SchemaType::Map);
    assert_eq!(f("attrs").name.as_deref(), Some("connect_default1"));
    assert_eq!(f("tags").kind, SchemaType::Array);
    let Value::Struct(r) = &read else { panic!() };
    assert_eq!(r.get("id"), Some(&Value::Int32(7)));
    assert_eq!(r.get("small"), Some(&Value::Int16(-3)));
    assert_eq!(r.get("name"), Some(&Value::from("x")));
    assert_eq!(
        r.get("price"),
        Some(&Value::Bytes(Bytes::from(decimal_to_bytes(-12345))))
    );
    assert_eq!(r.get("at"), Some(&Value::Int64(1_700_000_000_123)));
    assert_eq!(r.get("day"), Some(&Value::Int32(19_000)));
    assert_eq!(
        r.get("tags"),
        Some(&Value::Array(vec!["a".into(), "b".into()]))
    );
    assert_eq!(
        r.get("attrs"),
        Some(&Value::Map(vec![("k".into(), Value::Int64(5))]))
    );
    let Some(Value::Struct(inner)) = r.get("inner") else {
        panic!()
    };
    assert_eq!(inner.get("ok"), Some(&Value::Boolean(true)));
    // a null string without optional/wrapper is proto3's default, as Confluent reads it
    let (_, read, _) = round_trip(&ProtobufOptions::default(), None);
    let Value::Struct(r) = &read else { panic!() };
    assert_eq!(r.get("name"), Some(&Value::from("")));
}

#[test]
fn nulls_survive_with_optional_or_wrappers() {
    for opts in [
        ProtobufOptions {
            optional_for_nullables: true,
            ..Default::default()
        },
        ProtobufOptions {
            wrapper_for_nullables: true,
            ..Default::default()
        },
    ] {
        let (_, read, connect) = round_trip(&opts, None);
        let Value::Struct(r) = &read else { panic!() };
        assert_eq!(r.get("name"), Some(&Value::Null), "{:?}", opts);
        assert!(connect.field("name").unwrap().schema.optional);
        assert!(!connect.field("id").unwrap().schema.optional, "{:?}", opts);
        let (_, read, _) = round_trip(&opts, Some("y"));
        let Value::Struct(r) = &read else { panic!() };
        assert_eq!(r.get("name"), Some(&Value::from("y")), "{:?}", opts);
    }
}

const FOREIGN: &str = r#"
syntax = "proto3";
package acme.v1;
import "google/protobuf/wrappers.proto";
import "google/protobuf/timestamp.proto";

message Order {
  enum Status { NEW = 0; SHIPPED = 3; }
  int64 id = 1;
  Status status = 2;
  map<string, int32> counts = 3;
  oneof payment { string card = 4; int64 points = 5; }
  google.protobuf.StringValue note = 6;
  repeated Line lines = 7;
  sint32 delta = 8;
  uint32 qty = 9;
  optional double ratio = 10;
  google.protobuf.Timestamp at = 11;
}
message Line { string sku = 1; }
"#;

#[test]
fn a_foreign_schema_maps_like_confluents_converter() {
    let f = compile(FOREIGN).unwrap();
    let desc = f
        .parent_pool()
        .get_message_by_name("acme.v1.Order")
        .unwrap();
    let c = connect_schema_from_proto(&desc, &ProtobufOptions::default()).unwrap();
    let names: Vec<&str> = c.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "payment_0",
            "id",
            "status",
            "counts",
            "note",
            "lines",
            "delta",
            "qty",
            "ratio",
            "at"
        ]
    );
    let f = |n: &str| c.field(n).unwrap().schema.clone();
    assert_eq!(f("status").kind, SchemaType::String);
    assert_eq!(
        f("status")
            .parameters
            .get("io.confluent.connect.protobuf.Enum.SHIPPED")
            .map(String::as_str),
        Some("3")
    );
    assert_eq!(
        f("payment_0").name.as_deref(),
        Some("io.confluent.connect.protobuf.Union.payment")
    );
    assert_eq!(f("counts").kind, SchemaType::Map);
    assert_eq!(
        f("note").kind,
        SchemaType::Struct,
        "a wrapper is a struct unless wrapper.for.nullables"
    );
    assert_eq!(
        f("delta")
            .parameters
            .get("io.confluent.connect.protobuf.Type")
            .map(String::as_str),
        Some("sint32")
    );
    assert_eq!(f("qty").kind, SchemaType::Int64);
    let w = ProtobufOptions {
        wrapper_for_nullables: true,
        int_for_enums: true,
        generate_index_for_unions: false,
        enhanced: true,
        ..Default::default()
    };
    let c2 = connect_schema_from_proto(&desc, &w).unwrap();
    assert_eq!(c2.name.as_deref(), Some("acme.v1.Order"));
    assert_eq!(c2.field("note").unwrap().schema.kind, SchemaType::String);
    assert_eq!(c2.field("status").unwrap().schema.kind, SchemaType::Int32);
    assert!(c2.field("payment").is_some());

    // values: build a message with prost-reflect and read it
    let mut m = DynamicMessage::new(desc.clone());
    m.set_field_by_name("id", prost_reflect::Value::I64(9));
    m.set_field_by_name("status", prost_reflect::Value::EnumNumber(3));
    m.set_field_by_name("points", prost_reflect::Value::I64(40));
    m.set_field_by_name("delta", prost_reflect::Value::I32(-2));
    let mut counts = std::collections::HashMap::new();
    counts.insert(
        prost_reflect::MapKey::String("a".into()),
        prost_reflect::Value::I32(1),
    );
    m.set_field_by_name("counts", prost_reflect::Value::Map(counts));
    let v = from_message(&c, &m, &ProtobufOptions::default(), "").unwrap();
    let Value::Struct(s) = &v else { panic!() };
    assert_eq!(s.get("id"), Some(&Value::Int64(9)));
    assert_eq!(s.get("status"), Some(&Value::from("SHIPPED")));
    assert_eq!(s.get("delta"), Some(&Value::Int32(-2)));
    assert_eq!(s.get("note"), Some(&Value::Null));
    assert_eq!(s.get("at"), Some(&Value::Null));
    assert_eq!(
        s.get("ratio"),
        Some(&Value::Null),
        "proto3 optional unset is null"
    );
    assert_eq!(s.get("lines"), Some(&Value::Array(vec![])));
    assert_eq!(
        s.get("counts"),
        Some(&Value::Map(vec![("a".into(), Value::Int32(1))]))
    );
    let Some(Value::Struct(u)) = s.get("payment_0") else {
        panic!("{:?}", s)
    };
    assert_eq!(u.get("points"), Some(&Value::Int64(40)));
    assert_eq!(u.get("card"), Some(&Value::Null));
    // and Connect → the same message again (Sluice writing with use.latest.version)
    let again = to_message(&desc, &v, "").unwrap();
    assert_eq!(again.encode_to_vec(), m.encode_to_vec());

    // the Connect schema read from it is written back as Confluent would: the enum and
    // the oneof come back, field numbers kept from the Tag parameters
    let p = proto_from_connect(&c, &ProtobufOptions::default()).unwrap();
    for want in [
        "  oneof payment {\n    string card = 4;\n    int64 points = 5;\n  }",
        "  Status status = 2;",
        "  repeated countsEntry counts = 3;",
        "  sint32 delta = 8;",
        "  uint32 qty = 9;",
        "  enum Status {\n    NEW = 0;\n    SHIPPED = 3;\n  }",
    ] {
        assert!(p.text.contains(want), "missing {:?} in\n{}", want, p.text);
    }
    let file = compile(&p.text).unwrap_or_else(|e| panic!("{}\n{}", e, p.text));
    let desc2 = file.parent_pool().get_message_by_name("Order").unwrap();
    let bytes = to_message(&desc2, &v, "").unwrap().encode_to_vec();
    let back = DynamicMessage::decode(desc2, bytes.as_slice()).unwrap();
    // everything survives but the unset `optional double`: without
    // optional.for.nullables it is written as a plain proto3 field, read back as 0.0
    let mut want = s.clone();
    want.put("ratio", Value::Float64(0.0)).unwrap();
    assert_eq!(
        from_message(&c, &back, &ProtobufOptions::default(), "").unwrap(),
        Value::Struct(want)
    );
}

#[test]
fn serialized_descriptors_as_other_clients_register_them_compile() {
    // what confluent-kafka's Python ProtobufSerializer registers: a base64
    // FileDescriptorProto importing a well-known type, without references
    let f = compile(FOREIGN).unwrap();
    let proto = f.file_descriptor_proto().clone();
    let b64 = base64::engine::general_purpose::STANDARD.encode(proto.encode_to_vec());
    let g = compile(&b64).unwrap();
    assert_eq!(g.package_name(), "acme.v1");
    assert!(g
        .parent_pool()
        .get_message_by_name("acme.v1.Line")
        .is_some());
    // field options survive: Sluice's own schema, serialized, still says int16 / scale 2
    let p = proto_from_connect(&row_schema(), &ProtobufOptions::default()).unwrap();
    let own = compile(&p.text).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(own.encode_to_vec());
    let g = compile(&b64).unwrap();
    let desc = g.parent_pool().get_message_by_name("shop.Row").unwrap();
    let c = connect_schema_from_proto(&desc, &ProtobufOptions::default()).unwrap();
    assert_eq!(c.field("small").unwrap().schema.kind, SchemaType::Int16);
    assert_eq!(
        c.field("price")
            .unwrap()
            .schema
            .parameters
            .get("scale")
            .map(String::as_str),
        Some("2")
    );
    let e =
        compile("syntax = \"proto3\";\nimport \"other/thing.proto\";\nmessage X {}\n").unwrap_err();
    assert!(
        e.contains("other/thing.proto") && e.contains("schema references"),
        "{}",
        e
    );
    let e = compile("syntax = \"proto3\";\nmessage X { int32 = 1; }\n").unwrap_err();
    assert!(!e.is_empty());
}

#[test]
fn unsupported_keys_are_refused_by_name() {
    let raw: crate::config::RawConfig = [
        ("schema.registry.url", "http://localhost:8081"),
        ("flatten.unions", "true"),
        ("wrapper.for.nullables", "true"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let e = converter::create(&raw, false).err().unwrap();
    assert_eq!(e.0.len(), 1, "{:?}", e.0);
    assert_eq!(e.0[0].key, "flatten.unions");
    let raw: crate::config::RawConfig = [
        ("schema.registry.url", "http://localhost:8081"),
        ("int.for.enums", "true"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert!(converter::create(&raw, true).is_ok());
    assert!(crate::convert::find_converter("protobuf").is_some());
    assert!(
        crate::convert::find_converter("io.confluent.connect.protobuf.ProtobufConverter").is_some()
    );
}
