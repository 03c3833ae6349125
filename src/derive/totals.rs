//! The incremental update by running totals: what one update costs is what its races cost, not
//! what the touched groups' histories cost.
//!
//! Every derived row keeps the additive parts of its figures (runs, wins, places, prize per
//! currency, `sp_runs`, `sp_wins`, `expected_wins`). An update covers the races marked in
//! `paddock_derived_pending` (`derive_pending`, read by [`super::plan::plan`]):
//!
//! 1. `derive_delta`: the runs [`COUNTED`] holds for those races with weight −1 (what was
//!    added once) and their runs now with weight +1; a run counted and unchanged cancels out,
//!    so re-fetching an unchanged day changes nothing. A corrected result, a late non-runner
//!    (which also changes a big handicap's places), a disqualification or a changed jockey
//!    leaves its old row at −1 and its new row at +1.
//! 2. [`COUNTED`] gets the races' current runs.
//! 3. Per group kind, `derive_group` sums the delta per group; the group's row is upserted with
//!    its totals plus the delta, the rates recomputed from the totals; a group left without
//!    runs is deleted. `last_run_date` and `last_win_date` take the later of the stored and the
//!    added dates, except in a group that lost a run, where they are recomputed from
//!    [`COUNTED`]. The 14- and 30-day form (relative to the group's `last_run_date`) is
//!    recomputed for the touched groups only, over their last 30 days: the bookkeeping's
//!    `(entity, race_date)` indexes (migration 0016) serve both lookups.
//!
//! A full rebuild gives the same rows (the season test compares every row).

use super::sql::{
    days_before, decimal, runs_select, Effect, Group, Statement, Target, COUNTED, COUNTED_COLUMNS,
};
use fetchers::derived::{DistanceBands, PRIZE_CURRENCIES};
use fetchers::schema::Dialect;
use fetchers::store::RunId;

fn scratch(sql: String) -> Statement {
    Statement {
        sql,
        effect: Effect::None,
    }
}

/// The statements of an incremental update of `groups` (after `derive_pending` exists).
pub(super) fn update(
    out: &mut Vec<Statement>,
    target: Target,
    bands: &DistanceBands,
    groups: &[Group],
    run_id: RunId,
    now: &str,
) {
    let postgres = target.dialect == Dialect::Postgres;
    let columns = COUNTED_COLUMNS.join(", ");
    let current = runs_select(
        target,
        bands,
        " AND r.race_id IN (SELECT race_id FROM derive_races)",
    );
    for table in ["derive_races", "derive_delta", "derive_group"] {
        out.push(scratch(format!("DROP TABLE IF EXISTS {table}")));
    }
    out.push(scratch(
        "CREATE TEMP TABLE derive_races AS SELECT DISTINCT race_id FROM derive_pending".into(),
    ));
    if postgres {
        // Fresh temporary tables have no statistics; the planner needs them to use the keys.
        out.push(scratch("ANALYZE derive_races".into()));
    }
    out.push(scratch(format!(
        "CREATE TEMP TABLE derive_delta AS SELECT {columns}, SUM(weight) AS weight FROM \
         (SELECT -1 AS weight, {columns} FROM {COUNTED} \
         WHERE race_id IN (SELECT race_id FROM derive_races) \
         UNION ALL SELECT 1 AS weight, {columns} FROM ({current}) now_counted) both_sides \
         GROUP BY {columns} HAVING SUM(weight) <> 0"
    )));
    if postgres {
        out.push(scratch("ANALYZE derive_delta".into()));
    }
    out.push(scratch(format!(
        "DELETE FROM {COUNTED} WHERE race_id IN (SELECT race_id FROM derive_races)"
    )));
    out.push(scratch(format!(
        "INSERT INTO {COUNTED} ({columns}) {current}"
    )));
    for group in groups {
        out.push(scratch(group_delta(group)));
        if postgres {
            out.push(scratch("ANALYZE derive_group".into()));
        }
        out.push(Statement {
            sql: upsert_group(target, group, run_id, now),
            effect: Effect::Written(group.table),
        });
        out.push(Statement {
            sql: delete_emptied(target, group),
            effect: Effect::Deleted(group.table),
        });
        out.push(scratch(recount_last_dates(target, group)));
        out.push(scratch(recount_form(target, group)));
        out.push(scratch("DROP TABLE derive_group".into()));
    }
    out.push(scratch("DROP TABLE derive_delta".into()));
    out.push(scratch("DROP TABLE derive_races".into()));
}

