//! The topics a connector has used (Connect's active topics, `GET .../topics`).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// The topics a connector's tasks wrote to or read from, shared by its tasks.
#[derive(Debug, Clone, Default)]
pub struct ActiveTopics(Arc<Mutex<BTreeSet<String>>>);

impl ActiveTopics {
    pub fn record(&self, topic: &str) {
        let mut g = self.0.lock().unwrap();
        if !g.contains(topic) {
            g.insert(topic.to_string());
        }
    }
    pub fn list(&self) -> Vec<String> {
        self.0.lock().unwrap().iter().cloned().collect()
    }
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}
