//! The public health of every source: status.json for programs, and one
//! status.html per language for the webmasters of the partner cities, in the
//! style of the index pages (askama escapes every value; no scripts).
//!
//! Pure like the rest of `render`: the health is decided before (see
//! `alerts::health`), so the same health gives the same bytes and an
//! unchanged page is not written again.

use askama::Template;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::html::long_date;
use super::{OutputFile, PublishError, output};
use crate::alerts::advice::advice;
use crate::alerts::health::{SourceHealth, State, public_reason};
use crate::config::Config;
use crate::model::Lang;
use crate::parse::Warning;

pub const JSON: &str = "status.json";
pub const HTML: &str = crate::alerts::health::STATUS_PAGE;

/// status.json and a status.html for the page language (the first of
/// `languages`) at the top and in each language's folder.
pub fn render(config: &Config, health: &[SourceHealth]) -> Result<Vec<OutputFile>, PublishError> {
    let mut files = Vec::new();
    render_each(config, health, |file| {
        files.push(file);
        Ok(())
    })?;
    Ok(files)
}

/// [`render`], handing each file to `each` as soon as it is made: with tens
/// of thousands of sources each is megabytes, and only one need be held.
pub fn render_each(
    config: &Config,
    health: &[SourceHealth],
    mut each: impl FnMut(OutputFile) -> Result<(), PublishError>,
) -> Result<(), PublishError> {
    let languages = &config.publisher.languages;
    let ui = languages.first().ok_or(PublishError::NoLanguages)?;
    each(output(JSON.to_string(), json(health)?))?;
    each(output(HTML.to_string(), page(config, health, ui, "")?))?;
    for lang in languages {
        let folder = format!("{lang}/");
        let bytes = page(config, health, lang, &folder)?;
        each(output(format!("{folder}{HTML}"), bytes))?;
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonStatus<'a> {
    sources: Vec<JsonSource<'a>>,
}

#[derive(Serialize)]
struct JsonSource<'a> {
    id: &'a str,
    city: &'a str,
    name: &'a str,
    state: &'static str,
    since: Option<String>,
    /// A date-time while the source fails, else only the day (see `working`).
    last_success: Option<String>,
    last_failure: Option<JsonFailure>,
    /// Entries dated in each of the last four weeks, this week first.
    items_per_week: [u64; 4],
    newest_item: Option<String>,
    conditional_get: Option<bool>,
    language: JsonLanguage<'a>,
    warnings: &'a [Warning],
}

#[derive(Serialize)]
struct JsonFailure {
    at: Option<String>,
    reason: String,
    http_statuses: Vec<u16>,
}

#[derive(Serialize)]
struct JsonLanguage<'a> {
    declared: &'a str,
    detected: Option<&'a str>,
    mismatch: bool,
}

fn json(health: &[SourceHealth]) -> Result<Vec<u8>, PublishError> {
    let rfc3339 = |t: DateTime<Utc>| stamp(t, false);
    let sources = health
        .iter()
        .map(|h| JsonSource {
            id: &h.source.id,
            city: &h.source.city,
            name: &h.source.name,
            state: h.state.code(),
            since: h.state.since().map(rfc3339),
            last_success: h.last_ok.map(|t| stamp(t, working(h))),
            last_failure: h.facts.failure_reason.as_deref().map(|r| JsonFailure {
                at: h.facts.last_failure.map(|t| stamp(t, !working(h))),
                reason: public_reason(r),
                http_statuses: h.facts.failure_chain.clone(),
            }),
            items_per_week: h.facts.per_week,
            newest_item: h.facts.newest_item.map(rfc3339),
            conditional_get: h.facts.conditional,
            language: JsonLanguage {
                declared: h.source.lang.as_str(),
                detected: h.detected_lang.as_ref().map(Lang::as_str),
                mismatch: h.language_mismatch(),
            },
            warnings: &h.facts.warnings,
        })
        .collect();
    let mut bytes = serde_json::to_vec_pretty(&JsonStatus { sources })
        .map_err(|e| PublishError::render(JSON, e))?;
    bytes.push(b'\n');
    Ok(bytes)
}

#[derive(Template)]
#[template(path = "status.html")]
struct Page<'a> {
    lang: &'a str,
    title: &'a str,
    publisher: &'a str,
    words: &'a Words,
    switch: Vec<Switch>,
    home: String,
    json: String,
    counts: String,
    rows: Vec<Row<'a>>,
}

struct Switch {
    label: &'static str,
    href: String,
    lang: String,
    current: bool,
}

