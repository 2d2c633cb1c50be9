//! What story grouping asks of the store, all inside one transaction.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, TransactionBehavior, params, params_from_iter};
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use super::{Store, StoreError, date, from_sql_u64, micros, opt_date, story_ids, to_sql_u64};
use crate::clean::facts::may_agree;
use crate::clean::fingerprint::{BodyKeys, body_keys, distance};
use crate::clean::html::sanitized_text;
use crate::model::Entry;

/// Bands a fingerprint is cut into, 16 bits each.
const BANDS: u32 = 4;
const BAND_BITS: u32 = 16;
/// Probing each band with its values up to this many bits away finds every
/// fingerprint within `BANDS * (radius + 1) - 1` bits: 11 at this limit.
const MAX_PROBE_RADIUS: u32 = 2;

/// The four 16-bit bands of a fingerprint, each tagged with its band number so
/// one index serves all four.
fn bands(fingerprint: u64) -> [i64; BANDS as usize] {
    [0u32, 1, 2, 3].map(|n| tag(n, (fingerprint >> (BAND_BITS * n)) & 0xffff))
}

fn tag(band: u32, value: u64) -> i64 {
    i64::from(band) << BAND_BITS | value as i64
}

/// The band values to look up so that every fingerprint within `max_distance`
/// bits shares one of them: two fingerprints `d` bits apart have a band at most
/// `d / 4` bits apart (pigeonhole), so each band is probed with its neighbours
/// up to that radius.
pub(super) fn probes(fingerprint: u64, max_distance: u32) -> Vec<i64> {
    let radius = (max_distance / BANDS).min(MAX_PROBE_RADIUS);
    let mut out = Vec::new();
    for n in 0..BANDS {
        let value = (fingerprint >> (BAND_BITS * n)) & 0xffff;
        out.push(tag(n, value));
        for i in 0..BAND_BITS {
            if radius >= 1 {
                out.push(tag(n, value ^ 1 << i));
            }
            for j in i + 1..BAND_BITS {
                if radius >= 2 {
                    out.push(tag(n, value ^ 1 << i ^ 1 << j));
                }
            }
        }
    }
    out
}

/// An unassigned entry about to be placed, and the dates its near duplicates may
/// carry: the dedupe rules set the window, the store looks within it.
#[derive(Debug, Clone, Copy)]
pub struct Search<'e> {
    pub entry: &'e Unplaced,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// A guid shorter than this that is not a URL (a bare number, a short slug) is
/// only unique within its own source.
const MIN_SHARED_GUID_CHARS: usize = 16;

/// The form in which guids of different sources are compared, or `None` when
/// the guid is too plain to name one article across sources. URL guids compare
/// without scheme, `www.`, fragment or trailing slash. It lives with the store
/// because the grouped entries' lookup rows are written by it.
pub fn guid_key(guid: &str) -> Option<String> {
    let guid = guid.trim();
    if let Ok(url) = url::Url::parse(guid)
        && matches!(url.scheme(), "http" | "https")
    {
        let host = url.host_str()?;
        let host = host.strip_prefix("www.").unwrap_or(host);
        let mut key = host.to_string();
        if let Some(port) = url.port() {
            key.push_str(&format!(":{port}"));
        }
        key.push_str(url.path().trim_end_matches('/'));
        if let Some(query) = url.query() {
            key.push('?');
            key.push_str(query);
        }
        return Some(key);
    }
    let distinctive =
        guid.chars().count() >= MIN_SHARED_GUID_CHARS && !guid.chars().all(|c| c.is_ascii_digit());
    distinctive.then(|| guid.to_string())
}

/// The ways grouping looks a grouped entry up, as `grouped_keys.kind`.
#[derive(Debug, Clone, Copy)]
enum Lookup {
    CanonicalLink = 0,
    Guid = 1,
    Title = 2,
}

/// The keys an entry with this canonical link, guid key and title is found by
/// once it is in a story.
fn keys(
    canonical_link: Option<&str>,
    guid_key: Option<&str>,
    title: &str,
) -> Vec<(Lookup, String)> {
    let link = canonical_link.map(|l| (Lookup::CanonicalLink, l.to_string()));
    let guid = guid_key.map(|k| (Lookup::Guid, k.to_string()));
    link.into_iter()
        .chain(guid)
        .chain([(Lookup::Title, title.to_string())])
        .collect()
}

/// Bytes of a summary its body keys are made of: the first sentences name a
/// story, and a full article in a feed is not read to the end.
const MAX_KEYED_BYTES: usize = 4096;

/// The body keys of a stored summary, by which grouping finds a copy under
/// any headline.
fn body_keys_of(summary: &str) -> BodyKeys {
    body_keys(&sanitized_text(opening(summary)))
}

/// The first `MAX_KEYED_BYTES` of a summary, or less: cut before a tag the
/// limit falls in, else at a space, so no tag, entity or character is cut.
fn opening(summary: &str) -> &str {
    let Some(head) = summary.as_bytes().get(..MAX_KEYED_BYTES) else {
        return summary;
    };
    let last = |wanted: fn(&u8) -> bool| head.iter().rposition(wanted);
    let cut = match (last(|&b| b == b'<'), last(|&b| b == b'>')) {
        (Some(open), close) if close.is_none_or(|close| close < open) => open,
        _ => last(u8::is_ascii_whitespace).unwrap_or(0),
    };
    &summary[..cut]
}

/// Makes an entry that just joined a story, or whose row just changed, findable
/// by its keys, fingerprint and body keys under the date its row now carries.
pub(super) fn index_grouped(
    conn: &Connection,
    entry_id: i64,
    entry: &Entry,
) -> rusqlite::Result<()> {
    let dated: i64 = conn
        .prepare_cached("SELECT dated FROM entries WHERE id = ?1")?
        .query_row([entry_id], |r| r.get(0))?;
    let keys: Vec<KeyRow> = key_rows(
        entry_id,
        dated,
        entry.canonical_link.as_deref(),
        entry.guid.as_deref().and_then(guid_key).as_deref(),
        &entry.title,
    )
    .collect();
    insert_rows(conn, INSERT_KEYS, &keys)?;
    let bands: Vec<BandRow> = band_rows(entry_id, dated, entry.fingerprint).collect();
    insert_rows(conn, INSERT_BANDS, &bands)?;
    let keys: Vec<BodyKeyRow> =
        body_key_rows(entry_id, dated, &body_keys_of(&entry.summary).keys).collect();
    insert_rows(conn, INSERT_BODY_KEYS, &keys)
}

