//! The set-based SQL that fills the derived tables, for both backends, as a list of statements
//! run in one transaction (see [`super::execute`]).
//!
//! # The figures (one definition, used by all four tables)
//!
//! - A **run** is a runner in a race that has a result (`ra_mst_races.has_result`), that is not a
//!   non-runner (`is_non_runner`) and that the result lists (`finish_status` set). Non-runners,
//!   late non-runners missing from the result and races without a result never count.
//!   Non-finishers (pulled up, fell, unseated, …) are runs without a position.
//! - A **win** is a run with position 1; in a dead heat both horses have position 1 and both win.
//! - A **place** is a run with position 1–3, or 1–4 in a handicap (`race_name` contains
//!   "handicap") with 16 or more runs.
//! - `win_rate` = wins ÷ runs, `place_rate` = places ÷ runs.
//! - `prize_gbp` / `prize_eur`: the runs' `prize_amount` summed per `prize_currency` (0 when
//!   none); currencies are never mixed.
//! - `last_run_date`, `last_win_date`: the latest race date of a run / a win in the group.
//! - **Form** (`runs_14d`, `wins_14d`, `runs_30d`, `wins_30d`): runs and wins in the 14 (30)
//!   days ending on the group's own `last_run_date`, both ends included. The reference date is
//!   the group's last run rather than today so that a stored figure only changes when the
//!   group runs again: the incremental update stays exact and nothing needs rewriting daily.
//! - `sp_runs`, `sp_wins`: runs and wins with a starting price (`sp_decimal > 0`);
//!   `expected_wins` = Σ 1 ÷ `sp_decimal` over those runs (NULL without any), each run's
//!   inverse computed once when it is counted (`sp_inverse`);
//!   `actual_over_expected` = `sp_wins` ÷ `expected_wins`.
//!
//! # Scope
//!
//! Every run is counted into the bookkeeping table [`COUNTED`] (`paddock_derived_counted`,
//! one row per run with its entity ids, course, date, band and figures). A full rebuild empties
//! it and counts every run afresh, empties the four tables and inserts every group from it
//! (one sort and aggregation per group kind). An incremental update covers the races marked in
//! `paddock_derived_pending` (every unit marks the races it writes in its own transaction, so
//! the marks of a writer that died before its derived update are picked up by the next one)
//! by running totals: it subtracts what [`COUNTED`] says those races added and adds what they
//! add now ([`super::totals`]). Both scopes delete the marks they read, and only those. Money
//! is summed in SQL as the column type stores it (`NUMERIC`/`REAL` today).

use super::staged;
use super::steps::{Effect, Job, Plan, Statement, Step};
use crate::store::ledger::DERIVED_PENDING;
use crate::store::sqlite::RECENT_FUNCTION;
use crate::store::PhysicalNames;
use fetchers::derived::{DistanceBands, EntityKind, ENTITIES, PAIRS, PRIZE_CURRENCIES};
use fetchers::registry::{self, names};
use fetchers::schema::Dialect;
use fetchers::store::RunId;

/// Positions that place in every race…
const PLACES: u32 = 3;
/// …and in handicaps with at least [`BIG_HANDICAP_FIELD`] runs.
const BIG_HANDICAP_PLACES: u32 = 4;
const BIG_HANDICAP_FIELD: u32 = 16;

/// The four derived tables.
pub const DERIVED_TABLES: [&str; 4] = [
    names::RUNNER_STATISTICS,
    names::ENTITY_COMBINATIONS,
    names::PERFORMANCE_BY_DISTANCE,
    names::PERFORMANCE_BY_VENUE,
];

/// What the generators need besides the figures: the backend, the physical table each
/// registry table is read and written under (a database in a rename phase keeps some masters
/// under their legacy names) and, for SQLite's full rebuild, how to drop and create each table
/// again.
#[derive(Clone, Copy)]
pub(super) struct Target<'a> {
    pub(super) dialect: Dialect,
    pub(super) physical: &'a PhysicalNames,
    pub(super) recreated: &'a staged::Recreated,
}

