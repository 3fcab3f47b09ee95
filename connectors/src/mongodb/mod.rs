//! MongoDB sink, compatible with `com.mongodb.kafka.connect.MongoSinkConnector` (same
//! keys, id strategies, write models and post processors).
//!
//! # Delivery: what is committed when, and why
//!
//! 1. The runtime hands `put` a batch of records (up to `max.poll.records`). The task
//!    turns each into one write (replace, update, insert or, for a tombstone with
//!    `delete.on.null.values`, delete), groups the writes by namespace in record
//!    order, and sends them as `insert`/`update`/`delete` commands of at most
//!    `max.batch.size` writes, ordered or not (`bulk.write.ordered`), with the write
//!    concern of the connection string.
//! 2. `put` returns Ok only when MongoDB acknowledged every write of the batch, so
//!    `flush` has nothing left to do and the runtime's rule (commit a Kafka offset only
//!    after a `flush` that followed the `put` of that record) means an offset is
//!    committed only for records MongoDB has.
//! 3. MongoDB unreachable or restarting (network errors, server selection timeouts,
//!    "not primary", write concern errors): `put` fails retriably; the runtime retries
//!    the same records with backoff, shows the error in the task status and commits
//!    nothing for them. The task keeps the batch's writes and how far they got, so
//!    the retry resumes after the last acknowledged command with the same generated
//!    ids. A command whose reply was lost is sent again: replace and update upserts
//!    make that harmless; an insert may then meet its own earlier write (duplicate
//!    key), handled as below.
//! 4. A write MongoDB rejects (duplicate key, invalid document) or a record that cannot
//!    become a document: with `mongo.errors.tolerance` (default: `errors.tolerance`)
//!    `none` the task fails with a trace naming topic/partition/offset and MongoDB's
//!    error; the batch's offsets are not committed. With `all` the record goes to the
//!    runtime's errant record reporter (the dead letter queue with context headers)
//!    and the rest of the batch is written; in ordered mode the writes after the
//!    rejected one, which the server did not attempt, are sent again.
//! 5. Time series collections (`timeseries.timefield`) are checked or created before
//!    the first write to each namespace; a collection that exists and is not a time
//!    series collection fails the task.
//! 6. After a crash, records after the last committed offset are written again;
//!    upserts by `_id` make that idempotent (the default write model).

mod bson_mapping;
mod cdc;
mod config;
mod id_strategy;
mod namespace;
mod post_processors;
mod projection;
mod task;
mod timeseries;
mod write_model;
mod writer;

use sluice_runtime::connector::{ConnectorPlugin, CopyConfigConnector, TaskFactory};

pub use bson_mapping::{decimal128, to_bson, to_document};
pub use config::sink_config_def;
pub use task::MongoSinkTask;

/// `mongodb-sink` / `com.mongodb.kafka.connect.MongoSinkConnector`.
pub fn sink_plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: "com.mongodb.kafka.connect.MongoSinkConnector",
        aliases: &["mongodb-sink", "MongoSinkConnector"],
        task_class: "com.mongodb.kafka.connect.sink.MongoSinkTask",
        version: env!("CARGO_PKG_VERSION"),
        doc: "Writes records to MongoDB collections with the MongoDB Kafka sink connector's keys, id strategies, write models and post processors; offsets are committed only after MongoDB acknowledged the writes.",
        config_def: sink_config_def,
        create_connector: || Box::new(CopyConfigConnector::new(false).with_validation(config::validate)),
        create_task: TaskFactory::sink::<MongoSinkTask>(),
        dry_run: None,
    }
}

/// Normalises a class or short name: the simple name, lower case, without a
/// `Strategy` suffix (`com.mongodb...BsonOidStrategy` -> `bsonoid`).
pub(crate) fn simple_name(name: &str) -> String {
    let simple = name
        .trim()
        .rsplit('.')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    simple
        .strip_suffix("strategy")
        .map(str::to_string)
        .unwrap_or(simple)
}
