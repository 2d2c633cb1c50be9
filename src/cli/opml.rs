//! `hejnal opml export|import`: the sources as OPML, for feed readers and for
//! moving a list of feeds into feeds.toml.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use hejnal::config::edit::{self, Existing, NewSource};
use hejnal::config::{Config, iso639, valid_slug};
use hejnal::model::Lang;
use hejnal::sources::opml_import::{self, OpmlFeed};

use super::add::{language, load, next_step};

#[derive(Debug, clap::Subcommand)]
pub enum OpmlAction {
    /// Write the enabled sources as OPML 2.0, grouped by city.
    Export {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Add every feed of an OPML file as a source (duplicates are skipped).
    Import {
        file: PathBuf,
        /// Language of feeds whose outline has no `language` attribute.
        #[arg(long)]
        lang: Option<String>,
        /// Print the blocks that would be added; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

pub fn opml(config_path: &Path, action: OpmlAction) -> anyhow::Result<ExitCode> {
    match action {
        OpmlAction::Export { output } => export(config_path, output.as_deref()),
        OpmlAction::Import {
            file,
            lang,
            dry_run,
        } => import(config_path, &file, lang.as_deref(), dry_run),
    }
}

fn export(config_path: &Path, output: Option<&Path>) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let bytes = hejnal::publish::sources_opml(&config)?;
    match output {
        Some(path) => {
            edit::write_atomically(path, &bytes)?;
            let n = config.enabled_sources().count();
            eprintln!("wrote {n} sources to {}", path.display());
        }
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn import(
    config_path: &Path,
    file: &Path,
    lang: Option<&str>,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let (text, config) = load(config_path)?;
    let default_lang = lang.map(language).transpose()?;
    let opml =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let feeds = opml_import::feeds(&opml).with_context(|| file.display().to_string())?;
    let mut existing = Existing::of(&config);
    let mut added = Vec::new();
    for feed in feeds {
        match plan(&existing, &feed, default_lang.as_ref()) {
            Ok(source) => {
                existing.insert(&source);
                added.push(source);
            }
            Err(why) => eprintln!("skipped {}: {why}", feed.xml_url),
        }
    }
    let blocks: String = added.iter().map(|s| format!("\n{}", s.to_toml())).collect();
    let ids: Vec<&str> = added.iter().map(|s| s.id.as_str()).collect();
    if added.is_empty() {
        println!("nothing to add");
    } else if dry_run {
        println!(
            "would add {} sources to {}:\n{blocks}",
            added.len(),
            config_path.display()
        );
    } else {
        edit::append_to_file(config_path, &text, &added)?;
        println!(
            "added {} sources to {}: {}\n{}",
            added.len(),
            config_path.display(),
            ids.join(", "),
            next_step(config_path)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The source an outline becomes, or why it is skipped.
fn plan(
    existing: &Existing,
    feed: &OpmlFeed,
    default_lang: Option<&Lang>,
) -> Result<NewSource, String> {
    let url = url::Url::parse(&feed.xml_url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or("not an http or https URL")?;
    if let Some(id) = existing.owner_of(url.as_str()) {
        return Err(format!("already configured, as source \"{id}\""));
    }
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches("www.");
    let id = match feed.id.as_deref().filter(|id| valid_slug(id)) {
        Some(id) if existing.has_id(id) => return Err(format!("id \"{id}\" is already taken")),
        Some(id) => id.to_string(),
        None => existing.unique_id(feed.title.as_deref().unwrap_or(host)),
    };
    let lang = feed
        .language
        .as_deref()
        .and_then(Lang::parse)
        .filter(|l| iso639::is_known(l.as_str()))
        .or_else(|| default_lang.cloned())
        .ok_or("no usable language attribute; pass --lang LL")?;
    Ok(NewSource {
        id,
        name: feed.title.clone().unwrap_or_else(|| host.to_string()),
        city: feed.group.clone().unwrap_or_default(),
        country: feed.country.clone().unwrap_or_default(),
        url: feed.xml_url.clone(),
        lang: lang.to_string(),
    })
}
