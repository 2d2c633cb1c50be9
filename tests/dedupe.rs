//! Story grouping: what a subscriber sees once, and what stays apart.

use std::path::PathBuf;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use hejnal::clean::{self, fingerprint::distance, fingerprint::simhash};
use hejnal::config::{Config, DedupeConfig};
use hejnal::dedupe::{GroupReport, group};
use hejnal::model::{Entry, EntryDraft, Lang, LangOrigin, ParsedFeed, Story};
use hejnal::publish;
use hejnal::store::{Store, UpsertStatus};

const TRAM: &str = "Od poniedziałku tramwaje linii 4, 8 i 13 pojadą objazdem, ponieważ \
    miasto rozpoczyna remont torowiska na ulicy Krakowskiej. Prace potrwają do końca \
    sierpnia i obejmą wymianę szyn, podkładów oraz sieci trakcyjnej na odcinku od placu \
    Wolnica do mostu Piłsudskiego. Zarząd Transportu Publicznego uruchomi w tym czasie \
    autobusy zastępcze, które będą kursować co dziesięć minut w godzinach szczytu. \
    Kierowcy muszą liczyć się z utrudnieniami, a piesi z przejściami tymczasowymi. \
    Miasto zapowiada, że po remoncie tramwaje będą jeździć ciszej i szybciej, a \
    przystanki zostaną dostosowane do potrzeb osób z niepełnosprawnościami.";

/// The same article as reposted by a partner site: one word changed, a "read more" link added.
const TRAM_REPOST: &str = "Od poniedziałku tramwaje linii 4, 8 i 13 pojadą objazdem, ponieważ \
    miasto rozpoczyna remont torowiska na ulicy Krakowskiej. Prace potrwają do końca \
    sierpnia i obejmą wymianę szyn, podkładów oraz sieci trakcyjnej na odcinku od placu \
    Wolnica do mostu Piłsudskiego. Zarząd Transportu Publicznego zapewni w tym czasie \
    autobusy zastępcze, które będą kursować co dziesięć minut w godzinach szczytu. \
    Kierowcy muszą liczyć się z utrudnieniami, a piesi z przejściami tymczasowymi. \
    Miasto zapowiada, że po remoncie tramwaje będą jeździć ciszej i szybciej, a \
    przystanki zostaną dostosowane do potrzeb osób z niepełnosprawnościami. Czytaj więcej";

const MUSEUM: &str = "Muzeum Narodowe otwiera w sobotę wystawę poświęconą malarstwu \
    Młodej Polski. Zwiedzający zobaczą ponad dwieście obrazów, w tym prace Wyspiańskiego, \
    Malczewskiego i Boznańskiej, wypożyczone z kolekcji prywatnych w kraju i za granicą. \
    Kuratorzy przygotowali także cykl wykładów i warsztaty dla dzieci, a w każdy \
    czwartek wstęp na ekspozycję będzie bezpłatny. Bilety można kupić w kasach muzeum \
    oraz przez internet, a grupy zorganizowane powinny rezerwować termin z wyprzedzeniem.";

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 5, day, 9, 0, 0)
        .single()
        .unwrap()
}

fn entry(source: &str, key: &str, title: &str, text: &str, published: DateTime<Utc>) -> Entry {
    let link = format!("https://{source}.example/news/{key}");
    Entry {
        source_id: source.to_string(),
        key: key.to_string(),
        guid: Some(key.to_string()),
        link: Some(link.clone()),
        canonical_link: Some(link),
        title: title.to_string(),
        summary: format!("<p>{text}</p>"),
        authors: Vec::new(),
        published: Some(published),
        updated: None,
        lang: Lang::parse("pl").unwrap(),
        lang_origin: LangOrigin::Feed,
        image: None,
        fingerprint: simhash(title, text),
        facts: clean::facts::signature(title, text),
        content_hash: xxhash_rust::xxh3::xxh3_64(format!("{title}{text}").as_bytes()),
        categories: Vec::new(),
    }
}

