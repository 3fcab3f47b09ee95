//! Projections of a document by field paths (`a.b`, `a.*`, `a.**`): the allow and
//! block lists of the MongoDB connector's projectors and of `PartialKey`/`PartialValue`
//! id strategies.

use mongodb::bson::{Bson, Document};

/// AllowList (keep only listed fields) or BlockList (drop listed fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectionType {
    AllowList,
    BlockList,
}

impl ProjectionType {
    /// `allowlist`/`whitelist`, `blocklist`/`blacklist`; `none` or empty is `None`.
    pub fn parse(s: &str) -> Option<ProjectionType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "allowlist" | "whitelist" => Some(ProjectionType::AllowList),
            "blocklist" | "blacklist" => Some(ProjectionType::BlockList),
            _ => None,
        }
    }
}

/// A projection of a document by field paths (`a.b`, `a.*`, `a.**`).
#[derive(Debug, Clone)]
pub struct Projection {
    pub kind: ProjectionType,
    paths: Vec<Vec<String>>,
}

impl Projection {
    pub fn new(kind: ProjectionType, list: &str) -> Self {
        Projection {
            kind,
            paths: list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.split('.').map(str::to_string).collect())
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Applies the projection in place. `_id` survives an allow list.
    pub fn apply(&self, doc: &mut Document) {
        self.apply_with(doc, true)
    }

    /// Applies the projection; `keep_id`: `_id` survives an allow list.
    pub fn apply_with(&self, doc: &mut Document, keep_id: bool) {
        let paths: Vec<&[String]> = self.paths.iter().map(|p| p.as_slice()).collect();
        match self.kind {
            ProjectionType::AllowList => allow(doc, &paths, keep_id),
            ProjectionType::BlockList => block(doc, &paths),
        }
    }
}

fn segment_matches(pattern: &str, name: &str) -> bool {
    pattern == "*" || pattern == "**" || pattern == name
}

fn allow(doc: &mut Document, paths: &[&[String]], top: bool) {
    let names: Vec<String> = doc.keys().cloned().collect();
    for name in names {
        if top && name == "_id" {
            continue;
        }
        let matching: Vec<&[String]> = paths
            .iter()
            .filter(|p| !p.is_empty() && segment_matches(&p[0], &name))
            .copied()
            .collect();
        if matching.is_empty() {
            doc.remove(&name);
            continue;
        }
        // Kept whole if a path ends here or is `**`.
        if matching.iter().any(|p| p.len() == 1 || p[0] == "**") {
            continue;
        }
        let rest: Vec<&[String]> = matching.iter().map(|p| &p[1..]).collect();
        match doc.get_mut(&name) {
            Some(Bson::Document(sub)) => allow(sub, &rest, false),
            Some(Bson::Array(items)) => {
                for item in items.iter_mut() {
                    if let Bson::Document(sub) = item {
                        allow(sub, &rest, false);
                    }
                }
            }
            _ => {
                doc.remove(&name);
            }
        }
    }
}

fn block(doc: &mut Document, paths: &[&[String]]) {
    let names: Vec<String> = doc.keys().cloned().collect();
    for name in names {
        let matching: Vec<&[String]> = paths
            .iter()
            .filter(|p| !p.is_empty() && segment_matches(&p[0], &name))
            .copied()
            .collect();
        if matching.iter().any(|p| p.len() == 1 || p[0] == "**") {
            doc.remove(&name);
            continue;
        }
        let rest: Vec<&[String]> = matching.iter().map(|p| &p[1..]).collect();
        if rest.is_empty() {
            continue;
        }
        match doc.get_mut(&name) {
            Some(Bson::Document(sub)) => block(sub, &rest),
            Some(Bson::Array(items)) => {
                for item in items.iter_mut() {
                    if let Bson::Document(sub) = item {
                        block(sub, &rest);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    #[test]
    fn allow_and_block_lists_follow_paths() {
        let d = doc! {"_id": 1, "a": 1, "b": {"c": 2, "d": 3}, "e": [{"c": 1, "x": 2}]};
        let mut x = d.clone();
        Projection::new(ProjectionType::AllowList, "a,b.c,e.c").apply(&mut x);
        assert_eq!(x, doc! {"_id": 1, "a": 1, "b": {"c": 2}, "e": [{"c": 1}]});
        let mut y = d.clone();
        Projection::new(ProjectionType::BlockList, "a,b.d,e.*").apply(&mut y);
        assert_eq!(y, doc! {"_id": 1, "b": {"c": 2}, "e": [{}]});
        let mut z = d;
        Projection::new(ProjectionType::AllowList, "b.**").apply(&mut z);
        assert_eq!(z, doc! {"_id": 1, "b": {"c": 2, "d": 3}});
    }
}
