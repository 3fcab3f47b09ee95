//! Per-record cost of each transform on a typical 10-field struct record (and a
//! schemaless map for a few), and of a 3-transform chain against an empty chain.
//!
//! Run: `cargo bench -p sluice-runtime --bench transforms`. Each sample clones the input
//! record outside the timed section, so the figures are the transform's own cost
//! (including dropping what it replaced).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use sluice_runtime::config::RawConfig;
use sluice_runtime::data::{
    primitive, Record, SchemaAndValue, SchemaBuilder, SchemaRef, SchemaType, Struct, Value,
};
use sluice_runtime::transforms::TransformChain;

#[path = "fixtures/user.rs"]
mod user;
use user::{user_schema, user_values};

fn s(kind: SchemaType) -> SchemaRef {
    primitive(kind, false)
}

fn struct_record() -> Record {
    let schema = user_schema();
    let st = Struct::from_values(schema.clone(), user_values()).unwrap();
    let mut r = Record::new(
        "db.users",
        SchemaAndValue::with_schema(schema, Value::Struct(st)),
    )
    .with_key(SchemaAndValue::with_schema(
        s(SchemaType::Int64),
        Value::Int64(123_456),
    ))
    .with_timestamp(Some(1_700_000_000_123));
    r.partition = Some(3);
    r.headers.add_string("trace", "abc");
    r
}

fn nested_record() -> Record {
    let address = SchemaBuilder::struct_()
        .field("street", s(SchemaType::String))
        .field("city", s(SchemaType::String))
        .field("zip", s(SchemaType::String))
        .build();
    let schema = SchemaBuilder::struct_()
        .field("id", s(SchemaType::Int64))
        .field("name", s(SchemaType::String))
        .field("score", s(SchemaType::Float64))
        .field("home", address.clone())
        .field("work", address.clone())
        .build();
    let addr = |c: &str| {
        Value::Struct(
            Struct::from_values(
                address.clone(),
                vec![
                    Value::from("1 Main St"),
                    Value::from(c),
                    Value::from("12345"),
                ],
            )
            .unwrap(),
        )
    };
    let st = Struct::from_values(
        schema.clone(),
        vec![
            Value::Int64(1),
            Value::from("Ada"),
            Value::Float64(1.5),
            addr("London"),
            addr("Cambridge"),
        ],
    )
    .unwrap();
    Record::new(
        "db.users",
        SchemaAndValue::with_schema(schema, Value::Struct(st)),
    )
    .with_timestamp(Some(1_700_000_000_123))
}

fn map_record() -> Record {
    let schema = user_schema();
    let entries = schema
        .fields
        .iter()
        .zip(user_values())
        .map(|(f, v)| (Value::String(f.name.clone()), v))
        .collect();
    let mut r = Record::new("db.users", SchemaAndValue::schemaless(Value::Map(entries)))
        .with_timestamp(Some(1_700_000_000_123));
    r.partition = Some(3);
    r
}

fn nested_map_record() -> Record {
    let addr = |c: &str| {
        Value::Map(vec![
            (Value::from("street"), Value::from("1 Main St")),
            (Value::from("city"), Value::from(c)),
            (Value::from("zip"), Value::from("12345")),
        ])
    };
    Record::new(
        "db.users",
        SchemaAndValue::schemaless(Value::Map(vec![
            (Value::from("id"), Value::Int64(1)),
            (Value::from("name"), Value::from("Ada")),
            (Value::from("score"), Value::Float64(1.5)),
            (Value::from("home"), addr("London")),
            (Value::from("work"), addr("Cambridge")),
        ])),
    )
}

fn chain(pairs: &[(&str, &str)]) -> TransformChain {
    let raw: RawConfig = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    TransformChain::from_config(&raw).expect("valid chain config")
}

/// A one-transform chain of `class` with plugin keys `keys`.
fn single(class: &str, keys: &[(&str, &str)]) -> TransformChain {
    let mut pairs: Vec<(String, String)> = vec![
        ("transforms".into(), "t".into()),
        ("transforms.t.type".into(), class.into()),
    ];
    for (k, v) in keys {
        pairs.push((format!("transforms.t.{}", k), v.to_string()));
    }
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    chain(&refs)
}

fn bench(c: &mut Criterion, name: &str, mut ch: TransformChain, input: Record) {
    // Check once that the chain works on this input.
    ch.apply(input.clone()).expect("transform succeeds");
    c.bench_function(name, |b| {
        b.iter_batched(|| input.clone(), |r| ch.apply(r), BatchSize::SmallInput)
    });
}

