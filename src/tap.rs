//! `sluice tap <connector>`: prints the live tap of a worker's REST API
//! (`GET /connectors/{c}/tap`, Server-Sent Events) as readable lines, or as JSON lines.

use std::process::ExitCode;

use serde_json::Value as Json;

use crate::output::Output;
use crate::rest_client::{api_message, path_segment, RestTarget};

/// What to tap, where, and how to print it.
pub struct TapRequest {
    pub connector: String,
    pub target: RestTarget,
    pub stage: Option<String>,
    pub task: Option<u32>,
    pub rate: u32,
    pub limit: Option<u64>,
    pub json: bool,
}

pub async fn run(r: TapRequest) -> ExitCode {
    match stream(&r).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sluice tap: {}", e);
            ExitCode::FAILURE
        }
    }
}

async fn stream(r: &TapRequest) -> Result<(), String> {
    let base = r.target.base();
    let mut query = vec![("rate", r.rate.to_string())];
    if let Some(s) = &r.stage {
        query.push(("stage", s.clone()));
    }
    if let Some(t) = r.task {
        query.push(("task", t.to_string()));
    }
    let url = format!("{}/connectors/{}/tap", base, path_segment(&r.connector));
    let req = r.target.client()?.get(&url).query(&query);
    let req = r.target.authorize(req);
    let mut resp = req.send().await.map_err(|e| format!("{}: {}", base, e))?;
    if !resp.status().is_success() {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        return Err(format!(
            "{} answered {}: {}",
            url,
            status,
            api_message(&body)
        ));
    }
    let mut out = Output::stdout();
    let mut buf = String::new();
    let mut event = String::new();
    let mut printed = 0u64;
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("the stream from {} broke: {}", base, e))?
    {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(i) = buf.find('\n') {
            let line: String = buf.drain(..=i).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            if let Some(name) = line.strip_prefix("event:") {
                event = name.trim().to_string();
            } else if let Some(data) = line.strip_prefix("data:") {
                let data = data.trim_start();
                match event.as_str() {
                    "record" if r.json => out.line(format_args!("{}", data)),
                    "record" => out.line(format_args!("{}", readable(data))),
                    "lagged" => eprintln!("sluice tap: fell behind, missed {}", data),
                    "tap" => eprintln!("sluice tap: listening ({})", data),
                    _ => {}
                }
                if event == "record" {
                    printed += 1;
                    if r.limit.is_some_and(|l| printed >= l) || out.is_closed() {
                        return out
                            .finish()
                            .then_some(())
                            .ok_or_else(|| "cannot write".into());
                    }
                }
            }
        }
    }
    Err(format!("{} ended the stream", base))
}

/// `task 0 #3 transform mask  topic[0] key=... value=... headers: k=v`
fn readable(data: &str) -> String {
    let Ok(e) = serde_json::from_str::<Json>(data) else {
        return data.to_string();
    };
    let mut s = format!(
        "task {} #{} {}",
        e["task"],
        e["sample"],
        e["stage"].as_str().unwrap_or("?")
    );
    if let Some(step) = e["step"].as_str() {
        s.push(' ');
        s.push_str(step);
    }
    if e["dropped"] == true {
        s.push_str(" dropped");
        return s;
    }
    if let Some(t) = e["topic"].as_str() {
        s.push_str(&format!("  {}", t));
        if let Some(p) = e["partition"].as_i64() {
            s.push_str(&format!("[{}]", p));
        }
        if let Some(o) = e["offset"].as_i64() {
            s.push_str(&format!("@{}", o));
        }
    }
    s.push_str(&format!(" key={} value={}", e["key"], e["value"]));
    if let Some(h) = e["headers"].as_array().filter(|h| !h.is_empty()) {
        let hs: Vec<String> = h
            .iter()
            .map(|h| format!("{}={}", h["key"].as_str().unwrap_or(""), h["value"]))
            .collect();
        s.push_str(&format!(" headers: {}", hs.join(", ")));
    }
    s
}
