//! Dead letter queue records: the original bytes plus, optionally, Connect's
//! `__connect.errors.*` context headers (all UTF-8 strings).

use bytes::Bytes;

use super::{RecordError, RecordLocation};

/// A record bound for the dead letter queue.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    pub timestamp: Option<i64>,
}

/// The context headers Connect adds to a DLQ record.
pub fn dlq_headers(connector: &str, task: u32, err: &RecordError) -> Vec<(String, Option<Bytes>)> {
    let mut h = Vec::new();
    let mut add =
        |k: &str, v: String| h.push((format!("__connect.errors.{}", k), Some(Bytes::from(v))));
    if let RecordLocation::Kafka {
        topic,
        partition,
        offset,
    } = &err.location
    {
        add("topic", topic.clone());
        add("partition", partition.to_string());
        add("offset", offset.to_string());
    }
    add("connector.name", connector.to_string());
    add("task.id", task.to_string());
    add("stage", err.stage.name().to_string());
    add("class.name", err.class_name.clone());
    add(
        "exception.class.name",
        "org.apache.kafka.connect.errors.DataException".to_string(),
    );
    add("exception.message", err.message.clone());
    let mut trace = format!(
        "org.apache.kafka.connect.errors.DataException: {}",
        err.message
    );
    if let RecordLocation::Source { description } = &err.location {
        trace.push_str(&format!("\n\tat source record {}", description));
    }
    add("exception.stacktrace", trace);
    h
}

#[cfg(test)]
mod tests {
    use super::super::Stage;
    use super::*;

    #[test]
    fn headers_follow_connect() {
        let err = RecordError {
            stage: Stage::ValueConverter,
            class_name: "org.apache.kafka.connect.json.JsonConverter".into(),
            location: RecordLocation::Kafka {
                topic: "in".into(),
                partition: 2,
                offset: 41,
            },
            message: "bad json".into(),
        };
        let h = dlq_headers("sink", 0, &err);
        let get = |k: &str| {
            h.iter()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| v.clone())
                .map(|v| String::from_utf8(v.to_vec()).unwrap())
        };
        assert_eq!(get("__connect.errors.topic").as_deref(), Some("in"));
        assert_eq!(get("__connect.errors.partition").as_deref(), Some("2"));
        assert_eq!(get("__connect.errors.offset").as_deref(), Some("41"));
        assert_eq!(
            get("__connect.errors.stage").as_deref(),
            Some("VALUE_CONVERTER")
        );
        assert_eq!(get("__connect.errors.task.id").as_deref(), Some("0"));
        assert_eq!(
            get("__connect.errors.exception.message").as_deref(),
            Some("bad json")
        );
    }
}
