//! MongoDB change stream events (as the MongoDB source connector publishes them), as
//! the MongoDB connector's `cdc.mongodb.ChangeStreamHandler` replays them.
//!
//! `insert` / `replace`: replace the `documentKey` document with `fullDocument`,
//! upsert. `update`: with a `fullDocument`, replace (no upsert); otherwise `$set` the
//! `updateDescription.updatedFields` and `$unset` its `removedFields`. `delete`:
//! delete the `documentKey` document. Other operations (drop, rename, ...) write
//! nothing.

use mongodb::bson::{doc, Bson, Document};

use crate::mongodb::id_strategy::SinkDocument;
use crate::mongodb::write_model::WriteOp;

pub(super) fn handle(doc: &SinkDocument) -> Result<Option<WriteOp>, String> {
    let empty = Document::new();
    let event = doc.value.as_ref().unwrap_or(&empty);
    let op = match event.get("operationType") {
        Some(Bson::String(op)) => op.to_ascii_lowercase(),
        Some(_) => return Err("the operationType field is not a string".into()),
        None => return Err(format!("the operationType field is missing: {}", event)),
    };
    Ok(Some(match op.as_str() {
        "insert" | "replace" => WriteOp::Update {
            q: sub_document(event, "documentKey")?,
            u: sub_document(event, "fullDocument")?,
            upsert: true,
        },
        "update" if event.contains_key("fullDocument") => WriteOp::Update {
            q: sub_document(event, "documentKey")?,
            u: sub_document(event, "fullDocument")?,
            upsert: false,
        },
        "update" => WriteOp::Update {
            q: sub_document(event, "documentKey")?,
            u: update_document(event)?,
            upsert: false,
        },
        "delete" => WriteOp::Delete {
            q: sub_document(event, "documentKey")?,
        },
        other => {
            tracing::warn!(
                "mongodb.ChangeStreamHandler: unsupported change stream operation {}, skipped",
                other
            );
            return Ok(None);
        }
    }))
}

fn sub_document(event: &Document, field: &str) -> Result<Document, String> {
    match event.get(field) {
        Some(Bson::Document(d)) => Ok(d.clone()),
        Some(other) => Err(format!(
            "unexpected {} field type, expected a document but found {}: {}",
            field, other, event
        )),
        None => Err(format!("missing {} field: {}", field, event)),
    }
}

/// `{$set: updatedFields, $unset: {<removed>: ""}}` from `updateDescription`, refusing
/// descriptions with fields it does not know (a risk of losing data).
fn update_document(event: &Document) -> Result<Document, String> {
    let desc = sub_document(event, "updateDescription")?;
    const KNOWN: [&str; 4] = [
        "updatedFields",
        "removedFields",
        "truncatedArrays",
        "disambiguatedPaths",
    ];
    let unknown: Vec<&String> = desc
        .keys()
        .filter(|k| !KNOWN.contains(&k.as_str()))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "unexpected field(s) {:?} in updateDescription, which cannot be processed without a risk of data loss: {}",
            unknown, desc
        ));
    }
    let updated = match desc.get("updatedFields") {
        Some(Bson::Document(d)) => d.clone(),
        Some(_) => {
            return Err(format!(
                "updateDescription.updatedFields is not a document: {}",
                desc
            ))
        }
        None => return Err(format!("missing updateDescription.updatedFields: {}", desc)),
    };
    let removed = match desc.get("removedFields") {
        Some(Bson::Array(a)) => a,
        Some(_) => {
            return Err(format!(
                "updateDescription.removedFields is not an array: {}",
                desc
            ))
        }
        None => return Err(format!("missing updateDescription.removedFields: {}", desc)),
    };
    if desc
        .get("truncatedArrays")
        .is_some_and(|t| !matches!(t, Bson::Array(_)))
    {
        return Err(format!(
            "updateDescription.truncatedArrays is not an array: {}",
            desc
        ));
    }
    if desc
        .get("disambiguatedPaths")
        .is_some_and(|t| !matches!(t, Bson::Document(_)))
    {
        return Err(format!(
            "updateDescription.disambiguatedPaths is not a document: {}",
            desc
        ));
    }
    let mut unset = Document::new();
    for f in removed {
        match f {
            Bson::String(s) => {
                unset.insert(s.clone(), "");
            }
            other => {
                return Err(format!(
                    "unexpected value in removedFields, expected a string but found {}",
                    other
                ))
            }
        }
    }
    let mut update = doc! {"$set": updated};
    if !unset.is_empty() {
        update.insert("$unset", unset);
    }
    Ok(update)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_stream_events_become_writes() {
        let ev = |v: Document| SinkDocument::for_test(None, Some(v));
        assert_eq!(
            handle(&ev(doc! {"operationType": "insert", "documentKey": {"_id": 1}, "fullDocument": {"_id": 1, "a": 1}})).unwrap(),
            Some(WriteOp::Update { q: doc! {"_id": 1}, u: doc! {"_id": 1, "a": 1}, upsert: true })
        );
        assert_eq!(
            handle(&ev(doc! {"operationType": "update", "documentKey": {"_id": 1},
                "updateDescription": {"updatedFields": {"a": 2}, "removedFields": ["b"], "truncatedArrays": []}})).unwrap(),
            Some(WriteOp::Update { q: doc! {"_id": 1}, u: doc! {"$set": {"a": 2}, "$unset": {"b": ""}}, upsert: false })
        );
        assert_eq!(
            handle(&ev(
                doc! {"operationType": "delete", "documentKey": {"_id": 1}}
            ))
            .unwrap(),
            Some(WriteOp::Delete { q: doc! {"_id": 1} })
        );
        assert_eq!(handle(&ev(doc! {"operationType": "drop"})).unwrap(), None);
        assert!(handle(&ev(
            doc! {"operationType": "update", "documentKey": {"_id": 1},
            "updateDescription": {"updatedFields": {}, "removedFields": [], "x": 1}}
        ))
        .unwrap_err()
        .contains("risk of data loss"));
        assert!(handle(&SinkDocument::for_test(None, None))
            .unwrap_err()
            .contains("operationType"));
    }
}
