//! Absolute and canonical URLs.

use url::Url;

/// Query parameters that only say where a click came from, never what was read.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "_ga", "yclid", "igshid",
];

/// Path endings that servers answer exactly like the folder they sit in.
const INDEX_FILES: &[&str] = &["index.html", "index.htm", "index.php"];

/// Canonicalizing may reveal a new form to fold (say `%2E%2E` decoded to `..`);
/// a few rounds always reach the fixed point in practice.
const MAX_ROUNDS: usize = 4;

/// `link` resolved against `base`; only http(s) links are kept.
pub fn absolute(link: &str, base: &str) -> Option<String> {
    resolve(link, Url::parse(base).ok().as_ref())
}

/// [`absolute`] against a base already parsed (a link of its own without one),
/// so the links of a feed share one parse of its URL.
pub fn resolve(link: &str, base: Option<&Url>) -> Option<String> {
    let link = link.trim();
    if link.is_empty() {
        return None;
    }
    let resolved = match base {
        Some(base) => base.join(link).ok()?,
        None => Url::parse(link).ok()?,
    };
    matches!(resolved.scheme(), "http" | "https").then(|| resolved.into())
}

/// The canonical form of a link, used to recognise one article under many URLs.
pub fn canonical(link: &str, extra_strip: &[String]) -> Option<String> {
    let mut current = canonical_once(link.trim(), extra_strip)?;
    for _ in 0..MAX_ROUNDS {
        let next = canonical_once(&current, extra_strip)?;
        if next == current {
            break;
        }
        current = next;
    }
    Some(current)
}

fn canonical_once(link: &str, extra_strip: &[String]) -> Option<String> {
    let url = Url::parse(link).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    // "krakow.pl." is the fully qualified spelling of "krakow.pl".
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    let host = match host.strip_prefix("www.") {
        Some(rest) if rest.contains('.') => rest.to_string(),
        _ => host,
    };
    // http and https serve the same article; only an unusual port makes a difference.
    let port = match url.port() {
        Some(443) | None => None,
        Some(80) if url.scheme() == "http" => None,
        Some(p) => Some(format!(":{p}")),
    };
    let port = port.as_deref().unwrap_or_default();
    let path = fold_path(drop_session_id(&normalize_percent(url.path())));
    let query = url
        .query()
        .map(|q| canonical_query(q, extra_strip))
        .filter(|q| !q.is_empty());
    let mut out = String::with_capacity(link.len() + 1);
    for piece in ["https://", &host, port, &path] {
        out.push_str(piece);
    }
    if let Some(q) = query {
        out.push('?');
        out.push_str(&q);
    }
    // A last parse makes sure the string we hand out is a URL the crate agrees with.
    Url::parse(&out).ok().map(String::from)
}

/// Java servers put the visitor's session in the path (`/news;jsessionid=…`):
/// it names the reader, not the article.
fn drop_session_id(path: &str) -> &str {
    const SESSION: &[u8] = b";jsessionid=";
    // Most paths have no ';' at all, and none need a lower-cased copy to be searched.
    let at = memchr::memchr_iter(b';', path.as_bytes()).find(|&at| {
        path.as_bytes()
            .get(at..at + SESSION.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(SESSION))
    });
    at.map_or(path, |at| &path[..at])
}

/// Drops trailing slashes and index files until neither is left.
fn fold_path(path: &str) -> String {
    let mut path = path.to_string();
    loop {
        let before = path.len();
        while path.len() > 1 && path.ends_with('/') {
            path.pop();
        }
        for index in INDEX_FILES {
            if path
                .strip_suffix(index)
                .is_some_and(|rest| rest.ends_with('/'))
            {
                path.truncate(path.len() - index.len());
            }
        }
        if path.len() == before {
            break;
        }
    }
    if path.is_empty() {
        path.push('/');
    }
    path
}

fn canonical_query(query: &str, extra_strip: &[String]) -> String {
    let mut params: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(normalize_percent)
        .filter(|p| !is_tracking(param_name(p), extra_strip))
        .collect();
    params.sort();
    params.dedup();
    params.join("&")
}

fn param_name(param: &str) -> &str {
    param.split('=').next().unwrap_or(param)
}

fn is_tracking(name: &str, extra_strip: &[String]) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("utm_")
        || TRACKING_PARAMS.contains(&name.as_str())
        || extra_strip.iter().any(|s| s.eq_ignore_ascii_case(&name))
}

