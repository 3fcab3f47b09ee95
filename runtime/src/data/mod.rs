//! The record model: Connect's schemas and values, records and headers.

mod headers;
pub mod logical;
mod record;
mod schema;
mod value;

pub use headers::{Header, Headers};
pub use record::{
    KafkaOrigin, RawMessage, Record, SchemaAndValue, SinkRecord, SourceOffset, SourcePartition,
    SourceRecord, TimestampType,
};
pub use schema::{primitive, schemas, Field, Schema, SchemaBuilder, SchemaRef, SchemaType};
pub use value::{validate_value, Struct, Value};
