//! Post processors: what happens to a record's key and value documents before they
//! become a write (the MongoDB connector's `post.processor.chain`).

use mongodb::bson::{Bson, Document};

use super::id_strategy::{IdStrategy, SinkDocument};
use super::projection::{Projection, ProjectionType};
use super::simple_name;

/// Field renames: by exact path (`field.renamer.mapping`) and by regular expression
/// (`field.renamer.regexp`).
#[derive(Debug, Clone, Default)]
pub struct Renamer {
    /// (`key`|`value`, path, new name).
    mappings: Vec<(bool, Vec<String>, String)>,
    /// (regexp on the full path `key.a.b` / `value.a.b`, pattern, replacement).
    regexps: Vec<(regex::Regex, regex::Regex, String)>,
}

impl Renamer {
    /// Parses both JSON settings; the error says which key (true = mapping) failed.
    pub fn parse(mapping: &str, regexp: &str) -> Result<Renamer, (bool, String)> {
        let mut r = Renamer::default();
        let m: serde_json::Value = serde_json::from_str(if mapping.trim().is_empty() {
            "[]"
        } else {
            mapping
        })
        .map_err(|e| (true, format!("not a JSON array: {}", e)))?;
        for item in m.as_array().ok_or((true, "not a JSON array".to_string()))? {
            let old = item["oldName"].as_str();
            let new = item["newName"].as_str();
            let (Some(old), Some(new)) = (old, new) else {
                return Err((true, format!("{} needs oldName and newName strings", item)));
            };
            let (is_key, path) = if let Some(p) = old.strip_prefix("key.") {
                (true, p)
            } else if let Some(p) = old.strip_prefix("value.") {
                (false, p)
            } else {
                return Err((
                    true,
                    format!("oldName {} must start with key. or value.", old),
                ));
            };
            r.mappings.push((
                is_key,
                path.split('.').map(str::to_string).collect(),
                new.to_string(),
            ));
        }
        let x: serde_json::Value = serde_json::from_str(if regexp.trim().is_empty() {
            "[]"
        } else {
            regexp
        })
        .map_err(|e| (false, format!("not a JSON array: {}", e)))?;
        for item in x
            .as_array()
            .ok_or((false, "not a JSON array".to_string()))?
        {
            let (Some(re), Some(pat), Some(rep)) = (
                item["regexp"].as_str(),
                item["pattern"].as_str(),
                item["replace"].as_str(),
            ) else {
                return Err((
                    false,
                    format!("{} needs regexp, pattern and replace strings", item),
                ));
            };
            let re = regex::Regex::new(re).map_err(|e| (false, e.to_string()))?;
            let pat = regex::Regex::new(pat).map_err(|e| (false, e.to_string()))?;
            r.regexps.push((re, pat, rep.to_string()));
        }
        Ok(r)
    }

    fn by_mapping(&self, doc: &mut SinkDocument) {
        for (is_key, path, new) in &self.mappings {
            let target = if *is_key {
                doc.key.as_mut()
            } else {
                doc.value.as_mut()
            };
            if let Some(d) = target {
                rename_path(d, path, new);
            }
        }
    }

    fn by_regexp(&self, doc: &mut SinkDocument) {
        if let Some(d) = doc.key.as_mut() {
            rename_regexp(d, "key", &self.regexps);
        }
        if let Some(d) = doc.value.as_mut() {
            rename_regexp(d, "value", &self.regexps);
        }
    }
}

fn rename_path(doc: &mut Document, path: &[String], new: &str) {
    match path {
        [] => {}
        [last] => {
            if let Some(v) = doc.remove(last) {
                doc.insert(new.to_string(), v);
            }
        }
        [first, rest @ ..] => {
            if let Some(Bson::Document(sub)) = doc.get_mut(first) {
                rename_path(sub, rest, new);
            }
        }
    }
}

