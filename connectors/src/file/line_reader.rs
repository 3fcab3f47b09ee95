//! Reads complete lines from a growing file (or stdin), tracking the byte position after
//! each line. A line without its terminator yet is held back until the rest arrives.
//!
//! Memory stays bounded: a line is held only up to `max.line.bytes`. A longer one is
//! reported as soon as it passes the limit ([`Item::TooLong`], with its start and first
//! bytes) and the rest of it is skipped without being kept, however long it is; the
//! position moves past it once its end arrives.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

/// One line and the byte position just after its terminator.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub text: String,
    pub next_position: u64,
}

/// A line longer than the limit.
#[derive(Debug, Clone, PartialEq)]
pub struct TooLong {
    /// The byte position where the line starts.
    pub start: u64,
    /// Its first bytes (at most [`TOO_LONG_PREFIX`]), for the dead letter queue.
    pub prefix: Vec<u8>,
}

/// How many bytes of an over-long line are kept to report it.
pub const TOO_LONG_PREFIX: usize = 1024;

/// What the reader found.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Line(Line),
    TooLong(TooLong),
}

/// Splits a byte stream into lines of at most `max` bytes (terminator excluded).
#[derive(Debug)]
pub struct Splitter {
    max: usize,
    /// Position of the first byte of the current line.
    position: u64,
    /// The current line so far (at most `max + 1` bytes: a `\r` may still be followed
    /// by `\n`).
    partial: Vec<u8>,
    /// Bytes of the current (over-long, already reported) line skipped so far.
    skipping: Option<u64>,
}

impl Splitter {
    /// A splitter starting at byte `position` of its stream.
    pub fn new(position: u64, max: usize) -> Self {
        Splitter {
            max: max.max(1),
            position,
            partial: Vec::new(),
            skipping: None,
        }
    }

    /// Position of the first byte not yet returned in a line (the start of the line
    /// being read or skipped).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Takes bytes from the front of `buf`; returns how many it consumed and the line
    /// (or over-long line) that they completed, if any.
    pub fn feed(&mut self, buf: &[u8]) -> (usize, Option<Item>) {
        let newline = buf.iter().position(|&b| b == b'\n');
        if let Some(skipped) = self.skipping {
            return match newline {
                Some(i) => {
                    self.position += skipped + i as u64 + 1;
                    self.skipping = None;
                    (i + 1, None)
                }
                None => {
                    self.skipping = Some(skipped + buf.len() as u64);
                    (buf.len(), None)
                }
            };
        }
        let Some(i) = newline else {
            if self.partial.len() + buf.len() > self.max + 1 {
                // Longer than the limit whatever follows: report it now, skip the rest.
                let item = self.too_long(&buf[..buf.len().min(TOO_LONG_PREFIX)]);
                self.skipping = Some(self.partial.len() as u64 + buf.len() as u64);
                self.partial.clear();
                return (buf.len(), Some(item));
            }
            self.partial.extend_from_slice(buf);
            return (buf.len(), None);
        };
        let total = self.partial.len() + i;
        let ends_cr = if i > 0 {
            buf[i - 1] == b'\r'
        } else {
            self.partial.last() == Some(&b'\r')
        };
        let content = total - ends_cr as usize;
        if content > self.max {
            let item = self.too_long(&buf[..i.min(TOO_LONG_PREFIX)]);
            self.position += total as u64 + 1;
            self.partial.clear();
            return (i + 1, Some(item));
        }
        let bytes: &[u8] = if self.partial.is_empty() {
            &buf[..content]
        } else {
            self.partial.extend_from_slice(&buf[..i]);
            &self.partial[..content]
        };
        let text = match std::str::from_utf8(bytes) {
            Ok(s) => s.to_string(),
            Err(_) => String::from_utf8_lossy(bytes).into_owned(),
        };
        self.partial.clear();
        self.position += total as u64 + 1;
        (
            i + 1,
            Some(Item::Line(Line {
                text,
                next_position: self.position,
            })),
        )
    }

    /// The report for the current line, whose next bytes are `more`.
    fn too_long(&self, more: &[u8]) -> Item {
        let prefix = self
            .partial
            .iter()
            .chain(more)
            .take(TOO_LONG_PREFIX.min(self.max))
            .copied()
            .collect();
        Item::TooLong(TooLong {
            start: self.position,
            prefix,
        })
    }
}

/// A line reader over a file that may still grow.
pub struct LineReader {
    reader: BufReader<File>,
    splitter: Splitter,
}

