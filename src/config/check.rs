//! The checks of feeds.toml, done on the TOML document itself: serde stops at
//! the first problem, this walk finds them all and points each at its key or value.

use std::collections::HashMap;
use std::ops::Range;

use toml_edit::{Document, Item, TableLike, Value};

use super::{Diagnostic, diagnostic, iso639, line_of, unplaced};
use crate::model::Lang;

/// What a key must hold.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Slug,
    Url,
    /// A source's URL: http, https, or a `file:` on this machine.
    FeedUrl,
    Urls,
    Cron,
    Lang,
    Langs,
    Texts,
    /// A filter rule: words, or a regular expression between slashes.
    Rule,
    Rules,
    /// An array of strings, each from a fixed list.
    Choices(&'static [&'static str]),
    Bool,
    /// An e-mail address or a webhook URL.
    Contact,
    /// A string from a fixed list.
    OneOf(&'static [&'static str]),
    /// Where to upload the published files: `s3://bucket/prefix`.
    ObjectStore,
    Count {
        min: i64,
        max: i64,
    },
    Table(&'static [Field]),
    Tables(&'static [Field]),
}

struct Field {
    name: &'static str,
    kind: Kind,
    required: bool,
}

const fn field(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
    }
}

const fn required(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: true,
    }
}

const fn at_least(min: i64) -> Kind {
    Kind::Count { min, max: i64::MAX }
}

/// Fields serde reads into a `u32`.
const U32: i64 = u32::MAX as i64;

const TOP: &[Field] = &[
    required("publisher", Kind::Table(PUBLISHER)),
    field("fetch", Kind::Table(FETCH)),
    field("server", Kind::Table(SERVER)),
    field("dedupe", Kind::Table(DEDUPE)),
    field("translate", Kind::Table(TRANSLATE)),
    field("filter", Kind::Table(FILTER)),
    field("store", Kind::Table(STORE)),
    field("publish", Kind::Table(PUBLISH)),
    field("alerts", Kind::Table(ALERTS)),
    field("source", Kind::Tables(SOURCE)),
];

const FILTER: &[Field] = &[
    field("include", Kind::Rules),
    field("exclude", Kind::Rules),
    field("fields", Kind::Choices(super::FIELD_NAMES)),
];
const STORE: &[Field] = &[field("keep_days", Kind::Count { min: 1, max: U32 })];

const PUBLISHER: &[Field] = &[
    required("title", Kind::Text),
    field("description", Kind::Text),
    required("base_url", Kind::Url),
    field("languages", Kind::Langs),
    field("output_dir", Kind::Text),
    field("database", Kind::Text),
    field("max_items", at_least(1)),
    field("schedule", Kind::Cron),
    field("concurrency", at_least(1)),
    field("title_format", Kind::Text),
    field("websub_hubs", Kind::Urls),
    field("archive_months", Kind::Count { min: 0, max: U32 }),
    field("per_city", Kind::Bool),
    field("per_category", Kind::Bool),
];

const FETCH: &[Field] = &[
    field("timeout_secs", at_least(1)),
    field("connect_timeout_secs", at_least(1)),
    field("read_idle_timeout_secs", at_least(1)),
    field("max_body_bytes", at_least(1)),
    field("max_redirects", at_least(0)),
    field("per_host", at_least(1)),
    field("deny_private_networks", Kind::Bool),
    field("max_items_per_feed", at_least(1)),
    field("max_interval_minutes", at_least(1)),
    field("backoff_max_minutes", at_least(1)),
];

const SERVER: &[Field] = &[
    field("listen", Kind::Text),
    field("stale_after_secs", at_least(1)),
];

const DEDUPE: &[Field] = &[
    field("window_days", Kind::Count { min: 1, max: U32 }),
    // A SimHash has 64 bits: a larger distance would join everything.
    field("max_distance", Kind::Count { min: 0, max: 64 }),
    field("strip_params", Kind::Texts),
];

const TRANSLATE: &[Field] = &[
    field("engine", Kind::OneOf(&["none", "libretranslate", "deepl"])),
    field("url", Kind::Url),
    field("api_key_env", Kind::Text),
    field("daily_char_budget", at_least(0)),
];

