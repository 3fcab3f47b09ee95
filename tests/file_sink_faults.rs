//! The file sink under real write failures: a disk that fills up and gets space back
//! (a small tmpfs), and fsync calls that fail (EIO injected into the running worker's
//! `fdatasync` by strace). After either, the file holds every line exactly once and
//! whole, and offsets are committed only for lines that were fsynced. And a sink whose
//! writes block (stdout nobody reads) long enough for its consumer to pause and then
//! resume its partitions.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A line of about 100 bytes for record `i`.
fn line(i: usize) -> String {
    format!("line-{:06}-{}", i, "x".repeat(88))
}

fn produce_lines(topic: &str, n: usize) -> Vec<String> {
    let want: Vec<String> = (0..n).map(line).collect();
    for chunk in want.chunks(5_000) {
        produce_to(topic, 0, chunk);
    }
    want
}

fn sink_config(dir: &Path, name: &str, topic: &str, file: &Path) -> PathBuf {
    let p = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &p,
        format!(
            // errors.retry.timeout -1: the task rides through the full disk (the
            // default, 0, would fail it at the first error)
            "name: {name}\nconfig:\n  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}\n  errors.retry.timeout: -1\n",
            file.display()
        ),
    )
    .unwrap();
    p
}

/// The newline-terminated lines of a file (a partial last line is left out).
fn whole_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read(path).unwrap_or_default();
    let end = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    String::from_utf8_lossy(&text[..end])
        .lines()
        .map(str::to_string)
        .collect()
}

/// A tmpfs of `size` mounted on a fresh directory (as root, or with `sudo -n`);
/// unmounted on drop.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: PathBuf, size: &str) -> Tmpfs {
        std::fs::create_dir_all(&dir).unwrap();
        let args = ["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"];
        let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        let status = if root {
            Command::new("mount").args(args).arg(&dir).status()
        } else {
            Command::new("sudo")
                .args(["-n", "mount"])
                .args(args)
                .arg(&dir)
                .status()
        };
        assert!(
            status.is_ok_and(|s| s.success()),
            "this test needs a small filesystem that really fills up: it mounts a tmpfs, \
             which takes root or passwordless sudo"
        );
        Tmpfs { dir }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        let mut c = if root {
            Command::new("umount")
        } else {
            let mut c = Command::new("sudo");
            c.args(["-n", "umount"]);
            c
        };
        let _ = c.arg("-l").arg(&self.dir).status();
    }
}

#[test]
fn a_full_disk_that_gets_space_back_ends_with_every_line_once_and_whole() {
    const N: usize = 30_000; // about 3 MB
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let disk = Tmpfs::mount(d.join("disk"), "4m");
    // Leave about 1 MB free: the sink runs out of space a third of the way through,
    // both in put (a full write buffer) and in flush.
    let filler = disk.dir.join("filler");
    std::fs::write(&filler, vec![0u8; 3 << 20]).unwrap();
    let topic = unique("sink-full");
    create_topic(&topic, 1);
    let want = produce_lines(&topic, N);
    let name = unique("sink-full");
    let out = disk.dir.join("out.txt");
    let c = sink_config(d, &name, &topic, &out);
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);

    wait_for("the disk to fill up", Duration::from_secs(60), || {
        w.log_text().contains("No space left on device")
    });
    // Failing for a while: writes and flushes retried, nothing committed past the
    // lines on disk.
    std::thread::sleep(Duration::from_secs(3));
    let on_disk = whole_lines(&out).len() as i64;
    let committed = committed_offset(&format!("connect-{name}"), &topic).unwrap_or(0);
    assert!(
        committed <= on_disk && on_disk < N as i64,
        "committed {committed} with {on_disk} lines on disk"
    );

    // Space comes back.
    std::fs::remove_file(&filler).unwrap();
    wait_for("every offset committed", Duration::from_secs(120), || {
        committed_offset(&format!("connect-{name}"), &topic) == Some(N as i64)
    });
    assert!(w.terminate().success());
    let log = w.log_text();
    let (puts, flushes) = (
        log.matches("put failed, retrying").count(),
        log.matches("flush failed").count(),
    );
    eprintln!("{puts} failed puts and {flushes} failed flushes retried");
    assert!(puts + flushes > 0, "the failure was retried:\n{log}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.ends_with('\n'), "the file ends with a whole line");
    let got: Vec<String> = text.lines().map(str::to_string).collect();
    assert_same_lines(&got, &want, "file after the disk got space back");
}

