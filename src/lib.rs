//! hejnal: gathers the news of Kraków and its partner cities from their feeds,
//! folds duplicate stories together and republishes one bilingual feed.
//!
//! Each module is one room of the house described in docs/ARCHITECTURE.md.

pub mod advice;
pub mod alerts;
pub mod allocator;
pub mod bilingual;
pub mod clean;
pub mod config;
pub mod cycle;
pub mod daemon;
pub mod dedupe;
pub mod editing;
pub mod fetch;
pub mod filter;
pub mod model;
pub mod parse;
pub mod publish;
pub mod serve;
pub mod sources;
pub mod store;
pub mod upload;
