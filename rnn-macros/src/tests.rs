//! Snapshot tests (filled in below).
