//! Delivering a message by e-mail over SMTP (lettre), STARTTLS by default.
//! The login comes from the environment or a systemd credential, never from
//! feeds.toml, which webmasters read and edit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::message::Message;
use crate::config::AlertsConfig;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("[alerts] smtp_server is set but smtp_from is not")]
    NoSender,
    #[error("[alerts] smtp_from {0:?} is not an e-mail address")]
    BadSender(String),
    #[error("cannot read the certificate authority smtp_ca_file {path}: {cause}")]
    CaFile { path: String, cause: String },
    #[error("cannot set up SMTP to {server}: {cause}")]
    Setup { server: String, cause: String },
}

/// An SMTP relay and the address messages come from.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// The mailer `[alerts]` describes, or none when it names no server;
    /// `smtp_ca_file` is relative to `base_dir`. `env` reads environment
    /// variables (the systemd credentials folder among them).
    pub fn from_config(
        settings: &AlertsConfig,
        base_dir: &Path,
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
        let tls = |extra: Option<Certificate>| {
            let mut params = TlsParameters::builder(server.to_string());
            if let Some(ca) = extra {
                params = params.add_root_certificate(ca);
            }
            params.build_rustls().map_err(setup)
        };
        let ca = match &settings.smtp_ca_file {
            Some(file) => Some(read_ca(&base_dir.join(file))?),
            None => None,
        };
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server);
        let builder = match settings.smtp_security.as_str() {
            // A relay on the same machine, or a test's.
            "none" => builder,
            "tls" => builder.tls(Tls::Wrapper(tls(ca)?)),
            _ => builder.tls(Tls::Required(tls(ca)?)),
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

fn read_ca(path: &Path) -> Result<Certificate, MailError> {
    let failed = |cause: String| MailError::CaFile {
        path: path.display().to_string(),
        cause,
    };
    let pem = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
    Certificate::from_pem(&pem).map_err(|e| failed(e.to_string()))
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
