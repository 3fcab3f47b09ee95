//! Keys a connector config sets that nothing reads. Kafka Connect accepts them silently,
//! and so does Sluice, but a typo (`tranforms`) or a key of the real connector that
//! Sluice lacks changes where data goes without a word. So each one is reported as a
//! warning (by `sluice validate`, the REST validate answer and the log at connector
//! start), with the closest known key when one is close, or the note of a peer
//! connector's key that Sluice does not implement.

use super::{split_list, ConfigDef, ConfigIssue, RawConfig};

/// Key families that are read by prefix whatever the connector: converter, client
/// override and topic creation settings.
const ALWAYS_ACCEPTED: &[&str] = &[
    "key.converter.",
    "value.converter.",
    "header.converter.",
    "producer.override.",
    "consumer.override.",
    "admin.override.",
    "topic.creation.",
];

/// A warning for each key of `raw` that `def` (every key that applies to the config)
/// does not know.
pub fn unknown_key_warnings(def: &ConfigDef, raw: &RawConfig) -> Vec<ConfigIssue> {
    let listed =
        |key: &str| -> Vec<String> { raw.get(key).map(|s| split_list(s)).unwrap_or_default() };
    let transforms = listed("transforms");
    let predicates = listed("predicates");
    let mut warnings = Vec::new();
    for key in raw.keys() {
        if def.key(key).is_some()
            || def.accepts_prefix_of(key)
            || ALWAYS_ACCEPTED.iter().any(|p| key.starts_with(p))
        {
            continue;
        }
        if let Some(note) = def.unsupported_note(key) {
            warnings.push(ConfigIssue::new(
                key,
                format!("not supported by Sluice, ignored: {}", note),
            ));
            continue;
        }
        // transforms.<alias>.* and predicates.*: an alias that is not listed is ignored.
        let family = [("transforms.", &transforms), ("predicates.", &predicates)]
            .into_iter()
            .find_map(|(p, list)| Some((p, list, key.strip_prefix(p)?)));
        if let Some((prefix, list, rest)) = family {
            let alias = rest.split('.').next().unwrap_or("");
            if !list.iter().any(|a| a == alias) {
                warnings.push(ConfigIssue::new(
                    key,
                    format!(
                        "unknown key, ignored: {} '{}' is not listed in {}",
                        if prefix == "transforms." {
                            "transform"
                        } else {
                            "predicate"
                        },
                        alias,
                        prefix.trim_end_matches('.')
                    ),
                ));
                continue;
            }
            if def.key(&format!("{}{}.type", prefix, alias)).is_none() {
                continue; // its type is unknown: that error is reported already
            }
        }
        let message = match closest(def, key) {
            Some(k) => format!("unknown key, ignored (did you mean {}?)", k),
            None => "unknown key, ignored".to_string(),
        };
        warnings.push(ConfigIssue::new(key, message));
    }
    warnings
}

/// The known key closest to `key`, if close enough to be a typo of it.
fn closest<'a>(def: &'a ConfigDef, key: &str) -> Option<&'a str> {
    let lower = key.to_ascii_lowercase();
    def.keys()
        .iter()
        .map(|k| {
            (
                strsim::levenshtein(&lower, &k.name.to_ascii_lowercase()),
                k.name.as_str(),
            )
        })
        .filter(|(d, name)| *d <= (name.len() / 6).clamp(1, 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigKey;

    fn def() -> ConfigDef {
        ConfigDef::new()
            .define(ConfigKey::list("transforms").default(""))
            .define(ConfigKey::string("transforms.r.type"))
            .define(ConfigKey::string("transforms.r.regex"))
            .define(ConfigKey::string("topic"))
            .define(ConfigKey::string("connection.url"))
            .accept_prefix("topic.override.")
            .not_supported("dialect.name", "Sluice reads PostgreSQL only")
    }

    fn warnings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let raw: RawConfig = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        unknown_key_warnings(&def(), &raw)
            .into_iter()
            .map(|i| (i.key, i.message))
            .collect()
    }

    #[test]
    fn typos_get_the_closest_key() {
        let w = warnings(&[("tranforms", "r"), ("topik", "t"), ("connection.ulr", "x")]);
        assert_eq!(w.len(), 3);
        assert!(w[0].1.contains("did you mean connection.url?"), "{:?}", w);
        assert!(w[1].1.contains("did you mean topic?"), "{:?}", w);
        assert!(w[2].1.contains("did you mean transforms?"), "{:?}", w);
    }

    #[test]
    fn known_families_pass_and_peers_keys_get_their_note() {
        let w = warnings(&[
            ("topic", "t"),
            ("topic.override.a.collection", "c"),
            ("value.converter.schemas.enable", "false"),
            ("producer.override.linger.ms", "5"),
            ("dialect.name", "PostgreSqlDatabaseDialect"),
            ("something.else.entirely", "x"),
        ]);
        assert_eq!(w.len(), 2, "{:?}", w);
        assert_eq!(w[0].0, "dialect.name");
        assert!(w[0].1.contains("PostgreSQL only"));
        assert_eq!(w[1].1, "unknown key, ignored");
    }

    #[test]
    fn transform_keys_are_checked_for_listed_aliases() {
        let w = warnings(&[
            ("transforms", "r"),
            ("transforms.r.type", "RegexRouter"),
            ("transforms.r.regx", "a"),
            ("transforms.x.type", "RegexRouter"),
        ]);
        assert_eq!(w.len(), 2, "{:?}", w);
        assert!(
            w[0].1.contains("did you mean transforms.r.regex?"),
            "{:?}",
            w
        );
        assert!(
            w[1].1.contains("'x' is not listed in transforms"),
            "{:?}",
            w
        );
    }
}
