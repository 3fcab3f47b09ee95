//! Standard output for the CLI commands. When the reader goes away (`sluice plugins |
//! head`), the rest of the output is dropped and the command ends quietly, as Unix tools
//! do, instead of panicking in `println!`. Any other write error (a full disk) is
//! reported once on stderr and makes the command fail.

use std::io::{ErrorKind, StdoutLock, Write};

/// Where a command prints its lines.
pub struct Output {
    out: StdoutLock<'static>,
    /// The reader closed the pipe: nothing more is written.
    closed: bool,
    /// A write failed for another reason (reported on stderr).
    failed: bool,
}

impl Output {
    /// Standard output, locked for the command's lifetime.
    pub fn stdout() -> Output {
        Output {
            out: std::io::stdout().lock(),
            closed: false,
            failed: false,
        }
    }

    /// Writes one line, unless the output is already closed.
    pub fn line(&mut self, args: std::fmt::Arguments<'_>) {
        if self.closed {
            return;
        }
        if let Err(e) = writeln!(self.out, "{}", args) {
            self.fail(e);
        }
    }

    /// Whether the reader has gone away (nothing more will be written).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Flushes what is buffered; true unless a write failed for a reason other than a
    /// closed pipe.
    pub fn finish(mut self) -> bool {
        if !self.closed {
            if let Err(e) = self.out.flush() {
                self.fail(e);
            }
        }
        !self.failed
    }

    fn fail(&mut self, e: std::io::Error) {
        self.closed = true;
        if e.kind() != ErrorKind::BrokenPipe {
            self.failed = true;
            eprintln!("cannot write to standard output: {}", e);
        }
    }
}

/// `outln!(out, "fmt", args...)`: [`Output::line`] with `format!` arguments.
macro_rules! outln {
    ($out:expr) => {
        $out.line(format_args!(""))
    };
    ($out:expr, $($arg:tt)*) => {
        $out.line(format_args!($($arg)*))
    };
}
pub(crate) use outln;