/// Takes a grouped entry out of the lookups as its row reads now, before the
/// row changes.
pub(super) fn unindex_grouped(
    conn: &Connection,
    entry_id: i64,
    fingerprint: u64,
) -> rusqlite::Result<()> {
    let (canonical_link, guid, title, dated, summary): (
        Option<String>,
        Option<String>,
        String,
        i64,
        String,
    ) = conn
        .prepare_cached(
            "SELECT canonical_link, guid, title, dated, summary FROM entries WHERE id = ?1",
        )?
        .query_row([entry_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
    let mut stmt = conn.prepare_cached(
        "DELETE FROM grouped_keys WHERE kind = ?1 AND hash = ?2 AND dated = ?3 AND entry_id = ?4",
    )?;
    let guid_key = guid.as_deref().and_then(guid_key);
    for (kind, value) in keys(canonical_link.as_deref(), guid_key.as_deref(), &title) {
        stmt.execute(params![kind as i64, key_hash(&value), dated, entry_id])?;
    }
    let mut stmt = conn
        .prepare_cached("DELETE FROM body_keys WHERE key = ?1 AND dated = ?2 AND entry_id = ?3")?;
    for [key, dated, id] in body_key_rows(entry_id, dated, &body_keys_of(&summary).keys) {
        stmt.execute([key, dated, id])?;
    }
    drop_bands(conn, entry_id, fingerprint)
}

/// The `grouped_keys` rows of an entry dated `dated`.
fn key_rows(
    entry_id: i64,
    dated: i64,
    canonical_link: Option<&str>,
    guid_key: Option<&str>,
    title: &str,
) -> impl Iterator<Item = KeyRow> {
    keys(canonical_link, guid_key, title)
        .into_iter()
        .map(move |(kind, value)| [kind as i64, key_hash(&value), dated, entry_id])
}

/// What `grouped_keys` holds of a key: a 64-bit hash, so its index compares
/// integers and its rows are a quarter the size. Two values may share a hash;
/// a lookup confirms each match against the entry's own row.
fn key_hash(value: &str) -> i64 {
    to_sql_u64(xxh3_64(value.as_bytes()))
}

/// Migration step 5: `grouped_keys` holds the hash of each key, not its text.
pub(super) fn hash_grouped_keys(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE grouped_key_hashes (
            kind     INTEGER NOT NULL,
            hash     INTEGER NOT NULL,
            dated    INTEGER NOT NULL,
            entry_id INTEGER NOT NULL,
            PRIMARY KEY (kind, hash, dated, entry_id)
        ) WITHOUT ROWID;",
    )?;
    {
        let mut read = conn.prepare("SELECT kind, value, dated, entry_id FROM grouped_keys")?;
        let mut write = conn.prepare(
            "INSERT OR IGNORE INTO grouped_key_hashes (kind, hash, dated, entry_id) \
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut rows = read.query([])?;
        while let Some(r) = rows.next()? {
            let (kind, value, dated, id): (i64, String, i64, i64) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            write.execute(params![kind, key_hash(&value), dated, id])?;
        }
    }
    conn.execute_batch(
        "DROP TABLE grouped_keys;
         ALTER TABLE grouped_key_hashes RENAME TO grouped_keys;",
    )
}

/// The `fingerprint_bands` rows of an entry dated `dated`; a fingerprint of 0
/// means "no words", which must never look like a near duplicate of anything.
fn band_rows(entry_id: i64, dated: i64, fingerprint: u64) -> impl Iterator<Item = BandRow> {
    let bands = (fingerprint != 0).then(|| bands(fingerprint));
    bands
        .into_iter()
        .flatten()
        .map(move |band| [band, dated, entry_id, to_sql_u64(fingerprint)])
}

/// The `body_keys` rows of an entry dated `dated` with these keys.
fn body_key_rows(entry_id: i64, dated: i64, keys: &[u64]) -> impl Iterator<Item = BodyKeyRow> {
    keys.iter()
        .map(move |&key| [to_sql_u64(key), dated, entry_id])
}

/// The migration step that brings body keys: the bodies of entries already in
/// a story are keyed, so the notices stored before it are found like the ones after.
pub(super) fn key_grouped_bodies(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE body_keys (
            key      INTEGER NOT NULL,
            dated    INTEGER NOT NULL,
            entry_id INTEGER NOT NULL,
            PRIMARY KEY (key, dated, entry_id)
        ) WITHOUT ROWID;",
    )?;
    let mut read = conn.prepare(
        "SELECT e.id, e.dated, substr(e.summary, 1, ?1) \
         FROM entry_story s JOIN entries e ON e.id = s.entry_id",
    )?;
    let mut rows = read.query([MAX_KEYED_BYTES as i64])?;
    let mut keyed = Vec::new();
    while let Some(r) = rows.next()? {
        let (id, dated, summary): (i64, i64, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        keyed.extend(body_key_rows(id, dated, &body_keys_of(&summary).keys));
    }
    keyed.sort_unstable();
    insert_rows(conn, INSERT_BODY_KEYS, &keyed)
}

/// (kind, hash, dated, entry id)
type KeyRow = [i64; 4];
type BandRow = [i64; 4];
/// (key, dated, entry id)
type BodyKeyRow = [i64; 3];

const INSERT_KEYS: &str = "INSERT OR IGNORE INTO grouped_keys (kind, hash, dated, entry_id)";
const INSERT_BANDS: &str =
    "INSERT OR IGNORE INTO fingerprint_bands (band, dated, entry_id, fingerprint)";
const INSERT_BODY_KEYS: &str = "INSERT OR IGNORE INTO body_keys (key, dated, entry_id)";
const INSERT_ENTRY_STORY: &str = "INSERT INTO entry_story (entry_id, story_id)";

/// Rows per multi-row INSERT: one statement for many rows saves the per-call
/// work of a statement (binding, stepping, resetting) for all but one of them.
const ROWS_PER_INSERT: usize = 64;

/// Inserts `rows` of `W` values with the statement `head` (an INSERT up to its
/// VALUES), `ROWS_PER_INSERT` rows to a statement. The few left over go one row
/// to a statement, so only two statement texts are ever cached per `head`.
fn insert_rows<const W: usize>(
    conn: &Connection,
    head: &str,
    rows: &[[i64; W]],
) -> rusqlite::Result<()> {
    let one = format!("({})", vec!["?"; W].join(","));
    let full = rows.len() - rows.len() % ROWS_PER_INSERT;
    if full > 0 {
        let sql = format!(
            "{head} VALUES {}",
            vec![one.as_str(); ROWS_PER_INSERT].join(",")
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        for chunk in rows[..full].chunks(ROWS_PER_INSERT) {
            stmt.execute(params_from_iter(chunk.iter().flatten()))?;
        }
    }
    let mut stmt = conn.prepare_cached(&format!("{head} VALUES {one}"))?;
    for row in &rows[full..] {
        stmt.execute(params_from_iter(row.iter()))?;
    }
    Ok(())
}

fn drop_bands(conn: &Connection, entry_id: i64, fingerprint: u64) -> rusqlite::Result<()> {
    let mut stmt =
        conn.prepare_cached("DELETE FROM fingerprint_bands WHERE band = ?1 AND entry_id = ?2")?;
    for band in bands(fingerprint) {
        stmt.execute(params![band, entry_id])?;
    }
    Ok(())
}

/// An entry already in a story that may tell the same news as the one being placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub entry_id: i64,
    pub story_id: i64,
    /// Published, else first seen.
    pub dated: DateTime<Utc>,
}

/// An entry waiting for a story, as grouping reads it: all but its text,
/// which only a comparison with a candidate needs ([`Grouping::telling`]).
/// Most entries of a cold start have no candidate, and their texts are most
/// of what the database holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplaced {
    pub id: i64,
    pub first_seen: DateTime<Utc>,
    pub source_id: String,
    pub key: String,
    /// [`guid_key`] of its guid, made once: every lookup and key row needs it.
    pub guid_key: Option<String>,
    pub canonical_link: Option<String>,
    pub title: String,
    pub published: Option<DateTime<Utc>>,
    pub fingerprint: u64,
    /// The keys of its body ([`body_keys`]), found whatever its headline.
    pub body_keys: BodyKeys,
    /// The signature of its facts (`clean::facts::signature`).
    pub facts: u64,
}

impl Unplaced {
    /// Published, else first seen: the date its story and lookups go by.
    pub fn dated(&self) -> DateTime<Utc> {
        self.published.unwrap_or(self.first_seen)
    }
}

/// The oldest `limit` entries not yet in a story.
fn unplaced(conn: &Connection, limit: usize) -> Result<Vec<Unplaced>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.id, e.first_seen, e.source_id, e.key, e.guid, e.canonical_link, e.title, \
         e.published, e.fingerprint, \
         substr(e.summary, 1, ?2), e.facts \
         FROM unassigned u JOIN entries e ON e.id = u.entry_id \
         ORDER BY u.first_seen, u.entry_id LIMIT ?1",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map([limit, MAX_KEYED_BYTES as i64], |r| {
        Ok(Unplaced {
            id: r.get(0)?,
            first_seen: date(r, 1)?,
            source_id: r.get(2)?,
            key: r.get(3)?,
            guid_key: r.get::<_, Option<String>>(4)?.as_deref().and_then(guid_key),
            canonical_link: r.get(5)?,
            title: r.get(6)?,
            published: opt_date(r, 7)?,
            fingerprint: from_sql_u64(r.get(8)?),
            body_keys: body_keys_of(&r.get::<_, String>(9)?),
            facts: from_sql_u64(r.get(10)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A grouped entry as the lookups see it; its text is read only when it
/// turns out to be a candidate.
#[derive(Debug, Clone)]
struct Member {
    story_id: i64,
    source_id: String,
    fingerprint: u64,
    /// Microseconds, as stored.
    dated: i64,
    /// The signature of its facts.
    facts: u64,
}

/// Stories whose entries may share one body key before the key proposes none
/// of them: a story retold by many sources is found by its other keys, its
/// headline or its fingerprint, and a key this common is boilerplate.
const STOP_KEY_STORIES: usize = 32;
/// Candidates compared with an entry at most. A copy shares its headline,
/// most of its fingerprint or several body keys with its original, so it
/// ranks among the first.
const MAX_CANDIDATES: usize = 12;
/// Entries holding one body key in a batch's window beyond which its holders
/// are not read at all: well past `STOP_KEY_STORIES` stories of a few
/// tellings each.
const STOP_KEY_ROWS: usize = 4 * STOP_KEY_STORIES;

/// What a candidate shares with the entry looking for its story, ordered
/// from least to most alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Likeness {
    title: bool,
    shared_keys: usize,
    /// Bits alike in the fingerprints.
    alike_bits: u32,
    close: bool,
}

impl Likeness {
    fn of(entry: &Unplaced, member: &Member) -> Likeness {
        Likeness {
            title: false,
            shared_keys: 0,
            alike_bits: 64 - distance(entry.fingerprint, member.fingerprint),
            close: false,
        }
    }
}

/// Every grouped entry the entries of one batch can meet, by each way of
/// meeting it: read in a few statements for the whole batch, not several for
/// each entry. Entries placed during the batch join it as they are placed.
#[derive(Debug, Default)]
struct Neighbourhood {
    members: HashMap<i64, Member>,
    /// The members with each canonical link.
    by_link: HashMap<String, Vec<i64>>,
    by_guid_key: HashMap<String, Vec<i64>>,
    by_title: HashMap<String, Vec<i64>>,
    /// Each fingerprint band's (band date, entry id) pairs.
    by_band: DatedIds,
    /// Each body key's (entry date, entry id) pairs.
    by_body_key: DatedIds,
}

/// The (date, entry id) pairs of each band or key.
type DatedIds = HashMap<i64, Vec<(i64, i64)>>;

/// A table of bands or keys with the date and id of each entry holding one.
struct DatedLookup {
    sql: &'static str,
    /// Keys held by more rows than this in the window are left unread.
    rows_per_key: Option<usize>,
    /// Where the rows read go in the neighbourhood.
    index: fn(&mut Neighbourhood) -> &mut DatedIds,
}

/// The (window start, window end, fingerprint) of each entry probing a band or key.
type Probing = HashMap<i64, Vec<(i64, i64, u64)>>;

impl Neighbourhood {
    fn add(&mut self, id: i64, member: Member) {
        self.members.entry(id).or_insert(member);
    }

    /// The story of the earliest (by date, then id) of these members that is
    /// not of `other_than_source`.
    fn earliest_story(&self, ids: &[i64], other_than_source: &str) -> Option<i64> {
        ids.iter()
            .filter_map(|id| self.members.get(id).map(|m| (m.dated, *id, m)))
            .filter(|(_, _, m)| m.source_id != other_than_source)
            .min_by_key(|&(dated, id, _)| (dated, id))
            .map(|(_, _, m)| m.story_id)
    }

    fn add_to(map: &mut HashMap<String, Vec<i64>>, key: &str, id: i64) {
        let ids = map.entry(key.to_string()).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }

    fn add_dated(map: &mut DatedIds, key: i64, dated: i64, id: i64) {
        let pairs = map.entry(key).or_default();
        if !pairs.contains(&(dated, id)) {
            pairs.push((dated, id));
        }
    }
}

/// Links and guids name one article whenever it was published.
const ANY_DATE: (i64, i64) = (i64::MIN, i64::MAX);

fn int_list(items: impl Iterator<Item = i64>) -> String {
    let items: Vec<String> = items.map(|i| i.to_string()).collect();
    format!("[{}]", items.join(","))
}

/// The rows placing entries writes besides their stories, held until the
/// batch is placed: the entries placed meanwhile meet each other in memory.
/// Written sorted, each index is walked once in its own order.
#[derive(Debug, Default)]
struct Placed {
    /// (entry id, story id)
    entry_story: Vec<[i64; 2]>,
    /// (first seen, entry id) of the backlog rows to delete.
    backlog: Vec<[i64; 2]>,
    keys: Vec<KeyRow>,
    bands: Vec<BandRow>,
    body_keys: Vec<BodyKeyRow>,
}

impl Placed {
    fn write(mut self, conn: &Connection) -> rusqlite::Result<()> {
        self.entry_story.sort_unstable();
        self.backlog.sort_unstable();
        self.keys.sort_unstable();
        self.bands.sort_unstable();
        self.body_keys.sort_unstable();
        insert_rows(conn, INSERT_ENTRY_STORY, &self.entry_story)?;
        let mut delete =
            conn.prepare_cached("DELETE FROM unassigned WHERE first_seen = ?1 AND entry_id = ?2")?;
        for row in &self.backlog {
            delete.execute(*row)?;
        }
        insert_rows(conn, INSERT_KEYS, &self.keys)?;
        insert_rows(conn, INSERT_BANDS, &self.bands)?;
        insert_rows(conn, INSERT_BODY_KEYS, &self.body_keys)
    }
}

/// One grouping pass: nothing it does is visible to others until `commit`, and
/// a crash before that leaves every entry unassigned for the next pass.
pub struct Grouping<'a> {
    tx: Transaction<'a>,
    /// Whose name new story ids are minted under (see `story_ids`).
    authority: String,
    near: RefCell<Neighbourhood>,
    placed: RefCell<Placed>,
    /// Body keys found held by more than `STOP_KEY_ROWS` entries: never read
    /// or proposed again until the store forgets them, since holders only add
    /// up. A cold start groups batch after batch, each in a pass of its own,
    /// and would otherwise read the holders of the same common keys in each.
    stopped_keys: RefCell<&'a mut HashSet<i64>>,
}

impl Store {
    pub fn grouping(&mut self) -> Result<Grouping<'_>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        Ok(Grouping {
            tx,
            authority: self.id_authority.clone(),
            near: RefCell::default(),
            placed: RefCell::default(),
            stopped_keys: RefCell::new(&mut self.stop_keys),
        })
    }
}

