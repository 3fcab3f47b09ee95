//! Single message transforms (SMTs) and predicates, with Connect's config syntax:
//! `transforms=a,b`, `transforms.a.type=<class>`, `transforms.a.<key>=...`,
//! `transforms.a.predicate=p`, `transforms.a.negate=true`, `predicates=p`,
//! `predicates.p.type=<class>`.
//!
//! Sources apply the chain after the task builds a record and before the converters;
//! sinks after the converters and before the task's `put`.

mod cast;
mod chain;
mod datefmt;
mod drop_headers;
mod extract_field;
mod filter;
mod flatten;
mod header_from;
mod hoist_field;
mod insert_field;
mod insert_header;
mod mask_field;
mod predicates;
mod regex_router;
mod registry;
mod replace_field;
mod set_schema_metadata;
mod timestamp_converter;
mod timestamp_router;
mod util;
mod value_to_key;

use crate::config::{ConfigDef, ConfigErrors, ParsedConfig};
use crate::data::Record;

pub use chain::{transforms_config_def, TransformChain, TransformFailure};
pub use registry::{find_predicate, find_transform, predicate_plugins, transform_plugins};

/// What a transform decided about the record it changed in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// The record goes on to the next transform.
    Keep,
    /// The record is dropped (as `Filter` does).
    Drop,
}

/// Transforms one record in place (records are large: moving one in and out of every
/// transform of a chain was a measurable share of its cost). An `Err` is a record
/// error, handled by `errors.tolerance` at stage TRANSFORMATION; the record is then in
/// an unspecified state and is not used again.
pub trait Transform: Send {
    fn apply(&mut self, record: &mut Record) -> Result<Fate, String>;
}

/// Decides whether a transform applies to a record.
pub trait Predicate: Send + Sync {
    fn test(&self, record: &Record) -> bool;
}

/// A transform users can name in `transforms.<alias>.type`.
pub struct TransformPlugin {
    /// Connect's class name, including `$Key`/`$Value` where Connect has variants.
    pub class: &'static str,
    /// Short names accepted as well.
    pub aliases: &'static [&'static str],
    pub doc: &'static str,
    pub config_def: fn() -> ConfigDef,
    /// Builds the transform from its parsed config (keys without the `transforms.<alias>.` prefix).
    pub create: fn(&ParsedConfig) -> Result<Box<dyn Transform>, ConfigErrors>,
}

/// A predicate users can name in `predicates.<alias>.type`.
pub struct PredicatePlugin {
    pub class: &'static str,
    pub aliases: &'static [&'static str],
    pub doc: &'static str,
    pub config_def: fn() -> ConfigDef,
    pub create: fn(&ParsedConfig) -> Result<Box<dyn Predicate>, ConfigErrors>,
}
