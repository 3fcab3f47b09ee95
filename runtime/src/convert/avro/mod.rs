//! `io.confluent.connect.avro.AvroConverter`: Connect values as Avro in Confluent's
//! wire format, with schemas in a Schema Registry. The schema mapping follows
//! Confluent's `AvroData` (see [`schema`]); values are encoded and decoded with the
//! `apache-avro` crate.

mod converter;
mod from_avro;
mod schema;
mod value;

pub use converter::AvroConverter;
pub(crate) use converter::{config_def, create};
pub use from_avro::connect_schema_from_avro;
pub use schema::avro_schema_from_connect;
#[cfg(test)]
mod tests;