impl<'a> Target<'a> {
    /// The physical name of the registry table `name` (one of [`names`]).
    pub(super) fn table(&self, name: &'static str) -> &'a str {
        physical_name(self.physical, name)
    }
}

/// Whether `name` is a PostgreSQL full rebuild's staged table (`<table>__rebuild` of the
/// bookkeeping or a derived table): there while a rebuild runs, and after one that was killed
/// until the next rebuild drops it.
pub fn is_staged(name: &str) -> bool {
    let mut tables = DERIVED_TABLES.iter().chain([&COUNTED]);
    tables.any(|table| staged::staged_name(table) == name)
}

/// The physical name of the registry table `name` (one of [`names`]) under `physical`.
pub(super) fn physical_name<'a>(physical: &'a PhysicalNames, name: &'static str) -> &'a str {
    match registry::table(name) {
        Some(table) => physical.read(table),
        None => name,
    }
}

/// One kind of group in one derived table.
pub(super) struct Group {
    pub(super) table: &'static str,
    /// The table's type column and this group's value in it (`entity_type` = `'jockey'`).
    pub(super) type_column: &'static str,
    pub(super) type_value: &'static str,
    /// Target id columns and the [`COUNTED`] columns that fill them.
    pub(super) ids: Vec<(&'static str, &'static str)>,
    /// The group's extra key (`course_id`, `distance_band`), same name in both.
    pub(super) extra: Option<&'static str>,
    /// Entity foreign-key columns to set (same name in the target and [`COUNTED`]).
    pub(super) entity_columns: Vec<&'static str>,
}

impl Group {
    /// The [`COUNTED`] columns this group is keyed by.
    pub(super) fn run_columns(&self) -> Vec<&'static str> {
        let mut cols: Vec<&str> = self.ids.iter().map(|(_, run)| *run).collect();
        cols.extend(self.extra);
        cols
    }

    /// How much work this kind's aggregation is, as a weight: a kind of the most numerous
    /// entities ([`NUMEROUS`], about one group per run) weighs four times its keys, another
    /// two plus its keys. The full rebuild starts its heaviest tables first, so that the last
    /// job to finish is a short one.
    pub(super) fn expected_work(&self) -> usize {
        let keys = self.ids.len() + usize::from(self.extra.is_some());
        let numerous = (self.ids.iter()).any(|(_, run)| NUMEROUS.contains(run));
        if numerous {
            4 * keys
        } else {
            2 + keys
        }
    }

    /// The target's key columns, in the order of [`Group::run_columns`].
    pub(super) fn target_key_columns(&self) -> Vec<&'static str> {
        let mut cols: Vec<&str> = self.ids.iter().map(|(target, _)| *target).collect();
        cols.extend(self.extra);
        cols
    }
}

/// The entities with about one group per run ([`COUNTED`] columns): a horse runs a few times a
/// year, and a dam's foals about as often; jockeys, trainers, owners and sires have hundreds.
const NUMEROUS: [&str; 2] = ["horse_id", "dam_id"];

fn entity_group(table: &'static str, entity: EntityKind, extra: Option<&'static str>) -> Group {
    Group {
        table,
        type_column: "entity_type",
        type_value: entity.name,
        ids: vec![("entity_id", entity.runner_column)],
        extra,
        entity_columns: vec![entity.runner_column],
    }
}

/// Every group kind of every derived table.
pub(super) fn groups() -> Vec<Group> {
    let mut out = Vec::new();
    for e in ENTITIES {
        out.push(entity_group(names::RUNNER_STATISTICS, e, None));
    }
    for p in PAIRS {
        out.push(Group {
            table: names::ENTITY_COMBINATIONS,
            type_column: "pair_type",
            type_value: p.name,
            ids: vec![
                ("first_id", p.first.runner_column),
                ("second_id", p.second.runner_column),
            ],
            extra: None,
            entity_columns: vec![p.first.runner_column, p.second.runner_column],
        });
    }
    for e in ENTITIES {
        out.push(entity_group(
            names::PERFORMANCE_BY_DISTANCE,
            e,
            Some("distance_band"),
        ));
    }
    for e in ENTITIES {
        out.push(entity_group(
            names::PERFORMANCE_BY_VENUE,
            e,
            Some("course_id"),
        ));
    }
    out
}

