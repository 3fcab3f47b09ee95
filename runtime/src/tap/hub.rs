//! Where tasks publish sampled records and the REST API subscribes: one
//! [`ConnectorTap`] per connector, shared by its tasks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::broadcast;

use super::event::TapEvent;

/// Events a slow listener may fall behind by before it misses some.
const CHANNEL: usize = 256;

/// The worker's taps, by connector name. `enabled` is the worker's `tap.enable`.
pub struct TapHub {
    enabled: bool,
    connectors: Mutex<HashMap<String, Arc<ConnectorTap>>>,
}

impl TapHub {
    pub fn new(enabled: bool) -> Self {
        TapHub {
            enabled,
            connectors: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the worker config allows tapping (`tap.enable`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The tap of a connector (created on first use; tasks of a restarted connector
    /// keep publishing to the same listeners). `None` when tapping is off.
    pub fn connector(&self, name: &str) -> Option<Arc<ConnectorTap>> {
        if !self.enabled {
            return None;
        }
        let mut map = self.connectors.lock().unwrap_or_else(|e| e.into_inner());
        Some(
            map.entry(name.to_string())
                .or_insert_with(|| Arc::new(ConnectorTap::new()))
                .clone(),
        )
    }
}

/// One connector's tap.
pub struct ConnectorTap {
    listeners: AtomicUsize,
    /// The highest rate (events per second per task) a listener asked for.
    rate: AtomicU32,
    rates: Mutex<Vec<u32>>,
    tx: broadcast::Sender<Arc<TapEvent>>,
    /// Values never shown: the connector's PASSWORD keys, resolved.
    secrets: RwLock<Vec<String>>,
}

impl ConnectorTap {
    fn new() -> Self {
        ConnectorTap {
            listeners: AtomicUsize::new(0),
            rate: AtomicU32::new(0),
            rates: Mutex::new(Vec::new()),
            tx: broadcast::channel(CHANNEL).0,
            secrets: RwLock::new(Vec::new()),
        }
    }

    /// Whether anyone listens (one atomic load: the cost of the tap when idle).
    #[inline]
    pub fn active(&self) -> bool {
        self.listeners.load(Ordering::Relaxed) > 0
    }

    /// Records sampled per second and task while someone listens.
    pub fn rate(&self) -> u32 {
        self.rate.load(Ordering::Relaxed)
    }

    /// Starts listening at `rate` records per second per task.
    pub fn subscribe(self: &Arc<Self>, rate: u32) -> TapSubscription {
        let rx = self.tx.subscribe();
        {
            let mut rates = self.rates.lock().unwrap_or_else(|e| e.into_inner());
            rates.push(rate);
            self.rate
                .store(rates.iter().copied().max().unwrap_or(0), Ordering::Relaxed);
        }
        self.listeners.fetch_add(1, Ordering::Relaxed);
        TapSubscription {
            tap: self.clone(),
            rx,
            rate,
        }
    }

    /// Publishes an event (dropped if nobody listens).
    pub fn publish(&self, event: TapEvent) {
        let _ = self.tx.send(Arc::new(event));
    }

    /// Sets the values to hide (a task's resolved PASSWORD values).
    pub fn set_secrets(&self, secrets: Vec<String>) {
        let mut s = self.secrets.write().unwrap_or_else(|e| e.into_inner());
        for v in secrets {
            if !v.is_empty() && !s.contains(&v) {
                s.push(v);
            }
        }
    }

    /// `text` with every secret value replaced by `********`.
    pub fn redact(&self, text: String) -> String {
        let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
        let mut text = text;
        for s in secrets.iter() {
            if text.contains(s.as_str()) {
                text = text.replace(s.as_str(), "********");
            }
        }
        text
    }
}

/// A listener; listening ends when it is dropped.
pub struct TapSubscription {
    tap: Arc<ConnectorTap>,
    pub rx: broadcast::Receiver<Arc<TapEvent>>,
    pub rate: u32,
}

impl TapSubscription {
    /// The connector's tap (to redact events before they leave).
    pub fn tap(&self) -> &Arc<ConnectorTap> {
        &self.tap
    }
}

impl Drop for TapSubscription {
    fn drop(&mut self) {
        let mut rates = self.tap.rates.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = rates.iter().position(|r| *r == self.rate) {
            rates.swap_remove(i);
        }
        self.tap
            .rate
            .store(rates.iter().copied().max().unwrap_or(0), Ordering::Relaxed);
        self.tap.listeners.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_is_counted_and_the_rate_is_the_highest_asked() {
        let hub = TapHub::new(true);
        let tap = hub.connector("c").unwrap();
        assert!(!tap.active());
        let a = tap.subscribe(5);
        let b = tap.subscribe(50);
        assert!(tap.active());
        assert_eq!(tap.rate(), 50);
        drop(b);
        assert_eq!(tap.rate(), 5);
        drop(a);
        assert!(!tap.active());
        assert!(Arc::ptr_eq(&tap, &hub.connector("c").unwrap()));
        assert!(TapHub::new(false).connector("c").is_none());
    }

    #[test]
    fn secrets_are_redacted() {
        let tap = TapHub::new(true).connector("c").unwrap();
        tap.set_secrets(vec!["hunter2".into(), String::new()]);
        assert_eq!(
            tap.redact("{\"value\":\"pw=hunter2;\"}".into()),
            "{\"value\":\"pw=********;\"}"
        );
    }
}
