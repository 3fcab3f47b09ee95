//! Write models: how a processed record becomes one write (`writemodel.strategy`), and
//! the delete a tombstone becomes with `delete.on.null.values`.

use mongodb::bson::{doc, Bson, DateTime, Document};

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
    /// Insert; an existing `_id` is a duplicate key error.
    InsertOne,
}

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
            "insertonedefault" | "insertone" => WriteModel::InsertOne,
            _ => {
                return Err(format!(
                    "unknown write model strategy {}; known: DefaultWriteModelStrategy, ReplaceOneDefaultStrategy, ReplaceOneBusinessKeyStrategy, UpdateOneTimestampsStrategy, UpdateOneBusinessKeyTimestampStrategy, InsertOneDefaultStrategy",
                    name
                ))
            }
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            WriteModel::ReplaceOneDefault => "ReplaceOneDefaultStrategy",
            WriteModel::ReplaceOneBusinessKey => "ReplaceOneBusinessKeyStrategy",
            WriteModel::UpdateOneTimestamps => "UpdateOneTimestampsStrategy",
            WriteModel::UpdateOneBusinessKeyTimestamp => "UpdateOneBusinessKeyTimestampStrategy",
            WriteModel::InsertOne => "InsertOneDefaultStrategy",
        }
    }

    /// Does the model match on the business key held in a partial `_id`?
    pub fn needs_business_key(&self) -> bool {
        matches!(
            self,
            WriteModel::ReplaceOneBusinessKey | WriteModel::UpdateOneBusinessKeyTimestamp
        )
    }

    /// The write for a processed value document (which has its `_id`).
    pub fn write(&self, mut value: Document, now: DateTime) -> Result<WriteOp, String> {
        let id = || {
            value
                .get("_id")
                .cloned()
                .ok_or_else(|| format!("{}: the document has no _id", self.name()))
        };
        let business_key = |value: &mut Document| match value.remove("_id") {
            Some(Bson::Document(k)) => Ok(k),
            Some(other) => Err(format!(
                "{}: the _id must be a document holding the business key, not {:?}",
                self.name(),
                other.element_type()
            )),
            None => Err(format!("{}: the document has no _id", self.name())),
        };
        Ok(match self {
            WriteModel::ReplaceOneDefault => WriteOp::Update {
                q: doc! {"_id": id()?},
                u: value,
                upsert: true,
            },
            WriteModel::ReplaceOneBusinessKey => {
                let q = business_key(&mut value)?;
                WriteOp::Update {
                    q,
                    u: value,
                    upsert: true,
                }
            }
            WriteModel::UpdateOneTimestamps => {
                let q = doc! {"_id": id()?};
                value.remove("_id");
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
            WriteModel::InsertOne => WriteOp::Insert(value),
        })
    }
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

    #[test]
    fn models_build_their_writes() {
        let now = DateTime::from_millis(5);
        let v = doc! {"_id": 1, "a": 2};
        assert_eq!(
            WriteModel::ReplaceOneDefault.write(v.clone(), now).unwrap(),
            WriteOp::Update {
                q: doc! {"_id": 1},
                u: v.clone(),
                upsert: true
            }
        );
        assert_eq!(
            WriteModel::UpdateOneTimestamps
                .write(v.clone(), now)
                .unwrap(),
            WriteOp::Update {
                q: doc! {"_id": 1},
                u: doc! {"$set": {"a": 2, "_modifiedTS": now}, "$setOnInsert": {"_insertedTS": now}},
                upsert: true
            }
        );
        let bk = doc! {"_id": {"name": "x"}, "name": "x", "n": 1};
        assert_eq!(
            WriteModel::ReplaceOneBusinessKey
                .write(bk.clone(), now)
                .unwrap(),
            WriteOp::Update {
                q: doc! {"name": "x"},
                u: doc! {"name": "x", "n": 1},
                upsert: true
            }
        );
        assert!(WriteModel::ReplaceOneBusinessKey
            .write(v.clone(), now)
            .is_err());
        assert_eq!(
            WriteModel::InsertOne.write(v.clone(), now).unwrap(),
            WriteOp::Insert(v)
        );
        assert_eq!(
            WriteModel::parse("com.mongodb.kafka.connect.sink.writemodel.strategy.UpdateOneBusinessKeyTimestampStrategy").unwrap(),
            WriteModel::UpdateOneBusinessKeyTimestamp
        );
        assert!(WriteModel::parse("Nope").is_err());
    }
}