pub(super) fn decimal(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "NUMERIC",
        Dialect::Sqlite => "REAL",
    }
}

/// `date` minus `days` days, as a date comparable with `race_date`.
pub(super) fn days_before(dialect: Dialect, date: &str, days: u32) -> String {
    match dialect {
        Dialect::Postgres => format!("({date} - {days})"),
        Dialect::Sqlite => format!("date({date}, '-{days} days')"),
    }
}

/// The band label of the race distance `expr` (furlongs), NULL without a distance.
fn band_case(bands: &DistanceBands, expr: &str) -> String {
    let labels = bands.labels();
    let mut sql = format!("CASE WHEN {expr} IS NULL THEN NULL");
    for (bound, label) in bands.bounds().iter().zip(&labels).skip(1).rev() {
        sql.push_str(&format!(" WHEN {expr} >= {bound} THEN '{label}'"));
    }
    sql.push_str(&format!(" ELSE '{}' END", labels[0]));
    sql
}

/// The condition for a runner row `r` of race `x` to be a run.
const IS_RUN: &str =
    "x.has_result AND NOT COALESCE(r.is_non_runner, FALSE) AND r.finish_status IS NOT NULL";

/// Whether run `w` (of [`runs_select`]'s inner query, with its race's `field`: the runs of
/// that race) places.
fn is_place() -> String {
    format!(
        "CASE WHEN w.position BETWEEN 1 AND {PLACES} THEN 1 \
         WHEN w.position BETWEEN 1 AND {BIG_HANDICAP_PLACES} AND w.handicap \
         AND w.field >= {BIG_HANDICAP_FIELD} THEN 1 ELSE 0 END"
    )
}

/// The bookkeeping table: every run the derived tables counted, as they counted it
/// (migration 0016), so an update can take back exactly what it once added.
pub const COUNTED: &str = "paddock_derived_counted";

/// [`COUNTED`]'s columns, in the order [`runs_select`] gives them.
pub(super) const COUNTED_COLUMNS: [&str; 17] = [
    "race_id",
    "horse_id",
    "jockey_id",
    "trainer_id",
    "owner_id",
    "sire_id",
    "dam_id",
    "damsire_id",
    "course_id",
    "race_date",
    "distance_band",
    "is_win",
    "is_place",
    "prize_amount",
    "prize_currency",
    "sp_decimal",
    "sp_inverse",
];

/// Every run (runner row `r` of race `x`) `and_where` admits, as [`COUNTED`]'s columns: what
/// the figures need of it.
pub(super) fn runs_select(target: Target, bands: &DistanceBands, and_where: &str) -> String {
    let (runners, races) = (target.table(names::RUNNERS), target.table(names::RACES));
    let entities: Vec<String> = (ENTITIES.iter())
        .map(|e| format!("r.{}", e.runner_column))
        .collect();
    let outer: Vec<String> = (ENTITIES.iter())
        .map(|e| format!("w.{}", e.runner_column))
        .collect();
    // A race's field (its runs) comes from a window over the same rows: one pass, where a
    // count per runner would read the race's runners again for each. PostgreSQL may sort the
    // race ids bytewise for it (the same partitions; 1.8 -> 1.3 s at 1.3 M runners).
    let race = match target.dialect {
        Dialect::Postgres => "r.race_id COLLATE \"C\"",
        Dialect::Sqlite => "r.race_id",
    };
    format!(
        "SELECT w.race_id, {outer}, w.course_id, w.race_date, w.distance_band, \
         CASE WHEN w.position = 1 THEN 1 ELSE 0 END AS is_win, {place} AS is_place, \
         w.prize_amount, w.prize_currency, w.sp_decimal, \
         CASE WHEN w.sp_decimal > 0 THEN 1.0 / w.sp_decimal END AS sp_inverse FROM \
         (SELECT r.race_id, {entities}, x.course_id, x.race_date, {band} AS distance_band, \
         r.position, LOWER(COALESCE(x.race_name, '')) LIKE '%handicap%' AS handicap, \
         COUNT(*) OVER (PARTITION BY {race}) AS field, \
         r.prize_amount, r.prize_currency, r.sp_decimal \
         FROM {runners} r JOIN {races} x ON x.id = r.race_id WHERE {IS_RUN}{and_where}) w",
        outer = outer.join(", "),
        entities = entities.join(", "),
        band = band_case(bands, "x.distance_furlongs"),
        place = is_place(),
    )
}

