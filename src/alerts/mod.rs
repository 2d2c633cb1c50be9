//! Telling the people who can fix a feed that it broke, and that it works
//! again: what state each source is in (`health`), the advice each kind of
//! failure gets (`advice`), the words of a message (`message`) and the two
//! ways it leaves (`webhook`, `email`).
//!
//! After each cycle the [`Alerter`] compares every source's problem with
//! what each of its contacts was last told (kept in the store), and sends
//! one message per change: the problem, or its end. Sending runs on tasks
//! of its own with a time limit, so a slow or broken receiver never holds a
//! cycle up; a message that fails is sent again after a later cycle, since
//! the store still says it was not told.

pub mod advice;
pub mod email;
pub mod health;
pub mod message;
pub mod webhook;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use tokio::task::JoinHandle;

use crate::config::{AlertsConfig, Config, Contact};
use crate::store::{Store, StoreError};
use health::{Problem, SourceHealth, State};
use message::{Event, Message};

/// The transports, as `Contact::transport` names them, in the order of the
/// counters below.
const TRANSPORTS: [&str; 2] = ["webhook", "email"];
/// Messages sent and failed since the process started, by transport, for /metrics.
static SENT: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
static FAILED: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

fn slot(contact: &Contact) -> usize {
    TRANSPORTS
        .iter()
        .position(|t| *t == contact.transport())
        .unwrap_or(0)
}

/// The alert counters in Prometheus' text format.
pub fn metrics() -> String {
    let mut out = String::new();
    for (name, help, counters) in [
        (
            "hejnal_alerts_sent_total",
            "Alert messages delivered, by transport.",
            &SENT,
        ),
        (
            "hejnal_alerts_failed_total",
            "Alert messages that could not be delivered, by transport.",
            &FAILED,
        ),
    ] {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
        for (transport, counter) in TRANSPORTS.iter().zip(counters) {
            let n = counter.load(Ordering::Relaxed);
            out.push_str(&format!("{name}{{transport=\"{transport}\"}} {n}\n"));
        }
    }
    out
}

/// Who hears about a source whose own contact is `contact`: that contact and
/// the operator.
pub fn recipients(config: &Config, contact: Option<&str>) -> Vec<Contact> {
    let mut out: Vec<Contact> = [contact, config.alerts.operator.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(|raw| Contact::parse(raw).ok())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// One message on its way.
struct Sending {
    /// What the store records once it is delivered: the problem's code, or
    /// "" for a recovery.
    told: &'static str,
    task: JoinHandle<Result<(), String>>,
}

/// What one round of alerts did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertReport {
    /// Messages started this round.
    pub started: usize,
    /// Messages delivered and recorded this round.
    pub delivered: usize,
    /// Messages that failed this round; they are tried again later.
    pub failed: usize,
}

/// Sends the alerts and remembers what is on its way; one lives as long as
/// the daemon (or `hejnal once`).
pub struct Alerter {
    sender: Arc<Sender>,
    in_flight: HashMap<(String, Contact), Sending>,
}

/// What a message needs to leave: the HTTP client, the mail settings.
pub struct Sender {
    client: reqwest::Client,
    settings: AlertsConfig,
    mailer: Option<email::Mailer>,
}

impl Sender {
    pub fn new(config: &Config) -> Sender {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let timeout = Duration::from_secs(config.alerts.timeout_secs.max(1));
        // The default client has no time limit; the send has one anyway.
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(config.user_agent())
            .build()
            .unwrap_or_default();
        let mailer =
            email::Mailer::from_config(&config.alerts, &config.base_dir, |k| std::env::var(k).ok())
                .inspect_err(|e| tracing::warn!(error = %e, "alerts by e-mail are off"))
                .ok()
                .flatten();
        Sender {
            client,
            settings: config.alerts.clone(),
            mailer,
        }
    }

    /// Delivers `message` to `contact` within the time limit, counting it.
    pub async fn send(&self, contact: &Contact, message: &Message) -> Result<(), String> {
        let limit = Duration::from_secs(self.settings.timeout_secs.max(1));
        let attempt = async {
            match contact {
                Contact::Webhook(url) => {
                    webhook::post(&self.client, url, &self.settings.webhook_format, message).await
                }
                Contact::Email(to) => match &self.mailer {
                    Some(mailer) => mailer.send(to, message).await,
                    None => Err("no [alerts] smtp_server and smtp_from to send e-mail with".into()),
                },
            }
        };
        let result = match tokio::time::timeout(limit, attempt).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {}s", limit.as_secs())),
        };
        let counters = if result.is_ok() { &SENT } else { &FAILED };
        counters[slot(contact)].fetch_add(1, Ordering::Relaxed);
        result
    }
}