/// `sluice standalone` run under strace, which makes `fdatasync` fail with EIO: each
/// thread's first `failures` calls are not executed and return EIO.
struct Traced {
    strace: Child,
    log: PathBuf,
    trace: PathBuf,
}

impl Traced {
    fn start(dir: &Path, worker: &str, connector: &Path, failures: u32) -> Traced {
        let wpath = dir.join("worker.yaml");
        std::fs::write(&wpath, worker).unwrap();
        let log = dir.join("worker.log");
        let trace = dir.join("strace.txt");
        let strace = Command::new("strace")
            .args(["-f", "-qq", "--seccomp-bpf", "-y", "-e", "signal=none"])
            .args(["-e", "trace=fdatasync,ftruncate"])
            .arg("-e")
            .arg(format!("inject=fdatasync:error=EIO:when=1..{failures}"))
            .arg("-o")
            .arg(&trace)
            .arg(env!("CARGO_BIN_EXE_sluice"))
            .arg("standalone")
            .arg(&wpath)
            .arg(connector)
            .env("SLUICE_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("strace is installed (Debian package strace)");
        Traced { strace, log, trace }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM to sluice (strace's child); waits for both to end.
    fn terminate(&mut self) -> Option<i32> {
        let pid = self.strace.id();
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
        let sluice = children.split_whitespace().next().expect("sluice runs");
        Command::new("kill")
            .args(["-TERM", sluice])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(st) = self.strace.try_wait().unwrap() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("sluice did not stop; log:\n{}", self.log_text());
    }
}

impl Drop for Traced {
    fn drop(&mut self) {
        let pid = self.strace.id();
        if let Ok(children) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
            for c in children.split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", c]).status();
            }
        }
        let _ = self.strace.kill();
        let _ = self.strace.wait();
    }
}

/// strace's lines with each call whole: a call another thread interrupted shows as
/// `<pid> name(args <unfinished ...>` and later `<pid> <... name resumed>rest`.
fn joined_calls(trace: &str) -> Vec<String> {
    let mut open: std::collections::HashMap<String, String> = Default::default();
    let mut out = Vec::new();
    for l in trace.lines() {
        let pid = l.split_whitespace().next().unwrap_or("").to_string();
        if let Some(start) = l.strip_suffix(" <unfinished ...>") {
            open.insert(pid, start.to_string());
        } else if let Some(i) = l.find(" resumed>") {
            let start = open.remove(&pid).unwrap_or_default();
            out.push(format!("{}{}", start, &l[i + " resumed>".len()..]));
        } else {
            out.push(l.to_string());
        }
    }
    out
}

#[test]
fn a_failed_fsync_is_never_followed_by_a_commit_without_rewriting() {
    const N: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("sink-fsync");
    create_topic(&topic, 1);
    let want = produce_lines(&topic, N);
    let name = unique("sink-fsync");
    let out = d.join("out.txt");
    let c = sink_config(d, &name, &topic, &out);
    let mut w = Traced::start(d, &worker_yaml(d, free_port(), ""), &c, 2);

    wait_for("every offset committed", Duration::from_secs(120), || {
        committed_offset(&format!("connect-{name}"), &topic) == Some(N as i64)
    });
    assert_eq!(w.terminate(), Some(0), "{}", w.log_text());
    // In the syscall trace of the output file: after every failed fdatasync, the file
    // is cut back to its last fsynced length before the next fdatasync succeeds, so what
    // that fsync covers was written again after the failure. (The sink calls fdatasync
    // only with lines written since the last successful one.)
    let file = out.display().to_string();
    let trace = joined_calls(&std::fs::read_to_string(&w.trace).unwrap());
    let calls: Vec<&str> = trace
        .iter()
        .map(String::as_str)
        .filter(|l| l.contains(&format!("<{file}>")))
        .collect();
    let failed = calls
        .iter()
        .filter(|l| l.contains("fdatasync(") && l.contains("EIO"))
        .count();
    assert!(
        failed > 0,
        "an fsync of the file failed:\n{}",
        trace.join("\n")
    );
    let mut after_failure = false;
    for l in &calls {
        if l.contains("fdatasync(") && l.contains("EIO") {
            after_failure = true;
        } else if l.contains("ftruncate(") {
            after_failure = false;
        } else if l.contains("fdatasync(") && l.ends_with("= 0") {
            assert!(
                !after_failure,
                "an fsync succeeded after a failed one without the file being cut back \
                 and written again:\n{}",
                calls.join("\n")
            );
        }
    }
    let log = w.log_text();
    assert!(
        log.contains("fsync failed: Input/output error"),
        "the flush failed on the injected error:\n{log}"
    );

    let got: Vec<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_same_lines(&got, &want, "file after failed fsyncs");
}

#[test]
fn lines_are_in_the_file_at_once_not_at_the_first_flush() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("visible");
    create_topic(&topic, 1);
    let want = produce_lines(&topic, 20);
    let out = d.join("out.txt");
    let name = unique("visible");
    let c = sink_config(d, &name, &topic, &out);
    // No offset flush (so no fsync and no commit) during the test: the lines must be
    // written by `put` itself, as Connect's sink writes them.
    let worker = worker_yaml(d, free_port(), "").replace(
        "offset.flush.interval.ms: 500",
        "offset.flush.interval.ms: 600000",
    );
    assert!(worker.contains("offset.flush.interval.ms: 600000"));
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_for("the lines in the file", Duration::from_secs(30), || {
        whole_lines(&out) == want
    });
    assert_eq!(
        committed_offset(&format!("connect-{name}"), &topic),
        None,
        "visible before anything was committed"
    );
    assert!(w.terminate().success());
    // The stop flushed and committed them.
    assert_eq!(whole_lines(&out), want);
}

