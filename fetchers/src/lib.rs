//! Paddock's domain, independent of any database or HTTP library: the table registry and the
//! write order derived from it, rows and units of work, the API's requests, errors and payload
//! models, the entity extractor and the three grouped fetchers. It is written against two small
//! traits, [`api::ApiSource`] and [`store::Store`], which the application implements.

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
