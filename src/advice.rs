//! What an operator can do about an error, and the error said once.
//!
//! Errors inside hejnal put their cause in their own message, and some also
//! keep it as their `source`; printed as a chain, a cause would then show two
//! to four times. `explain` prints each cause once, then one line of advice
//! where there is something to do.

use std::error::Error;
use std::io::ErrorKind;
use std::path::Path;

use rusqlite::ErrorCode;

use crate::publish::PublishError;
use crate::serve::ServeError;
use crate::store::StoreError;

/// The error and its causes on one line, each cause once, then the advice.
pub fn explain(err: &(dyn Error + 'static)) -> String {
    let mut text = chain(err);
    if let Some(advice) = advice(err) {
        text.push_str("\n  ");
        text.push_str(&advice);
    }
    text
}

/// The messages of the chain joined with ": ", leaving out a cause that the
/// text already says, one that only restates the cause before it with more
/// words, and SQLite's error code under rusqlite's message of it ("Error code
/// 26: file is not a database").
pub fn chain(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut previous = text.clone();
    let mut cause = err.source();
    while let Some(e) = cause {
        let message = e.to_string();
        let restated = message.contains(&previous) || e.is::<rusqlite::ffi::Error>();
        if !message.is_empty() && !text.contains(&message) && !restated {
            text.push_str(": ");
            text.push_str(&message);
        }
        previous = message;
        cause = e.source();
    }
    text
}

/// One line saying what to do about `err`, when hejnal knows.
pub fn advice(err: &(dyn Error + 'static)) -> Option<String> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(advice) = store_advice(e)
            .or_else(|| serve_advice(e))
            .or_else(|| publish_advice(e))
        {
            return Some(advice);
        }
        current = e.source();
    }
    None
}

fn store_advice(e: &(dyn Error + 'static)) -> Option<String> {
    let StoreError::Open { name, source } = e.downcast_ref::<StoreError>()? else {
        return None;
    };
    match source.sqlite_error_code()? {
        ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => Some(format!(
            "{name} is damaged or not a hejnal database. Stop hejnal, move it aside \
             (mv {name} {name}.broken), and restore the last copy `hejnal db backup` made; \
             without one, hejnal starts a new, empty database."
        )),
        ErrorCode::CannotOpen | ErrorCode::ReadOnly | ErrorCode::PermissionDenied => {
            let dir = Path::new(name)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            Some(format!(
                "hejnal runs as {} and must be able to create and write files in {}; \
                 give it that folder, or set `database` in feeds.toml to a path it can write.",
                user(),
                dir.display()
            ))
        }
        _ => None,
    }
}

fn serve_advice(e: &(dyn Error + 'static)) -> Option<String> {
    let ServeError::Bind { addr, source } = e.downcast_ref::<ServeError>()? else {
        return None;
    };
    match source.kind() {
        ErrorKind::AddrInUse => Some(format!(
            "Another program already listens on {addr}: stop it, or serve hejnal elsewhere \
             with --listen 127.0.0.1:8081 or `listen = \"127.0.0.1:8081\"` under [server] \
             in feeds.toml."
        )),
        ErrorKind::PermissionDenied => Some(format!(
            "Ports below 1024 need privileges hejnal should not have: listen on a higher \
             port ({addr} → --listen or [server] listen) and put a reverse proxy in front."
        )),
        ErrorKind::AddrNotAvailable => Some(format!(
            "No network interface of this machine has the address of {addr}: choose one it \
             has with --listen or [server] listen."
        )),
        _ => None,
    }
}

fn publish_advice(e: &(dyn Error + 'static)) -> Option<String> {
    let PublishError::Io { path, source } = e.downcast_ref::<PublishError>()? else {
        return None;
    };
    matches!(
        source.kind(),
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem
    )
    .then(|| {
        format!(
            "hejnal runs as {} and cannot write {}; make output_dir writable for that user, \
             or set `output_dir` in feeds.toml to a folder it can write \
             (under systemd, a relative path lands in /var/cache/hejnal).",
            user(),
            path.display()
        )
    })
}

/// Who this process runs as, the way an operator would name them.
fn user() -> String {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    match std::env::var("USER") {
        Ok(name) if !name.is_empty() => format!("user {name} (uid {uid})"),
        _ => format!("uid {uid}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("database: {0}")]
    struct Outer(#[from] StoreError);

    #[test]
    fn a_damaged_database_is_named_once_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hejnal.db");
        std::fs::write(&path, vec![b'x'; 8192]).unwrap();
        let Err(e) = crate::store::Store::open(&path) else {
            panic!("a file of x opened as a database");
        };
        let text = explain(&Outer(e));
        assert_eq!(text.matches("file is not a database").count(), 1, "{text}");
        assert!(text.contains("move it aside"), "{text}");
        assert!(text.contains("hejnal db backup"), "{text}");
    }

    #[test]
    fn an_unwritable_output_folder_names_the_user_and_the_path() {
        let err = PublishError::Io {
            path: "/etc/hejnal/public/feed.xml".into(),
            source: std::io::Error::from_raw_os_error(libc::EROFS),
        };
        let text = explain(&err);
        assert_eq!(text.matches("Read-only file system").count(), 1, "{text}");
        assert!(text.contains("hejnal runs as "), "{text}");
        assert!(text.contains("uid "), "{text}");
        assert!(
            text.contains("cannot write /etc/hejnal/public/feed.xml;"),
            "{text}"
        );
        assert!(text.contains("/var/cache/hejnal"), "{text}");
    }
}
