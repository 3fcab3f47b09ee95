//! Helpers shared by the transforms: which side of the record a transform works on,
//! the schema-update cache, Connect's "requirement" errors, schemaless map access and
//! Java-compatible number formatting.

use std::sync::Arc;

use crate::config::{ConfigErrors, ConfigIssue, ConfigKey};
use crate::data::{Field, Record, Schema, SchemaAndValue, SchemaBuilder, SchemaRef, Value};

/// The part of a record a `$Key` / `$Value` transform operates on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Key,
    Value,
}

impl Side {
    pub(crate) fn get(self, record: &Record) -> &SchemaAndValue {
        match self {
            Side::Key => &record.key,
            Side::Value => &record.value,
        }
    }
    pub(crate) fn get_mut(self, record: &mut Record) -> &mut SchemaAndValue {
        match self {
            Side::Key => &mut record.key,
            Side::Value => &mut record.value,
        }
    }
    /// Takes the key or value out of the record, leaving null.
    pub(crate) fn take(self, record: &mut Record) -> SchemaAndValue {
        std::mem::take(self.get_mut(record))
    }
    pub(crate) fn put(self, record: &mut Record, data: SchemaAndValue) {
        *self.get_mut(record) = data;
    }
    pub(crate) fn name(self) -> &'static str {
        match self {
            Side::Key => "key",
            Side::Value => "value",
        }
    }
}

/// Derived schemas (or per-schema plans), keyed by the input schema. Lookups compare
/// pointers first (the common case: converters share one `SchemaRef` between records),
/// then equality. Holds at most `CAPACITY` entries (Connect uses an LRU cache of 16).
pub(crate) struct SchemaCache<V: Clone = SchemaRef> {
    entries: Vec<(SchemaRef, V)>,
}

impl<V: Clone> Default for SchemaCache<V> {
    fn default() -> Self {
        SchemaCache {
            entries: Vec::new(),
        }
    }
}

const CAPACITY: usize = 16;

impl<V: Clone> SchemaCache<V> {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn get(&self, key: &SchemaRef) -> Option<&V> {
        if let Some((_, v)) = self.entries.iter().find(|(k, _)| Arc::ptr_eq(k, key)) {
            return Some(v);
        }
        self.entries
            .iter()
            .find(|(k, _)| **k == **key)
            .map(|(_, v)| v)
    }

    /// The cached value derived from `key`, building (and caching) it on a miss.
    /// Inlined for the case of every record of a stream: the same schema as the first
    /// one cached. Other schemas are looked up apart.
    #[inline]
    pub(crate) fn get_or_build(
        &mut self,
        key: &SchemaRef,
        build: impl FnOnce(&Schema) -> Result<V, String>,
    ) -> Result<V, String> {
        match self.entries.first() {
            Some((k, v)) if Arc::ptr_eq(k, key) => Ok(v.clone()),
            _ => self.lookup_or_build(key, build),
        }
    }

    #[inline(never)]
    fn lookup_or_build(
        &mut self,
        key: &SchemaRef,
        build: impl FnOnce(&Schema) -> Result<V, String>,
    ) -> Result<V, String> {
        if let Some(v) = self.get(key) {
            return Ok(v.clone());
        }
        let built = build(key)?;
        if self.entries.len() >= CAPACITY {
            self.entries.remove(0);
        }
        self.entries.push((key.clone(), built.clone()));
        Ok(built)
    }
}

/// A set of configured names. Config lists are short, so a linear scan (which compares
/// lengths first) beats hashing; long lists use a hash set.
pub(crate) enum NameSet {
    Small(Vec<String>),
    Large(std::collections::HashSet<String>),
}

impl NameSet {
    pub(crate) fn new(names: impl IntoIterator<Item = String>) -> Self {
        let v: Vec<String> = names.into_iter().collect();
        if v.len() > 16 {
            NameSet::Large(v.into_iter().collect())
        } else {
            NameSet::Small(v)
        }
    }
    pub(crate) fn contains(&self, name: &str) -> bool {
        match self {
            NameSet::Small(v) => v.iter().any(|n| n == name),
            NameSet::Large(s) => s.contains(name),
        }
    }
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            NameSet::Small(v) => v.is_empty(),
            NameSet::Large(s) => s.is_empty(),
        }
    }
}

/// Connect's `SchemaUtil.copySchemaBasics` into a struct builder: name, version, doc
/// and parameters (not optionality nor default).
pub(crate) fn struct_builder_like(schema: &Schema) -> SchemaBuilder {
    copy_basics(schema, SchemaBuilder::struct_())
}