/// `derive_pending`: the marks of races waiting for the derived update
/// (`paddock_derived_pending`, written in the units' transactions), as this update read them:
/// exactly these are deleted at its end, so a mark committed meanwhile survives for the next.
pub(super) fn pending_table() -> String {
    format!("CREATE TEMP TABLE derive_pending AS SELECT id, race_id FROM {DERIVED_PENDING}")
}

/// Every figure column of a derived row, in the order [`figures`] defines them (read back by
/// `query.rs`, written by the incremental update).
pub(super) const FIGURE_COLUMNS: [&str; 17] = [
    "runs",
    "wins",
    "places",
    "win_rate",
    "place_rate",
    "prize_gbp",
    "prize_eur",
    "last_run_date",
    "last_win_date",
    "runs_14d",
    "wins_14d",
    "runs_30d",
    "wins_30d",
    "sp_runs",
    "sp_wins",
    "expected_wins",
    "actual_over_expected",
];

/// The form windows: each `(days, column)` names the first date after the window's start,
/// which [`insert_group`] gives every run as `d.<column>` on PostgreSQL (its group's last run
/// date minus `days`), computed once per run rather than once per figure that reads it.
/// SQLite's figures count the same runs with the store's aggregate (`RECENT_FUNCTION`).
const FORM_WINDOWS: [(u32, &str); 2] = [(14, "form_14d_after"), (30, "form_30d_after")];

/// The figure columns and their expressions over the runs `d` of one group of
/// [`insert_group`] (on PostgreSQL each carrying the start of its group's form windows,
/// [`FORM_WINDOWS`]).
fn figures(dialect: Dialect) -> Vec<(&'static str, String)> {
    let num = decimal(dialect);
    // The runs within `days` of the group's last run, `amount` each: on PostgreSQL those
    // after the start its window gave every run ([`FORM_WINDOWS`]), on SQLite by the store's
    // aggregate (`RECENT_FUNCTION`, no window: the jockeys' statistics 2.8 -> 0.84 s and the
    // whole rebuild 106 -> 50 s at 1.3 M runners, measured).
    let recent = |days: u32, amount: &str| match dialect {
        Dialect::Postgres => {
            let (_, after) = (FORM_WINDOWS.iter())
                .find(|(d, _)| *d == days)
                .expect("a form window");
            format!("SUM(CASE WHEN d.race_date > d.{after} THEN {amount} ELSE 0 END)")
        }
        Dialect::Sqlite => format!("{RECENT_FUNCTION}(d.race_date, {amount}, {days})"),
    };
    let with_sp = "d.sp_inverse IS NOT NULL";
    let expected = "SUM(d.sp_inverse)".to_string();
    let sp_wins = format!("SUM(CASE WHEN {with_sp} THEN d.is_win ELSE 0 END)");
    let mut out = vec![
        ("runs", "COUNT(*)".to_string()),
        ("wins", "SUM(d.is_win)".to_string()),
        ("places", "SUM(d.is_place)".to_string()),
        (
            "win_rate",
            format!("CAST(SUM(d.is_win) AS {num}) / COUNT(*)"),
        ),
        (
            "place_rate",
            format!("CAST(SUM(d.is_place) AS {num}) / COUNT(*)"),
        ),
    ];
    for (currency, column) in PRIZE_CURRENCIES {
        out.push((
            column,
            format!(
                "COALESCE(SUM(CASE WHEN d.prize_currency = '{currency}' \
                 THEN d.prize_amount END), 0)"
            ),
        ));
    }
    out.extend([
        ("last_run_date", "MAX(d.race_date)".to_string()),
        (
            "last_win_date",
            "MAX(CASE WHEN d.is_win = 1 THEN d.race_date END)".to_string(),
        ),
        ("runs_14d", recent(14, "1")),
        ("wins_14d", recent(14, "d.is_win")),
        ("runs_30d", recent(30, "1")),
        ("wins_30d", recent(30, "d.is_win")),
        (
            "sp_runs",
            format!("SUM(CASE WHEN {with_sp} THEN 1 ELSE 0 END)"),
        ),
        ("sp_wins", sp_wins.clone()),
        ("expected_wins", expected.clone()),
        (
            "actual_over_expected",
            format!("CAST({sp_wins} AS {num}) / NULLIF({expected}, 0)"),
        ),
    ]);
    out
}

