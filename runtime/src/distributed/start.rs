//! Starting a distributed worker.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::{DistributedHerder, DistributedSettings};
use crate::config::worker::WorkerConfig;
use crate::herder::{ConnectorsDir, Herder};
use crate::kafka::{client_config, retry_retriable};

/// How long a starting worker keeps retrying what Kafka cannot answer yet.
const START_PATIENCE: std::time::Duration = std::time::Duration::from_secs(300);
use crate::offsets::KafkaOffsetStore;
use crate::plugins::Plugins;
use crate::worker::Worker;

/// Creates the internal topics if missing, reads them, joins the cluster and starts
/// watching `connectors.dir` (files there are applied to the whole cluster).
pub async fn start(
    config: WorkerConfig,
    plugins: Plugins,
    log: Arc<crate::logging::LogControl>,
) -> Result<Arc<DistributedHerder>, String> {
    let settings = DistributedSettings::parse(&config.raw).map_err(|e| e.to_string())?;
    config.providers.warn_about_unlimited_paths();
    let admin = client_config(&[&config.client_config("admin.")]);
    let spec = config.offset_topic_spec(&settings.offset_topic);
    let (producer, consumer) = (
        client_config(&[&config.client_config("producer.")]),
        client_config(&[&config.client_config("consumer.")]),
    );
    let store = Arc::new(
        retry_retriable("opening the offsets topic", START_PATIENCE, || {
            KafkaOffsetStore::open(&producer, &consumer, &admin, spec.clone())
        })
        .await
        .map_err(|e| e.to_string())?,
    );
    let (tx, rx) = mpsc::channel(64);
    let worker = Arc::new(Worker {
        taps: Arc::new(crate::tap::TapHub::new(config.tap_enable)),
        worker_id: config.worker_id(),
        config,
        plugins,
        offsets: store.clone(),
        requests: tx,
    });
    tracing::info!(worker = %worker.worker_id, group = %settings.group_id, "joining cluster");
    let herder = DistributedHerder::start(worker.clone(), settings, store, rx, log).await?;
    if let Some(dir) = worker.config.connectors_dir.clone() {
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("connectors.dir {} cannot be created: {}", dir.display(), e))?;
        let h: Arc<dyn Herder> = herder.clone();
        let watcher = ConnectorsDir::new(dir, h);
        let interval = worker.config.connectors_dir_poll;
        tokio::spawn(watcher.run(interval));
    }
    Ok(herder)
}
