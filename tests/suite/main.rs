//! Paddock's integration tests, one binary with a module per subject (each links the whole
//! program once instead of once per file). Shared helpers live in `tests/support/`: the
//! database harness and backend matrix (`backend_test!`), the simulator and its clients,
//! waiting, job runs, the `paddock` binary and a scripted HTTP server. Binaries of their own:
//! the tests that stop the PostgreSQL cluster the process shares (`tests/daemon_pg_restart.rs`,
//! `tests/pg_stop_mid_page.rs`) and the client's millisecond pacing checks, which CPU-heavy
//! neighbours would disturb (`tests/client_pacing.rs`).
//!
//! Run one subject with `cargo test --test suite store::`, one test by a part of its name.

#[macro_use]
#[path = "../support/mod.rs"]
mod support;

mod adopt;
mod alerts;
mod api_contract;
mod audit;
mod backfill;
mod cli;
mod client;
mod connections_and_readers;
mod daemon;
mod derive;
mod dual_write;
mod fidelity;
mod figures_readme;
mod odds;
mod pipeline;
mod publish;
mod reliability;
mod retention;
mod row_level_security;
mod schema_of_its_own;
mod schema_parity;
mod simulator;
mod store;
mod tls;
