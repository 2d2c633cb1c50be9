//! `hejnal add URL`: turn a feed (or a page that links to one) into a new
//! `[[source]]` of feeds.toml, without touching a byte of the rest.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};

use hejnal::config::edit::{self, Existing, NewSource};
use hejnal::config::{Config, ConfigError, iso639, valid_slug};
use hejnal::fetch::{Conditional, FetchOutcome, Fetched, Fetcher};
use hejnal::model::{Lang, ParsedFeed};
use hejnal::parse::{self, ParseError};
use hejnal::sources::discover::{self, DiscoveredFeed};

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The feed, or a web page that links to it.
    pub url: String,
    /// The source's id (a slug); proposed from the feed's title when not given.
    #[arg(long)]
    pub id: Option<String>,
    #[arg(long)]
    pub city: Option<String>,
    /// ISO 639-1 language of the feed; needed when the feed declares none and
    /// its text is too short to tell.
    #[arg(long)]
    pub lang: Option<String>,
    /// Display name; the feed's title when not given.
    #[arg(long)]
    pub name: Option<String>,
    /// ISO 3166 country code, e.g. AT.
    #[arg(long)]
    pub country: Option<String>,
    /// Which of the feeds a page links to (1 = the first listed).
    #[arg(long)]
    pub pick: Option<usize>,
    /// Print the block that would be added; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// A feed found at the URL, or the choice the webmaster has to make.
enum Lookup {
    Feed { url: String, feed: ParsedFeed },
    Choose(Vec<DiscoveredFeed>),
}

pub async fn add(config_path: &Path, args: AddArgs) -> anyhow::Result<ExitCode> {
    let (text, config) = load(config_path)?;
    let existing = Existing::of(&config);
    refuse_known(&existing, &args.url)?;
    if let Some(id) = &args.id {
        if !valid_slug(id) {
            bail!("--id \"{id}\" is not a slug (lower-case a-z, 0-9, '-' and '_')");
        }
        if existing.has_id(id) {
            bail!(
                "a source with id \"{id}\" is already in {}",
                config_path.display()
            );
        }
    }
    let lang = args.lang.as_deref().map(language).transpose()?;
    let fetcher = Fetcher::new(&config.fetch, &config.user_agent())?;
    let (url, feed) = match lookup(&fetcher, &config, &args.url, args.pick).await? {
        Lookup::Feed { url, feed } => (url, feed),
        Lookup::Choose(links) => {
            eprintln!("{}", choices(&args.url, &links));
            return Ok(ExitCode::from(2));
        }
    };
    refuse_known(&existing, &url)?;
    let source = propose(&existing, &args, lang, url, &feed)?;
    existing.admit(&source)?;
    let block = source.to_toml();
    if args.dry_run {
        println!("would add to {}:\n\n{block}", config_path.display());
        return Ok(ExitCode::SUCCESS);
    }
    edit::append_to_file(config_path, &text, std::slice::from_ref(&source))?;
    println!(
        "added source \"{}\" to {}:\n\n{block}\n{}",
        source.id,
        config_path.display(),
        next_step(config_path)
    );
    Ok(ExitCode::SUCCESS)
}

/// The text of feeds.toml and what it says; a broken file is not edited.
pub fn load(path: &Path) -> anyhow::Result<(String, Config)> {
    let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::Read {
        path: path.to_path_buf(),
        cause,
    })?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let config = Config::parse(&text, base_dir)
        .map_err(|diagnostics| ConfigError::Invalid {
            path: path.to_path_buf(),
            diagnostics,
        })
        .context("fix the configuration first (`hejnal check`)")?;
    Ok((text, config))
}

pub fn next_step(config_path: &Path) -> String {
    format!(
        "next: `hejnal check --config {}`, then `systemctl reload hejnal` (the running daemon picks it up)",
        config_path.display()
    )
}

fn refuse_known(existing: &Existing, url: &str) -> anyhow::Result<()> {
    match existing.owner_of(url) {
        Some(id) => bail!("{url} is already in the configuration, as source \"{id}\""),
        None => Ok(()),
    }
}

/// A language code a person typed, checked against ISO 639-1.
pub fn language(raw: &str) -> anyhow::Result<Lang> {
    Lang::parse(raw)
        .filter(|l| iso639::is_known(l.as_str()))
        .ok_or_else(|| anyhow!("\"{raw}\" is not an ISO 639-1 language code (like pl, de, en)"))
}

