//! What every integration test binary shares (`tests/suite/` and the cluster-stopping files),
//! each helper defined once:
//!
//! - [`db`]: a migrated store per test on SQLite or PostgreSQL ([`TestDb`], [`Backend`]),
//!   `backend_test!` (one test, both backends), raw-SQL checks; [`pg_cluster`]: the
//!   throwaway PostgreSQL cluster behind it; [`tls_cluster`]: a second one that takes TCP over
//!   TLS only, with generated certificates. PostgreSQL tests never skip: without a server
//!   they fail saying what to install.
//! - [`sim`]: the simulator on a fixed "today", API clients for it, its request counters.
//! - [`jobs`]: configurations without a file, a manual committed run of a job.
//! - [`wait`]: polling until a condition holds, with a deadline.
//! - [`bin`]: the `paddock` binary, isolated from the developer's environment.
//! - [`predecessor`]: a database in the shape of the system Paddock replaces (`paddock adopt`).
//! - [`scripted_server`]: an HTTP server answering by script, for the client's tests.
#![allow(dead_code)]

pub mod bin;
#[macro_use]
pub mod db;
pub mod jobs;
pub mod pg_cluster;
pub mod predecessor;
pub mod scripted_server;
pub mod sim;
pub mod tls_cluster;
pub mod wait;

// The harness's names at `support::` (the cluster-stopping binaries use none of them).
#[allow(unused_imports)]
pub use db::*;
