//! The write-side schema cache of the registry converters: first by schema identity and
//! topic (the common case: one `Arc` schema for record after record, no work at all),
//! then by subject and schema text (a schema rebuilt per record costs its rendering, not
//! a registry call). Both are bounded.

use std::collections::HashMap;
use std::sync::Arc;

use crate::data::SchemaRef;

/// Schemas looked up by identity: the latest few (schema, topic) pairs.
const BY_IDENTITY: usize = 64;

/// What a converter resolved for the schemas it wrote (`W`: its own write schema).
pub struct WriteCache<W> {
    by_identity: Vec<(SchemaRef, String, Arc<W>)>,
    by_text: HashMap<(String, String), Arc<W>>,
    max_texts: usize,
}

impl<W> WriteCache<W> {
    /// A cache keeping at most `max_texts` (subject, text) entries.
    pub fn new(max_texts: usize) -> Self {
        WriteCache {
            by_identity: Vec::new(),
            by_text: HashMap::new(),
            max_texts,
        }
    }

    /// What was resolved for this very schema on this topic.
    pub fn by_identity(&self, schema: &SchemaRef, topic: &str) -> Option<Arc<W>> {
        self.by_identity
            .iter()
            .find(|(s, t, _)| Arc::ptr_eq(s, schema) && t == topic)
            .map(|(_, _, w)| w.clone())
    }

    /// What was resolved for `(subject, text)`.
    pub fn by_text(&self, key: &(String, String)) -> Option<Arc<W>> {
        self.by_text.get(key).cloned()
    }

    /// Keeps `w` for `(subject, text)`.
    pub fn keep_text(&mut self, key: (String, String), w: Arc<W>) {
        if self.by_text.len() >= self.max_texts {
            self.by_text.clear();
        }
        self.by_text.insert(key, w);
    }

    /// Keeps `w` for this schema on this topic.
    pub fn keep_identity(&mut self, schema: &SchemaRef, topic: &str, w: Arc<W>) {
        if self.by_identity.len() >= BY_IDENTITY {
            self.by_identity.remove(0);
        }
        self.by_identity
            .push((schema.clone(), topic.to_string(), w));
    }
}
