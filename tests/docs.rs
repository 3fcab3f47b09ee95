//! Every key Sluice declares is documented in docs/.

mod common;

fn docs_text() -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/docs")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) == Some("md") {
            all.push_str(&std::fs::read_to_string(p).unwrap());
        }
    }
    all.push_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap(),
    );
    all
}

#[test]
fn every_declared_key_is_documented() {
    let (code, out, _) = common::run_cli(&["plugins", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let docs = docs_text();
    let mut missing = Vec::new();
    let mut check = |section: &str, keys: &serde_json::Value| {
        for k in keys.as_array().unwrap() {
            let name = k["name"].as_str().unwrap();
            if !docs.contains(&format!("`{}`", name)) {
                missing.push(format!("{}: {}", section, name));
            }
        }
    };
    check("worker", &v["worker_config"]);
    check("connector", &v["sink_connector_config"]);
    check("source connector", &v["source_connector_config"]);
    for group in ["connectors", "converters", "transforms", "predicates"] {
        for p in v[group].as_array().unwrap() {
            let class = p["class"].as_str().unwrap();
            check(class, &p["config"]);
        }
    }
    assert!(
        missing.is_empty(),
        "keys missing from docs/ (run scripts/gen-config-docs.py or document them):\n{}",
        missing.join("\n")
    );
}
