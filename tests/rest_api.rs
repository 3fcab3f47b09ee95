//! The REST API, endpoint by endpoint: status codes and JSON bodies field by field.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

fn worker(dir: &std::path::Path, extra: &str) -> (Sluice, Api) {
    let port = free_port();
    let w = Sluice::standalone(dir, &worker_yaml(dir, port, extra), &[]);
    let api = Api::new(port);
    api.wait_ready();
    (w, api)
}

fn sink_config(dir: &std::path::Path, topic: &str) -> serde_json::Value {
    json!({"connector.class": "FileStreamSink", "topics": topic, "file": format!("{}/out.txt", dir.display())})
}

#[test]
fn root_health_and_unknown_routes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, api) = worker(dir.path(), "");
    let r = api.get("/");
    assert_eq!(r.status, 200);
    // The Connect REST API level first, as clients parse `major.minor` from it.
    assert_eq!(
        r.body["version"],
        format!("4.3.1-sluice-{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(r.body["sluice_version"], env!("CARGO_PKG_VERSION"));
    assert!(r.body["commit"].is_string());
    assert!(
        r.body["kafka_cluster_id"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{}",
        r.text
    );
    let r = api.get("/health");
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("healthy"))
    );
    let r = api.get("/no/such/path");
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error_code"], 404);
    let r = api.send("POST", "/connectors/x/status", None);
    assert_eq!(r.status, 405);
    assert_eq!(r.body["error_code"], 405);
    assert!(w.terminate().success());
}

