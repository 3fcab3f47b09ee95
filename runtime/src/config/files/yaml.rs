//! YAML configs into JSON, within bounds.
//!
//! Three passes over the text, each stopping at the first limit passed:
//!
//! 1. libyaml's event parser, counting how deep collections nest as written. libyaml
//!    spends time proportional to the nesting of flow collections (`{a: {a: ...`) on
//!    every token, so 100,000 levels take minutes; stopping at [`MAX_DEPTH`] keeps
//!    the cost linear.
//! 2. A walk of the document with aliases expanded (as the real parse will), keeping
//!    nothing, that counts the expanded depth and size ("billion laughs").
//! 3. The real parse with serde_yaml.

use std::cell::Cell;
use std::mem::MaybeUninit;

use serde::de::{DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde_json::Value as Json;
use unsafe_libyaml as unsafe_sys;

use super::{FileError, MAX_DEPTH, MAX_EXPANDED_BYTES};

/// Parses YAML text into JSON, checking first that it nests at most [`MAX_DEPTH`] levels
/// and expands to at most [`MAX_EXPANDED_BYTES`].
pub(super) fn to_json(text: &str, origin: &str) -> Result<Json, FileError> {
    let too_deep = |at: String| {
        FileError::new(
            origin,
            format!(
                "the YAML nests maps and lists more than {} levels deep{}",
                MAX_DEPTH, at
            ),
        )
    };
    if let Some(line) = written_depth_exceeds(text, MAX_DEPTH) {
        return Err(too_deep(format!(" (at line {})", line)));
    }
    let state = Measured::default();
    if let Err(e) = (Measure {
        state: &state,
        depth: 0,
    })
    .deserialize(serde_yaml::Deserializer::from_str(text))
    {
        let at = e
            .location()
            .map(|l| format!(" (at line {} column {})", l.line(), l.column()))
            .unwrap_or_default();
        // serde_yaml's own guards (recursion and repetition limits) may stop it first.
        let message = e.to_string();
        let hit = state
            .hit
            .get()
            .or(if message.starts_with("recursion limit") {
                Some(Limit::Depth)
            } else if message.starts_with("repetition limit") {
                Some(Limit::Size)
            } else {
                None
            });
        return Err(match hit {
            Some(Limit::Depth) => too_deep(at),
            Some(Limit::Size) => FileError::new(
                origin,
                format!(
                    "the YAML expands to more than {} bytes once its aliases are resolved{}",
                    MAX_EXPANDED_BYTES, at
                ),
            ),
            None => error(e, origin),
        });
    }
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| error(e, origin))?;
    serde_json::to_value(&yaml)
        .map_err(|e| FileError::new(origin, format!("unsupported YAML: {}", e)))
}

/// A serde_yaml error as a config error, with its place in the file.
pub(super) fn error(e: serde_yaml::Error, origin: &str) -> FileError {
    match e.location() {
        Some(l) => FileError::new(
            origin,
            format!(
                "invalid YAML at line {} column {}: {}",
                l.line(),
                l.column(),
                e
            ),
        ),
        None => FileError::new(origin, format!("invalid YAML: {}", e)),
    }
}

