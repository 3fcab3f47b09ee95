//! `sluice top`: a live view of the connectors and tasks of a worker or a cluster, from
//! the REST API. On a terminal it is a dashboard with keys to pause, resume, stop and
//! restart the selected connector or task ([`dashboard`]); with `--once`, or when the
//! output is not a terminal, it prints the view as text.

mod dashboard;
mod view;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use crate::output::Output;
use crate::rest_client::RestTarget;

pub async fn run(target: RestTarget, interval: u64, once: bool) -> ExitCode {
    let client = match target.client() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sluice top: {}", e);
            return ExitCode::FAILURE;
        }
    };
    let interval = Duration::from_secs(interval.max(1));
    if !once && std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        return dashboard::run(target, client, interval).await;
    }
    loop {
        let text = match view::snapshot(&target, &client).await {
            Ok(v) => view::render_text(&v),
            Err(e) if once => {
                eprintln!("sluice top: {}", e);
                return ExitCode::FAILURE;
            }
            Err(e) => format!("sluice top: {} (retrying)", e),
        };
        let mut out = Output::stdout();
        out.line(format_args!("{}", text));
        if once || out.is_closed() {
            return if out.finish() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        drop(out);
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = tokio::signal::ctrl_c() => return ExitCode::SUCCESS,
        }
    }
}
