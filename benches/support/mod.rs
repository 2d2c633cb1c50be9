//! Shared by the criterion benches, the cycle benchmark example and the smoke
//! test: a deterministic feed farm and the cycle measurements. Each of those
//! targets uses only part of it, so unused-code warnings are off here.
#![allow(dead_code)]

pub mod cycle;
pub mod farm;
pub mod floor;
pub mod realistic;
pub mod scale;
pub mod served;
pub mod text;
