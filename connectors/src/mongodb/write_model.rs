//! Write models: how a processed record becomes one write (`writemodel.strategy`), and
//! the delete a tombstone becomes with `delete.on.null.values`.

use mongodb::bson::{doc, Bson, DateTime, Document};

use super::id_strategy::{IdStrategy, SinkDocument};
use super::simple_name;

/// One write, as the `insert` / `update` / `delete` commands take it.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    Insert(Document),
    /// `q`, `u` (a replacement or an update document), `upsert`.
    Update {
        q: Document,
        u: Document,
        upsert: bool,
    },
    /// Deletes one document matching `q`.
    Delete {
        q: Document,
    },
}

impl WriteOp {
    /// The command that carries this write.
    pub fn command(&self) -> &'static str {
        match self {
            WriteOp::Insert(_) => "insert",
            WriteOp::Update { .. } => "update",
            WriteOp::Delete { .. } => "delete",
        }
    }

    /// The entry of the command's `documents` / `updates` / `deletes` array.
    pub fn entry(&self) -> Document {
        match self {
            WriteOp::Insert(d) => d.clone(),
            WriteOp::Update { q, u, upsert } => {
                doc! {"q": q.clone(), "u": u.clone(), "upsert": *upsert}
            }
            WriteOp::Delete { q } => doc! {"q": q.clone(), "limit": 1},
        }
    }
}

/// The write model strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteModel {
    /// Replace the document with the same `_id`, inserting it if missing.
    ReplaceOneDefault,
    /// Replace the document matching the business key (the fields of the partial id).
    ReplaceOneBusinessKey,
    /// Update by `_id`: `$set` the fields and `_modifiedTS`, `$setOnInsert` `_insertedTS`.
    UpdateOneTimestamps,
    /// As UpdateOneTimestamps, matching the business key.
    UpdateOneBusinessKeyTimestamp,
    /// Update by `_id`: `$set` the value's fields, upsert.
    UpdateOneDefault,
    /// Insert; an existing `_id` is a duplicate key error.
    InsertOne,
    /// Delete by the key: the key document if it has an `_id`, else `{_id: <key>}`.
    DeleteOneDefault,
    /// Delete the document matching the business key held in the value's `_id`.
    DeleteOneBusinessKey,
    /// Delete the document matching the business key PartialKeyStrategy makes from the
    /// key (meant for tombstones: `delete.writemodel.strategy`).
    DeleteOneTombstoneBusinessKey,
}

const KNOWN: &str = "DefaultWriteModelStrategy, ReplaceOneDefaultStrategy, ReplaceOneBusinessKeyStrategy, UpdateOneDefaultStrategy, UpdateOneTimestampsStrategy, UpdateOneBusinessKeyTimestampStrategy, InsertOneDefaultStrategy, DeleteOneDefaultStrategy, DeleteOneBusinessKeyStrategy, DeleteOneTombstoneBusinessKeyStrategy";

impl WriteModel {
    /// Parses a short or full class name.
    pub fn parse(name: &str) -> Result<WriteModel, String> {
        Ok(match simple_name(name).as_str() {
            "defaultwritemodel" | "replaceonedefault" | "replaceone" => {
                WriteModel::ReplaceOneDefault
            }
            "replaceonebusinesskey" => WriteModel::ReplaceOneBusinessKey,
            "updateonetimestamps" => WriteModel::UpdateOneTimestamps,
            "updateonebusinesskeytimestamp" => WriteModel::UpdateOneBusinessKeyTimestamp,
            "updateonedefault" => WriteModel::UpdateOneDefault,
            "insertonedefault" | "insertone" => WriteModel::InsertOne,
            "deleteonedefault" => WriteModel::DeleteOneDefault,
            "deleteonebusinesskey" => WriteModel::DeleteOneBusinessKey,
            "deleteonetombstonebusinesskey" => WriteModel::DeleteOneTombstoneBusinessKey,
            _ => {
                return Err(format!(
                    "unknown write model strategy {}; known: {}",
                    name, KNOWN
                ))
            }
        })
    }

    /// Is `name` DefaultWriteModelStrategy (which inserts into time series collections
    /// and replaces elsewhere)?
    pub fn is_default_name(name: &str) -> bool {
        simple_name(name) == "defaultwritemodel"
    }

