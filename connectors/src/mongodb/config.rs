//! The MongoDB sink's keys (those of `com.mongodb.kafka.connect.MongoSinkConnector`),
//! parsed once into typed settings, per topic (`topic.override.<topic>.<key>`).

use sluice_runtime::config::{
    ConfigDef, ConfigIssue, ConfigKey, Importance, ParsedConfig, RawConfig, TypedValue, Validator,
};

use std::sync::Arc;

use super::cdc::CdcHandler;
use super::id_strategy::IdStrategy;
use super::namespace::{FieldSource, NamespaceMapper};
use super::post_processors::{PostProcessor, Renamer};
use super::projection::{Projection, ProjectionType};
use super::timeseries::{DateFormat, TimeFieldConverter, TimeseriesOptions};
use super::write_model::{DeleteStrategy, WriteModel};

pub const CONNECTION_URI: &str = "connection.uri";
pub const DATABASE: &str = "database";
pub const COLLECTION: &str = "collection";
pub const MAX_BATCH_SIZE: &str = "max.batch.size";
pub const BULK_WRITE_ORDERED: &str = "bulk.write.ordered";
pub const DELETE_ON_NULL_VALUES: &str = "delete.on.null.values";
pub const ID_STRATEGY: &str = "document.id.strategy";
pub const ID_OVERWRITE: &str = "document.id.strategy.overwrite.existing";
pub const ID_UUID_FORMAT: &str = "document.id.strategy.uuid.format";
pub const ID_PARTIAL_KEY_TYPE: &str = "document.id.strategy.partial.key.projection.type";
pub const ID_PARTIAL_KEY_LIST: &str = "document.id.strategy.partial.key.projection.list";
pub const ID_PARTIAL_VALUE_TYPE: &str = "document.id.strategy.partial.value.projection.type";
pub const ID_PARTIAL_VALUE_LIST: &str = "document.id.strategy.partial.value.projection.list";
pub const WRITE_MODEL: &str = "writemodel.strategy";
pub const POST_PROCESSORS: &str = "post.processor.chain";
pub const KEY_PROJECTION_TYPE: &str = "key.projection.type";
pub const KEY_PROJECTION_LIST: &str = "key.projection.list";
pub const VALUE_PROJECTION_TYPE: &str = "value.projection.type";
pub const VALUE_PROJECTION_LIST: &str = "value.projection.list";
pub const RENAMER_MAPPING: &str = "field.renamer.mapping";
pub const RENAMER_REGEXP: &str = "field.renamer.regexp";
pub const MONGO_ERRORS_TOLERANCE: &str = "mongo.errors.tolerance";
pub const CDC_HANDLER: &str = "change.data.capture.handler";
pub const CDC_REMOVE_NULLS: &str = "change.data.capture.handler.remove.null.values";
pub const NAMESPACE_MAPPER: &str = "namespace.mapper";
pub const NS_KEY_DATABASE: &str = "namespace.mapper.key.database.field";
pub const NS_KEY_COLLECTION: &str = "namespace.mapper.key.collection.field";
pub const NS_VALUE_DATABASE: &str = "namespace.mapper.value.database.field";
pub const NS_VALUE_COLLECTION: &str = "namespace.mapper.value.collection.field";
pub const NS_ERROR_IF_INVALID: &str = "namespace.mapper.error.if.invalid";
pub const DELETE_WRITE_MODEL: &str = "delete.writemodel.strategy";
pub const TS_TIMEFIELD: &str = "timeseries.timefield";
pub const TS_METAFIELD: &str = "timeseries.metafield";
pub const TS_EXPIRE: &str = "timeseries.expire.after.seconds";
pub const TS_GRANULARITY: &str = "timeseries.granularity";
pub const TS_AUTO_CONVERT: &str = "timeseries.timefield.auto.convert";
pub const TS_DATE_FORMAT: &str = "timeseries.timefield.auto.convert.date.format";
pub const TS_LOCALE: &str = "timeseries.timefield.auto.convert.locale.language.tag";
pub const TOPIC_OVERRIDE_PREFIX: &str = "topic.override.";

const PROJECTION_TYPES: &[&str] = &["none", "blocklist", "allowlist", "blacklist", "whitelist"];

