//! The README's "Run it as a service", followed into a temporary root: its
//! `install` lines are run as written there (destinations under the root), and
//! the unit's ExecStart runs with the environment systemd gives it
//! (`STATE_DIRECTORY`, `CACHE_DIRECTORY`, no credentials, the unit's working
//! directory). The service must publish without writing next to feeds.toml.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The shell lines of the README's first code block after `heading`.
fn readme_block(heading: &str) -> Vec<String> {
    let readme = read(&repo().join("README.md"));
    let section = readme
        .split_once(heading)
        .unwrap_or_else(|| panic!("README has no {heading:?}"))
        .1;
    let block = section
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a sh block")
        .0;
    block.lines().map(str::to_string).collect()
}

/// `/x/y` under `root`.
fn under(root: &Path, absolute: &str) -> PathBuf {
    root.join(absolute.trim_start_matches('/'))
}

/// The value of `key=` in the unit.
fn unit_value<'u>(unit: &'u str, key: &str) -> &'u str {
    unit.lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("the unit has no {key}"))
}

/// Runs one README `install -Dm… SRC DEST` line, DEST under `root`.
fn install(line: &str, root: &Path) {
    let words: Vec<&str> = line
        .split('#')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let [_, mode, source, dest] = words[..] else {
        panic!("unexpected install line {line:?}");
    };
    let source = match source {
        "target/release/hejnal" => PathBuf::from(env!("CARGO_BIN_EXE_hejnal")),
        other => repo().join(other),
    };
    let status = Command::new("install")
        .arg(mode)
        .arg(&source)
        .arg(under(root, dest))
        .status()
        .expect("install(1)");
    assert!(status.success(), "{line}");
}

/// The feeds the service reads: the sample feeds on disk, as an operator
/// without internet would point the installed feeds.toml at them.
fn offline_sources(feeds_toml: &str) -> String {
    let publisher = feeds_toml
        .split_once("[[source]]")
        .map_or(feeds_toml, |(head, _)| head);
    let sample = read(&repo().join("examples/feeds.toml"));
    let sources = &sample[sample.find("[[source]]").expect("sample sources")..];
    let dir = repo().join("examples");
    let absolute = sources.replace("file:feeds/", &format!("file://{}/feeds/", dir.display()));
    format!("{publisher}{absolute}")
}

fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_readme_install_steps_give_a_service_that_publishes() {
    let root = tempfile::tempdir().expect("tempdir");
    let root = root.path();
    let steps = readme_block("## Run it as a service");
    let installs: Vec<&String> = steps.iter().filter(|l| l.starts_with("install ")).collect();
    assert_eq!(installs.len(), 3, "binary, feeds.toml, unit: {steps:?}");
    for line in installs {
        install(line, root);
    }

    let unit = read(&under(root, "/etc/systemd/system/hejnal.service"));
    let exec: Vec<&str> = unit_value(&unit, "ExecStart=").split_whitespace().collect();
    let config = under(root, exec[exec.len() - 1]);
    std::fs::write(&config, offline_sources(&read(&config))).expect("feeds.toml");
    // /etc is read-only to the service (ProtectSystem=strict). The test may
    // run as root, whom permissions do not stop, so it also checks below
    // that nothing was written there.
    let etc = config.parent().expect("config folder").to_path_buf();
    let mut readonly = std::fs::metadata(&etc).expect("etc").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut readonly, 0o555);
    std::fs::set_permissions(&etc, readonly).expect("chmod");

    // What systemd makes for StateDirectory=hejnal and CacheDirectory=hejnal.
    let state = under(root, "/var/lib/hejnal");
    let cache = under(root, "/var/cache/hejnal");
    std::fs::create_dir_all(&state).expect("state dir");
    std::fs::create_dir_all(&cache).expect("cache dir");
    assert_eq!(unit_value(&unit, "StateDirectory="), "hejnal");
    assert_eq!(unit_value(&unit, "CacheDirectory="), "hejnal");

    let log_path = root.join("journal.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let child = Command::new(under(root, exec[0]))
        .args(&exec[1..exec.len() - 1])
        .arg(&config)
        .args(["--listen", "127.0.0.1:0"])
        .current_dir(under(root, unit_value(&unit, "WorkingDirectory=")))
        .env("STATE_DIRECTORY", &state)
        .env("CACHE_DIRECTORY", &cache)
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("HEJNAL_CONFIG")
        .env_remove("NOTIFY_SOCKET")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start hejnal");
    let mut service = Service(child);

    // The address it serves is printed at start, and /healthz turns 200 once
    // the first cycle has published.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut addr = None;
    let healthy = loop {
        assert!(
            Instant::now() < deadline,
            "not healthy in time:\n{}",
            read(&log_path)
        );
        if let Ok(Some(code)) = service.0.try_wait() {
            panic!("hejnal exited with {code}:\n{}", read(&log_path));
        }
        addr = addr.or_else(|| {
            let log = read(&log_path);
            let at = log.find("at http://")? + "at http://".len();
            Some(log[at..].split('/').next()?.to_string())
        });
        if let Some((200, body)) = addr.as_deref().and_then(|a| get(a, "/healthz")) {
            break body;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(healthy.contains("\"healthy\": true"), "{healthy}");
    let addr = addr.expect("served address");
    let (code, feed) = get(&addr, "/feed.xml").expect("feed.xml");
    assert_eq!(code, 200);
    assert!(
        feed.contains("Nowa linia tramwajowa") && feed.contains("New tram line"),
        "{feed}"
    );

    // SIGTERM, as `systemctl stop` sends it.
    // SAFETY: kill only sends a signal to the child this test started.
    unsafe { libc::kill(service.0.id() as i32, libc::SIGTERM) };
    let stopped = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Ok(Some(status)) = service.0.try_wait() {
            break status;
        }
        assert!(Instant::now() < stopped, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}:\n{}", read(&log_path));

    assert!(state.join("hejnal.db").is_file());
    assert!(cache.join("public/feed.xml").is_file());
    let in_etc: Vec<_> = std::fs::read_dir(&etc)
        .expect("etc")
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    assert_eq!(
        in_etc,
        ["feeds.toml"],
        "nothing is written next to feeds.toml"
    );
}
