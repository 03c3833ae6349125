//! Late non-runners: a horse withdrawn after the last racecard fetch appears only in the
//! results' `non_runners` text (`"How's The Guvnor (unsuitable ground), …"`). Each name is
//! matched to the race's stored runners (country suffix and case ignored): a match flags that
//! runner as a non-runner with the stated reason; a name that matches no runner (or more than
//! one) becomes a reject keyed by the race id, never silence. A race with no stored runners at
//! all (never carded: before 2023-01-23, or a dry run) has nothing to match against; its text
//! stays in `ra_mst_races.non_runners_text` and no reject is made.

use crate::api::parse::{self, name_for_matching};
use crate::registry::{names, Source};
use crate::rows::{Reject, Row, UnitOfWork, Value};
use crate::store::{RunnerName, Store, StoreError};
use std::collections::{BTreeMap, HashSet};

/// The race id and `non_runners` text of every result race in `unit` that names any.
fn races_naming_non_runners(unit: &UnitOfWork) -> Vec<(String, String)> {
    unit.rows
        .iter()
        .filter(|r| r.table == names::RACES && r.source == Source::Result)
        .filter_map(
            |r| match (r.values.get("id"), r.values.get("non_runners_text")) {
                (Some(Value::Text(id)), Some(Value::Text(text))) => {
                    Some((id.clone(), text.clone()))
                }
                _ => None,
            },
        )
        .collect()
}

/// Adds to `unit` a non-runner row for every name in its results' `non_runners` text that
/// matches one stored runner of the race, and a reject for every other name.
pub async fn add_late_non_runners(
    store: &dyn Store,
    unit: &mut UnitOfWork,
    endpoint_path: &str,
) -> Result<(), StoreError> {
    let races = races_naming_non_runners(unit);
    if races.is_empty() {
        return Ok(());
    }
    let race_ids: Vec<String> = races.iter().map(|(id, _)| id.clone()).collect();
    let stored = store.runner_names(&race_ids).await?;
    let stored = carded_races_only(unit, stored);
    let (rows, rejects) = match_non_runners(&races, &stored, endpoint_path);
    unit.rows.extend(rows);
    unit.rejects.extend(rejects);
    Ok(())
}

/// The stored runners of the races that were carded: those with a stored runner this result
/// does not list. A race whose stored runners all came from its results (history before
/// racecards, or a results range fetched again) has no racecard runner a late non-runner could
/// be, so its names are not matched (and make no reject), as for a race with no runners.
fn carded_races_only(unit: &UnitOfWork, stored: Vec<RunnerName>) -> Vec<RunnerName> {
    let listed: HashSet<(&str, &str)> = unit
        .rows
        .iter()
        .filter(|r| r.table == names::RUNNERS && r.source == Source::Result)
        .filter_map(
            |r| match (r.values.get("race_id"), r.values.get("horse_id")) {
                (Some(Value::Text(race)), Some(Value::Text(horse))) => {
                    Some((race.as_str(), horse.as_str()))
                }
                _ => None,
            },
        )
        .collect();
    let carded: HashSet<String> = stored
        .iter()
        .filter(|s| !listed.contains(&(s.race_id.as_str(), s.horse_id.as_str())))
        .map(|s| s.race_id.clone())
        .collect();
    stored
        .into_iter()
        .filter(|s| carded.contains(&s.race_id))
        .collect()
}

/// The matching itself, apart from the store: rows flagging matched runners, rejects for the
/// rest.
pub fn match_non_runners(
    races: &[(String, String)],
    stored: &[RunnerName],
    endpoint_path: &str,
) -> (Vec<Row>, Vec<Reject>) {
    let mut by_race: BTreeMap<&str, Vec<&RunnerName>> = BTreeMap::new();
    for runner in stored {
        by_race.entry(&runner.race_id).or_default().push(runner);
    }
    let mut rows = Vec::new();
    let mut rejects = Vec::new();
    for (race_id, text) in races {
        let Some(runners) = by_race.get(race_id.as_str()) else {
            continue;
        };
        for nr in parse::non_runners(text) {
            let wanted = name_for_matching(&nr.name);
            let matches: Vec<&&RunnerName> = runners
                .iter()
                .filter(|r| {
                    name_for_matching(&r.name) == wanted
                        || r.name_with_suffix
                            .as_deref()
                            .is_some_and(|n| name_for_matching(n) == wanted)
                })
                .collect();
            match matches.as_slice() {
                [runner] => rows.push(
                    Row::new(names::RUNNERS, Source::Result)
                        .set("race_id", race_id.as_str())
                        .set("horse_id", runner.horse_id.as_str())
                        .set("is_non_runner", true)
                        .set("non_runner_reason", nr.reason.clone()),
                ),
                found => rejects.push(Reject {
                    endpoint: endpoint_path.to_string(),
                    entity: "non_runner".to_string(),
                    key: Some(race_id.clone()),
                    reason: if found.is_empty() {
                        format!(
                            "non_runners names \"{}\", which matches no runner of race {race_id}",
                            nr.name
                        )
                    } else {
                        format!(
                            "non_runners names \"{}\", which matches {} runners of race {race_id}",
                            nr.name,
                            found.len()
                        )
                    },
                    payload: Some(text.clone()),
                    table: names::RUNNERS,
                }),
            }
        }
    }
    (rows, rejects)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(race: &str, horse: &str, name: &str, with_suffix: Option<&str>) -> RunnerName {
        RunnerName {
            race_id: race.into(),
            horse_id: horse.into(),
            name: name.into(),
            name_with_suffix: with_suffix.map(str::to_string),
        }
    }

    #[test]
    fn names_match_stored_runners_ignoring_suffix_and_case_and_the_rest_are_rejected() {
        let races = vec![
            (
                "rac_1".to_string(),
                "HOW'S THE GUVNOR (unsuitable ground), Just King High (IRE) (travel problems), \
                 Nobody Here (lame)"
                    .to_string(),
            ),
            // Never carded: nothing to match, nothing rejected.
            ("rac_3".to_string(), "Unknown Horse (lame)".to_string()),
        ];
        let runners = vec![
            stored("rac_1", "hrs_1", "How's The Guvnor", None),
            stored(
                "rac_1",
                "hrs_2",
                "Just King High",
                Some("Just King High (IRE)"),
            ),
            stored("rac_1", "hrs_3", "Also Ran", None),
            // Same name in another race: not a candidate.
            stored("rac_2", "hrs_9", "Nobody Here", None),
        ];
        let (rows, rejects) = match_non_runners(&races, &runners, "/results");
        let flagged: Vec<(&Value, &Value)> = rows
            .iter()
            .map(|r| (&r.values["horse_id"], &r.values["non_runner_reason"]))
            .collect();
        assert_eq!(
            flagged,
            vec![
                (&Value::from("hrs_1"), &Value::from("unsuitable ground")),
                (&Value::from("hrs_2"), &Value::from("travel problems")),
            ]
        );
        assert!(rows
            .iter()
            .all(|r| r.values["is_non_runner"] == Value::Boolean(true) && r.validate().is_ok()));
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].key.as_deref(), Some("rac_1"));
        assert!(
            rejects[0].reason.contains("Nobody Here"),
            "{}",
            rejects[0].reason
        );
    }
}
