//! The ids stories are published under: `tag:` URIs (RFC 4151), minted once
//! when a story is born and stored with it, so that changing the publisher's
//! address later never makes an old story look new to a reader.
//!
//! Stories born before tag ids were minted keep their `hejnal:story:` ids.

use chrono::{DateTime, Utc};

/// The authority tests and a publisher without a domain name mint under: a
/// name reserved for local use, so it can belong to nobody else.
pub const LOCAL_AUTHORITY: &str = "hejnal.localhost";

/// `tag:AUTHORITY,DATE:story/HASH`. The date is the day the story was born,
/// on which the publisher held its name, as RFC 4151 requires.
pub(super) fn mint(authority: &str, born: DateTime<Utc>, hash: u64) -> String {
    format!(
        "tag:{authority},{}:story/{hash:016x}",
        born.format("%Y-%m-%d")
    )
}

/// The tag authority for a publisher at `host`: its domain name in lower
/// case. An IP address or no host at all is no name of the publisher's own.
pub fn authority_of(host: Option<url::Host<&str>>) -> String {
    match host {
        Some(url::Host::Domain(name)) if is_dns_name(name) => name.to_ascii_lowercase(),
        _ => LOCAL_AUTHORITY.to_string(),
    }
}

/// Letters, digits, hyphens and dots, as RFC 4151's DNSname allows (an
/// internationalised name reaches here in its punycode form).
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn host(url: &str) -> String {
        let url = url::Url::parse(url).unwrap();
        authority_of(url.host())
    }

    #[test]
    fn the_authority_is_the_publishers_domain() {
        assert_eq!(host("https://News.Krakow.PL/hejnal/"), "news.krakow.pl");
        assert_eq!(
            host("https://xn--krakw-3ta.example/"),
            "xn--krakw-3ta.example"
        );
        assert_eq!(host("http://127.0.0.1:8080/"), LOCAL_AUTHORITY);
        assert_eq!(host("http://[::1]:8080/"), LOCAL_AUTHORITY);
        assert_eq!(host("http://localhost:8080/"), "localhost");
    }

    #[test]
    fn an_id_names_the_authority_and_the_day_of_birth() {
        let born = Utc.with_ymd_and_hms(2026, 12, 5, 23, 59, 0).unwrap();
        assert_eq!(
            mint("krakow.pl", born, 0xab),
            "tag:krakow.pl,2026-12-05:story/00000000000000ab"
        );
    }
}