struct Row<'a> {
    id: &'a str,
    city: &'a str,
    name: &'a str,
    code: &'static str,
    state: String,
    last_success: String,
    failure: Option<Failure>,
    per_week: String,
    newest: String,
    conditional: &'static str,
    language: String,
    mismatch: bool,
    warnings: Vec<String>,
    advice: Option<&'static str>,
}

struct Failure {
    when: String,
    reason: String,
    chain: String,
}

fn page(
    config: &Config,
    health: &[SourceHealth],
    lang: &Lang,
    folder: &str,
) -> Result<Vec<u8>, PublishError> {
    let words = Words::of(lang);
    let root = if folder.is_empty() { "" } else { "../" };
    let mut rows: Vec<Row> = health.iter().map(|h| row(h, lang, &words)).collect();
    // Sources in trouble first: they are what a visitor comes for.
    rows.sort_by_key(|r| severity(r.code));
    let trouble = rows.iter().filter(|r| severity(r.code) < 2).count();
    let page = Page {
        lang: lang.as_str(),
        title: words.title,
        publisher: &config.publisher.title,
        words: &words,
        switch: config
            .publisher
            .languages
            .iter()
            .map(|l| Switch {
                label: Words::of(l).own_name,
                href: format!("{root}{l}/{HTML}"),
                lang: l.to_string(),
                current: format!("{l}/") == folder,
            })
            .collect(),
        home: format!("{root}{folder}index.html"),
        json: format!("{root}{JSON}"),
        counts: words
            .counts
            .replace("{all}", &rows.len().to_string())
            .replace("{trouble}", &trouble.to_string()),
        rows,
    };
    let html = page.render().map_err(|e| PublishError::render(HTML, e))?;
    Ok(html.into_bytes())
}

/// Whether the source's fetches work: its last success is then the last
/// cycle, as its last failure is while they fail.
fn working(h: &SourceHealth) -> bool {
    !matches!(h.state, State::Failing { .. } | State::Gone { .. })
}

/// RFC 3339: a full date-time, or only the full date with `day_only` (see
/// `row`).
fn stamp(t: DateTime<Utc>, day_only: bool) -> String {
    if day_only {
        t.format("%Y-%m-%d").to_string()
    } else {
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }
}

fn severity(code: &str) -> u8 {
    match code {
        "gone" | "failing" => 0,
        "quiet" => 1,
        "ok" | "new" => 2,
        _ => 3,
    }
}

fn row<'a>(h: &'a SourceHealth, lang: &Lang, words: &Words) -> Row<'a> {
    let when =
        |t: Option<DateTime<Utc>>| t.map_or_else(|| words.never.to_string(), |t| moment(t, lang));
    // What happens every cycle (the success of a working source, the
    // failure of a failing one) is given by its day only, so that a cycle
    // that changes nothing leaves the pages as they were, and their readers'
    // caches valid.
    let day_or_moment = |t: Option<DateTime<Utc>>, current: bool| match t {
        Some(t) if current => long_date(t, lang),
        other => when(other),
    };
    let state = match h.state {
        State::New => words.new.to_string(),
        State::Ok => words.ok.to_string(),
        State::Failing { since } => format!("{} {}", words.failing_since, moment(since, lang)),
        State::Quiet { since } => format!("{} {}", words.quiet_since, moment(since, lang)),
        State::Disabled => words.disabled.to_string(),
        State::Gone { .. } => words.gone.to_string(),
    };
    let [w0, w1, w2, w3] = h.facts.per_week;
    let declared = h.source.lang.as_str().to_ascii_uppercase();
    let language = match &h.detected_lang {
        Some(found) => format!(
            "{declared} ({} {})",
            words.detected,
            found.as_str().to_ascii_uppercase()
        ),
        None => declared,
    };
    Row {
        id: &h.source.id,
        city: &h.source.city,
        name: &h.source.name,
        code: h.state.code(),
        state,
        last_success: day_or_moment(h.last_ok, working(h)),
        failure: h.facts.failure_reason.as_deref().map(|r| Failure {
            when: day_or_moment(h.facts.last_failure, !working(h)),
            reason: public_reason(r),
            chain: h
                .facts
                .failure_chain
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" → "),
        }),
        per_week: format!("{w0} · {w1} · {w2} · {w3}"),
        newest: when(h.facts.newest_item),
        conditional: match h.facts.conditional {
            Some(true) => words.yes,
            Some(false) => words.no,
            None => words.unknown,
        },
        language,
        mismatch: h.language_mismatch(),
        warnings: h.facts.warnings.iter().map(|w| warning(w, words)).collect(),
        advice: advice(h, lang.as_str() == "pl"),
    }
}

