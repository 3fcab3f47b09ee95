//! Confluent's message indexes: after the magic byte and schema id, which message of
//! the schema file the payload is: a zigzag varint count, then one zigzag varint per
//! nesting level (the index among the top-level messages, then among that message's
//! nested messages, ...). The common case, the first top-level message (`[0]`), is
//! written as the single byte 0 (a count of zero).

use prost_reflect::prost::encoding::{decode_varint, encode_varint};
use prost_reflect::{FileDescriptor, MessageDescriptor};

use crate::convert::ConvertError;

fn zigzag(n: i32) -> u64 {
    ((n << 1) ^ (n >> 31)) as u32 as u64
}

fn unzigzag(n: u64) -> i64 {
    let n = n as u32;
    ((n >> 1) as i32 ^ -((n & 1) as i32)) as i64
}

/// Appends the message indexes to `out`.
pub fn encode_indexes(indexes: &[i32], out: &mut Vec<u8>) {
    if indexes == [0] {
        out.push(0);
        return;
    }
    encode_varint(zigzag(indexes.len() as i32), out);
    for i in indexes {
        encode_varint(zigzag(*i), out);
    }
}

/// Most nesting levels accepted (a corrupt count must not allocate gigabytes).
const MAX_DEPTH: i64 = 100;

/// Reads the message indexes at the start of `body`; returns them and the payload.
pub fn decode_indexes(mut body: &[u8]) -> Result<(Vec<i32>, &[u8]), ConvertError> {
    let bad = |what: &str| {
        ConvertError::new(format!(
            "Protobuf wire format: the message indexes after the schema id are {} (the data was not written by a Protobuf Schema Registry serializer)",
            what
        ))
    };
    let count = unzigzag(decode_varint(&mut body).map_err(|_| bad("cut short"))?);
    if count == 0 {
        return Ok((vec![0], body));
    }
    if !(1..=MAX_DEPTH).contains(&count) {
        return Err(bad(&format!("invalid (a count of {})", count)));
    }
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let i = unzigzag(decode_varint(&mut body).map_err(|_| bad("cut short"))?);
        if i < 0 || i > i32::MAX as i64 {
            return Err(bad(&format!("invalid (index {})", i)));
        }
        out.push(i as i32);
    }
    Ok((out, body))
}

/// The message the indexes designate in `file`.
pub fn message_at(file: &FileDescriptor, indexes: &[i32]) -> Result<MessageDescriptor, String> {
    let mut current: Option<MessageDescriptor> = None;
    for (depth, &i) in indexes.iter().enumerate() {
        let next = match &current {
            None => file.messages().nth(i as usize),
            Some(m) => m.child_messages().nth(i as usize),
        };
        current = Some(next.ok_or_else(|| {
            format!(
                "message index {} at level {} does not exist in the schema (indexes {:?})",
                i, depth, indexes
            )
        })?);
    }
    current.ok_or_else(|| "the schema declares no message".to_string())
}

/// The indexes of `message` in its file (the inverse of [`message_at`]).
pub fn indexes_of(message: &MessageDescriptor) -> Vec<i32> {
    let mut path = Vec::new();
    let mut m = message.clone();
    loop {
        match m.parent_message() {
            Some(parent) => {
                let i = parent
                    .child_messages()
                    .position(|c| c.full_name() == m.full_name())
                    .unwrap_or(0);
                path.push(i as i32);
                m = parent;
            }
            None => {
                let i = m
                    .parent_file()
                    .messages()
                    .position(|c| c.full_name() == m.full_name())
                    .unwrap_or(0);
                path.push(i as i32);
                break;
            }
        }
    }
    path.reverse();
    path
}
