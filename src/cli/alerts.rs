//! `hejnal alerts test [--source ID]`: sends a test message, so a webmaster
//! or the operator knows alerts reach them before a feed ever breaks.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use clap::Subcommand;

use hejnal::alerts::message::Message;
use hejnal::alerts::{Sender, recipients, status_page};
use hejnal::config::Config;

#[derive(Debug, Subcommand)]
pub enum AlertsAction {
    /// Send a test message to a source's contact and the operator, or to the operator alone.
    Test {
        /// The source whose contact gets the message.
        #[arg(long)]
        source: Option<String>,
    },
}

pub async fn alerts(config_path: &Path, action: AlertsAction) -> anyhow::Result<ExitCode> {
    let AlertsAction::Test { source } = action;
    let config = Config::load(config_path)?;
    let source = match source.as_deref() {
        Some(id) => match config.source(id) {
            Some(s) => Some(s),
            None => bail!("no source with id \"{id}\" in {}", config_path.display()),
        },
        None => None,
    };
    let to = recipients(&config, source.and_then(|s| s.contact.as_deref()));
    if to.is_empty() {
        bail!(
            "nobody to send to: give the source a `contact`, or set `operator` in [alerts] ({})",
            config_path.display()
        );
    }
    let message = Message::test(&config, source, &status_page(&config));
    let sender = Sender::new(&config);
    let mut failed = 0;
    for contact in &to {
        match sender.send(contact, &message).await {
            Ok(()) => println!("sent by {} to {}", contact.transport(), contact.key()),
            Err(e) => {
                failed += 1;
                println!(
                    "FAILED by {} to {}: {e}",
                    contact.transport(),
                    contact.key()
                );
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
