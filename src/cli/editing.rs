//! The editor's commands: `hejnal stories`, `hide`, `unhide`, `correct` and
//! `publish`. Each changes the store only; the daemon's next cycle, a
//! `systemctl reload` or `hejnal publish` writes the change out.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::Utc;
use clap::Args;
use serde::Serialize;

use hejnal::config::Config;
use hejnal::cycle;
use hejnal::editing::{self, Correction};
use hejnal::fetch::Fetcher;
use hejnal::model::{Lang, Provenance, Story};
use hejnal::store::{Listed, SEARCHED_STORIES, Store};

#[derive(Debug, Args)]
pub struct StoriesArgs {
    /// Only stories with this text in a title (any case), among the newest
    /// ten thousand.
    #[arg(long)]
    search: Option<String>,
    /// Only stories told by this source (its id in feeds.toml).
    #[arg(long)]
    source: Option<String>,
    /// How many stories to list, newest first.
    #[arg(long, default_value_t = 30)]
    limit: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct HideArgs {
    /// The story: its number or id from `hejnal stories`, its id in a feed,
    /// or the link of one of its articles.
    story: String,
    /// Why, kept with the story for whoever looks later.
    #[arg(long, default_value = "")]
    reason: String,
}

#[derive(Debug, Args)]
pub struct UnhideArgs {
    /// The story, as for `hejnal hide`.
    story: String,
}

#[derive(Debug, Args)]
pub struct CorrectArgs {
    /// The story, as for `hejnal hide`.
    story: String,
    /// The language of the text to correct, e.g. `en`.
    #[arg(long)]
    lang: String,
    /// The title in that language.
    #[arg(long, conflicts_with = "revert")]
    title: Option<String>,
    /// The text in that language (plain text or simple HTML).
    #[arg(long, conflicts_with_all = ["summary_file", "revert"])]
    summary: Option<String>,
    /// A file holding the text in that language.
    #[arg(long, conflicts_with = "revert")]
    summary_file: Option<PathBuf>,
    /// Drop the correction: the machine translation comes back.
    #[arg(long)]
    revert: bool,
}

fn open(config_path: &Path) -> anyhow::Result<(Config, Store)> {
    let config = Config::load(config_path)?;
    let db = config.database_path();
    let store =
        Store::open(&db).with_context(|| format!("opening the database {}", db.display()))?;
    Ok((config, store))
}

const NEXT_PUBLISH: &str =
    "it shows at the next publish: `hejnal publish`, `systemctl reload hejnal` or the next cycle";

pub fn stories(config_path: &Path, args: StoriesArgs) -> anyhow::Result<ExitCode> {
    let (_, store) = open(config_path)?;
    let listed = store.list_stories(args.search.as_deref(), args.source.as_deref(), args.limit)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let rows: Vec<Row> = listed.iter().map(Row::of).collect();
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
    } else {
        for row in listed.iter().map(Row::of) {
            writeln!(
                out,
                "{:>7}  {}  {}{}",
                row.number,
                row.published,
                if row.hidden { "[hidden] " } else { "" },
                row.title
            )?;
            writeln!(
                out,
                "         {}  sources: {}  languages: {}",
                row.guid,
                row.sources.join(", "),
                row.languages.join(", ")
            )?;
        }
        if listed.is_empty() {
            let scope = if args.search.is_some() {
                format!(" among the newest {SEARCHED_STORIES}")
            } else {
                String::new()
            };
            writeln!(out, "no stories found{scope}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One story as `hejnal stories` shows it.
#[derive(Serialize)]
struct Row {
    number: i64,
    guid: String,
    published: String,
    hidden: bool,
    title: String,
    sources: Vec<String>,
    /// Each language the story is published in, with where its text comes
    /// from: `pl`, `en (machine)`, `en (edited)`.
    languages: Vec<String>,
}

impl Row {
    fn of(listed: &Listed) -> Row {
        let story = &listed.story;
        let mut sources: Vec<String> = Vec::new();
        let mut languages: Vec<String> = Vec::new();
        for e in &story.entries {
            if !sources.contains(&e.entry.source_id) {
                sources.push(e.entry.source_id.clone());
            }
            let lang = e.entry.lang.to_string();
            if !languages.contains(&lang) {
                languages.push(lang);
            }
        }
        for v in &story.translations {
            languages.push(match v.provenance {
                Provenance::Native { .. } => v.lang.to_string(),
                Provenance::Machine { .. } => format!("{} (machine)", v.lang),
                Provenance::Edited { .. } => format!("{} (edited)", v.lang),
            });
        }
        Row {
            number: story.id,
            guid: story.guid.clone(),
            published: story.published.format("%Y-%m-%d %H:%M").to_string(),
            hidden: listed.hidden,
            title: story
                .entries
                .first()
                .map(|e| e.entry.title.clone())
                .unwrap_or_default(),
            sources,
            languages,
        }
    }
}

pub fn hide(config_path: &Path, args: HideArgs) -> anyhow::Result<ExitCode> {
    let (_, store) = open(config_path)?;
    let story = editing::find(&store, &args.story)?;
    if editing::hide(&store, &story, &args.reason, Utc::now())? {
        println!("hidden: {} ({}); {NEXT_PUBLISH}", title(&story), story.guid);
    } else {
        println!("already hidden: {} ({})", title(&story), story.guid);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn unhide(config_path: &Path, args: UnhideArgs) -> anyhow::Result<ExitCode> {
    let (_, store) = open(config_path)?;
    let story = editing::find(&store, &args.story)?;
    if store.unhide_story(story.id)? {
        println!(
            "shown again: {} ({}); {NEXT_PUBLISH}",
            title(&story),
            story.guid
        );
    } else {
        println!("not hidden: {} ({})", title(&story), story.guid);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn correct(config_path: &Path, args: CorrectArgs) -> anyhow::Result<ExitCode> {
    let (config, store) = open(config_path)?;
    let Some(lang) = Lang::parse(&args.lang) else {
        bail!(
            "--lang {:?} is not a language code such as en or pl",
            args.lang
        );
    };
    if !config.publisher.languages.contains(&lang) {
        bail!(
            "hejnal publishes in {}, not {lang}: only those languages have translations",
            config
                .publisher
                .languages
                .iter()
                .map(Lang::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let story = editing::find(&store, &args.story)?;
    if args.revert {
        if store.revert_correction(story.id, &lang)? {
            println!(
                "correction dropped: {} ({lang}); the machine translation comes back with the next cycle",
                story.guid
            );
        } else {
            println!("no correction to drop: {} ({lang})", story.guid);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let summary = match (&args.summary, &args.summary_file) {
        (Some(text), _) => Some(text.clone()),
        (None, Some(file)) => Some(
            std::fs::read_to_string(file)
                .with_context(|| format!("reading --summary-file {}", file.display()))?,
        ),
        (None, None) => None,
    };
    if args.title.is_none() && summary.is_none() {
        bail!("give --title, --summary or --summary-file (or --revert)");
    }
    let correction = Correction {
        title: args.title,
        summary,
    };
    let variant = editing::correct(&store, &story, &lang, correction)?;
    println!("corrected ({lang}): {}; {NEXT_PUBLISH}", variant.title);
    Ok(ExitCode::SUCCESS)
}

pub async fn publish(config_path: &Path) -> anyhow::Result<ExitCode> {
    let (config, store) = open(config_path)?;
    let fetcher = Fetcher::new(&config.fetch, &config.user_agent())?;
    let written = cycle::publish(&config, &store, &fetcher, Utc::now()).await?;
    println!("published: {} files written", written.len());
    Ok(ExitCode::SUCCESS)
}

fn title(story: &Story) -> &str {
    story
        .entries
        .first()
        .map_or("(no entries)", |e| e.entry.title.as_str())
}
