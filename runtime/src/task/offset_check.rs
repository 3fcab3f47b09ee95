//! Says so when a sink resumes somewhere else than its committed offset: the committed
//! offset of an assigned partition is below the log start (retention or DeleteRecords
//! removed those records) or beyond its end (the topic was recreated). The consumer
//! then starts per `auto.offset.reset`; librdkafka does that silently, so records can
//! be skipped without a word. The check runs on its own thread with its own client so
//! that it never delays the rebalance.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::connector::TopicPartition;

/// Checks the newly assigned partitions in the background and logs each reset.
pub fn spawn(config: ClientConfig, partitions: Vec<TopicPartition>, task: String) {
    if partitions.is_empty() {
        return;
    }
    let _ = std::thread::Builder::new()
        .name(format!("offset-check-{}", task))
        .spawn(move || {
            if let Err(e) = check(&config, &partitions, &task) {
                tracing::debug!(task = %task, "could not compare committed offsets with the log: {}", e);
            }
        });
}

fn check(config: &ClientConfig, partitions: &[TopicPartition], task: &str) -> Result<(), String> {
    let reset = config
        .get("auto.offset.reset")
        .unwrap_or("latest")
        .to_string();
    let mut c = config.clone();
    c.set("enable.auto.commit", "false");
    let consumer: BaseConsumer = c.create().map_err(|e| e.to_string())?;
    let mut tpl = TopicPartitionList::new();
    for tp in partitions {
        tpl.add_partition(&tp.topic, tp.partition);
    }
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    for e in committed.elements() {
        let Offset::Offset(at) = e.offset() else {
            continue;
        };
        let (low, high) = consumer
            .fetch_watermarks(e.topic(), e.partition(), Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        if let Some(what) = describe(at, low, high, &reset) {
            tracing::warn!(task = %task, "committed offset {} of {}-{} {}", at, e.topic(), e.partition(), what);
        }
    }
    Ok(())
}

/// What happens to a committed offset `at` in a log from `low` to `high`.
fn describe(at: i64, low: i64, high: i64, reset: &str) -> Option<String> {
    let to = match reset {
        "earliest" | "smallest" | "beginning" => format!("the start of the log ({})", low),
        "latest" | "largest" | "end" => format!("the end of the log ({})", high),
        other => format!("auto.offset.reset={} decides", other),
    };
    if at < low {
        Some(format!(
            "is no longer in the log (retention or a deletion removed records up to {}): the sink resumes at {} per auto.offset.reset={}; records {}..{} were never delivered to it",
            low, to, reset, at, low
        ))
    } else if at > high {
        Some(format!(
            "is beyond the end of the log ({}; was the topic recreated?): the sink resumes at {} per auto.offset.reset={}",
            high, to, reset
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn only_offsets_outside_the_log_are_reported() {
        assert_eq!(describe(100, 0, 200, "earliest"), None);
        assert_eq!(describe(200, 0, 200, "earliest"), None);
        let below = describe(100, 150, 200, "earliest").unwrap();
        assert!(below.contains("no longer in the log"), "{below}");
        assert!(
            below.contains("resumes at the start of the log (150)"),
            "{below}"
        );
        assert!(
            below.contains("records 100..150 were never delivered"),
            "{below}"
        );
        let beyond = describe(300, 0, 200, "latest").unwrap();
        assert!(
            beyond.contains("beyond the end of the log (200"),
            "{beyond}"
        );
    }
}