/// The [`COUNTED`] columns the figures read of each run (besides the group's keys).
const RUN_FIGURE_INPUTS: [&str; 6] = [
    "race_date",
    "is_win",
    "is_place",
    "prize_amount",
    "prize_currency",
    "sp_inverse",
];

/// Every group of `group`'s kind, from every run counted in `counted` ([`COUNTED`], or its
/// staged copy on PostgreSQL), inserted into `into` (the full rebuild).
fn insert_group(
    target: Target,
    (counted, into): (&str, &str),
    group: &Group,
    run_id: RunId,
    now: &str,
) -> String {
    let keys = group.run_columns();
    let not_null: Vec<String> = keys.iter().map(|c| format!("{c} IS NOT NULL")).collect();
    let figures = figures(target.dialect);
    let mut columns = vec![group.type_column.to_string()];
    let mut values = vec![format!("'{}'", group.type_value)];
    for (target, run) in &group.ids {
        columns.push(target.to_string());
        values.push(format!("d.{run}"));
    }
    if let Some(extra) = group.extra {
        columns.push(extra.to_string());
        values.push(format!("d.{extra}"));
    }
    for c in &group.entity_columns {
        columns.push(c.to_string());
        values.push(format!("d.{c}"));
    }
    for (column, expr) in &figures {
        columns.push(column.to_string());
        values.push(expr.clone());
    }
    columns.extend(["created_at", "updated_at", "last_run_id"].map(String::from));
    values.extend([format!("'{now}'"), format!("'{now}'"), run_id.to_string()]);
    // One sort per group kind. On PostgreSQL a window gives every run its group's last date
    // (which the form figures compare each run's date with), and the aggregation that follows
    // reads the rows in the window's order, grouped by the keys alone (no second sort, no hash
    // table spilled to disk: 1.5x faster for the horses' venues at 1.3 M runners); SQLite
    // needs no window ([`figures`]). Only the columns the figures read are carried through the
    // sort. The keys are text compared for equality only, so PostgreSQL may sort them bytewise
    // (`COLLATE "C"`) rather than by the database's collation: the same groups, measured 2.2x
    // faster for the jockeys' statistics.
    let carried: Vec<String> = (keys.iter())
        .map(|c| match target.dialect {
            Dialect::Postgres => format!("{c} COLLATE \"C\" AS {c}"),
            Dialect::Sqlite => c.to_string(),
        })
        .chain(RUN_FIGURE_INPUTS.iter().map(|c| c.to_string()))
        .collect();
    let d_keys: Vec<String> = keys.iter().map(|c| format!("d.{c}")).collect();
    let runs = match target.dialect {
        Dialect::Postgres => {
            let last = format!("MAX(c.race_date) OVER (PARTITION BY {})", keys.join(", "));
            let form_after: Vec<String> = (FORM_WINDOWS.iter())
                .map(|(days, after)| {
                    format!("{} AS {after}", days_before(target.dialect, &last, *days))
                })
                .collect();
            format!(
                "SELECT c.*, {} FROM (SELECT {} FROM {counted} WHERE {}) c",
                form_after.join(", "),
                carried.join(", "),
                not_null.join(" AND "),
            )
        }
        // SQLite would read the runs through an `(entity, race_date)` index for the keys' `IS
        // NOT NULL` (no sort, but a table lookup per run): a scan and a sort measured 1.6x
        // faster.
        Dialect::Sqlite => format!(
            "SELECT {} FROM {counted} NOT INDEXED WHERE {}",
            carried.join(", "),
            not_null.join(" AND "),
        ),
    };
    format!(
        "INSERT INTO {table} ({columns}) SELECT {values} FROM ({runs}) d GROUP BY {d_keys}",
        table = into,
        columns = columns.join(", "),
        values = values.join(", "),
        d_keys = d_keys.join(", "),
    )
}

