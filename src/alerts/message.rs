//! What an alert says, as plain text for e-mail and chat, and as the body
//! of a webhook in each `webhook_format`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::advice::advice;
use super::health::{Problem, SourceHealth, public_reason};
use crate::config::{Config, SourceConfig};

/// Why a message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Problem(Problem),
    /// The problem that is over.
    Recovered(Problem),
    /// `hejnal alerts test`.
    Test,
}

/// One message about one source (or about none, for a test to the operator).
#[derive(Debug, Clone)]
pub struct Message {
    pub event: Event,
    pub source_id: String,
    pub source_name: String,
    pub city: String,
    pub since: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub http_statuses: Vec<u16>,
    pub advice: Option<String>,
    /// The source's row on the public status page.
    pub status_page: String,
}

/// The webhook body: the documented shape of `webhook_format = "json"`.
#[derive(Serialize)]
struct JsonBody<'a> {
    /// "problem", "recovered" or "test".
    event: &'static str,
    /// "failing", "quiet", "gone" or "language"; none for a test.
    problem: Option<&'static str>,
    source: JsonSource<'a>,
    since: Option<String>,
    last_error: Option<&'a str>,
    http_statuses: &'a [u16],
    advice: Option<&'a str>,
    status_page: &'a str,
    /// The whole message as text, as e-mail and chat show it.
    text: String,
}

#[derive(Serialize)]
struct JsonSource<'a> {
    id: &'a str,
    name: &'a str,
    city: &'a str,
}

impl Message {
    /// A message about `health`'s source; `status_page` is the page's address.
    pub fn about(event: Event, health: &SourceHealth, status_page: &str) -> Message {
        let source = &health.source;
        Message {
            event,
            source_id: source.id.clone(),
            source_name: source.name.clone(),
            city: source.city.clone(),
            since: health.state.since(),
            last_error: health.facts.failure_reason.as_deref().map(public_reason),
            http_statuses: health.facts.failure_chain.clone(),
            advice: advice(health, false).map(str::to_string),
            status_page: format!("{status_page}#source-{}", source.id),
        }
    }

    /// A test message about `source`, or about the whole site for the
    /// operator when there is none.
    pub fn test(config: &Config, source: Option<&SourceConfig>, status_page: &str) -> Message {
        let (id, name, city) = match source {
            Some(s) => (s.id.as_str(), s.name.as_str(), s.city.as_str()),
            None => ("", config.publisher.title.as_str(), ""),
        };
        let anchor = if id.is_empty() {
            String::new()
        } else {
            format!("#source-{id}")
        };
        Message {
            event: Event::Test,
            source_id: id.to_string(),
            source_name: name.to_string(),
            city: city.to_string(),
            since: None,
            last_error: None,
            http_statuses: Vec::new(),
            advice: None,
            status_page: format!("{status_page}{anchor}"),
        }
    }

    pub fn subject(&self) -> String {
        let what = match self.event {
            Event::Problem(Problem::Failing) => "is failing",
            Event::Problem(Problem::Quiet) => "has gone quiet",
            Event::Problem(Problem::Gone) => "was removed (410) and is no longer fetched",
            Event::Problem(Problem::Language) => "serves another language than declared",
            Event::Recovered(_) => "works again",
            Event::Test => "test message",
        };
        format!("hejnal: {} {what}", self.label())
    }

    fn label(&self) -> String {
        if self.city.is_empty() {
            format!("\"{}\"", self.source_name)
        } else {
            format!("\"{}\" ({})", self.source_name, self.city)
        }
    }

    /// The message as a person reads it.
    pub fn text(&self) -> String {
        let mut lines = vec![self.subject()];
        match self.event {
            Event::Test => lines.push(
                "This is a test: alerts about this feed reach you here. Nothing is wrong."
                    .to_string(),
            ),
            Event::Recovered(p) => lines.push(format!(
                "The feed {} again; the earlier alert ({}) is over.",
                if p == Problem::Quiet {
                    "has new items"
                } else {
                    "is read"
                },
                p.code()
            )),
            Event::Problem(_) => {
                if let Some(since) = self.since {
                    lines.push(format!("Since: {}", stamp(since)));
                }
                if let Some(error) = &self.last_error {
                    let chain = if self.http_statuses.is_empty() {
                        String::new()
                    } else {
                        let statuses: Vec<String> =
                            self.http_statuses.iter().map(u16::to_string).collect();
                        format!(" (HTTP statuses: {})", statuses.join(" → "))
                    };
                    lines.push(format!("Last error: {error}{chain}"));
                }
                if let Some(advice) = &self.advice {
                    lines.push(format!("What to do: {advice}"));
                }
            }
        }
        lines.push(format!("Status: {}", self.status_page));
        lines.join("\n")
    }

    /// The webhook body and its content type for `format` ("json", "slack"
    /// or "text").
    pub fn webhook_body(&self, format: &str) -> (&'static str, Vec<u8>) {
        match format {
            "slack" => (
                "application/json",
                serde_json::json!({ "text": self.text() })
                    .to_string()
                    .into_bytes(),
            ),
            "text" => ("text/plain; charset=utf-8", self.text().into_bytes()),
            _ => ("application/json", self.json()),
        }
    }

    fn json(&self) -> Vec<u8> {
        let (event, problem) = match self.event {
            Event::Problem(p) => ("problem", Some(p.code())),
            Event::Recovered(p) => ("recovered", Some(p.code())),
            Event::Test => ("test", None),
        };
        let body = JsonBody {
            event,
            problem,
            source: JsonSource {
                id: &self.source_id,
                name: &self.source_name,
                city: &self.city,
            },
            since: self.since.map(stamp),
            last_error: self.last_error.as_deref(),
            http_statuses: &self.http_statuses,
            advice: self.advice.as_deref(),
            status_page: &self.status_page,
            text: self.text(),
        };
        // Plain strings and numbers always serialize.
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