    pub fn name(&self) -> &'static str {
        match self {
            WriteModel::ReplaceOneDefault => "ReplaceOneDefaultStrategy",
            WriteModel::ReplaceOneBusinessKey => "ReplaceOneBusinessKeyStrategy",
            WriteModel::UpdateOneTimestamps => "UpdateOneTimestampsStrategy",
            WriteModel::UpdateOneBusinessKeyTimestamp => "UpdateOneBusinessKeyTimestampStrategy",
            WriteModel::UpdateOneDefault => "UpdateOneDefaultStrategy",
            WriteModel::InsertOne => "InsertOneDefaultStrategy",
            WriteModel::DeleteOneDefault => "DeleteOneDefaultStrategy",
            WriteModel::DeleteOneBusinessKey => "DeleteOneBusinessKeyStrategy",
            WriteModel::DeleteOneTombstoneBusinessKey => "DeleteOneTombstoneBusinessKeyStrategy",
        }
    }

    /// Does the model match on the business key held in a partial `_id`?
    pub fn needs_business_key(&self) -> bool {
        matches!(
            self,
            WriteModel::ReplaceOneBusinessKey | WriteModel::UpdateOneBusinessKeyTimestamp
        )
    }

    /// The write for a processed record (its value document has its `_id`). The
    /// models that read the value take it out of `doc`.
    pub fn write(
        &self,
        doc: &mut SinkDocument,
        id: &IdStrategy,
        now: DateTime,
    ) -> Result<WriteOp, String> {
        let name = self.name();
        let missing = |what: &str| {
            format!(
                "{}: could not build the write, the {} document is missing",
                name, what
            )
        };
        // A partial id holds the business key; nested fields become dotted paths.
        let partial = id.is_partial();
        let business_key = |value: &mut Document| match value.remove("_id") {
            Some(Bson::Document(k)) => Ok(if partial { flatten_keys(&k) } else { k }),
            Some(other) => Err(format!(
                "{}: the _id must be a document holding the business key, not {:?}",
                name,
                other.element_type()
            )),
            None => Err(format!(
                "{}: the value document has no _id holding the business key",
                name
            )),
        };
        let by_id = |value: &mut Document| {
            value
                .remove("_id")
                .map(|id| doc! {"_id": id})
                .ok_or_else(|| format!("{}: the document has no _id", name))
        };
        if let WriteModel::DeleteOneDefault = self {
            let key = doc.key.as_ref().ok_or_else(|| missing("key"))?;
            let q = if key.contains_key("_id") {
                key.clone()
            } else {
                doc! {"_id": key.clone()}
            };
            return Ok(WriteOp::Delete { q });
        }
        if let WriteModel::DeleteOneTombstoneBusinessKey = self {
            if doc.key.is_none() {
                return Err(missing("key"));
            }
            return match id.generate(doc)? {
                Bson::Document(k) => Ok(WriteOp::Delete {
                    q: flatten_keys(&k),
                }),
                other => Err(format!(
                    "{}: the id is not a document but {:?}",
                    name,
                    other.element_type()
                )),
            };
        }
        let mut value = doc.value.take().ok_or_else(|| missing("value"))?;
        Ok(match self {
            WriteModel::ReplaceOneDefault => {
                let q = doc! {"_id": value.get("_id").cloned().ok_or_else(|| format!("{}: the document has no _id", name))?};
                WriteOp::Update {
                    q,
                    u: value,
                    upsert: true,
                }
            }
            WriteModel::ReplaceOneBusinessKey => {
                let q = business_key(&mut value)?;
                WriteOp::Update {
                    q,
                    u: value,
                    upsert: true,
                }
            }
            WriteModel::UpdateOneTimestamps => {
                let q = by_id(&mut value)?;
                value.insert("_modifiedTS", now);
                WriteOp::Update {
                    q,
                    u: doc! {"$set": value, "$setOnInsert": {"_insertedTS": now}},
                    upsert: true,
                }
            }
            WriteModel::UpdateOneBusinessKeyTimestamp => {
                let q = business_key(&mut value)?;
                value.insert("_modifiedTS", now);
                WriteOp::Update {
                    q,
                    u: doc! {"$set": value, "$setOnInsert": {"_insertedTS": now}},
                    upsert: true,
                }
            }
            WriteModel::UpdateOneDefault => {
                let q = by_id(&mut value)?;
                WriteOp::Update {
                    q,
                    u: doc! {"$set": value},
                    upsert: true,
                }
            }
            WriteModel::InsertOne => WriteOp::Insert(value),
            WriteModel::DeleteOneBusinessKey => WriteOp::Delete {
                q: business_key(&mut value)?,
            },
            WriteModel::DeleteOneDefault | WriteModel::DeleteOneTombstoneBusinessKey => {
                unreachable!("handled above")
            }
        })
    }
}

/// What a tombstone (null value) becomes with `delete.on.null.values`
/// (`delete.writemodel.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteStrategy {
    /// DeleteOneDefaultStrategy, the default: delete the document whose `_id` the
    /// (key-based) id strategy makes from the key.
    ById,
    /// Another write model, given the record with its null value.
    Model(WriteModel),
}