/// Settings of every PostgreSQL transaction of a derived update. The plan's statements are
/// long (a figure per column, a subquery per form figure): compiling them just in time cost
/// 12 s of a 0.13 s statement, measured.
pub(super) const POSTGRES_SETTINGS: [&str; 1] = ["SET LOCAL jit = off"];

/// …and of the full rebuild's: sorts and index builds in memory rather than in temporary
/// files.
const POSTGRES_REBUILD_SETTINGS: [&str; 2] = [
    "SET LOCAL work_mem = '64MB'",
    "SET LOCAL maintenance_work_mem = '256MB'",
];

/// What a full rebuild recomputes: every group of `groups` (of the `kept` tables) from every
/// run, its rows marked with `run_id` and `now`.
#[derive(Clone, Copy)]
pub(super) struct Rebuild<'a> {
    pub(super) target: Target<'a>,
    pub(super) bands: &'a DistanceBands,
    pub(super) kept: &'a [&'static str],
    pub(super) groups: &'a [Group],
    pub(super) run_id: RunId,
    pub(super) now: &'a str,
}

impl Rebuild<'_> {
    /// Every run counted into `counted` ([`COUNTED`] or its staged copy).
    fn count_runs_into(&self, counted: &str) -> Statement {
        Statement::scratch(format!(
            "INSERT INTO {counted} ({}) {}",
            COUNTED_COLUMNS.join(", "),
            runs_select(self.target, self.bands, "")
        ))
    }

    /// Every group of `group`'s kind from the runs in `counted`, inserted into `into`.
    fn insert_group(&self, counted: &str, into: &str, group: &Group) -> Statement {
        Statement {
            sql: insert_group(self.target, (counted, into), group, self.run_id, self.now),
            effect: Effect::Written(group.table),
        }
    }
}

