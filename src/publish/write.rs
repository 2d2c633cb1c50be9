//! Writing rendered files: only when changed, never half-written, each with
//! compressed siblings so the server never compresses per request.

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File, Metadata};
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use super::{OutputFile, PublishError};

/// Brotli quality 7 costs 17 ms on a 650 KB feed against 39 ms at 9, for a
/// file 5% larger; its hash table is 8 MB instead of 32 MB.
const BROTLI_QUALITY: u32 = 7;
/// The window need not be larger than the file: a smaller one is a smaller
/// ring buffer. Brotli allows 2^10 to 2^24 bytes.
const BROTLI_WINDOW_BITS: std::ops::RangeInclusive<u32> = 10..=24;

/// How the compressed siblings of a file are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    /// gzip at its best and brotli: for the files every reader polls, where
    /// each byte saved is saved again on every request.
    Full,
    /// A quick gzip alone: for files written once and fetched rarely, like
    /// archive pages, of which one cycle may write a hundred megabytes.
    Light,
}

impl Packing {
    fn siblings(self) -> &'static [&'static str] {
        match self {
            Packing::Full => &["gz", "br"],
            Packing::Light => &["gz"],
        }
    }
}

/// Makes temp names unique between writers of one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Files this process found holding known bytes, so that the next write can
/// tell them unchanged without reading them.
static KNOWN: Mutex<Option<HashMap<PathBuf, Known>>> = Mutex::new(None);

/// A file system stamps a change with a clock that may tick this coarsely:
/// a file seen within this time of its last change could still change again
/// without its stamp showing it, so it is not known yet.
const STAMP_GRANULARITY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Files that were (re)written, relative to the output folder.
    pub written: Vec<PathBuf>,
    /// Files left alone because the disk already held the same bytes.
    pub unchanged: usize,
}

/// Writes `files` under `dir`: an unchanged file is not touched; a changed one
/// goes through a temp file and a rename, so a reader or a crash sees the old
/// file or the new one, never a mix.
pub fn write(dir: &Path, files: &[OutputFile]) -> Result<WriteReport, PublishError> {
    write_packed(dir, files, Packing::Full)
}

/// [`write`], with siblings packed as `packing` says.
pub fn write_packed(
    dir: &Path,
    files: &[OutputFile],
    packing: Packing,
) -> Result<WriteReport, PublishError> {
    let mut report = WriteReport::default();
    let folders: BTreeSet<PathBuf> = files
        .iter()
        .filter_map(|f| target(dir, &f.path).ok()?.parent().map(Path::to_path_buf))
        .collect();
    folders.iter().for_each(|folder| sweep_dead_temps(folder));
    let mut changed = Vec::new();
    for file in files {
        let target = target(dir, &file.path)?;
        if is_current(&target, &file.bytes, packing) {
            report.unchanged += 1;
        } else {
            changed.push((file, target));
        }
    }
    let outcomes = each_in_parallel(&changed, |(file, target)| {
        write_one(target, &file.bytes, packing)
    });
    for ((file, _), outcome) in changed.iter().zip(outcomes) {
        outcome?;
        tracing::debug!(path = %file.path.display(), bytes = file.bytes.len(), "published");
        report.written.push(file.path.clone());
    }
    Ok(report)
}

/// The threads [`each_in_parallel`] works on.
pub(super) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `work` applied to every item, on as many threads as there are cores: each
/// file is compressed twice and synced three times, and one file's compression
/// can run while another waits for the disk. The results are in item order.
pub(super) fn each_in_parallel<I: Sync, T: Send>(
    items: &[I],
    work: impl Fn(&I) -> T + Sync,
) -> Vec<T> {
    let threads = cores().min(items.len());
    if threads <= 1 {
        return items.iter().map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, T)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return mine;
                        };
                        mine.push((i, work(item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            // A panic in a worker is a bug; pass it on as it is.
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, outcome)| outcome).collect()
}

/// Only plain relative paths, so no file can land outside the output folder.
fn target(dir: &Path, relative: &Path) -> Result<PathBuf, PublishError> {
    let plain = relative.file_name().is_some()
        && relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    if plain {
        Ok(dir.join(relative))
    } else {
        Err(PublishError::BadPath(relative.to_path_buf()))
    }
}

/// The siblings are written before the file itself, so an identical file means
/// its siblings were finished too, unless someone removed them.
fn is_current(target: &Path, bytes: &[u8], packing: Packing) -> bool {
    same_bytes(target, bytes)
        && packing
            .siblings()
            .iter()
            .all(|ext| sibling(target, ext).is_file())
}

