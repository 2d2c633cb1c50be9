//! Publishing every story in each output language: native language pairs
//! between sources first, then machine translation for what is still missing,
//! then the choice of the text each language shows.

pub mod pairs;
pub mod translate;
pub mod variants;
