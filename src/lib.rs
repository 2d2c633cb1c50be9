//! hejnal: gathers the news of Kraków and its partner cities from their feeds,
//! folds duplicate stories together and republishes one bilingual feed.
//!
//! Each module is one stage of the walk described in docs/ARCHITECTURE.md.

pub mod clean;
pub mod config;
pub mod cycle;
pub mod daemon;
pub mod dedupe;
pub mod discover;
pub mod fetch;
pub mod model;
pub mod opml_import;
pub mod pairs;
pub mod parse;
pub mod probe;
pub mod publish;
pub mod schedule;
pub mod serve;
pub mod status;
pub mod store;
pub mod translate;
pub mod variants;
pub mod websub;
