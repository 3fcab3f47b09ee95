//! Command-line interface.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Sluice: a Kafka Connect–compatible bridge between queues, databases, files and Kafka.
#[derive(Parser, Debug)]
#[command(name = "sluice", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a single worker (like connect-standalone): offsets in a local file.
    Standalone {
        /// Worker config (YAML, .properties or JSON).
        worker_config: PathBuf,
        /// Connector configs to run (YAML, .properties, Connect JSON or Strimzi KafkaConnector).
        connector_configs: Vec<PathBuf>,
    },
    /// Run a worker of a cluster (like connect-distributed): configs, offsets and
    /// statuses live in Kafka topics; workers with the same group.id share the work.
    Distributed {
        /// Worker config (YAML, .properties or JSON).
        worker_config: PathBuf,
    },
    /// Check connector configs without running them; lists every problem.
    Validate {
        /// Connector configs to check.
        #[arg(required = true)]
        connector_configs: Vec<PathBuf>,
        /// A worker config, for default converters and config providers.
        #[arg(long)]
        worker: Option<PathBuf>,
    },
    /// Config unit tests without servers: run the messages (or Kafka records) of each
    /// test file through the connector's record builder, converters and transforms (and
    /// a sink's message builder), and compare with the expected output.
    Test {
        /// Test files (YAML; see docs/config-tests.md).
        #[arg(required = true)]
        test_files: Vec<PathBuf>,
    },
    /// Show a live sample of the records passing through a connector: as the source
    /// built them (or as read from Kafka), after each transform, and as written.
    Tap {
        /// The connector's name.
        connector: String,
        #[command(flatten)]
        target: crate::rest_client::RestTarget,
        /// Only these stages (comma-separated: source, transform, output).
        #[arg(long)]
        stage: Option<String>,
        /// Only this task.
        #[arg(long)]
        task: Option<u32>,
        /// Sampled records per second and task (1-1000).
        #[arg(long, default_value_t = 10)]
        rate: u32,
        /// Stop after this many events.
        #[arg(long)]
        limit: Option<u64>,
        /// Print each event as a JSON line.
        #[arg(long)]
        json: bool,
    },
    /// A live view of a worker's (or a cluster's) connectors and tasks: states, record
    /// rates, sink lag, queue backlog, records in flight, errors and dead-lettered records.
    Top {
        #[command(flatten)]
        target: crate::rest_client::RestTarget,
        /// Seconds between refreshes.
        #[arg(long, default_value_t = 2)]
        interval: u64,
        /// Print one view and exit.
        #[arg(long)]
        once: bool,
    },
    /// List connectors, converters, transforms and predicates with their keys.
    Plugins {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}