fn tram(source: &str, key: &str, day: u32) -> Entry {
    entry(
        source,
        key,
        "Remont torowiska na Krakowskiej",
        TRAM,
        at(day),
    )
}

fn tram_repost(source: &str, key: &str, day: u32) -> Entry {
    entry(
        source,
        key,
        "Remont torowiska na Krakowskiej",
        TRAM_REPOST,
        at(day),
    )
}

fn museum(source: &str, key: &str, day: u32) -> Entry {
    entry(source, key, "Wystawa Młodej Polski", MUSEUM, at(day))
}

fn store_and_group(store: &mut Store, entries: &[Entry], now: DateTime<Utc>) -> GroupReport {
    store.upsert_entries(entries, now).unwrap();
    group(store, &DedupeConfig::default(), now).unwrap()
}

/// Each story as the sorted list of `source/key` of its entries, stories sorted too.
fn grouping(store: &Store) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = store
        .latest_stories(1000)
        .unwrap()
        .iter()
        .map(|s: &Story| {
            let mut members: Vec<String> = s
                .entries
                .iter()
                .map(|e| format!("{}/{}", e.entry.source_id, e.entry.key))
                .collect();
            members.sort();
            members
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_same_canonical_link_from_two_sources_is_one_story() {
    let mut store = Store::open_in_memory().unwrap();
    let original = museum("krakow", "1", 1);
    let mut aggregated = tram("portal", "abc", 1);
    aggregated.canonical_link = original.canonical_link.clone();
    let report = store_and_group(&mut store, &[original, aggregated], at(1));
    assert_eq!(
        report,
        GroupReport {
            new_stories: 1,
            joined: 1
        }
    );
    assert_eq!(grouping(&store), [["krakow/1", "portal/abc"]]);
}

#[test]
fn a_grouped_entry_that_moves_is_found_by_its_new_link_only() {
    let mut store = Store::open_in_memory().unwrap();
    let mut moved = museum("krakow", "1", 1);
    let old_link = moved.canonical_link.clone();
    store_and_group(&mut store, std::slice::from_ref(&moved), at(1));
    moved.canonical_link = Some("https://krakow.example/kultura/wystawa".to_string());
    moved.content_hash ^= 1;
    store_and_group(&mut store, std::slice::from_ref(&moved), at(2));

    let mut by_new = tram("portal", "a", 2);
    by_new.canonical_link = moved.canonical_link.clone();
    let mut by_old = entry(
        "lwow",
        "b",
        "Pogoda na weekend",
        "Synoptycy zapowiadają słoneczny weekend, temperatura sięgnie dwudziestu stopni.",
        at(2),
    );
    by_old.canonical_link = old_link;
    store_and_group(&mut store, &[by_new, by_old], at(2));
    assert_eq!(
        grouping(&store),
        [vec!["krakow/1", "portal/a"], vec!["lwow/b"]]
    );
}

#[test]
fn the_same_url_guid_from_two_sources_is_one_story_even_written_differently() {
    let mut store = Store::open_in_memory().unwrap();
    let mut a = museum("krakow", "a", 1);
    a.guid = Some("https://www.krakow.example/news/7".to_string());
    let mut b = tram("portal", "b", 1);
    b.guid = Some("http://krakow.example/news/7/#comments".to_string());
    store_and_group(&mut store, &[a, b], at(1));
    assert_eq!(grouping(&store), [["krakow/a", "portal/b"]]);
}

#[test]
fn a_bare_number_guid_shared_by_chance_does_not_join_stories() {
    let mut store = Store::open_in_memory().unwrap();
    let mut a = museum("krakow", "a", 1);
    a.guid = Some("1024".to_string());
    let mut b = tram("nuremberg", "b", 1);
    b.guid = Some("1024".to_string());
    store_and_group(&mut store, &[a, b], at(1));
    assert_eq!(store.story_count().unwrap(), 2);
}

#[test]
fn an_edited_repost_on_another_site_is_one_story() {
    let mut store = Store::open_in_memory().unwrap();
    let report = store_and_group(
        &mut store,
        &[tram("krakow", "t", 1), tram_repost("portal", "r", 2)],
        at(2),
    );
    assert_eq!(
        report,
        GroupReport {
            new_stories: 1,
            joined: 1
        }
    );
    assert_eq!(grouping(&store), [["krakow/t", "portal/r"]]);
}

/// A short detour notice of the transit operator, 19 words: fingerprinted with
/// its headline, so a repost under another headline lands far from it.
fn detour(line: &str, street: &str) -> String {
    format!(
        "W sobotę 14 czerwca tramwaje linii {line} pojadą objazdem przez ul. Starowiślną. \
         Powodem są prace torowe na ul. {street}."
    )
}

/// Groups `later`, an entry of another source, into the one story the store
/// holds.
fn joins_the_story(store: &mut Store, later: Entry, now: DateTime<Utc>) {
    let member = format!("{}/{}", later.source_id, later.key);
    let report = store_and_group(store, &[later], now);
    assert_eq!(report.joined, 1);
    let stories = grouping(store);
    assert_eq!(stories.len(), 1);
    assert!(stories[0].contains(&member));
}

#[test]
fn a_short_notice_reposted_under_a_rewritten_headline_is_one_story_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hejnal.db");
    let notice = detour("52", "Dietla");
    let first = entry("ztp", "z1", "Zmiany w kursowaniu linii 52", &notice, at(12));
    let repost_text = format!("{notice} Objazd potrwa cały dzień.");
    let headline = "Weekend z utrudnieniami na Kazimierzu. Tramwaj 52 zmieni trasę";
    let repost = entry("portal", "p1", headline, &repost_text, at(12));
    assert!(distance(first.fingerprint, repost.fingerprint) > DedupeConfig::default().max_distance);
    {
        let mut store = Store::open(&path).unwrap();
        store_and_group(&mut store, &[first], at(12));
    }
    let mut store = Store::open(&path).unwrap();
    joins_the_story(&mut store, repost, at(13));
}

#[test]
fn an_article_reposted_with_a_lead_and_a_headline_of_its_own_is_one_story() {
    let mut store = Store::open_in_memory().unwrap();
    let text = format!(
        "(PAP) Mieszkańców Kazimierza czeka lato utrudnień. {TRAM} Szczegóły podał \
         rzecznik miasta."
    );
    let headline = "Tramwaje na Kazimierzu pojadą objazdem. Zaczyna się wymiana szyn";
    let copy = entry("pap", "p1", headline, &text, at(2));
    let first = tram("krakow", "t", 1);
    assert!(distance(first.fingerprint, copy.fingerprint) > DedupeConfig::default().max_distance);
    store_and_group(&mut store, &[first], at(1));
    joins_the_story(&mut store, copy, at(2));
}

#[test]
fn a_short_notice_for_another_line_or_street_stays_apart() {
    let mut store = Store::open_in_memory().unwrap();
    let headline = "Tramwaje pojadą objazdem";
    let entries = [
        entry("ztp", "z1", headline, &detour("52", "Dietla"), at(12)),
        entry("portal", "p1", headline, &detour("50", "Dietla"), at(12)),
        entry(
            "radio",
            "r1",
            headline,
            &detour("52", "Krakowskiej"),
            at(12),
        ),
    ];
    let report = store_and_group(&mut store, &entries, at(13));
    assert_eq!(report.new_stories, 3);
}

#[test]
fn a_repost_of_one_of_many_notices_of_one_template_joins_its_own() {
    let mut store = Store::open_in_memory().unwrap();
    // Twenty notices of one transit operator's template, each from another
    // district's site: more near-twins than grouping compares with an entry.
    let streets = [
        "Dietla",
        "Krakowskiej",
        "Długiej",
        "Karmelickiej",
        "Dajwór",
        "Kalwaryjskiej",
        "Mogilskiej",
        "Lubicz",
        "Basztowej",
        "Westerplatte",
        "Starowiślnej",
        "Wielickiej",
        "Limanowskiego",
        "Zwierzynieckiej",
        "Królewskiej",
        "Słowackiego",
        "Pawiej",
        "Kamiennej",
        "Wrocławskiej",
        "Bronowickiej",
    ];
    let notices: Vec<Entry> = streets
        .iter()
        .enumerate()
        .map(|(n, street)| {
            let line = (n + 1).to_string();
            let headline = format!("Zmiany w kursowaniu linii {line}");
            entry(
                &format!("dzielnica{n}"),
                "z1",
                &headline,
                &detour(&line, street),
                at(12),
            )
        })
        .collect();
    let report = store_and_group(&mut store, &notices, at(12));
    assert_eq!(report.new_stories, 20);
    let repost = entry(
        "portal",
        "p1",
        "Weekend z utrudnieniami. Tramwaj 13 zmieni trasę",
        &format!("{} Objazd potrwa cały dzień.", detour("13", streets[12])),
        at(12),
    );
    let report = store_and_group(&mut store, &[repost], at(13));
    assert_eq!(report.joined, 1);
    let stories = grouping(&store);
    assert_eq!(stories.len(), 20);
    assert!(stories.contains(&vec!["dzielnica12/z1".to_string(), "portal/p1".to_string()]));
}

#[test]
fn a_short_notice_corrected_in_place_is_found_by_its_new_text() {
    let mut store = Store::open_in_memory().unwrap();
    let wrong = entry("ztp", "z1", "Objazd", &detour("52", "Dietla"), at(12));
    store_and_group(&mut store, &[wrong], at(12));
    // The operator corrects the line; a paper reposts the corrected notice.
    let corrected = entry("ztp", "z1", "Objazd", &detour("50", "Dietla"), at(12));
    let repost = entry(
        "portal",
        "p1",
        "Tramwaj 50 zmieni trasę w sobotę",
        &format!("{} Objazd potrwa cały dzień.", detour("50", "Dietla")),
        at(12),
    );
    store.upsert_entries(&[corrected], at(13)).unwrap();
    joins_the_story(&mut store, repost, at(14));
}

#[test]
fn different_news_are_different_stories() {
    let mut store = Store::open_in_memory().unwrap();
    store_and_group(
        &mut store,
        &[tram("krakow", "t", 1), museum("portal", "m", 1)],
        at(1),
    );
    assert_eq!(grouping(&store), [vec!["krakow/t"], vec!["portal/m"]]);
}

#[test]
fn a_weekly_series_of_one_source_is_not_folded_into_one_story() {
    let mut store = Store::open_in_memory().unwrap();
    store_and_group(&mut store, &[tram("krakow", "week-1", 1)], at(1));
    store_and_group(&mut store, &[tram_repost("krakow", "week-2", 8)], at(8));
    assert_eq!(
        grouping(&store),
        [vec!["krakow/week-1"], vec!["krakow/week-2"]]
    );
}

#[test]
fn the_same_text_outside_the_window_is_a_new_story() {
    let mut store = Store::open_in_memory().unwrap();
    store_and_group(&mut store, &[tram("krakow", "t", 1)], at(1));
    store_and_group(&mut store, &[tram_repost("portal", "r", 20)], at(20));
    assert_eq!(store.story_count().unwrap(), 2);
}

#[test]
fn texts_without_words_are_never_near_duplicates() {
    let mut store = Store::open_in_memory().unwrap();
    let a = entry("krakow", "a", "", "", at(1));
    let b = entry("portal", "b", "", "", at(1));
    assert_eq!(a.fingerprint, 0);
    store_and_group(&mut store, &[a, b], at(1));
    assert_eq!(store.story_count().unwrap(), 2);
}

#[test]
fn a_story_keeps_its_id_guid_and_date_when_others_join() {
    let mut store = Store::open_in_memory().unwrap();
    store_and_group(&mut store, &[tram("krakow", "t", 1)], at(1));
    let born = store.latest_stories(1).unwrap().remove(0);

    let report = store_and_group(&mut store, &[tram_repost("portal", "r", 2)], at(3));
    assert_eq!(
        report,
        GroupReport {
            new_stories: 0,
            joined: 1
        }
    );
    let grown = store.latest_stories(1).unwrap().remove(0);
    assert_eq!((grown.id, &grown.guid), (born.id, &born.guid));
    assert_eq!(grown.published, at(1));
    // The story changed when the repost was published, not when it was read.
    assert_eq!(grown.updated, at(2));
    assert_eq!(grown.entries.len(), 2);
    assert_eq!(grown.entries[0].entry.source_id, "krakow");
}

#[test]
fn a_future_date_does_not_pin_a_story_to_the_top() {
    let mut store = Store::open_in_memory().unwrap();
    let wrong_clock = entry(
        "krakow",
        "f",
        "Zegar",
        "Zegar źle ustawiony",
        at(1) + TimeDelta::days(3650),
    );
    store_and_group(&mut store, &[wrong_clock], at(1));
    assert_eq!(store.latest_stories(1).unwrap()[0].published, at(1));
}

#[test]
fn entries_left_unassigned_by_a_crash_are_grouped_by_the_next_call() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hejnal.db");
    {
        let mut store = Store::open(&path).unwrap();
        store
            .upsert_entries(
                &[tram("krakow", "t", 1), tram_repost("portal", "r", 1)],
                at(1),
            )
            .unwrap();
        // The process dies in the middle of grouping: the pass never commits.
        let pass = store.grouping().unwrap();
        let first = pass.unassigned().unwrap().remove(0);
        pass.create_story(&first, at(1), at(1)).unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.story_count().unwrap(), 0);
    assert_eq!(store.unassigned_entries().unwrap().len(), 2);
    let report = group(&mut store, &DedupeConfig::default(), at(1)).unwrap();
    assert_eq!(
        report,
        GroupReport {
            new_stories: 1,
            joined: 1
        }
    );
    assert!(store.unassigned_entries().unwrap().is_empty());
    let again = group(&mut store, &DedupeConfig::default(), at(2)).unwrap();
    assert_eq!(
        again,
        GroupReport::default(),
        "a grouped entry is never grouped twice"
    );
}

