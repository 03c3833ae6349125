//! Paddock's domain crate (the folder keeps the name `fetchers/`), independent of any database
//! or HTTP library:
//!
//! - the API's models and value parsing ([`api`]: typed requests, the error classification,
//!   payload models and [`api::parse`], where every string-typed value becomes a domain value
//!   once);
//! - the table registry and the write order ([`registry`], [`order`], [`schema`], [`derived`]);
//! - rows, units of work and the run ledger's names ([`rows`], [`ledger`]);
//! - the entity extractor, payloads to rows ([`extract`]);
//! - the three grouped fetchers over one paging loop, plus import ([`jobs`]).
//!
//! It is written against two small traits, [`api::ApiSource`] and [`store::Store`], which the
//! application implements.

pub mod api;
pub mod derived;
pub mod extract;
pub mod jobs;
pub mod ledger;
pub mod order;
pub mod registry;
pub mod rows;
pub mod schema;
pub mod store;
