//! Source partitions and offsets in Connect's JDBC form: partition
//! `{"table": "<schema.table>", "protocol": "1"}` (query mode `{"query": "query"}`),
//! offset `{"incrementing": N, "timestamp": <epoch ms>, "timestamp_nanos": <ns within
//! the second>}`. PostgreSQL keeps microseconds, so the nanos are whole microseconds.
//!
//! Confluent's connector names a table by its fully qualified name, which with recent
//! pgJDBC drivers includes the database (`db.schema.table`), and its protocol 0 by the
//! bare table name. A task looks for stored offsets under each form
//! ([`table_partitions`]) and keeps writing under the one it found, so a connector can
//! move from Confluent to Sluice and back.

use serde_json::{json, Value as Json};
use sluice_runtime::data::{SourceOffset, SourcePartition};

use super::source::{From, TableId};

/// Where a table's reading stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offset {
    pub inc: Option<i64>,
    /// Microseconds since the Unix epoch.
    pub ts_micros: Option<i64>,
}

impl Offset {
    pub fn to_json(self) -> SourceOffset {
        let mut m = SourceOffset::new();
        if let Some(i) = self.inc {
            m.insert("incrementing".into(), json!(i));
        }
        if let Some(us) = self.ts_micros {
            m.insert("timestamp".into(), json!(us.div_euclid(1000)));
            m.insert(
                "timestamp_nanos".into(),
                json!(us.rem_euclid(1_000_000) * 1000),
            );
        }
        m
    }

    pub fn from_json(m: &SourceOffset) -> Offset {
        let inc = m.get("incrementing").and_then(Json::as_i64);
        let ts_micros = m.get("timestamp").and_then(Json::as_i64).map(|ms| {
            match m.get("timestamp_nanos").and_then(Json::as_i64) {
                Some(ns) => ms.div_euclid(1000) * 1_000_000 + ns / 1000,
                None => ms * 1000,
            }
        });
        Offset { inc, ts_micros }
    }
}

/// The partitions a table's offsets may be stored under, in the order they are
/// looked up: Confluent's three-part `db.schema.table` (when the database is known),
/// Sluice's `schema.table` (Confluent's with older drivers), Confluent's protocol 0
/// `{"table": "<table>"}`. The query has one.
pub fn table_partitions(from: &From, database: Option<&str>) -> Vec<SourcePartition> {
    match from {
        From::Table(t) => {
            let mut v = Vec::with_capacity(3);
            if let Some(db) = database.filter(|d| !d.is_empty()) {
                v.push(protocol1(format!("{}.{}", db, t.display())));
            }
            v.push(partition(from));
            v.push(legacy_partition(t));
            v
        }
        From::Query(_) => vec![partition(from)],
    }
}

fn protocol1(name: String) -> SourcePartition {
    let mut p = SourcePartition::new();
    p.insert("table".into(), Json::String(name));
    p.insert("protocol".into(), Json::String("1".into()));
    p
}

/// The source partition a new offset of a table (or of the query) is written under
/// when none was stored.
pub fn partition(from: &From) -> SourcePartition {
    let mut p = SourcePartition::new();
    match from {
        From::Table(t) => return protocol1(t.display()),
        From::Query(_) => {
            p.insert("query".into(), Json::String("query".into()));
        }
    }
    p
}

/// Connect's older partition form (`{"table": "<name>"}`), read when no protocol-1
/// offset is stored.
pub fn legacy_partition(t: &TableId) -> SourcePartition {
    let mut p = SourcePartition::new();
    p.insert("table".into(), Json::String(t.name.clone()));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_looked_up_three_part_first() {
        let from = From::Table(TableId::parse("sales.orders"));
        let names: Vec<Json> = table_partitions(&from, Some("shop"))
            .iter()
            .map(|p| json!(p))
            .collect();
        assert_eq!(
            names,
            vec![
                json!({"table": "shop.sales.orders", "protocol": "1"}),
                json!({"table": "sales.orders", "protocol": "1"}),
                json!({"table": "orders"}),
            ]
        );
        assert_eq!(table_partitions(&from, None).len(), 2);
        let q = From::Query("SELECT 1".into());
        assert_eq!(table_partitions(&q, Some("shop")), vec![partition(&q)]);
    }

    #[test]
    fn round_trip_keeps_microseconds() {
        let o = Offset {
            inc: Some(42),
            ts_micros: Some(1_700_000_000_123_456),
        };
        let j = o.to_json();
        assert_eq!(j["timestamp"], json!(1_700_000_000_123i64));
        assert_eq!(j["timestamp_nanos"], json!(123_456_000));
        assert_eq!(j["incrementing"], json!(42));
        assert_eq!(Offset::from_json(&j), o);
        let neg = Offset {
            inc: None,
            ts_micros: Some(-1),
        };
        assert_eq!(Offset::from_json(&neg.to_json()), neg);
    }
}