#[test]
fn connector_crud_lifecycle_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut w, api) = worker(d, "");
    let worker_id = format!("127.0.0.1:{}", api.base.rsplit(':').next().unwrap());
    let topic = unique("rest");
    create_topic(&topic, 1);
    assert_eq!(api.get("/connectors").body, json!([]));

    // Create.
    let r = api.post(
        "/connectors",
        &json!({"name": "x", "config": sink_config(d, &topic)}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    // An absolute URL, as Connect answers.
    assert_eq!(
        r.location.as_deref(),
        Some(format!("http://{}/connectors/x", worker_id).as_str())
    );
    assert_eq!(r.body["name"], "x");
    assert_eq!(r.body["type"], "sink");
    assert_eq!(r.body["config"]["name"], "x");
    assert_eq!(r.body["config"]["topics"], topic.as_str());
    assert_eq!(r.body["tasks"], json!([{"connector": "x", "task": 0}]));

    // Create errors: name clash, malformed JSON, missing name, invalid config, bad state.
    let r = api.post(
        "/connectors",
        &json!({"name": "x", "config": sink_config(d, &topic)}),
    );
    assert_eq!((r.status, r.body["error_code"].as_i64()), (409, Some(409)));
    assert_eq!(r.body["message"], "Connector x already exists");
    let r = api.send("POST", "/connectors", Some("{\"name\": "));
    assert_eq!((r.status, r.body["error_code"].as_i64()), (400, Some(400)));
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("Invalid request body"),
        "{}",
        r.text
    );
    let r = api.post("/connectors", &json!({"config": sink_config(d, &topic)}));
    assert_eq!(r.status, 400);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("String may not be empty"),
        "{}",
        r.text
    );
    let r = api.post("/connectors", &json!({"name": "bad", "config": {"connector.class": "FileStreamSink", "tasks.max": "zero"}}));
    assert_eq!(r.status, 400);
    let msg = r.body["message"].as_str().unwrap();
    assert!(
        msg.starts_with(
            // tasks.max, and the missing topics under both topics and topics.regex (as Connect)
            "Connector configuration is invalid and contains the following 3 error(s):"
        ),
        "{}",
        msg
    );
    assert!(
        msg.contains("Invalid value zero for configuration tasks.max: Not a number of type INT"),
        "{}",
        msg
    );
    assert!(
        msg.contains("Must configure one of topics or topics.regex"),
        "{}",
        msg
    );
    let r = api.post(
        "/connectors",
        &json!({"name": "y", "config": sink_config(d, &topic), "initial_state": "SLEEPING"}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        api.get("/connectors").body,
        json!(["x"]),
        "nothing changed on rejected requests"
    );

    // Read.
    let r = api.get("/connectors/x");
    assert_eq!(
        (r.status, r.body["name"].as_str(), r.body["type"].as_str()),
        (200, Some("x"), Some("sink"))
    );
    assert_eq!(
        api.get("/connectors/x/config").body["file"],
        format!("{}/out.txt", d.display())
    );
    let r = api.get("/connectors/nope");
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body,
        json!({"error_code": 404, "message": "Connector nope not found"})
    );
    let r = api.get("/connectors/nope/status");
    assert_eq!(
        (r.status, r.body["message"].as_str()),
        (404, Some("No status found for connector nope"))
    );

    // Status, tasks.
    let st = api.wait_state("x", "RUNNING");
    assert_eq!(st["name"], "x");
    assert_eq!(st["type"], "sink");
    assert_eq!(st["connector"]["worker_id"], worker_id.as_str());
    assert_eq!(st["tasks"][0]["id"], 0);
    assert_eq!(st["tasks"][0]["worker_id"], worker_id.as_str());
    assert!(st["connector"].get("trace").is_none());
    let tasks = api.get("/connectors/x/tasks");
    assert_eq!(tasks.body[0]["id"], json!({"connector": "x", "task": 0}));
    assert_eq!(tasks.body[0]["config"]["topics"], topic.as_str());
    let r = api.get("/connectors/x/tasks/0/status");
    assert_eq!(
        (r.status, r.body["id"].as_i64(), r.body["state"].as_str()),
        (200, Some(0), Some("RUNNING"))
    );
    assert_eq!(api.get("/connectors/x/tasks/7/status").status, 404);
    assert_eq!(
        tasks.body[0]["config"]["task.class"], "org.apache.kafka.connect.file.FileStreamSinkTask",
        "task configs carry Connect's task.class"
    );
    // Removed in Connect 4, as here.
    assert_eq!(api.get("/connectors/x/tasks-config").status, 404);

    // Update: PUT (200 existing, 201 new), PATCH (null removes a key), name mismatch.
    let mut cfg = sink_config(d, &topic);
    cfg["errors.log.enable"] = json!("true");
    let r = api.put("/connectors/x/config", &cfg);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["config"]["errors.log.enable"], "true");
    let r = api.put("/connectors/x2/config", &sink_config(d, &topic));
    assert_eq!(
        (r.status, r.location.as_deref()),
        (
            201,
            Some(format!("http://{}/connectors/x2", worker_id).as_str())
        )
    );
    let mut wrong = sink_config(d, &topic);
    wrong["name"] = json!("other");
    let r = api.put("/connectors/x/config", &wrong);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["message"],
        "Connector name configuration (other) doesn't match connector name in the URL (x)"
    );
    let r = api.patch(
        "/connectors/x/config",
        &json!({"errors.log.enable": null, "errors.tolerance": "all"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["config"].get("errors.log.enable").is_none());
    assert_eq!(r.body["config"]["errors.tolerance"], "all");
    let r = api.patch("/connectors/x/config", &json!({"tasks.max": "lots"}));
    assert_eq!(r.status, 400);
    assert_eq!(
        api.get("/connectors/x/config").body["errors.tolerance"],
        "all",
        "a rejected patch changes nothing"
    );

    // Restarts.
    api.wait_state("x", "RUNNING");
    assert_eq!(
        api.send("POST", "/connectors/x/tasks/0/restart", None)
            .status,
        204
    );
    assert_eq!(
        api.send("POST", "/connectors/x/tasks/5/restart", None)
            .status,
        404
    );
    assert_eq!(api.send("POST", "/connectors/x/restart", None).status, 204);
    api.wait_state("x", "RUNNING");
    let r = api.send("POST", "/connectors/x/restart?includeTasks=true", None);
    assert_eq!(r.status, 202);
    assert_eq!(r.body["connector"]["state"], "RESTARTING");
    assert_eq!(r.body["tasks"][0]["state"], "RESTARTING");
    api.wait_state("x", "RUNNING");
    let r = api.send(
        "POST",
        "/connectors/x/restart?includeTasks=true&onlyFailed=true",
        None,
    );
    assert_eq!(r.status, 202);
    assert_eq!(
        r.body["connector"]["state"], "RUNNING",
        "only failed ones restart"
    );
    assert_eq!(r.body["tasks"][0]["state"], "RUNNING");
    assert_eq!(
        api.send("POST", "/connectors/nope/restart", None).status,
        404
    );

    // Pause, resume, stop.
    assert_eq!(api.put_empty("/connectors/x/pause").status, 202);
    api.wait_state("x", "PAUSED");
    assert_eq!(api.put_empty("/connectors/x/resume").status, 202);
    api.wait_state("x", "RUNNING");
    let r = api.patch("/connectors/x/offsets", &json!({"offsets": [{"partition": {"kafka_topic": topic, "kafka_partition": 0}, "offset": {"kafka_offset": 0}}]}));
    assert_eq!(r.status, 400);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .starts_with("Connectors must be in the STOPPED state"),
        "{}",
        r.text
    );
    assert_eq!(api.delete("/connectors/x/offsets").status, 400);
    assert_eq!(api.put_empty("/connectors/x/stop").status, 204);
    let st = api.get("/connectors/x/status").body;
    assert_eq!(st["connector"]["state"], "STOPPED");
    assert_eq!(st["tasks"], json!([]), "a stopped connector holds no tasks");
    assert_eq!(api.get("/connectors/x").body["tasks"], json!([]));

    // Expand.
    let r = api.get("/connectors?expand=status&expand=info");
    assert_eq!(r.body["x"]["status"]["connector"]["state"], "STOPPED");
    assert_eq!(r.body["x"]["info"]["name"], "x");
    assert_eq!(r.body["x2"]["info"]["type"], "sink");
    let r = api.get("/connectors?expand=info");
    assert!(r.body["x"].get("status").is_none());

    // Topics.
    let r = api.get("/connectors/x2/topics");
    wait_for("x2 to report its topic", Duration::from_secs(60), || {
        api.get("/connectors/x2/topics").body["x2"]["topics"] == json!([topic])
    });
    assert_eq!(r.status, 200);
    assert_eq!(api.put_empty("/connectors/x2/topics/reset").status, 202);
    assert_eq!(
        api.get("/connectors/x2/topics").body,
        json!({"x2": {"topics": []}})
    );
    assert_eq!(api.get("/connectors/nope/topics").status, 404);

    // Delete.
    assert_eq!(api.delete("/connectors/x").status, 204);
    assert_eq!(api.delete("/connectors/x").status, 404);
    assert_eq!(api.get("/connectors").body, json!(["x2"]));
    assert!(w.terminate().success());
}

