//! Schema mapping and value round trips of the Avro converter without a registry
//! (the registry paths are tested end to end in tests/schema_registry.rs).

use apache_avro::Schema as AvroSchema;
use bytes::Bytes;
use serde_json::json;

use super::from_avro::connect_schema_from_avro;
use super::schema::avro_schema_from_connect;
use super::value::{names_of, to_avro, to_connect};
use crate::data::{logical, primitive, SchemaBuilder, SchemaRef, SchemaType, Struct, Value};

fn order_schema() -> SchemaRef {
    let address = SchemaBuilder::struct_()
        .name("shop.Address")
        .field("city", primitive(SchemaType::String, false))
        .build();
    SchemaBuilder::struct_()
        .name("shop.Order")
        .version(2)
        .doc("an order")
        .field("id", primitive(SchemaType::Int64, false))
        .field("tiny", primitive(SchemaType::Int8, false))
        .field("note", primitive(SchemaType::String, true))
        .field("price", logical::decimal_builder(2).build())
        .field("day", logical::date_builder().optional().build())
        .field("at", logical::timestamp_builder().build())
        .field(
            "tags",
            SchemaBuilder::array(primitive(SchemaType::String, false)).build(),
        )
        .field(
            "by_id",
            SchemaBuilder::map(
                primitive(SchemaType::Int32, false),
                primitive(SchemaType::String, true),
            )
            .build(),
        )
        .field(
            "attrs",
            SchemaBuilder::map(
                primitive(SchemaType::String, false),
                primitive(SchemaType::Float64, false),
            )
            .build(),
        )
        .field("ship", address.clone())
        .field(
            "bill",
            SchemaBuilder::from_schema(&address).optional().build(),
        )
        .build()
}

