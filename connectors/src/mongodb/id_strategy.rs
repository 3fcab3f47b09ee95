//! Id strategies: how a document's `_id` is made (`document.id.strategy`).

use mongodb::bson::{oid::ObjectId, Binary, Bson, Document};

use super::projection::Projection;
use super::simple_name;

/// A record on its way to MongoDB: its key and value as documents, and where it came
/// from (for KafkaMetaData ids and the KafkaMetaAdder).
#[derive(Debug, Clone)]
pub struct SinkDocument {
    /// `None`: no key, or a key that is not a document (then `key_error` says why).
    pub key: Option<Document>,
    pub key_error: Option<String>,
    pub value: Option<Document>,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// (`CreateTime`|`LogAppendTime`, epoch ms).
    pub timestamp: Option<(&'static str, i64)>,
}

impl SinkDocument {
    #[cfg(test)]
    pub fn for_test(key: Option<Document>, value: Option<Document>) -> Self {
        SinkDocument {
            key,
            key_error: None,
            value,
            topic: "t".into(),
            partition: 0,
            offset: 7,
            timestamp: None,
        }
    }

    fn key_doc(&self, strategy: &str) -> Result<&Document, String> {
        self.key.as_ref().ok_or_else(|| match &self.key_error {
            Some(e) => format!("{} needs the key as a document: {}", strategy, e),
            None => format!("{} needs a key, and the record has none", strategy),
        })
    }

    fn value_doc(&self, strategy: &str) -> Result<&Document, String> {
        self.value
            .as_ref()
            .ok_or_else(|| format!("{} needs a value, and the record has none", strategy))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    BsonOid,
    FullKey,
    KafkaMetaData,
    PartialKey,
    PartialValue,
    ProvidedInKey,
    ProvidedInValue,
    Uuid,
    UuidProvidedInKey,
    UuidProvidedInValue,
}

/// One id strategy, ready to use.
#[derive(Debug, Clone)]
pub enum IdStrategy {
    BsonOid,
    FullKey,
    KafkaMetaData,
    PartialKey(Projection),
    PartialValue(Projection),
    ProvidedInKey,
    ProvidedInValue,
    Uuid {
        binary: bool,
    },
    /// The key's `_id` as a UUID: BSON binary subtype 4 (from a UUID string or a UUID
    /// binary).
    UuidProvidedInKey,
    /// The value's `_id` as a UUID, as [`IdStrategy::UuidProvidedInKey`].
    UuidProvidedInValue,
}

impl IdStrategy {
    pub(crate) fn kind_of(name: &str) -> Result<Kind, String> {
        Ok(match simple_name(name).as_str() {
            "bsonoid" => Kind::BsonOid,
            "fullkey" => Kind::FullKey,
            "kafkametadata" => Kind::KafkaMetaData,
            "partialkey" => Kind::PartialKey,
            "partialvalue" => Kind::PartialValue,
            "providedinkey" => Kind::ProvidedInKey,
            "providedinvalue" => Kind::ProvidedInValue,
            "uuid" => Kind::Uuid,
            "uuidprovidedinkey" => Kind::UuidProvidedInKey,
            "uuidprovidedinvalue" => Kind::UuidProvidedInValue,
            _ => {
                return Err(format!(
                    "unknown id strategy {}; known: BsonOidStrategy, FullKeyStrategy, KafkaMetaDataStrategy, PartialKeyStrategy, PartialValueStrategy, ProvidedInKeyStrategy, ProvidedInValueStrategy, UuidStrategy, UuidProvidedInKeyStrategy, UuidProvidedInValueStrategy",
                    name
                ))
            }
        })
    }