/// Keys a `topic.override.<topic>.<key>` entry may set (all but the connection and
/// the error tolerance, as in the MongoDB connector).
const OVERRIDABLE: &[&str] = &[
    DATABASE,
    COLLECTION,
    MAX_BATCH_SIZE,
    BULK_WRITE_ORDERED,
    DELETE_ON_NULL_VALUES,
    ID_STRATEGY,
    ID_OVERWRITE,
    ID_UUID_FORMAT,
    ID_PARTIAL_KEY_TYPE,
    ID_PARTIAL_KEY_LIST,
    ID_PARTIAL_VALUE_TYPE,
    ID_PARTIAL_VALUE_LIST,
    WRITE_MODEL,
    POST_PROCESSORS,
    KEY_PROJECTION_TYPE,
    KEY_PROJECTION_LIST,
    VALUE_PROJECTION_TYPE,
    VALUE_PROJECTION_LIST,
    RENAMER_MAPPING,
    RENAMER_REGEXP,
    CDC_HANDLER,
    CDC_REMOVE_NULLS,
    NAMESPACE_MAPPER,
    NS_KEY_DATABASE,
    NS_KEY_COLLECTION,
    NS_VALUE_DATABASE,
    NS_VALUE_COLLECTION,
    NS_ERROR_IF_INVALID,
    DELETE_WRITE_MODEL,
    TS_TIMEFIELD,
    TS_METAFIELD,
    TS_EXPIRE,
    TS_GRANULARITY,
    TS_AUTO_CONVERT,
    TS_DATE_FORMAT,
    TS_LOCALE,
];

/// Keys of the official MongoDB sink that Sluice does not implement (yet).
const UNSUPPORTED_MONGODB_KEYS: &[&str] = &[
    "mongo.errors.log.enable",
    "rate.limiting.every.n",
    "rate.limiting.timeout",
    "max.num.retries",
    "retries.defer.timeout",
];

