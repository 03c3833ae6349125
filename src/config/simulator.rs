//! `[simulator.faults]`: fault injection for `paddock simulate-api`.

use serde::Deserialize;

/// `[simulator.faults]`: fault injection for `paddock simulate-api`, as plain settings so that
/// the configuration does not depend on the simulator; `simulate_api` converts them
/// where the simulator is started. Each key means what the field of the same name on
/// `simulator::Faults` means (documented there and in `config/paddock.toml`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulatorFaults {
    pub latency_ms: u64,
    pub rate_limit_every: Option<u64>,
    pub retry_after_secs: u64,
    pub max_rate_per_sec: Option<f64>,
    pub server_error_rate: f64,
    pub hang_every: Option<u64>,
    pub hang_ms: u64,
    pub truncate_every: Option<u64>,
    pub malformed_values: bool,
    pub extra_fields: bool,
    pub drop_record_every: Option<u64>,
    pub pre_race_changes: bool,
    pub market_moves: bool,
    pub late_result_requests: Option<u64>,
}