#[test]
fn connect_schema_becomes_confluents_avro_schema() {
    let avro = avro_schema_from_connect(&order_schema(), true).unwrap();
    assert_eq!(avro["type"], "record");
    assert_eq!(avro["name"], "Order");
    assert_eq!(avro["namespace"], "shop");
    assert_eq!(avro["doc"], "an order");
    assert_eq!(avro["connect.name"], "shop.Order");
    assert_eq!(avro["connect.version"], 2);
    let f = |n: &str| {
        avro["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(f("id")["type"], "long");
    assert_eq!(
        f("tiny")["type"],
        json!({"type":"int","connect.type":"int8"})
    );
    assert_eq!(f("note")["type"], json!(["null", "string"]));
    assert_eq!(f("note")["default"], json!(null));
    assert_eq!(f("price")["type"]["logicalType"], "decimal");
    assert_eq!(f("price")["type"]["scale"], 2);
    assert_eq!(f("price")["type"]["precision"], 64);
    assert_eq!(
        f("price")["type"]["connect.parameters"],
        json!({"scale": "2"})
    );
    assert_eq!(f("day")["type"][1]["logicalType"], "date");
    assert_eq!(f("at")["type"]["logicalType"], "timestamp-millis");
    assert_eq!(f("by_id")["type"]["type"], "array");
    assert_eq!(f("by_id")["type"]["items"]["name"], "MapEntry");
    assert_eq!(f("attrs")["type"], json!({"type":"map","values":"double"}));
    // the second use of shop.Address refers to the first by name
    assert_eq!(f("ship")["type"]["name"], "Address");
    assert_eq!(f("bill")["type"], json!(["null", "shop.Address"]));
    AvroSchema::parse(&avro).expect("a valid Avro schema");
}

#[test]
fn avro_schema_reads_back_as_the_same_connect_schema() {
    let s = order_schema();
    let avro = avro_schema_from_connect(&s, true).unwrap();
    let back = connect_schema_from_avro(&avro).unwrap();
    assert_eq!(back.name.as_deref(), Some("shop.Order"));
    assert_eq!(back.version, Some(2));
    for (a, b) in s.fields.iter().zip(back.fields.iter()) {
        assert_eq!(a.name, b.name);
        assert_eq!(a.schema.kind, b.schema.kind, "{}", a.name);
        assert_eq!(a.schema.optional, b.schema.optional, "{}", a.name);
        assert_eq!(a.schema.name, b.schema.name, "{}", a.name);
    }
    assert_eq!(
        back.field("price").unwrap().schema.logical(),
        s.field("price").unwrap().schema.logical()
    );
}

#[test]
fn values_round_trip_through_avro_binary() {
    let s = order_schema();
    let address = s.field("ship").unwrap().schema.clone();
    let mut ship = Struct::new(address.clone());
    ship.put("city", Value::String("Oslo".into())).unwrap();
    let mut o = Struct::new(s.clone());
    o.put("id", Value::Int64(-7)).unwrap();
    o.put("tiny", Value::Int8(-128)).unwrap();
    o.put("note", Value::Null).unwrap();
    o.put(
        "price",
        Value::Bytes(Bytes::from(logical::decimal_to_bytes(-1234))),
    )
    .unwrap();
    o.put("day", Value::Int32(19782)).unwrap();
    o.put("at", Value::Int64(1_709_296_496_789)).unwrap();
    o.put("tags", Value::Array(vec![Value::String("a".into())]))
        .unwrap();
    o.put(
        "by_id",
        Value::Map(vec![(Value::Int32(3), Value::String("three".into()))]),
    )
    .unwrap();
    o.put(
        "attrs",
        Value::Map(vec![(Value::String("w".into()), Value::Float64(1.5))]),
    )
    .unwrap();
    o.put("ship", Value::Struct(ship)).unwrap();
    // bill's schema is the optional form of shop.Address: a struct put there
    // carries that schema, as Connect's ConnectSchema.validateValue requires
    // (`Struct schemas do not match` otherwise)
    let bill_schema = s.field("bill").unwrap().schema.clone();
    let mut bill = Struct::new(bill_schema.clone());
    bill.put("city", Value::String("Bergen".into())).unwrap();
    o.put("bill", Value::Struct(bill)).unwrap();
    let value = Value::Struct(o);

    let avro_json = avro_schema_from_connect(&s, true).unwrap();
    let avro = AvroSchema::parse(&avro_json).unwrap();
    let names = names_of(&avro).unwrap();
    let body =
        apache_avro::to_avro_datum(&avro, to_avro(&avro, &names, &value, "").unwrap()).unwrap();
    let decoded = apache_avro::from_avro_datum(&avro, &mut &body[..], None).unwrap();
    let connect = connect_schema_from_avro(&avro_json).unwrap();
    let back = to_connect(&connect, decoded).unwrap();
    let (Value::Struct(a), Value::Struct(b)) = (&value, &back) else {
        panic!("structs expected");
    };
    assert_eq!(a.values(), b.values());
    // the named reference (["null","shop.Address"]) reads back as a struct
    // carrying exactly the schema of the field it sits in
    let Value::Struct(bill_back) = b.get("bill").unwrap() else {
        panic!("bill is a struct");
    };
    assert_eq!(bill_back.schema().as_ref(), bill_schema.as_ref());
    assert_eq!(
        bill_back.schema().as_ref(),
        connect.field("bill").unwrap().schema.as_ref()
    );
    assert!(bill_back.schema().optional);
    b.validate()
        .expect("the decoded struct validates against its schema");
}

#[test]
fn null_for_a_required_field_names_the_field() {
    let s = SchemaBuilder::struct_()
        .name("x.R")
        .field("must", primitive(SchemaType::String, false))
        .build();
    let avro = AvroSchema::parse(&avro_schema_from_connect(&s, true).unwrap()).unwrap();
    let names = names_of(&avro).unwrap();
    let v = Value::Struct(Struct::new(s));
    let e = to_avro(&avro, &names, &v, "").unwrap_err();
    assert!(e.0.contains("must: null"), "{}", e.0);
}