impl LineReader {
    /// Opens `path` at byte `position`, for lines of at most `max_line_bytes`. If the
    /// file is shorter than `position` (it was truncated or replaced), starts over at 0
    /// and says so.
    pub fn open(
        path: &Path,
        position: u64,
        max_line_bytes: usize,
    ) -> std::io::Result<(Self, bool)> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        let (start, reset) = if position > len {
            (0, true)
        } else {
            (position, false)
        };
        file.seek(SeekFrom::Start(start))?;
        Ok((
            LineReader {
                reader: BufReader::with_capacity(256 * 1024, file),
                splitter: Splitter::new(start, max_line_bytes),
            },
            reset,
        ))
    }

    pub fn position(&self) -> u64 {
        self.splitter.position()
    }

    /// Reads up to `max` complete lines (`\n` or `\r\n` terminated) or over-long lines.
    pub fn read_lines(&mut self, max: usize) -> std::io::Result<Vec<Item>> {
        let mut out = Vec::new();
        while out.len() < max {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let (n, item) = self.splitter.feed(buf);
            self.reader.consume(n);
            out.extend(item);
        }
        Ok(out)
    }

    /// True if the file on disk is now shorter than what was read (truncated).
    pub fn truncated(&self, path: &Path) -> bool {
        std::fs::metadata(path)
            .map(|m| m.len() < self.position())
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn texts(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                Item::Line(l) => l.text.clone(),
                Item::TooLong(t) => format!("TOO LONG at {}", t.start),
            })
            .collect()
    }

    #[test]
    fn reads_complete_lines_and_waits_for_partial_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        let mut f = File::create(&path).unwrap();
        f.write_all(b"one\r\ntwo\nthr").unwrap();
        f.flush().unwrap();
        let (mut r, reset) = LineReader::open(&path, 0, 100).unwrap();
        assert!(!reset);
        let lines = r.read_lines(10).unwrap();
        assert_eq!(texts(&lines), vec!["one", "two"]);
        assert!(matches!(&lines[0], Item::Line(l) if l.next_position == 5));
        assert!(matches!(&lines[1], Item::Line(l) if l.next_position == 9));
        assert!(r.read_lines(10).unwrap().is_empty());
        f.write_all(b"ee\nfour\n").unwrap();
        f.flush().unwrap();
        let lines = r.read_lines(10).unwrap();
        assert_eq!(texts(&lines), vec!["three", "four"]);
        assert_eq!(r.position(), 20);
        // Resume from a stored position.
        let (mut r2, _) = LineReader::open(&path, 9, 100).unwrap();
        assert_eq!(texts(&r2.read_lines(1).unwrap()), vec!["three"]);
    }

    #[test]
    fn batch_limit_and_multibyte_positions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "héllo\nwörld\nx\n").unwrap();
        let (mut r, _) = LineReader::open(&path, 0, 100).unwrap();
        let first = r.read_lines(1).unwrap();
        let Item::Line(first) = &first[0] else {
            panic!("{:?}", first)
        };
        assert_eq!(first.next_position, "héllo\n".len() as u64);
        let (mut r2, _) = LineReader::open(&path, first.next_position, 100).unwrap();
        assert_eq!(texts(&r2.read_lines(5).unwrap())[0], "wörld");
    }

    #[test]
    fn truncated_file_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "a\n").unwrap();
        let (_, reset) = LineReader::open(&path, 100, 100).unwrap();
        assert!(reset);
    }

    #[test]
    fn lines_up_to_the_limit_pass_and_longer_ones_are_reported_and_skipped() {
        // Fed in pieces of every size, the result is the same.
        let input = b"12345\r\n123456\n1234\r\r\n\n1234567890123\nok\n12345";
        for piece in 1..input.len() {
            let mut s = Splitter::new(10, 5);
            let mut items = Vec::new();
            let mut rest: &[u8] = input;
            while !rest.is_empty() {
                let chunk = &rest[..piece.min(rest.len())];
                let (n, item) = s.feed(chunk);
                assert!(n > 0);
                rest = &rest[n..];
                items.extend(item);
            }
            assert_eq!(
                texts(&items),
                vec![
                    "12345",
                    "TOO LONG at 17",
                    "1234\r",
                    "",
                    "TOO LONG at 32",
                    "ok"
                ],
                "pieces of {piece}"
            );
            // "1234\r\r\n" holds 5 bytes of content ("1234\r"), the limit exactly; an
            // over-long line is reported with its first bytes.
            match &items[1] {
                Item::TooLong(t) => assert_eq!(t.prefix, b"12345"),
                other => panic!("{:?}", other),
            }
            assert_eq!(s.position(), 10 + input.len() as u64 - 5);
        }
    }

    #[test]
    fn an_endless_line_is_skipped_in_bounded_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        let mut f = File::create(&path).unwrap();
        f.write_all(b"first\n").unwrap();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..20 {
            f.write_all(&chunk).unwrap();
        }
        f.flush().unwrap();
        let (mut r, _) = LineReader::open(&path, 0, 1000).unwrap();
        let items = r.read_lines(100).unwrap();
        assert_eq!(texts(&items), vec!["first", "TOO LONG at 6"]);
        match &items[1] {
            Item::TooLong(t) => assert_eq!(t.prefix, vec![b'x'; 1000]),
            other => panic!("{:?}", other),
        }
        // Still in the long line: nothing buffered, the position at its start.
        assert!(r.splitter.partial.capacity() <= 4096);
        assert_eq!(r.position(), 6);
        assert!(r.read_lines(100).unwrap().is_empty());
        f.write_all(b"xxx\nnext\n").unwrap();
        f.flush().unwrap();
        assert_eq!(texts(&r.read_lines(100).unwrap()), vec!["next"]);
        assert_eq!(r.position(), 6 + 20 * (1 << 20) + 4 + 5);
    }
}
