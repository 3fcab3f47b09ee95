//! Kafka Connect's standalone offsets file: a Java-serialized `HashMap<byte[], byte[]>`
//! (what `FileOffsetBackingStore` writes with `ObjectOutputStream`), keys and values
//! being the same JSON as in the offsets topic. Only that one shape is read and written:
//! the stream header, the `HashMap` class descriptor, its two fields, the bucket count
//! and size, then key/value byte arrays (or null values). Anything else is an error
//! naming the byte offset, never a panic.

/// One entry: key bytes and value bytes (`None`: a removed offset).
pub type Entry = (Vec<u8>, Option<Vec<u8>>);

const MAGIC: [u8; 4] = [0xAC, 0xED, 0x00, 0x05];
const TC_NULL: u8 = 0x70;
const TC_REFERENCE: u8 = 0x71;
const TC_CLASSDESC: u8 = 0x72;
const TC_OBJECT: u8 = 0x73;
const TC_ARRAY: u8 = 0x75;
const TC_BLOCKDATA: u8 = 0x77;
const TC_ENDBLOCKDATA: u8 = 0x78;
const BASE_HANDLE: u32 = 0x7E_0000;
const HASHMAP_UID: [u8; 8] = [0x05, 0x07, 0xDA, 0xC1, 0xC3, 0x16, 0x60, 0xD1];
const BYTE_ARRAY_UID: [u8; 8] = [0xAC, 0xF3, 0x17, 0xF8, 0x06, 0x08, 0x54, 0xE0];

