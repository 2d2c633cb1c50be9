//! Choosing a story's text in each output language.