/// Copies name, version, doc and parameters of `from` into `builder`.
pub(crate) fn copy_basics(from: &Schema, builder: SchemaBuilder) -> SchemaBuilder {
    let mut b = builder
        .maybe_name(from.name.clone())
        .maybe_version(from.version);
    if let Some(doc) = &from.doc {
        b = b.doc(doc.clone());
    }
    for (k, v) in &from.parameters {
        b = b.parameter(k.clone(), v.clone());
    }
    b
}

/// A field's value as Connect's `Struct.get` returns it: a null replaced by the field
/// schema's default when `replace_null_with_default` is set.
pub(crate) fn with_default(field: &Field, value: Value, replace_null_with_default: bool) -> Value {
    if replace_null_with_default && value.is_null() {
        if let Some(d) = &field.schema.default {
            return d.clone();
        }
    }
    value
}

/// Whether any field of a struct schema has a default: if none has, the
/// null-with-default pass over a struct's values can be skipped.
pub(crate) fn any_field_default(schema: &Schema) -> bool {
    schema.fields.iter().any(|f| f.schema.default.is_some())
}

/// [`with_default`] on a value in place.
pub(crate) fn with_default_in_place(
    field: &Field,
    value: &mut Value,
    replace_null_with_default: bool,
) {
    if replace_null_with_default && value.is_null() {
        if let Some(d) = &field.schema.default {
            *value = d.clone();
        }
    }
}

/// Connect's `Requirements.requireMap`: the schemaless value must be a map.
pub(crate) fn require_map<'a>(
    transform: &str,
    purpose: &str,
    value: &'a mut Value,
) -> Result<&'a mut Vec<(Value, Value)>, String> {
    match value {
        Value::Map(entries) => Ok(entries),
        other => Err(format!(
            "{}: only Map objects supported in absence of schema for [{}], found: {}",
            transform,
            purpose,
            other.kind_name()
        )),
    }
}

/// Connect's `Requirements.requireStruct`.
pub(crate) fn require_struct_err(transform: &str, purpose: &str, value: &Value) -> String {
    format!(
        "{}: only Struct objects supported for [{}], found: {}",
        transform,
        purpose,
        value.kind_name()
    )
}

/// The value of a string key of a schemaless map.
pub(crate) fn map_get<'a>(entries: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    entries
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// Sets a string key of a schemaless map (replacing an existing entry, like `Map.put`).
pub(crate) fn map_put(entries: &mut Vec<(Value, Value)>, key: &str, value: Value) {
    match entries.iter_mut().find(|(k, _)| k.as_str() == Some(key)) {
        Some((_, v)) => *v = value,
        None => entries.push((Value::String(key.to_string()), value)),
    }
}

/// Removes a string key from a schemaless map, returning its value.
pub(crate) fn map_remove(entries: &mut Vec<(Value, Value)>, key: &str) -> Option<Value> {
    let i = entries.iter().position(|(k, _)| k.as_str() == Some(key))?;
    Some(entries.remove(i).1)
}

/// One config issue as a `ConfigErrors`.
pub(crate) fn config_error(key: &str, message: impl Into<String>) -> ConfigErrors {
    ConfigErrors(vec![ConfigIssue::new(key, message)])
}

/// Connect's `replace.null.with.default` key.
pub(crate) fn replace_null_with_default_key() -> ConfigKey {
    ConfigKey::boolean("replace.null.with.default")
        .default("true")
        .doc("Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.")
}

/// A list key that must have at least one element (Connect's `NonEmptyListValidator`).
pub(crate) fn non_empty_list(v: &crate::config::TypedValue) -> Result<(), String> {
    match v {
        crate::config::TypedValue::List(l) if l.is_empty() => Err("Empty list".into()),
        _ => Ok(()),
    }
}

/// Compiles a regex that must match a whole string, like Java's `Matcher.matches()`.
pub(crate) fn compile_whole(regex: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(&format!("^(?:{})$", regex)).map_err(|e| format!("Invalid regex: {}", e))
}

/// `Double.toString` / `Float.toString`: plain decimal between 10^-3 and 10^7, else
/// computerized scientific notation (`1.0E10`), always with a fraction digit.
pub(crate) fn java_double_to_string(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let a = d.abs();
    if (1e-3..1e7).contains(&a) {
        let s = format!("{}", d);
        if s.contains('.') {
            s
        } else {
            format!("{}.0", s)
        }
    } else {
        sci(format!("{:e}", d))
    }
}

pub(crate) fn java_float_to_string(f: f32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let a = f.abs();
    if (1e-3..1e7).contains(&a) {
        let s = format!("{}", f);
        if s.contains('.') {
            s
        } else {
            format!("{}.0", s)
        }
    } else {
        sci(format!("{:e}", f))
    }
}