fn rename_regexp(doc: &mut Document, prefix: &str, rules: &[(regex::Regex, regex::Regex, String)]) {
    let old = std::mem::take(doc);
    for (name, mut value) in old {
        let path = format!("{}.{}", prefix, name);
        if let Bson::Document(sub) = &mut value {
            rename_regexp(sub, &path, rules);
        }
        let mut new_name = name;
        for (re, pat, rep) in rules {
            if re.is_match(&path) {
                new_name = pat.replace_all(&new_name, rep.as_str()).into_owned();
            }
        }
        doc.insert(new_name, value);
    }
}

/// One post processor of the chain.
#[derive(Debug, Clone)]
pub enum PostProcessor {
    /// Sets `_id` from the id strategy.
    DocumentIdAdder,
    /// Adds `topic-partition-offset` and the record timestamp.
    KafkaMetaAdder,
    KeyProjector(Projection),
    ValueProjector(Projection),
    RenameByMapping(Renamer),
    RenameByRegExp(Renamer),
    /// Removes the value's fields whose value is null, in nested documents and in
    /// documents inside arrays too.
    NullFieldValueRemover,
    /// Turns the time series time field into a BSON date (added after the chain when
    /// `timeseries.timefield.auto.convert` is on).
    TimeFieldAutoConversion(std::sync::Arc<super::timeseries::TimeFieldConverter>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    IdAdder,
    MetaAdder,
    KeyProjector(ProjectionType),
    ValueProjector(ProjectionType),
    RenameByMapping,
    RenameByRegExp,
    NullRemover,
}

impl PostProcessor {
    fn kind_of_inner(name: &str) -> Option<Kind> {
        use ProjectionType::*;
        Some(match simple_name(name).as_str() {
            "documentidadder" => Kind::IdAdder,
            "kafkametaadder" => Kind::MetaAdder,
            "blocklistkeyprojector" | "blacklistkeyprojector" => Kind::KeyProjector(BlockList),
            "allowlistkeyprojector" | "whitelistkeyprojector" => Kind::KeyProjector(AllowList),
            "blocklistvalueprojector" | "blacklistvalueprojector" => {
                Kind::ValueProjector(BlockList)
            }
            "allowlistvalueprojector" | "whitelistvalueprojector" => {
                Kind::ValueProjector(AllowList)
            }
            "renamebymapping" => Kind::RenameByMapping,
            "renamebyregexp" => Kind::RenameByRegExp,
            "nullfieldvalueremover" => Kind::NullRemover,
            _ => return None,
        })
    }

    /// Checks a post processor name.
    pub fn kind_of(name: &str) -> Result<(), String> {
        Self::kind_of_inner(name).map(|_| ()).ok_or_else(|| {
            format!(
                "unknown post processor {}; known: DocumentIdAdder, KafkaMetaAdder, BlockListKeyProjector, AllowListKeyProjector, BlockListValueProjector, AllowListValueProjector, RenameByMapping, RenameByRegExp, NullFieldValueRemover",
                name
            )
        })
    }

    /// Builds the chain; DocumentIdAdder goes first when it is not listed.
    pub fn chain(
        names: &[String],
        key_projection: Option<Projection>,
        value_projection: Option<Projection>,
        renamer: Renamer,
    ) -> Result<Vec<PostProcessor>, String> {
        let mut out = Vec::new();
        let kinds: Vec<Kind> = names
            .iter()
            .map(|n| Self::kind_of_inner(n).ok_or_else(|| Self::kind_of(n).unwrap_err()))
            .collect::<Result<_, _>>()?;
        if !kinds.contains(&Kind::IdAdder) {
            out.push(PostProcessor::DocumentIdAdder);
        }
        for k in kinds {
            out.push(match k {
                Kind::IdAdder => PostProcessor::DocumentIdAdder,
                Kind::MetaAdder => PostProcessor::KafkaMetaAdder,
                Kind::KeyProjector(t) => match &key_projection {
                    Some(p) if p.kind == t => PostProcessor::KeyProjector(p.clone()),
                    _ => {
                        return Err(format!(
                            "a {:?} key projector needs key.projection.type={:?}",
                            t, t
                        ))
                    }
                },
                Kind::ValueProjector(t) => match &value_projection {
                    Some(p) if p.kind == t => PostProcessor::ValueProjector(p.clone()),
                    _ => {
                        return Err(format!(
                            "a {:?} value projector needs value.projection.type={:?}",
                            t, t
                        ))
                    }
                },
                Kind::RenameByMapping => PostProcessor::RenameByMapping(renamer.clone()),
                Kind::RenameByRegExp => PostProcessor::RenameByRegExp(renamer.clone()),
                Kind::NullRemover => PostProcessor::NullFieldValueRemover,
            });
        }
        Ok(out)
    }

