//! Source partitions and offsets in Connect's JDBC form: partition
//! `{"table": "<schema.table>", "protocol": "1"}` (query mode `{"query": "query"}`),
//! offset `{"incrementing": N, "timestamp": <epoch ms>, "timestamp_nanos": <ns within
//! the second>}`. PostgreSQL keeps microseconds, so the nanos are whole microseconds.

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

/// The source partition of a table or of the query.
pub fn partition(from: &From) -> SourcePartition {
    let mut p = SourcePartition::new();
    match from {
        From::Table(t) => {
            p.insert("table".into(), Json::String(t.display()));
            p.insert("protocol".into(), Json::String("1".into()));
        }
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
