//! The incremental update by running totals: what one update costs is what its races cost, not
//! what the touched groups' histories cost, in a few statements per table whatever the number
//! of group kinds.
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
//! 3. Per derived table, `derive_rows` holds every touched group of every kind of that table
//!    with its new figures: the stored row's totals plus the delta, rates from the totals,
//!    `last_run_date`/`last_win_date` the later of the stored and the added dates (recounted
//!    from [`COUNTED`] in a group that lost a run), and the 14- and 30-day form counted from
//!    [`COUNTED`] over the group's last 30 days (the bookkeeping's `(entity, race_date)`
//!    indexes, migration 0016, serve both). Then one upsert writes the groups with runs and one
//!    delete removes the groups left without any.
//!
//! A full rebuild gives the same rows (the season test compares every row).

use super::sql::{
    days_before, decimal, runs_select, Group, Target, COUNTED, COUNTED_COLUMNS, FIGURE_COLUMNS,
};
use super::steps::{Effect, Statement};
use fetchers::derived::{DistanceBands, PRIZE_CURRENCIES};
use fetchers::schema::Dialect;
use fetchers::store::RunId;

/// The additive figures, as `derive_delta` sums them per group (`weight` ±1 per run).
fn delta_sums() -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("runs", "SUM(weight)".to_string()),
        ("wins", "SUM(weight * is_win)".to_string()),
        ("places", "SUM(weight * is_place)".to_string()),
    ];
    for (currency, column) in PRIZE_CURRENCIES {
        out.push((
            column,
            format!("SUM(CASE WHEN prize_currency = '{currency}' THEN weight * prize_amount END)"),
        ));
    }
    out.extend([
        (
            "sp_runs",
            "SUM(CASE WHEN sp_inverse IS NOT NULL THEN weight ELSE 0 END)".to_string(),
        ),
        (
            "sp_wins",
            "SUM(CASE WHEN sp_inverse IS NOT NULL THEN weight * is_win ELSE 0 END)".to_string(),
        ),
        ("expected_wins", "SUM(weight * sp_inverse)".to_string()),
    ]);
    out
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
    for table in ["derive_races", "derive_delta", "derive_rows"] {
        out.push(Statement::scratch(format!("DROP TABLE IF EXISTS {table}")));
    }
    out.push(Statement::scratch(
        "CREATE TEMP TABLE derive_races AS SELECT DISTINCT race_id FROM derive_pending".into(),
    ));
    if postgres {
        // Fresh temporary tables have no statistics; the planner needs them to use the keys.
        out.push(Statement::scratch("ANALYZE derive_races".into()));
    }
    out.push(Statement::scratch(format!(
        "CREATE TEMP TABLE derive_delta AS SELECT {columns}, SUM(weight) AS weight FROM \
         (SELECT -1 AS weight, {columns} FROM {COUNTED} \
         WHERE race_id IN (SELECT race_id FROM derive_races) \
         UNION ALL SELECT 1 AS weight, {columns} FROM ({current}) now_counted) both_sides \
         GROUP BY {columns} HAVING SUM(weight) <> 0"
    )));
    if postgres {
        out.push(Statement::scratch("ANALYZE derive_delta".into()));
    }
    out.push(Statement::scratch(format!(
        "DELETE FROM {COUNTED} WHERE race_id IN (SELECT race_id FROM derive_races)"
    )));
    out.push(Statement::scratch(format!(
        "INSERT INTO {COUNTED} ({columns}) {current}"
    )));
    let mut tables: Vec<&'static str> = groups.iter().map(|g| g.table).collect();
    tables.dedup();
    for table in tables {
        let kinds: Vec<&Group> = groups.iter().filter(|g| g.table == table).collect();
        let layout = Layout::of(&kinds);
        let branches: Vec<String> = (kinds.iter())
            .map(|g| touched_groups(target, &layout, g))
            .collect();
        out.push(Statement::scratch(format!(
            "CREATE TEMP TABLE derive_rows AS {}",
            branches.join(" UNION ALL ")
        )));
        if postgres {
            out.push(Statement::scratch("ANALYZE derive_rows".into()));
        }
        out.push(Statement {
            sql: upsert_rows(target, table, &layout, run_id, now),
            effect: Effect::Written(table),
        });
        out.push(Statement {
            sql: delete_emptied(target, table, &layout),
            effect: Effect::Deleted(table),
        });
        out.push(Statement::scratch("DROP TABLE derive_rows".into()));
    }
    out.push(Statement::scratch("DROP TABLE derive_delta".into()));
    out.push(Statement::scratch("DROP TABLE derive_races".into()));
}

/// The columns `derive_rows` has for one derived table: its type column, its key columns and
/// every entity column any of its kinds sets, then the figures.
struct Layout {
    type_column: &'static str,
    keys: Vec<&'static str>,
    entity_columns: Vec<&'static str>,
}

/// `derive_rows`' figure columns: the derived row's ([`FIGURE_COLUMNS`]), then whether the
/// group lost a run (Statement::scratch, never written).
fn row_figures() -> impl Iterator<Item = &'static str> {
    FIGURE_COLUMNS.into_iter().chain(["lost_a_run"])
}