    /// Builds the strategy named `name` (short or full class name).
    pub fn parse(
        name: &str,
        uuid_format: &str,
        partial_key: Option<Projection>,
        partial_value: Option<Projection>,
    ) -> Result<IdStrategy, String> {
        let missing = |which: &str| {
            format!(
                "{}Strategy needs a projection: set {}.projection.type (AllowList or BlockList) and .list, or document.id.strategy.partial.{}.projection.type and .list",
                which,
                which.to_ascii_lowercase().replace("partial", ""),
                which.to_ascii_lowercase().replace("partial", "")
            )
        };
        Ok(match Self::kind_of(name)? {
            Kind::BsonOid => IdStrategy::BsonOid,
            Kind::FullKey => IdStrategy::FullKey,
            Kind::KafkaMetaData => IdStrategy::KafkaMetaData,
            Kind::PartialKey => {
                IdStrategy::PartialKey(partial_key.ok_or_else(|| missing("PartialKey"))?)
            }
            Kind::PartialValue => {
                IdStrategy::PartialValue(partial_value.ok_or_else(|| missing("PartialValue"))?)
            }
            Kind::ProvidedInKey => IdStrategy::ProvidedInKey,
            Kind::ProvidedInValue => IdStrategy::ProvidedInValue,
            Kind::Uuid => IdStrategy::Uuid {
                binary: uuid_format.trim().eq_ignore_ascii_case("binary"),
            },
            Kind::UuidProvidedInKey => IdStrategy::UuidProvidedInKey,
            Kind::UuidProvidedInValue => IdStrategy::UuidProvidedInValue,
        })
    }

    /// The strategy's simple class name.
    pub fn name(&self) -> &'static str {
        match self {
            IdStrategy::BsonOid => "BsonOidStrategy",
            IdStrategy::FullKey => "FullKeyStrategy",
            IdStrategy::KafkaMetaData => "KafkaMetaDataStrategy",
            IdStrategy::PartialKey(_) => "PartialKeyStrategy",
            IdStrategy::PartialValue(_) => "PartialValueStrategy",
            IdStrategy::ProvidedInKey => "ProvidedInKeyStrategy",
            IdStrategy::ProvidedInValue => "ProvidedInValueStrategy",
            IdStrategy::Uuid { .. } => "UuidStrategy",
            IdStrategy::UuidProvidedInKey => "UuidProvidedInKeyStrategy",
            IdStrategy::UuidProvidedInValue => "UuidProvidedInValueStrategy",
        }
    }

    /// Is the id derived from the key alone (so a tombstone can name the document)?
    /// As in the MongoDB connector, UuidProvidedInKeyStrategy is not one of them.
    pub fn is_key_based(&self) -> bool {
        matches!(
            self,
            IdStrategy::FullKey | IdStrategy::PartialKey(_) | IdStrategy::ProvidedInKey
        )
    }

    /// Does the id hold business key fields (for the business key write models)?
    pub fn is_partial(&self) -> bool {
        matches!(
            self,
            IdStrategy::PartialKey(_) | IdStrategy::PartialValue(_)
        )
    }

    /// A partial strategy needs a non-empty field list.
    pub fn check_projection(&self) -> Result<(), String> {
        match self {
            IdStrategy::PartialKey(p) | IdStrategy::PartialValue(p) if p.is_empty() => {
                Err(format!("{} needs a non-empty projection list", self.name()))
            }
            _ => Ok(()),
        }
    }

