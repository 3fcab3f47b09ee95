//! What a chain of three common transforms adds to the JsonConverter path of a source
//! record (issue 18, goal 4: at most 25 %).
//!
//! Run: `cargo bench -p sluice-runtime --bench chain_cost`.
//!
//! Two records, each converted the way a source task converts it (headers with the
//! SimpleHeaderConverter, key and value with the JsonConverter, `schemas.enable` on):
//!
//! * `line`: a 100-byte string value, as FileStreamSource makes, and the chain of the
//!   file benchmark: HoistField$Value, InsertField$Value (a static field), RegexRouter.
//! * `struct`: a 10-field struct value with an int64 key and a header, and the chain
//!   ReplaceField$Value (drop one field, rename one), InsertField$Value (topic and
//!   timestamp fields), RegexRouter (`db\.(.*)` → `$1-copy`).
//!
//! For each it prints the nanoseconds per record of the converters alone and of the
//! chain followed by the converters (median of alternating rounds), and, when
//! `valgrind` is installed, the instructions per record of each path counted by
//! callgrind (this binary runs itself under `valgrind --tool=callgrind` with
//! `SLUICE_CHAIN_COST_PATH` set; only the measured function is counted). Instruction
//! counts are stable on a noisy machine; the chain's cost is the difference between the
//! two paths, as a share of the converters' path.

use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use bytes::Bytes;
use sluice_runtime::config::RawConfig;
use sluice_runtime::convert::{build_converter, build_header_converter};
use sluice_runtime::convert::{Converter, HeaderConverter};
use sluice_runtime::data::{primitive, Record, SchemaAndValue, SchemaType, Struct, Value};
use sluice_runtime::transforms::{Fate, TransformChain};

// The allocator of the sluice binary, so that allocations cost what they cost there.
#[path = "../../src/allocator.rs"]
#[allow(dead_code)] // its unit tests are compiled here too
mod allocator;

#[path = "fixtures/user.rs"]
mod user;
use user::{user_schema, user_values};

const JSON: &str = "org.apache.kafka.connect.json.JsonConverter";
const SIMPLE: &str = "org.apache.kafka.connect.storage.SimpleHeaderConverter";

/// The converters of one source task.
struct Converters {
    key: Box<dyn Converter>,
    value: Box<dyn Converter>,
    header: Box<dyn HeaderConverter>,
}

impl Converters {
    fn new() -> Self {
        let none = RawConfig::new();
        Converters {
            key: build_converter("key.converter", JSON, &none, true).unwrap(),
            value: build_converter("value.converter", JSON, &none, false).unwrap(),
            header: build_header_converter("header.converter", SIMPLE, &none).unwrap(),
        }
    }

    /// What `RecordPipeline::convert_source` does with a record (in the box a source
    /// record carries it in): headers, key, value.
    #[allow(clippy::boxed_local)]
    fn convert(&mut self, r: Box<Record>) -> usize {
        let Record {
            topic,
            key,
            value,
            headers: record_headers,
            ..
        } = *r;
        let mut headers: Vec<(String, Option<Bytes>)> = Vec::with_capacity(record_headers.len());
        for h in record_headers.iter() {
            let b = self
                .header
                .from_connect_header(&topic, &h.key, &h.value)
                .unwrap();
            headers.push((h.key.clone(), b));
        }
        let key = self
            .key
            .from_connect_owned(&topic, &record_headers, key)
            .map_err(|(e, _)| e)
            .unwrap();
        let value = self
            .value
            .from_connect_owned(&topic, &record_headers, value)
            .map_err(|(e, _)| e)
            .unwrap();
        let out = (topic, key, value, headers);
        out.0.len() + out.1.map_or(0, |b| b.len()) + out.2.map_or(0, |b| b.len()) + out.3.len()
    }
}

/// The converters alone (the function callgrind counts for this path).
#[inline(never)]
fn measured_json_only(conv: &mut Converters, r: Box<Record>) -> usize {
    conv.convert(r)
}

/// The chain, then the converters (the function callgrind counts for this path).
#[inline(never)]
fn measured_chain_then_json(
    chain: &mut TransformChain,
    conv: &mut Converters,
    mut r: Box<Record>,
) -> usize {
    // As the pipeline does: the chain changes the record in its box.
    let fate = chain.apply_in_place(&mut r).unwrap();
    assert!(matches!(fate, Fate::Keep), "the chain keeps the record");
    conv.convert(r)
}

fn chain(pairs: &[(&str, &str)]) -> TransformChain {
    let raw: RawConfig = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    TransformChain::from_config(&raw).expect("valid chain config")
}

struct Scenario {
    name: &'static str,
    record: Record,
    chain: &'static [(&'static str, &'static str)],
}

fn line_scenario() -> Scenario {
    let line: String = "0123456789".repeat(10);
    Scenario {
        name: "line",
        record: Record::new(
            "lines",
            SchemaAndValue::with_schema(primitive(SchemaType::String, false), Value::from(line)),
        ),
        chain: &[
            ("transforms", "hoist,stamp,route"),
            ("transforms.hoist.type", "HoistField$Value"),
            ("transforms.hoist.field", "line"),
            ("transforms.stamp.type", "InsertField$Value"),
            ("transforms.stamp.static.field", "source"),
            ("transforms.stamp.static.value", "bench"),
            ("transforms.route.type", "RegexRouter"),
            ("transforms.route.regex", "(.*)"),
            ("transforms.route.replacement", "$1"),
        ],
    }
}