/// The connector's keys.
pub fn sink_config_def() -> ConfigDef {
    let g = "MongoDB";
    ConfigDef::new()
        .define(ConfigKey::password(CONNECTION_URI).default("mongodb://localhost:27017").validator(Validator::Custom(check_uri)).importance(Importance::High).group(g)
            .doc("The MongoDB connection string. Its write concern (w, journal, wtimeoutMS) applies to every write; use a config provider (${env:...}, ${file:...}) for credentials."))
        .define(ConfigKey::string(DATABASE).validator(Validator::NonEmpty).importance(Importance::High).group(g)
            .doc("The database to write to."))
        .define(ConfigKey::string(COLLECTION).optional().importance(Importance::High).group(g)
            .doc("The collection to write to. Unset: the record's topic name."))
        .define(ConfigKey::int(MAX_BATCH_SIZE).default("0").at_least(0.0).importance(Importance::Medium).group(g)
            .doc("The most writes sent in one bulk write command per namespace. 0: no limit beyond the batch the consumer delivers (consumer.override.max.poll.records) and the server's maxWriteBatchSize."))
        .define(ConfigKey::boolean(BULK_WRITE_ORDERED).default("true").importance(Importance::Medium).group(g)
            .doc("Ordered bulk writes: the server stops at the first failed write, and Sluice sends the writes after it again. Unordered: the server attempts every write of the bulk."))
        .define(ConfigKey::boolean(DELETE_ON_NULL_VALUES).default("false").importance(Importance::Medium).group(g)
            .doc("A tombstone (null value) becomes the write of delete.writemodel.strategy: by default a delete of the document whose _id the id strategy derives from the record key, which needs a key-based id strategy (FullKey, PartialKey, ProvidedInKey). false: tombstones are skipped."))
        .define(ConfigKey::string(ID_STRATEGY).default("com.mongodb.kafka.connect.sink.processor.id.strategy.BsonOidStrategy").validator(Validator::Custom(check_id_strategy)).importance(Importance::Medium).group(g)
            .doc("How the _id of a document is made: BsonOidStrategy, FullKeyStrategy, KafkaMetaDataStrategy, PartialKeyStrategy, PartialValueStrategy, ProvidedInKeyStrategy, ProvidedInValueStrategy, UuidStrategy, UuidProvidedInKeyStrategy, UuidProvidedInValueStrategy (short names or the MongoDB connector's full class names)."))
        .define(ConfigKey::boolean(ID_OVERWRITE).default("false").importance(Importance::Low).group(g)
            .doc("Replace an _id the value already has with the one the id strategy makes."))
        .define(ConfigKey::string(ID_UUID_FORMAT).default("string").one_of(&["string", "binary"]).importance(Importance::Low).group(g)
            .doc("UuidStrategy: write the UUID as a string or as BSON binary subtype 4."))
        .define(ConfigKey::string(ID_PARTIAL_KEY_TYPE).default("").importance(Importance::Low).group(g)
            .doc("PartialKeyStrategy: AllowList or BlockList of key fields that form the _id. Empty: key.projection.type."))
        .define(ConfigKey::string(ID_PARTIAL_KEY_LIST).default("").importance(Importance::Low).group(g)
            .doc("PartialKeyStrategy: comma-separated key field paths. Empty: key.projection.list."))
        .define(ConfigKey::string(ID_PARTIAL_VALUE_TYPE).default("").importance(Importance::Low).group(g)
            .doc("PartialValueStrategy: AllowList or BlockList of value fields that form the _id. Empty: value.projection.type."))
        .define(ConfigKey::string(ID_PARTIAL_VALUE_LIST).default("").importance(Importance::Low).group(g)
            .doc("PartialValueStrategy: comma-separated value field paths. Empty: value.projection.list."))
        .define(ConfigKey::string(WRITE_MODEL).default("com.mongodb.kafka.connect.sink.writemodel.strategy.DefaultWriteModelStrategy").validator(Validator::Custom(check_write_model)).importance(Importance::Medium).group(g)
            .doc("How a record becomes a write: DefaultWriteModelStrategy (ReplaceOneDefaultStrategy; InsertOneDefaultStrategy for time series), ReplaceOneDefaultStrategy (replace by _id, upsert), ReplaceOneBusinessKeyStrategy, UpdateOneDefaultStrategy, UpdateOneTimestampsStrategy, UpdateOneBusinessKeyTimestampStrategy, InsertOneDefaultStrategy, DeleteOneDefaultStrategy, DeleteOneBusinessKeyStrategy, DeleteOneTombstoneBusinessKeyStrategy (short names or full class names)."))
        .define(ConfigKey::list(POST_PROCESSORS).default("com.mongodb.kafka.connect.sink.processor.DocumentIdAdder").validator(Validator::Custom(check_post_processors)).importance(Importance::Low).group(g)
            .doc("Post processors applied in order to each document: DocumentIdAdder (always first, added if missing), KafkaMetaAdder, BlockListKeyProjector, AllowListKeyProjector, BlockListValueProjector, AllowListValueProjector, RenameByMapping, RenameByRegExp, NullFieldValueRemover (short names or full class names)."))
        .define(ConfigKey::string(KEY_PROJECTION_TYPE).default("none").one_of(PROJECTION_TYPES).importance(Importance::Low).group(g)
            .doc("Projection of the key document for the key projectors and PartialKeyStrategy."))
        .define(ConfigKey::string(KEY_PROJECTION_LIST).default("").importance(Importance::Low).group(g)
            .doc("Comma-separated key field paths (dots for nested fields, * for any field at a level, ** for everything below)."))
        .define(ConfigKey::string(VALUE_PROJECTION_TYPE).default("none").one_of(PROJECTION_TYPES).importance(Importance::Low).group(g)
            .doc("Projection of the value document for the value projectors and PartialValueStrategy."))
        .define(ConfigKey::string(VALUE_PROJECTION_LIST).default("").importance(Importance::Low).group(g)
            .doc("Comma-separated value field paths (dots for nested fields, * for any field at a level, ** for everything below)."))
        .define(ConfigKey::string(RENAMER_MAPPING).default("[]").validator(Validator::Custom(check_mapping)).importance(Importance::Low).group(g)
            .doc("RenameByMapping: JSON array of {\"oldName\": \"value.a.b\", \"newName\": \"c\"} (oldName starts with key. or value.)."))
        .define(ConfigKey::string(RENAMER_REGEXP).default("[]").validator(Validator::Custom(check_regexp)).importance(Importance::Low).group(g)
            .doc("RenameByRegExp: JSON array of {\"regexp\": \"^value\\\\..*x.*$\", \"pattern\": \"x\", \"replace\": \"y\"}: in fields whose path matches regexp, replace pattern in the name."))
        .define(ConfigKey::string(MONGO_ERRORS_TOLERANCE).optional().one_of(&["none", "all"]).importance(Importance::Medium).group(g)
            .doc("What a write MongoDB rejects (duplicate key, invalid document) or a record that cannot become a document leads to: none fails the task; all reports it as errant (dead letter queue with errors.tolerance=all) and writes the rest. Unset: errors.tolerance."))
        .define(ConfigKey::string(NAMESPACE_MAPPER).default("com.mongodb.kafka.connect.sink.namespace.mapping.DefaultNamespaceMapper").validator(Validator::Custom(check_namespace_mapper)).importance(Importance::Low).group(g)
            .doc("Where a record is written: DefaultNamespaceMapper (database and collection, or the topic) or FieldPathNamespaceMapper (database and/or collection from a key or value field, read before the post processors; short names or full class names)."))
        .define(ConfigKey::string(NS_KEY_DATABASE).default("").importance(Importance::Low).group(g)
            .doc("FieldPathNamespaceMapper: the key field (dotted path) holding the database name. Not with namespace.mapper.value.database.field."))
        .define(ConfigKey::string(NS_KEY_COLLECTION).default("").importance(Importance::Low).group(g)
            .doc("FieldPathNamespaceMapper: the key field (dotted path) holding the collection name. Not with namespace.mapper.value.collection.field."))
        .define(ConfigKey::string(NS_VALUE_DATABASE).default("").importance(Importance::Low).group(g)
            .doc("FieldPathNamespaceMapper: the value field (dotted path) holding the database name."))
        .define(ConfigKey::string(NS_VALUE_COLLECTION).default("").importance(Importance::Low).group(g)
            .doc("FieldPathNamespaceMapper: the value field (dotted path) holding the collection name."))
        .define(ConfigKey::boolean(NS_ERROR_IF_INVALID).default("false").importance(Importance::Low).group(g)
            .doc("FieldPathNamespaceMapper: a missing field or one that is not a string is an errant record (task failure or dead letter queue, per mongo.errors.tolerance). false: the database / collection keys (or the topic) are used instead."))
        .define(ConfigKey::string(DELETE_WRITE_MODEL).default("com.mongodb.kafka.connect.sink.writemodel.strategy.DeleteOneDefaultStrategy").validator(Validator::Custom(check_write_model)).importance(Importance::Low).group(g)
            .doc("With delete.on.null.values, the write a tombstone becomes: DeleteOneDefaultStrategy (delete the _id the key-based id strategy makes) or DeleteOneTombstoneBusinessKeyStrategy (delete the document matching the PartialKeyStrategy business key); any write model strategy name is accepted."))
        .define(ConfigKey::string(CDC_HANDLER).default("").validator(Validator::Custom(check_cdc_handler)).importance(Importance::Low).group(g)
            .doc("Replays change events instead of writing documents: com.mongodb.kafka.connect.sink.cdc.debezium.mongodb.MongoDbHandler or .ChangeStreamHandler (Debezium MongoDB), ...cdc.debezium.rdbms.RdbmsHandler / .postgres.PostgresHandler / .mysql.MysqlHandler (Debezium relational), ...cdc.mongodb.ChangeStreamHandler (MongoDB change stream events). Empty: no handler."))
        .define(ConfigKey::boolean(CDC_REMOVE_NULLS).default("false").importance(Importance::Low).group(g)
            .doc("With a CDC handler: remove null fields from replacement documents and from an update's $set ($unset is kept); a write left empty is skipped."))
        .define(ConfigKey::string(TS_TIMEFIELD).default("").importance(Importance::Low).group(g)
            .doc("Writes to time series collections: the top-level field holding the time (a BSON date). Each namespace's collection is created as a time series collection before the first write if missing; an existing collection that is not one fails the task. DefaultWriteModelStrategy then inserts."))
        .define(ConfigKey::string(TS_METAFIELD).default("").importance(Importance::Low).group(g)
            .doc("Time series: the top-level field holding the metadata that labels a series (not the time field, not _id). Needs timeseries.timefield."))
        .define(ConfigKey::long(TS_EXPIRE).default("0").at_least(0.0).importance(Importance::Low).group(g)
            .doc("Time series: seconds after which MongoDB deletes the data (expireAfterSeconds); 0: never. Needs timeseries.timefield."))
        .define(ConfigKey::string(TS_GRANULARITY).default("").validator(Validator::Custom(check_granularity)).importance(Importance::Low).group(g)
            .doc("Time series: the expected interval between measurements: seconds, minutes or hours. Empty: the server's default. Needs timeseries.timefield."))
        .define(ConfigKey::boolean(TS_AUTO_CONVERT).default("false").importance(Importance::Low).group(g)
            .doc("Time series: convert the time field to a BSON date after the post processors: a number as epoch milliseconds (fractions dropped), a string with timeseries.timefield.auto.convert.date.format; a value that cannot be converted is left as it is."))
        .define(ConfigKey::string(TS_DATE_FORMAT).default(super::timeseries::DEFAULT_DATE_FORMAT).validator(Validator::Custom(check_date_format)).importance(Importance::Low).group(g)
            .doc("Time series: the Java DateTimeFormatter pattern of time strings (yyyy, MM, dd, HH, mm, ss, S..., X, 'literals', [optional] sections; no month or day names, no zone ids). Without an offset the time is UTC; a date alone is the start of the day."))
        .define(ConfigKey::string(TS_LOCALE).default("").importance(Importance::Low).group(g)
            .doc("Time series: the locale of the date format; accepted for compatibility, without effect (the supported pattern letters are numeric)."))
        // Keys of the official MongoDB sink that Sluice does not implement (yet).
        .accept_prefix(TOPIC_OVERRIDE_PREFIX)
        .not_supported_keys(UNSUPPORTED_MONGODB_KEYS, "a key of the official MongoDB sink connector that Sluice's mongodb-sink does not implement; records are written as if it were unset")
}