const PUBLISH: &[Field] = &[
    field("target", Kind::ObjectStore),
    field("endpoint", Kind::Url),
    field("region", Kind::Text),
    field("path_style", Kind::Bool),
    field("purge_command", Kind::Texts),
];

const SOURCE: &[Field] = &[
    required("id", Kind::Slug),
    required("name", Kind::Text),
    field("city", Kind::Text),
    field("country", Kind::Text),
    required("url", Kind::FeedUrl),
    required("lang", Kind::Lang),
    field("enabled", Kind::Bool),
    field("schedule", Kind::Cron),
    field("translate", Kind::Bool),
    field("pair", Kind::Slug),
    field("max_body_bytes", at_least(1)),
    field("filter", Kind::Table(FILTER)),
    field("categories", Kind::Texts),
    field("contact", Kind::Contact),
];

const ALERTS: &[Field] = &[
    field("fail_after_hours", at_least(1)),
    field("quiet_after_days", at_least(1)),
    field("operator", Kind::Contact),
    field("webhook_format", Kind::OneOf(&["json", "slack", "text"])),
    field("timeout_secs", at_least(1)),
    field("smtp_server", Kind::Text),
    field("smtp_port", Kind::Count { min: 1, max: 65535 }),
    field("smtp_security", Kind::OneOf(&["starttls", "tls", "none"])),
    field("smtp_from", Kind::Contact),
    field("smtp_ca_file", Kind::Text),
    field("smtp_user_env", Kind::Text),
    field("smtp_password_env", Kind::Text),
];

/// How messages name the file's top level.
const TOP_LABEL: &str = "the top level";

/// A string value and where it sits.
type Placed = (String, Range<usize>);

/// What the cross-source checks need of one `[[source]]`.
struct SourceSeen {
    /// 1-based position among the `[[source]]` tables.
    n: usize,
    label: String,
    id: Option<Placed>,
    url: Option<Placed>,
    pair: Option<Placed>,
    contact: Option<Placed>,
}

/// Every problem of `text`, in file order within each kind of check.
pub(super) fn check(text: &str) -> Vec<Diagnostic> {
    let doc = match Document::parse(text) {
        Ok(doc) => doc,
        Err(e) => return vec![syntax_error(text, &e)],
    };
    let mut checker = Checker {
        text,
        out: Vec::new(),
        sources: Vec::new(),
    };
    checker.table(doc.as_table(), TOP, TOP_LABEL, None);
    checker.mail_needs_smtp(doc.as_table());
    checker.across_sources(&strip_params(doc.as_table()));
    // File order reads best; problems with no place go last.
    checker.out.sort_by_key(|d| (d.line == 0, d.line, d.column));
    checker.out
}

fn syntax_error(text: &str, e: &toml_edit::TomlError) -> Diagnostic {
    let message = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let message = format!("TOML syntax error: {message}");
    match e.span() {
        Some(span) => diagnostic(text, span, message),
        None => unplaced(message),
    }
}

