//! Checkpoints on a thread of their own while a cycle writes.
//!
//! A cold cycle commits hundreds of megabytes into the WAL. Copied into the
//! database only at the end, they kept the cycle waiting a second for the
//! disk while both cores had nothing else to do; copied batch by batch by a
//! second connection, that waiting overlaps the cycle's parsing and
//! grouping, and the final checkpoint finds little left.

use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use rusqlite::Connection;

/// A second connection to the store's file, checkpointing when nudged. Dropping
/// it waits for a checkpoint in progress, so the store's own checkpoint after
/// it has the WAL to itself.
pub struct Checkpointer {
    nudges: Option<Sender<()>>,
    worker: Option<JoinHandle<()>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open a second connection: {0}")]
    Open(#[from] rusqlite::Error),
    #[error("cannot start its thread: {0}")]
    Thread(#[from] std::io::Error),
}

impl Checkpointer {
    pub(super) fn start(path: &str) -> Result<Checkpointer, StartError> {
        let conn = Connection::open(path)?;
        let (nudges, received) = mpsc::channel();
        let worker = std::thread::Builder::new()
            .name("checkpoint".to_string())
            .spawn(move || checkpoint_when_nudged(&conn, &received))?;
        Ok(Checkpointer {
            nudges: Some(nudges),
            worker: Some(worker),
        })
    }

    /// Asks for a checkpoint of what is committed so far; never waits.
    pub fn nudge(&self) {
        if let Some(nudges) = &self.nudges {
            // The worker only stops when this side hangs up.
            let _ = nudges.send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.nudges = None;
        if let Some(worker) = self.worker.take()
            && worker.join().is_err()
        {
            tracing::warn!("the background checkpoint thread panicked");
        }
    }
}

fn checkpoint_when_nudged(conn: &Connection, nudges: &Receiver<()>) {
    while nudges.recv().is_ok() {
        // Nudges that came while the last checkpoint ran are served by this one.
        while nudges.try_recv().is_ok() {}
        // PASSIVE never waits for the writer or for readers: it copies what
        // it can, and whatever it leaves waits for the next one.
        let checkpointed =
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0));
        if let Err(e) = checkpointed {
            tracing::debug!(error = %e, "background checkpoint skipped");
        }
    }
}
