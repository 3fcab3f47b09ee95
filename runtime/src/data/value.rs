//! Connect values: the runtime representation of keys, values and headers.

use bytes::Bytes;

use super::{Field, Schema, SchemaRef, SchemaType};

/// A Connect value. Logical types keep their physical form (Decimal = big-endian
/// two's-complement unscaled bytes, Date = days, Time = ms of day, Timestamp = epoch ms);
/// the schema says how to read them.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    String(String),
    /// Bytes are reference counted: passing them along never copies the payload.
    Bytes(Bytes),
    Array(Vec<Value>),
    /// Map entries in insertion order. Schemaless JSON objects become maps with string keys.
    Map(Vec<(Value, Value)>),
    Struct(Struct),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The schema type this value would have, if it is not null.
    pub fn inferred_type(&self) -> Option<SchemaType> {
        Some(match self {
            Value::Null => return None,
            Value::Boolean(_) => SchemaType::Boolean,
            Value::Int8(_) => SchemaType::Int8,
            Value::Int16(_) => SchemaType::Int16,
            Value::Int32(_) => SchemaType::Int32,
            Value::Int64(_) => SchemaType::Int64,
            Value::Float32(_) => SchemaType::Float32,
            Value::Float64(_) => SchemaType::Float64,
            Value::String(_) => SchemaType::String,
            Value::Bytes(_) => SchemaType::Bytes,
            Value::Array(_) => SchemaType::Array,
            Value::Map(_) => SchemaType::Map,
            Value::Struct(_) => SchemaType::Struct,
        })
    }

    /// A short name of the value's kind for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self.inferred_type() {
            None => "null",
            Some(t) => t.name(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Integer value of any integer variant.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int8(v) => Some(*v as i64),
            Value::Int16(v) => Some(*v as i64),
            Value::Int32(v) => Some(*v as i64),
            Value::Int64(v) => Some(*v),
            _ => None,
        }
    }

    /// Looks up a string key in a map value.
    pub fn map_get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int32(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int64(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float64(v)
    }
}
impl From<Struct> for Value {
    fn from(v: Struct) -> Self {
        Value::Struct(v)
    }
}

/// A struct value: a schema and one value per field, in field order.
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    schema: SchemaRef,
    values: Vec<Value>,
}

impl Struct {
    /// An empty struct (every field null) of `schema`, which must be a struct schema.
    pub fn new(schema: SchemaRef) -> Self {
        let values = vec![Value::Null; schema.fields.len()];
        Struct { schema, values }
    }

    /// Builds a struct from values given in field order. (Inlined, with the error
    /// apart: transforms build a struct per record.)
    #[inline]
    pub fn from_values(schema: SchemaRef, values: Vec<Value>) -> Result<Self, String> {
        if values.len() != schema.fields.len() {
            return Err(Self::wrong_count(&schema, values.len()));
        }
        Ok(Struct { schema, values })
    }

    /// Changes the struct in place to `schema`: `edit` gets the current schema and
    /// turns the values into the new schema's, in field order. On an error (from
    /// `edit`, or a value count that does not match `schema`) the schema is unchanged
    /// and the values are as `edit` left them: the caller fails the record.
    #[inline]
    pub fn reshape(
        &mut self,
        schema: SchemaRef,
        edit: impl FnOnce(&Schema, &mut Vec<Value>) -> Result<(), String>,
    ) -> Result<(), String> {
        edit(&self.schema, &mut self.values)?;
        if self.values.len() != schema.fields.len() {
            return Err(Self::wrong_count(&schema, self.values.len()));
        }
        self.schema = schema;
        Ok(())
    }

    #[cold]
    fn wrong_count(schema: &Schema, given: usize) -> String {
        format!(
            "struct {} has {} fields but {} values were given",
            schema.describe(),
            schema.fields.len(),
            given
        )
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    pub fn values(&self) -> &[Value] {
        &self.values
    }

    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// The schema and the values, without cloning either.
    pub fn into_parts(self) -> (SchemaRef, Vec<Value>) {
        (self.schema, self.values)
    }

    /// Fields paired with their values.
    pub fn iter(&self) -> impl Iterator<Item = (&Field, &Value)> {
        self.schema.fields.iter().zip(self.values.iter())
    }

    /// The value of a field, `None` if the schema has no such field.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.schema.field(name).map(|f| &self.values[f.index])
    }

    /// Sets a field, checking the value against the field's schema.
    pub fn put(&mut self, name: &str, value: Value) -> Result<&mut Self, String> {
        let field = self
            .schema
            .field(name)
            .ok_or_else(|| format!("{} is not a valid field name", name))?;
        validate_value(&field.schema, &value).map_err(|e| format!("field {}: {}", name, e))?;
        self.values[field.index] = value;
        Ok(self)
    }

    /// Checks that every required field has a value of the right type.
    pub fn validate(&self) -> Result<(), String> {
        for (field, value) in self.iter() {
            validate_value(&field.schema, value)
                .map_err(|e| format!("field {}: {}", field.name, e))?;
        }
        Ok(())
    }
}

/// A struct schema's description for a mismatch: its name, whether it is
/// optional, its version and field names (two schemas that print alike
/// otherwise differ in something not shown).
fn describe_struct(s: &Schema) -> String {
    let names: Vec<&str> = s.fields.iter().map(|f| f.name.as_str()).collect();
    format!(
        "{}{}{} [{}]",
        if s.optional { "optional " } else { "required " },
        s.describe(),
        s.version.map(|v| format!(" v{}", v)).unwrap_or_default(),
        names.join(", ")
    )
}

/// Checks that `value` fits `schema`, as Connect's `ConnectSchema.validateValue` does.
#[allow(clippy::collapsible_match)]
pub fn validate_value(schema: &Schema, value: &Value) -> Result<(), String> {
    if value.is_null() {
        if schema.optional || schema.default.is_some() {
            return Ok(());
        }
        return Err(format!(
            "null value for a required {} schema",
            schema.describe()
        ));
    }
    let ok = matches!(
        (schema.kind, value),
        (SchemaType::Int8, Value::Int8(_))
            | (SchemaType::Int16, Value::Int16(_))
            | (SchemaType::Int32, Value::Int32(_))
            | (SchemaType::Int64, Value::Int64(_))
            | (SchemaType::Float32, Value::Float32(_))
            | (SchemaType::Float64, Value::Float64(_))
            | (SchemaType::Boolean, Value::Boolean(_))
            | (SchemaType::String, Value::String(_))
            | (SchemaType::Bytes, Value::Bytes(_))
            | (SchemaType::Array, Value::Array(_))
            | (SchemaType::Map, Value::Map(_))
            | (SchemaType::Struct, Value::Struct(_))
    );
    if !ok {
        return Err(format!(
            "a {} value does not match a {} schema",
            value.kind_name(),
            schema.describe()
        ));
    }
    match value {
        Value::Array(items) => {
            if let Some(item_schema) = &schema.value_schema {
                for item in items {
                    validate_value(item_schema, item)?;
                }
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries {
                if let Some(ks) = &schema.key_schema {
                    validate_value(ks, k)?;
                }
                if let Some(vs) = &schema.value_schema {
                    validate_value(vs, v)?;
                }
            }
        }
        Value::Struct(s) => {
            if s.schema().as_ref() != schema {
                return Err(format!(
                    "struct schema {} does not match {}",
                    describe_struct(s.schema()),
                    describe_struct(schema)
                ));
            }
        }
        _ => {}
    }
    Ok(())
}
