//! Delivering a message by e-mail over SMTP (lettre), STARTTLS by default.
//! The login comes from the environment or a systemd credential, never from
//! feeds.toml, which webmasters read and edit.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::message::Message;
use crate::config::AlertsConfig;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("[alerts] smtp_server is set but smtp_from is not")]
    NoSender,
    #[error("[alerts] smtp_from {0:?} is not an e-mail address")]
    BadSender(String),
    #[error("cannot set up SMTP to {server}: {cause}")]
    Setup { server: String, cause: String },
}

/// An SMTP relay and the address messages come from.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// The mailer `[alerts]` describes, or none when it names no server.
    /// `env` reads environment variables (the systemd credentials folder
    /// among them).
    pub fn from_config(
        settings: &AlertsConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Mailer>, MailError> {
        let Some(server) = settings.smtp_server.as_deref() else {
            return Ok(None);
        };
        let from = settings.smtp_from.as_deref().ok_or(MailError::NoSender)?;
        let from: Mailbox = from
            .trim_start_matches("mailto:")
            .parse()
            .map_err(|_| MailError::BadSender(from.to_string()))?;
        let setup = |cause: lettre::transport::smtp::Error| MailError::Setup {
            server: server.to_string(),
            cause: cause.to_string(),
        };
        let builder = match settings.smtp_security.as_str() {
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(server).map_err(setup)?,
            // A relay on the same machine, or a test's.
            "none" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server),
            _ => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(server).map_err(setup)?,
        };
        let mut builder = builder
            .port(settings.smtp_port)
            .timeout(Some(Duration::from_secs(settings.timeout_secs.max(1))));
        let user = secret(&settings.smtp_user_env, "smtp-user", &env);
        let password = secret(&settings.smtp_password_env, "smtp-password", &env);
        if let (Some(user), Some(password)) = (user, password) {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Some(Mailer {
            transport: builder.build(),
            from,
        }))
    }

    pub async fn send(&self, to: &str, message: &Message) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|e| format!("bad address {to:?}: {e}"))?;
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject())
            .header(ContentType::TEXT_PLAIN)
            .body(message.text())
            .map_err(|e| format!("cannot build the e-mail: {e}"))?;
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP: {e}"))
    }
}

/// A secret: the environment variable `var`, else the systemd credential
/// file `credential`; surrounding whitespace trimmed, empty as none.
fn secret(var: &str, credential: &str, env: &impl Fn(&str) -> Option<String>) -> Option<String> {
    let non_empty = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    if let Some(value) = env(var).and_then(non_empty) {
        return Some(value);
    }
    let path = PathBuf::from(env("CREDENTIALS_DIRECTORY")?).join(credential);
    std::fs::read_to_string(path).ok().and_then(non_empty)
}
