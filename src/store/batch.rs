//! One write transaction shared by the harvests of several sources.

use chrono::{DateTime, Utc};
use rusqlite::{Transaction, TransactionBehavior};

use super::{Store, StoreError, Upserted, entries, save_source_state};
use crate::model::{Entry, SourceState};

/// Writes made through a batch land together at `commit`, or not at all.
///
/// Each commit rewrites the last page of every index it touched, so one
/// transaction for many feeds writes far less than one per feed: the cycle
/// stores every harvest that is ready at once.
pub struct Batch<'s> {
    pub(super) tx: Transaction<'s>,
}

impl Store {
    pub fn batch(&mut self) -> Result<Batch<'_>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        Ok(Batch { tx })
    }
}

impl Batch<'_> {
    /// See `Store::upsert_entries`.
    pub fn upsert_entries(
        &self,
        entries: &[Entry],
        now: DateTime<Utc>,
    ) -> Result<Vec<Upserted>, StoreError> {
        entries::upsert(&self.tx, entries, now)
    }

    pub fn save_source_state(
        &self,
        source_id: &str,
        state: &SourceState,
    ) -> Result<(), StoreError> {
        save_source_state(&self.tx, source_id, state)
    }

    pub fn commit(self) -> Result<(), StoreError> {
        self.tx.commit()?;
        Ok(())
    }
}