fn strip_params(top: &toml_edit::Table) -> Vec<String> {
    top.get("dedupe")
        .and_then(|d| d.get("strip_params"))
        .and_then(Item::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

struct Checker<'a> {
    text: &'a str,
    out: Vec<Diagnostic>,
    sources: Vec<SourceSeen>,
}

impl Checker<'_> {
    fn report(&mut self, span: Option<Range<usize>>, message: String) {
        let d = match span {
            Some(span) => diagnostic(self.text, span, message),
            None => unplaced(message),
        };
        self.out.push(d);
    }

    /// Checks every key of one table against `fields`, then the keys it lacks.
    fn table(
        &mut self,
        table: &dyn TableLike,
        fields: &'static [Field],
        label: &str,
        header: Option<Range<usize>>,
    ) {
        for (name, item) in table.iter() {
            let key_span = table.key(name).and_then(|k| k.span());
            match fields.iter().find(|f| f.name == name) {
                Some(f) => self.item(f, item, label, key_span),
                None => self.unknown(name, item, fields, label, key_span),
            }
        }
        let missing: Vec<&Field> = fields
            .iter()
            .filter(|f| f.required && !table.contains_key(f.name))
            .collect();
        if let Some(message) = missing_message(label, &missing) {
            self.report(header, message);
        }
    }

    fn unknown(
        &mut self,
        name: &str,
        item: &Item,
        fields: &[Field],
        label: &str,
        span: Option<Range<usize>>,
    ) {
        let guess = suggest(name, fields.iter().map(|f| f.name));
        let message = match item {
            Item::Table(_) if label == TOP_LABEL => {
                let hint = guess.map(|g| format!("; did you mean [{g}]?"));
                format!("unknown table [{name}]{}", hint.unwrap_or_default())
            }
            Item::ArrayOfTables(_) if label == TOP_LABEL => {
                let hint = guess.map(|g| format!("; did you mean [[{g}]]?"));
                format!("unknown table [[{name}]]{}", hint.unwrap_or_default())
            }
            _ => {
                let hint = guess.map(|g| format!("; did you mean \"{g}\"?"));
                format!(
                    "unknown key \"{name}\" in {label}{}",
                    hint.unwrap_or_default()
                )
            }
        };
        self.report(span, message);
    }

    fn item(&mut self, field: &Field, item: &Item, label: &str, key_span: Option<Range<usize>>) {
        let span = item.span().or_else(|| key_span.clone());
        let what = if label == TOP_LABEL {
            format!("{} at {label}", field.name)
        } else {
            format!("{} in {label}", field.name)
        };
        match field.kind {
            Kind::Table(fields) => match item.as_table_like() {
                Some(t) => self.table(t, fields, &format!("[{}]", field.name), span),
                None => self.report(span, wrong_type(&what, "a table", item.type_name())),
            },
            Kind::Tables(fields) => self.tables(field.name, item, fields, &what, span),
            kind => match item.as_value() {
                Some(value) => self.value(kind, value, &what),
                None => self.report(span, wrong_type(&what, expected(kind), item.type_name())),
            },
        }
    }

    /// `[[source]]`: an array of tables, or an inline array of inline tables.
    fn tables(
        &mut self,
        name: &str,
        item: &Item,
        fields: &'static [Field],
        what: &str,
        span: Option<Range<usize>>,
    ) {
        let members: Vec<(&dyn TableLike, Option<Range<usize>>)> = match item {
            Item::ArrayOfTables(a) => a.iter().map(|t| (t as &dyn TableLike, t.span())).collect(),
            Item::Value(Value::Array(a)) if a.iter().all(Value::is_inline_table) => a
                .iter()
                .filter_map(|v| v.as_inline_table().map(|t| (t as &dyn TableLike, t.span())))
                .collect(),
            _ => {
                let expected = format!("an array of tables ([[{name}]])");
                return self.report(span, wrong_type(what, &expected, item.type_name()));
            }
        };
        for (n, (table, header)) in members.into_iter().enumerate() {
            let label = source_label(name, n + 1, table);
            self.table(table, fields, &label, header);
            self.sources.push(SourceSeen {
                n: n + 1,
                id: placed(table, "id"),
                url: placed(table, "url"),
                pair: placed(table, "pair"),
                contact: placed(table, "contact"),
                label,
            });
        }
    }

    fn value(&mut self, kind: Kind, value: &Value, what: &str) {
        let span = value.span();
        match kind {
            Kind::Langs => return self.langs(value, what),
            Kind::Urls | Kind::Texts | Kind::Rules | Kind::Choices(_) => {
                return self.list(kind, value, what);
            }
            _ => {}
        }
        if let Some(problem) = scalar_problem(kind, value) {
            self.report(span, format!("{what} {problem}"));
        }
    }

    fn langs(&mut self, value: &Value, what: &str) {
        let Some(list) = value.as_array() else {
            let problem = wrong_type(what, "an array of language codes", value.type_name());
            return self.report(value.span(), problem);
        };
        if list.is_empty() {
            let problem = format!("{what} must name at least one language");
            return self.report(value.span(), problem);
        }
        for v in list.iter() {
            if let Some(problem) = scalar_problem(Kind::Lang, v) {
                self.report(v.span(), format!("{what} {problem}"));
            }
        }
    }

    fn list(&mut self, kind: Kind, value: &Value, what: &str) {
        let element = match kind {
            Kind::Urls => Kind::Url,
            Kind::Rules => Kind::Rule,
            Kind::Choices(allowed) => Kind::OneOf(allowed),
            _ => Kind::Text,
        };
        let Some(list) = value.as_array() else {
            let problem = wrong_type(what, expected(kind), value.type_name());
            return self.report(value.span(), problem);
        };
        for v in list.iter() {
            if let Some(problem) = scalar_problem(element, v) {
                self.report(v.span(), format!("{what} {problem}"));
            }
        }
    }

    /// An e-mail contact with no mail server to send by would fail after
    /// every cycle, and its webmaster would never hear a thing.
    fn mail_needs_smtp(&mut self, top: &toml_edit::Table) {
        let alerts = top.get("alerts").and_then(Item::as_table_like);
        if let Some((from, span)) = alerts.and_then(|a| placed(a, "smtp_from"))
            && matches!(super::Contact::parse(&from), Ok(super::Contact::Webhook(_)))
        {
            let message = format!("smtp_from in [alerts] must be an e-mail address: \"{from}\"");
            self.report(Some(span), message);
        }
        let set = |key: &str| alerts.is_some_and(|a| a.contains_key(key));
        if set("smtp_server") && set("smtp_from") {
            return;
        }
        let operator = alerts.and_then(|a| placed(a, "operator"));
        let contacts: Vec<(String, Placed)> = operator
            .map(|o| ("operator in [alerts]".to_string(), o))
            .into_iter()
            .chain(self.sources.iter().filter_map(|s| {
                let contact = s.contact.clone()?;
                Some((format!("contact in {}", s.label), contact))
            }))
            .collect();
        for (what, (value, span)) in contacts {
            if matches!(super::Contact::parse(&value), Ok(super::Contact::Email(_))) {
                let message = format!(
                    "{what} is an e-mail address, but [alerts] lacks smtp_server or smtp_from to send it by"
                );
                self.report(Some(span), message);
            }
        }
    }

    /// Duplicate ids, the same feed twice, pairs that lead nowhere.
    fn across_sources(&mut self, strip_params: &[String]) {
        let sources = std::mem::take(&mut self.sources);
        let mut ids: HashMap<&str, (&SourceSeen, usize)> = HashMap::new();
        let mut urls: HashMap<String, (&SourceSeen, usize)> = HashMap::new();
        for s in &sources {
            // Lines are counted only for a message: counting for every source
            // would read the file once per source.
            if let Some((id, span)) = &s.id {
                if let Some(&(first, offset)) = ids.get(id.as_str()) {
                    let message = format!(
                        "duplicate id \"{id}\": [[source]] #{} and [[source]] #{} (line {}) both use it",
                        s.n,
                        first.n,
                        line_of(self.text, offset)
                    );
                    self.report(Some(span.clone()), message);
                } else {
                    ids.insert(id, (s, span.start));
                }
            }
            let Some((url, span)) = &s.url else { continue };
            let Some(canonical) = crate::clean::url::canonical(url, strip_params) else {
                continue;
            };
            if let Some(&(first, offset)) = urls.get(&canonical) {
                let message = format!(
                    "url of {} is the same feed as {} on line {}: both are {canonical}",
                    s.label,
                    first.label,
                    line_of(self.text, offset)
                );
                self.report(Some(span.clone()), message);
            } else {
                urls.insert(canonical, (s, span.start));
            }
        }
        for s in &sources {
            let Some((pair, span)) = &s.pair else {
                continue;
            };
            let message = if s.id.as_ref().is_some_and(|(id, _)| id == pair) {
                format!("pair in {} names the source itself", s.label)
            } else if !ids.contains_key(pair.as_str()) {
                format!(
                    "pair in {} names \"{pair}\", but no source has that id",
                    s.label
                )
            } else {
                continue;
            };
            self.report(Some(span.clone()), message);
        }
    }
}