impl Alerter {
    pub fn new(config: &Config) -> Alerter {
        Alerter {
            sender: Arc::new(Sender::new(config)),
            in_flight: HashMap::new(),
        }
    }

    /// Records the messages delivered since the last call, then starts the
    /// ones the sources' states call for. Never waits for a message.
    pub fn after_cycle(
        &mut self,
        config: &Config,
        store: &Store,
        now: DateTime<Utc>,
    ) -> Result<AlertReport, StoreError> {
        let mut report = self.collect(store, now, false)?;
        // feeds.toml may have been reloaded since.
        if self.sender.settings != config.alerts {
            self.sender = Arc::new(Sender::new(config));
        }
        let page = status_page(config);
        for health in health::survey(config, store, now)? {
            if health.state == State::Disabled {
                continue;
            }
            for contact in recipients(config, health.source.contact.as_deref()) {
                let key = (health.source.id.clone(), contact.clone());
                if self.in_flight.contains_key(&key) {
                    continue;
                }
                let told = store.alert_told(&health.source.id, &contact.key())?;
                let Some((event, code)) = due(&health, told.as_ref().map(|(p, _)| p.as_str()))
                else {
                    continue;
                };
                let message = Message::about(event, &health, &page);
                let sender = Arc::clone(&self.sender);
                let to = contact.clone();
                let task = tokio::spawn(async move { sender.send(&to, &message).await });
                tracing::info!(source = %health.source.id, transport = contact.transport(), told = code, "alert sent off");
                self.in_flight.insert(key, Sending { told: code, task });
                report.started += 1;
            }
        }
        Ok(report)
    }

    /// Waits up to `limit` for the messages on their way and records them:
    /// for `hejnal once` and a stopping daemon, which would otherwise drop them.
    pub async fn finish(
        &mut self,
        store: &Store,
        limit: Duration,
    ) -> Result<AlertReport, StoreError> {
        let deadline = tokio::time::Instant::now() + limit;
        while self.in_flight.values().any(|s| !s.task.is_finished())
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.collect(store, Utc::now(), true)
    }

    /// Messages still on their way.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Records what finished; with `abandon`, drops what did not.
    fn collect(
        &mut self,
        store: &Store,
        now: DateTime<Utc>,
        abandon: bool,
    ) -> Result<AlertReport, StoreError> {
        let mut report = AlertReport::default();
        let done: Vec<(String, Contact)> = self
            .in_flight
            .iter()
            .filter(|(_, s)| abandon || s.task.is_finished())
            .map(|(k, _)| k.clone())
            .collect();
        for key in done {
            let Some(sending) = self.in_flight.remove(&key) else {
                continue;
            };
            let (source_id, contact) = key;
            if !sending.task.is_finished() {
                sending.task.abort();
                tracing::warn!(source = %source_id, transport = contact.transport(), "alert abandoned; it is sent again later");
                report.failed += 1;
                continue;
            }
            // A finished task's result is ready: this never waits.
            match sending.task.now_or_never() {
                None => report.failed += 1,
                Some(Ok(Ok(()))) => {
                    store.set_alert_told(&source_id, &contact.key(), sending.told, now)?;
                    report.delivered += 1;
                }
                Some(Ok(Err(e))) => {
                    tracing::warn!(source = %source_id, transport = contact.transport(), error = %e, "alert not delivered; it is sent again later");
                    report.failed += 1;
                }
                Some(Err(e)) => {
                    tracing::warn!(source = %source_id, error = %e, "alert task ended abnormally");
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }
}

/// The message `health` calls for, given what the contact was last told
/// (`None`: never anything), and what to record once it is delivered.
fn due(health: &SourceHealth, told: Option<&str>) -> Option<(Event, &'static str)> {
    let told = told.and_then(Problem::from_code);
    match (health.problem, told) {
        (Some(now), before) if before != Some(now) => Some((Event::Problem(now), now.code())),
        // Failing for less than `fail_after` again is no recovery yet.
        (None, Some(before)) if matches!(health.state, State::Ok | State::New) => {
            Some((Event::Recovered(before), ""))
        }
        _ => None,
    }
}

/// Where the status page is published.
pub fn status_page(config: &Config) -> String {
    let base = config.publisher.base_url.get_ref();
    let slash = if base.ends_with('/') { "" } else { "/" };
    format!("{base}{slash}{}", health::STATUS_PAGE)
}