#[test]
fn plugins_validate_and_loggers() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, api) = worker(dir.path(), "");
    let r = api.get("/connector-plugins");
    assert_eq!(r.status, 200);
    let list = r.body.as_array().unwrap();
    let file_source = list
        .iter()
        .find(|p| p["class"] == "org.apache.kafka.connect.file.FileStreamSourceConnector")
        .unwrap();
    assert_eq!(file_source["type"], "source");
    assert!(file_source["version"].is_string());
    assert!(list
        .iter()
        .all(|p| p["type"] == "source" || p["type"] == "sink"));
    let all = api.get("/connector-plugins?connectorsOnly=false").body;
    let types: std::collections::HashSet<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_str().unwrap())
        .collect();
    for t in [
        "source",
        "sink",
        "converter",
        "header_converter",
        "transformation",
        "predicate",
    ] {
        assert!(types.contains(t), "no {} in {}", t, all);
    }
    assert!(all
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["class"] == "org.apache.kafka.connect.transforms.RegexRouter"));

    let r = api.get("/connector-plugins/FileStreamSource/config");
    assert_eq!(r.status, 200);
    let batch = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "batch.size")
        .unwrap();
    assert_eq!(batch["type"], "INT");
    assert_eq!(batch["default_value"], "2000");
    assert_eq!(batch["required"], false);
    assert_eq!(batch["importance"], "LOW");
    assert!(batch["documentation"]
        .as_str()
        .unwrap()
        .contains("maximum number of records"));
    let topic = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "topic")
        .unwrap();
    assert_eq!(topic["required"], true);
    assert_eq!(
        api.get("/connector-plugins/org.apache.kafka.connect.transforms.Cast$Value/config")
            .status,
        200
    );
    let r = api.get("/connector-plugins/NoSuchPlugin/config");
    assert_eq!((r.status, r.body["error_code"].as_i64()), (404, Some(404)));

    // Validate: every error under its key.
    let r = api.put(
        "/connector-plugins/FileStreamSink/config/validate",
        &json!({"connector.class": "FileStreamSink", "name": "v", "tasks.max": "0", "errors.tolerance": "maybe"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    // The connector class as given, as Connect answers.
    assert_eq!(r.body["name"], "FileStreamSink");
    // tasks.max, errors.tolerance, and no topics (reported under topics and topics.regex).
    assert_eq!(r.body["error_count"], 4, "{}", r.text);
    assert!(r.body["groups"]
        .as_array()
        .unwrap()
        .contains(&json!("Common")));
    let find = |k: &str| {
        r.body["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["value"]["name"] == k)
            .cloned()
            .unwrap()
    };
    let tasks = find("tasks.max");
    assert_eq!(tasks["value"]["value"], "0");
    assert_eq!(
        tasks["value"]["errors"][0],
        "Invalid value 0 for configuration tasks.max: Value must be at least 1"
    );
    assert_eq!(tasks["value"]["visible"], true);
    assert_eq!(tasks["definition"]["type"], "INT");
    assert_eq!(
        find("topics")["value"]["errors"][0],
        "Must configure one of topics or topics.regex"
    );
    let tol = find("errors.tolerance");
    // As Connect: no recommended values here, but every converter class for converters.
    assert_eq!(tol["value"]["recommended_values"], json!([]));
    assert!(find("value.converter")["value"]["recommended_values"]
        .as_array()
        .unwrap()
        .contains(&json!("org.apache.kafka.connect.json.JsonConverter")));
    assert_eq!(tol["value"]["errors"].as_array().unwrap().len(), 1);
    assert_eq!(find("file")["value"]["errors"], json!([]));
    let ok = api.put(
        "/connector-plugins/file-sink/config/validate",
        &json!({"name": "v", "topics": "t"}),
    );
    assert_eq!(ok.body["error_count"], 0, "{}", ok.text);
    let r = api.put(
        "/connector-plugins/FileStreamSink/config/validate",
        &json!({"connector.class": "FileStreamSource", "name": "v"}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["message"],
        "Included connector type FileStreamSource does not match request type FileStreamSink"
    );

    // Loggers.
    let r = api.get("/admin/loggers");
    assert_eq!(r.body["root"]["level"], "INFO");
    let r = api.put(
        "/admin/loggers/sluice_runtime::task",
        &json!({"level": "DEBUG"}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!(["sluice_runtime::task"]));
    let r = api.get("/admin/loggers/sluice_runtime::task");
    assert_eq!(r.body["level"], "DEBUG");
    assert!(r.body["last_modified"].as_i64().unwrap() > 1_700_000_000_000);
    assert_eq!(
        api.get("/admin/loggers/sluice_runtime::task::sink").body["level"],
        "DEBUG",
        "children inherit"
    );
    let r = api.put("/admin/loggers/x", &json!({"level": "LOUD"}));
    assert_eq!(
        (r.status, r.body["message"].as_str()),
        (404, Some("invalid log level 'LOUD'."))
    );
    let r = api.put("/admin/loggers/x", &json!({}));
    assert_eq!(
        (r.status, r.body["message"].as_str()),
        (
            400,
            Some("Desired 'level' parameter was not specified in request.")
        )
    );
    assert_eq!(
        api.put("/admin/loggers/x?scope=cluster", &json!({"level": "WARN"}))
            .status,
        204
    );
    assert!(w.terminate().success());
}

#[test]
fn file_pipeline_driven_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut w, api) = worker(d, "");
    let topic = unique("api-pipe");
    create_topic(&topic, 1);
    let input = d.join("in.txt");
    write_lines(&input, 0, 100);
    let out = d.join("out.txt");
    let src = json!({"connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": topic});
    assert_eq!(
        api.post("/connectors", &json!({"name": "src", "config": src}))
            .status,
        201
    );
    assert_eq!(
        api.post(
            "/connectors",
            &json!({"name": "sink", "config": sink_config(d, &topic)})
        )
        .status,
        201
    );
    api.wait_state("src", "RUNNING");
    api.wait_state("sink", "RUNNING");
    wait_for("100 lines", Duration::from_secs(120), || {
        lines(&out).len() >= 100
    });

    // Paused: nothing moves.
    assert_eq!(api.put_empty("/connectors/src/pause").status, 202);
    api.wait_state("src", "PAUSED");
    write_lines(&input, 100, 10);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(end_offset(&topic), 100, "no records while paused");
    assert_eq!(api.put_empty("/connectors/src/resume").status, 202);
    wait_for(
        "the 10 lines written while paused",
        Duration::from_secs(60),
        || lines(&out).len() >= 110,
    );

    // Stopped: offsets readable; reset them; resume starts from the beginning.
    assert_eq!(api.put_empty("/connectors/src/stop").status, 204);
    let size = std::fs::metadata(&input).unwrap().len();
    let r = api.get("/connectors/src/offsets");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({"offsets": [{"partition": {"filename": input.display().to_string()}, "offset": {"position": size}}]})
    );
    let r = api.delete("/connectors/src/offsets");
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["message"]
        .as_str()
        .unwrap()
        .contains("have been reset successfully"));
    assert_eq!(
        api.get("/connectors/src/offsets").body,
        json!({"offsets": []})
    );
    assert_eq!(api.put_empty("/connectors/src/resume").status, 202);
    api.wait_state("src", "RUNNING");
    wait_for("the whole file again", Duration::from_secs(60), || {
        end_offset(&topic) >= 220
    });

    // Alter to a position: line 100 onwards is sent once more.
    assert_eq!(api.put_empty("/connectors/src/stop").status, 204);
    let line100: u64 = std::fs::read_to_string(&input)
        .unwrap()
        .lines()
        .take(100)
        .map(|l| l.len() as u64 + 1)
        .sum();
    let body = json!({"offsets": [{"partition": {"filename": input.display().to_string()}, "offset": {"position": line100}}]});
    let r = api.patch("/connectors/src/offsets", &body);
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["message"]
        .as_str()
        .unwrap()
        .contains("have been altered successfully"));
    assert_eq!(api.patch("/connectors/src/offsets", &json!({"offsets": [{"partition": {"filename": "x"}, "offset": {"position": {"nested": 1}}}]})).status, 400);
    assert_eq!(api.patch("/connectors/src/offsets", &json!({})).status, 400);
    assert_eq!(api.put_empty("/connectors/src/resume").status, 202);
    wait_for("lines 100..110 again", Duration::from_secs(60), || {
        end_offset(&topic) >= 230
    });
    std::thread::sleep(Duration::from_secs(1));
    let msgs = read_all(&topic);
    assert_eq!(msgs.len(), 230);
    assert_eq!(
        msgs[110].value_str(),
        "line-0",
        "reset started from the beginning"
    );
    assert_eq!(
        msgs[220].value_str(),
        "line-100",
        "alter started from the given position"
    );

    // Sink offsets: committed per partition; alter and reset them while stopped.
    wait_for("the sink to catch up", Duration::from_secs(120), || {
        lines(&out).len() >= 230
    });
    assert_eq!(api.put_empty("/connectors/sink/stop").status, 204);
    let r = api.get("/connectors/sink/offsets");
    assert_eq!(
        r.body["offsets"][0]["partition"],
        json!({"kafka_topic": topic, "kafka_partition": 0})
    );
    assert_eq!(r.body["offsets"][0]["offset"], json!({"kafka_offset": 230}));
    let r = api.patch("/connectors/sink/offsets", &json!({"offsets": [{"partition": {"kafka_topic": topic, "kafka_partition": 0}, "offset": {"kafka_offset": 225}}]}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        api.get("/connectors/sink/offsets").body["offsets"][0]["offset"],
        json!({"kafka_offset": 225})
    );
    assert_eq!(api.put_empty("/connectors/sink/resume").status, 202);
    wait_for("the last 5 records again", Duration::from_secs(120), || {
        lines(&out).len() >= 235
    });
    assert_eq!(lines(&out)[230..], lines(&out)[225..230]);
    let bad = api.patch(
        "/connectors/sink/offsets",
        &json!({"offsets": [{"partition": {"kafka_partition": 0}, "offset": {"kafka_offset": 1}}]}),
    );
    assert_eq!(bad.status, 400, "{}", bad.text);
    // Reset the sink: it reads the topic again from the start.
    assert_eq!(api.put_empty("/connectors/sink/stop").status, 204);
    let r = api.delete("/connectors/sink/offsets");
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["message"]
        .as_str()
        .unwrap()
        .contains("have been reset successfully"));
    let after = api.get("/connectors/sink/offsets").body;
    assert!(
        after["offsets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["offset"]["kafka_offset"] == 0),
        "no offset, or the start: {}",
        after
    );
    assert_eq!(api.put_empty("/connectors/sink/resume").status, 202);
    wait_for("the whole topic again", Duration::from_secs(120), || {
        lines(&out).len() >= 235 + 230
    });
    assert_eq!(lines(&out)[235], "line-0");

    assert_eq!(api.delete("/connectors/src").status, 204);
    assert_eq!(api.delete("/connectors/sink").status, 204);
    assert!(w.terminate().success());
}

#[test]
fn api_created_connectors_come_back_after_a_restart_in_their_state() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let yaml = worker_yaml(d, port, "");
    let mut w = Sluice::standalone(d, &yaml, &[]);
    let api = Api::new(port);
    api.wait_ready();
    let topic = unique("persist");
    create_topic(&topic, 1);
    for (name, state) in [("a", None), ("b", Some("PAUSED")), ("c", None)] {
        let mut body = json!({"name": name, "config": sink_config(d, &topic)});
        if let Some(s) = state {
            body["initial_state"] = json!(s);
        }
        assert_eq!(api.post("/connectors", &body).status, 201);
    }
    assert_eq!(api.put_empty("/connectors/c/stop").status, 204);
    api.wait_state("b", "PAUSED");
    assert!(w.terminate().success());

    let mut w = Sluice::standalone(d, &yaml, &[]);
    api.wait_ready();
    assert_eq!(api.get("/connectors").body, json!(["a", "b", "c"]));
    api.wait_state("a", "RUNNING");
    api.wait_state("b", "PAUSED");
    assert_eq!(
        api.get("/connectors/c/status").body["connector"]["state"],
        "STOPPED"
    );
    assert_eq!(
        api.get("/connectors/a/config").body["topics"],
        topic.as_str()
    );
    // Deleted connectors stay deleted.
    assert_eq!(api.delete("/connectors/a").status, 204);
    assert!(w.terminate().success());
    let mut w = Sluice::standalone(d, &yaml, &[]);
    api.wait_ready();
    assert_eq!(api.get("/connectors").body, json!(["b", "c"]));
    assert!(w.terminate().success());
}

