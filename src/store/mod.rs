//! The SQLite store: the only place with SQL and the only state that lasts.