    /// Makes the `_id` for a record.
    pub fn generate(&self, doc: &SinkDocument) -> Result<Bson, String> {
        let name = self.name();
        Ok(match self {
            IdStrategy::BsonOid => Bson::ObjectId(ObjectId::new()),
            IdStrategy::FullKey => Bson::Document(doc.key_doc(name)?.clone()),
            IdStrategy::KafkaMetaData => {
                Bson::String(format!("{}#{}#{}", doc.topic, doc.partition, doc.offset))
            }
            IdStrategy::PartialKey(p) => {
                let mut k = doc.key_doc(name)?.clone();
                p.apply_with(&mut k, false);
                Bson::Document(k)
            }
            IdStrategy::PartialValue(p) => {
                let mut v = doc.value_doc(name)?.clone();
                v.remove("_id");
                p.apply_with(&mut v, false);
                Bson::Document(v)
            }
            IdStrategy::ProvidedInKey => doc
                .key_doc(name)?
                .get("_id")
                .cloned()
                .ok_or_else(|| "ProvidedInKeyStrategy: the key has no _id field".to_string())?,
            IdStrategy::ProvidedInValue => {
                doc.value_doc(name)?.get("_id").cloned().ok_or_else(|| {
                    "ProvidedInValueStrategy: the value has no _id field".to_string()
                })?
            }
            IdStrategy::UuidProvidedInKey => uuid_id(provided(doc.key_doc(name)?, name, "key")?)?,
            IdStrategy::UuidProvidedInValue => {
                uuid_id(provided(doc.value_doc(name)?, name, "value")?)?
            }
            IdStrategy::Uuid { binary } => {
                let u = mongodb::bson::Uuid::new();
                if *binary {
                    Bson::Binary(Binary::from_uuid(u))
                } else {
                    Bson::String(u.to_string())
                }
            }
        })
    }
}

/// The `_id` field of a key or value document, which must be there and not null.
fn provided(d: &Document, strategy: &str, which: &str) -> Result<Bson, String> {
    match d.get("_id") {
        None => Err(format!("{}: the {} has no _id field", strategy, which)),
        Some(Bson::Null) => Err(format!("{}: the {}'s _id is null", strategy, which)),
        Some(id) => Ok(id.clone()),
    }
}

/// A provided id as a UUID (BSON binary subtype 4): a UUID binary (subtype 3 or 4) is
/// kept, a string of 36 characters (with dashes) or 32 hex digits is converted.
fn uuid_id(id: Bson) -> Result<Bson, String> {
    use mongodb::bson::spec::BinarySubtype;
    let invalid = |shown: String| {
        format!(
            "UUID cannot be constructed from provided value: `{}`",
            shown
        )
    };
    match id {
        Bson::Binary(b) if matches!(b.subtype, BinarySubtype::Uuid | BinarySubtype::UuidOld) => {
            Ok(Bson::Binary(b))
        }
        Bson::String(s) => {
            let parsed = if s.len() == 36 || s.len() == 32 {
                mongodb::bson::Uuid::parse_str(&s).ok()
            } else {
                None
            };
            parsed
                .map(|u| Bson::Binary(Binary::from_uuid(u)))
                .ok_or_else(|| invalid(s))
        }
        other => Err(invalid(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mongodb::projection::ProjectionType;
    use mongodb::bson::doc;

    #[test]
    fn each_strategy_makes_its_id() {
        let sd = SinkDocument::for_test(
            Some(doc! {"_id": "k1", "a": 1, "b": 2}),
            Some(doc! {"_id": 9, "x": 1, "y": 2}),
        );
        let p = |l: &str| Projection::new(ProjectionType::AllowList, l);
        let gen = |s: IdStrategy| s.generate(&sd).unwrap();
        assert!(matches!(gen(IdStrategy::BsonOid), Bson::ObjectId(_)));
        assert_eq!(
            gen(IdStrategy::FullKey),
            Bson::Document(doc! {"_id": "k1", "a": 1, "b": 2})
        );
        assert_eq!(gen(IdStrategy::KafkaMetaData), Bson::String("t#0#7".into()));
        assert_eq!(
            gen(IdStrategy::PartialKey(p("a"))),
            Bson::Document(doc! {"a": 1})
        );
        assert_eq!(
            gen(IdStrategy::PartialValue(p("y"))),
            Bson::Document(doc! {"y": 2})
        );
        assert_eq!(gen(IdStrategy::ProvidedInKey), Bson::String("k1".into()));
        assert_eq!(gen(IdStrategy::ProvidedInValue), Bson::Int32(9));
        match gen(IdStrategy::Uuid { binary: false }) {
            Bson::String(s) => assert_eq!(s.len(), 36),
            other => panic!("{:?}", other),
        }
        assert!(matches!(
            gen(IdStrategy::Uuid { binary: true }),
            Bson::Binary(_)
        ));
        let uuid = "123e4567-e89b-12d3-a456-426614174000";
        let want = Bson::Binary(Binary::from_uuid(
            mongodb::bson::Uuid::parse_str(uuid).unwrap(),
        ));
        let in_key = SinkDocument::for_test(Some(doc! {"_id": uuid}), Some(doc! {}));
        assert_eq!(
            IdStrategy::UuidProvidedInKey.generate(&in_key).unwrap(),
            want
        );
        let in_value = SinkDocument::for_test(None, Some(doc! {"_id": uuid.replace('-', "")}));
        assert_eq!(
            IdStrategy::UuidProvidedInValue.generate(&in_value).unwrap(),
            want
        );
        let bad = SinkDocument::for_test(None, Some(doc! {"_id": "not-a-uuid"}));
        assert_eq!(
            IdStrategy::UuidProvidedInValue.generate(&bad).unwrap_err(),
            "UUID cannot be constructed from provided value: `not-a-uuid`"
        );
        let nokey = SinkDocument::for_test(None, Some(doc! {}));
        assert!(IdStrategy::FullKey.generate(&nokey).is_err());
        assert!(IdStrategy::ProvidedInValue.generate(&nokey).is_err());
    }
}