/// A sink that cannot write for longer than half of `max.poll.interval.ms` (its
/// stdout, which nobody reads) makes the consumer thread pause its partitions to stay
/// in the group; once the sink writes again, the partitions resume where they stopped
/// and the consumer reads its fetch queue again: every line once, in order.
#[test]
fn a_sink_stalled_past_half_the_poll_interval_pauses_then_resumes_losing_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("stall");
    create_topic(&topic, 1);
    let want = produce_lines(&topic, 20_000);
    let conn = dir.path().join("stall.yaml");
    std::fs::write(
        &conn,
        format!(
            // no `file`: the sink writes to stdout; a 6 s poll interval makes the
            // consumer pause after 3 s of stall
            "name: {}\nconfig:\n  connector.class: FileStreamSink\n  topics: {topic}\n  consumer.override.max.poll.interval.ms: 6000\n",
            unique("stall-sink")
        ),
    )
    .unwrap();
    let worker = dir.path().join("worker.yaml");
    std::fs::write(&worker, worker_yaml(dir.path(), free_port(), "")).unwrap();
    let log = dir.path().join("worker.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("standalone")
        .arg(&worker)
        .arg(&conn)
        .env("SLUICE_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // Nobody reads the worker's stdout yet: its pipe fills and the sink's write blocks.
    let stdout = HeldStdout::new(child.stdout.take().unwrap());
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_for(
        "the consumer to pause its partitions",
        Duration::from_secs(60),
        || log_text().contains("the sink task is stalled; pausing its partitions"),
    );
    // Paused for a while: the consumer keeps polling, the group keeps it.
    std::thread::sleep(Duration::from_secs(4));
    stdout.start_reading();
    let lines_out = || stdout.lines("line-");
    let deadline = Instant::now() + Duration::from_secs(90);
    while lines_out().len() < want.len() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let got = lines_out();
    let _ = child.kill();
    let _ = child.wait();
    stdout.join();
    assert_eq!(
        got.len(),
        want.len(),
        "lines on stdout; log:\n{}",
        log_text()
    );
    assert!(
        got == want,
        "the lines are not the records, once each, in order"
    );
    assert!(
        !log_text().contains("partitions revoked"),
        "the consumer left the group while paused; log:\n{}",
        log_text()
    );
}
