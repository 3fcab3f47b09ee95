//! FileStream connectors, compatible with Kafka Connect's `FileStreamSourceConnector`
//! and `FileStreamSinkConnector` (same class names and keys).

mod config;
mod line_reader;
mod sink;
mod source;

use sluice_runtime::connector::{ConnectorPlugin, CopyConfigConnector, TaskFactory};

pub use config::{sink_config_def, source_config_def};
pub use sink::FileSinkTask;
pub use source::FileSourceTask;

/// `FileStreamSource` / `file-source`.
pub fn source_plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: "org.apache.kafka.connect.file.FileStreamSourceConnector",
        aliases: &["file-source", "FileStreamSource"],
        task_class: "org.apache.kafka.connect.file.FileStreamSourceTask",
        version: env!("CARGO_PKG_VERSION"),
        doc: "Reads lines of a file (or stdin) into a topic; resumes from the stored byte position and keeps tailing the file as it grows.",
        config_def: source_config_def,
        create_connector: || Box::new(CopyConfigConnector::new(true)),
        create_task: TaskFactory::source::<FileSourceTask>(),
        dry_run: None,
    }
}

/// `FileStreamSink` / `file-sink`.
pub fn sink_plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: "org.apache.kafka.connect.file.FileStreamSinkConnector",
        aliases: &["file-sink", "FileStreamSink"],
        task_class: "org.apache.kafka.connect.file.FileStreamSinkTask",
        version: env!("CARGO_PKG_VERSION"),
        doc: "Appends each record's value as a line to a file (or stdout); fsyncs on flush, before offsets are committed.",
        config_def: sink_config_def,
        create_connector: || Box::new(CopyConfigConnector::new(false)),
        create_task: TaskFactory::sink::<FileSinkTask>(),
        dry_run: None,
    }
}
