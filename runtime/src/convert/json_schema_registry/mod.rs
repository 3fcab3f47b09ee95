//! `io.confluent.connect.json.JsonSchemaConverter`: Connect values as JSON in Confluent's
//! wire format (magic byte 0, 4-byte schema id, the JSON text), with JSON Schemas
//! (`schemaType: JSON`) in a Schema Registry. The mapping between Connect schemas and
//! JSON Schemas follows Confluent's `JsonSchemaData`: [`to_json_schema`] writes them,
//! [`from_json_schema`] reads them (also schemas written by hand for other producers),
//! [`value`] converts values both ways and [`validate`] checks a value against a JSON
//! Schema (`json.fail.invalid.schema`).
//!
//! Not confused with `convert::json_schema`, which is `JsonConverter`'s envelope schema.

mod converter;
mod from_json_schema;
mod to_json_schema;
mod validate;
mod value;

pub(crate) use converter::{config_def, create};
pub use converter::{JsonSchemaConverter, JsonSchemaOptions};
pub use from_json_schema::connect_schema_from_json_schema;
pub use to_json_schema::json_schema_from_connect;
pub use validate::validate;
pub use value::{json_from_connect, json_to_connect};

#[cfg(test)]
mod tests;
