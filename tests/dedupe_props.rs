//! Properties of story grouping and canonical links. (That canonicalizing is
//! idempotent on arbitrary URLs is checked in parse_clean.rs; here: that every
//! spelling of one article's link folds to one form, with the configured
//! parameters too, and that the order entries arrive in does not change stories.)

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use hejnal::clean::facts::signature;
use hejnal::clean::fingerprint::simhash;
use hejnal::clean::url::canonical;
use hejnal::config::DedupeConfig;
use hejnal::dedupe::group;
use hejnal::model::{Entry, Lang, LangOrigin};
use hejnal::store::Store;
use proptest::prelude::*;

const TRACKING: &[&str] = &[
    "utm_source=rss",
    "utm_medium=feed",
    "UTM_Campaign=x",
    "fbclid=IwAR0",
    "gclid=1",
    "dclid=2",
    "msclkid=3",
    "mc_cid=4",
    "mc_eid=5",
    "_ga=6",
    "yclid=7",
    "igshid=8",
    "ref=rss",
];

/// One article's link written the way some site, feed or share button wrote it.
#[derive(Debug, Clone)]
struct Spelling {
    https: bool,
    upper_scheme: bool,
    www: bool,
    upper_host: bool,
    default_port: bool,
    trailing: Option<&'static str>,
    tracking: Vec<&'static str>,
    shuffle_seed: usize,
    fragment: Option<String>,
}

fn spelling() -> impl Strategy<Value = Spelling> {
    (
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
        prop::option::of(prop::sample::select(vec![
            "/",
            "/index.html",
            "/index.php",
            "//",
        ])),
        prop::sample::subsequence(TRACKING.to_vec(), 0..4),
        any::<usize>(),
        prop::option::of("[a-z0-9-]{0,8}"),
    )
        .prop_map(
            |(
                (https, upper_scheme, www, upper_host, default_port),
                trailing,
                tracking,
                shuffle_seed,
                fragment,
            )| {
                Spelling {
                    https,
                    upper_scheme,
                    www,
                    upper_host,
                    default_port,
                    trailing,
                    tracking,
                    shuffle_seed,
                    fragment,
                }
            },
        )
}

fn write(host: &str, path: &str, params: &[String], s: &Spelling) -> String {
    let scheme = match (s.https, s.upper_scheme) {
        (true, false) => "https",
        (true, true) => "HTTPS",
        (false, false) => "http",
        (false, true) => "HTTP",
    };
    let mut host = if s.www {
        format!("www.{host}")
    } else {
        host.to_string()
    };
    if s.upper_host {
        host = host.to_uppercase();
    }
    let port = match (s.default_port, s.https) {
        (false, _) => "",
        (true, true) => ":443",
        (true, false) => ":80",
    };
    let mut query: Vec<String> = params.to_vec();
    query.extend(s.tracking.iter().map(|t| t.to_string()));
    // A different order of the same parameters.
    if !query.is_empty() {
        let k = s.shuffle_seed % query.len();
        query.rotate_left(k);
    }
    let mut url = format!("{scheme}://{host}{port}{path}{}", s.trailing.unwrap_or(""));
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query.join("&"));
    }
    if let Some(f) = &s.fragment {
        url.push('#');
        url.push_str(f);
    }
    url
}

proptest! {
    #[test]
    fn every_spelling_of_a_link_folds_to_one_canonical_form(
        host in "[a-z][a-z0-9-]{0,10}\\.(pl|de|com|gov\\.uk)",
        path in "(/[a-zA-Z0-9_~-]{1,8}){1,4}",
        params in prop::collection::btree_set("[a-z]{1,5}=[a-zA-Z0-9]{0,4}", 0..3),
        a in spelling(),
        b in spelling(),
    ) {
        let params: Vec<String> = params.into_iter().collect();
        let strip = vec!["ref".to_string()];
        let one = canonical(&write(&host, &path, &params, &a), &strip);
        let other = canonical(&write(&host, &path, &params, &b), &strip);
        prop_assert!(one.is_some());
        prop_assert_eq!(&one, &other);
        let once = one.unwrap_or_default();
        prop_assert_eq!(canonical(&once, &strip), Some(once.clone()));
    }
}

/// Distinct news, none a near duplicate of another.
const NEWS: &[(&str, &str)] = &[
    (
        "Remont torowiska na Krakowskiej",
        "Od poniedziałku tramwaje linii 8 i 13 pojadą objazdem, ponieważ miasto rozpoczyna remont \
         torowiska na ulicy Krakowskiej. Prace potrwają do końca sierpnia i obejmą wymianę szyn \
         oraz podkładów. Zarząd Transportu Publicznego uruchomi w tym czasie autobusy zastępcze.",
    ),
    (
        "Wystawa Młodej Polski",
        "Muzeum Narodowe otwiera w sobotę wystawę poświęconą malarstwu Młodej Polski. \
         Zwiedzający zobaczą ponad dwieście obrazów, w tym prace Wyspiańskiego i Malczewskiego. \
         Kuratorzy przygotowali także cykl wykładów i warsztaty dla dzieci.",
    ),
    (
        "Christkindlesmarkt öffnet",
        "Der Nürnberger Christkindlesmarkt öffnet am Freitag mit dem traditionellen Prolog des \
         Christkinds auf der Empore der Frauenkirche. Rund 160 Händler bieten an ihren Buden \
         Lebkuchen, Glühwein und Handwerkskunst an.",
    ),
    (
        "Snow emergency parking rules",
        "The City of Rochester has declared a snow emergency effective from 7pm on Tuesday. \
         Residents must park on the odd-numbered side of streets to allow plows to clear roads. \
         Vehicles left on the wrong side may be ticketed and towed.",
    ),
    (
        "Bezpłatne szczepienia dla seniorów",
        "Miasto po raz kolejny finansuje bezpłatne szczepienia przeciw grypie dla mieszkańców, \
         którzy ukończyli 65 lat. Szczepienia są wykonywane w ponad czterdziestu przychodniach, \
         a ich lista znajduje się na stronie urzędu.",
    ),
];