fn warning(w: &Warning, words: &Words) -> String {
    match w {
        Warning::UndeclaredEncoding => words.undeclared_encoding.to_string(),
        Warning::Windows1252Repaired => words.windows_1252.to_string(),
        Warning::EntriesWithoutDates { count, of } => words
            .undated
            .replace("{count}", &count.to_string())
            .replace("{of}", &of.to_string()),
    }
}

/// "3 grudnia 2026, 10:15 UTC".
fn moment(at: DateTime<Utc>, lang: &Lang) -> String {
    format!("{}, {} UTC", long_date(at, lang), at.format("%H:%M"))
}

/// The page's own words; languages other than Polish get English.
struct Words {
    own_name: &'static str,
    title: &'static str,
    intro: &'static str,
    counts: &'static str,
    language_switch: &'static str,
    back: &'static str,
    as_json: &'static str,
    new: &'static str,
    ok: &'static str,
    failing_since: &'static str,
    quiet_since: &'static str,
    disabled: &'static str,
    gone: &'static str,
    never: &'static str,
    last_success: &'static str,
    last_failure: &'static str,
    http_statuses: &'static str,
    per_week: &'static str,
    newest: &'static str,
    conditional: &'static str,
    language: &'static str,
    detected: &'static str,
    mismatch: &'static str,
    warnings: &'static str,
    what_to_do: &'static str,
    yes: &'static str,
    no: &'static str,
    unknown: &'static str,
    undeclared_encoding: &'static str,
    windows_1252: &'static str,
    undated: &'static str,
}

impl Words {
    fn of(lang: &Lang) -> Words {
        if lang.as_str() == "pl" {
            Words {
                own_name: "Polski",
                title: "Stan źródeł",
                intro: "Jak działa każdy kanał, z którego korzystamy. Jeśli prowadzisz jeden z nich, tu zobaczysz, co się z nim dzieje i co zrobić, gdy przestaje działać.",
                counts: "Źródeł: {all}, w tym z problemami: {trouble}.",
                language_switch: "Język",
                back: "Wiadomości",
                as_json: "Te same dane w JSON",
                new: "jeszcze nie pobrano",
                ok: "działa",
                failing_since: "nie działa od",
                quiet_since: "cisza od",
                disabled: "wyłączone",
                gone: "usunięte (410)",
                never: "nigdy",
                last_success: "Ostatnie udane pobranie",
                last_failure: "Ostatni błąd",
                http_statuses: "statusy HTTP",
                per_week: "Wpisy tygodniowo (od bieżącego tygodnia)",
                newest: "Najnowszy wpis",
                conditional: "Zapytania warunkowe (ETag/Last-Modified)",
                language: "Język (deklarowany)",
                detected: "wykryty:",
                mismatch: "niezgodny z deklarowanym",
                warnings: "Uwagi do kanału",
                what_to_do: "Co zrobić",
                yes: "tak",
                no: "nie",
                unknown: "nie wiadomo",
                undeclared_encoding: "kodowanie znaków nie jest podane, trzeba było je zgadnąć",
                windows_1252: "znaki Windows-1252 wewnątrz UTF-8 zostały naprawione",
                undated: "{count} z {of} wpisów nie ma daty",
            }
        } else {
            Words {
                own_name: "English",
                title: "Source status",
                intro: "How each feed we read is doing. If you run one of them, this is where you see what happens to it and what to do when it breaks.",
                counts: "{all} sources, {trouble} in trouble.",
                language_switch: "Language",
                back: "News",
                as_json: "The same data as JSON",
                new: "not fetched yet",
                ok: "ok",
                failing_since: "failing since",
                quiet_since: "quiet since",
                disabled: "disabled",
                gone: "gone (410)",
                never: "never",
                last_success: "Last success",
                last_failure: "Last failure",
                http_statuses: "HTTP statuses",
                per_week: "Items per week (this week first)",
                newest: "Newest item",
                conditional: "Conditional GET (ETag/Last-Modified)",
                language: "Language (declared)",
                detected: "detected:",
                mismatch: "not the declared one",
                warnings: "Feed warnings",
                what_to_do: "What to do",
                yes: "yes",
                no: "no",
                unknown: "unknown",
                undeclared_encoding: "no character encoding is declared; it had to be guessed",
                windows_1252: "Windows-1252 characters inside UTF-8 were repaired",
                undated: "{count} of {of} entries have no date",
            }
        }
    }
}
