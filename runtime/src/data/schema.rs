//! Connect's schema model: the type system that `JsonConverter` envelopes describe.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, LazyLock};

use super::Value;

/// Shared, immutable schema handle. Schemas are built once and shared by many records.
pub type SchemaRef = Arc<Schema>;

/// The physical types of Kafka Connect's type system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaType {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Array,
    Map,
    Struct,
}

impl SchemaType {
    /// The lower-case name Connect uses in JSON schemas (`int32`, `struct`, ...).
    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "int8",
            SchemaType::Int16 => "int16",
            SchemaType::Int32 => "int32",
            SchemaType::Int64 => "int64",
            SchemaType::Float32 => "float",
            SchemaType::Float64 => "double",
            SchemaType::Boolean => "boolean",
            SchemaType::String => "string",
            SchemaType::Bytes => "bytes",
            SchemaType::Array => "array",
            SchemaType::Map => "map",
            SchemaType::Struct => "struct",
        }
    }

    /// Parses a Connect type name; accepts the names `JsonConverter` writes.
    pub fn from_name(name: &str) -> Option<SchemaType> {
        Some(match name.to_ascii_lowercase().as_str() {
            "int8" => SchemaType::Int8,
            "int16" => SchemaType::Int16,
            "int32" => SchemaType::Int32,
            "int64" => SchemaType::Int64,
            "float" | "float32" => SchemaType::Float32,
            "double" | "float64" => SchemaType::Float64,
            "boolean" => SchemaType::Boolean,
            "string" => SchemaType::String,
            "bytes" => SchemaType::Bytes,
            "array" => SchemaType::Array,
            "map" => SchemaType::Map,
            "struct" => SchemaType::Struct,
            _ => return None,
        })
    }

    /// True for every type but array, map and struct.
    pub fn is_primitive(self) -> bool {
        !matches!(
            self,
            SchemaType::Array | SchemaType::Map | SchemaType::Struct
        )
    }
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One field of a struct schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub index: usize,
    pub schema: SchemaRef,
}

/// A Connect schema: a type plus optionality, name, version, doc, parameters, default
/// and, for complex types, the schemas of their parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub kind: SchemaType,
    pub optional: bool,
    pub default: Option<Value>,
    pub name: Option<String>,
    pub version: Option<i32>,
    pub doc: Option<String>,
    pub parameters: BTreeMap<String, String>,
    /// Struct fields, in order.
    pub fields: Vec<Field>,
    /// Map key schema.
    pub key_schema: Option<SchemaRef>,
    /// Map value schema or array item schema.
    pub value_schema: Option<SchemaRef>,
}

impl Schema {
    /// A fresh builder for `kind`.
    pub fn builder(kind: SchemaType) -> SchemaBuilder {
        SchemaBuilder::new(kind)
    }

    /// Finds a struct field by name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The logical type name, if the schema's name is one of Connect's logical types.
    pub fn logical(&self) -> Option<super::logical::Logical> {
        super::logical::Logical::of(self)
    }

    /// A short human description such as `int32` or `struct x.User` for error messages.
    pub fn describe(&self) -> String {
        match &self.name {
            Some(n) => format!("{} {}", self.kind, n),
            None => self.kind.to_string(),
        }
    }
}

/// Builds schemas; `build()` returns a shared [`SchemaRef`].
#[derive(Debug, Clone)]
pub struct SchemaBuilder {
    schema: Schema,
}

