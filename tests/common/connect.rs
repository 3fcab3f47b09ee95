//! Apache Kafka Connect (the reference) as a process beside Sluice: a distributed
//! worker run by `scripts/connect.sh` from the jars `scripts/stack.sh` fetched.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{bootstrap, wait_for, Api};

/// A Kafka Connect worker process.
pub struct Connect {
    child: Option<Child>,
    pub port: u16,
    pub log: PathBuf,
}

/// Distributed worker properties for a Connect worker on the test broker.
pub fn connect_properties(group: &str, port: u16, extra: &str) -> String {
    format!(
        "bootstrap.servers={}\ngroup.id={group}\n\
         config.storage.topic={group}-configs\noffset.storage.topic={group}-offsets\nstatus.storage.topic={group}-status\n\
         config.storage.replication.factor=1\noffset.storage.replication.factor=1\nstatus.storage.replication.factor=1\n\
         key.converter=org.apache.kafka.connect.storage.StringConverter\n\
         value.converter=org.apache.kafka.connect.storage.StringConverter\n\
         listeners=http://127.0.0.1:{port}\nrest.advertised.host.name=127.0.0.1\n\
         offset.flush.interval.ms=500\n{extra}\n",
        bootstrap()
    )
}

impl Connect {
    /// Starts `connect-distributed` with `properties` (written to `dir`).
    pub fn distributed(dir: &Path, properties: &str) -> Connect {
        Self::start(dir, "distributed", properties, &[])
    }

    /// Starts `connect-standalone` with worker `properties` and connector files.
    pub fn standalone(dir: &Path, properties: &str, connectors: &[&Path]) -> Connect {
        Self::start(dir, "standalone", properties, connectors)
    }

    fn start(dir: &Path, mode: &str, properties: &str, connectors: &[&Path]) -> Connect {
        let port = properties
            .lines()
            .find_map(|l| l.trim().strip_prefix("listeners=http://127.0.0.1:"))
            .and_then(|p| p.trim().parse().ok())
            .expect("listeners=http://127.0.0.1:<port>");
        std::fs::create_dir_all(dir).unwrap();
        let props = dir.join(format!("connect-{port}.properties"));
        std::fs::write(&props, properties).unwrap();
        let log = dir.join(format!("connect-{port}.log"));
        let logf = std::fs::File::create(&log).unwrap();
        let child = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/connect.sh"))
            .arg(mode)
            .arg(&props)
            .args(connectors)
            .stdin(Stdio::null())
            .stdout(logf.try_clone().unwrap())
            .stderr(logf)
            .spawn()
            .expect("scripts/connect.sh");
        Connect {
            child: Some(child),
            port,
            log,
        }
    }

    /// Waits until the REST API answers and the worker has joined its group.
    pub fn wait_ready(&self) -> Api {
        let api = Api::new(self.port);
        wait_for("Kafka Connect's REST API", Duration::from_secs(120), || {
            reqwest::blocking::get(format!("http://127.0.0.1:{}/connectors", self.port))
                .map(|r| r.status().is_success())
                .unwrap_or(false)
        });
        api
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// SIGTERM and wait for the JVM to exit.
    pub fn terminate(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-15")
                .arg(c.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if c.try_wait().unwrap().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Connect {
    fn drop(&mut self) {
        self.kill();
    }
}