fn missing_message(label: &str, missing: &[&Field]) -> Option<String> {
    let (last, rest) = missing.split_last()?;
    if label == TOP_LABEL {
        let names: Vec<String> = missing.iter().map(|f| format!("[{}]", f.name)).collect();
        return Some(format!("the file has no {} table", names.join(", ")));
    }
    let quoted = |f: &&Field| format!("\"{}\"", f.name);
    Some(if rest.is_empty() {
        format!("{label} is missing the key {}", quoted(last))
    } else {
        let rest: Vec<String> = rest.iter().map(quoted).collect();
        format!(
            "{label} is missing the keys {} and {}",
            rest.join(", "),
            quoted(last)
        )
    })
}

fn source_label(name: &str, n: usize, table: &dyn TableLike) -> String {
    match table.get("id").and_then(Item::as_str) {
        Some(id) => format!("[[{name}]] #{n} (id \"{id}\")"),
        None => format!("[[{name}]] #{n}"),
    }
}

fn placed(table: &dyn TableLike, key: &str) -> Option<Placed> {
    let value = table.get(key)?.as_value()?;
    Some((value.as_str()?.to_string(), value.span()?))
}

/// What is wrong with one scalar value, phrased to follow "KEY in TABLE".
fn scalar_problem(kind: Kind, value: &Value) -> Option<String> {
    let wrong = || {
        Some(format!(
            "must be {}, found {}",
            expected(kind),
            article(value.type_name())
        ))
    };
    match kind {
        Kind::Bool => value.as_bool().map_or_else(wrong, |_| None),
        Kind::Count { min, max } => match value.as_integer() {
            None => wrong(),
            Some(n) if n < min => Some(format!("must be at least {min}, found {n}")),
            Some(n) if n > max => Some(format!("must be at most {max}, found {n}")),
            Some(_) => None,
        },
        _ => match value.as_str() {
            None => wrong(),
            Some(s) => text_problem(kind, s),
        },
    }
}