/// The line (1-based) where collections first nest deeper than `max` as written (aliases
/// not expanded), or `None` if they never do or the text is not valid YAML (serde_yaml
/// then reports the syntax error).
fn written_depth_exceeds(text: &str, max: usize) -> Option<u64> {
    /// libyaml's parser, freed on drop.
    struct Parser(Box<MaybeUninit<unsafe_sys::yaml_parser_t>>);
    impl Drop for Parser {
        fn drop(&mut self) {
            // SAFETY: only built after `yaml_parser_initialize` succeeded.
            unsafe { unsafe_sys::yaml_parser_delete(self.0.as_mut_ptr()) }
        }
    }
    let mut raw = Box::new(MaybeUninit::<unsafe_sys::yaml_parser_t>::uninit());
    // SAFETY: `raw` is valid memory for a parser, which `yaml_parser_initialize` fills
    // in; the input string outlives the parser (both end with this function, the parser
    // first as it is declared after `text` is borrowed).
    let mut parser = unsafe {
        if unsafe_sys::yaml_parser_initialize(raw.as_mut_ptr()).fail {
            return None;
        }
        let mut parser = Parser(raw);
        let p = parser.0.as_mut_ptr();
        unsafe_sys::yaml_parser_set_encoding(p, unsafe_sys::YAML_UTF8_ENCODING);
        unsafe_sys::yaml_parser_set_input_string(p, text.as_ptr(), text.len() as u64);
        parser
    };
    let mut depth = 0usize;
    loop {
        let mut event = MaybeUninit::<unsafe_sys::yaml_event_t>::uninit();
        // SAFETY: the parser is initialized; on success `event` is initialized and is
        // deleted once its type and mark are read.
        let (kind, line) = unsafe {
            if unsafe_sys::yaml_parser_parse(parser.0.as_mut_ptr(), event.as_mut_ptr()).fail {
                return None;
            }
            let e = event.as_mut_ptr();
            let read = ((*e).type_, (*e).start_mark.line);
            unsafe_sys::yaml_event_delete(e);
            read
        };
        match kind {
            unsafe_sys::YAML_SEQUENCE_START_EVENT | unsafe_sys::YAML_MAPPING_START_EVENT => {
                depth += 1;
                if depth > max {
                    return Some(line + 1);
                }
            }
            unsafe_sys::YAML_SEQUENCE_END_EVENT | unsafe_sys::YAML_MAPPING_END_EVENT => {
                depth = depth.saturating_sub(1)
            }
            unsafe_sys::YAML_STREAM_END_EVENT => return None,
            _ => {}
        }
    }
}

/// Which limit a YAML document passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    Depth,
    Size,
}

/// What [`Measure`] has counted so far.
#[derive(Default)]
struct Measured {
    /// Bytes the document expands to (each node counts [`NODE_BYTES`] plus its text).
    bytes: Cell<usize>,
    hit: Cell<Option<Limit>>,
}

/// What one YAML node costs beyond its text, roughly what it takes in memory.
const NODE_BYTES: usize = 32;

/// Walks a YAML document (aliases expanded, as the real parse will) without keeping
/// anything, and stops at the first limit passed.
struct Measure<'a> {
    state: &'a Measured,
    depth: usize,
}

impl Measure<'_> {
    fn charge<E: serde::de::Error>(&self, n: usize) -> Result<(), E> {
        let total = self.state.bytes.get().saturating_add(n);
        self.state.bytes.set(total);
        if total > MAX_EXPANDED_BYTES {
            self.state.hit.set(Some(Limit::Size));
            return Err(E::custom("the document expands too much"));
        }
        Ok(())
    }

    /// The measure for the items of a map or list opened here.
    fn child<E: serde::de::Error>(&self) -> Result<Measure<'_>, E> {
        self.charge(NODE_BYTES)?;
        if self.depth >= MAX_DEPTH {
            self.state.hit.set(Some(Limit::Depth));
            return Err(E::custom("the document nests too deep"));
        }
        Ok(Measure {
            state: self.state,
            depth: self.depth + 1,
        })
    }

    fn same(&self) -> Measure<'_> {
        Measure {
            state: self.state,
            depth: self.depth,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Measure<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Measure<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.charge(NODE_BYTES)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.charge(NODE_BYTES)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.charge(NODE_BYTES)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.charge(NODE_BYTES)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        self.charge(NODE_BYTES.saturating_add(v.len()))
    }
    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<(), E> {
        self.charge(NODE_BYTES.saturating_add(v.len()))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.charge(NODE_BYTES)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        self.charge(NODE_BYTES)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.same().deserialize(d)
    }
    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.same().deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let child = self.child()?;
        while seq.next_element_seed(child.same())?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let child = self.child()?;
        while map.next_key_seed(child.same())?.is_some() {
            map.next_value_seed(child.same())?;
        }
        Ok(())
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        // A tagged value (`!tag value`) becomes a one-entry map from the tag to the value.
        let child = self.child()?;
        let ((), variant) = data.variant_seed(child.same())?;
        variant.newtype_variant_seed(child.same())
    }
}