#[test]
fn file_connectors_show_in_the_api_and_are_changed_through_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cdir = d.join("connectors");
    std::fs::create_dir(&cdir).unwrap();
    let topic = unique("filecfg");
    create_topic(&topic, 1);
    std::fs::write(
        cdir.join("f.yaml"),
        format!(
            "name: f\nconfig:\n  connector.class: file-sink\n  topics: {}\n  file: {}/f.txt\n",
            topic,
            d.display()
        ),
    )
    .unwrap();
    std::fs::write(
        cdir.join("broken.yaml"),
        "name: broken\nconfig:\n  connector.class: file-sink\n  tasks.max: x\n",
    )
    .unwrap();
    let (mut w, api) = worker(
        d,
        &format!(
            "connectors.dir: {}\nconnectors.dir.poll.interval.ms: 200",
            cdir.display()
        ),
    );
    assert_eq!(api.get("/connectors").body, json!(["broken", "f"]));
    api.wait_state("f", "RUNNING");
    let st = api.get("/connectors/broken/status").body;
    assert_eq!(st["connector"]["state"], "FAILED");
    assert!(
        st["connector"]["trace"]
            .as_str()
            .unwrap()
            .contains("tasks.max"),
        "{}",
        st
    );
    let r = api.put("/connectors/f/config", &sink_config(d, &topic));
    assert_eq!(r.status, 409);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("is defined by the file"),
        "{}",
        r.text
    );
    assert_eq!(api.delete("/connectors/f").status, 409);
    assert_eq!(api.put_empty("/connectors/f/pause").status, 202);
    api.wait_state("f", "PAUSED");
    assert!(w.terminate().success());
}

