//! The cross-key checks of a connector's typed config (TLS files, keys that depend on
//! each other, ...) run at validation time, for a config whose single keys parse.

use sluice_runtime::config::{ConfigDef, ConfigErrors, ConfigIssue, ParsedConfig, RawConfig};

/// The problems `from_parsed` finds in `raw`; none when a key does not parse (the
/// runtime reports key-level problems itself).
pub fn cross_key_issues<T>(
    def: &ConfigDef,
    raw: &RawConfig,
    from_parsed: impl FnOnce(&ParsedConfig) -> Result<T, ConfigErrors>,
) -> Vec<ConfigIssue> {
    match def.parse(raw) {
        Ok(p) => from_parsed(&p).err().map(|e| e.0).unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}
