//! Standalone mode: one worker process, offsets in a local file (or a Kafka topic if
//! `offset.storage.topic` is set), connectors from the command line, from
//! `connectors.dir`, or (with the REST API) created at run time.

mod herder;
mod state_file;

pub use herder::StandaloneHerder;
pub use state_file::StateFile;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::config::files::load_connector_file;
use crate::config::worker::WorkerConfig;
use crate::config::ConfigIssue;
use crate::herder::{ConfigOrigin, ConnectorsDir, Herder, HerderError, PutOptions};
use crate::kafka::client_config;
use crate::offsets::{FileOffsetStore, KafkaOffsetStore, OffsetStore};
use crate::plugins::Plugins;
use crate::worker::Worker;

/// Why the worker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid worker config {origin}:\n{}", .issues.iter().map(|i| format!("  {}: {}", i.key, i.message)).collect::<Vec<_>>().join("\n"))]
    WorkerConfig {
        origin: String,
        issues: Vec<ConfigIssue>,
    },
    #[error("{0}")]
    Connector(String),
    #[error("{0}")]
    Offsets(String),
}

/// Opens the offset store a standalone worker uses.
pub async fn open_offset_store(config: &WorkerConfig) -> Result<Arc<dyn OffsetStore>, StartError> {
    if let Some(topic) = &config.offset_topic {
        let producer = client_config(&[&config.client_config("producer.")]);
        let consumer = client_config(&[&config.client_config("consumer.")]);
        let admin = client_config(&[&config.client_config("admin.")]);
        let spec = config.offset_topic_spec(topic);
        let store = crate::kafka::retry_retriable(
            "opening the offsets topic",
            std::time::Duration::from_secs(300),
            || KafkaOffsetStore::open(&producer, &consumer, &admin, spec.clone()),
        )
        .await
        .map_err(|e| StartError::Offsets(e.to_string()))?;
        tracing::info!(topic = %topic, "source offsets are stored in Kafka");
        return Ok(Arc::new(store));
    }
    let Some(path) = &config.offset_file else {
        return Err(StartError::WorkerConfig {
            origin: "worker config".into(),
            issues: vec![ConfigIssue::new(
                "offset.storage.file.filename",
                "standalone mode needs offset.storage.file.filename (or offset.storage.topic) to store source offsets",
            )],
        });
    };
    let store = FileOffsetStore::open_as(path, config.offset_file_format)
        .map_err(|e| StartError::Offsets(e.to_string()))?;
    tracing::info!(file = %path.display(), "source offsets are stored in a local file");
    Ok(Arc::new(store))
}

/// A running standalone worker.
pub struct Standalone {
    pub herder: Arc<StandaloneHerder>,
}

/// Starts a standalone worker with the connectors named on the command line.
/// Any invalid connector file stops the start with every problem listed.
pub async fn start(
    config: WorkerConfig,
    plugins: Plugins,
    connector_files: Vec<PathBuf>,
) -> Result<Standalone, StartError> {
    config.providers.warn_about_unlimited_paths();
    let offsets = open_offset_store(&config).await?;
    let (tx, rx) = mpsc::channel(64);
    let worker = Arc::new(Worker {
        taps: Arc::new(crate::tap::TapHub::new(config.tap_enable)),
        worker_id: config.worker_id(),
        config,
        plugins,
        offsets,
        requests: tx,
    });
    let state =
        StateFile::open(&worker.config.config_storage_file()).map_err(StartError::Connector)?;
    tracing::info!(file = %state.path().display(), "connectors created through the REST API are kept in this file");
    let herder = StandaloneHerder::new(worker.clone(), rx, Some(state));
    for problem in herder.restore().await {
        tracing::error!(
            "could not restore a connector created through the REST API: {}",
            problem
        );
    }
    for path in connector_files {
        let file = load_connector_file(&path).map_err(|e| StartError::Connector(e.to_string()))?;
        let opts = PutOptions {
            create_only: true,
            initial_state: file.initial_state,
        };
        match herder
            .put_connector(
                &file.name,
                file.config,
                ConfigOrigin::CommandLine(path.clone()),
                opts,
            )
            .await
        {
            Ok(_) => {}
            Err(HerderError::Invalid(issues)) => {
                let lines: Vec<String> = issues
                    .iter()
                    .map(|i| format!("  {}: {}: {}", path.display(), i.key, i.message))
                    .collect();
                herder.shutdown().await;
                return Err(StartError::Connector(format!(
                    "invalid connector config:\n{}",
                    lines.join("\n")
                )));
            }
            Err(e) => {
                herder.shutdown().await;
                return Err(StartError::Connector(format!("{}: {}", path.display(), e)));
            }
        }
    }
    if let Some(dir) = worker.config.connectors_dir.clone() {
        if !dir.is_dir() {
            std::fs::create_dir_all(&dir).map_err(|e| {
                StartError::Connector(format!(
                    "connectors.dir {} cannot be created: {}",
                    dir.display(),
                    e
                ))
            })?;
        }
        let mut watcher = ConnectorsDir::new(dir, herder.clone());
        watcher.scan().await;
        let interval = worker.config.connectors_dir_poll;
        tokio::spawn(watcher.run(interval));
    }
    herder.set_ready();
    Ok(Standalone { herder })
}
