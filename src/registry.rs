//! The plugin registry: one line per connector, each behind its cargo feature.

use sluice_runtime::Plugins;

/// Every connector this build includes.
pub fn plugins() -> Plugins {
    #[allow(unused_mut)]
    let mut connectors = Vec::new();
    #[cfg(feature = "file")]
    {
        connectors.push(sluice_connectors::file::source_plugin());
        connectors.push(sluice_connectors::file::sink_plugin());
    }
    #[cfg(feature = "amqp")]
    connectors.push(sluice_connectors::amqp::source_plugin());
    #[cfg(feature = "amqp")]
    connectors.push(sluice_connectors::amqp::sink_plugin());
    #[cfg(feature = "amqp1")]
    connectors.push(sluice_connectors::amqp1::source_plugin());
    #[cfg(feature = "amqp1")]
    connectors.push(sluice_connectors::amqp1::sink_plugin());
    #[cfg(feature = "mqtt")]
    connectors.push(sluice_connectors::mqtt::source_plugin());
    #[cfg(feature = "mqtt")]
    connectors.push(sluice_connectors::mqtt::sink_plugin());
    #[cfg(feature = "jdbc")]
    connectors.push(sluice_connectors::jdbc::source_plugin());
    #[cfg(feature = "mongodb")]
    connectors.push(sluice_connectors::mongodb::sink_plugin());
    Plugins::new(connectors)
}