/// Rust's `1.5e10` to Java's `1.5E10` (mantissa always has a fraction digit).
fn sci(rust: String) -> String {
    let (m, e) = rust.split_once('e').unwrap_or((&rust, "0"));
    let m = if m.contains('.') {
        m.to_string()
    } else {
        format!("{}.0", m)
    };
    format!("{}E{}", m, e)
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the transforms' unit tests.
    use super::super::{find_predicate, find_transform, Predicate, Transform};
    use crate::config::{ConfigErrors, RawConfig};
    use crate::data::{primitive, Record, SchemaAndValue, SchemaRef, SchemaType, Struct, Value};

    pub fn raw(pairs: &[(&str, &str)]) -> RawConfig {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Builds a transform by class name from plugin-level keys.
    pub fn try_transform(
        class: &str,
        pairs: &[(&str, &str)],
    ) -> Result<Box<dyn Transform>, ConfigErrors> {
        let plugin = find_transform(class).unwrap_or_else(|| panic!("no transform {}", class));
        let parsed = (plugin.config_def)()
            .parse(&raw(pairs))
            .map_err(ConfigErrors)?;
        (plugin.create)(&parsed)
    }

    pub fn transform(class: &str, pairs: &[(&str, &str)]) -> Box<dyn Transform> {
        try_transform(class, pairs).unwrap_or_else(|e| panic!("{}", e))
    }

    pub fn try_predicate(
        class: &str,
        pairs: &[(&str, &str)],
    ) -> Result<Box<dyn Predicate>, ConfigErrors> {
        let plugin = find_predicate(class).unwrap_or_else(|| panic!("no predicate {}", class));
        let parsed = (plugin.config_def)()
            .parse(&raw(pairs))
            .map_err(ConfigErrors)?;
        (plugin.create)(&parsed)
    }

    /// A schemaless map value with string keys.
    pub fn smap(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::String(k.to_string()), v))
                .collect(),
        )
    }

    pub fn st(schema: &SchemaRef, values: Vec<Value>) -> Struct {
        Struct::from_values(schema.clone(), values).unwrap()
    }

    pub fn value_record(value: SchemaAndValue) -> Record {
        Record::new("test", value)
            .with_timestamp(Some(1_700_000_000_123))
            .with_key(SchemaAndValue::NULL)
    }

    pub fn s(kind: SchemaType) -> SchemaRef {
        primitive(kind, false)
    }
    pub fn os(kind: SchemaType) -> SchemaRef {
        primitive(kind, true)
    }

    pub fn apply(t: &mut Box<dyn Transform>, r: Record) -> Record {
        try_apply(t, r)
            .expect("transform failed")
            .expect("record dropped")
    }

    /// The record after `t`, `None` if dropped, or the transform's error.
    pub fn try_apply(t: &mut Box<dyn Transform>, mut r: Record) -> Result<Option<Record>, String> {
        match t.apply(&mut r)? {
            super::super::Fate::Keep => Ok(Some(r)),
            super::super::Fate::Drop => Ok(None),
        }
    }

    pub fn get<'a>(v: &'a Value, key: &str) -> &'a Value {
        match v {
            Value::Map(_) => v
                .map_get(key)
                .unwrap_or_else(|| panic!("no key {} in {:?}", key, v)),
            Value::Struct(s) => s
                .get(key)
                .unwrap_or_else(|| panic!("no field {} in {:?}", key, v)),
            _ => panic!("not a map or struct: {:?}", v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_number_strings() {
        assert_eq!(java_double_to_string(1.0), "1.0");
        assert_eq!(java_double_to_string(1.5), "1.5");
        assert_eq!(java_double_to_string(1e7), "1.0E7");
        assert_eq!(java_double_to_string(1.25e-4), "1.25E-4");
        assert_eq!(java_double_to_string(-123.456), "-123.456");
        assert_eq!(java_float_to_string(42.0), "42.0");
        assert_eq!(java_float_to_string(3.0e10), "3.0E10");
    }

    #[test]
    fn cache_hits_by_pointer_and_equality() {
        let a = SchemaBuilder::struct_()
            .field("x", crate::data::schemas::INT32.clone())
            .build();
        let b = SchemaBuilder::struct_()
            .field("x", crate::data::schemas::INT32.clone())
            .build();
        let mut c = SchemaCache::new();
        let mut builds = 0;
        for s in [&a, &a, &b] {
            c.get_or_build(s, |_| {
                builds += 1;
                Ok(SchemaBuilder::struct_().build())
            })
            .unwrap();
        }
        assert_eq!(builds, 1);
    }
}
