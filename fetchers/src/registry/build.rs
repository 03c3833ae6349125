//! Compact `const` constructors for columns, foreign keys and the shared table shapes, so the
//! table list ([`super::tables`]) reads like a schema.

use super::names;
use super::types::{Column, ColumnType, ForeignKey, Source, Table, TableKind, Writers};

pub(super) const fn key(name: &'static str) -> Column {
    Column {
        name,
        ty: ColumnType::Text,
        nullable: false,
        writers: Writers::Key,
    }
}

pub(super) const fn key_typed(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        nullable: false,
        writers: Writers::Key,
    }
}

pub(super) const fn sys(name: &'static str, ty: ColumnType, nullable: bool) -> Column {
    Column {
        name,
        ty,
        nullable,
        writers: Writers::System,
    }
}

/// A nullable column owned by `owner` and filled by `fillers`.
pub(super) const fn col(
    name: &'static str,
    ty: ColumnType,
    owner: Source,
    fillers: &'static [Source],
) -> Column {
    Column {
        name,
        ty,
        nullable: true,
        writers: Writers::Owned { owner, fillers },
    }
}

/// A NOT NULL column owned by `owner` and filled by `fillers` (identity columns only).
pub(super) const fn req(
    name: &'static str,
    ty: ColumnType,
    owner: Source,
    fillers: &'static [Source],
) -> Column {
    Column {
        name,
        ty,
        nullable: false,
        writers: Writers::Owned { owner, fillers },
    }
}

/// A nullable pre-race state column ([`Writers::PreRace`]).
pub(super) const fn pre_race(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        nullable: true,
        writers: Writers::PreRace,
    }
}

pub(super) const fn fk(
    columns: &'static [&'static str],
    ref_table: &'static str,
    ref_columns: &'static [&'static str],
) -> ForeignKey {
    ForeignKey {
        columns,
        ref_table,
        ref_columns,
    }
}

pub(super) use ColumnType::{
    Boolean as B, Date as D, Decimal as N, Integer as I, Json as J, Text as T,
};
pub(super) use Source::{
    Derived as DER, HorseProfile as PRO, Odds as ODD, Racecard as RC, Reference as REF,
    Result as RES,
};

pub(super) const NONE: &[Source] = &[];
pub(super) const CARDS_RESULTS: &[Source] = &[RC, RES];

/// A derived table's columns: its key, the typed entity columns that carry its foreign keys
/// (exactly the ones naming its entity or pair are set), then the figures every derived table
/// shares (see `src/derive/` for their definitions).
macro_rules! derived_columns {
    ([$($key:expr),* $(,)?], [$($entity:expr),* $(,)?] $(,)?) => {
        &[
            $($key,)*
            $($entity,)*
            col("runs", I, DER, NONE),
            col("wins", I, DER, NONE),
            col("places", I, DER, NONE),
            col("win_rate", N, DER, NONE),
            col("place_rate", N, DER, NONE),
            col("prize_gbp", N, DER, NONE),
            col("prize_eur", N, DER, NONE),
            col("last_run_date", D, DER, NONE),
            col("last_win_date", D, DER, NONE),
            col("runs_14d", I, DER, NONE),
            col("wins_14d", I, DER, NONE),
            col("runs_30d", I, DER, NONE),
            col("wins_30d", I, DER, NONE),
            col("sp_runs", I, DER, NONE),
            col("sp_wins", I, DER, NONE),
            col("expected_wins", N, DER, NONE),
            col("actual_over_expected", N, DER, NONE),
        ]
    };
}

pub(super) use derived_columns;

/// The foreign keys of a derived table keyed by one entity (horse, jockey, … damsire).
pub(super) const ENTITY_FKS: &[ForeignKey] = &[
    fk(&["horse_id"], "ra_mst_horses", &["id"]),
    fk(&["jockey_id"], "ra_mst_jockeys", &["id"]),
    fk(&["trainer_id"], "ra_mst_trainers", &["id"]),
    fk(&["owner_id"], "ra_mst_owners", &["id"]),
    fk(&["sire_id"], "ra_mst_sires", &["id"]),
    fk(&["dam_id"], "ra_mst_dams", &["id"]),
    fk(&["damsire_id"], "ra_mst_damsires", &["id"]),
];

/// Sires, dams and damsires share one shape: id, name, region and a link to their own horse row
/// (through the `sir_`/`dam_`/`dsi_` → `hrs_` id mapping), set once that horse is known.
pub(super) const fn pedigree_master(name: &'static str, legacy: &'static str) -> Table {
    Table {
        name,
        legacy_name: Some(legacy),
        kind: TableKind::Master,
        columns: PEDIGREE_COLUMNS,
        key: &["id"],
        foreign_keys: PEDIGREE_FKS,
    }
}

pub(super) const PEDIGREE_COLUMNS: &[Column] = &[
    key("id"),
    col("name", T, RC, &[RES, PRO]),
    col("region", T, RC, NONE),
    col("horse_id", T, DER, NONE),
    // The name with its country suffix as results give it ("Galileo (IRE)"), like horses.
    col("name_with_suffix", T, RES, &[PRO]),
];

pub(super) const PEDIGREE_FKS: &[ForeignKey] = &[fk(&["horse_id"], names::HORSES, &["id"])];
