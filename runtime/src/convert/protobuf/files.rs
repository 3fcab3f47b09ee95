//! Turning a registered Protobuf schema into descriptors: the schema text is either
//! `.proto` source (what Confluent's Java serializers and Sluice register) or a base64
//! `FileDescriptorProto` (what confluent-kafka's Python, Go and .NET serializers
//! register). Imports of Google's well-known types (`google/protobuf/*.proto`, from
//! protox), `google/type/date.proto`, `google/type/timeofday.proto` and Confluent's
//! `confluent/meta.proto` and `confluent/type/decimal.proto` (embedded) resolve
//! without schema references, as Confluent's serializers skip these known types.

use base64::Engine;
use prost_reflect::prost::Message;
use prost_reflect::prost_types::FileDescriptorProto;
use prost_reflect::{DescriptorPool, FileDescriptor};
use protox::file::{File, FileResolver, GoogleFileResolver};

/// The files Confluent's converter imports that protox does not ship.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "confluent/meta.proto",
        include_str!("proto/confluent/meta.proto"),
    ),
    (
        "confluent/type/decimal.proto",
        include_str!("proto/confluent/type/decimal.proto"),
    ),
    (
        "google/type/date.proto",
        include_str!("proto/google/type/date.proto"),
    ),
    (
        "google/type/timeofday.proto",
        include_str!("proto/google/type/timeofday.proto"),
    ),
];

/// The file name of a schema given as `.proto` text.
pub(super) const MAIN_FILE: &str = "schema.proto";

/// Resolves the schema's own file, the embedded files and Google's.
struct Resolver {
    name: String,
    /// The schema's `.proto` text (none for a serialized descriptor, whose imports
    /// only are compiled).
    source: Option<String>,
    google: GoogleFileResolver,
}

impl FileResolver for Resolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if let (true, Some(s)) = (name == self.name, &self.source) {
            return File::from_source(name, s);
        }
        if let Some((_, src)) = EMBEDDED.iter().find(|(n, _)| *n == name) {
            return File::from_source(name, src);
        }
        self.google.open_file(name)
    }
}

/// Compiles a registered schema text into a descriptor pool and returns its file.
/// The error says what went wrong (a syntax error with its line, an import that is
/// neither a known type nor resolvable).
pub(super) fn compile(text: &str) -> Result<FileDescriptor, String> {
    if let Some((proto, bytes)) = decode_serialized(text) {
        return add_serialized(&proto, &bytes);
    }
    let mut compiler = compiler(Some(text.to_string()), MAIN_FILE);
    compiler.open_file(MAIN_FILE).map_err(explain)?;
    let pool: DescriptorPool = compiler.descriptor_pool();
    pool.get_file_by_name(MAIN_FILE)
        .ok_or_else(|| format!("the compiled schema has no file {}", MAIN_FILE))
}

fn compiler(source: Option<String>, name: &str) -> protox::Compiler {
    let mut compiler = protox::Compiler::with_file_resolver(Resolver {
        name: name.to_string(),
        source,
        google: GoogleFileResolver::new(),
    });
    compiler.include_imports(true);
    compiler
}

fn explain(e: protox::Error) -> String {
    let msg = e.to_string();
    if msg.contains("not found") {
        format!("{} (imports other than Google's well-known types, google/type/date.proto, google/type/timeofday.proto and Confluent's confluent/*.proto need schema references, which Sluice does not resolve yet)", msg)
    } else {
        msg
    }
}

/// A serialized descriptor: its imports are compiled from source, then the descriptor
/// is decoded by prost-reflect itself, which keeps its extension options (such as
/// `(confluent.field_meta)`) that `prost_types` would drop.
fn add_serialized(proto: &FileDescriptorProto, bytes: &[u8]) -> Result<FileDescriptor, String> {
    let mut compiler = compiler(None, proto.name());
    for dep in &proto.dependency {
        compiler.open_file(dep).map_err(explain)?;
    }
    let mut pool: DescriptorPool = compiler.descriptor_pool();
    pool.decode_file_descriptor_proto(bytes)
        .map_err(|e| e.to_string())?;
    pool.get_file_by_name(proto.name())
        .ok_or_else(|| format!("the schema declares no file named {:?}", proto.name()))
}

/// A base64 `FileDescriptorProto`: the decoded descriptor and its bytes.
fn decode_serialized(text: &str) -> Option<(FileDescriptorProto, Vec<u8>)> {
    let t = text.trim();
    if t.is_empty() || t.contains(|c: char| c.is_whitespace() || c == ';' || c == '"') {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(t).ok()?;
    let proto = FileDescriptorProto::decode(bytes.as_slice()).ok()?;
    Some((proto, bytes))
}