#[test]
fn secrets_from_config_providers_are_used_but_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let secret_file = d.join("secret-out.txt");
    let props = d.join("secrets.properties");
    std::fs::write(&props, format!("sink.file={}\n", secret_file.display())).unwrap();
    let extra = "config.providers: file\nconfig.providers.file.class: org.apache.kafka.common.config.provider.FileConfigProvider";
    let (mut w, api) = worker(d, extra);
    let topic = unique("secret");
    create_topic(&topic, 1);
    produce(&topic, &[(None, Some(b"hello"), vec![])]);
    let placeholder = format!("${{file:{}:sink.file}}", props.display());
    // A fresh name: the sink's consumer group must not be one a killed worker of
    // another test left members in (the test broker keeps them).
    let name = unique("secret");
    let r = api.post("/connectors", &json!({"name": name, "config": {"connector.class": "FileStreamSink", "topics": topic, "file": placeholder}}));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["config"]["file"], placeholder.as_str());
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while lines(&secret_file) != vec!["hello"] {
        assert!(
            std::time::Instant::now() < deadline,
            "the record never reached the file named by the secret; status {}; log:\n{}",
            api.get(&format!("/connectors/{name}/status")).text,
            w.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        api.get(&format!("/connectors/{name}/config")).body["file"],
        placeholder.as_str()
    );
    assert_eq!(
        api.get(&format!("/connectors/{name}/tasks")).body[0]["config"]["file"],
        placeholder.as_str()
    );
    let v = api.put(
        "/connector-plugins/FileStreamSink/config/validate",
        &json!({"name": name, "topics": "t", "file": placeholder}),
    );
    let file_entry = v.body["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["value"]["name"] == "file")
        .unwrap()
        .clone();
    assert_eq!(file_entry["value"]["value"], "[hidden]");
    assert!(
        !w.log_text().contains(&secret_file.display().to_string()),
        "the secret value is never logged"
    );
    assert!(w.terminate().success());
}

#[test]
fn metrics_follow_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut w, api) = worker(d, "");
    let topic = unique("metrics");
    create_topic(&topic, 1);
    let input = d.join("in.txt");
    write_lines(&input, 0, 250);
    let src = json!({"connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": topic, "batch.size": "100"});
    assert_eq!(
        api.post("/connectors", &json!({"name": "m-src", "config": src}))
            .status,
        201
    );
    assert_eq!(
        api.post(
            "/connectors",
            &json!({"name": "m-sink", "config": sink_config(d, &topic)})
        )
        .status,
        201
    );
    wait_for("250 lines", Duration::from_secs(120), || {
        lines(&d.join("out.txt")).len() >= 250
    });
    std::thread::sleep(Duration::from_secs(1));
    let text = api.get("/metrics").text;
    let value = |line_start: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(line_start))
            .unwrap_or_else(|| panic!("no {} in\n{}", line_start, text))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(
        value("kafka_connect_source_task_source_record_poll_total{connector=\"m-src\",task=\"0\"}"),
        250.0
    );
    assert_eq!(
        value(
            "kafka_connect_source_task_source_record_write_total{connector=\"m-src\",task=\"0\"}"
        ),
        250.0
    );
    assert_eq!(
        value("kafka_connect_sink_task_sink_record_read_total{connector=\"m-sink\",task=\"0\"}"),
        250.0
    );
    assert_eq!(
        value("kafka_connect_sink_task_sink_record_send_total{connector=\"m-sink\",task=\"0\"}"),
        250.0
    );
    assert_eq!(
        value(
            "kafka_connect_source_task_source_record_active_count{connector=\"m-src\",task=\"0\"}"
        ),
        0.0
    );
    assert!(
        value("kafka_connect_connector_task_batch_size_max{connector=\"m-src\",task=\"0\"}")
            <= 100.0
    );
    assert!(value("kafka_connect_connector_task_offset_commit_success_percentage{connector=\"m-src\",task=\"0\"}") > 0.99);
    assert_eq!(value("kafka_connect_connector_task_status{connector=\"m-src\",task=\"0\",status=\"running\"}"), 1.0);
    assert_eq!(value("kafka_connect_worker_connector_count"), 2.0);
    assert_eq!(value("kafka_connect_worker_task_count"), 2.0);
    assert_eq!(
        value("kafka_connect_worker_connector_running_task_count{connector=\"m-sink\"}"),
        1.0
    );
    assert_eq!(
        value("kafka_connect_task_error_total_record_errors{connector=\"m-sink\",task=\"0\"}"),
        0.0
    );
    // Every family appears once, with its samples together.
    let families: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE ")).collect();
    let unique_families: std::collections::HashSet<&&str> = families.iter().collect();
    assert_eq!(families.len(), unique_families.len());
    assert!(w.terminate().success());
}

