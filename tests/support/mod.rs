//! What every integration test binary shares (`tests/suite/` and the cluster-stopping files),
//! each helper defined once:
//!
//! - [`db`]: a migrated store per test on SQLite or PostgreSQL ([`TestDb`], [`Backend`]),
//!   `backend_test!` (one test, both backends), raw-SQL checks; [`pg_cluster`]: the
//!   throwaway PostgreSQL cluster behind it. PostgreSQL tests never skip: without a server
//!   they fail saying what to install.
#![allow(dead_code)]

#[macro_use]
pub mod db;
pub mod pg_cluster;

// The harness's names at `support::` (the cluster-stopping binaries use none of them).
#[allow(unused_imports)]
pub use db::*;