/// The full rebuild: every run counted afresh into [`COUNTED`], then every group of every
/// kept table recomputed from it (one sort and aggregation per group kind). On PostgreSQL each
/// table is staged and swapped in ([`staged`], [`full_rebuild_postgres`]); on SQLite each is
/// dropped and created again as `target.recreated` says (the write transaction hides this from
/// readers until the commit).
pub(super) fn full_rebuild(out: &mut Plan, rebuild: &Rebuild) {
    if rebuild.target.dialect == Dialect::Postgres {
        return full_rebuild_postgres(out, rebuild);
    }
    let (target, kept, groups) = (rebuild.target, rebuild.kept, rebuild.groups);
    let recreated = target.recreated;
    // Helper threads sort in the background while the statement reads on: the window's sort
    // measured 1.25x faster with two on two cores (four were slower).
    out.main([Statement::scratch(format!(
        "PRAGMA threads = {SQLITE_SORTER_THREADS}"
    ))]);
    // Every table emptied first, while the transaction has written little: dropping a table
    // reads each of its pages, measured 5.2 s for the venues after the other tables' loads
    // (their pages in the log) against 0.9 s at the start.
    for table in kept.iter().copied() {
        let physical = target.table(table);
        out.main([Statement {
            sql: staged::count_replaced(physical),
            effect: Effect::Replaced(table),
        }]);
        out.main(
            recreated
                .before_load(physical)
                .into_iter()
                .map(Statement::scratch),
        );
    }
    out.main(
        recreated
            .before_load(COUNTED)
            .into_iter()
            .map(Statement::scratch),
    );
    out.main([rebuild.count_runs_into(COUNTED)]);
    out.main(
        recreated
            .after_load(COUNTED)
            .into_iter()
            .map(Statement::scratch),
    );
    for table in kept.iter().copied() {
        let physical = target.table(table);
        out.main(
            (groups.iter().filter(|g| g.table == table))
                .map(|g| rebuild.insert_group(COUNTED, physical, g)),
        );
        out.main(
            recreated
                .after_load(physical)
                .into_iter()
                .map(Statement::scratch),
        );
    }
    // The connection goes back to the pool as it came (no helper threads).
    out.main([Statement::scratch("PRAGMA threads = 0".into())]);
}

/// PostgreSQL's full rebuild: the bookkeeping and each kept table filled as staged tables and
/// dressed with their indexes and constraints by jobs that may run at the same time on
/// connections of their own ([`Step::Together`]: the sorts of 1.3 M runs spread over the
/// server's cores), then every table swapped in by the plan's own transaction, which has held
/// the derived tables' lock since before the runs were read. Jobs read the staged bookkeeping
/// and the masters, never what the plan's transaction locks for writing.
fn full_rebuild_postgres(out: &mut Plan, rebuild: &Rebuild) {
    let (target, kept, groups) = (rebuild.target, rebuild.kept, rebuild.groups);
    // The plan's transaction waits, idle, while the jobs run.
    out.main([Statement::scratch(
        "SET LOCAL idle_in_transaction_session_timeout = 0".into(),
    )]);
    let job = |statements: Vec<Statement>| -> Job {
        let settings = POSTGRES_SETTINGS.iter().chain(&POSTGRES_REBUILD_SETTINGS);
        (settings.map(|s| Statement::scratch(s.to_string())))
            .chain(statements)
            .collect()
    };
    let mut staged_tables = vec![COUNTED];
    staged_tables.extend(kept.iter().map(|t| target.table(t)));
    out.on_failure = staged_tables
        .iter()
        .map(|t| staged::drop_staged(t))
        .collect();
    let create =
        (staged_tables.iter()).flat_map(|t| staged::create_staged(t).map(Statement::scratch));
    out.steps.push(Step::Together(vec![create.collect()]));
    // The planner needs the staged bookkeeping's statistics for the aggregations. The live
    // rows the swap replaces (the ledger's "deleted") are counted meanwhile: the plan's
    // transaction holds the derived tables' lock, so they stay as counted until the swap.
    let counted = staged::staged_name(COUNTED);
    let mut counting = vec![job(vec![
        rebuild.count_runs_into(&counted),
        Statement::scratch(format!("ANALYZE {counted}")),
    ])];
    counting.extend(kept.iter().map(|&table| {
        vec![Statement {
            sql: staged::count_replaced(target.table(table)),
            effect: Effect::Replaced(table),
        }]
    }));
    out.steps.push(Step::Together(counting));
    // One job per derived table fills it, kind after kind in the order of their type values:
    // its rows then lie in about the order of its key, whose index builds 3x faster on a
    // presorted heap (measured for the venues' key). The heaviest tables first, so that the
    // last job to finish is a short one; the bookkeeping's indexes after them (an index build
    // lets readers go on). Index scans are off: once one of those indexes is built the planner
    // would read the runs through it (a heap page per run, 1.4x slower than the scan and sort,
    // measured).
    let split = |tables: &[&str], block: fn(&str, usize, usize) -> String| -> Vec<Job> {
        let parts = (0..JOBS_PER_TABLE).flat_map(|part| tables.iter().map(move |t| (part, *t)));
        let sql = |(part, table)| block(table, part, JOBS_PER_TABLE);
        (parts.map(|p| job(vec![Statement::scratch(sql(p))]))).collect()
    };
    let mut fills: Vec<(usize, Job)> = (kept.iter())
        .map(|&table| {
            let mut kinds: Vec<&Group> = groups.iter().filter(|g| g.table == table).collect();
            kinds.sort_by_key(|g| g.type_value);
            let into = staged::staged_name(target.table(table));
            let work = kinds.iter().map(|g| g.expected_work()).sum();
            let mut statements = vec![Statement::scratch(
                "SET LOCAL enable_indexscan = off".into(),
            )];
            statements.extend(
                kinds
                    .iter()
                    .map(|g| rebuild.insert_group(&counted, &into, g)),
            );
            (work, job(statements))
        })
        .collect();
    fills.sort_by_key(|(work, _)| std::cmp::Reverse(*work));
    let mut aggregations: Vec<Job> = fills.into_iter().map(|(_, job)| job).collect();
    aggregations.extend(split(&[COUNTED], staged::index));
    out.steps.push(Step::Together(aggregations));
    // Every derived table's indexes, in parts side by side (a table's index builds do not wait
    // for each other), and the bookkeeping's keys on its indexes.
    let derived: Vec<&str> = kept.iter().map(|t| target.table(t)).collect();
    let mut indexed = split(&derived, staged::index);
    indexed.push(job(vec![Statement::scratch(staged::dress(COUNTED))]));
    out.steps.push(Step::Together(indexed));
    // Each derived table's keys and the rest, and its statistics (they stay with it when it
    // is swapped in: the next incremental update's plans need them); then its foreign keys,
    // one per job.
    let mut dressed: Vec<Job> = (derived.iter())
        .map(|physical| {
            job(vec![
                Statement::scratch(staged::dress(physical)),
                Statement::scratch(format!("ANALYZE {}", staged::staged_name(physical))),
            ])
        })
        .collect();
    dressed.extend(split(&derived, staged::foreign_key));
    out.steps.push(Step::Together(dressed));
    for physical in staged_tables {
        out.main([Statement::scratch(staged::swap_in(physical))]);
    }
}

