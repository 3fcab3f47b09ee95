//! Debezium MongoDB events, as the MongoDB connector's `debezium.mongodb.MongoDbHandler`
//! (`change_stream = false`) and `debezium.mongodb.ChangeStreamHandler` replay them.
//!
//! The key is `{"id": "<the _id as Extended JSON>"}`; the value holds `op` and, as
//! JSON strings, `after` (the inserted document; with Debezium's change stream
//! capture modes also the updated one) and, in Debezium 1.x, `patch` (the oplog's
//! update). `c` / `r`: replace by the `_id` of `after`, upsert. `u`: MongoDbHandler
//! replaces with `patch` when it holds an `_id` (a whole document) and otherwise
//! applies it as an update to the key's `_id` (after dropping the oplog's `$v`);
//! ChangeStreamHandler replaces the key's document with `after`, upsert. `d`: deletes
//! the key's `_id`. A tombstone (key with `id`, no value) writes nothing.

use mongodb::bson::{doc, Bson, Document};

use super::{debezium_op, json_field, DebeziumOp};
use crate::mongodb::bson_mapping::parse_json;
use crate::mongodb::id_strategy::SinkDocument;
use crate::mongodb::write_model::WriteOp;

pub(super) fn handle(doc: &SinkDocument, change_stream: bool) -> Result<Option<WriteOp>, String> {
    let key = match &doc.key {
        Some(k) if !k.is_empty() => k,
        _ => {
            return Err(match &doc.key_error {
                Some(e) => format!("the key must be a document in CDC mode: {}", e),
                None => "the key document must not be missing in CDC mode".into(),
            })
        }
    };
    let value = match &doc.value {
        Some(v) if !v.is_empty() => v,
        _ if key.contains_key("id") => return Ok(None),
        _ => return Err("the value document is missing".into()),
    };
    let Some(op) = debezium_op(value)? else {
        return Ok(None);
    };
    Ok(Some(match op {
        DebeziumOp::Create => {
            let after = json_field(value, "after")?;
            let id = after
                .get("_id")
                .cloned()
                .ok_or("the document in after has no _id")?;
            WriteOp::Update {
                q: doc! {"_id": id},
                u: after,
                upsert: true,
            }
        }
        DebeziumOp::Update if change_stream => WriteOp::Update {
            q: key_filter(key)?,
            u: json_field(value, "after")?,
            upsert: true,
        },
        DebeziumOp::Update => {
            let mut patch = json_field(value, "patch")?;
            patch.remove("$v");
            match patch.get("_id").cloned() {
                // The patch is a whole new document.
                Some(id) => WriteOp::Update {
                    q: doc! {"_id": id},
                    u: patch,
                    upsert: true,
                },
                // An update applied to the document of the key.
                None => WriteOp::Update {
                    q: key_filter(key)?,
                    u: patch,
                    upsert: false,
                },
            }
        }
        DebeziumOp::Delete => WriteOp::Delete {
            q: key_filter(key)?,
        },
    }))
}

/// `{_id: <the key's id parsed as Extended JSON>}`.
fn key_filter(key: &Document) -> Result<Document, String> {
    match key.get("id") {
        Some(Bson::String(id)) => parse_json(&format!("{{\"_id\": {}}}", id))
            .map_err(|e| format!("the key's id {:?} is not an Extended JSON value: {}", id, e)),
        Some(other) => Err(format!(
            "the key's id field is not a string but {:?}",
            other.element_type()
        )),
        None => Err("the key document has no id field".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::oid::ObjectId;

    const OID: &str = "596e275826f08b2730779e1f";

    fn event(value: Option<Document>) -> SinkDocument {
        SinkDocument::for_test(
            Some(doc! {"id": format!("{{\"$oid\": \"{}\"}}", OID)}),
            value,
        )
    }

    #[test]
    fn debezium_mongodb_events_become_writes() {
        let oid = ObjectId::parse_str(OID).unwrap();
        let after = format!("{{\"_id\": {{\"$oid\": \"{}\"}}, \"name\": \"a\"}}", OID);
        let create = event(Some(doc! {"op": "c", "after": &after}));
        assert_eq!(
            handle(&create, false).unwrap(),
            Some(WriteOp::Update {
                q: doc! {"_id": oid},
                u: doc! {"_id": oid, "name": "a"},
                upsert: true
            })
        );
        let patch = event(Some(
            doc! {"op": "u", "patch": "{\"$v\": 1, \"$set\": {\"name\": \"b\"}}"},
        ));
        assert_eq!(
            handle(&patch, false).unwrap(),
            Some(WriteOp::Update {
                q: doc! {"_id": oid},
                u: doc! {"$set": {"name": "b"}},
                upsert: false
            })
        );
        let full = event(Some(
            doc! {"op": "u", "after": &after, "updateDescription": {}},
        ));
        assert!(handle(&full, false).unwrap_err().contains("no patch field"));
        assert_eq!(
            handle(&full, true).unwrap(),
            Some(WriteOp::Update {
                q: doc! {"_id": oid},
                u: doc! {"_id": oid, "name": "a"},
                upsert: true
            })
        );
        let delete = event(Some(doc! {"op": "d", "after": null}));
        assert_eq!(
            handle(&delete, true).unwrap(),
            Some(WriteOp::Delete {
                q: doc! {"_id": oid}
            })
        );
        assert_eq!(handle(&event(None), false).unwrap(), None);
        assert_eq!(
            handle(&event(Some(doc! {"ddl": "x"})), false).unwrap(),
            None
        );
        assert!(handle(&event(Some(doc! {"op": "x"})), false)
            .unwrap_err()
            .contains("unknown operation type"));
        let nokey = SinkDocument::for_test(None, Some(doc! {"op": "c"}));
        assert!(handle(&nokey, false).unwrap_err().contains("key document"));
    }
}