fn transforms(c: &mut Criterion) {
    let st = struct_record();
    let map = map_record();

    bench(
        c,
        "chain/empty (struct)",
        TransformChain::empty(),
        st.clone(),
    );
    let three = [
        ("transforms", "drop,insert,route"),
        ("transforms.drop.type", "ReplaceField$Value"),
        ("transforms.drop.exclude", "ssn,email"),
        ("transforms.drop.renames", "score:rating"),
        ("transforms.insert.type", "InsertField$Value"),
        ("transforms.insert.topic.field", "src_topic"),
        ("transforms.insert.timestamp.field", "ingested"),
        ("transforms.route.type", "RegexRouter"),
        ("transforms.route.regex", "db\\.(.*)"),
        ("transforms.route.replacement", "clean-$1"),
    ];
    bench(
        c,
        "chain/ReplaceField+InsertField+RegexRouter (struct)",
        chain(&three),
        st.clone(),
    );
    bench(
        c,
        "chain/ReplaceField+InsertField+RegexRouter (map)",
        chain(&three),
        map.clone(),
    );

    let insert = [
        ("topic.field", "src_topic"),
        ("partition.field", "src_partition"),
        ("timestamp.field", "ingested"),
        ("static.field", "dc"),
        ("static.value", "eu-1"),
    ];
    bench(
        c,
        "InsertField$Value (struct)",
        single("InsertField$Value", &insert),
        st.clone(),
    );
    bench(
        c,
        "InsertField$Value (map)",
        single("InsertField$Value", &insert),
        map.clone(),
    );
    let replace = [("exclude", "ssn,email"), ("renames", "score:rating")];
    bench(
        c,
        "ReplaceField$Value (struct)",
        single("ReplaceField$Value", &replace),
        st.clone(),
    );
    bench(
        c,
        "ReplaceField$Value (map)",
        single("ReplaceField$Value", &replace),
        map.clone(),
    );
    let mask = [("fields", "ssn,email")];
    bench(
        c,
        "MaskField$Value (struct)",
        single("MaskField$Value", &mask),
        st.clone(),
    );
    bench(
        c,
        "MaskField$Value (map)",
        single("MaskField$Value", &mask),
        map.clone(),
    );
    bench(
        c,
        "ValueToKey (struct)",
        single("ValueToKey", &[("fields", "id")]),
        st.clone(),
    );
    bench(
        c,
        "ExtractField$Value (struct)",
        single("ExtractField$Value", &[("field", "name")]),
        st.clone(),
    );
    bench(
        c,
        "HoistField$Value (struct)",
        single("HoistField$Value", &[("field", "payload")]),
        st.clone(),
    );
    let cast = [("spec", "id:string,age:int64,active:int8")];
    bench(
        c,
        "Cast$Value (struct)",
        single("Cast$Value", &cast),
        st.clone(),
    );
    bench(
        c,
        "Cast$Value (map)",
        single("Cast$Value", &cast),
        map.clone(),
    );
    bench(
        c,
        "Flatten$Value (nested struct)",
        single("Flatten$Value", &[]),
        nested_record(),
    );
    bench(
        c,
        "Flatten$Value (nested map)",
        single("Flatten$Value", &[]),
        nested_map_record(),
    );
    bench(
        c,
        "TimestampRouter",
        single("TimestampRouter", &[]),
        st.clone(),
    );
    bench(
        c,
        "RegexRouter",
        single(
            "RegexRouter",
            &[("regex", "db\\.(.*)"), ("replacement", "clean-$1")],
        ),
        st.clone(),
    );
    bench(
        c,
        "TimestampConverter$Value (struct field -> string)",
        single(
            "TimestampConverter$Value",
            &[
                ("field", "created"),
                ("target.type", "string"),
                ("format", "yyyy-MM-dd'T'HH:mm:ss.SSS"),
            ],
        ),
        st.clone(),
    );
    bench(
        c,
        "SetSchemaMetadata$Value (struct)",
        single(
            "SetSchemaMetadata$Value",
            &[
                ("schema.name", "com.example.UserV2"),
                ("schema.version", "2"),
            ],
        ),
        st.clone(),
    );
    bench(
        c,
        "InsertHeader",
        single(
            "InsertHeader",
            &[("header", "source"), ("value.literal", "sluice")],
        ),
        st.clone(),
    );
    bench(
        c,
        "DropHeaders",
        single("DropHeaders", &[("headers", "trace")]),
        st.clone(),
    );
    bench(
        c,
        "HeaderFrom$Value copy (struct)",
        single(
            "HeaderFrom$Value",
            &[("fields", "id"), ("headers", "id"), ("operation", "copy")],
        ),
        st.clone(),
    );
    bench(c, "Filter", single("Filter", &[]), st.clone());
}

criterion_group!(benches, transforms);
criterion_main!(benches);
