//! Namespace mappers (`namespace.mapper`): which database and collection a record is
//! written to. The default is the `database` key and the `collection` key (or the
//! topic); FieldPathNamespaceMapper reads them from a key or value field, as
//! `com.mongodb.kafka.connect.sink.namespace.mapping.FieldPathNamespaceMapper` does.
//!
//! The fields are read from the record's documents before the post processors run.

use mongodb::bson::{Bson, Document};

use super::id_strategy::SinkDocument;
use super::simple_name;

/// Where a field path is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldSource {
    Key(String),
    Value(String),
}

/// How the namespace of a record is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceMapper {
    /// `database` and `collection` (or the topic).
    Default,
    /// Database and/or collection from a field, falling back to the defaults when
    /// the field is missing or not a string, unless `error_if_invalid`.
    FieldPath {
        database: Option<FieldSource>,
        collection: Option<FieldSource>,
        error_if_invalid: bool,
    },
}

/// The namespace mappers Sluice knows, for messages.
pub const KNOWN: &str = "DefaultNamespaceMapper, FieldPathNamespaceMapper";

impl NamespaceMapper {
    /// Checks a mapper name: Ok(true) for FieldPathNamespaceMapper.
    pub fn is_field_path(name: &str) -> Result<bool, String> {
        match simple_name(name).as_str() {
            "" | "defaultnamespacemapper" => Ok(false),
            "fieldpathnamespacemapper" => Ok(true),
            _ => Err(format!(
                "unknown namespace mapper {}; known: {} (short names or the MongoDB connector's full class names)",
                name, KNOWN
            )),
        }
    }

    /// The (database, collection) of a record; `default_db` and `default_coll` are the
    /// `database` key and the `collection` key or the topic.
    pub fn namespace(
        &self,
        doc: &SinkDocument,
        default_db: &str,
        default_coll: &str,
    ) -> Result<(String, String), String> {
        match self {
            NamespaceMapper::Default => Ok((default_db.to_string(), default_coll.to_string())),
            NamespaceMapper::FieldPath {
                database,
                collection,
                error_if_invalid,
            } => {
                let pick = |src: &Option<FieldSource>, default: &str| match src {
                    None => Ok(default.to_string()),
                    Some(s) => lookup(doc, s, *error_if_invalid)
                        .map(|found| found.unwrap_or_else(|| default.to_string())),
                };
                let (db, coll) = (pick(database, default_db)?, pick(collection, default_coll)?);
                check_names(&db, &coll)?;
                Ok((db, coll))
            }
        }
    }
}

/// The names MongoDB accepts (the Java driver's `MongoNamespace` checks): a database
/// name is not empty and has none of `/\. "` or NUL; a collection name is not empty.
fn check_names(db: &str, coll: &str) -> Result<(), String> {
    if db.is_empty() {
        return Err("namespace.mapper: the database name is empty".into());
    }
    if let Some(c) = db.chars().find(|c| "/\\. \"\0".contains(*c)) {
        return Err(format!(
            "namespace.mapper: invalid database name {:?}: it contains {:?}",
            db, c
        ));
    }
    if coll.is_empty() {
        return Err("namespace.mapper: the collection name is empty".into());
    }
    Ok(())
}

/// The string at a field path; `None` (use the default) when the document or field is
/// missing or not a string and errors are not asked for.
fn lookup(doc: &SinkDocument, src: &FieldSource, strict: bool) -> Result<Option<String>, String> {
    let (which, path, data) = match src {
        FieldSource::Key(p) => ("key", p, doc.key.as_ref()),
        FieldSource::Value(p) => ("value", p, doc.value.as_ref()),
    };
    let Some(data) = data else {
        if !strict {
            return Ok(None);
        }
        return Err(match (which, &doc.key_error) {
            ("key", Some(e)) => format!("namespace.mapper: invalid key document: {}", e),
            _ => format!(
                "namespace.mapper: the record has no {} document to read '{}' from",
                which, path
            ),
        });
    };
    match field_lookup(path, data) {
        Some(Bson::String(s)) => Ok(Some(s.clone())),
        _ if !strict => Ok(None),
        None => Err(format!(
            "namespace.mapper: missing {} document path '{}': {}",
            which, path, data
        )),
        Some(other) => Err(format!(
            "namespace.mapper: invalid type {:?} for {} field path '{}', expected a string: {}",
            other.element_type(),
            which,
            path,
            data
        )),
    }
}

/// A field by dotted path (`a.b.c`), a field whose name contains the dots winning, as
/// the MongoDB connector's `BsonDocumentFieldLookup` does.
fn field_lookup<'a>(path: &str, d: &'a Document) -> Option<&'a Bson> {
    if let Some(v) = d.get(path) {
        return Some(v);
    }
    let (head, rest) = path.split_once('.')?;
    if rest.is_empty() {
        return None;
    }
    match d.get(head) {
        Some(Bson::Document(sub)) => field_lookup(rest, sub),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    #[test]
    fn fields_give_the_namespace_or_an_error() {
        let m = |strict| NamespaceMapper::FieldPath {
            database: Some(FieldSource::Value("route.db".into())),
            collection: Some(FieldSource::Key("coll".into())),
            error_if_invalid: strict,
        };
        let sd = SinkDocument::for_test(
            Some(doc! {"coll": "c1"}),
            Some(doc! {"route": {"db": "d1"}}),
        );
        assert_eq!(
            m(true).namespace(&sd, "d", "t").unwrap(),
            ("d1".to_string(), "c1".to_string())
        );
        let missing = SinkDocument::for_test(Some(doc! {"coll": 5}), Some(doc! {}));
        assert_eq!(
            m(false).namespace(&missing, "d", "t").unwrap(),
            ("d".to_string(), "t".to_string())
        );
        let e = m(true).namespace(&missing, "d", "t").unwrap_err();
        assert!(
            e.contains("missing value document path 'route.db'"),
            "{}",
            e
        );
        let wrong = SinkDocument::for_test(Some(doc! {"coll": 5}), Some(doc! {"route.db": "x"}));
        let e = m(true).namespace(&wrong, "d", "t").unwrap_err();
        assert!(
            e.contains("invalid type Int32 for key field path 'coll'"),
            "{}",
            e
        );
        let tomb = SinkDocument::for_test(Some(doc! {"coll": "c"}), None);
        assert!(m(true).namespace(&tomb, "d", "t").is_err());
        assert_eq!(
            m(false).namespace(&tomb, "d", "t").unwrap(),
            ("d".to_string(), "c".to_string())
        );
        let bad =
            SinkDocument::for_test(Some(doc! {"coll": ""}), Some(doc! {"route": {"db": "a.b"}}));
        assert!(m(false)
            .namespace(&bad, "d", "t")
            .unwrap_err()
            .contains("invalid database name"));
        assert!(NamespaceMapper::is_field_path(
            "com.mongodb.kafka.connect.sink.namespace.mapping.FieldPathNamespaceMapper"
        )
        .unwrap());
        assert!(NamespaceMapper::is_field_path("Nope").is_err());
    }
}