fn struct_scenario() -> Scenario {
    let schema = user_schema();
    let values = user_values();
    let st = Struct::from_values(schema.clone(), values).unwrap();
    let mut record = Record::new(
        "db.users",
        SchemaAndValue::with_schema(schema, Value::Struct(st)),
    )
    .with_key(SchemaAndValue::with_schema(
        primitive(SchemaType::Int64, false),
        Value::Int64(123_456),
    ))
    .with_timestamp(Some(1_700_000_000_123));
    record.headers.add_string("trace", "abc");
    Scenario {
        name: "struct",
        record,
        chain: &[
            ("transforms", "drop,stamp,route"),
            ("transforms.drop.type", "ReplaceField$Value"),
            ("transforms.drop.exclude", "ssn"),
            ("transforms.drop.renames", "country:country_code"),
            ("transforms.stamp.type", "InsertField$Value"),
            ("transforms.stamp.topic.field", "source_topic"),
            ("transforms.stamp.timestamp.field", "ingested"),
            ("transforms.route.type", "RegexRouter"),
            ("transforms.route.regex", "db\\.(.*)"),
            ("transforms.route.replacement", "$1-copy"),
        ],
    }
}

/// Records cloned before each timed batch: about what a source task's poll returns
/// (FileStreamSource's default `batch.size` is 2,000), so they are as warm in the cache
/// as a polled batch. With 10,000 the records were out of the cache when read, and the
/// chain's share of the time swung between 36 % and 83 % from run to run.
const BATCH: usize = 1_000;

/// Nanoseconds per record of one path over `batches` batches of fresh clones (cloning
/// is outside the clock).
fn time_path(s: &Scenario, with_chain: bool, batches: usize) -> f64 {
    let mut conv = Converters::new();
    let mut ch = chain(s.chain);
    let mut total = 0.0;
    let mut sink = 0usize;
    for _ in 0..batches {
        let input: Vec<Box<Record>> = (0..BATCH).map(|_| Box::new(s.record.clone())).collect();
        let start = Instant::now();
        for r in input {
            sink += if with_chain {
                measured_chain_then_json(&mut ch, &mut conv, r)
            } else {
                measured_json_only(&mut conv, r)
            };
        }
        total += start.elapsed().as_secs_f64();
    }
    black_box(sink);
    total * 1e9 / (batches * BATCH) as f64
}

/// Runs one path for `n` records: what the callgrind child does.
fn run_path(s: &Scenario, with_chain: bool, n: usize) {
    let mut conv = Converters::new();
    let mut ch = chain(s.chain);
    let mut sink = 0usize;
    for _ in 0..n {
        let r = Box::new(s.record.clone());
        sink += if with_chain {
            measured_chain_then_json(&mut ch, &mut conv, r)
        } else {
            measured_json_only(&mut conv, r)
        };
    }
    black_box(sink);
}

const CALLGRIND_RECORDS: usize = 20_000;

/// Instructions per record of one path, counted by callgrind in a child process.
fn instructions(s: &Scenario, with_chain: bool) -> Option<f64> {
    let exe = std::env::current_exe().ok()?;
    let out_file = std::env::temp_dir().join(format!(
        "sluice-chain-cost-{}-{}-{}.callgrind",
        std::process::id(),
        s.name,
        with_chain
    ));
    let path = format!("{}/{}", s.name, if with_chain { "chain" } else { "json" });
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg("--toggle-collect=*measured_*")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(&exe)
        .env("SLUICE_CHAIN_COST_PATH", &path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    if !status.success() {
        eprintln!("callgrind run of {} failed: {}", path, status);
        return None;
    }
    let text = std::fs::read_to_string(&out_file).ok()?;
    let _ = std::fs::remove_file(&out_file);
    let total: f64 = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())?;
    Some(total / CALLGRIND_RECORDS as f64)
}

fn main() {
    allocator::configure();
    let scenarios = [line_scenario(), struct_scenario()];
    if let Ok(path) = std::env::var("SLUICE_CHAIN_COST_PATH") {
        let (name, which) = path.split_once('/').expect("scenario/path");
        let s = scenarios.iter().find(|s| s.name == name).expect("scenario");
        run_path(
            s,
            which == "chain",
            std::env::var("XN")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(CALLGRIND_RECORDS),
        );
        return;
    }
    let rounds: usize = std::env::var("SLUICE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let batches = 200;
    let have_valgrind = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    for s in &scenarios {
        // Check once that the chain keeps the record and both paths convert it.
        run_path(s, true, 1);
        let (mut json, mut chained) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            json.push(time_path(s, false, batches));
            chained.push(time_path(s, true, batches));
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            v[v.len() / 2]
        };
        let (j, c) = (median(&mut json), median(&mut chained));
        println!(
            "{:<7} time: converters alone {:>6.0} ns/record, chain + converters {:>6.0} ns/record: the chain adds {:.0} % (median of {} rounds of {} records)",
            s.name,
            j,
            c,
            (c - j) / j * 100.0,
            rounds,
            batches * BATCH
        );
        if have_valgrind {
            if let (Some(ji), Some(ci)) = (instructions(s, false), instructions(s, true)) {
                println!(
                    "{:<7} instructions: converters alone {:>6.0} per record, chain + converters {:>6.0} per record: the chain adds {:.0} % (callgrind, {} records)",
                    s.name,
                    ji,
                    ci,
                    (ci - ji) / ji * 100.0,
                    CALLGRIND_RECORDS
                );
            }
        } else {
            println!("(valgrind not installed: no instruction counts)");
        }
    }
}