    /// Applies this post processor to a record's documents.
    pub fn apply(
        &self,
        doc: &mut SinkDocument,
        id: &IdStrategy,
        overwrite_existing: bool,
    ) -> Result<(), String> {
        match self {
            PostProcessor::DocumentIdAdder => {
                let append = match &doc.value {
                    Some(v) => !v.contains_key("_id") || overwrite_existing,
                    None => false,
                };
                if append {
                    let generated = id.generate(doc)?;
                    if let Some(v) = doc.value.as_mut() {
                        v.insert("_id", generated);
                    }
                }
            }
            PostProcessor::KafkaMetaAdder => {
                let meta = format!("{}-{}-{}", doc.topic, doc.partition, doc.offset);
                let ts = doc.timestamp;
                if let Some(v) = doc.value.as_mut() {
                    v.insert("topic-partition-offset", meta);
                    if let Some((kind, ts)) = ts {
                        v.insert(kind, Bson::Int64(ts));
                    }
                }
            }
            PostProcessor::KeyProjector(p) => {
                if let Some(k) = doc.key.as_mut() {
                    p.apply(k);
                }
            }
            PostProcessor::ValueProjector(p) => {
                if let Some(v) = doc.value.as_mut() {
                    p.apply(v);
                }
            }
            PostProcessor::RenameByMapping(r) => r.by_mapping(doc),
            PostProcessor::RenameByRegExp(r) => r.by_regexp(doc),
            PostProcessor::NullFieldValueRemover => {
                if let Some(v) = doc.value.as_mut() {
                    remove_null_values(v);
                }
            }
            PostProcessor::TimeFieldAutoConversion(c) => {
                if let Some(v) = doc.value.as_mut() {
                    c.convert(v);
                }
            }
        }
        Ok(())
    }
}

/// Removes fields whose value is null, recursively through documents and the documents
/// inside arrays (null array elements stay), as the MongoDB connector's
/// `BsonDocumentNullValueRemover` does.
pub fn remove_null_values(doc: &mut Document) {
    for (name, mut value) in std::mem::take(doc) {
        match &mut value {
            Bson::Null => continue,
            Bson::Document(d) => remove_null_values(d),
            Bson::Array(items) => {
                for item in items.iter_mut() {
                    if let Bson::Document(d) = item {
                        remove_null_values(d);
                    }
                }
            }
            _ => {}
        }
        doc.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    #[test]
    fn renamers_rename() {
        let r = Renamer::parse(
            r#"[{"oldName":"value.b.c","newName":"cc"},{"oldName":"key.k","newName":"kk"}]"#,
            r#"[{"regexp":"^value\\..*my.*$","pattern":"my","replace":""}]"#,
        )
        .unwrap();
        let mut sd = SinkDocument::for_test(
            Some(doc! {"k": 1}),
            Some(doc! {"b": {"c": 1}, "myField": 2}),
        );
        r.by_mapping(&mut sd);
        r.by_regexp(&mut sd);
        assert_eq!(sd.key, Some(doc! {"kk": 1}));
        assert_eq!(sd.value, Some(doc! {"b": {"cc": 1}, "Field": 2}));
        assert!(Renamer::parse("{", "[]").unwrap_err().0);
    }

    #[test]
    fn null_fields_are_removed_at_every_level() {
        let mut d = doc! {"a": null, "b": 1, "c": {"x": null, "y": 2}, "arr": [null, {"z": null, "w": 3}], "e": {"only": null}};
        remove_null_values(&mut d);
        assert_eq!(
            d,
            doc! {"b": 1, "c": {"y": 2}, "arr": [null, {"w": 3}], "e": {}}
        );
    }
}