/// Whether `target` holds `bytes`. A file whose stamp is the one it had when
/// it was last found holding bytes of the same hash is not read again; any
/// write to it, or a new file renamed over it, changes its stamp.
fn same_bytes(target: &Path, bytes: &[u8]) -> bool {
    let Ok(meta) = fs::metadata(target) else {
        return false;
    };
    let hash = xxhash_rust::xxh3::xxh3_128(bytes);
    let stamp = Stamp::of(&meta);
    let mut known = KNOWN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let known = known.get_or_insert_with(HashMap::new);
    if known
        .get(target)
        .is_some_and(|k| k.stamp == stamp && k.hash == hash)
    {
        return true;
    }
    let same = meta.len() == bytes.len() as u64 && fs::read(target).is_ok_and(|old| old == bytes);
    match stamp.settled() {
        Some(stamp) if same => {
            known.insert(target.to_path_buf(), Known { stamp, hash });
        }
        _ => {
            known.remove(target);
        }
    }
    same
}

/// What this process found in a file.
struct Known {
    stamp: Stamp,
    hash: u128,
}

/// What the file system says about a file's identity and last change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    /// A rename puts a new inode in place.
    inode: u64,
    /// The inode's last change: unlike the modification time, no one can set
    /// it back.
    changed: Option<SystemTime>,
}

impl Stamp {
    #[cfg(unix)]
    fn of(meta: &Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        let changed = u64::try_from(meta.ctime())
            .ok()
            .zip(u32::try_from(meta.ctime_nsec()).ok())
            .map(|(secs, nanos)| SystemTime::UNIX_EPOCH + Duration::new(secs, nanos));
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode: meta.ino(),
            changed,
        }
    }

    #[cfg(not(unix))]
    fn of(meta: &Metadata) -> Stamp {
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode: 0,
            changed: meta.modified().ok(),
        }
    }

    /// The stamp, if the file's last change is far enough in the past that a
    /// further change would get another stamp.
    fn settled(self) -> Option<Stamp> {
        let age = SystemTime::now().duration_since(self.changed?).ok()?;
        (age > STAMP_GRANULARITY).then_some(self)
    }
}

fn write_one(target: &Path, bytes: &[u8], packing: Packing) -> Result<(), PublishError> {
    let parent = target.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|source| io(parent, source))?;
    let gzipped = match packing {
        Packing::Full => gzip(bytes, flate2::Compression::best()),
        Packing::Light => gzip(bytes, flate2::Compression::fast()),
    };
    replace(&sibling(target, "gz"), &gzipped.map_err(|e| io(target, e))?)?;
    match packing {
        Packing::Full => replace(
            &sibling(target, "br"),
            &brotli(bytes).map_err(|e| io(target, e))?,
        )?,
        // A brotli sibling left from an earlier version of the file would be
        // served instead of the new one.
        Packing::Light => remove_if_there(&sibling(target, "br"))?,
    }
    replace(target, bytes)?;
    sync_dir(parent)
}

fn remove_if_there(path: &Path) -> Result<(), PublishError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(path, e)),
        _ => Ok(()),
    }
}

/// Atomically replaces `target` with `bytes`: temp file in the same folder,
/// fsync, rename over.
fn replace(target: &Path, bytes: &[u8]) -> Result<(), PublishError> {
    let temp = temp_name(target);
    let result = write_synced(&temp, bytes)
        .and_then(|()| fs::rename(&temp, target))
        .map_err(|source| io(target, source));
    if result.is_err() {
        // The temp file is ours and useless now; failing to remove it changes nothing.
        let _ = fs::remove_file(&temp);
    }
    result
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// A hidden name beside `target`, so that the rename stays within one file system
/// and a leftover of a crash is never served as a feed.
fn temp_name(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// Removes the temp files of writers that died mid-write (SIGKILL, power cut).
/// They are hidden and never served, but each crash would leave more behind.
fn sweep_dead_temps(folder: &Path) {
    let Ok(listing) = fs::read_dir(folder) else {
        return;
    };
    for entry in listing.flatten() {
        let owner = temp_owner(&entry.file_name().to_string_lossy());
        if owner.is_some_and(|pid| !process_running(pid)) {
            // Another sweeper may have been first; either way it is gone.
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The process id in a name made by `temp_name`: `.{name}.{pid}.{n}.tmp`.
fn temp_owner(file_name: &str) -> Option<u32> {
    let stem = file_name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let mut parts = stem.rsplitn(3, '.');
    parts.next()?.parse::<u64>().ok()?;
    let pid = parts.next()?.parse().ok()?;
    parts.next().filter(|name| !name.is_empty())?;
    Some(pid)
}

/// Whether the writer `pid` may still be at work; when that cannot be told,
/// its file is left alone, which costs only disk space.
fn process_running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(target_os = "linux")]
    return Path::new("/proc").join(pid.to_string()).exists();
    #[cfg(not(target_os = "linux"))]
    return true;
}

fn sibling(target: &Path, ext: &str) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

/// Makes the renames durable: without it a power cut can forget them.
fn sync_dir(dir: &Path) -> Result<(), PublishError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| io(dir, source))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn gzip(bytes: &[u8], level: flate2::Compression) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), level);
    encoder.write_all(bytes)?;
    encoder.finish()
}