/// `derive_group`: the delta summed per group of `group`'s kind, with the latest added run and
/// win and whether the group lost a run. (A group's entity columns are among its keys.)
fn group_delta(group: &Group) -> String {
    let keys = group.run_columns().join(", ");
    let not_null: Vec<String> = (group.run_columns().iter())
        .map(|c| format!("{c} IS NOT NULL"))
        .collect();
    let prizes: String = PRIZE_CURRENCIES
        .iter()
        .map(|(currency, column)| {
            format!(
                "SUM(CASE WHEN prize_currency = '{currency}' THEN weight * prize_amount END) \
                 AS {column}, "
            )
        })
        .collect();
    format!(
        "CREATE TEMP TABLE derive_group AS SELECT {keys}, \
         SUM(weight) AS runs, SUM(weight * is_win) AS wins, SUM(weight * is_place) AS places, \
         {prizes}\
         SUM(CASE WHEN sp_decimal > 0 THEN weight ELSE 0 END) AS sp_runs, \
         SUM(CASE WHEN sp_decimal > 0 THEN weight * is_win ELSE 0 END) AS sp_wins, \
         SUM(CASE WHEN sp_decimal > 0 THEN weight * (1.0 / sp_decimal) END) AS expected_wins, \
         MAX(CASE WHEN weight > 0 THEN race_date END) AS last_run_date, \
         MAX(CASE WHEN weight > 0 AND is_win = 1 THEN race_date END) AS last_win_date, \
         MAX(CASE WHEN weight < 0 THEN 1 ELSE 0 END) AS lost_a_run \
         FROM derive_delta WHERE {not_null} GROUP BY {keys}",
        not_null = not_null.join(" AND "),
    )
}

/// `runs`/`wins` as a rate (NULL without runs), as the full rebuild defines it.
fn rate(dialect: Dialect, part: &str, runs: &str) -> String {
    format!("CAST({part} AS {}) / NULLIF({runs}, 0)", decimal(dialect))
}

/// The later of two dates, either possibly NULL.
fn later(a: &str, b: &str) -> String {
    format!("CASE WHEN {a} IS NULL OR {b} > {a} THEN {b} ELSE {a} END")
}

/// Inserts each touched group new to the table, adds the delta to the others.
fn upsert_group(target: Target, group: &Group, run_id: RunId, now: &str) -> String {
    let dialect = target.dialect;
    let table = target.table(group.table);
    let mut columns = vec![group.type_column.to_string()];
    let mut values = vec![format!("'{}'", group.type_value)];
    for (target_column, run) in &group.ids {
        columns.push(target_column.to_string());
        values.push(format!("g.{run}"));
    }
    if let Some(extra) = group.extra {
        columns.push(extra.to_string());
        values.push(format!("g.{extra}"));
    }
    for c in &group.entity_columns {
        columns.push(c.to_string());
        values.push(format!("g.{c}"));
    }
    let mut figure = |column: &str, value: String| {
        columns.push(column.to_string());
        values.push(value);
    };
    figure("runs", "g.runs".into());
    figure("wins", "g.wins".into());
    figure("places", "g.places".into());
    figure("win_rate", rate(dialect, "g.wins", "g.runs"));
    figure("place_rate", rate(dialect, "g.places", "g.runs"));
    for (_, column) in PRIZE_CURRENCIES {
        figure(column, format!("COALESCE(g.{column}, 0)"));
    }
    figure("last_run_date", "g.last_run_date".into());
    figure("last_win_date", "g.last_win_date".into());
    for form in ["runs_14d", "wins_14d", "runs_30d", "wins_30d"] {
        figure(form, "0".into());
    }
    figure("sp_runs", "g.sp_runs".into());
    figure("sp_wins", "g.sp_wins".into());
    figure("expected_wins", "g.expected_wins".into());
    figure(
        "actual_over_expected",
        rate(dialect, "g.sp_wins", "g.expected_wins"),
    );
    figure("created_at", format!("'{now}'"));
    figure("updated_at", format!("'{now}'"));
    figure("last_run_id", run_id.to_string());

    let sum = |column: &str| format!("{table}.{column} + excluded.{column}");
    let expected = format!(
        "CASE WHEN {sp_runs} > 0 THEN COALESCE({table}.expected_wins, 0) \
         + COALESCE(excluded.expected_wins, 0) END",
        sp_runs = sum("sp_runs")
    );
    let mut set = vec![
        format!("runs = {}", sum("runs")),
        format!("wins = {}", sum("wins")),
        format!("places = {}", sum("places")),
        format!("win_rate = {}", rate(dialect, &sum("wins"), &sum("runs"))),
        format!(
            "place_rate = {}",
            rate(dialect, &sum("places"), &sum("runs"))
        ),
    ];
    for (_, column) in PRIZE_CURRENCIES {
        set.push(format!("{column} = {}", sum(column)));
    }
    for date in ["last_run_date", "last_win_date"] {
        let stored = format!("{table}.{date}");
        let added = format!("excluded.{date}");
        set.push(format!("{date} = {}", later(&stored, &added)));
    }
    set.extend([
        format!("sp_runs = {}", sum("sp_runs")),
        format!("sp_wins = {}", sum("sp_wins")),
        format!("expected_wins = {expected}"),
        format!(
            "actual_over_expected = {}",
            rate(dialect, &sum("sp_wins"), &expected)
        ),
        "updated_at = excluded.updated_at".into(),
        "last_run_id = excluded.last_run_id".into(),
    ]);
    let key: Vec<&str> = std::iter::once(group.type_column)
        .chain(group.target_key_columns())
        .collect();
    // `WHERE TRUE`: SQLite's parser needs it between a SELECT and ON CONFLICT.
    format!(
        "INSERT INTO {table} ({columns}) SELECT {values} FROM derive_group g WHERE TRUE \
         ON CONFLICT ({key}) DO UPDATE SET {set}",
        columns = columns.join(", "),
        values = values.join(", "),
        key = key.join(", "),
        set = set.join(", "),
    )
}

