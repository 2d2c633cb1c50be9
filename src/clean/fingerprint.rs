//! Text fingerprints for near-duplicate detection.