/// Decodes escapes of unreserved characters and upper-cases the hex of the rest,
/// so that `%7e`, `%7E` and `~` become one spelling.
fn normalize_percent(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    // Text between escapes is copied as it is, a run at a time. A '%' is never
    // inside an escape already read: those end in two hex digits.
    let mut copied = 0;
    for at in memchr::memchr_iter(b'%', bytes) {
        let Some(value) = hex_pair(bytes.get(at + 1..at + 3)) else {
            continue;
        };
        out.push_str(&s[copied..at]);
        if is_unreserved(value) {
            out.push(char::from(value));
        } else {
            out.push('%');
            out.push_str(&format!("{value:02X}"));
        }
        copied = at + 3;
    }
    out.push_str(&s[copied..]);
    out
}

fn hex_pair(pair: Option<&[u8]>) -> Option<u8> {
    let pair = std::str::from_utf8(pair?).ok()?;
    u8::from_str_radix(pair, 16).ok()
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(link: &str) -> Option<String> {
        canonical(link, &[])
    }

    #[test]
    fn folds_the_usual_variants_of_one_article() {
        let want = Some("https://krakow.pl/news/a?id=7".to_string());
        for link in [
            "http://www.krakow.pl/news/a/?id=7",
            "HTTPS://WWW.Krakow.PL:443/news/a/index.html?utm_source=x&id=7#top",
            "https://krakow.pl/news/a?fbclid=abc&id=7&gclid=1",
            "http://krakow.pl:80/news/a/index.php?id=7",
            "https://krakow.pl/news/%61?id=%37",
        ] {
            assert_eq!(c(link), want, "{link}");
        }
    }

    #[test]
    fn folds_every_listed_tracking_parameter_in_any_case() {
        let want = c("https://krakow.pl/a?id=7");
        for param in [
            "utm_source",
            "UTM_Campaign",
            "utm_whatever",
            "fbclid",
            "gclid",
            "dclid",
            "msclkid",
            "mc_cid",
            "mc_eid",
            "_ga",
            "yclid",
            "igshid",
        ] {
            assert_eq!(
                c(&format!("https://krakow.pl/a?{param}=x&id=7")),
                want,
                "{param}"
            );
        }
        assert_ne!(c("https://krakow.pl/a?id=7&page=2"), want);
    }

    #[test]
    fn folds_a_trailing_dot_in_the_host_and_a_session_in_the_path() {
        assert_eq!(
            c("https://www.krakow.pl./news/a;jsessionid=0A1B2C?id=7").as_deref(),
            Some("https://krakow.pl/news/a?id=7")
        );
        assert_eq!(
            c("https://krakow.pl/news/a;JSESSIONID=x/").as_deref(),
            Some("https://krakow.pl/news/a")
        );
    }

    #[test]
    fn keeps_what_names_another_article() {
        assert_ne!(c("https://krakow.pl/News/A"), c("https://krakow.pl/news/a"));
        assert_ne!(c("https://krakow.pl/a?id=7"), c("https://krakow.pl/a?id=8"));
        assert_ne!(c("https://krakow.pl/a"), c("https://krakow.pl:8080/a"));
        assert_ne!(c("https://www.pl/a"), c("https://pl/a"));
    }

    #[test]
    fn sorts_params_and_upper_cases_escapes() {
        assert_eq!(
            c("https://a.pl/x?b=%2f&a=1").as_deref(),
            Some("https://a.pl/x?a=1&b=%2F")
        );
    }

    #[test]
    fn strips_extra_params_and_keeps_ports() {
        let extra = vec!["ref".to_string()];
        assert_eq!(
            canonical("https://a.pl:8443/x?ref=rss&p=2", &extra).as_deref(),
            Some("https://a.pl:8443/x?p=2")
        );
    }

    #[test]
    fn rejects_non_web_links() {
        assert_eq!(c("mailto:a@b.pl"), None);
        assert_eq!(c("javascript:alert(1)"), None);
        assert_eq!(c("not a url"), None);
    }

    #[test]
    fn resolves_relative_links() {
        assert_eq!(
            absolute("../b?x=1", "https://a.pl/news/feed.xml").as_deref(),
            Some("https://a.pl/b?x=1")
        );
        assert_eq!(absolute("javascript:alert(1)", "https://a.pl/"), None);
        assert_eq!(absolute("  ", "https://a.pl/"), None);
        assert_eq!(
            absolute("https://a.pl/x", "not a base").as_deref(),
            Some("https://a.pl/x")
        );
    }

    #[test]
    fn escapes_fold_around_stray_percent_signs_and_letters() {
        assert_eq!(
            c("https://a.pl/%%41%zz%4/ż%7e?q=%e2%82%ac%").as_deref(),
            Some("https://a.pl/%A%zz%4/%C5%BC~?q=%E2%82%AC%")
        );
    }
}
