//! Confluent Schema Registry support shared by the registry converters (`AvroConverter`,
//! `JsonSchemaConverter`, `ProtobufConverter`): the converter settings Confluent names
//! (`schema.registry.url`, `basic.auth.*`, `schema.registry.ssl.*`,
//! `auto.register.schemas`, `use.latest.version`, subject name strategies), an HTTP
//! client with a schema cache, the wire format (magic byte 0, 4-byte big-endian schema
//! id, body) and the subject name strategies.
//!
//! The registry is asked only on a cache miss: the first record of each schema (per
//! converter instance, i.e. per task) costs one HTTP call, the others none. The call
//! blocks the task's thread (inside `block_in_place` on Tokio's multi-threaded
//! runtime, so other tasks keep running).

mod client;
mod config;
mod shared;
mod subject;
mod tls;
mod wire;
mod write_cache;

pub use client::{RegisteredSchema, RegistryClient, RegistryError};
pub use config::{registry_config_def, RegistryConfig};
pub use shared::{remember_read, schema_to_write};
pub use subject::SubjectStrategy;
pub use wire::{frame, unframe, MAGIC_BYTE};
pub use write_cache::WriteCache;
