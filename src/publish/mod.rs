//! Rendering the published files and writing them atomically.
