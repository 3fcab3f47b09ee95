//! The Kubernetes manifests parse and wire the REST port and probes as documented.

#[test]
fn kubernetes_manifests_are_consistent() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/kubernetes/sluice.yaml"
    ))
    .unwrap();
    let docs: Vec<serde_json::Value> = text
        .split("\n---\n")
        .map(|d| {
            serde_json::to_value(serde_yaml::from_str::<serde_yaml::Value>(d).unwrap()).unwrap()
        })
        .collect();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        vec![
            "ConfigMap",
            "ConfigMap",
            "Service",
            "Service",
            "StatefulSet"
        ]
    );
    let sts = &docs[4];
    let c = &sts["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        c["args"],
        serde_json::json!(["distributed", "/etc/sluice/worker.yaml"])
    );
    assert_eq!(c["ports"][0]["containerPort"], 8083);
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/health");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/health");
    // The worker config in the ConfigMap is a valid Sluice worker config.
    let worker = docs[0]["data"]["worker.yaml"].as_str().unwrap();
    let raw = sluice_runtime::config::files::parse_worker(
        worker,
        sluice_runtime::config::files::Format::Yaml,
        "worker.yaml",
    )
    .unwrap();
    std::env::set_var("POD_IP", "10.0.0.7");
    let w = sluice_runtime::config::worker::WorkerConfig::parse(raw).unwrap();
    assert_eq!(w.worker_id(), "10.0.0.7:8083");
    assert_eq!(
        w.connectors_dir.as_deref(),
        Some(std::path::Path::new("/etc/sluice/connectors"))
    );
    let mounts = c["volumeMounts"].as_array().unwrap();
    assert!(mounts
        .iter()
        .any(|m| m["mountPath"] == "/etc/sluice/connectors"));
}
