//! When a schedule fires: the cron-in-a-time-zone functions live in
//! [`crate::config::fire_times`] (the configuration, below the daemon, needs them to show next
//! fire times); re-exported here under the daemon's old path.

pub use crate::config::fire_times::{due, next_fire_after, previous_fire_at_or_before};
