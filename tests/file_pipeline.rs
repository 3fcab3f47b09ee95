//! End to end through the real broker: file source -> topic -> file sink.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use common::*;

fn connector_files(
    dir: &std::path::Path,
    name: &str,
    topic: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let src = dir.join("source.yaml");
    std::fs::write(
        &src,
        format!(
            "name: {name}-in\nconfig:\n  connector.class: FileStreamSource\n  file: {}/in.txt\n  topic: {topic}\n",
            dir.display()
        ),
    )
    .unwrap();
    let sink = dir.join("sink.yaml");
    std::fs::write(
        &sink,
        format!(
            "name: {name}-out\nconfig:\n  connector.class: FileStreamSink\n  file: {}/out.txt\n  topics: {topic}\n",
            dir.display()
        ),
    )
    .unwrap();
    (src, sink)
}

/// How many whole lines the first `bytes` bytes of the input hold.
fn lines_within(input: &[u8], bytes: usize) -> usize {
    input[..bytes.min(input.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
}

#[test]
fn hundred_thousand_lines_arrive_complete_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("lines");
    create_topic(&topic, 1);
    write_lines(&dir.path().join("in.txt"), 0, 100_000);
    let (src, sink) = connector_files(dir.path(), &unique("p"), &topic);
    let mut w = Sluice::standalone(
        dir.path(),
        &worker_yaml(dir.path(), free_port(), ""),
        &[&src, &sink],
    );
    let out = dir.path().join("out.txt");
    wait_for(
        "100000 lines in the sink file",
        Duration::from_secs(300),
        || lines(&out).len() >= 100_000,
    );
    assert!(w.terminate().success());
    let got = lines(&out);
    let want = lines(&dir.path().join("in.txt"));
    assert_eq!(got.len(), 100_000, "no duplicates in a clean run");
    assert_eq!(got, want, "every line, in order");
    // The topic holds each line once, in order, with a null key.
    let msgs = read_all(&topic);
    assert_eq!(msgs.len(), 100_000);
    assert!(msgs.iter().all(|m| m.key.is_none()));
    assert_eq!(msgs[99_999].value_str(), "line-99999");
}

fn complete_lines(path: &std::path::Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0)
}

/// Records in the topic and input lines covered by the stored source offset, read right
/// after a SIGKILL. No offsets file yet means the kill came before the first flush.
fn source_state_at_kill(d: &Path, input: &Path, topic: &str) -> (usize, usize) {
    let in_bytes = std::fs::read(input).unwrap();
    let position = std::fs::read(d.join("offsets.json"))
        .ok()
        .map(|b| serde_json::from_slice::<serde_json::Value>(&b).unwrap())
        .and_then(|o| o["offsets"][0]["value"]["position"].as_u64())
        .unwrap_or(0) as usize;
    (
        end_offset(topic) as usize,
        lines_within(&in_bytes, position),
    )
}