impl Layout {
    fn of(kinds: &[&Group]) -> Layout {
        let mut entity_columns: Vec<&'static str> = Vec::new();
        for g in kinds {
            for c in &g.entity_columns {
                if !entity_columns.contains(c) {
                    entity_columns.push(c);
                }
            }
        }
        Layout {
            type_column: kinds[0].type_column,
            keys: kinds[0].target_key_columns(),
            entity_columns,
        }
    }

    /// Every column of `derive_rows`, in order.
    fn columns(&self) -> Vec<&'static str> {
        let mut out = vec![self.type_column];
        out.extend(&self.keys);
        out.extend(&self.entity_columns);
        out.extend(row_figures());
        out
    }
}

/// `runs`/`wins` as a rate (NULL without runs), as the full rebuild defines it.
fn rate(dialect: Dialect, part: &str, runs: &str) -> String {
    format!("CAST({part} AS {}) / NULLIF({runs}, 0)", decimal(dialect))
}

/// The later of two dates, either possibly NULL.
fn later(a: &str, b: &str) -> String {
    format!("CASE WHEN {a} IS NULL OR {b} > {a} THEN {b} ELSE {a} END")
}

/// `c.<run column> = <alias>.<target column>` for every key of `group`: the [`COUNTED`] rows
/// `c` of the group of row `alias` (which names its keys as the target table does).
fn counted_of(dialect: Dialect, group: &Group, alias: &str) -> String {
    let mut matches: Vec<String> = (group.ids.iter())
        .map(|(target_column, run)| counted_key(dialect, run, &format!("{alias}.{target_column}")))
        .collect();
    matches.extend(
        (group.extra).map(|extra| counted_key(dialect, extra, &format!("{alias}.{extra}"))),
    );
    matches.join(" AND ")
}

/// `c.<run column> = <value>`, compared as [`COUNTED`]'s `(entity, race_date)` indexes are
/// built on PostgreSQL (bytewise, `COLLATE "C"`: migration 0018), so that the probe uses them.
fn counted_key(dialect: Dialect, run_column: &str, value: &str) -> String {
    match dialect {
        Dialect::Postgres => format!("c.{run_column} COLLATE \"C\" = {value}"),
        Dialect::Sqlite => format!("c.{run_column} = {value}"),
    }
}

