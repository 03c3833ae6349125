//! Every table Paddock owns ([`TABLES`]), the look-up by name and the typed handle's
//! resolution.

use super::build::*;
use super::names::{self, TableName};
use super::types::{ColumnType, ResultMarker, Table, TableKind, RESULT_MARKER};

/// Every table Paddock owns. Order here is for reading only: the write order is computed from
/// the foreign keys by [`crate::order::write_order`].
pub static TABLES: &[Table] = &[
    Table {
        name: names::REGIONS,
        legacy_name: None,
        kind: TableKind::Master,
        columns: &[key("code"), col("name", T, REF, NONE)],
        key: &["code"],
        foreign_keys: &[],
    },
    Table {
        name: names::COURSES,
        legacy_name: Some("ra_courses"),
        kind: TableKind::Master,
        columns: &[
            key("id"),
            req("name", T, REF, CARDS_RESULTS),
            col("region_code", T, REF, CARDS_RESULTS),
        ],
        key: &["id"],
        foreign_keys: &[fk(&["region_code"], names::REGIONS, &["code"])],
    },
    Table {
        name: names::BOOKMAKERS,
        legacy_name: Some("ra_bookmakers"),
        kind: TableKind::Master,
        columns: &[key("id"), req("name", T, REF, &[ODD])],
        key: &["id"],
        foreign_keys: &[],
    },
    // People's names are current state: the newest racecard owns them (so the weekly refresh
    // from the newest racecards can correct them); results only fill a missing one.
    Table {
        name: names::JOCKEYS,
        legacy_name: Some("ra_jockeys"),
        kind: TableKind::Master,
        columns: &[key("id"), col("name", T, RC, &[RES])],
        key: &["id"],
        foreign_keys: &[],
    },
    Table {
        name: names::TRAINERS,
        legacy_name: Some("ra_trainers"),
        kind: TableKind::Master,
        columns: &[
            key("id"),
            col("name", T, RC, &[RES]),
            col("location", T, RC, NONE),
        ],
        key: &["id"],
        foreign_keys: &[],
    },
    Table {
        name: names::OWNERS,
        legacy_name: Some("ra_owners"),
        kind: TableKind::Master,
        columns: &[key("id"), col("name", T, RC, &[RES])],
        key: &["id"],
        foreign_keys: &[],
    },
    Table {
        name: names::HORSES,
        legacy_name: Some("ra_horses"),
        kind: TableKind::Master,
        columns: &[
            key("id"),
            // Bare name (racecards); results and profiles fill it with the suffix stripped.
            req("name", T, RC, &[RES, PRO]),
            // Name with the country suffix, as results and profiles give it: "Create (IRE)".
            col("name_with_suffix", T, RES, &[PRO]),
            col("dob", D, RC, &[PRO]),
            col("sex", T, RC, &[PRO]),
            col("sex_code", T, RC, &[RES, PRO]),
            col("colour", T, RC, &[PRO]),
            col("colour_code", T, PRO, NONE),
            col("region", T, RC, &[RES, PRO]),
            col("breeder", T, RC, &[PRO]),
            // When the `/horses/{id}/pro` profile was stored; NULL means "never fetched".
            col("profile_fetched_at", ColumnType::Timestamp, PRO, NONE),
        ],
        key: &["id"],
        foreign_keys: &[],
    },
    pedigree_master(names::SIRES, "ra_sires"),
    pedigree_master(names::DAMS, "ra_dams"),
    pedigree_master(names::DAMSIRES, "ra_damsires"),
    Table {
        name: names::RACES,
        legacy_name: Some("ra_races"),
        kind: TableKind::Master,
        columns: &[
            key("id"),
            req("course_id", T, RC, &[RES]),
            req("race_date", D, RC, &[RES]),
            // The start as an instant, from `off_dt` (never the 12-hour `off`).
            col("off_dt", ColumnType::Timestamp, RC, &[RES]),
            // The 12-hour clock text exactly as given, for reference only.
            col("off_time_raw", T, RC, &[RES]),
            col("race_name", T, RC, &[RES]),
            col("region_code", T, RC, &[RES]),
            col("race_class", T, RC, &[RES]),
            col("race_type", T, RC, &[RES]),
            col("pattern", T, RC, &[RES]),
            col("age_band", T, RC, &[RES]),
            col("rating_band", T, RC, &[RES]),
            col("sex_restriction", T, RC, &[RES]),
            col("distance_raw", T, RC, &[RES]),
            col("distance_round", T, RC, NONE),
            col("distance_yards", I, RES, &[RC]),
            col("distance_metres", I, RES, NONE),
            col("distance_furlongs", N, RC, &[RES]),
            pre_race("going", T),
            col("going_detailed", T, RC, NONE),
            col("surface", T, RC, &[RES]),
            col("jumps", T, RC, &[RES]),
            col("field_size", I, RC, NONE),
            col("prize_amount", ColumnType::Money, RC, NONE),
            col("prize_currency", T, RC, NONE),
            col("big_race", B, RC, NONE),
            col("is_abandoned", B, RC, NONE),
            col("rail_movements", T, RC, NONE),
            col("stalls", T, RC, NONE),
            col("weather", T, RC, NONE),
            col("tip", T, RC, NONE),
            col("verdict", T, RC, NONE),
            col("betting_forecast", T, RC, NONE),
            col("winning_time_detail", T, RES, NONE),
            col("winning_time_seconds", N, RES, NONE),
            col("result_comments", T, RES, NONE),
            col("non_runners_text", T, RES, NONE),
            col("tote_win", T, RES, NONE),
            col("tote_place", T, RES, NONE),
            col("tote_exacta", T, RES, NONE),
            col("tote_csf", T, RES, NONE),
            col("tote_tricast", T, RES, NONE),
            col("tote_trifecta", T, RES, NONE),
            col("has_result", B, RES, NONE),
        ],
        key: &["id"],
        foreign_keys: &[
            fk(&["course_id"], names::COURSES, &["id"]),
            fk(&["region_code"], names::REGIONS, &["code"]),
        ],
    },
    Table {
        name: names::RUNNERS,
        legacy_name: None,
        kind: TableKind::Fact,
        columns: &[
            key("race_id"),
            key("horse_id"),
            pre_race("jockey_id", T),
            pre_race("trainer_id", T),
            pre_race("owner_id", T),
            col("sire_id", T, RC, &[RES]),
            col("dam_id", T, RC, &[RES]),
            col("damsire_id", T, RC, &[RES]),
            // Racecard (pre-race) columns.
            col("number", I, RC, &[RES]),
            pre_race("draw", I),
            pre_race("is_non_runner", B),
            // Why a horse is a non-runner, as the results' `non_runners` text states it.
            col("non_runner_reason", T, RES, NONE),
            col("age", I, RC, &[RES]),
            pre_race("weight_lbs", I),
            pre_race("headgear", T),
            col("headgear_run", T, RC, NONE),
            col("wind_surgery", T, RC, NONE),
            col("wind_surgery_run", T, RC, NONE),
            col("official_rating", I, RC, NONE),
            col("racecard_rpr", I, RC, NONE),
            col("racecard_ts", I, RC, NONE),
            col("form", T, RC, NONE),
            col("last_run_days", I, RC, NONE),
            col("last_run_raw", T, RC, NONE),
            col("racecard_comment", T, RC, NONE),
            col("spotlight", T, RC, NONE),
            col("silk_url", T, RC, &[RES]),
            col("trainer_rtf", I, RC, NONE),
            col("trainer_14_days", J, RC, NONE),
            col("prev_trainers", J, RC, NONE),
            col("prev_owners", J, RC, NONE),
            col("quotes", J, RC, NONE),
            col("stable_tour", J, RC, NONE),
            col("medical", J, RC, NONE),
            col("past_results_flags", J, RC, NONE),
            // Result columns.
            col("position", I, RES, NONE),
            col("position_raw", T, RES, NONE),
            col("finish_status", T, RES, NONE),
            col("sp_raw", T, RES, NONE),
            col("sp_decimal", N, RES, NONE),
            col("sp_favourite", B, RES, NONE),
            col("beaten_lengths", N, RES, NONE),
            col("overall_beaten_lengths", N, RES, NONE),
            col("weight_raw", T, RES, NONE),
            col("jockey_claim_lbs", I, RES, NONE),
            col("result_official_rating", I, RES, NONE),
            col("result_rpr", I, RES, NONE),
            col("result_tsr", I, RES, NONE),
            col("finish_time_raw", T, RES, NONE),
            col("finish_time_seconds", N, RES, NONE),
            col("prize_amount", ColumnType::Money, RES, NONE),
            col("prize_currency", T, RES, NONE),
            col("result_comment", T, RES, NONE),
        ],
        key: &["race_id", "horse_id"],
        foreign_keys: &[
            fk(&["race_id"], names::RACES, &["id"]),
            fk(&["horse_id"], names::HORSES, &["id"]),
            fk(&["jockey_id"], names::JOCKEYS, &["id"]),
            fk(&["trainer_id"], names::TRAINERS, &["id"]),
            fk(&["owner_id"], names::OWNERS, &["id"]),
            fk(&["sire_id"], names::SIRES, &["id"]),
            fk(&["dam_id"], names::DAMS, &["id"]),
            fk(&["damsire_id"], names::DAMSIRES, &["id"]),
        ],
    },
    Table {
        name: names::HORSE_PEDIGREE,
        legacy_name: None,
        kind: TableKind::Fact,
        columns: &[
            key("horse_id"),
            col("sire_id", T, RC, &[RES, PRO]),
            col("dam_id", T, RC, &[RES, PRO]),
            col("damsire_id", T, RC, &[RES, PRO]),
            col("sire_region", T, RC, NONE),
            col("dam_region", T, RC, NONE),
            col("damsire_region", T, RC, NONE),
        ],
        key: &["horse_id"],
        foreign_keys: &[
            fk(&["horse_id"], names::HORSES, &["id"]),
            fk(&["sire_id"], names::SIRES, &["id"]),
            fk(&["dam_id"], names::DAMS, &["id"]),
            fk(&["damsire_id"], names::DAMSIRES, &["id"]),
        ],
    },
    Table {
        name: names::RUNNER_ODDS,
        legacy_name: None,
        kind: TableKind::Fact,
        columns: &[
            key("race_id"),
            key("horse_id"),
            key("bookmaker_id"),
            // `updated` is UK local time without an offset; stored as the instant it names.
            key_typed("observed_at", ColumnType::Timestamp),
            col("fractional", T, ODD, NONE),
            col("decimal", N, ODD, NONE),
            col("ew_places", I, ODD, NONE),
            col("ew_denom", I, ODD, NONE),
        ],
        key: &["race_id", "horse_id", "bookmaker_id", "observed_at"],
        foreign_keys: &[
            fk(
                &["race_id", "horse_id"],
                names::RUNNERS,
                &["race_id", "horse_id"],
            ),
            fk(&["bookmaker_id"], names::BOOKMAKERS, &["id"]),
        ],
    },
    // The current price per runner and bookmaker, kept by the store in each unit's
    // transaction from the rows it wrote to `ra_runner_odds` (`src/store/odds.rs`); never in a
    // payload's rows. `observed_at` is the API's `updated` time of that price.
    Table {
        name: names::RUNNER_ODDS_LATEST,
        legacy_name: None,
        kind: TableKind::Fact,
        columns: &[
            key("race_id"),
            key("horse_id"),
            key("bookmaker_id"),
            col("observed_at", ColumnType::Timestamp, ODD, NONE),
            col("fractional", T, ODD, NONE),
            col("decimal", N, ODD, NONE),
            col("ew_places", I, ODD, NONE),
            col("ew_denom", I, ODD, NONE),
        ],
        key: &["race_id", "horse_id", "bookmaker_id"],
        foreign_keys: &[
            fk(
                &["race_id", "horse_id"],
                names::RUNNERS,
                &["race_id", "horse_id"],
            ),
            fk(&["bookmaker_id"], names::BOOKMAKERS, &["id"]),
        ],
    },
    // ---- operations ----
    Table {
        name: "paddock_runs",
        legacy_name: None,
        kind: TableKind::Operations,
        columns: &[
            sys("run_id", ColumnType::Serial, false),
            sys("job", T, false),
            sys("run_trigger", T, false),
            sys("params", J, true),
            sys("started_at", ColumnType::Timestamp, false),
            sys("finished_at", ColumnType::Timestamp, true),
            sys("status", T, false),
            sys("api_requests", I, false),
            sys("requests_by_endpoint", J, true),
            sys("rows_rejected", I, false),
            sys("error_text", T, true),
        ],
        key: &["run_id"],
        foreign_keys: &[],
    },
    Table {
        name: "paddock_run_tables",
        legacy_name: None,
        kind: TableKind::Operations,
        columns: &[
            sys("run_id", I, false),
            sys("table_name", T, false),
            sys("inserted", I, false),
            sys("updated", I, false),
            sys("unchanged", I, false),
            sys("rejected", I, false),
            // Rows a retention run deleted (migration 0014); 0 for every other run.
            sys("deleted", I, false),
        ],
        key: &["run_id", "table_name"],
        foreign_keys: &[fk(&["run_id"], "paddock_runs", &["run_id"])],
    },
    Table {
        name: "paddock_rejects",
        legacy_name: None,
        kind: TableKind::Operations,
        columns: &[
            sys("reject_id", ColumnType::Serial, false),
            sys("run_id", I, false),
            sys("endpoint", T, false),
            sys("entity", T, false),
            sys("entity_key", T, true),
            sys("reason", T, false),
            sys("payload", T, true),
            sys("created_at", ColumnType::Timestamp, false),
        ],
        key: &["reject_id"],
        foreign_keys: &[fk(&["run_id"], "paddock_runs", &["run_id"])],
    },
    Table {
        name: "paddock_checkpoints",
        legacy_name: None,
        kind: TableKind::Operations,
        columns: &[
            sys("name", T, false),
            sys("job", T, false),
            sys("cursor", T, true),
            sys("status", T, false),
            sys("run_id", I, true),
            sys("updated_at", ColumnType::Timestamp, false),
        ],
        key: &["name"],
        foreign_keys: &[],
    },
    Table {
        name: "paddock_state",
        legacy_name: None,
        kind: TableKind::Operations,
        columns: &[
            sys("key", T, false),
            sys("value", T, true),
            sys("updated_at", ColumnType::Timestamp, false),
        ],
        key: &["key"],
        foreign_keys: &[],
    },
    // The rename's ledger of transition attempts (`src/rename/history.rs`, migration 0007):
    // one row per attempt, numbered, with its outcome (`succeeded`, `refused`, `failed`).
    Table {
        name: "paddock_rename_history",
        legacy_name: None,
        kind: TableKind::Operations,
        columns: &[
            sys("seq", I, false),
            sys("from_phase", T, false),
            sys("to_phase", T, false),
            sys("outcome", T, false),
            sys("detail", T, true),
            sys("at", ColumnType::Timestamp, false),
        ],
        key: &["seq"],
        foreign_keys: &[],
    },
    // The races whose derived figures wait for the next derived update (migration 0009): each
    // unit marks the races it writes in its own transaction; the update deletes the marks it
    // covered (`src/derive/`).
    Table {
        name: "paddock_derived_pending",
        legacy_name: None,
        kind: TableKind::Operations,
        columns: &[
            sys("id", ColumnType::Serial, false),
            sys("race_id", T, false),
            sys("run_id", I, false),
            sys("marked_at", ColumnType::Timestamp, false),
        ],
        key: &["id"],
        foreign_keys: &[],
    },
    // The alerts' outbox (issue 22, migration 0013; `src/store/alerts.rs`, `src/alerts/`): what
    // the `[[alerts.rules]]` triggered, once per rule, race, runner and bookmaker (a unique
    // index), and its delivery: sent, when, attempts, the last error.
    Table {
        name: "paddock_alerts",
        legacy_name: None,
        kind: TableKind::Operations,
        columns: &[
            sys("id", ColumnType::Serial, false),
            sys("triggered_at", ColumnType::Timestamp, false),
            sys("rule_name", T, false),
            sys("kind", T, false),
            sys("race_id", T, false),
            sys("horse_id", T, true),
            sys("bookmaker_id", T, true),
            sys("threshold", ColumnType::Decimal, true),
            sys("actual", ColumnType::Decimal, true),
            sys("observed_at", ColumnType::Timestamp, true),
            sys("message", T, false),
            sys("run_id", I, true),
            sys("sent", ColumnType::Boolean, false),
            sys("sent_at", ColumnType::Timestamp, true),
            sys("delivery_attempts", I, false),
            sys("last_error", T, true),
        ],
        key: &["id"],
        foreign_keys: &[],
    },
    // What the derived tables counted, one row per run (migration 0016): the runner's entity
    // ids, race facts and figures as `src/derive/` counted them, so an update subtracts exactly
    // what it once added (a corrected result, a late non-runner, a changed jockey).
    Table {
        name: "paddock_derived_counted",
        legacy_name: None,
        kind: TableKind::Operations,
        columns: &[
            sys("race_id", T, false),
            sys("horse_id", T, false),
            sys("jockey_id", T, true),
            sys("trainer_id", T, true),
            sys("owner_id", T, true),
            sys("sire_id", T, true),
            sys("dam_id", T, true),
            sys("damsire_id", T, true),
            sys("course_id", T, true),
            sys("race_date", ColumnType::Date, true),
            sys("distance_band", T, true),
            sys("is_win", I, false),
            sys("is_place", I, false),
            sys("prize_amount", ColumnType::Money, true),
            sys("prize_currency", T, true),
            sys("sp_decimal", ColumnType::Decimal, true),
            // 1 / `sp_decimal` when it is > 0 (migration 0017): computed once per run.
            sys("sp_inverse", ColumnType::Decimal, true),
        ],
        key: &["race_id", "horse_id"],
        foreign_keys: &[],
    },
    // The raw response archive (issue 10): every API response body, zstd-compressed, as bytes
    // (base64 text before migration 0014), for `paddock replay`.
    Table {
        name: "paddock_raw_responses",
        legacy_name: None,
        kind: TableKind::Operations,
        columns: &[
            sys("response_id", ColumnType::Serial, false),
            sys("endpoint", T, false),
            sys("query", T, false),
            sys("status", I, false),
            sys("fetched_at", ColumnType::Timestamp, false),
            sys("body_bytes", I, false),
            sys("body_zstd", ColumnType::Bytes, false),
        ],
        key: &["response_id"],
        foreign_keys: &[],
    },
    // ---- derived (computed by `src/derive/`, never from payloads) ----
    Table {
        name: names::RUNNER_STATISTICS,
        legacy_name: None,
        kind: TableKind::Derived,
        columns: derived_columns!(
            [key("entity_type"), key("entity_id")],
            [
                col("horse_id", T, DER, NONE),
                col("jockey_id", T, DER, NONE),
                col("trainer_id", T, DER, NONE),
                col("owner_id", T, DER, NONE),
                col("sire_id", T, DER, NONE),
                col("dam_id", T, DER, NONE),
                col("damsire_id", T, DER, NONE),
            ]
        ),
        key: &["entity_type", "entity_id"],
        foreign_keys: ENTITY_FKS,
    },
    Table {
        name: names::ENTITY_COMBINATIONS,
        legacy_name: None,
        kind: TableKind::Derived,
        columns: derived_columns!(
            [key("pair_type"), key("first_id"), key("second_id")],
            [
                col("horse_id", T, DER, NONE),
                col("jockey_id", T, DER, NONE),
                col("trainer_id", T, DER, NONE),
                col("owner_id", T, DER, NONE),
            ]
        ),
        key: &["pair_type", "first_id", "second_id"],
        foreign_keys: &[
            fk(&["horse_id"], names::HORSES, &["id"]),
            fk(&["jockey_id"], names::JOCKEYS, &["id"]),
            fk(&["trainer_id"], names::TRAINERS, &["id"]),
            fk(&["owner_id"], names::OWNERS, &["id"]),
        ],
    },
    Table {
        name: names::PERFORMANCE_BY_DISTANCE,
        legacy_name: None,
        kind: TableKind::Derived,
        columns: derived_columns!(
            [key("entity_type"), key("entity_id"), key("distance_band")],
            [
                col("horse_id", T, DER, NONE),
                col("jockey_id", T, DER, NONE),
                col("trainer_id", T, DER, NONE),
                col("owner_id", T, DER, NONE),
                col("sire_id", T, DER, NONE),
                col("dam_id", T, DER, NONE),
                col("damsire_id", T, DER, NONE),
            ]
        ),
        key: &["entity_type", "entity_id", "distance_band"],
        foreign_keys: ENTITY_FKS,
    },
    Table {
        name: names::PERFORMANCE_BY_VENUE,
        legacy_name: None,
        kind: TableKind::Derived,
        columns: derived_columns!(
            [key("entity_type"), key("entity_id"), key("course_id")],
            [
                col("horse_id", T, DER, NONE),
                col("jockey_id", T, DER, NONE),
                col("trainer_id", T, DER, NONE),
                col("owner_id", T, DER, NONE),
                col("sire_id", T, DER, NONE),
                col("dam_id", T, DER, NONE),
                col("damsire_id", T, DER, NONE),
            ]
        ),
        key: &["entity_type", "entity_id", "course_id"],
        foreign_keys: &[
            fk(&["course_id"], names::COURSES, &["id"]),
            fk(&["horse_id"], names::HORSES, &["id"]),
            fk(&["jockey_id"], names::JOCKEYS, &["id"]),
            fk(&["trainer_id"], names::TRAINERS, &["id"]),
            fk(&["owner_id"], names::OWNERS, &["id"]),
            fk(&["sire_id"], names::SIRES, &["id"]),
            fk(&["dam_id"], names::DAMS, &["id"]),
            fk(&["damsire_id"], names::DAMSIRES, &["id"]),
        ],
    },
];

/// The table called `name` in [`TABLES`]; `None` for a name that is not a registry table (names
/// from outside: the catalog, a command line). Constant names use [`TableName::table`].
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

impl TableName {
    /// The registry table this handle names (every handle resolves: see the registry's tests).
    pub fn table(self) -> &'static Table {
        table(self.as_str()).unwrap_or_else(|| panic!("{} is not a registry table", self.as_str()))
    }
}

impl Table {
    /// Where this table finds whether its race has a result: its own [`RESULT_MARKER`] column,
    /// or the first foreign key to a table that has one.
    pub fn result_marker(&self) -> Option<ResultMarker> {
        if self.column(RESULT_MARKER).is_some() {
            return Some(ResultMarker::Own);
        }
        self.foreign_keys
            .iter()
            .find(|f| table(f.ref_table).is_some_and(|t| t.column(RESULT_MARKER).is_some()))
            .map(ResultMarker::Via)
    }
}
