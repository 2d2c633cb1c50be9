//! Grouping entries into stories.