impl Grouping<'_> {
    /// Writes the rows of the entries placed so far; every read of the
    /// database comes after it.
    fn write_placed(&self) -> Result<(), StoreError> {
        Ok(self.placed.take().write(&self.tx)?)
    }

    /// Entries not yet in a story, oldest first.
    pub fn unassigned(&self) -> Result<Vec<Unplaced>, StoreError> {
        self.next_unassigned(usize::MAX)
    }

    /// The oldest `limit` entries not yet in a story. Grouping takes the backlog
    /// a batch at a time: after a cold start it is every entry of every source.
    pub fn next_unassigned(&self, limit: usize) -> Result<Vec<Unplaced>, StoreError> {
        self.write_placed()?;
        unplaced(&self.tx, limit)
    }

    /// The title and sanitized summary of a stored entry, placed or not.
    pub fn telling(&self, entry_id: i64) -> Result<(String, String), StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT title, summary FROM entries WHERE id = ?1")?
            .query_row([entry_id], |r| Ok((r.get(0)?, r.get(1)?)))?)
    }

    /// Reads every grouped entry that the lookups below can find for `batch`,
    /// forgetting those of the batch before: they are in the database now.
    /// Lookups for an entry not in `batch` may miss what the database holds.
    pub fn meet(&self, batch: &[Search<'_>], max_distance: u32) -> Result<(), StoreError> {
        self.write_placed()?;
        let mut near = Neighbourhood::default();
        let (Some(from), Some(until)) = (
            batch.iter().map(|s| micros(s.from)).min(),
            batch.iter().map(|s| micros(s.until)).max(),
        ) else {
            *self.near.borrow_mut() = near;
            return Ok(());
        };
        let entries = || batch.iter().map(|s| s.entry);
        let links: HashSet<&str> = entries()
            .filter_map(|e| e.canonical_link.as_deref())
            .collect();
        let by_link = self.members_by(Lookup::CanonicalLink, &links, ANY_DATE)?;
        let keys: HashSet<&str> = entries().filter_map(|e| e.guid_key.as_deref()).collect();
        let by_guid_key = self.members_by(Lookup::Guid, &keys, ANY_DATE)?;
        let titles: HashSet<&str> = entries().map(|e| e.title.as_str()).collect();
        let by_title = self.members_by(Lookup::Title, &titles, (from, until))?;
        let ids = by_link
            .iter()
            .chain(&by_guid_key)
            .chain(&by_title)
            .map(|(_, id)| *id);
        self.load_members(&mut near, ids)?;
        for (index, found) in [
            (&mut near.by_link, by_link),
            (&mut near.by_guid_key, by_guid_key),
            (&mut near.by_title, by_title),
        ] {
            for (value, id) in found {
                Neighbourhood::add_to(index, &value, id);
            }
        }
        self.meet_bands(&mut near, batch, max_distance, (from, until))?;
        self.meet_body_keys(&mut near, batch, (from, until))?;
        *self.near.borrow_mut() = near;
        Ok(())
    }

    /// Grouped entries whose key of `kind` is one of `wanted`, dated within
    /// `from..=until`: (the matched value, entry id).
    fn members_by(
        &self,
        kind: Lookup,
        wanted: &HashSet<&str>,
        (from, until): (i64, i64),
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let column = match kind {
            Lookup::CanonicalLink => "e.canonical_link",
            Lookup::Guid => "e.guid",
            Lookup::Title => "e.title",
        };
        // The kind is part of the text, so each kind's statement is planned once.
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {column}, e.id FROM grouped_keys k JOIN entries e ON e.id = k.entry_id \
             WHERE k.kind = {} AND k.hash IN (SELECT value FROM json_each(?1)) \
             AND k.dated BETWEEN ?2 AND ?3",
            kind as i64
        ))?;
        let hashes = int_list(wanted.iter().map(|v| key_hash(v)));
        let rows = stmt.query_map(params![hashes, from, until], |r| {
            Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?))
        })?;
        let mut found = Vec::new();
        for row in rows {
            let (value, id) = row?;
            let key = match kind {
                Lookup::Guid => value.as_deref().and_then(guid_key),
                Lookup::CanonicalLink | Lookup::Title => value,
            };
            // Only the key itself matches, never another value with its hash.
            if let Some(key) = key.filter(|k| wanted.contains(k.as_str())) {
                found.push((key, id));
            }
        }
        Ok(found)
    }

    /// The fingerprint bands the batch probes that are near enough to some
    /// probing entry, in its window, and the entries they belong to.
    fn meet_bands(
        &self,
        near: &mut Neighbourhood,
        batch: &[Search<'_>],
        max_distance: u32,
        window: (i64, i64),
    ) -> Result<(), StoreError> {
        let mut probing = Probing::new();
        for s in batch {
            let fingerprint = s.entry.fingerprint;
            if fingerprint == 0 {
                continue;
            }
            for probe in probes(fingerprint, max_distance) {
                probing.entry(probe).or_default().push((
                    micros(s.from),
                    micros(s.until),
                    fingerprint,
                ));
            }
        }
        let sql = "SELECT band, dated, entry_id, fingerprint FROM fingerprint_bands \
                   WHERE band IN (SELECT value FROM json_each(?1)) AND dated BETWEEN ?2 AND ?3";
        let close = |probe, found| distance(probe, found) <= max_distance;
        let lookup = DatedLookup {
            sql,
            rows_per_key: None,
            index: |near| &mut near.by_band,
        };
        self.meet_dated(near, &lookup, &probing, window, close)?;
        Ok(())
    }

    /// The body keys the batch probes, in the window of some probing entry, and
    /// the entries they belong to.
    fn meet_body_keys(
        &self,
        near: &mut Neighbourhood,
        batch: &[Search<'_>],
        window: (i64, i64),
    ) -> Result<(), StoreError> {
        let mut probing = Probing::new();
        {
            let stopped = self.stopped_keys.borrow();
            for s in batch {
                let keys = s.entry.body_keys.keys.iter().map(|&k| to_sql_u64(k));
                for key in keys.filter(|k| !stopped.contains(k)) {
                    probing
                        .entry(key)
                        .or_default()
                        .push((micros(s.from), micros(s.until), 0));
                }
            }
        }
        let sql = "SELECT key, dated, entry_id, 0 FROM body_keys \
                   WHERE key IN (SELECT value FROM json_each(?1)) AND dated BETWEEN ?2 AND ?3";
        // A key held by this many entries is one no story needs (see
        // `STOP_KEY_STORIES`), and its holders are not worth reading.
        let lookup = DatedLookup {
            sql,
            rows_per_key: Some(STOP_KEY_ROWS),
            index: |near| &mut near.by_body_key,
        };
        let hot = self.meet_dated(near, &lookup, &probing, window, |_, _| true)?;
        self.stopped_keys.borrow_mut().extend(hot);
        Ok(())
    }

    /// Reads the rows of a dated lookup table (`lookup.sql`: band or key,
    /// date, entry id, fingerprint) that some entry probes, dated in its window
    /// and `close` enough to its fingerprint; adds them to the index
    /// `lookup.index` picks, and the grouped entries they belong to to the
    /// neighbourhood. Gives the keys left unread for holding too many rows.
    fn meet_dated(
        &self,
        near: &mut Neighbourhood,
        lookup: &DatedLookup,
        probing: &Probing,
        (from, until): (i64, i64),
        close: impl Fn(u64, u64) -> bool,
    ) -> Result<HashSet<i64>, StoreError> {
        let mut hot = HashSet::new();
        if probing.is_empty() {
            return Ok(hot);
        }
        let mut stmt = self.tx.prepare_cached(lookup.sql)?;
        let rows = stmt.query_map(
            params![int_list(probing.keys().copied()), from, until],
            |r| {
                let key: i64 = r.get(0)?;
                Ok((key, r.get(1)?, r.get(2)?, from_sql_u64(r.get(3)?)))
            },
        )?;
        let mut hits: Vec<(i64, i64, i64)> = Vec::new();
        for row in rows {
            let (key, dated, id, fingerprint) = row?;
            let wanted = probing.get(&key).is_some_and(|all| {
                all.iter()
                    .any(|&(f, u, probe)| (f..=u).contains(&dated) && close(probe, fingerprint))
            });
            if wanted {
                hits.push((key, dated, id));
            }
        }
        if let Some(limit) = lookup.rows_per_key {
            let mut per_key: HashMap<i64, usize> = HashMap::new();
            for &(key, _, _) in &hits {
                *per_key.entry(key).or_default() += 1;
            }
            hot.extend(
                per_key
                    .iter()
                    .filter(|&(_, &n)| n > limit)
                    .map(|(&key, _)| key),
            );
            hits.retain(|(key, _, _)| !hot.contains(key));
        }
        self.load_members(near, hits.iter().map(|&(_, _, id)| id))?;
        for (key, dated, id) in hits {
            if near.members.contains_key(&id) {
                Neighbourhood::add_dated((lookup.index)(near), key, dated, id);
            }
        }
        Ok(hot)
    }

    /// Adds the grouped entries among `ids` that the neighbourhood lacks. Only
    /// placed entries are members: the join leaves the others out.
    fn load_members(
        &self,
        near: &mut Neighbourhood,
        ids: impl Iterator<Item = i64>,
    ) -> Result<(), StoreError> {
        let unknown: BTreeSet<i64> = ids.filter(|id| !near.members.contains_key(id)).collect();
        if unknown.is_empty() {
            return Ok(());
        }
        // The index holds every column read, so no entry's row, summary and
        // all, is walked.
        let mut load = self.tx.prepare_cached(
            "SELECT e.id, s.story_id, e.source_id, e.fingerprint, e.dated, e.facts \
             FROM entries e INDEXED BY entries_member JOIN entry_story s ON s.entry_id = e.id \
             WHERE e.id IN (SELECT value FROM json_each(?1))",
        )?;
        let rows = load.query_map([int_list(unknown.into_iter())], |r| {
            Ok((
                r.get(0)?,
                Member {
                    story_id: r.get(1)?,
                    source_id: r.get(2)?,
                    fingerprint: from_sql_u64(r.get(3)?),
                    dated: r.get(4)?,
                    facts: from_sql_u64(r.get(5)?),
                },
            ))
        })?;
        for row in rows {
            let (id, member) = row?;
            near.add(id, member);
        }
        Ok(())
    }

    /// The story of the earliest grouped entry with this canonical link, from
    /// another source: another entry of the same source under this link is
    /// another post (distinct guids, links apart only by a #fragment), and one
    /// source's posts are never merged.
    pub fn find_by_canonical_link(&self, canonical_link: &str, source_id: &str) -> Option<i64> {
        let near = self.near.borrow();
        let ids = near.by_link.get(canonical_link)?;
        let same_source = ids
            .iter()
            .filter_map(|id| near.members.get(id))
            .any(|m| m.source_id == source_id);
        if same_source {
            return None;
        }
        near.earliest_story(ids, source_id)
    }

    /// The story of the earliest grouped entry of another source whose guid has
    /// this [`guid_key`]: only a guid distinctive enough to name one article
    /// across sources has one.
    pub fn find_by_guid(&self, guid_key: &str, other_than_source: &str) -> Option<i64> {
        let near = self.near.borrow();
        near.earliest_story(near.by_guid_key.get(guid_key)?, other_than_source)
    }

    /// Ids of grouped entries of other sources dated within `from..=until` with
    /// exactly this title, with a fingerprint at most `max_distance` bits away,
    /// or with the quorum of its body keys in common; the likeliest first, at
    /// most [`MAX_CANDIDATES`], less those whose facts neither hold nor are
    /// held by the entry's. The fingerprint lookup is exact up to 11 bits; a
    /// larger `max_distance` finds only part of the farther ones.
    pub fn candidates(
        &self,
        search: &Search<'_>,
        max_distance: u32,
    ) -> Result<Vec<i64>, StoreError> {
        let entry = search.entry;
        let (from, until) = (micros(search.from), micros(search.until));
        let near = self.near.borrow();
        let in_window = |dated: i64| (from..=until).contains(&dated);
        let other_source = |m: &Member| m.source_id != entry.source_id;
        // What each candidate of another source has in common with the entry:
        // the headline, body keys, fingerprint bits apart.
        let mut found: HashMap<i64, Likeness> = HashMap::new();
        for id in near.by_title.get(&entry.title).into_iter().flatten() {
            if let Some(m) = near
                .members
                .get(id)
                .filter(|m| in_window(m.dated) && other_source(m))
            {
                found
                    .entry(*id)
                    .or_insert_with(|| Likeness::of(entry, m))
                    .title = true;
            }
        }
        if entry.fingerprint != 0 {
            for band in probes(entry.fingerprint, max_distance) {
                for &(dated, id) in near.by_band.get(&band).into_iter().flatten() {
                    if let Some(m) = near.members.get(&id)
                        && in_window(dated)
                        && other_source(m)
                        && distance(entry.fingerprint, m.fingerprint) <= max_distance
                    {
                        found
                            .entry(id)
                            .or_insert_with(|| Likeness::of(entry, m))
                            .close = true;
                    }
                }
            }
        }
        let mut stories = Vec::with_capacity(STOP_KEY_STORIES + 1);
        let stopped = self.stopped_keys.borrow();
        let keys = entry.body_keys.keys.iter().map(|&k| to_sql_u64(k));
        for key in keys.filter(|k| !stopped.contains(k)) {
            let holders = near.by_body_key.get(&key);
            let holders = || {
                holders
                    .into_iter()
                    .flatten()
                    .filter(|&&(dated, _)| in_window(dated))
                    .filter_map(|(_, id)| Some((*id, near.members.get(id)?)))
                    .filter(|(_, m)| other_source(m))
            };
            // A key that many stories share is boilerplate or chance ("Zdjęcia:
            // Urząd Miasta", a band of common word pairs): it would propose
            // every one of them to every entry that has it.
            stories.clear();
            for (_, m) in holders() {
                if !stories.contains(&m.story_id) {
                    stories.push(m.story_id);
                    if stories.len() > STOP_KEY_STORIES {
                        break;
                    }
                }
            }
            if stories.len() > STOP_KEY_STORIES {
                continue;
            }
            for (id, m) in holders() {
                found
                    .entry(id)
                    .or_insert_with(|| Likeness::of(entry, m))
                    .shared_keys += 1;
            }
        }
        let quorum = entry.body_keys.quorum.max(1);
        let mut ranked: Vec<(Likeness, i64)> = found
            .into_iter()
            .filter(|(_, likeness)| {
                likeness.title || likeness.close || likeness.shared_keys >= quorum
            })
            .map(|(id, likeness)| (likeness, id))
            .collect();
        // Comparing texts is what a candidate costs: the likeliest are compared,
        // however many a cold start of thousands of sources proposes.
        ranked.sort_unstable_by(|(a, a_id), (b, b_id)| b.cmp(a).then(a_id.cmp(b_id)));
        ranked.truncate(MAX_CANDIDATES);
        // A candidate stating a fact the entry does not, while the entry
        // states one it does not, tells another announcement: its text is
        // never read.
        let facts_agree = |id: &i64| {
            near.members
                .get(id)
                .is_some_and(|m| may_agree(entry.facts, m.facts))
        };
        Ok(ranked
            .into_iter()
            .map(|(_, id)| id)
            .filter(facts_agree)
            .collect())
    }

    /// A grouped entry. Every id [`Grouping::candidates`] gives is a member
    /// of the neighbourhood, placed in this pass or before.
    pub fn candidate(&self, entry_id: i64) -> Result<Candidate, StoreError> {
        let near = self.near.borrow();
        let m = near
            .members
            .get(&entry_id)
            .ok_or_else(|| StoreError::Corrupt(format!("entry {entry_id} is no candidate")))?;
        let dated = DateTime::from_timestamp_micros(m.dated)
            .ok_or_else(|| StoreError::Corrupt(format!("date {}", m.dated)))?;
        Ok(Candidate {
            entry_id,
            story_id: m.story_id,
            dated,
        })
    }

    /// Starts a story with `entry` as its first member, born `now`. Its guid
    /// comes from the entry's source and key, so it is fixed at birth and
    /// never reused.
    pub fn create_story(
        &self,
        entry: &Unplaced,
        published: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let mut insert = self.tx.prepare_cached(
            "INSERT INTO stories (guid, published, updated) VALUES (?1, ?2, ?2) \
             ON CONFLICT (guid) DO NOTHING",
        )?;
        let identity = format!("{}\0{}", entry.source_id, entry.key);
        let published = self.free_instant(micros(published))?;
        // A 64-bit hash can collide; the next seed gives another guid.
        let mut seed = 0u64;
        loop {
            let hash = xxh3_64_with_seed(identity.as_bytes(), seed);
            let guid = story_ids::mint(&self.authority, now, hash);
            if insert.execute(params![guid, published])? == 1 {
                break;
            }
            seed += 1;
        }
        let story_id = self.tx.last_insert_rowid();
        self.assign(entry, story_id)?;
        Ok(story_id)
    }

    /// `at`, or the nearest microsecond before it that no story was
    /// published at. Entries without a date are born at the cycle's time, and
    /// feeds round to the minute: stories with one date are one item to
    /// readers that tell items apart by date, and a microsecond is shown by
    /// no reader.
    fn free_instant(&self, mut at: i64) -> Result<i64, StoreError> {
        let mut taken = self
            .tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM stories WHERE published = ?1)")?;
        while taken.query_row([at], |r| r.get::<_, bool>(0))? {
            at -= 1;
        }
        Ok(at)
    }

    /// Adds an entry to an existing story; the story keeps its id and guid, and
    /// its `updated` moves to the entry's own date (never past `now`): two
    /// stories joined in one cycle did not both change at that moment.
    pub fn join_story(
        &self,
        entry: &Unplaced,
        story_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.assign(entry, story_id)?;
        self.tx
            .prepare_cached("UPDATE stories SET updated = max(updated, ?2) WHERE id = ?1")?
            .execute(params![story_id, micros(entry.dated().min(now))])?;
        Ok(())
    }

    /// Puts an entry into a story and indexes its keys and fingerprint:
    /// unassigned entries are never candidates, so upserting them stays cheap.
    /// Only narrow rows are written, when the batch ends (`Placed`); the entry's
    /// own row is left as it is. The entries placed after it in this batch meet
    /// it in memory.
    fn assign(&self, entry: &Unplaced, story_id: i64) -> Result<(), StoreError> {
        let dated = micros(entry.dated());
        let (link, guid) = (entry.canonical_link.as_deref(), entry.guid_key.as_deref());
        {
            let placed = &mut *self.placed.borrow_mut();
            placed.entry_story.push([entry.id, story_id]);
            placed.backlog.push([micros(entry.first_seen), entry.id]);
            placed
                .keys
                .extend(key_rows(entry.id, dated, link, guid, &entry.title));
            placed
                .bands
                .extend(band_rows(entry.id, dated, entry.fingerprint));
            placed
                .body_keys
                .extend(body_key_rows(entry.id, dated, &entry.body_keys.keys));
        }
        let near = &mut *self.near.borrow_mut();
        near.add(
            entry.id,
            Member {
                story_id,
                source_id: entry.source_id.clone(),
                fingerprint: entry.fingerprint,
                dated,
                facts: entry.facts,
            },
        );
        if let Some(link) = link {
            Neighbourhood::add_to(&mut near.by_link, link, entry.id);
        }
        if let Some(key) = guid {
            Neighbourhood::add_to(&mut near.by_guid_key, key, entry.id);
        }
        Neighbourhood::add_to(&mut near.by_title, &entry.title, entry.id);
        if entry.fingerprint != 0 {
            for band in bands(entry.fingerprint) {
                Neighbourhood::add_dated(&mut near.by_band, band, dated, entry.id);
            }
        }
        for &key in &entry.body_keys.keys {
            Neighbourhood::add_dated(&mut near.by_body_key, to_sql_u64(key), dated, entry.id);
        }
        Ok(())
    }

    pub fn commit(self) -> Result<(), StoreError> {
        self.write_placed()?;
        Ok(self.tx.commit()?)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::config::DedupeConfig;
    use crate::dedupe::{self, GroupReport};

    fn linked(source: &str, link: &str, title: &str) -> Entry {
        Entry::for_test(source, link, link, title)
    }

    #[test]
    fn keys_that_share_a_hash_do_not_share_a_story() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("hejnal.db")).unwrap();
        let now = Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).single().unwrap();
        let settings = DedupeConfig::default();
        let first = linked("krakow", "https://krakow.example/a", "Nowy tramwaj");
        let second = linked("wien", "https://wien.example/b", "Neue Oper");
        store.upsert_entries(&[first], now).unwrap();
        dedupe::group(&mut store, &settings, now).unwrap();
        // Every key of the grouped entry now reads as the second entry's link
        // and title would: a collision of 64-bit hashes.
        store
            .conn
            .execute(
                "UPDATE grouped_keys SET hash = CASE kind WHEN 2 THEN ?2 ELSE ?1 END",
                params![key_hash("https://wien.example/b"), key_hash("Neue Oper")],
            )
            .unwrap();
        store.upsert_entries(&[second], now).unwrap();
        let report = dedupe::group(&mut store, &settings, now).unwrap();
        assert_eq!(
            report,
            GroupReport {
                new_stories: 1,
                joined: 0
            }
        );
        assert_eq!(store.story_count().unwrap(), 2);
    }

    #[test]
    fn a_body_key_that_many_stories_share_proposes_none_of_them() {
        let mut store = Store::open_in_memory().unwrap();
        let now = Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).single().unwrap();
        let settings = DedupeConfig::default();
        // One sign-off sentence under every post of a platform's sites, each
        // post another story (the titles and fingerprints say so).
        let sign_off = "Informację przekazało biuro prasowe urzędu gminy w komunikacie dla mediów.";
        let post = |n: usize, source: &str| {
            let mut e = linked(
                source,
                &format!("https://{source}.example/{n}"),
                &format!("Sesja rady nr {n}"),
            );
            e.summary = format!(
                "<p>Obrady rady numer {n} w sali sesyjnej. {sign_off} Kolejna sesja za miesiąc.</p>"
            );
            e.fingerprint = xxh3_64(&n.to_le_bytes());
            e.published = Some(now);
            e
        };
        let posts: Vec<Entry> = (0..3 * STOP_KEY_STORIES)
            .map(|n| post(n, &format!("gmina{n}")))
            .collect();
        store.upsert_entries(&posts, now).unwrap();
        dedupe::group(&mut store, &settings, now).unwrap();
        assert_eq!(store.story_count().unwrap(), 3 * STOP_KEY_STORIES as u64);
        store.upsert_entries(&[post(500, "portal")], now).unwrap();
        let grouping = store.grouping().unwrap();
        let unplaced = grouping.unassigned().unwrap();
        let search = Search {
            entry: &unplaced[0],
            from: now,
            until: now,
        };
        assert!(!unplaced[0].body_keys.keys.is_empty());
        grouping
            .meet(std::slice::from_ref(&search), settings.max_distance)
            .unwrap();
        assert_eq!(
            grouping.candidates(&search, settings.max_distance).unwrap(),
            Vec::<i64>::new()
        );
    }

    #[test]
    fn probes_reach_every_fingerprint_within_the_distance() {
        let a = 0x0123_4567_89ab_cdef_u64;
        // Seven bits spread so that every band differs: only probing finds it.
        let b = a ^ (1 << 1) ^ (1 << 2) ^ (1 << 17) ^ (1 << 18) ^ (1 << 33) ^ (1 << 34) ^ (1 << 50);
        assert!(bands(a).iter().all(|x| !bands(b).contains(x)));
        let reached = |d| probes(a, d).iter().any(|p| bands(b).contains(p));
        assert!(!reached(3));
        assert!(reached(7));
        assert_eq!(probes(a, 3).len(), 4);
        assert_eq!(probes(a, 7).len(), 4 * 17);
        assert_eq!(probes(a, 11).len(), 4 * 137);
        assert_eq!(probes(a, 64).len(), 4 * 137);
    }

    #[test]
    fn fingerprints_three_bits_apart_share_a_band() {
        let a = 0x0123_4567_89ab_cdef_u64;
        let b = a ^ (1 << 3) ^ (1 << 20) ^ (1 << 40);
        let shared = bands(a).iter().filter(|x| bands(b).contains(x)).count();
        assert_eq!(shared, 1);
    }

    #[test]
    fn url_guids_compare_without_scheme_www_fragment_or_slash() {
        assert_eq!(
            guid_key("http://www.Krakow.pl/news/1/#top"),
            guid_key("https://krakow.pl/news/1")
        );
        assert_ne!(
            guid_key("https://krakow.pl/news/1"),
            guid_key("https://krakow.pl/news/2")
        );
    }

    #[test]
    fn plain_short_guids_are_not_shared() {
        assert_eq!(guid_key("12345"), None);
        assert_eq!(guid_key("post-7"), None);
        assert_eq!(guid_key("12345678901234567890"), None);
        assert!(guid_key("urn:uuid:6f1c2a4e-2b1d-4c55-9a0e-0d3f6e1b7c11").is_some());
    }
}