/// `WHERE` for the rows of `group`'s kind named in `derive_group` (`condition` on it).
fn touched_rows(target: Target, group: &Group, condition: &str) -> String {
    format!(
        "{type_column} = '{value}' AND ({keys}) IN (SELECT {runs} FROM derive_group{condition})",
        type_column = group.type_column,
        value = group.type_value,
        keys = (group.target_key_columns().iter())
            .map(|c| format!("{}.{c}", target.table(group.table)))
            .collect::<Vec<_>>()
            .join(", "),
        runs = group.run_columns().join(", "),
    )
}

/// The [`COUNTED`] rows `c` of the group of the current row of `group`'s table.
fn counted_of_row(target: Target, group: &Group) -> String {
    let table = target.table(group.table);
    let mut matches: Vec<String> = (group.ids.iter())
        .map(|(target_column, run)| format!("c.{run} = {table}.{target_column}"))
        .collect();
    matches.extend((group.extra).map(|extra| format!("c.{extra} = {table}.{extra}")));
    matches.join(" AND ")
}

/// Groups left without runs (every run corrected away) disappear, as in a full rebuild.
fn delete_emptied(target: Target, group: &Group) -> String {
    let table = target.table(group.table);
    format!(
        "DELETE FROM {table} WHERE runs <= 0 AND {}",
        touched_rows(target, group, "")
    )
}

/// A group that lost a run may have lost its last run or win: both dates recounted.
fn recount_last_dates(target: Target, group: &Group) -> String {
    let table = target.table(group.table);
    format!(
        "UPDATE {table} SET (last_run_date, last_win_date) = (SELECT MAX(c.race_date), \
         MAX(CASE WHEN c.is_win = 1 THEN c.race_date END) FROM {COUNTED} c WHERE {of_row}) \
         WHERE {rows}",
        of_row = counted_of_row(target, group),
        rows = touched_rows(target, group, " WHERE lost_a_run = 1"),
    )
}

/// The 14- and 30-day form of every touched group, over its last 30 days only.
fn recount_form(target: Target, group: &Group) -> String {
    let table = target.table(group.table);
    let last = format!("{table}.last_run_date");
    let within_14 = format!("c.race_date > {}", days_before(target.dialect, &last, 14));
    format!(
        "UPDATE {table} SET (runs_14d, wins_14d, runs_30d, wins_30d) = (SELECT \
         COALESCE(SUM(CASE WHEN {within_14} THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN {within_14} THEN c.is_win ELSE 0 END), 0), \
         COUNT(*), COALESCE(SUM(c.is_win), 0) FROM {COUNTED} c WHERE {of_row} \
         AND c.race_date > {from} AND c.race_date <= {last}) WHERE {rows}",
        of_row = counted_of_row(target, group),
        from = days_before(target.dialect, &last, 30),
        rows = touched_rows(target, group, ""),
    )
}