fn check_uri(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::String(s) | TypedValue::Password(s) => {
            mongodb::options::ConnectionString::parse(s)
                .map(|_| ())
                .map_err(|e| format!("invalid connection string: {}", e))
        }
        _ => Ok(()),
    }
}

fn check_mapping(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::String(s) => Renamer::parse(s, "[]").map(|_| ()).map_err(|e| e.1),
        _ => Ok(()),
    }
}

fn check_regexp(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::String(s) => Renamer::parse("[]", s).map(|_| ()).map_err(|e| e.1),
        _ => Ok(()),
    }
}

fn check_id_strategy(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::String(s) => IdStrategy::kind_of(s).map(|_| ()),
        _ => Ok(()),
    }
}

fn check_write_model(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::String(s) => WriteModel::parse(s).map(|_| ()),
        _ => Ok(()),
    }
}

fn check_namespace_mapper(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::String(s) => NamespaceMapper::is_field_path(s).map(|_| ()),
        _ => Ok(()),
    }
}

fn check_cdc_handler(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::String(s) => CdcHandler::parse(s).map(|_| ()),
        _ => Ok(()),
    }
}

fn check_granularity(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::String(s)
            if !s.trim().is_empty()
                && !["seconds", "minutes", "hours"]
                    .iter()
                    .any(|g| g.eq_ignore_ascii_case(s.trim())) =>
        {
            Err(format!(
                "unsupported granularity {:?}: must be seconds, minutes or hours (or empty)",
                s
            ))
        }
        _ => Ok(()),
    }
}

