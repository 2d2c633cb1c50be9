//! Subcommands. Errors here are `anyhow`: this is where they meet a person.

mod add;
mod alerts;
mod check;
mod db;
mod editing;
pub mod logging;
mod once;
mod opml;
mod serve;
mod sources;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "hejnal",
    version,
    about = "Kraków and partner cities' news, gathered and republished as one bilingual feed"
)]
pub struct Args {
    /// Path to feeds.toml.
    #[arg(
        long,
        short,
        global = true,
        default_value = "feeds.toml",
        env = "HEJNAL_CONFIG"
    )]
    pub config: PathBuf,
    /// Log format: human text or one JSON object per line.
    #[arg(long, global = true, value_enum, default_value_t = logging::Format::Human)]
    pub log_format: logging::Format,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: cycles on the schedule, the HTTP server, systemd integration.
    Run {
        /// Address to serve on, overriding `[server] listen`.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Fetch every source once, publish, print a summary and exit.
    Once,
    /// Serve an existing output folder without fetching (a second node behind the same files).
    Serve {
        /// Address to serve on, overriding `[server] listen`.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Check feeds.toml: every problem at once, each with its line and column.
    Check {
        /// Also fetch every enabled source now and report what it answers.
        #[arg(long)]
        probe: bool,
        /// Print the results as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add a feed, or the feed a web page links to, as a new source in feeds.toml.
    Add(add::AddArgs),
    /// How each source is doing: last success, failures, entries, next fetch.
    Sources {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Export the sources as OPML, or import the feeds of an OPML file.
    Opml {
        #[command(subcommand)]
        action: opml::OpmlAction,
    },
    /// Back up or check the database.
    Db {
        #[command(subcommand)]
        action: db::DbAction,
    },
    /// List recent stories with their numbers, ids, sources and languages.
    Stories(editing::StoriesArgs),
    /// Take a story out of every feed, page and future archive.
    Hide(editing::HideArgs),
    /// Bring a hidden story back, with its id and date.
    Unhide(editing::UnhideArgs),
    /// Write a story's text in one language in place of the machine translation.
    Correct(editing::CorrectArgs),
    /// Publish what the database holds now, without fetching.
    Publish,
    /// Alerts to webmasters and the operator: send a test message.
    Alerts {
        #[command(subcommand)]
        action: alerts::AlertsAction,
    },
}

pub fn dispatch(args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match args.command {
        Command::Once => runtime.block_on(once::once(&args.config)),
        Command::Run { listen } => {
            let options = hejnal::daemon::Options {
                config_path: args.config,
                listen,
            };
            runtime.block_on(hejnal::daemon::run(options))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { listen } => {
            runtime.block_on(serve::serve(&args.config, listen))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { probe, json } => runtime.block_on(check::check(&args.config, probe, json)),
        Command::Add(add) => runtime.block_on(add::add(&args.config, add)),
        Command::Sources { json } => sources::sources(&args.config, json),
        Command::Opml { action } => opml::opml(&args.config, action),
        Command::Db { action } => db::db(&args.config, action),
        Command::Stories(a) => editing::stories(&args.config, a),
        Command::Hide(a) => editing::hide(&args.config, a),
        Command::Unhide(a) => editing::unhide(&args.config, a),
        Command::Correct(a) => editing::correct(&args.config, a),
        Command::Publish => runtime.block_on(editing::publish(&args.config)),
        Command::Alerts { action } => runtime.block_on(alerts::alerts(&args.config, action)),
    }
}
