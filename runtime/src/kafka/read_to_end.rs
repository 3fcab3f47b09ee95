//! Reading every record of a topic up to its current end (high watermark).

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// Reads all of `topic` from the beginning up to the end as it was when the call
/// started, calling `apply(key, value)` for each record in partition order. Runs on a
/// blocking thread; gives up after `timeout`.
pub async fn read_to_end<F>(
    config: ClientConfig,
    topic: String,
    timeout: Duration,
    apply: F,
) -> Result<(), String>
where
    F: FnMut(Option<&[u8]>, Option<&[u8]>) + Send + 'static,
{
    tokio::task::spawn_blocking(move || read_blocking(config, &topic, timeout, apply))
        .await
        .map_err(|e| format!("reader panicked: {}", e))?
}

fn read_blocking<F>(
    mut config: ClientConfig,
    topic: &str,
    timeout: Duration,
    mut apply: F,
) -> Result<(), String>
where
    F: FnMut(Option<&[u8]>, Option<&[u8]>),
{
    let deadline = Instant::now() + timeout;
    config
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("group.id", "sluice-reader")
        .set("isolation.level", "read_committed");
    let consumer: BaseConsumer = config
        .create()
        .map_err(|e| format!("cannot create a consumer for {}: {}", topic, e))?;
    let partitions = partitions_with_leaders(&consumer, topic, deadline)?;
    let mut ends = Vec::new();
    let mut tpl = TopicPartitionList::new();
    for p in &partitions {
        let (low, high) = watermarks(&consumer, topic, *p, deadline)?;
        if high > low {
            ends.push((*p, high));
            tpl.add_partition_offset(topic, *p, Offset::Offset(low))
                .map_err(|e| e.to_string())?;
        }
    }
    if ends.is_empty() {
        return Ok(());
    }
    consumer
        .assign(&tpl)
        .map_err(|e| format!("cannot read topic {}: {}", topic, e))?;
    let mut remaining: std::collections::HashMap<i32, i64> = ends.into_iter().collect();
    while !remaining.is_empty() {
        if Instant::now() > deadline {
            return Err(format!(
                "timed out reading topic {} to its end ({} partitions left)",
                topic,
                remaining.len()
            ));
        }
        match consumer.poll(Duration::from_millis(200)) {
            None => {
                // A partition whose remaining records were all aborted/compacted away
                // never yields a message; check positions.
                if let Ok(pos) = consumer.position() {
                    for e in pos.elements() {
                        if let Offset::Offset(o) = e.offset() {
                            if remaining.get(&e.partition()).is_some_and(|end| o >= *end) {
                                remaining.remove(&e.partition());
                            }
                        }
                    }
                }
            }
            Some(Err(e)) => return Err(format!("error reading topic {}: {}", topic, e)),
            Some(Ok(m)) => {
                apply(m.key(), m.payload());
                if let Some(end) = remaining.get(&m.partition()) {
                    if m.offset() + 1 >= *end {
                        remaining.remove(&m.partition());
                    }
                }
            }
        }
    }
    Ok(())
}

/// The partitions of `topic` once each has a leader. Right after a topic is created
/// (or while a broker restarts) partitions can be leaderless for a moment: retried
/// until `deadline`.
pub(crate) fn partitions_with_leaders(
    consumer: &BaseConsumer,
    topic: &str,
    deadline: Instant,
) -> Result<Vec<i32>, String> {
    loop {
        let last_problem = match consumer.fetch_metadata(Some(topic), Duration::from_secs(10)) {
            Ok(metadata) => match metadata.topics().iter().find(|t| t.name() == topic) {
                None => format!("topic {} is not in the metadata", topic),
                Some(t) if t.partitions().is_empty() => {
                    format!("topic {} has no partitions (does it exist?)", topic)
                }
                Some(t) => match t
                    .partitions()
                    .iter()
                    .find(|p| p.leader() < 0 || p.error().is_some())
                {
                    None => return Ok(t.partitions().iter().map(|p| p.id()).collect()),
                    Some(p) => format!("partition {}-{} has no leader", topic, p.id()),
                },
            },
            Err(e) => format!("cannot read metadata of topic {}: {}", topic, e),
        };
        if Instant::now() > deadline {
            return Err(last_problem);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Low and high watermark of one partition, retrying transient errors (a leader that
/// is not known yet) until `deadline`.
pub(crate) fn watermarks(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    deadline: Instant,
) -> Result<(i64, i64), String> {
    loop {
        match consumer.fetch_watermarks(topic, partition, Duration::from_secs(10)) {
            Ok(w) => return Ok(w),
            Err(e) if Instant::now() > deadline => {
                return Err(format!(
                    "cannot read the end of {}-{}: {}",
                    topic, partition, e
                ))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}