fn check_date_format(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::String(s) => DateFormat::parse(s).map(|_| ()),
        _ => Ok(()),
    }
}

fn check_post_processors(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::List(items) => {
            for i in items {
                PostProcessor::kind_of(i)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// How records that MongoDB rejects are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tolerance {
    None,
    All,
}

/// Settings shared by every topic: the connection and error handling.
#[derive(Debug, Clone)]
pub struct SinkSettings {
    pub uri: String,
    pub tolerance: Tolerance,
    /// Settings per topic, built on demand from the raw config.
    pub raw: RawConfig,
}

/// What applies to the records of one topic (after `topic.override.<topic>.*`).
#[derive(Debug, Clone)]
pub struct TopicSettings {
    pub database: String,
    /// `None`: the topic name.
    pub collection: Option<String>,
    pub max_batch_size: usize,
    pub ordered: bool,
    pub delete_on_null: bool,
    /// What a tombstone becomes with `delete_on_null`.
    pub delete_strategy: DeleteStrategy,
    pub id_strategy: IdStrategy,
    pub overwrite_existing_id: bool,
    pub write_model: WriteModel,
    pub post_processors: Vec<PostProcessor>,
    pub namespace_mapper: NamespaceMapper,
    /// With a handler, records are change events replayed by it.
    pub cdc_handler: Option<CdcHandler>,
    pub cdc_remove_nulls: bool,
    /// Collections are time series collections, created with these options.
    pub timeseries: Option<Arc<TimeseriesOptions>>,
}

impl SinkSettings {
    /// Parses the shared part of a config that already passed [`validate`].
    pub fn from_config(config: &ParsedConfig) -> Result<Self, Vec<ConfigIssue>> {
        let tolerance = config
            .string(MONGO_ERRORS_TOLERANCE)
            .or_else(|| config.raw().get("errors.tolerance").cloned())
            .unwrap_or_default();
        let issues = validate(config.raw());
        let uri = config.string(CONNECTION_URI).unwrap_or_default();
        if !issues.is_empty() {
            return Err(issues);
        }
        Ok(SinkSettings {
            uri,
            tolerance: if tolerance.trim().eq_ignore_ascii_case("all") {
                Tolerance::All
            } else {
                Tolerance::None
            },
            raw: config.raw().clone(),
        })
    }

    /// The settings of `topic`.
    pub fn topic(&self, topic: &str) -> Result<TopicSettings, Vec<ConfigIssue>> {
        topic_settings(&self.raw, Some(topic))
    }
}

/// Every problem of a config: the keys themselves, cross-key rules, and each
/// `topic.override.*` entry.
pub fn validate(raw: &RawConfig) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    if let Err(mut i) = topic_settings(raw, None) {
        issues.append(&mut i);
    }
    let mut topics = std::collections::BTreeSet::new();
    for key in raw.keys() {
        if let Some(rest) = key.strip_prefix(TOPIC_OVERRIDE_PREFIX) {
            match split_override(rest) {
                Some((topic, _)) => {
                    topics.insert(topic.to_string());
                }
                None => issues.push(ConfigIssue::new(
                    key.clone(),
                    format!(
                        "not a topic override: expected topic.override.<topic>.<key> with a key among {}",
                        OVERRIDABLE.join(", ")
                    ),
                )),
            }
        }
    }
    for t in topics {
        if let Err(found) = topic_settings(raw, Some(&t)) {
            for i in found {
                let key = format!("{}{}.{}", TOPIC_OVERRIDE_PREFIX, t, i.key);
                if !issues.iter().any(|x| x.message == i.message) || raw.contains_key(&key) {
                    issues.push(ConfigIssue::new(
                        if raw.contains_key(&key) { key } else { i.key },
                        i.message,
                    ));
                }
            }
        }
    }
    issues
}

/// `<topic>.<key>` -> (topic, key), matching the longest overridable key (topic names
/// may contain dots).
fn split_override(rest: &str) -> Option<(&str, &str)> {
    OVERRIDABLE
        .iter()
        .filter_map(|k| {
            rest.strip_suffix(k)
                .and_then(|t| t.strip_suffix('.'))
                .filter(|t| !t.is_empty())
                .map(|t| (t, *k))
        })
        .max_by_key(|(_, k)| k.len())
}

/// The raw config as it applies to `topic`: the overrides laid over the base keys.
fn effective_raw(raw: &RawConfig, topic: Option<&str>) -> RawConfig {
    let mut out = raw.clone();
    if let Some(topic) = topic {
        let prefix = format!("{}{}.", TOPIC_OVERRIDE_PREFIX, topic);
        for (k, v) in raw {
            if let Some(key) = k.strip_prefix(&prefix) {
                if OVERRIDABLE.contains(&key) {
                    out.insert(key.to_string(), v.clone());
                }
            }
        }
    }
    out
}

fn topic_settings(raw: &RawConfig, topic: Option<&str>) -> Result<TopicSettings, Vec<ConfigIssue>> {
    let raw = effective_raw(raw, topic);
    let (p, mut issues) = sink_config_def().parse_lenient(&raw);
    let mut issue = |k: &str, m: String| issues.push(ConfigIssue::new(k, m));
    let cdc_handler = CdcHandler::parse(&p.str(CDC_HANDLER)).ok().flatten();
    let namespace_mapper = namespace_mapper(&p, &mut issue);
    let timeseries = timeseries(&p, &mut issue);
    let key_projection = projection(&p, KEY_PROJECTION_TYPE, KEY_PROJECTION_LIST);
    let value_projection = projection(&p, VALUE_PROJECTION_TYPE, VALUE_PROJECTION_LIST);
    let partial = |t: &str, l: &str, fallback: &Option<Projection>| -> Option<Projection> {
        if p.str(t).trim().is_empty() {
            fallback.clone()
        } else {
            projection(&p, t, l)
        }
    };
    let partial_key = partial(ID_PARTIAL_KEY_TYPE, ID_PARTIAL_KEY_LIST, &key_projection);
    let partial_value = partial(
        ID_PARTIAL_VALUE_TYPE,
        ID_PARTIAL_VALUE_LIST,
        &value_projection,
    );
    for k in [ID_PARTIAL_KEY_TYPE, ID_PARTIAL_VALUE_TYPE] {
        let v = p.str(k);
        if !v.trim().is_empty()
            && !PROJECTION_TYPES
                .iter()
                .any(|t| t.eq_ignore_ascii_case(v.trim()))
        {
            issue(
                k,
                format!("String must be one of: {}", PROJECTION_TYPES.join(", ")),
            );
        }
    }
    let id_strategy = match IdStrategy::parse(
        &p.str(ID_STRATEGY),
        &p.str(ID_UUID_FORMAT),
        partial_key,
        partial_value,
    ) {
        Ok(s) => Some(s),
        Err(e) => {
            issue(ID_STRATEGY, e);
            None
        }
    };
    let write_model = match WriteModel::parse(&p.str(WRITE_MODEL)) {
        Ok(w) => Some(w),
        Err(e) => {
            issue(WRITE_MODEL, e);
            None
        }
    };
    let renamers = match Renamer::parse(&p.str(RENAMER_MAPPING), &p.str(RENAMER_REGEXP)) {
        Ok(r) => r,
        Err((k, e)) => {
            issue(if k { RENAMER_MAPPING } else { RENAMER_REGEXP }, e);
            Default::default()
        }
    };
    let mut post_processors = match PostProcessor::chain(
        &p.list(POST_PROCESSORS),
        key_projection.clone(),
        value_projection.clone(),
        renamers,
    ) {
        Ok(c) => c,
        Err(e) => {
            issue(POST_PROCESSORS, e);
            Vec::new()
        }
    };
    if let Some(ts) = &timeseries {
        if p.boolean(TS_AUTO_CONVERT) {
            if let Ok(f) = DateFormat::parse(&p.str(TS_DATE_FORMAT)) {
                post_processors.push(PostProcessor::TimeFieldAutoConversion(Arc::new(
                    TimeFieldConverter::new(&ts.time_field, f),
                )));
            }
        }
    }
    // DefaultWriteModelStrategy inserts into time series collections.
    let write_model = match write_model {
        Some(WriteModel::ReplaceOneDefault)
            if timeseries.is_some() && WriteModel::is_default_name(&p.str(WRITE_MODEL)) =>
        {
            Some(WriteModel::InsertOne)
        }
        other => other,
    };
    let delete_on_null = p.boolean(DELETE_ON_NULL_VALUES);
    let delete_strategy = match WriteModel::parse(&p.str(DELETE_WRITE_MODEL)) {
        Ok(WriteModel::DeleteOneDefault) | Err(_) => DeleteStrategy::ById,
        Ok(m) => DeleteStrategy::Model(m),
    };
    if let (Some(id), Some(wm)) = (&id_strategy, &write_model) {
        if delete_on_null && delete_strategy == DeleteStrategy::ById && !id.is_key_based() {
            issue(
                DELETE_ON_NULL_VALUES,
                format!(
                    "DeleteOneDefaultStrategy (delete.writemodel.strategy) can only be applied when the id strategy is based on the key (FullKeyStrategy, PartialKeyStrategy, ProvidedInKeyStrategy), not {}",
                    id.name()
                ),
            );
        }
        let tombstone_bk = |m: &WriteModel| *m == WriteModel::DeleteOneTombstoneBusinessKey;
        if !matches!(id, IdStrategy::PartialKey(_)) {
            if tombstone_bk(wm) {
                issue(
                    WRITE_MODEL,
                    format!(
                        "DeleteOneTombstoneBusinessKeyStrategy expects PartialKeyStrategy, not {}",
                        id.name()
                    ),
                );
            }
            if delete_on_null
                && matches!(delete_strategy, DeleteStrategy::Model(m) if tombstone_bk(&m))
            {
                issue(
                    DELETE_WRITE_MODEL,
                    format!(
                        "DeleteOneTombstoneBusinessKeyStrategy expects PartialKeyStrategy, not {}",
                        id.name()
                    ),
                );
            }
        }
        if wm.needs_business_key() && !id.is_partial() {
            issue(
                WRITE_MODEL,
                format!(
                    "{} needs document.id.strategy PartialValueStrategy or PartialKeyStrategy, not {}",
                    wm.name(),
                    id.name()
                ),
            );
        }
        if let Err(e) = id.check_projection() {
            issue(ID_STRATEGY, e);
        }
    }
    if !issues.is_empty() {
        return Err(issues);
    }
    Ok(TopicSettings {
        database: p.string(DATABASE).unwrap_or_default().trim().to_string(),
        collection: p
            .string(COLLECTION)
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty()),
        max_batch_size: p.int(MAX_BATCH_SIZE).max(0) as usize,
        ordered: p.boolean(BULK_WRITE_ORDERED),
        delete_on_null,
        id_strategy: id_strategy.expect("checked"),
        overwrite_existing_id: p.boolean(ID_OVERWRITE),
        write_model: write_model.expect("checked"),
        post_processors,
        delete_strategy,
        namespace_mapper,
        cdc_handler,
        cdc_remove_nulls: p.boolean(CDC_REMOVE_NULLS),
        timeseries,
    })
}

