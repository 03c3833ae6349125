//! Paddock, the application: CLI, configuration, the HTTP client for The Racing API, the
//! SQLite and PostgreSQL stores, the API simulator and the job runner.

pub mod simulator;
