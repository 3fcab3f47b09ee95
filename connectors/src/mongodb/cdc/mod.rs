//! Change data capture handlers (`change.data.capture.handler`): a change event
//! becomes the write that replays it, as the MongoDB connector's handlers do:
//!
//! - Debezium MongoDB events (`debezium.mongodb.MongoDbHandler`, the `patch` of
//!   Debezium 1.x, and `debezium.mongodb.ChangeStreamHandler`, the full `after`
//!   document of Debezium's change stream capture modes): [`debezium_mongodb`];
//! - Debezium relational events (`debezium.rdbms.RdbmsHandler` and its
//!   `postgres.PostgresHandler` / `mysql.MysqlHandler` aliases): [`rdbms`];
//! - MongoDB change stream events, as the MongoDB source connector publishes them
//!   (`cdc.mongodb.ChangeStreamHandler`): [`change_stream`].
//!
//! With a handler, id strategies, post processors and write model strategies do not
//! apply (the namespace mapper does). A write the handler decides to skip (a
//! tombstone, a DDL event, an operation it does not replay) writes nothing.

mod change_stream;
mod debezium_mongodb;
mod rdbms;

use mongodb::bson::{Bson, Document};

use super::id_strategy::SinkDocument;
use super::post_processors::remove_null_values;
use super::write_model::WriteOp;

/// A change data capture handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CdcHandler {
    /// `com.mongodb.kafka.connect.sink.cdc.debezium.mongodb.MongoDbHandler`.
    DebeziumMongoDb,
    /// `com.mongodb.kafka.connect.sink.cdc.debezium.mongodb.ChangeStreamHandler`.
    DebeziumMongoDbChangeStream,
    /// `com.mongodb.kafka.connect.sink.cdc.debezium.rdbms.RdbmsHandler` (and the
    /// PostgresHandler and MysqlHandler, which behave the same).
    DebeziumRdbms,
    /// `com.mongodb.kafka.connect.sink.cdc.mongodb.ChangeStreamHandler`.
    MongoChangeStream,
}

const KNOWN: &str = "com.mongodb.kafka.connect.sink.cdc.debezium.mongodb.MongoDbHandler, com.mongodb.kafka.connect.sink.cdc.debezium.mongodb.ChangeStreamHandler, com.mongodb.kafka.connect.sink.cdc.debezium.rdbms.RdbmsHandler, com.mongodb.kafka.connect.sink.cdc.debezium.rdbms.postgres.PostgresHandler, com.mongodb.kafka.connect.sink.cdc.debezium.rdbms.mysql.MysqlHandler, com.mongodb.kafka.connect.sink.cdc.mongodb.ChangeStreamHandler (or the simple names MongoDbHandler, RdbmsHandler, PostgresHandler, MysqlHandler)";

impl CdcHandler {
    /// Parses a handler class name; `None` for an empty value (no handler).
    pub fn parse(name: &str) -> Result<Option<CdcHandler>, String> {
        let n = name.trim().to_ascii_lowercase();
        if n.is_empty() {
            return Ok(None);
        }
        let simple = n.rsplit('.').next().unwrap_or("");
        let unknown = || {
            format!(
                "unknown change data capture handler {}; known: {}",
                name.trim(),
                KNOWN
            )
        };
        if n.contains("qlik") {
            return Err(format!(
                "{} (the Qlik Replicate handler is not supported)",
                unknown()
            ));
        }
        Ok(Some(match simple {
            "changestreamhandler" if n.contains(".debezium.") => {
                CdcHandler::DebeziumMongoDbChangeStream
            }
            "changestreamhandler" if n.contains(".cdc.mongodb.") => CdcHandler::MongoChangeStream,
            "changestreamhandler" => {
                return Err(format!(
                    "ambiguous change data capture handler {}: use com.mongodb.kafka.connect.sink.cdc.mongodb.ChangeStreamHandler (MongoDB change stream events) or com.mongodb.kafka.connect.sink.cdc.debezium.mongodb.ChangeStreamHandler (Debezium MongoDB events)",
                    name.trim()
                ))
            }
            "mongodbhandler" => CdcHandler::DebeziumMongoDb,
            "rdbmshandler" | "postgreshandler" | "mysqlhandler" => CdcHandler::DebeziumRdbms,
            _ => return Err(unknown()),
        }))
    }

    /// The handler's simple class name.
    pub fn name(&self) -> &'static str {
        match self {
            CdcHandler::DebeziumMongoDb => "MongoDbHandler",
            CdcHandler::DebeziumMongoDbChangeStream => "debezium.mongodb.ChangeStreamHandler",
            CdcHandler::DebeziumRdbms => "RdbmsHandler",
            CdcHandler::MongoChangeStream => "mongodb.ChangeStreamHandler",
        }
    }

    /// The write that replays a change event; `None` when it writes nothing.
    pub fn handle(&self, doc: &SinkDocument) -> Result<Option<WriteOp>, String> {
        let r = match self {
            CdcHandler::DebeziumMongoDb => debezium_mongodb::handle(doc, false),
            CdcHandler::DebeziumMongoDbChangeStream => debezium_mongodb::handle(doc, true),
            CdcHandler::DebeziumRdbms => rdbms::handle(doc),
            CdcHandler::MongoChangeStream => change_stream::handle(doc),
        };
        r.map_err(|e| format!("{}: {}", self.name(), e))
    }
}

