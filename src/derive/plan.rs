//! The plan of one derived update: every statement, in order, run by [`super::run_plan`] —
//! the lock and the pending marks around either the full rebuild ([`sql::full_rebuild`]) or
//! the incremental update by running totals ([`totals::update`]).

use super::sql::{self, pending_table, Group, Target, COUNTED, DERIVED_TABLES};
use super::staged::Recreated;
use super::steps::{Plan, Statement};
use super::totals;
use crate::store::ledger::DERIVED_PENDING;
use crate::store::PhysicalNames;
use fetchers::derived::DistanceBands;
use fetchers::schema::Dialect;
use fetchers::store::RunId;

/// Which groups to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every group, from every run.
    Full,
    /// Only the groups named by the runs of the races marked in `paddock_derived_pending`,
    /// by running totals (see [`super::totals`]).
    Touched,
}

/// Every statement of a full rebuild or an incremental update, in order, naming every table
/// by its `physical` name. `run_id` marks the rows written (`last_run_id`) and `now`
/// (RFC 3339) their audit timestamps. The derived tables in `skipped` (registry names: on an
/// adopted database another system's table holds the name, see `derive::skipped`) are never
/// named: not locked, deleted nor written. `recreated` says how SQLite's full rebuild drops and
/// creates each table again (empty: every table emptied by `DELETE`).
#[allow(clippy::too_many_arguments)]
pub fn plan(
    dialect: Dialect,
    physical: &PhysicalNames,
    recreated: &Recreated,
    bands: &DistanceBands,
    scope: Scope,
    run_id: RunId,
    now: &str,
    skipped: &[&str],
) -> Plan {
    let target = Target {
        dialect,
        physical,
        recreated,
    };
    let kept: Vec<&'static str> = (DERIVED_TABLES.iter().copied())
        .filter(|t| !skipped.contains(t))
        .collect();
    let scratch = Statement::scratch;
    let mut out = Plan::default();
    if dialect == Dialect::Postgres {
        // Derived writers wait for each other until commit: a full rebuild and a run's
        // incremental update both rewrite groups and the bookkeeping, and two at once would
        // count a race twice. Readers are not blocked. (SQLite's `BEGIN IMMEDIATE` already
        // serializes writers.)
        let mut tables: Vec<&str> = kept.iter().map(|t| target.table(t)).collect();
        tables.push(COUNTED);
        out.main([scratch(format!(
            "LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE",
            tables.join(", ")
        ))]);
        out.main(sql::POSTGRES_SETTINGS.map(|s| scratch(s.to_string())));
    }
    out.main([
        scratch("DROP TABLE IF EXISTS derive_pending".into()),
        scratch(pending_table()),
    ]);
    let groups: Vec<Group> = (sql::groups().into_iter())
        .filter(|g| kept.contains(&g.table))
        .collect();
    match scope {
        Scope::Full => {
            let rebuild = sql::Rebuild {
                target,
                bands,
                kept: &kept,
                groups: &groups,
                run_id,
                now,
            };
            sql::full_rebuild(&mut out, &rebuild)
        }
        Scope::Touched => {
            let mut statements = Vec::new();
            totals::update(&mut statements, target, bands, &groups, run_id, now);
            out.main(statements);
        }
    }
    // The marks this update covered (a full rebuild covers every one it read).
    out.main([
        scratch(format!(
            "DELETE FROM {DERIVED_PENDING} WHERE id IN (SELECT id FROM derive_pending)"
        )),
        scratch("DROP TABLE derive_pending".into()),
    ]);
    out
}

#[cfg(test)]
mod tests {
    use crate::derive::plan::*;
    use crate::derive::steps::Effect;
    use fetchers::registry::names;

    #[test]
    fn a_plan_names_every_table_by_its_physical_name_and_nothing_else_changes() {
        let mapped = PhysicalNames::registry()
            .map(names::RACES, &["ra_races"])
            .unwrap()
            .map(names::RUNNER_STATISTICS, &["ra_stats_copy"])
            .unwrap();
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            for scope in [Scope::Full, Scope::Touched] {
                let bands = DistanceBands::default();
                let registry = plan(
                    dialect,
                    &PhysicalNames::registry(),
                    &Recreated::default(),
                    &bands,
                    scope,
                    RunId(8),
                    "t",
                    &[],
                );
                let none = Recreated::default();
                let physical = plan(dialect, &mapped, &none, &bands, scope, RunId(8), "t", &[]);
                let (registry, physical) = (registry.statements(), physical.statements());
                assert_eq!(registry.len(), physical.len());
                for (r, p) in registry.iter().zip(&physical) {
                    let renamed = (r.sql)
                        .replace(names::RACES, "ra_races")
                        .replace(names::RUNNER_STATISTICS, "ra_stats_copy");
                    assert_eq!(p.sql, renamed);
                    // The ledger counts under the registry name.
                    assert_eq!(p.effect, r.effect);
                }
                let all: String = physical.iter().map(|s| s.sql.as_str()).collect();
                assert!(all.contains("JOIN ra_races x"), "{dialect:?} {scope:?}");
                assert!(!all.contains(names::RACES) && !all.contains(names::RUNNER_STATISTICS));
            }
        }
    }

    #[test]
    fn an_incremental_plan_deletes_and_writes_only_touched_groups() {
        let plan = plan(
            Dialect::Sqlite,
            &PhysicalNames::registry(),
            &Recreated::default(),
            &DistanceBands::default(),
            Scope::Touched,
            RunId(8),
            "t",
            &[],
        );
        let plan = plan.statements();
        let deletes: Vec<&&Statement> = plan
            .iter()
            .filter(|s| matches!(s.effect, Effect::Deleted(_)))
            .collect();
        // One delete and one upsert per table, whatever the number of group kinds.
        assert_eq!(deletes.len(), DERIVED_TABLES.len());
        assert!(deletes.iter().all(|s| s.sql.contains("derive_rows")));
        let writes = plan
            .iter()
            .filter(|s| matches!(s.effect, Effect::Written(_)));
        assert_eq!(writes.clone().count(), DERIVED_TABLES.len());
        assert!(writes
            .into_iter()
            .all(|s| s.sql.contains("FROM derive_rows") && s.sql.contains("last_run_id")));
        // The history is read only through the bookkeeping, never the runners of other races.
        let runners = plan.iter().filter(|s| s.sql.contains(names::RUNNERS));
        assert!(runners.clone().count() > 0);
        assert!(runners.into_iter().all(|s| s.sql.contains("derive_races")));
    }

    #[test]
    fn a_skipped_derived_table_is_never_named_and_the_others_are_all_written() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            for scope in [Scope::Full, Scope::Touched] {
                let skipped = [names::ENTITY_COMBINATIONS];
                let plan = plan(
                    dialect,
                    &PhysicalNames::registry(),
                    &Recreated::default(),
                    &DistanceBands::default(),
                    scope,
                    RunId(8),
                    "t",
                    &skipped,
                );
                let plan = plan.statements();
                let all: String = plan.iter().map(|s| s.sql.as_str()).collect();
                assert!(!all.contains(names::ENTITY_COMBINATIONS), "{dialect:?}");
                for table in DERIVED_TABLES.iter().filter(|t| !skipped.contains(t)) {
                    let written = (plan.iter()).any(|s| s.effect == Effect::Written(table));
                    assert!(written, "{table} {dialect:?} {scope:?}");
                }
            }
        }
    }
}