/// The namespace mapper, with FieldPathNamespaceMapper's rules: at least one field,
/// not both the key's and the value's for the database or the collection.
fn namespace_mapper(p: &ParsedConfig, issue: &mut impl FnMut(&str, String)) -> NamespaceMapper {
    if !NamespaceMapper::is_field_path(&p.str(NAMESPACE_MAPPER)).unwrap_or(false) {
        return NamespaceMapper::Default;
    }
    let field = |k: &str| Some(p.str(k).trim().to_string()).filter(|f| !f.is_empty());
    let (kd, kc) = (field(NS_KEY_DATABASE), field(NS_KEY_COLLECTION));
    let (vd, vc) = (field(NS_VALUE_DATABASE), field(NS_VALUE_COLLECTION));
    if kd.is_none() && kc.is_none() && vd.is_none() && vc.is_none() {
        issue(
            NAMESPACE_MAPPER,
            format!("FieldPathNamespaceMapper needs the database and / or collection field path: set {}, {}, {} or {}", NS_KEY_DATABASE, NS_VALUE_DATABASE, NS_KEY_COLLECTION, NS_VALUE_COLLECTION),
        );
    }
    if kd.is_some() && vd.is_some() {
        issue(
            NS_KEY_DATABASE,
            format!(
                "Cannot set both: '{}' and '{}'",
                NS_KEY_DATABASE, NS_VALUE_DATABASE
            ),
        );
    }
    if kc.is_some() && vc.is_some() {
        issue(
            NS_KEY_COLLECTION,
            format!(
                "Cannot set both: '{}' and '{}'",
                NS_KEY_COLLECTION, NS_VALUE_COLLECTION
            ),
        );
    }
    let pick = |k: Option<String>, v: Option<String>| {
        k.map(FieldSource::Key).or(v.map(FieldSource::Value))
    };
    NamespaceMapper::FieldPath {
        database: pick(kd, vd),
        collection: pick(kc, vc),
        error_if_invalid: p.boolean(NS_ERROR_IF_INVALID),
    }
}

