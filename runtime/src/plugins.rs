//! The registry of plugins a worker knows. Connectors are handed in by the binary (one
//! line per connector, feature-gated); converters, transforms and predicates are built in.

use crate::config::ConfigIssue;
use crate::connector::ConnectorPlugin;

/// Whether a plugin answers to `name`, by the same rules for connectors, converters,
/// transforms and predicates (as Connect resolves them): its class name, its simple
/// class name, or that name without the type's `suffix` (`Connector`, `Converter`),
/// all case-sensitive like Java class names; or one of Sluice's aliases (`file-source`,
/// `json`), case-insensitive.
pub(crate) fn name_matches(
    class: &str,
    aliases: &[&str],
    suffix: Option<&str>,
    name: &str,
) -> bool {
    let name = name.trim();
    if class == name || aliases.iter().any(|a| a.eq_ignore_ascii_case(name)) {
        return true;
    }
    let simple = class.rsplit('.').next().unwrap_or(class);
    simple == name || suffix.is_some_and(|s| simple.strip_suffix(s) == Some(name))
}

/// The connectors this build of Sluice has.
#[derive(Clone, Default)]
pub struct Plugins {
    connectors: Vec<ConnectorPlugin>,
}

impl Plugins {
    pub fn new(connectors: Vec<ConnectorPlugin>) -> Self {
        Plugins { connectors }
    }

    pub fn connectors(&self) -> &[ConnectorPlugin] {
        &self.connectors
    }

    /// Finds a connector by class name, short name or alias.
    pub fn find_connector(&self, name: &str) -> Option<&ConnectorPlugin> {
        self.connectors.iter().find(|p| p.matches(name))
    }

    /// Like [`find_connector`](Self::find_connector), with an error listing the known ones.
    pub fn connector_or_issue(&self, name: &str) -> Result<&ConnectorPlugin, ConfigIssue> {
        self.find_connector(name).ok_or_else(|| {
            let known: Vec<String> = self
                .connectors
                .iter()
                .map(|p| format!("{} ({})", p.short_name(), p.class))
                .collect();
            ConfigIssue::new(
                "connector.class",
                format!(
                    "Failed to find any class that implements Connector and which name matches {}; known connectors: {}",
                    name,
                    known.join(", ")
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::name_matches;

    #[test]
    fn one_way_to_match_plugin_names() {
        let class = "org.apache.kafka.connect.file.FileStreamSourceConnector";
        let aliases = &["file-source", "FileStreamSource"];
        for name in [
            class,
            "FileStreamSourceConnector",
            "FileStreamSource",
            "file-source",
            "FILE-SOURCE",
            " file-source ",
        ] {
            assert!(
                name_matches(class, aliases, Some("Connector"), name),
                "{}",
                name
            );
        }
        for name in [
            "filestreamsourceconnector",
            "connect.file.FileStreamSourceConnector",
            "",
        ] {
            assert!(
                !name_matches(class, aliases, Some("Connector"), name),
                "{}",
                name
            );
        }
        let json = "org.apache.kafka.connect.json.JsonConverter";
        assert!(name_matches(json, &[], Some("Converter"), "Json"));
        assert!(!name_matches(json, &[], None, "Json"));
    }
}