/// Into how many jobs the full rebuild splits each staged table's index builds and foreign
/// keys on PostgreSQL: one each (a table has up to nine indexes, its key and one per entity
/// column, and a foreign key per entity column and venue), so that the two connections share
/// them evenly.
const JOBS_PER_TABLE: usize = 9;

/// How many helper threads SQLite's sorter may start during a full rebuild.
const SQLITE_SORTER_THREADS: u32 = 2;

#[cfg(test)]
mod tests {
    use crate::derive::sql::*;

    #[test]
    fn the_figure_columns_are_the_figures_the_rebuild_defines() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let defined: Vec<&str> = figures(dialect).into_iter().map(|(c, _)| c).collect();
            assert_eq!(defined, FIGURE_COLUMNS);
        }
    }

    #[test]
    fn only_the_rebuilds_own_staged_tables_count_as_staged() {
        assert!(is_staged("ra_performance_by_venue__rebuild"));
        assert!(is_staged("paddock_derived_counted__rebuild"));
        assert!(!is_staged("ra_performance_by_venue"));
        assert!(!is_staged("ra_runners__rebuild"));
        assert!(!is_staged("ra_performance_by_venue__rebuild_old"));
    }

    #[test]
    fn bands_become_a_case_from_the_longest_down() {
        let sql = band_case(&DistanceBands::default(), "f");
        assert_eq!(
            sql,
            "CASE WHEN f IS NULL THEN NULL WHEN f >= 16 THEN '16f+' WHEN f >= 12 THEN '12-15f' \
             WHEN f >= 9 THEN '9-11f' WHEN f >= 7 THEN '7-8f' ELSE '5-6f' END"
        );
    }
}