#[test]
fn basic_and_bearer_auth_and_tls() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::env::set_var("SLUICE_TEST_ADMIN_PW", "pw-from-env");
    let extra = "rest.auth.type: basic\nrest.auth.basic.users: admin:${env:SLUICE_TEST_ADMIN_PW}\nconfig.providers: env\nconfig.providers.env.class: EnvVarConfigProvider";
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, extra), &[]);
    let api = Api::new(port);
    api.wait_ready();
    assert_eq!(api.get("/health").status, 200, "health needs no auth");
    let r = api.get("/connectors");
    assert_eq!((r.status, r.body["error_code"].as_i64()), (401, Some(401)));
    let bad = Api::new(port).with_auth("Basic YWRtaW46d3Jvbmc=");
    assert_eq!(bad.get("/connectors").status, 401);
    use base64::Engine;
    let good = Api::new(port).with_auth(&format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("admin:pw-from-env")
    ));
    assert_eq!(good.get("/connectors").status, 200);
    assert!(w.terminate().success());

    // Bearer tokens over HTTPS.
    let cert = d.join("cert.pem");
    let key = d.join("key.pem");
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success());
    let port = free_port();
    let yaml = worker_yaml(d, port, &format!(
        "rest.auth.type: bearer\nrest.auth.bearer.tokens: t0ken\nlisteners.https.ssl.certificate.location: {}\nlisteners.https.ssl.key.location: {}",
        cert.display(), key.display()
    ))
    .replace(&format!("listeners: http://127.0.0.1:{}", port), &format!("listeners: https://127.0.0.1:{}", port));
    let mut w = Sluice::standalone(d, &yaml, &[]);
    let curl = |auth: Option<&str>, path: &str| -> String {
        let mut c = std::process::Command::new("curl");
        c.args(["-sk", "-o", "/dev/null", "-w", "%{http_code}"]);
        if let Some(a) = auth {
            c.args(["-H", &format!("Authorization: {}", a)]);
        }
        String::from_utf8(
            c.arg(format!("https://127.0.0.1:{}{}", port, path))
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
    };
    wait_for("the HTTPS API", Duration::from_secs(60), || {
        curl(None, "/health") == "200"
    });
    assert_eq!(curl(None, "/connectors"), "401");
    assert_eq!(curl(Some("Bearer nope"), "/connectors"), "401");
    assert_eq!(curl(Some("Bearer t0ken"), "/connectors"), "200");
    assert!(w.terminate().success());
}