fn text_problem(kind: Kind, s: &str) -> Option<String> {
    match kind {
        Kind::Slug if !valid_slug(s) => Some(format!(
            "is \"{s}\", not a slug (lower-case a-z, 0-9, '-' and '_')"
        )),
        Kind::Url => url_problem(s),
        // A relative `file:` path is not a URL yet: it is read against feeds.toml's folder.
        Kind::FeedUrl if s.starts_with("file:") => None,
        Kind::FeedUrl => url_problem(s),
        Kind::ObjectStore => super::publish::Target::parse(s).err(),
        Kind::Contact => super::alerts::contact_problem(s),
        Kind::Cron => cron_problem(s),
        Kind::OneOf(allowed) if !allowed.contains(&s) => Some(format!(
            "is \"{s}\"; expected one of {}",
            allowed
                .iter()
                .map(|a| format!("\"{a}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Kind::Lang if !Lang::parse(s).is_some_and(|l| iso639::is_known(l.as_str())) => {
            Some(format!(
                "is \"{s}\", not an ISO 639-1 language code (two letters, like \"pl\" or \"de\")"
            ))
        }
        Kind::Rule => crate::filter::Rule::parse(s)
            .err()
            .map(|e| format!("\"{s}\" {e}")),
        _ => None,
    }
}

fn url_problem(s: &str) -> Option<String> {
    match url::Url::parse(s) {
        Err(e) => Some(format!("is not a valid URL ({e}): \"{s}\"")),
        Ok(u) if !matches!(u.scheme(), "http" | "https") => Some(format!(
            "must be an http or https URL, not {}: \"{s}\"",
            u.scheme()
        )),
        Ok(_) => None,
    }
}

/// The fields of hejnal's cron expressions, with what each accepts.
const CRON_FIELDS: [(&str, &str); 7] = [
    ("seconds", "0-59"),
    ("minutes", "0-59"),
    ("hours", "0-23"),
    ("day-of-month", "1-31"),
    ("month", "1-12 or JAN-DEC"),
    ("day-of-week", "1-7 or SUN-SAT"),
    ("year", "a year such as 2030"),
];

fn cron_problem(s: &str) -> Option<String> {
    let e = match s.parse::<cron::Schedule>() {
        Ok(schedule) if schedule.upcoming(chrono::Utc).next().is_none() => {
            return Some(format!("(\"{s}\") never comes: no date matches it"));
        }
        Ok(_) => return None,
        Err(e) => e,
    };
    let fields: Vec<&str> = s.split_whitespace().collect();
    let what = match fields.len() {
        5 => "it has 5 fields, but hejnal's cron starts with a seconds field: 6 fields \
              (sec min hour day-of-month month day-of-week), e.g. \"0 */15 * * * *\""
            .to_string(),
        n if !(6..=7).contains(&n) => format!(
            "it has {n} fields but needs 6 (sec min hour day-of-month month day-of-week) or 7 (and a year)"
        ),
        _ => match bad_cron_field(&fields) {
            Some(i) => {
                let (name, accepts) = CRON_FIELDS[i];
                format!(
                    "its {name} field \"{}\" is not valid ({name}: {accepts})",
                    fields[i]
                )
            }
            None => cron_message(&e.to_string(), s),
        },
    };
    Some(format!("is not a valid cron expression (\"{s}\"): {what}"))
}

/// The first field that is wrong on its own, every other field being `*`.
fn bad_cron_field(fields: &[&str]) -> Option<usize> {
    (0..fields.len()).find(|&i| {
        let alone: Vec<&str> = (0..fields.len())
            .map(|j| if i == j { fields[j] } else { "*" })
            .collect();
        alone.join(" ").parse::<cron::Schedule>().is_err()
    })
}

/// The cron parser's own words, without its echo of the expression and caret line.
fn cron_message(raw: &str, expression: &str) -> String {
    let said: Vec<&str> = raw
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != expression.trim() && !l.chars().all(|c| c == '^'))
        .collect();
    if said.is_empty() {
        "cannot be read as a schedule".to_string()
    } else {
        said.join("; ")
    }
}

/// Whether `id` can be a source id: lower-case a-z, 0-9, `-` and `_`.
pub fn valid_slug(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Bool => "true or false",
        Kind::Count { .. } => "a whole number",
        Kind::Langs => "an array of language codes",
        Kind::Urls => "an array of URLs",
        Kind::Texts | Kind::Choices(_) => "an array of strings",
        Kind::Rules => "an array of words or /regular expressions/",
        Kind::Table(_) | Kind::Tables(_) => "a table",
        _ => "a string",
    }
}

fn wrong_type(what: &str, expected: &str, found: &str) -> String {
    format!("{what} must be {expected}, found {}", article(found))
}

fn article(type_name: &str) -> String {
    match type_name.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {type_name}"),
        _ => format!("a {type_name}"),
    }
}

/// The known name closest to `name`, when it is close enough to be a typo.
fn suggest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    let limit = name.chars().count().div_ceil(2).max(1);
    known
        .map(|k| (edit_distance(&name, k), k))
        .filter(|(d, k)| *d <= limit || k.starts_with(&name) || name.starts_with(k))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("lang", "lang"), 0);
        assert_eq!(edit_distance("language", "languages"), 1);
        assert_eq!(edit_distance("language", "lang"), 4);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn suggestions_are_near_and_never_wild() {
        let source = SOURCE.iter().map(|f| f.name);
        assert_eq!(suggest("language", source), Some("lang"));
        let publisher = || PUBLISHER.iter().map(|f| f.name);
        assert_eq!(suggest("language", publisher()), Some("languages"));
        assert_eq!(suggest("concurency", publisher()), Some("concurrency"));
        assert_eq!(suggest("TITLE", publisher()), Some("title"));
        assert_eq!(suggest("colour", publisher()), None);
        assert_eq!(suggest("xyz", publisher()), None);
    }
}
