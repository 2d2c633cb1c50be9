//! One line of advice per kind of failure, for the person who can fix the
//! feed: in the alert and on the status page, in Polish or English.

use super::health::{SourceHealth, State};

/// What kind of trouble a source is in, as far as advice goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trouble {
    Gone,
    NotFound,
    Refused,
    RateLimited,
    ServerError,
    Timeout,
    Dns,
    Tls,
    Unreachable,
    Redirects,
    TooLarge,
    NotAFeed,
    Other,
    Quiet,
    Language,
}

/// The advice for a source's state, when something is wrong; Polish when
/// `polish`, else English.
pub fn advice(health: &SourceHealth, polish: bool) -> Option<&'static str> {
    let trouble = trouble(health)?;
    let (pl, en) = lines(trouble);
    Some(if polish { pl } else { en })
}

fn trouble(health: &SourceHealth) -> Option<Trouble> {
    Some(match health.state {
        State::Gone { .. } => Trouble::Gone,
        State::Failing { .. } => failure(health.facts.failure_reason.as_deref().unwrap_or("")),
        State::Quiet { .. } if health.language_mismatch() => Trouble::Language,
        State::Quiet { .. } => Trouble::Quiet,
        State::Ok if health.language_mismatch() => Trouble::Language,
        _ => return None,
    })
}

/// The kind of a failure, from the reason the fetch or the parse gave.
fn failure(reason: &str) -> Trouble {
    let has = |s: &str| reason.contains(s);
    if has("HTTP 404") {
        Trouble::NotFound
    } else if has("HTTP 401") || has("HTTP 403") {
        Trouble::Refused
    } else if has("HTTP 429") {
        Trouble::RateLimited
    } else if has("HTTP 5") {
        Trouble::ServerError
    } else if has("timed out") {
        Trouble::Timeout
    } else if has("DNS") {
        Trouble::Dns
    } else if has("TLS") {
        Trouble::Tls
    } else if has("connection refused") || has("cannot connect") {
        Trouble::Unreachable
    } else if has("redirect") {
        Trouble::Redirects
    } else if has("larger than") {
        Trouble::TooLarge
    } else if has("not a feed") || has("malformed") || has("neither XML") {
        Trouble::NotAFeed
    } else {
        Trouble::Other
    }
}

fn lines(trouble: Trouble) -> (&'static str, &'static str) {
    match trouble {
        Trouble::Gone => (
            "Serwer mówi, że kanał usunięto (410). Podaj jego nowy adres w feeds.toml albo poproś o usunięcie źródła.",
            "The server says the feed was removed (410). Put its new address in feeds.toml, or ask for the source to be removed.",
        ),
        Trouble::NotFound => (
            "Pod adresem kanału nic nie ma (404): sprawdź, czy adres nie zmienił się po aktualizacji strony, i podaj nowy.",
            "Nothing is at the feed's address (404): check whether a site update moved it, and send the new address.",
        ),
        Trouble::Refused => (
            "Serwer odmawia hejnałowi dostępu (401/403): wpuść jego User-Agent w zaporze lub WAF.",
            "The server refuses hejnal (401/403): let its User-Agent through the firewall or WAF.",
        ),
        Trouble::RateLimited => (
            "Serwer ogranicza liczbę zapytań (429): zezwól na pobieranie kanału co kwadrans.",
            "The server limits requests (429): allow the feed to be fetched every quarter of an hour.",
        ),
        Trouble::ServerError => (
            "Serwer zwraca błąd (5xx): zajrzyj do dziennika błędów CMS-u.",
            "The server answers with an error (5xx): look at the CMS's error log.",
        ),
        Trouble::Timeout => (
            "Serwer nie odpowiada na czas: sprawdź, czy działa i czy nie jest przeciążony.",
            "The server does not answer in time: check that it is up and not overloaded.",
        ),
        Trouble::Dns => (
            "Nazwa serwera nie istnieje w DNS: sprawdź domenę i jej rekordy.",
            "The host name does not resolve: check the domain and its DNS records.",
        ),
        Trouble::Tls => (
            "Certyfikat HTTPS nie jest przyjmowany: odnów go lub zainstaluj pełny łańcuch certyfikatów.",
            "The HTTPS certificate is not accepted: renew it or install the full certificate chain.",
        ),
        Trouble::Unreachable => (
            "Nic nie przyjmuje połączeń pod tym adresem: sprawdź serwer i port.",
            "Nothing accepts connections at this address: check the server and its port.",
        ),
        Trouble::Redirects => (
            "Przekierowania zapętlają się lub jest ich za dużo: przekieruj stary adres wprost na kanał.",
            "The redirects loop or are too many: make the old address redirect straight to the feed.",
        ),
        Trouble::TooLarge => (
            "Kanał jest za duży: ogranicz liczbę wpisów lub długość ich treści.",
            "The feed is too large: publish fewer items or shorter texts in it.",
        ),
        Trouble::NotAFeed => (
            "Pod adresem jest coś, co nie jest kanałem (często strona HTML po aktualizacji CMS-u): wskaż kanał RSS, Atom lub JSON.",
            "The address serves something that is not a feed (often an HTML page after a CMS update): point it at the RSS, Atom or JSON feed.",
        ),
        Trouble::Other => (
            "Otwórz adres kanału w przeglądarce i sprawdź, czy pokazuje kanał.",
            "Open the feed's address in a browser and check that it shows the feed.",
        ),
        Trouble::Quiet => (
            "Od dawna nie ma nowych wpisów: sprawdź, czy CMS nadal publikuje w tym kanale.",
            "No new items for a long time: check that the CMS still publishes to this feed.",
        ),
        Trouble::Language => (
            "Wpisy są w innym języku, niż podaje feeds.toml: popraw `lang` w feeds.toml albo język kanału.",
            "The items are in another language than feeds.toml declares: correct `lang` in feeds.toml or the feed's language.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_gets_its_own_advice() {
        let reasons = [
            "HTTP 404",
            "HTTP 403",
            "HTTP 429 (retry after 60s)",
            "HTTP 503",
            "timed out: read",
            "DNS lookup failed: no record",
            "TLS failed: invalid certificate",
            "connection refused",
            "redirect loop at https://x.example/",
            "body larger than 5 bytes",
            "not a feed: an HTML page with no feed links",
            "something else",
        ];
        let kinds: Vec<Trouble> = reasons.iter().map(|r| failure(r)).collect();
        let mut distinct = kinds.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), reasons.len(), "{kinds:?}");
    }
}