/// Whether `bytes` start like a Java serialization stream.
pub fn looks_like(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn fail<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{} at byte {}", what, self.at))
    }
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        if self.b.len() - self.at < n {
            return self.fail("unexpected end of file");
        }
        let s = &self.b[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        let s = self.take(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32, String> {
        let s = self.take(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn utf(&mut self) -> Result<String, String> {
        let n = self.u16()? as usize;
        let s = self.take(n)?;
        String::from_utf8(s.to_vec()).or_else(|_| self.fail("a class or field name is not UTF-8"))
    }
    fn expect(&mut self, byte: u8, what: &str) -> Result<(), String> {
        if self.u8()? != byte {
            self.at -= 1;
            return self.fail(&format!("expected {}", what));
        }
        Ok(())
    }
}

/// Reads the entries of a Connect standalone offsets file.
pub fn read(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut r = Reader { b: bytes, at: 0 };
    if r.take(4)? != MAGIC {
        return r.fail("not a Java serialization stream");
    }
    // Handles: 0 = HashMap class descriptor, 1 = the map, then the byte[] class
    // descriptor and every array, in the order they appear.
    let mut next_handle = BASE_HANDLE;
    let mut byte_array_class: Option<u32> = None;
    let mut arrays: std::collections::HashMap<u32, Vec<u8>> = Default::default();
    r.expect(TC_OBJECT, "an object (the HashMap)")?;
    r.expect(TC_CLASSDESC, "a class descriptor")?;
    if r.utf()? != "java.util.HashMap" {
        return r.fail("the object is not a java.util.HashMap");
    }
    r.take(8)?; // serialVersionUID
    next_handle += 1;
    let _flags = r.u8()?;
    let fields = r.u16()?;
    for _ in 0..fields {
        let code = r.u8()?;
        r.utf()?;
        if matches!(code, b'L' | b'[') {
            return r.fail("unexpected object field in HashMap");
        }
    }
    r.expect(TC_ENDBLOCKDATA, "the end of the class annotations")?;
    r.expect(TC_NULL, "no superclass")?;
    next_handle += 1; // the map object
    r.take(8)?; // loadFactor (float), threshold (int)
    r.expect(TC_BLOCKDATA, "the map's block data")?;
    if r.u8()? != 8 {
        return r.fail("unexpected block data length");
    }
    let _buckets = r.u32()?;
    let size = r.u32()? as usize;
    let mut read_array = |r: &mut Reader| -> Result<Option<Vec<u8>>, String> {
        match r.u8()? {
            TC_NULL => Ok(None),
            TC_REFERENCE => {
                let h = r.u32()?;
                match arrays.get(&h) {
                    Some(a) => Ok(Some(a.clone())),
                    None => r.fail("a reference to an unknown array"),
                }
            }
            TC_ARRAY => {
                match r.u8()? {
                    TC_CLASSDESC => {
                        if r.utf()? != "[B" {
                            return r.fail("an array that is not a byte[]");
                        }
                        r.take(8)?;
                        r.u8()?;
                        if r.u16()? != 0 {
                            return r.fail("a byte[] descriptor with fields");
                        }
                        r.expect(TC_ENDBLOCKDATA, "the end of the byte[] descriptor")?;
                        r.expect(TC_NULL, "no superclass")?;
                        byte_array_class = Some(next_handle);
                        next_handle += 1;
                    }
                    TC_REFERENCE => {
                        let h = r.u32()?;
                        if Some(h) != byte_array_class {
                            return r.fail("an array of a class other than byte[]");
                        }
                    }
                    _ => {
                        r.at -= 1;
                        return r.fail("expected the byte[] class");
                    }
                }
                let n = r.u32()? as usize;
                let data = r.take(n)?.to_vec();
                arrays.insert(next_handle, data.clone());
                next_handle += 1;
                Ok(Some(data))
            }
            _ => {
                r.at -= 1;
                r.fail("expected a byte[] or null")
            }
        }
    };
    let mut out = Vec::with_capacity(size.min(1 << 20));
    for _ in 0..size {
        let key = match read_array(&mut r)? {
            Some(k) => k,
            None => return r.fail("a null key"),
        };
        let value = read_array(&mut r)?;
        out.push((key, value));
    }
    r.expect(
        TC_ENDBLOCKDATA,
        "the end of the map (is the file cut short?)",
    )?;
    Ok(out)
}

/// Writes entries as Connect's `FileOffsetBackingStore` does.
pub fn write(entries: &[Entry]) -> Vec<u8> {
    let mut o = Vec::with_capacity(
        128 + entries
            .iter()
            .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len) + 16)
            .sum::<usize>(),
    );
    let utf = |o: &mut Vec<u8>, s: &str| {
        o.extend_from_slice(&(s.len() as u16).to_be_bytes());
        o.extend_from_slice(s.as_bytes());
    };
    o.extend_from_slice(&MAGIC);
    o.push(TC_OBJECT);
    o.push(TC_CLASSDESC);
    utf(&mut o, "java.util.HashMap");
    o.extend_from_slice(&HASHMAP_UID);
    o.push(0x03); // SC_WRITE_METHOD | SC_SERIALIZABLE
    o.extend_from_slice(&2u16.to_be_bytes());
    o.push(b'F');
    utf(&mut o, "loadFactor");
    o.push(b'I');
    utf(&mut o, "threshold");
    o.push(TC_ENDBLOCKDATA);
    o.push(TC_NULL);
    // HashMap's own sizing: a power-of-two table holding size at load factor 0.75.
    let mut buckets: u32 = 16;
    while (buckets as f64) * 0.75 < entries.len() as f64 {
        buckets *= 2;
    }
    o.extend_from_slice(&0.75f32.to_bits().to_be_bytes());
    o.extend_from_slice(&((buckets as f64 * 0.75) as u32).to_be_bytes());
    o.push(TC_BLOCKDATA);
    o.push(8);
    o.extend_from_slice(&buckets.to_be_bytes());
    o.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    let byte_array_handle = BASE_HANDLE + 2;
    let mut first = true;
    let mut array = |o: &mut Vec<u8>, data: &[u8]| {
        o.push(TC_ARRAY);
        if first {
            o.push(TC_CLASSDESC);
            utf(o, "[B");
            o.extend_from_slice(&BYTE_ARRAY_UID);
            o.push(0x02); // SC_SERIALIZABLE
            o.extend_from_slice(&0u16.to_be_bytes());
            o.push(TC_ENDBLOCKDATA);
            o.push(TC_NULL);
            first = false;
        } else {
            o.push(TC_REFERENCE);
            o.extend_from_slice(&byte_array_handle.to_be_bytes());
        }
        o.extend_from_slice(&(data.len() as u32).to_be_bytes());
        o.extend_from_slice(data);
    };
    for (k, v) in entries {
        array(&mut o, k);
        match v {
            Some(v) => array(&mut o, v),
            None => o.push(TC_NULL),
        }
    }
    o.push(TC_ENDBLOCKDATA);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file Kafka Connect 4.3.1's standalone worker wrote for two FileStreamSource
    /// connectors (captured with `xxd`).
    const CONNECT_FILE: &[u8] = &[
        0xac, 0xed, 0x00, 0x05, 0x73, 0x72, 0x00, 0x11, 0x6a, 0x61, 0x76, 0x61, 0x2e, 0x75, 0x74,
        0x69, 0x6c, 0x2e, 0x48, 0x61, 0x73, 0x68, 0x4d, 0x61, 0x70, 0x05, 0x07, 0xda, 0xc1, 0xc3,
        0x16, 0x60, 0xd1, 0x03, 0x00, 0x02, 0x46, 0x00, 0x0a, 0x6c, 0x6f, 0x61, 0x64, 0x46, 0x61,
        0x63, 0x74, 0x6f, 0x72, 0x49, 0x00, 0x09, 0x74, 0x68, 0x72, 0x65, 0x73, 0x68, 0x6f, 0x6c,
        0x64, 0x78, 0x70, 0x3f, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x77, 0x08, 0x00, 0x00,
        0x00, 0x10, 0x00, 0x00, 0x00, 0x02, 0x75, 0x72, 0x00, 0x02, 0x5b, 0x42, 0xac, 0xf3, 0x17,
        0xf8, 0x06, 0x08, 0x54, 0xe0, 0x02, 0x00, 0x00, 0x78, 0x70, 0x00, 0x00, 0x00, 0x29, 0x5b,
        0x22, 0x73, 0x61, 0x2d, 0x73, 0x72, 0x63, 0x22, 0x2c, 0x7b, 0x22, 0x66, 0x69, 0x6c, 0x65,
        0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0x2f, 0x74, 0x6d, 0x70, 0x2f, 0x63, 0x73, 0x61,
        0x2f, 0x69, 0x6e, 0x2e, 0x74, 0x78, 0x74, 0x22, 0x7d, 0x5d, 0x75, 0x71, 0x00, 0x7e, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x0e, 0x7b, 0x22, 0x70, 0x6f, 0x73, 0x69, 0x74, 0x69, 0x6f, 0x6e,
        0x22, 0x3a, 0x36, 0x7d, 0x75, 0x71, 0x00, 0x7e, 0x00, 0x02, 0x00, 0x00, 0x00, 0x2a, 0x5b,
        0x22, 0x73, 0x61, 0x2d, 0x73, 0x72, 0x63, 0x32, 0x22, 0x2c, 0x7b, 0x22, 0x66, 0x69, 0x6c,
        0x65, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0x2f, 0x74, 0x6d, 0x70, 0x2f, 0x63, 0x73,
        0x61, 0x2f, 0x69, 0x6e, 0x2e, 0x74, 0x78, 0x74, 0x22, 0x7d, 0x5d, 0x75, 0x71, 0x00, 0x7e,
        0x00, 0x02, 0x00, 0x00, 0x00, 0x0e, 0x7b, 0x22, 0x70, 0x6f, 0x73, 0x69, 0x74, 0x69, 0x6f,
        0x6e, 0x22, 0x3a, 0x36, 0x7d, 0x78,
    ];

    #[test]
    fn reads_what_connect_wrote_and_writes_it_back_byte_for_byte() {
        let entries = read(CONNECT_FILE).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[0].0,
            br#"["sa-src",{"filename":"/tmp/csa/in.txt"}]"#
        );
        assert_eq!(entries[0].1.as_deref(), Some(&br#"{"position":6}"#[..]));
        assert_eq!(
            entries[1].0,
            br#"["sa-src2",{"filename":"/tmp/csa/in.txt"}]"#
        );
        assert_eq!(write(&entries), CONNECT_FILE);
    }

    #[test]
    fn null_values_large_maps_and_garbage() {
        let mut entries: Vec<Entry> = (0..100)
            .map(|i| {
                (
                    format!("[\"c\",{{\"p\":{i}}}]").into_bytes(),
                    Some(b"{}".to_vec()),
                )
            })
            .collect();
        entries.push((b"[\"c\",{}]".to_vec(), None));
        assert_eq!(read(&write(&entries)).unwrap(), entries);
        assert!(read(b"{\"offsets\":[]}")
            .unwrap_err()
            .contains("not a Java serialization stream"));
        for cut in [5, 20, 70, 100, CONNECT_FILE.len() - 1] {
            let e = read(&CONNECT_FILE[..cut]).unwrap_err();
            assert!(e.contains("at byte"), "{e}");
        }
        let mut wrong = CONNECT_FILE.to_vec();
        wrong[85] = 0x42; // "BB": not a byte[] descriptor
        assert!(read(&wrong).is_err());
    }
}