impl SchemaBuilder {
    pub fn new(kind: SchemaType) -> Self {
        SchemaBuilder {
            schema: Schema {
                kind,
                optional: false,
                default: None,
                name: None,
                version: None,
                doc: None,
                parameters: BTreeMap::new(),
                fields: Vec::new(),
                key_schema: None,
                value_schema: None,
            },
        }
    }
    pub fn struct_() -> Self {
        Self::new(SchemaType::Struct)
    }
    pub fn array(items: SchemaRef) -> Self {
        let mut b = Self::new(SchemaType::Array);
        b.schema.value_schema = Some(items);
        b
    }
    pub fn map(keys: SchemaRef, values: SchemaRef) -> Self {
        let mut b = Self::new(SchemaType::Map);
        b.schema.key_schema = Some(keys);
        b.schema.value_schema = Some(values);
        b
    }
    /// Starts from an existing schema (to derive a changed copy).
    pub fn from_schema(schema: &Schema) -> Self {
        SchemaBuilder {
            schema: schema.clone(),
        }
    }
    pub fn optional(mut self) -> Self {
        self.schema.optional = true;
        self
    }
    pub fn required(mut self) -> Self {
        self.schema.optional = false;
        self
    }
    pub fn set_optional(mut self, optional: bool) -> Self {
        self.schema.optional = optional;
        self
    }
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.schema.name = Some(name.into());
        self
    }
    pub fn maybe_name(mut self, name: Option<String>) -> Self {
        self.schema.name = name;
        self
    }
    pub fn version(mut self, version: i32) -> Self {
        self.schema.version = Some(version);
        self
    }
    pub fn maybe_version(mut self, version: Option<i32>) -> Self {
        self.schema.version = version;
        self
    }
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.schema.doc = Some(doc.into());
        self
    }
    pub fn default_value(mut self, value: Value) -> Self {
        self.schema.default = Some(value);
        self
    }
    pub fn parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.schema.parameters.insert(key.into(), value.into());
        self
    }
    /// Appends a struct field.
    pub fn field(mut self, name: impl Into<String>, schema: SchemaRef) -> Self {
        let index = self.schema.fields.len();
        self.schema.fields.push(Field {
            name: name.into(),
            index,
            schema,
        });
        self
    }
    /// Drops all struct fields (for builders derived with `from_schema`).
    pub fn clear_fields(mut self) -> Self {
        self.schema.fields.clear();
        self
    }
    pub fn build(self) -> SchemaRef {
        Arc::new(self.schema)
    }
}

macro_rules! primitive_schemas {
    ($($req:ident, $opt:ident => $kind:ident;)*) => {
        /// Shared instances of the primitive schemas, like Connect's `Schema.INT32_SCHEMA`.
        pub mod schemas {
            use super::*;
            $(
                pub static $req: LazyLock<SchemaRef> =
                    LazyLock::new(|| SchemaBuilder::new(SchemaType::$kind).build());
                pub static $opt: LazyLock<SchemaRef> =
                    LazyLock::new(|| SchemaBuilder::new(SchemaType::$kind).optional().build());
            )*
        }
    };
}

primitive_schemas! {
    INT8, OPTIONAL_INT8 => Int8;
    INT16, OPTIONAL_INT16 => Int16;
    INT32, OPTIONAL_INT32 => Int32;
    INT64, OPTIONAL_INT64 => Int64;
    FLOAT32, OPTIONAL_FLOAT32 => Float32;
    FLOAT64, OPTIONAL_FLOAT64 => Float64;
    BOOLEAN, OPTIONAL_BOOLEAN => Boolean;
    STRING, OPTIONAL_STRING => String;
    BYTES, OPTIONAL_BYTES => Bytes;
}

/// The shared schema for a primitive type, required or optional.
pub fn primitive(kind: SchemaType, optional: bool) -> SchemaRef {
    use schemas::*;
    let s: &LazyLock<SchemaRef> = match (kind, optional) {
        (SchemaType::Int8, false) => &INT8,
        (SchemaType::Int8, true) => &OPTIONAL_INT8,
        (SchemaType::Int16, false) => &INT16,
        (SchemaType::Int16, true) => &OPTIONAL_INT16,
        (SchemaType::Int32, false) => &INT32,
        (SchemaType::Int32, true) => &OPTIONAL_INT32,
        (SchemaType::Int64, false) => &INT64,
        (SchemaType::Int64, true) => &OPTIONAL_INT64,
        (SchemaType::Float32, false) => &FLOAT32,
        (SchemaType::Float32, true) => &OPTIONAL_FLOAT32,
        (SchemaType::Float64, false) => &FLOAT64,
        (SchemaType::Float64, true) => &OPTIONAL_FLOAT64,
        (SchemaType::Boolean, false) => &BOOLEAN,
        (SchemaType::Boolean, true) => &OPTIONAL_BOOLEAN,
        (SchemaType::String, false) => &STRING,
        (SchemaType::String, true) => &OPTIONAL_STRING,
        (SchemaType::Bytes, false) => &BYTES,
        (SchemaType::Bytes, true) => &OPTIONAL_BYTES,
        _ => return SchemaBuilder::new(kind).set_optional(optional).build(),
    };
    Arc::clone(s)
}