fn brotli(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder =
        brotli::CompressorWriter::new(Vec::new(), 4096, BROTLI_QUALITY, window_bits(bytes.len()));
    encoder.write_all(bytes)?;
    // Finishing into a Vec cannot fail: into_inner writes the last block.
    Ok(encoder.into_inner())
}

fn window_bits(len: usize) -> u32 {
    let needed = usize::BITS - len.saturating_sub(1).leading_zeros();
    needed.clamp(*BROTLI_WINDOW_BITS.start(), *BROTLI_WINDOW_BITS.end())
}

fn io(path: &Path, source: std::io::Error) -> PublishError {
    PublishError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brotli_siblings_of_any_size_decompress_to_the_file() {
        use std::io::Read;
        // Sizes around window boundaries, and one larger than the largest window.
        for len in [0, 1, 1023, 1024, 1025, 700_000, (1 << 24) + 5] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let packed = brotli(&bytes).expect("compress");
            let mut out = Vec::new();
            brotli::Decompressor::new(&packed[..], 4096)
                .read_to_end(&mut out)
                .expect("decompress");
            assert!(out == bytes, "{len} bytes did not round-trip");
        }
    }

    #[test]
    fn temp_files_of_dead_writers_are_swept_and_live_ones_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ours = temp_name(&dir.path().join("feed.xml"));
        // Process ids are below 2^22 on Linux, so this one cannot be running.
        let dead = dir.path().join(".feed.xml.br.4294967295.3.tmp");
        let feed = dir.path().join("feed.xml.tmp");
        for path in [&ours, &dead, &feed] {
            fs::write(path, b"x").expect("write");
        }
        sweep_dead_temps(dir.path());
        assert!(ours.exists(), "a live writer's temp file was removed");
        assert!(feed.exists(), "a file not named by temp_name was removed");
        #[cfg(target_os = "linux")]
        assert!(!dead.exists(), "a dead writer's temp file is still there");
    }

    #[test]
    fn a_file_changed_behind_the_writers_back_is_written_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = [OutputFile {
            path: PathBuf::from("feed.xml"),
            bytes: b"<rss>one</rss>".to_vec(),
        }];
        assert_eq!(write(dir.path(), &files).expect("write").written.len(), 1);
        // Old enough that its stamp is trusted from now on.
        std::thread::sleep(STAMP_GRANULARITY + Duration::from_millis(100));
        assert_eq!(write(dir.path(), &files).expect("write").unchanged, 1);
        assert_eq!(write(dir.path(), &files).expect("write").unchanged, 1);
        let target = dir.path().join("feed.xml");
        let mut file = fs::OpenOptions::new()
            .write(true)
            .open(&target)
            .expect("open");
        file.write_all(b"<rss>two</rss>")
            .expect("overwrite in place");
        drop(file);
        let report = write(dir.path(), &files).expect("write");
        assert_eq!(report.written, [PathBuf::from("feed.xml")]);
        assert_eq!(fs::read(&target).expect("read"), files[0].bytes);
    }

    /// Files are written side by side; the report still lists them in the
    /// order they were rendered, and a path outside the folder fails the write
    /// before any file is touched.
    #[test]
    fn files_written_side_by_side_are_reported_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut files: Vec<OutputFile> = (0..24)
            .map(|i| OutputFile {
                path: PathBuf::from(format!("d{}/f{i}.xml", i % 3)),
                bytes: format!("<rss>{i}</rss>").repeat(i * 100).into_bytes(),
            })
            .collect();
        let report = write(dir.path(), &files).expect("write");
        let paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
        assert_eq!(report.written, paths);
        for f in &files {
            assert_eq!(fs::read(dir.path().join(&f.path)).expect("read"), f.bytes);
        }
        files.push(OutputFile {
            path: PathBuf::from("late.xml"),
            bytes: b"<rss>late</rss>".to_vec(),
        });
        files.insert(
            5,
            OutputFile {
                path: PathBuf::from("../escape.xml"),
                bytes: b"x".to_vec(),
            },
        );
        assert!(matches!(
            write(dir.path(), &files),
            Err(PublishError::BadPath(_))
        ));
        assert!(!dir.path().join("late.xml").exists());
    }

    #[test]
    fn only_temp_names_have_an_owner() {
        assert_eq!(temp_owner(".feed.xml.gz.123.7.tmp"), Some(123));
        assert_eq!(temp_owner(".index.html.99.0.tmp"), Some(99));
        for name in [
            "feed.xml",
            ".x.tmp",
            "..1.2.tmp",
            ".feed.xml.abc.1.tmp",
            "feed.1.2.tmp",
        ] {
            assert_eq!(temp_owner(name), None, "{name}");
        }
    }
}
