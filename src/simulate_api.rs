//! `paddock simulate-api`'s faults: the `--faults` flag, else the configuration's
//! `[simulator.faults]` section converted to the simulator's `Faults` here, at the boundary, so
//! that the configuration does not depend on the simulator crate.

use simulator::Faults;

use crate::config::SimulatorFaults;

/// The faults to inject: the `--faults` flag when given, else the configured section.
pub fn faults(flag: Option<&str>, configured: &SimulatorFaults) -> anyhow::Result<Faults> {
    match flag {
        Some(spec) => Faults::parse_flags(spec),
        None => Ok(from_settings(configured)),
    }
}

/// Every field is named on both sides, so a fault added to one and not the other does not
/// compile.
fn from_settings(settings: &SimulatorFaults) -> Faults {
    let SimulatorFaults {
        latency_ms,
        rate_limit_every,
        retry_after_secs,
        max_rate_per_sec,
        server_error_rate,
        hang_every,
        hang_ms,
        truncate_every,
        malformed_values,
        extra_fields,
        drop_record_every,
        pre_race_changes,
        market_moves,
        late_result_requests,
    } = settings.clone();
    Faults {
        latency_ms,
        rate_limit_every,
        retry_after_secs,
        max_rate_per_sec,
        server_error_rate,
        hang_every,
        hang_ms,
        truncate_every,
        malformed_values,
        extra_fields,
        drop_record_every,
        pre_race_changes,
        market_moves,
        late_result_requests,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::Config;

    #[test]
    fn the_config_section_and_the_flag_give_the_same_faults_and_the_flag_wins() {
        let every = [
            ("latency_ms", "5"),
            ("rate_limit_every", "3"),
            ("retry_after_secs", "2"),
            ("max_rate_per_sec", "1.5"),
            ("server_error_rate", "0.25"),
            ("hang_every", "4"),
            ("hang_ms", "10"),
            ("truncate_every", "6"),
            ("malformed_values", "true"),
            ("extra_fields", "true"),
            ("drop_record_every", "7"),
            ("pre_race_changes", "true"),
            ("market_moves", "true"),
            ("late_result_requests", "8"),
        ];
        let flags: Vec<String> = every.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let toml: Vec<String> = every.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        let toml = format!("[simulator.faults]\n{}\n", toml.join("\n"));
        let config = Config::from_toml(&toml, &BTreeMap::new()).unwrap();
        let from_config = faults(None, &config.simulator_faults).unwrap();
        assert_eq!(from_config, Faults::parse_flags(&flags.join(",")).unwrap());
        assert_ne!(from_config, Faults::default());
        let flag = faults(Some("latency_ms=9"), &config.simulator_faults).unwrap();
        assert_eq!(flag.latency_ms, 9);
        assert_eq!(flag.rate_limit_every, None, "the flag replaces the section");
        assert!(faults(Some("latncy_ms=9"), &config.simulator_faults).is_err());
    }
}