#[test]
fn story_guids_are_stable_names_that_differ_between_stories() {
    let mut store = Store::open_in_memory().unwrap();
    store_and_group(
        &mut store,
        &[tram("krakow", "t", 1), museum("krakow", "m", 2)],
        at(2),
    );
    let guids: Vec<String> = store
        .latest_stories(2)
        .unwrap()
        .into_iter()
        .map(|s| s.guid)
        .collect();
    assert_ne!(guids[0], guids[1]);
    // tag: URIs (RFC 4151) of the day each story was born; a store that
    // knows no domain of the publisher's mints under a name for local use.
    for guid in &guids {
        let hex = guid
            .strip_prefix("tag:hejnal.localhost,2025-05-02:story/")
            .unwrap_or_else(|| panic!("{guid}"));
        assert_eq!(hex.len(), 16);
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    store.mint_story_ids_under("news.krakow.pl".to_string());
    let library = entry(
        "nowa-huta",
        "b",
        "Nowa biblioteka w Nowej Hucie",
        "Otwarto bibliotekę z czytelnią dla dzieci i salą komputerową.",
        at(9),
    );
    store_and_group(&mut store, &[library], at(9));
    let newest = store.latest_stories(1).unwrap().remove(0);
    assert!(
        newest
            .guid
            .starts_with("tag:news.krakow.pl,2025-05-09:story/"),
        "{}",
        newest.guid
    );
}

#[test]
fn stories_born_at_one_instant_are_a_microsecond_apart() {
    let mut store = Store::open_in_memory().unwrap();
    store_and_group(
        &mut store,
        &[tram("krakow", "t", 1), museum("nowa-huta", "m", 1)],
        at(1),
    );
    let mut dates: Vec<DateTime<Utc>> = store
        .latest_stories(2)
        .unwrap()
        .into_iter()
        .map(|s| s.published)
        .collect();
    dates.sort();
    assert_eq!(dates[1], at(1));
    assert_eq!(dates[1] - dates[0], chrono::TimeDelta::microseconds(1));
}

#[test]
fn fingerprint_distances_follow_the_text() {
    let title = "Remont torowiska na Krakowskiej";
    assert_eq!(distance(simhash(title, TRAM), simhash(title, TRAM)), 0);
    let edited = distance(simhash(title, TRAM), simhash(title, TRAM_REPOST));
    assert!(edited <= 3, "small edit moved {edited} bits");
    let unrelated = distance(
        simhash(title, TRAM),
        simhash("Wystawa Młodej Polski", MUSEUM),
    );
    assert!(
        unrelated >= 20,
        "unrelated texts only {unrelated} bits apart"
    );
}

#[test]
fn fingerprint_ignores_diacritics_case_and_punctuation() {
    assert_eq!(
        simhash("Kraków", "Hejnał z wieży Mariackiej."),
        simhash("KRAKOW", "hejnal z wiezy mariackiej")
    );
    assert_eq!(
        simhash("Straße", "Große Ausstellung"),
        simhash("strasse", "grosse ausstellung")
    );
    assert_ne!(simhash("Kraków", ""), simhash("Warszawa", ""));
}

const FEEDS_TOML: &str = r#"
[publisher]
title = "Hejnał"
base_url = "https://hejnal.example/"
languages = ["pl", "en"]

[dedupe]
strip_params = ["ref"]

[[source]]
id = "krakow"
name = "Magiczny Kraków"
city = "Kraków"
url = "https://krakow.example/rss.xml"
lang = "pl"

[[source]]
id = "portal"
name = "Portal Małopolski"
city = "Kraków"
url = "https://portal.example/feed"
lang = "pl"
"#;

fn config() -> Config {
    match Config::parse(FEEDS_TOML, PathBuf::from(".")) {
        Ok(config) => config,
        Err(problems) => panic!("test config is invalid: {problems:?}"),
    }
}

/// What the clean stage makes of one item of a source's feed, as a cycle would.
fn fetched(config: &Config, source: &str, draft: EntryDraft, now: DateTime<Utc>) -> Entry {
    let source = config
        .sources
        .iter()
        .map(|s| s.get_ref())
        .find(|s| s.id == source)
        .unwrap();
    let feed = ParsedFeed {
        entries: vec![draft],
        ..ParsedFeed::default()
    };
    clean::clean(source, &feed, &source.url, &config.dedupe.strip_params, now).remove(0)
}

fn tram_item(guid: Option<&str>, link: &str, text: &str) -> EntryDraft {
    EntryDraft {
        guid: guid.map(str::to_string),
        link: Some(link.to_string()),
        title: Some("Remont torowiska na Krakowskiej".to_string()),
        summary: Some(format!("<p>{text}</p>")),
        published: Some(at(1)),
        ..EntryDraft::default()
    }
}

/// Stores and groups one cycle's entries, as the cycle does.
fn cycle(
    store: &mut Store,
    config: &Config,
    entries: &[Entry],
    now: DateTime<Utc>,
) -> Vec<UpsertStatus> {
    let statuses = store.upsert_entries(entries, now).unwrap();
    group(store, &config.dedupe, now).unwrap();
    statuses.into_iter().map(|u| u.status).collect()
}

#[test]
fn an_updated_entry_updates_its_story_in_place() {
    let config = config();
    let mut store = Store::open_in_memory().unwrap();
    let guid = Some("https://krakow.example/news/tram");
    let first = fetched(
        &config,
        "krakow",
        tram_item(guid, "https://krakow.example/news/tram", TRAM),
        at(1),
    );
    assert_eq!(
        cycle(&mut store, &config, &[first], at(1)),
        [UpsertStatus::New]
    );
    let born = store.latest_stories(10).unwrap().remove(0);

    let corrected = format!("{TRAM} Aktualizacja: autobusy zastępcze pojadą także nocą.");
    let second = fetched(
        &config,
        "krakow",
        tram_item(guid, "https://krakow.example/news/tram", &corrected),
        at(2),
    );
    assert_eq!(
        cycle(&mut store, &config, &[second], at(2)),
        [UpsertStatus::Updated]
    );

    let stories = store.latest_stories(10).unwrap();
    assert_eq!(stories.len(), 1, "an update is never a new story");
    let story = &stories[0];
    assert_eq!((story.id, &story.guid), (born.id, &born.guid));
    assert_eq!(story.published, born.published);
    assert_eq!(story.updated, at(2));
    assert_eq!(story.entries.len(), 1);
    assert!(story.entries[0].entry.summary.contains("Aktualizacja"));
}

#[test]
fn an_entry_without_guid_is_known_again_by_its_canonical_link() {
    let config = config();
    let mut store = Store::open_in_memory().unwrap();
    let first = fetched(
        &config,
        "krakow",
        tram_item(None, "https://www.krakow.example/news/tram/", TRAM),
        at(1),
    );
    cycle(&mut store, &config, &[first], at(1));
    let born = store.latest_stories(1).unwrap().remove(0);
    // The same article, linked with tracking parameters, and edited. (A fragment
    // would name another post on the same page: tests/distinct_posts.rs.)
    let again = fetched(
        &config,
        "krakow",
        tram_item(
            None,
            "http://krakow.example/news/tram?utm_source=rss&ref=feed",
            &format!("{TRAM} Sprostowanie: prace potrwają do września."),
        ),
        at(2),
    );
    assert_eq!(
        cycle(&mut store, &config, &[again], at(2)),
        [UpsertStatus::Updated]
    );
    let stories = store.latest_stories(10).unwrap();
    assert_eq!(stories.len(), 1);
    assert_eq!(
        (stories[0].id, &stories[0].guid, stories[0].published),
        (born.id, &born.guid, born.published)
    );
    assert_eq!(stories[0].updated, at(2));
}

#[test]
fn the_same_entry_fetched_again_unchanged_changes_nothing() {
    let config = config();
    let mut store = Store::open_in_memory().unwrap();
    let entry = fetched(
        &config,
        "krakow",
        tram_item(Some("t-1"), "https://krakow.example/t", TRAM),
        at(1),
    );
    cycle(&mut store, &config, std::slice::from_ref(&entry), at(1));
    let before = store.latest_stories(1).unwrap();
    assert_eq!(
        cycle(&mut store, &config, &[entry], at(5)),
        [UpsertStatus::Unchanged]
    );
    assert_eq!(
        store.latest_stories(1).unwrap(),
        before,
        "not even `updated` moves"
    );
}

#[test]
fn the_published_item_names_the_other_sources_with_their_links() {
    let config = config();
    let mut store = Store::open_in_memory().unwrap();
    let original = fetched(
        &config,
        "krakow",
        tram_item(Some("k-1"), "https://krakow.example/news/tram", TRAM),
        at(1),
    );
    let mut copy_item = tram_item(
        Some("p-9"),
        "https://portal.example/a/9",
        &format!("(PAP) {TRAM}"),
    );
    copy_item.published = Some(at(1) + TimeDelta::hours(3));
    let copy = fetched(&config, "portal", copy_item, at(2));
    cycle(&mut store, &config, &[original], at(1));
    cycle(&mut store, &config, &[copy], at(2));

    let stories = store.latest_stories(10).unwrap();
    assert_eq!(stories.len(), 1);
    assert_eq!(
        stories[0].entries[0].entry.source_id, "krakow",
        "the earliest entry leads"
    );
    let files = publish::render(&config, &stories).unwrap();
    let feed = files
        .iter()
        .find(|f| f.path.as_path() == std::path::Path::new("feed.xml"))
        .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
        .unwrap();
    assert_eq!(feed.matches("<item>").count(), 1, "one story, one item");
    assert!(feed.contains(&stories[0].guid));
    let others = feed
        .split("Inne źródła:")
        .nth(1)
        .expect("the item lists the other sources");
    let others = &others[..others.find("&lt;/p&gt;").or(others.find("</p>")).unwrap()];
    assert!(others.contains("Portal Małopolski"), "{others}");
    assert!(others.contains("https://portal.example/a/9"), "{others}");
    assert!(
        !others.contains("Magiczny Kraków"),
        "the lead is not listed again: {others}"
    );
}

#[test]
fn a_repost_under_a_new_headline_joins_the_story() {
    let config = config();
    let mut store = Store::open_in_memory().unwrap();
    let original = fetched(
        &config,
        "krakow",
        tram_item(Some("k-1"), "https://krakow.example/t", TRAM),
        at(1),
    );
    let mut repost = tram_item(Some("p-1"), "https://portal.example/p", TRAM);
    repost.title = Some("Tramwaje pojadą objazdem. Zaczyna się wymiana szyn".to_string());
    let repost = fetched(&config, "portal", repost, at(1));
    cycle(&mut store, &config, &[original, repost], at(1));
    assert_eq!(store.story_count().unwrap(), 1);
}

#[test]
fn the_same_announcement_for_another_day_is_another_story() {
    let config = config();
    let mut store = Store::open_in_memory().unwrap();
    let monday = fetched(
        &config,
        "krakow",
        tram_item(Some("k-1"), "https://krakow.example/t", TRAM),
        at(1),
    );
    let thursday_text = TRAM.replace("Od poniedziałku", "Od czwartku");
    let thursday = fetched(
        &config,
        "portal",
        tram_item(Some("p-1"), "https://portal.example/p", &thursday_text),
        at(1),
    );
    cycle(&mut store, &config, &[monday, thursday], at(1));
    assert_eq!(store.story_count().unwrap(), 2);
}

/// Facts are compared before any text is read: a copy that adds one (an
/// update with its hour) or leaves one out still joins, whichever of the two
/// comes first; a copy with one of its own in place of another does not.
#[test]
fn a_copy_with_a_fact_more_or_less_joins_and_one_with_another_fact_does_not() {
    let updated = format!("{TRAM} Aktualizacja, godz. 14.20: objazd potwierdzony.");
    for (first, then) in [(TRAM, updated.as_str()), (updated.as_str(), TRAM)] {
        let mut store = Store::open_in_memory().unwrap();
        let title = "Remont torowiska na Krakowskiej";
        store_and_group(
            &mut store,
            &[entry("krakow", "1", title, first, at(1))],
            at(1),
        );
        let report = store_and_group(
            &mut store,
            &[entry("portal", "2", title, then, at(2))],
            at(2),
        );
        assert_eq!(
            report,
            GroupReport {
                new_stories: 0,
                joined: 1
            },
            "{then:?} after {first:?}"
        );
    }
    let mut store = Store::open_in_memory().unwrap();
    store_and_group(&mut store, &[tram("krakow", "1", 1)], at(1));
    let on_thursday = TRAM.replace("Od poniedziałku", "Od czwartku");
    let title = "Remont torowiska na Krakowskiej";
    let report = store_and_group(
        &mut store,
        &[entry("portal", "2", title, &on_thursday, at(2))],
        at(2),
    );
    assert_eq!(
        report,
        GroupReport {
            new_stories: 1,
            joined: 0
        }
    );
}