/// How a member of a story retells it.
#[derive(Debug, Clone, Copy)]
enum Retelling {
    Original,
    Prefixed,
    Corrected,
    ReadMore,
    /// An aggregator copying the text and linking to the original with tracking.
    LinkedCopy,
}

fn at(hour: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 5, 1, 8, 0, 0)
        .single()
        .unwrap_or_default()
        + TimeDelta::hours(hour)
}

fn retold(news: usize, member: usize, how: Retelling) -> Entry {
    let (title, text) = NEWS[news];
    let source = format!("source-{member}");
    let original_link = format!("https://source-0.example/news/{news}");
    let (text, link) = match how {
        Retelling::Original => (
            text.to_string(),
            format!("https://{source}.example/news/{news}"),
        ),
        Retelling::Prefixed => (
            format!("(PAP) {text}"),
            format!("https://{source}.example/n{news}"),
        ),
        Retelling::Corrected => (
            format!("{text} Aktualizacja: informację potwierdził rzecznik."),
            format!("https://{source}.example/a/{news}"),
        ),
        Retelling::ReadMore => (
            format!("{text} Czytaj więcej"),
            format!("https://{source}.example/r/{news}"),
        ),
        Retelling::LinkedCopy => (
            text.to_string(),
            format!("{original_link}?utm_source=agg#top"),
        ),
    };
    let canonical_link = canonical(&link, &[]);
    Entry {
        source_id: source,
        key: format!("{news}"),
        guid: None,
        link: Some(link),
        canonical_link,
        title: title.to_string(),
        summary: format!("<p>{text}</p>"),
        authors: Vec::new(),
        published: Some(at(member as i64)),
        updated: None,
        lang: Lang::parse("pl").unwrap_or_else(|| unreachable!()),
        lang_origin: LangOrigin::Feed,
        image: None,
        fingerprint: simhash(title, &text),
        facts: signature(title, &text),
        content_hash: xxhash_rust::xxh3::xxh3_64(format!("{title}{text}").as_bytes()),
        categories: Vec::new(),
    }
}

/// Some news, each told by one to four sources; member 0 of a story is the original.
fn told_news() -> impl Strategy<Value = Vec<Entry>> {
    let retelling = prop::sample::select(vec![
        Retelling::Prefixed,
        Retelling::Corrected,
        Retelling::ReadMore,
        Retelling::LinkedCopy,
    ]);
    prop::collection::btree_map(
        0..NEWS.len(),
        prop::collection::vec(retelling, 0..4),
        1..=NEWS.len(),
    )
    .prop_map(|stories| {
        let mut entries = Vec::new();
        for (news, copies) in stories {
            entries.push(retold(news, 0, Retelling::Original));
            for (k, how) in copies.into_iter().enumerate() {
                entries.push(retold(news, k + 1, how));
            }
        }
        entries
    })
}

/// Each story as the set of its entries' `source/key`.
fn partition(store: &Store) -> BTreeSet<BTreeSet<String>> {
    store
        .latest_stories(1000)
        .unwrap_or_default()
        .iter()
        .map(|s| {
            s.entries
                .iter()
                .map(|e| format!("{}/{}", e.entry.source_id, e.entry.key))
                .collect()
        })
        .collect()
}

/// Stores the entries in batches cut at `cuts`, grouping after each, as cycles do.
fn arrive(store: &mut Store, entries: &[Entry], cuts: &[usize], first_hour: i64) {
    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (entries.len() + 1)).collect();
    bounds.extend([0, entries.len()]);
    bounds.sort_unstable();
    bounds.dedup();
    for (n, w) in bounds.windows(2).enumerate() {
        let now = at(first_hour + n as i64);
        store
            .upsert_entries(&entries[w[0]..w[1]], now)
            .unwrap_or_default();
        group(store, &DedupeConfig::default(), now).unwrap_or_default();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_order_entries_arrive_in_does_not_change_the_stories(
        (entries, order) in told_news().prop_flat_map(|e| {
            let n = e.len();
            (Just(e), Just((0..n).collect::<Vec<_>>()).prop_shuffle())
        }),
        cuts in prop::collection::vec(any::<usize>(), 0..4),
        again in Just(()).prop_perturb(|_, mut rng| rng.random::<u64>()),
    ) {
        let expected: BTreeSet<BTreeSet<String>> = {
            let mut by_news: std::collections::BTreeMap<&str, BTreeSet<String>> = Default::default();
            for e in &entries {
                by_news.entry(e.key.as_str()).or_default().insert(format!("{}/{}", e.source_id, e.key));
            }
            by_news.into_values().collect()
        };
        let shuffled: Vec<Entry> = order.iter().map(|&i| entries[i].clone()).collect();
        let mut store = Store::open_in_memory().map_err(|e| TestCaseError::fail(e.to_string()))?;
        arrive(&mut store, &shuffled, &cuts, 10);
        prop_assert_eq!(partition(&store), expected.clone());

        // The same entries fetched again, in yet another order, change nothing.
        let stories_before = store.latest_stories(1000).unwrap_or_default();
        let mut refetched = shuffled.clone();
        let len = refetched.len();
        refetched.rotate_left((again as usize) % len);
        arrive(&mut store, &refetched, &[again as usize], 20);
        prop_assert_eq!(partition(&store), expected);
        prop_assert_eq!(store.latest_stories(1000).unwrap_or_default(), stories_before);
    }
}
