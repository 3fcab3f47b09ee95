//! The HTTPS listener when the worker runs out of file descriptors: accept fails with
//! EMFILE while connections wait in the backlog. The accept loop must back off (not
//! spin a core or flood the log) and serve again once descriptors are free.

mod common;

use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;

fn certificate(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let ok = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success(), "openssl req");
    (cert, key)
}

fn health(port: u16) -> String {
    let out = Command::new("curl")
        .args(["-sk", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("https://127.0.0.1:{port}/health"))
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// CPU time (user + system) the process has used, in clock ticks (1/100 s).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses): utime is the 12th,
    // stime the 13th.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

#[test]
fn running_out_of_descriptors_backs_off_and_serves_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (cert, key) = certificate(d);
    let port = free_port();
    let yaml = worker_yaml(
        d,
        port,
        &format!(
            "listeners.https.ssl.certificate.location: {}\nlisteners.https.ssl.key.location: {}",
            cert.display(),
            key.display()
        ),
    )
    .replace(
        &format!("listeners: http://127.0.0.1:{port}"),
        &format!("listeners: https://127.0.0.1:{port}"),
    );
    let mut w = Sluice::standalone(d, &yaml, &[]);
    wait_for("the HTTPS API", Duration::from_secs(60), || {
        health(port) == "200"
    });
    std::thread::sleep(Duration::from_secs(2));

    // Leave the worker 10 descriptors to spare, then open 40 connections that send
    // nothing: the first few are accepted, the rest wait in the backlog while accept
    // fails with EMFILE.
    let pid = w.pid();
    let limit = open_fds(pid) + 10;
    let ok = Command::new("prlimit")
        .arg(format!("--pid={pid}"))
        .arg(format!("--nofile={limit}:"))
        .status()
        .unwrap();
    assert!(ok.success(), "prlimit");
    let conns: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    wait_for("accept to fail", Duration::from_secs(10), || {
        w.log_text().contains("Too many open files")
    });
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(4));
    let used = cpu_ticks(pid) - before;
    eprintln!("CPU while accept fails: {used} ticks in 4 s");
    assert!(
        used < 40,
        "the worker used {:.2} s of CPU in 4 s while accept failed",
        used as f64 / 100.0
    );
    let log = w.log_text();
    assert_eq!(
        log.matches("Too many open files").count(),
        1,
        "logged once per burst, saying why:\n{}",
        &log[log.len().saturating_sub(3000)..]
    );

    // Descriptors come back when the clients leave: the listener serves again.
    drop(conns);
    wait_for("the API to answer again", Duration::from_secs(30), || {
        health(port) == "200"
    });
    wait_for("the recovery line", Duration::from_secs(10), || {
        w.log_text()
            .contains("TLS listener accepts connections again after")
    });
    assert!(w.terminate().success());
}
