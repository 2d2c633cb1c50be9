//! The `[alerts]` table and a source's `contact`: who hears about a broken
//! feed, when, and how the messages leave.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// A source failing this long is reported.
    pub fail_after_hours: u64,
    /// A source with no new item this long (or three of its usual gaps, when
    /// it posts less often) is reported as quiet.
    pub quiet_after_days: u64,
    /// Hears about every source, besides each source's own contact.
    pub operator: Option<String>,
    /// The body of webhook messages: "json", "slack" (`{"text": …}`, also
    /// read by Matrix hookshot and Mattermost) or "text" (plain text, for ntfy).
    pub webhook_format: String,
    /// How long one message may take to deliver.
    pub timeout_secs: u64,
    pub smtp_server: Option<String>,
    pub smtp_port: u16,
    /// "starttls", "tls" or "none" (only for a relay on the same machine).
    pub smtp_security: String,
    pub smtp_from: Option<String>,
    /// A PEM certificate authority to trust besides the system's, for a
    /// relay with a private certificate (relative to feeds.toml).
    pub smtp_ca_file: Option<std::path::PathBuf>,
    /// Environment variables holding the SMTP login; else the systemd
    /// credentials `smtp-user` and `smtp-password`.
    pub smtp_user_env: String,
    pub smtp_password_env: String,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            fail_after_hours: 6,
            quiet_after_days: 14,
            operator: None,
            webhook_format: "json".to_string(),
            timeout_secs: 10,
            smtp_server: None,
            smtp_port: 587,
            smtp_security: "starttls".to_string(),
            smtp_from: None,
            smtp_ca_file: None,
            smtp_user_env: "HEJNAL_SMTP_USER".to_string(),
            smtp_password_env: "HEJNAL_SMTP_PASSWORD".to_string(),
        }
    }
}

/// Where one message goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Contact {
    Email(String),
    Webhook(String),
}

impl Contact {
    /// An http(s) URL is a webhook; `mailto:x@y` or `x@y` is an address.
    pub fn parse(raw: &str) -> Result<Contact, String> {
        let raw = raw.trim();
        if raw.starts_with("http://") || raw.starts_with("https://") {
            return match url::Url::parse(raw) {
                Ok(u) if u.host().is_some() => Ok(Contact::Webhook(raw.to_string())),
                _ => Err(format!("is not a valid webhook URL: \"{raw}\"")),
            };
        }
        let address = raw.strip_prefix("mailto:").unwrap_or(raw);
        if is_address(address) {
            Ok(Contact::Email(address.to_string()))
        } else {
            Err(format!(
                "is neither an e-mail address nor an http(s) webhook URL: \"{raw}\""
            ))
        }
    }

    /// How the contact is reached, as metrics label it.
    pub fn transport(&self) -> &'static str {
        match self {
            Contact::Email(_) => "email",
            Contact::Webhook(_) => "webhook",
        }
    }

    /// The contact as stored with the alert state; it carries no secret a
    /// status page would show, since status pages never show it.
    pub fn key(&self) -> String {
        match self {
            Contact::Email(a) => format!("mailto:{a}"),
            Contact::Webhook(u) => u.clone(),
        }
    }
}

/// A plain `local@domain.tld`, no display name, no spaces or angle brackets,
/// which would let a contact smuggle headers into a message.
fn is_address(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let fine = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_alphanumeric() || "._%+-!#$&'*/=?^`{|}~".contains(c))
    };
    fine(local)
        && fine(domain)
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

/// What `hejnal check` says of a contact value, or nothing when it is fine.
pub fn contact_problem(raw: &str) -> Option<String> {
    Contact::parse(raw).err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_addresses_or_webhooks() {
        assert_eq!(
            Contact::parse("webmaster@wien.gv.at"),
            Ok(Contact::Email("webmaster@wien.gv.at".into()))
        );
        assert_eq!(
            Contact::parse("mailto:news@bordeaux.fr"),
            Ok(Contact::Email("news@bordeaux.fr".into()))
        );
        assert!(matches!(
            Contact::parse("https://ntfy.sh/hejnal-wien"),
            Ok(Contact::Webhook(_))
        ));
        for bad in [
            "webmaster",
            "a@b",
            "Web Master <w@wien.at>",
            "w@wien.at\r\nBcc: x@y.z",
            "ftp://x.org/",
            "",
        ] {
            assert!(Contact::parse(bad).is_err(), "{bad:?}");
        }
    }
}
