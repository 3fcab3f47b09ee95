//! Debezium relational events (PostgreSQL, MySQL, ...), as the MongoDB connector's
//! `debezium.rdbms.RdbmsHandler` replays them.
//!
//! The key holds the primary key columns; the `_id` of the document is that key as a
//! document (`{_id: {id: 1}}`), and the document holds the other columns of `after`.
//! `c` / `r`: replace by that `_id`, upsert (without a key, a new ObjectId). `u`: the
//! same (without a key, the document matching every column of `before`). `d`: delete
//! by that `_id` (without a key, by `before`). A tombstone (no value) writes nothing.

use mongodb::bson::{doc, oid::ObjectId, Bson, Document};

use super::{debezium_op, DebeziumOp};
use crate::mongodb::id_strategy::SinkDocument;
use crate::mongodb::write_model::WriteOp;

pub(super) fn handle(doc: &SinkDocument) -> Result<Option<WriteOp>, String> {
    let empty = Document::new();
    let key = doc.key.as_ref().unwrap_or(&empty);
    let value = match &doc.value {
        Some(v) if !v.is_empty() => v,
        _ => return Ok(None),
    };
    let Some(op) = debezium_op(value)? else {
        return Ok(None);
    };
    let filter = filter(key, value, op)?;
    Ok(Some(match op {
        DebeziumOp::Create | DebeziumOp::Update => WriteOp::Update {
            u: replacement(key, value, &filter)?,
            q: filter,
            upsert: true,
        },
        DebeziumOp::Delete => WriteOp::Delete { q: filter },
    }))
}

/// The filter: `{_id: <key columns>}`; without key columns a new ObjectId for an
/// insert, or every column of `before` for an update or delete.
fn filter(key: &Document, value: &Document, op: DebeziumOp) -> Result<Document, String> {
    if !key.is_empty() {
        return Ok(doc! {"_id": key.clone()});
    }
    if op == DebeziumOp::Create {
        return Ok(doc! {"_id": ObjectId::new()});
    }
    match value.get("before") {
        Some(Bson::Document(b)) if !b.is_empty() => Ok(b.clone()),
        _ => Err(
            "without key columns an update or delete needs a non-empty before document (the table has no primary key and no REPLICA IDENTITY FULL?)"
                .into(),
        ),
    }
}

/// The new document: the filter's `_id` and the columns of `after` that are not key
/// columns.
fn replacement(key: &Document, value: &Document, filter: &Document) -> Result<Document, String> {
    let after = match value.get("after") {
        Some(Bson::Document(a)) if !a.is_empty() => a,
        _ => {
            return Err(
                "the value must hold a non-empty after document for an insert or update".into(),
            )
        }
    };
    let mut out = Document::new();
    if let Some(id) = filter.get("_id") {
        out.insert("_id", id.clone());
    }
    for (k, v) in after {
        if !key.contains_key(k) {
            out.insert(k.clone(), v.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relational_events_become_writes() {
        let k = Some(doc! {"id": 1});
        let ev = |v: Document| SinkDocument::for_test(k.clone(), Some(v));
        let after = doc! {"id": 1, "name": "a", "n": null};
        assert_eq!(
            handle(&ev(
                doc! {"before": null, "after": after.clone(), "op": "r"}
            ))
            .unwrap(),
            Some(WriteOp::Update {
                q: doc! {"_id": {"id": 1}},
                u: doc! {"_id": {"id": 1}, "name": "a", "n": null},
                upsert: true
            })
        );
        assert_eq!(
            handle(&ev(
                doc! {"before": after.clone(), "after": null, "op": "d"}
            ))
            .unwrap(),
            Some(WriteOp::Delete {
                q: doc! {"_id": {"id": 1}}
            })
        );
        assert!(handle(&ev(doc! {"after": null, "op": "u"}))
            .unwrap_err()
            .contains("non-empty after"));
        assert_eq!(
            handle(&SinkDocument::for_test(k.clone(), None)).unwrap(),
            None
        );
        // No primary key: a new ObjectId on insert, `before` as the filter on delete.
        let nokey = |v: Document| SinkDocument::for_test(None, Some(v));
        match handle(&nokey(doc! {"after": {"a": 1}, "op": "c"})).unwrap() {
            Some(WriteOp::Update { q, u, .. }) => {
                assert!(matches!(q.get("_id"), Some(Bson::ObjectId(_))));
                assert_eq!(u.get("_id"), q.get("_id"));
                assert_eq!(u.get("a"), Some(&Bson::Int32(1)));
            }
            other => panic!("{:?}", other),
        }
        assert_eq!(
            handle(&nokey(doc! {"before": {"a": 1}, "op": "d"})).unwrap(),
            Some(WriteOp::Delete { q: doc! {"a": 1} })
        );
        assert!(handle(&nokey(doc! {"before": null, "op": "d"})).is_err());
    }
}
