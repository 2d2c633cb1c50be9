//! HTML sanitizing for republished text.