/// Samples, every 100 ms, how many records the topic holds and how many lines the
/// sink file holds, so a test can tell how much arrived in the last second before a
/// kill.
struct Progress {
    samples: std::sync::Arc<std::sync::Mutex<Vec<(std::time::Instant, usize, usize)>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Progress {
    fn start(topic: &str, out: &Path) -> Progress {
        let samples = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (s2, stop2, topic, out) = (
            samples.clone(),
            stop.clone(),
            topic.to_string(),
            out.to_path_buf(),
        );
        std::thread::spawn(move || {
            while !stop2.load(std::sync::atomic::Ordering::SeqCst) {
                let sample = (
                    std::time::Instant::now(),
                    end_offset(&topic) as usize,
                    complete_lines(&out),
                );
                s2.lock().unwrap().push(sample);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Progress { samples, stop }
    }

    /// (records, sink lines) added in the `window` before now.
    fn added_within(&self, window: Duration) -> (usize, usize) {
        let s = self.samples.lock().unwrap();
        let Some(last) = s.last().copied() else {
            return (0, 0);
        };
        let first = s
            .iter()
            .find(|x| last.0.duration_since(x.0) <= window)
            .copied()
            .unwrap_or(last);
        (last.1 - first.1, last.2.saturating_sub(first.2))
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

const CRASH_LINES: usize = 200_000;
const CRASH_CHUNK: usize = 4_000;

/// SIGKILL of a standalone worker running a file source and a file sink with
/// `offset.flush.interval.ms=1000`, while 200,000 lines arrive: nothing is lost, and
/// each side repeats at most what it delivered in the flush interval before the kill
/// (exactly the lines after its last stored offset or commit).
#[test]
fn sigkill_loses_nothing_and_clean_restart_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let topic = unique("crash");
    create_topic(&topic, 1);
    let input = d.join("in.txt");
    std::fs::write(&input, "").unwrap();
    let name = unique("c");
    let (src, sink) = connector_files(&d, &name, &topic);
    let worker = worker_yaml(&d, free_port(), "").replace(
        "offset.flush.interval.ms: 500",
        "offset.flush.interval.ms: 1000",
    );
    let out = d.join("out.txt");
    let group = format!("connect-{}-out", name);
    // The flush interval, and the slack for a flush or commit that is under way.
    let window = Duration::from_millis(1_000 + 1_000);

    // The input grows while the worker runs: 200,000 lines in chunks of 4,000 every
    // 500 ms. After 120,000 lines the writer waits until the sink has been killed
    // (step 2), so that kill always happens while input is still arriving, however
    // slow the machine.
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sink_killed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let input = input.clone();
        let writing = writing.clone();
        let sink_killed = sink_killed.clone();
        std::thread::spawn(move || {
            for chunk in 0..CRASH_LINES / CRASH_CHUNK {
                if chunk == 30 {
                    let deadline = std::time::Instant::now() + Duration::from_secs(300);
                    while !sink_killed.load(std::sync::atomic::Ordering::SeqCst)
                        && std::time::Instant::now() < deadline
                    {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
                write_lines(&input, chunk * CRASH_CHUNK, CRASH_CHUNK);
                std::thread::sleep(Duration::from_millis(500));
            }
            writing.store(false, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let progress = Progress::start(&topic, &out);

    // 1. SIGKILL while the source is mid-stream.
    let mut w = Sluice::standalone(&d, &worker, &[&src, &sink]);
    wait_for(
        "the source to be mid-stream",
        Duration::from_secs(60),
        || end_offset(&topic) >= 40_000,
    );
    w.kill();
    // The sink writes at `put` and commits after the flush: lines written after its
    // last commit are in the file and come again after the restart.
    let written1 = complete_lines(&out);
    let committed1 = (committed_offset(&group, &topic).unwrap_or(0) as usize).min(written1);
    let (produced1, stored1) = source_state_at_kill(&d, &input, &topic);
    let (recent1, _) = progress.added_within(window);
    let (_, recent_out1) = progress.added_within(window + Duration::from_secs(2));
    assert!(
        written1 - committed1 <= recent_out1,
        "the sink repeats at most one commit interval's worth at the first kill: {} > {recent_out1}",
        written1 - committed1
    );
    assert!(
        stored1 <= produced1,
        "an offset is stored only for delivered lines"
    );
    assert!(
        produced1 < CRASH_LINES,
        "the kill happened mid-stream (produced {produced1})"
    );
    let tail1 = produced1 - stored1;
    assert!(
        tail1 <= recent1,
        "the source repeats at most one flush interval's worth: {tail1} lines after the stored offset, {recent1} produced in the last {window:?}"
    );

    // 2. Restart, and SIGKILL again while the sink is mid-stream (the source too):
    // after the restarted sink rejoined its group and committed something new.
    let committed_before = committed_offset(&group, &topic).unwrap_or(0);
    let mut w = Sluice::standalone(&d, &worker, &[&src, &sink]);
    wait_for(
        "the restarted sink to commit while input is still arriving",
        Duration::from_secs(300),
        || {
            committed_offset(&group, &topic).unwrap_or(0) > committed_before
                || !writing.load(std::sync::atomic::Ordering::SeqCst)
        },
    );
    std::thread::sleep(Duration::from_millis(1_700));
    w.kill();
    let sink_was_live = writing.load(std::sync::atomic::Ordering::SeqCst);
    let written_at_kill = complete_lines(&out);
    let committed_at_kill = committed_offset(&group, &topic).unwrap_or(0) as usize;
    let (produced2, stored2) = source_state_at_kill(&d, &input, &topic);
    let (recent2, _) = progress.added_within(window);
    // The sink writes each batch at `put` and commits after the next flush's fsync:
    // what follows the commit is what was written since the last flush began — one
    // interval, plus that flush's fsync and commit, which take seconds on a loaded
    // 2-core machine.
    let (_, recent_out) = progress.added_within(window + Duration::from_secs(2));
    sink_killed.store(true, std::sync::atomic::Ordering::SeqCst);
    // Lines the second run covered: it resumed at stored1.
    let tail2 = (stored1 + produced2 - produced1) - stored2;
    assert!(
        tail2 <= recent2,
        "the source repeats at most one flush interval's worth: {tail2} > {recent2}"
    );
    // The file held the first kill's tail once more: its lines map to topic offsets
    // shifted by that tail.
    let position2 = written_at_kill - (written1 - committed1);
    let sink_tail = position2.saturating_sub(committed_at_kill);
    assert!(
        sink_tail <= recent_out,
        "the sink repeats at most one commit interval's worth: {sink_tail} lines after the commit, {recent_out} written in the last {:?}",
        window + Duration::from_secs(2)
    );
    writer.join().unwrap();

    // 3. Restart: everything arrives.
    let mut w = Sluice::standalone(&d, &worker, &[&src, &sink]);
    wait_for(
        "every line after the restarts",
        Duration::from_secs(300),
        || lines(&out).iter().collect::<HashSet<_>>().len() >= CRASH_LINES,
    );
    // Let the last flush and commit happen, then stop cleanly.
    std::thread::sleep(Duration::from_millis(2_500));
    assert!(w.terminate().success());
    drop(progress);

    let want: HashSet<String> = lines(&input).into_iter().collect();
    assert_eq!(want.len(), CRASH_LINES);
    let topic_msgs = read_all(&topic);
    let got_topic: HashSet<String> = topic_msgs
        .iter()
        .map(|m| m.value_str().to_string())
        .collect();
    assert_eq!(got_topic, want, "nothing lost in Kafka");
    // Duplicates in Kafka are exactly the two kills' tails.
    let source_dups = topic_msgs.len() - CRASH_LINES;
    assert_eq!(
        source_dups,
        tail1 + tail2,
        "source duplicates = the unflushed tails"
    );
    let out_lines = lines(&out);
    let got_out: HashSet<String> = out_lines.iter().cloned().collect();
    assert_eq!(got_out, want, "nothing lost in the sink file");
    // The sink re-writes exactly what it had written but not committed.
    let sink_dups = out_lines.len() - topic_msgs.len();
    assert_eq!(
        sink_dups,
        (written1 - committed1) + sink_tail,
        "sink duplicates = the uncommitted tails"
    );
    // And the file is Kafka's order, with that tail repeated once.
    let topic_vals: Vec<&str> = topic_msgs.iter().map(|m| m.value_str()).collect();
    let mut expected: Vec<&str> = topic_vals[..written1].to_vec();
    expected.extend_from_slice(&topic_vals[committed1..position2]);
    expected.extend_from_slice(&topic_vals[committed_at_kill.min(position2)..]);
    let first_difference = out_lines
        .iter()
        .map(String::as_str)
        .zip(expected.iter().copied())
        .position(|(a, b)| a != b);
    assert!(
        out_lines
            .iter()
            .map(String::as_str)
            .eq(expected.iter().copied()),
        "the sink file is the topic in order, with the uncommitted tails once more: {} lines, {} expected; written {written1} and committed {committed1} at the first kill, {written_at_kill} lines in the file (topic position {position2}) and committed {committed_at_kill} at the second; first difference at line {:?}: {:?} vs {:?}",
        out_lines.len(),
        expected.len(),
        first_difference,
        first_difference.map(|i| &out_lines[i.saturating_sub(2)..(i + 3).min(out_lines.len())]),
        first_difference.map(|i| &expected[i.saturating_sub(2)..(i + 3).min(expected.len())])
    );
    assert!(
        sink_was_live,
        "the second kill happened while input was still arriving"
    );
    println!(
        "source kills: tails {tail1} and {tail2} (last second: {recent1}, {recent2}); sink kill: {written_at_kill} written, {committed_at_kill} committed -> {sink_dups} duplicates (last second: {recent_out})"
    );

    // 4. Clean restart: no new duplicates at all, and new lines arrive exactly once.
    let before_topic = end_offset(&topic);
    let before_out = lines(&out).len();
    let mut w = Sluice::standalone(&d, &worker, &[&src, &sink]);
    write_lines(&input, CRASH_LINES, 1_000);
    wait_for("the 1000 new lines", Duration::from_secs(120), || {
        lines(&out).len() >= before_out + 1_000
    });
    std::thread::sleep(Duration::from_millis(2_500));
    assert!(w.terminate().success());
    assert_eq!(
        end_offset(&topic),
        before_topic + 1_000,
        "a clean restart re-sends nothing"
    );
    let after = lines(&out);
    assert_eq!(
        after.len(),
        before_out + 1_000,
        "a clean restart re-writes nothing"
    );
    assert_eq!(
        after[before_out..].first().map(String::as_str),
        Some(format!("line-{CRASH_LINES}").as_str())
    );
    assert_eq!(
        after.last().map(String::as_str),
        Some(format!("line-{}", CRASH_LINES + 999).as_str())
    );
}