#[test]
fn topic_tracking_can_be_switched_off_as_in_connect() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, api) = worker(dir.path(), "topic.tracking.enable: false\n");
    let topic = unique("untracked");
    let r = api.put(
        "/connectors/tt/config",
        &json!({"connector.class": "FileStreamSource", "topic": topic, "file": format!("{}/in.txt", dir.path().display())}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    for (method, path) in [
        ("GET", "/connectors/tt/topics"),
        ("PUT", "/connectors/tt/topics/reset"),
        // Checked before the connector is looked up, as Connect does.
        ("GET", "/connectors/nope/topics"),
    ] {
        let r = api.send(method, path, None);
        assert_eq!(r.status, 403, "{method} {path}: {}", r.text);
        assert_eq!(
            r.body,
            json!({"error_code": 403, "message": "Topic tracking is disabled."})
        );
    }
    assert!(w.terminate().success());

    // Tracking on, reset off: the list is there, the reset is refused.
    let dir = tempfile::tempdir().unwrap();
    let (mut w, api) = worker(dir.path(), "topic.tracking.allow.reset: false\n");
    write_lines(&dir.path().join("in.txt"), 0, 3);
    let r = api.put(
        "/connectors/tr/config",
        &json!({"connector.class": "FileStreamSource", "topic": topic, "file": format!("{}/in.txt", dir.path().display())}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    wait_for("the topic tracked", Duration::from_secs(30), || {
        api.get("/connectors/tr/topics").body["tr"]["topics"] == json!([topic])
    });
    let r = api.put_empty("/connectors/tr/topics/reset");
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"error_code": 403, "message": "Topic tracking reset is disabled."})
    );
    assert_eq!(
        api.get("/connectors/tr/topics").body["tr"]["topics"],
        json!([topic])
    );
    assert!(w.terminate().success());
}

