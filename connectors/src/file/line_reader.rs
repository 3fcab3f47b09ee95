//! Reads complete lines from a growing file, tracking the byte position after each
//! line. A line without its terminator yet is held back until the rest arrives.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

/// One line and the byte position just after its terminator.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub text: String,
    pub next_position: u64,
}

/// A line reader over a file that may still grow.
pub struct LineReader {
    reader: BufReader<File>,
    /// Position of the first byte not yet returned in a line.
    position: u64,
    partial: Vec<u8>,
}

impl LineReader {
    /// Opens `path` at byte `position`. If the file is shorter than that (it was
    /// truncated or replaced), starts over at 0 and says so.
    pub fn open(path: &Path, position: u64) -> std::io::Result<(Self, bool)> {
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
                position: start,
                partial: Vec::new(),
            },
            reset,
        ))
    }

    pub fn position(&self) -> u64 {
        self.position
    }

    /// Reads up to `max` complete lines (`\n` or `\r\n` terminated).
    pub fn read_lines(&mut self, max: usize) -> std::io::Result<Vec<Line>> {
        let mut out = Vec::new();
        while out.len() < max {
            let n = self.reader.read_until(b'\n', &mut self.partial)?;
            if n == 0 {
                break;
            }
            if self.partial.last() != Some(&b'\n') {
                // Incomplete line at the end of the file: wait for the rest.
                break;
            }
            let consumed = self.partial.len() as u64;
            let mut end = self.partial.len() - 1;
            if end > 0 && self.partial[end - 1] == b'\r' {
                end -= 1;
            }
            let text = match std::str::from_utf8(&self.partial[..end]) {
                Ok(s) => s.to_string(),
                Err(_) => String::from_utf8_lossy(&self.partial[..end]).into_owned(),
            };
            self.position += consumed;
            self.partial.clear();
            out.push(Line {
                text,
                next_position: self.position,
            });
        }
        Ok(out)
    }

    /// True if the file on disk is now shorter than what was read (truncated).
    pub fn truncated(&self, path: &Path) -> bool {
        std::fs::metadata(path)
            .map(|m| m.len() < self.position)
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_complete_lines_and_waits_for_partial_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        let mut f = File::create(&path).unwrap();
        f.write_all(b"one\r\ntwo\nthr").unwrap();
        f.flush().unwrap();
        let (mut r, reset) = LineReader::open(&path, 0).unwrap();
        assert!(!reset);
        let lines = r.read_lines(10).unwrap();
        assert_eq!(
            lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(),
            vec!["one", "two"]
        );
        assert_eq!(lines[0].next_position, 5);
        assert_eq!(lines[1].next_position, 9);
        assert!(r.read_lines(10).unwrap().is_empty());
        f.write_all(b"ee\nfour\n").unwrap();
        f.flush().unwrap();
        let lines = r.read_lines(10).unwrap();
        assert_eq!(
            lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(),
            vec!["three", "four"]
        );
        assert_eq!(r.position(), 20);
        // Resume from a stored position.
        let (mut r2, _) = LineReader::open(&path, 9).unwrap();
        assert_eq!(r2.read_lines(1).unwrap()[0].text, "three");
    }

    #[test]
    fn batch_limit_and_multibyte_positions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "héllo\nwörld\nx\n").unwrap();
        let (mut r, _) = LineReader::open(&path, 0).unwrap();
        let first = r.read_lines(1).unwrap();
        assert_eq!(first[0].next_position, "héllo\n".len() as u64);
        let (mut r2, _) = LineReader::open(&path, first[0].next_position).unwrap();
        assert_eq!(r2.read_lines(5).unwrap()[0].text, "wörld");
    }

    #[test]
    fn truncated_file_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "a\n").unwrap();
        let (_, reset) = LineReader::open(&path, 100).unwrap();
        assert!(reset);
    }
}