/// `{a: {b: 1}, c: 2}` -> `{"a.b": 1, c: 2}`: a business key as a filter on fields.
pub fn flatten_keys(d: &Document) -> Document {
    fn walk(prefix: &str, d: &Document, out: &mut Document) {
        for (k, v) in d {
            let path = format!("{}{}", prefix, k);
            match v {
                Bson::Document(sub) => walk(&format!("{}.", path), sub, out),
                other => {
                    out.insert(path, other.clone());
                }
            }
        }
    }
    let mut out = Document::new();
    walk("", d, &mut out);
    out
}

/// The delete a tombstone becomes: the document whose `_id` the key gives.
pub fn delete_by_id(id: Bson) -> WriteOp {
    WriteOp::Delete {
        q: doc! {"_id": id},
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mongodb::projection::{Projection, ProjectionType};

    fn w(m: WriteModel, key: Option<Document>, value: Document) -> Result<WriteOp, String> {
        let partial = IdStrategy::PartialValue(Projection::new(ProjectionType::AllowList, "name"));
        let id = if m.needs_business_key() || m == WriteModel::DeleteOneBusinessKey {
            partial
        } else {
            IdStrategy::ProvidedInValue
        };
        m.write(
            &mut SinkDocument::for_test(key, Some(value)),
            &id,
            DateTime::from_millis(5),
        )
    }

    #[test]
    fn models_build_their_writes() {
        let now = DateTime::from_millis(5);
        let v = doc! {"_id": 1, "a": 2};
        assert_eq!(
            w(WriteModel::ReplaceOneDefault, None, v.clone()).unwrap(),
            WriteOp::Update {
                q: doc! {"_id": 1},
                u: v.clone(),
                upsert: true
            }
        );
        assert_eq!(
            w(WriteModel::UpdateOneTimestamps, None, v.clone()).unwrap(),
            WriteOp::Update {
                q: doc! {"_id": 1},
                u: doc! {"$set": {"a": 2, "_modifiedTS": now}, "$setOnInsert": {"_insertedTS": now}},
                upsert: true
            }
        );
        assert_eq!(
            w(WriteModel::UpdateOneDefault, None, v.clone()).unwrap(),
            WriteOp::Update {
                q: doc! {"_id": 1},
                u: doc! {"$set": {"a": 2}},
                upsert: true
            }
        );
        let bk = doc! {"_id": {"name": "x", "n": {"m": 1}}, "name": "x", "n": 1};
        assert_eq!(
            w(WriteModel::ReplaceOneBusinessKey, None, bk.clone()).unwrap(),
            WriteOp::Update {
                q: doc! {"name": "x", "n.m": 1},
                u: doc! {"name": "x", "n": 1},
                upsert: true
            }
        );
        assert_eq!(
            w(WriteModel::DeleteOneBusinessKey, None, bk.clone()).unwrap(),
            WriteOp::Delete {
                q: doc! {"name": "x", "n.m": 1}
            }
        );
        assert!(w(WriteModel::ReplaceOneBusinessKey, None, v.clone()).is_err());
        assert_eq!(
            w(WriteModel::InsertOne, None, v.clone()).unwrap(),
            WriteOp::Insert(v.clone())
        );
        assert_eq!(
            w(WriteModel::DeleteOneDefault, Some(doc! {"k": 1}), v.clone()).unwrap(),
            WriteOp::Delete {
                q: doc! {"_id": {"k": 1}}
            }
        );
        assert_eq!(
            w(
                WriteModel::DeleteOneDefault,
                Some(doc! {"_id": 3, "k": 1}),
                v.clone()
            )
            .unwrap(),
            WriteOp::Delete {
                q: doc! {"_id": 3, "k": 1}
            }
        );
        assert!(w(WriteModel::DeleteOneDefault, None, v.clone())
            .unwrap_err()
            .contains("the key document is missing"));
        let tomb = WriteModel::DeleteOneTombstoneBusinessKey.write(
            &mut SinkDocument::for_test(Some(doc! {"a": {"b": 1}, "c": 2}), None),
            &IdStrategy::PartialKey(Projection::new(ProjectionType::AllowList, "a")),
            now,
        );
        assert_eq!(tomb.unwrap(), WriteOp::Delete { q: doc! {"a.b": 1} });
        assert_eq!(
            WriteModel::parse("com.mongodb.kafka.connect.sink.writemodel.strategy.UpdateOneBusinessKeyTimestampStrategy").unwrap(),
            WriteModel::UpdateOneBusinessKeyTimestamp
        );
        assert!(WriteModel::parse("Nope").is_err());
    }
}