/// The time series options; the other `timeseries.*` keys need the time field.
fn timeseries(
    p: &ParsedConfig,
    issue: &mut impl FnMut(&str, String),
) -> Option<Arc<TimeseriesOptions>> {
    let time_field = p.str(TS_TIMEFIELD).trim().to_string();
    let meta_field = Some(p.str(TS_METAFIELD).trim().to_string()).filter(|m| !m.is_empty());
    let granularity =
        Some(p.str(TS_GRANULARITY).trim().to_ascii_lowercase()).filter(|g| !g.is_empty());
    let expire = p.long(TS_EXPIRE);
    if time_field.is_empty() {
        let missing = || format!("Missing timeseries configuration: `{}`", TS_TIMEFIELD);
        if meta_field.is_some() {
            issue(TS_METAFIELD, missing());
        }
        if expire != 0 {
            issue(TS_EXPIRE, missing());
        }
        if granularity.is_some() {
            issue(TS_GRANULARITY, missing());
        }
        return None;
    }
    if meta_field.as_deref() == Some(time_field.as_str()) || meta_field.as_deref() == Some("_id") {
        issue(
            TS_METAFIELD,
            "the meta field may not be the time field or _id".into(),
        );
    }
    Some(Arc::new(TimeseriesOptions {
        time_field,
        meta_field,
        granularity,
        expire_after_seconds: expire.max(0),
    }))
}

