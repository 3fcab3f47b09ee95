//! The `sluice` binary: command line, logging, and the registry of plugins.

mod allocator;
mod cli;
mod commands;
mod config_test;
mod output;
mod registry;
mod rest_client;
mod tap;
mod top;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    allocator::configure();
    let cli = cli::Cli::parse();
    let log = sluice_runtime::logging::LogControl::init();
    let plugins = registry::plugins();
    match cli.command {
        cli::Command::Standalone {
            worker_config,
            connector_configs,
        } => commands::standalone(plugins, log, worker_config, connector_configs).await,
        cli::Command::Distributed { worker_config } => {
            commands::distributed(plugins, log, worker_config).await
        }
        cli::Command::Validate {
            connector_configs,
            worker,
        } => commands::validate(plugins, connector_configs, worker).await,
        cli::Command::Plugins { json } => commands::plugins(plugins, json),
        cli::Command::Test { test_files } => config_test::run(plugins, test_files).await,
        cli::Command::Tap {
            connector,
            target,
            stage,
            task,
            rate,
            limit,
            json,
        } => {
            let request = tap::TapRequest {
                connector,
                target,
                stage,
                task,
                rate,
                limit,
                json,
            };
            tap::run(request).await
        }
        cli::Command::Top {
            target,
            interval,
            once,
        } => top::run(target, interval, once).await,
    }
}
