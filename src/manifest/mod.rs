//! Manifest scanning and bumping: finds every container image reference in a
//! deployment tree with the exact byte span of its tag (and digest), and
//! rewrites those bytes and nothing else.
//!
//! Pure apart from reading and atomically writing files under the scanned
//! root: no network, no clock, no git. Never follows a symlink out of the tree.

mod types;

pub use types::{Kind, Reference, Site, Skip, Span};