fn projection(p: &ParsedConfig, type_key: &str, list_key: &str) -> Option<Projection> {
    let kind = ProjectionType::parse(&p.str(type_key))?;
    Some(Projection::new(kind, &p.str(list_key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawConfig {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn overrides_split_on_the_longest_known_key() {
        assert_eq!(
            split_override("my.topic.collection"),
            Some(("my.topic", "collection"))
        );
        assert_eq!(
            split_override("t.document.id.strategy"),
            Some(("t", "document.id.strategy"))
        );
        assert_eq!(split_override("t.connection.uri"), None);
    }

    #[test]
    fn every_problem_is_listed() {
        let issues = validate(&raw(&[
            ("document.id.strategy", "NoSuchStrategy"),
            ("writemodel.strategy", "ReplaceOneBusinessKeyStrategy"),
            ("post.processor.chain", "Nope"),
            ("field.renamer.mapping", "not json"),
            ("topic.override.t1.bulk.write.ordered", "maybe"),
            ("topic.override.t1.nonsense", "x"),
        ]));
        let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
        for k in [
            "database",
            "document.id.strategy",
            "post.processor.chain",
            "field.renamer.mapping",
            "topic.override.t1.bulk.write.ordered",
            "topic.override.t1.nonsense",
        ] {
            assert!(keys.contains(&k), "{} missing from {:?}", k, issues);
        }
    }

    #[test]
    fn full_class_names_and_short_names_are_accepted() {
        let s = topic_settings(
            &raw(&[
                ("database", "d"),
                (
                    "document.id.strategy",
                    "com.mongodb.kafka.connect.sink.processor.id.strategy.ProvidedInKeyStrategy",
                ),
                ("writemodel.strategy", "InsertOneDefaultStrategy"),
                ("delete.on.null.values", "true"),
                ("topic.override.a.b.collection", "other"),
            ]),
            Some("a.b"),
        )
        .unwrap();
        assert_eq!(s.collection.as_deref(), Some("other"));
        assert_eq!(s.id_strategy.name(), "ProvidedInKeyStrategy");
        assert!(s.delete_on_null);
    }

    #[test]
    fn delete_on_null_needs_a_key_based_id() {
        let e = topic_settings(
            &raw(&[("database", "d"), ("delete.on.null.values", "true")]),
            None,
        )
        .unwrap_err();
        assert_eq!(e[0].key, "delete.on.null.values");
    }
}