#[test]
fn a_cluster_without_topic_tracking_writes_no_topic_records() {
    let dir = tempfile::tempdir().unwrap();
    let g = unique("untracked-cluster");
    let port = free_port();
    let yaml = format!(
        "bootstrap.servers: {}\ngroup.id: {g}\nconfig.storage.topic: {g}-configs\n\
         offset.storage.topic: {g}-offsets\nstatus.storage.topic: {g}-status\n\
         offset.storage.partitions: 2\nstatus.storage.partitions: 1\n\
         config.storage.replication.factor: 1\noffset.storage.replication.factor: 1\n\
         status.storage.replication.factor: 1\nlisteners: http://127.0.0.1:{port}\n\
         topic.tracking.enable: false\noffset.flush.interval.ms: 500\n",
        bootstrap()
    );
    let mut w = Sluice::distributed(dir.path(), &yaml);
    let api = Api::new(port);
    api.wait_ready();
    let topic = unique("untracked-out");
    write_lines(&dir.path().join("in.txt"), 0, 5);
    let r = api.put(
        "/connectors/ut/config",
        &json!({"connector.class": "FileStreamSource", "topic": topic, "file": format!("{}/in.txt", dir.path().display())}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    wait_for("the lines in Kafka", Duration::from_secs(60), || {
        end_offset(&topic) == 5
    });
    // Statuses are written; topic records are not (Connect's `topic-` keys).
    wait_for("the task status", Duration::from_secs(30), || {
        read_all(&format!("{}-status", g))
            .iter()
            .any(|m| m.key_str() == Some("status-task-ut-0"))
    });
    std::thread::sleep(Duration::from_secs(2));
    let keys: Vec<String> = read_all(&format!("{}-status", g))
        .iter()
        .filter_map(|m| m.key_str().map(String::from))
        .collect();
    assert!(
        !keys.iter().any(|k| k.starts_with("topic-")),
        "topic records written: {keys:?}"
    );
    let r = api.get("/connectors/ut/topics");
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(w.terminate().success());
}

/// Every metric name a PromQL expression of the Grafana dashboard queries.
fn dashboard_metrics() -> std::collections::BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/grafana/sluice.json");
    let d: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .expect("the dashboard is JSON");
    let names = regex::Regex::new(r"\b((?:kafka_connect|sluice)_[a-z_]+)").unwrap();
    let mut out = std::collections::BTreeSet::new();
    for p in d["panels"].as_array().expect("panels") {
        for t in p["targets"].as_array().expect("targets") {
            let expr = t["expr"].as_str().expect("expr");
            out.extend(names.captures_iter(expr).map(|c| c[1].to_string()));
        }
    }
    out
}

#[test]
fn the_grafana_dashboard_queries_what_the_worker_serves_and_sink_lag_is_measured() {
    let wanted = dashboard_metrics();
    assert!(wanted.len() >= 15, "{wanted:?}");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut w, api) = worker(d, "");
    let topic = unique("lagging");
    create_topic(&topic, 1);
    let values: Vec<String> = (0..2000).map(|i| format!("v{i}")).collect();
    produce_to(&topic, 0, &values);
    write_lines(&d.join("in.txt"), 0, 5);
    let src = json!({"connector.class": "FileStreamSource", "file": format!("{}/in.txt", d.display()), "topic": unique("dash-src")});
    assert_eq!(api.put("/connectors/dash-src/config", &src).status, 201);
    // A sink that cannot write (/dev/full: every write fails with ENOSPC, retried
    // forever) and takes 10 records per put: it stops reading, and the rest of the
    // topic is its lag.
    let sink = json!({"connector.class": "FileStreamSink", "file": "/dev/full", "topics": topic,
        "errors.retry.timeout": "-1", "consumer.override.max.poll.records": "10"});
    assert_eq!(api.put("/connectors/dash-sink/config", &sink).status, 201);
    let lag = |text: &str, name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(&format!("{name}{{")) && l.contains("connector=\"dash-sink\""))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1.0)
    };
    let mut text = String::new();
    wait_for("the sink's lag", Duration::from_secs(60), || {
        text = api.get("/metrics").text;
        lag(&text, "sluice_sink_task_records_lag") > 1500.0
    });
    let (sum, max) = (
        lag(&text, "sluice_sink_task_records_lag"),
        lag(&text, "sluice_sink_task_records_lag_max"),
    );
    assert!(sum <= 2000.0, "{sum}");
    assert_eq!(sum, max, "one partition: its lag is the sum");
    // served only by queue sources: tests/queue_backlog.rs checks it against RabbitMQ
    for name in wanted
        .iter()
        .filter(|n| *n != "sluice_source_task_queue_backlog")
    {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{name}{{"))),
            "the dashboard queries {name}, which /metrics does not serve:\n{text}"
        );
    }
    assert_eq!(api.delete("/connectors/dash-sink").status, 204);
    assert!(w.terminate().success());
}