async fn fetch(fetcher: &Fetcher, config: &Config, url: &str) -> anyhow::Result<Fetched> {
    let outcome = fetcher
        .fetch(url, &Conditional::default(), config.fetch.max_body_bytes)
        .await
        .with_context(|| format!("cannot fetch {url}"))?;
    match outcome {
        FetchOutcome::Fetched(f) => Ok(f),
        FetchOutcome::NotModified { .. } => {
            bail!("{url} answered 304 Not Modified to a plain request")
        }
    }
}

fn parse_feed(config: &Config, f: &Fetched) -> Result<ParsedFeed, ParseError> {
    let max = config.fetch.max_items_per_feed;
    parse::parse(&f.body, f.content_type.as_deref(), &f.final_url, max)
}

/// Where to fetch the feed from now on: the new home after a permanent redirect.
fn lasting_url(f: &Fetched, asked: &str) -> String {
    f.moved_to.clone().unwrap_or_else(|| asked.to_string())
}

async fn lookup(
    fetcher: &Fetcher,
    config: &Config,
    url: &str,
    pick: Option<usize>,
) -> anyhow::Result<Lookup> {
    let page = fetch(fetcher, config, url).await?;
    match parse_feed(config, &page) {
        Ok(feed) => {
            let url = lasting_url(&page, url);
            return Ok(Lookup::Feed { url, feed });
        }
        Err(ParseError::HtmlPage { .. }) => {}
        Err(e) => bail!("{url}: {e}"),
    }
    let links = discover::feed_links(&page.body, &page.final_url);
    let chosen = match (links.len(), pick) {
        (0, _) => bail!(
            "{url} is a web page that links to no feed (no <link rel=\"alternate\"> of a feed type); \
             ask its webmaster for the feed's address"
        ),
        (n, Some(p)) if p == 0 || p > n => {
            bail!("--pick {p}: {url} links to {n} feed(s); pick a number from 1 to {n}")
        }
        (_, Some(p)) => &links[p - 1],
        (1, None) => &links[0],
        (_, None) => return Ok(Lookup::Choose(links)),
    };
    let found = fetch(fetcher, config, &chosen.url).await?;
    let feed = parse_feed(config, &found)
        .with_context(|| format!("{} (linked from {url})", chosen.url))?;
    Ok(Lookup::Feed {
        url: lasting_url(&found, &chosen.url),
        feed,
    })
}

fn choices(url: &str, links: &[DiscoveredFeed]) -> String {
    let mut out = format!("{url} links to {} feeds:\n", links.len());
    for (n, link) in links.iter().enumerate() {
        let title = link.title.as_deref().unwrap_or("(untitled)");
        out.push_str(&format!(
            "  {}. {title} — {} ({})\n",
            n + 1,
            link.url,
            link.kind
        ));
    }
    out.push_str("choose one with --pick N");
    out
}

fn propose(
    existing: &Existing,
    args: &AddArgs,
    lang: Option<Lang>,
    url: String,
    feed: &ParsedFeed,
) -> anyhow::Result<NewSource> {
    let host = url::Url::parse(&url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_start_matches("www.").to_string())
        })
        .unwrap_or_default();
    let title = feed
        .title
        .as_deref()
        .map(hejnal::clean::html::collapse_whitespace)
        .filter(|t| !t.is_empty());
    let lang = match lang {
        Some(lang) => lang,
        None => feed_language(feed).ok_or_else(|| {
            anyhow!(
                "cannot tell the language of {url}: the feed declares none and its text is too \
                 short to detect; pass --lang LL"
            )
        })?,
    };
    Ok(NewSource {
        id: args
            .id
            .clone()
            .unwrap_or_else(|| existing.unique_id(title.as_deref().unwrap_or(&host))),
        name: args.name.clone().or(title).unwrap_or(host),
        city: args.city.clone().unwrap_or_default(),
        country: args.country.clone().unwrap_or_default(),
        url,
        lang: lang.to_string(),
    })
}

/// The feed's declared language, else the one its items read as.
fn feed_language(feed: &ParsedFeed) -> Option<Lang> {
    feed.lang
        .as_deref()
        .and_then(Lang::parse)
        .filter(|l| iso639::is_known(l.as_str()))
        .or_else(|| hejnal::clean::lang::detect(&hejnal::cycle::probe::item_text(&feed.entries)))
}
