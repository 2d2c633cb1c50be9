//! Telling the people who can fix a feed that it broke, and that it works
//! again: what state each source is in (`health`), the advice each kind of
//! failure gets (`advice`).

pub mod advice;
pub mod health;
