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
    /// List connectors, converters, transforms and predicates with their keys.
    Plugins {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}