/// One kind's touched groups with their new figures (one branch of `derive_rows`).
fn touched_groups(target: Target, layout: &Layout, group: &Group) -> String {
    let dialect = target.dialect;
    let table = target.table(group.table);
    let run_keys = group.run_columns();
    let not_null: Vec<String> = run_keys
        .iter()
        .map(|c| format!("{c} IS NOT NULL"))
        .collect();
    let sums: Vec<String> = (delta_sums().into_iter())
        .map(|(column, sum)| format!("{sum} AS {column}"))
        .collect();
    // The delta per group, with the latest added run and win and whether it lost a run.
    let delta = format!(
        "SELECT {keys}, {sums}, MAX(CASE WHEN weight > 0 THEN race_date END) AS last_run_date, \
         MAX(CASE WHEN weight > 0 AND is_win = 1 THEN race_date END) AS last_win_date, \
         MAX(CASE WHEN weight < 0 THEN 1 ELSE 0 END) AS lost_a_run \
         FROM derive_delta WHERE {not_null} GROUP BY {keys}",
        keys = run_keys.join(", "),
        sums = sums.join(", "),
        not_null = not_null.join(" AND "),
    );
    // The group's row as stored (none for a group new to the table).
    let mut stored = vec![format!("t.{} = '{}'", group.type_column, group.type_value)];
    stored.extend(
        (group.ids.iter()).map(|(target_column, run)| format!("t.{target_column} = g.{run}")),
    );
    stored.extend((group.extra).map(|extra| format!("t.{extra} = g.{extra}")));

    let mut values = vec![format!("'{}' AS {}", group.type_value, group.type_column)];
    values.extend(
        (group.ids.iter()).map(|(target_column, run)| format!("g.{run} AS {target_column}")),
    );
    values.extend((group.extra).map(|extra| format!("g.{extra} AS {extra}")));
    for c in &layout.entity_columns {
        values.push(match group.entity_columns.contains(c) {
            true => format!("g.{c} AS {c}"),
            false => format!("CAST(NULL AS TEXT) AS {c}"),
        });
    }
    let total = |column: &str| format!("COALESCE(t.{column}, 0) + g.{column}");
    for column in ["runs", "wins", "places", "sp_runs", "sp_wins"] {
        values.push(format!("{} AS {column}", total(column)));
    }
    for (_, column) in PRIZE_CURRENCIES {
        values.push(format!(
            "COALESCE(t.{column}, 0) + COALESCE(g.{column}, 0) AS {column}"
        ));
    }
    values.push(format!(
        "CASE WHEN {sp_runs} > 0 THEN COALESCE(t.expected_wins, 0) \
         + COALESCE(g.expected_wins, 0) END AS expected_wins",
        sp_runs = total("sp_runs")
    ));
    // A group that lost a run may have lost its last run or win: both dates recounted.
    let of_group_by_run = {
        let mut m: Vec<String> = (run_keys.iter())
            .map(|k| counted_key(dialect, k, &format!("g.{k}")))
            .collect();
        m.dedup();
        m.join(" AND ")
    };
    let recount_date =
        |what: &str| format!("(SELECT MAX({what}) FROM {COUNTED} c WHERE {of_group_by_run})");
    values.push(format!(
        "CASE WHEN g.lost_a_run = 1 THEN {} ELSE {} END AS last_run_date",
        recount_date("c.race_date"),
        later("t.last_run_date", "g.last_run_date")
    ));
    values.push(format!(
        "CASE WHEN g.lost_a_run = 1 THEN {} ELSE {} END AS last_win_date",
        recount_date("CASE WHEN c.is_win = 1 THEN c.race_date END"),
        later("t.last_win_date", "g.last_win_date")
    ));
    values.push("g.lost_a_run AS lost_a_run".into());
    let base = format!(
        "SELECT {values} FROM ({delta}) g LEFT JOIN {table} t ON {stored}",
        values = values.join(", "),
        stored = stored.join(" AND "),
    );

    // The figures that need the new totals and dates: rates and the form.
    let n = |column: &str| format!("n.{column}");
    let mut outer: Vec<String> = vec![n(layout.type_column)];
    outer.extend(layout.keys.iter().map(|k| n(k)));
    outer.extend(layout.entity_columns.iter().map(|c| n(c)));
    let last = "n.last_run_date";
    let within = |days: u32| {
        format!(
            "c.race_date > {} AND c.race_date <= {last}",
            days_before(dialect, last, days)
        )
    };
    let of_row = counted_of(dialect, group, "n");
    let form = |what: &str, days: u32| {
        format!(
            "(SELECT COALESCE({what}, 0) FROM {COUNTED} c WHERE {of_row} AND {})",
            within(days)
        )
    };
    for column in row_figures() {
        outer.push(match column {
            "win_rate" => format!("{} AS win_rate", rate(dialect, "n.wins", "n.runs")),
            "place_rate" => format!("{} AS place_rate", rate(dialect, "n.places", "n.runs")),
            "runs_14d" => format!("{} AS runs_14d", form("COUNT(*)", 14)),
            "wins_14d" => format!("{} AS wins_14d", form("SUM(c.is_win)", 14)),
            "runs_30d" => format!("{} AS runs_30d", form("COUNT(*)", 30)),
            "wins_30d" => format!("{} AS wins_30d", form("SUM(c.is_win)", 30)),
            "actual_over_expected" => format!(
                "{} AS actual_over_expected",
                rate(dialect, "n.sp_wins", "n.expected_wins")
            ),
            other => n(other),
        });
    }
    format!("SELECT {} FROM ({base}) n", outer.join(", "))
}

/// Writes every touched group that has runs: inserted when new, its figures replaced when not.
fn upsert_rows(
    target: Target,
    table: &'static str,
    layout: &Layout,
    run_id: RunId,
    now: &str,
) -> String {
    let physical = target.table(table);
    let written: Vec<&str> = (layout.columns().into_iter())
        .filter(|c| *c != "lost_a_run")
        .collect();
    let mut columns: Vec<String> = written.iter().map(|c| c.to_string()).collect();
    let mut values: Vec<String> = written.iter().map(|c| format!("g.{c}")).collect();
    columns.extend(["created_at", "updated_at", "last_run_id"].map(String::from));
    values.extend([format!("'{now}'"), format!("'{now}'"), run_id.to_string()]);
    let mut key = vec![layout.type_column];
    key.extend(&layout.keys);
    let set: Vec<String> = (FIGURE_COLUMNS.iter())
        .chain(&["updated_at", "last_run_id"])
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    // `WHERE g.runs > 0` also keeps SQLite's parser from reading ON CONFLICT as a join.
    format!(
        "INSERT INTO {physical} ({columns}) SELECT {values} FROM derive_rows g \
         WHERE g.runs > 0 ON CONFLICT ({key}) DO UPDATE SET {set}",
        columns = columns.join(", "),
        values = values.join(", "),
        key = key.join(", "),
        set = set.join(", "),
    )
}

/// Groups left without runs (every run corrected away) disappear, as in a full rebuild.
fn delete_emptied(target: Target, table: &'static str, layout: &Layout) -> String {
    let physical = target.table(table);
    let mut key = vec![layout.type_column];
    key.extend(&layout.keys);
    let qualified: Vec<String> = key.iter().map(|c| format!("{physical}.{c}")).collect();
    format!(
        "DELETE FROM {physical} WHERE ({qualified}) IN \
         (SELECT {key} FROM derive_rows WHERE runs <= 0)",
        qualified = qualified.join(", "),
        key = key.join(", "),
    )
}
