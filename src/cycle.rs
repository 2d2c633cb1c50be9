//! One cycle: fetch due sources, parse, clean, store, dedupe, publish.