/// A Debezium event's operation (`op`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DebeziumOp {
    /// `c` and `r` (snapshot read).
    Create,
    Update,
    Delete,
}

/// The operation of a Debezium event; `None` for a schema change (DDL) event, which
/// has `ddl` and no `op`.
pub(crate) fn debezium_op(value: &Document) -> Result<Option<DebeziumOp>, String> {
    if !value.contains_key("op") && value.contains_key("ddl") {
        return Ok(None);
    }
    match value.get("op") {
        Some(Bson::String(op)) => match op.as_str() {
            "c" | "r" => Ok(Some(DebeziumOp::Create)),
            "u" => Ok(Some(DebeziumOp::Update)),
            "d" => Ok(Some(DebeziumOp::Delete)),
            other => Err(format!(
                "unknown operation type {:?} in op (expected c, r, u or d)",
                other
            )),
        },
        _ => Err("the value document has no op field, or it is not a string".into()),
    }
}

/// `change.data.capture.handler.remove.null.values`: removes null fields from a
/// replacement document or from an update's `$set` (an `$unset` stays); a write left
/// with nothing to write becomes `None`.
pub fn remove_nulls(op: WriteOp) -> Option<WriteOp> {
    match op {
        WriteOp::Update { q, mut u, upsert } => {
            let is_update = u.keys().next().is_some_and(|k| k.starts_with('$'));
            if !is_update {
                remove_null_values(&mut u);
            } else if let Some(Bson::Document(set)) = u.get_mut("$set") {
                remove_null_values(set);
                if set.is_empty() {
                    u.remove("$set");
                }
            }
            (!u.is_empty()).then_some(WriteOp::Update { q, u, upsert })
        }
        other => Some(other),
    }
}

/// Parses a JSON string field of an event (`after`, `patch`) into a document.
pub(crate) fn json_field(value: &Document, field: &str) -> Result<Document, String> {
    match value.get(field) {
        Some(Bson::String(s)) => {
            super::bson_mapping::parse_json(s).map_err(|e| format!("the {} field: {}", field, e))
        }
        Some(other) => Err(format!(
            "the {} field is not a JSON string but {:?}",
            field,
            other.element_type()
        )),
        None => Err(format!("the value document has no {} field", field)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    #[test]
    fn handler_names_are_parsed() {
        let p = |n: &str| CdcHandler::parse(n);
        assert_eq!(p("").unwrap(), None);
        assert_eq!(
            p("com.mongodb.kafka.connect.sink.cdc.debezium.mongodb.ChangeStreamHandler").unwrap(),
            Some(CdcHandler::DebeziumMongoDbChangeStream)
        );
        assert_eq!(
            p("com.mongodb.kafka.connect.sink.cdc.mongodb.ChangeStreamHandler").unwrap(),
            Some(CdcHandler::MongoChangeStream)
        );
        assert_eq!(
            p("com.mongodb.kafka.connect.sink.cdc.debezium.rdbms.postgres.PostgresHandler")
                .unwrap(),
            Some(CdcHandler::DebeziumRdbms)
        );
        assert_eq!(
            p("MongoDbHandler").unwrap(),
            Some(CdcHandler::DebeziumMongoDb)
        );
        assert!(p("ChangeStreamHandler").unwrap_err().contains("ambiguous"));
        assert!(p("com.mongodb.kafka.connect.sink.cdc.qlik.rdbms.RdbmsHandler").is_err());
        assert!(p("Nope").is_err());
    }

    #[test]
    fn nulls_are_removed_from_replacements_and_sets() {
        let r = remove_nulls(WriteOp::Update {
            q: doc! {"_id": 1},
            u: doc! {"a": null, "b": {"c": null, "d": 1}},
            upsert: true,
        });
        assert_eq!(
            r,
            Some(WriteOp::Update {
                q: doc! {"_id": 1},
                u: doc! {"b": {"d": 1}},
                upsert: true
            })
        );
        let u = remove_nulls(WriteOp::Update {
            q: doc! {"_id": 1},
            u: doc! {"$set": {"a": null}, "$unset": {"x": ""}},
            upsert: false,
        });
        assert_eq!(
            u,
            Some(WriteOp::Update {
                q: doc! {"_id": 1},
                u: doc! {"$unset": {"x": ""}},
                upsert: false
            })
        );
        let gone = remove_nulls(WriteOp::Update {
            q: doc! {"_id": 1},
            u: doc! {"a": null},
            upsert: true,
        });
        assert_eq!(gone, None);
    }
}
