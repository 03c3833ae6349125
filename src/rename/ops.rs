//! The rename commands: `migrate --legacy-names`, `tables begin|backfill|advance|rollback|
//! drop-archived`, written once over the store's tool door (`store::tools`). Each transition
//! runs in one transaction together with its phase change and its ledger entry, serialized with
//! the units of work (`history::run_transition`); a refusal is recorded with its reason. Rows
//! are copied by the store's one copy routine (`store::mirror::copy_sql`), values bound.

use crate::config::AdoptMaps;
use crate::rename::carry::{
    add_carried_columns, carried_columns, carried_columns_of, carried_into_new, copy_carried,
    empty_in_legacy, free_index_names, legacy_end, relax_not_null, taken_names,
};
use crate::rename::history::{
    history, record_refusal, run_in_phase, run_transition, Change, TransitionOutcome,
};
use crate::rename::phase::{archived_name, legacy_name, referencing_tables, renamed_tables, Phase};
use crate::rename::state::{
    backfill_cursor, clear_cursor, current_phase, phase_statement, set_cursor, stored_maps,
};
use crate::rename::verify::verify;
use crate::store::dialect::{Params, Repointing, TableMove, ToolDialect};
use crate::store::mirror::{copy_sql, surrogate_back_sql};
use crate::store::physical::{surrogate_column, End};
use crate::store::tools::{create_table_statements, ForeignKeys, Statement};
use crate::store::SqlStore;
use anyhow::{bail, Result};
use chrono::{DateTime, Duration, Utc};
use fetchers::registry::{ColumnType, Table};
use fetchers::rows::Value;
use fetchers::schema::create_indexes;

/// Default grace period between deprecate and `drop-archived`.
pub const DEFAULT_GRACE_DAYS: i64 = 30;

/// The statements of a DDL script.
fn split<D: ToolDialect>(script: &str) -> impl Iterator<Item = Statement<D>> + '_ {
    script
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Statement::from(s.to_string()))
}

/// Creates the schema with the legacy names: the migrations, then every renamed table moved
/// to its legacy name (indexes too). Phase: legacy.
pub async fn migrate_legacy_names<D: ToolDialect>(
    store: &SqlStore<D>,
    now: DateTime<Utc>,
) -> Result<()> {
    store.migrate().await?;
    let first = renamed_tables()[0];
    if store.table_exists(legacy_name(first)).await? && !store.table_exists(first.name).await? {
        return Ok(()); // already legacy
    }
    if current_phase(store).await? != Phase::Dropped || !history(store).await?.is_empty() {
        bail!("this database is already being renamed; --legacy-names only creates a new one");
    }
    let mut statements = Vec::new();
    for table in renamed_tables() {
        let legacy = legacy_name(table);
        for index in split::<D>(&create_indexes(table, table.name)) {
            let name = index.sql.split_whitespace().nth(2).unwrap_or_default();
            statements.push(format!("DROP INDEX IF EXISTS {name}").into());
        }
        statements.push(format!("ALTER TABLE {} RENAME TO {legacy}", table.name).into());
        statements.extend(split(&create_indexes(table, legacy)));
    }
    statements.push(phase_statement(Phase::Legacy, now));
    store
        .run_statements(&statements, ForeignKeys::Enforced)
        .await
}

/// Legacy columns the registry lacks (kept, shown by `status`), per renamed table.
pub async fn extra_legacy_columns<D: ToolDialect>(
    store: &SqlStore<D>,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for table in renamed_tables() {
        for name in [legacy_name(table).to_string(), archived_name(table)] {
            if !store.table_exists(&name).await? {
                continue;
            }
            let registry: Vec<String> = table.all_columns().iter().map(|c| c.name.into()).collect();
            for column in store.table_columns(&name).await? {
                if !registry.contains(&column) {
                    out.push((name.clone(), column));
                }
            }
        }
    }
    Ok(out)
}

fn expect_phase(phase: Phase, allowed: &[Phase], command: &str) -> Result<()> {
    if !allowed.contains(&phase) {
        bail!(
            "`tables {command}` needs phase {}; the database is in phase {phase}",
            allowed
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(" or ")
        );
    }
    Ok(())
}

/// legacy → dual-write: creates `ra_mst_*` with the registry's columns and keys plus the
/// legacy-only columns of their legacy tables with their defaults (`carry.rs`; a key-mapped
/// one's surrogate as `legacy_id`, without default, its key column's values in the new `id`),
/// each index under a free name; adds registry columns the legacy tables lack (nullable); a
/// registry NOT NULL column some legacy rows leave empty is created nullable. Returns a note
/// for each index created under another name, each column created nullable and each carried
/// column created without its legacy default (SQLite: a non-constant one).
pub async fn begin<D: ToolDialect>(store: &SqlStore<D>, now: DateTime<Utc>) -> Result<Vec<String>> {
    let phase = current_phase(store).await?;
    expect_phase(phase, &[Phase::Legacy], "begin")?;
    let maps = stored_maps(store).await?;
    let dialect = D::KIND.schema_dialect();
    // Read once: the preparation before the transition's lock stays short.
    let catalog = store.read_catalog(&store.current_schema().await?).await?;
    let mut taken = taken_names(&catalog);
    let mut empty_columns = empty_in_legacy(store, &catalog).await?;
    let mut notes = Vec::new();
    let mut statements = Vec::new();
    for table in renamed_tables() {
        let legacy = legacy_name(table);
        let present = store.table_columns(legacy).await?;
        // Refused before anything is written: a key-mapped table without its surrogate.
        let carried = carried_into_new(&catalog, table, maps.key(table.name))?;
        for column in table.all_columns() {
            if !present.iter().any(|p| p == column.name) {
                statements.push(
                    format!(
                        "ALTER TABLE {legacy} ADD COLUMN {} {}",
                        column.name,
                        dialect.column_type(column.ty)
                    )
                    .into(),
                );
            }
        }
        let mut created = create_table_statements::<D>(table, table.name);
        for (wanted, chosen) in free_index_names(&mut created, &mut taken) {
            notes.push(format!("index name {wanted} is taken: created as {chosen}"));
        }
        let empty = empty_columns.remove(table.name).unwrap_or_default();
        relax_not_null(table, &mut created, &empty);
        for column in empty {
            notes.push(format!(
                "{}.{column} created nullable: some {} rows have none",
                table.name,
                legacy_name(table)
            ));
        }
        statements.extend(created);
        let (added, left_out) = add_carried_columns::<D>(table, &carried);
        statements.extend(added);
        notes.extend(left_out);
    }
    let change = Change {
        from: phase,
        to: Phase::DualWrite,
        at: now,
    };
    run_transition(store, change, &statements, ForeignKeys::Enforced).await?;
    Ok(notes)
}

/// Copies history legacy → new in key-ordered batches of `batch` rows, each its own short
/// transaction with its cursor, under the transitions' lock and only while the phase is still
/// backfill (`history::run_in_phase`: a rollback or advance never interleaves with a batch, and
/// the backfill stops with an error once one ran); resumes from the cursors; a finished pass
/// clears them, so a second run is an idempotent full pass. Returns rows copied per table.
pub async fn backfill<D: ToolDialect>(
    store: &SqlStore<D>,
    batch: usize,
    now: DateTime<Utc>,
) -> Result<Vec<(&'static str, u64)>> {
    let phase = current_phase(store).await?;
    expect_phase(phase, &[Phase::DualWrite, Phase::Backfill], "backfill")?;
    if phase == Phase::DualWrite {
        let change = Change {
            from: phase,
            to: Phase::Backfill,
            at: now,
        };
        run_transition(store, change, &[], ForeignKeys::Enforced).await?;
    }
    let maps = stored_maps(store).await?;
    let mut copied = Vec::new();
    for table in renamed_tables() {
        let mut cursor = backfill_cursor(store, table.name).await?;
        let carried = carried_columns(store, table).await?;
        let legacy = legacy_end(&maps, table, legacy_name(table));
        let mut rows = 0u64;
        while let Some((upper, batch_rows)) =
            next_batch(store, table, legacy, cursor.as_deref(), batch).await?
        {
            let key_type = batch_key(table, legacy).1;
            let carry = copy_carried(table, legacy, &carried, cursor.as_deref(), &upper, key_type);
            let copy = copy_batch(table, legacy, cursor.as_deref(), &upper);
            let statements: Vec<Statement<D>> = [copy]
                .into_iter()
                .chain(carry)
                .chain([set_cursor(table.name, &upper, now)])
                .collect();
            run_in_phase(store, Phase::Backfill, &statements).await?;
            rows += batch_rows;
            cursor = Some(upper);
        }
        copied.push((table.name, rows));
    }
    let clear: Vec<_> = renamed_tables()
        .iter()
        .map(|t| clear_cursor(t.name))
        .collect();
    run_in_phase(store, Phase::Backfill, &clear).await?;
    Ok(copied)
}

/// The key column a backfill orders `table`'s legacy table (`legacy`) by, and its type: the
/// registry key, held in the key column of a key-mapped legacy table.
fn batch_key<'a>(table: &Table, legacy: End<'a>) -> (&'a str, ColumnType) {
    let key = table.key[0];
    let ty = table.column(key).map_or(ColumnType::Text, |c| c.ty);
    (legacy.column(table, key), ty)
}

/// The last key and the row count of the next batch of at most `batch` legacy rows after
/// `cursor`; `None` when none is left.
async fn next_batch<D: ToolDialect>(
    store: &SqlStore<D>,
    table: &Table,
    legacy: End<'_>,
    cursor: Option<&str>,
    batch: usize,
) -> Result<Option<(String, u64)>> {
    let (key, ty) = batch_key(table, legacy);
    let mut p = Params::<D>::new();
    let after = cursor
        .map(|c| format!("WHERE {key} > {}", p.add(Value::Text(c.into()), ty)))
        .unwrap_or_default();
    let limit = p.add(Value::Integer(batch as i64), ColumnType::Integer);
    let sql = format!(
        "SELECT CAST(MAX({key}) AS TEXT), CAST(COUNT(*) AS TEXT) FROM \
         (SELECT {key} FROM {} {after} ORDER BY {key} LIMIT {limit}) b",
        legacy.table
    );
    let rows = store.text_rows(&sql, p.values()).await?;
    let Some(upper) = rows.first().and_then(|r| r[0].clone()) else {
        return Ok(None);
    };
    let count = rows[0][1].as_deref().unwrap_or("0").parse()?;
    Ok(Some((upper, count)))
}

/// Copies the legacy rows with keys after `cursor` up to `upper` into the new table.
fn copy_batch<D: ToolDialect>(
    table: &Table,
    legacy: End,
    cursor: Option<&str>,
    upper: &str,
) -> Statement<D> {
    let (key, ty) = batch_key(table, legacy);
    let mut p = Params::<D>::new();
    let lower = cursor
        .map(|c| format!("{key} > {} AND ", p.add(Value::Text(c.into()), ty)))
        .unwrap_or_default();
    let filter = format!("{lower}{key} <= {}", p.add(Value::Text(upper.into()), ty));
    Statement::new(
        copy_sql(table, legacy, End::plain(table.name), &filter, &[]),
        p,
    )
}

/// The phase after `phase` through `advance`, with the work that moves there.
pub async fn advance<D: ToolDialect>(
    store: &SqlStore<D>,
    compatibility_views: bool,
    now: DateTime<Utc>,
) -> Result<Phase> {
    let phase = current_phase(store).await?;
    let to = match phase {
        Phase::Backfill => Phase::SwitchReaders,
        Phase::SwitchReaders => Phase::Deprecate,
        Phase::Legacy => bail!("phase legacy: start with `tables begin`"),
        Phase::DualWrite => bail!("phase dual-write: run `tables backfill` first"),
        Phase::Deprecate => bail!("phase deprecate: the next step is `tables drop-archived`"),
        Phase::Dropped => bail!("phase dropped: nothing left to advance"),
    };
    let change = Change {
        from: phase,
        to,
        at: now,
    };
    if to == Phase::SwitchReaders {
        let report = verify(store).await?;
        if !report.is_clean() {
            let reason = format!("verify found: {}", report.differences.join("; "));
            record_refusal(store, change, &reason).await?;
            bail!("advance refused: {reason}");
        }
        let repointing = repoint_foreign_keys(store, Target::New).await?;
        run_repointing(store, change, repointing).await?;
        return Ok(to);
    }
    let maps = stored_maps(store).await?;
    let mut statements = Vec::new();
    for table in renamed_tables() {
        let legacy = legacy_name(table);
        statements.push(format!("ALTER TABLE {legacy} RENAME TO {}", archived_name(table)).into());
        if compatibility_views {
            let columns = view_columns(store, &maps, table).await?;
            statements.push(D::create_view_sql(legacy, table.name, &columns).into());
        }
    }
    run_transition(store, change, &statements, ForeignKeys::Enforced).await?;
    Ok(to)
}

/// The select list of `table`'s compatibility view: `*`, or for a key-mapped table the
/// legacy columns as its readers knew them: the surrogate (`legacy_id`) as the key's name,
/// the key as the key column (`id AS code`), then every other column of `ra_mst_*`.
async fn view_columns<D: ToolDialect>(
    store: &SqlStore<D>,
    maps: &AdoptMaps,
    table: &Table,
) -> Result<String> {
    let Some(held) = maps.key(table.name) else {
        return Ok("*".into());
    };
    let (key, surrogate) = (table.key[0], surrogate_column(table));
    let mut columns = vec![format!("{surrogate} AS {key}"), format!("{key} AS {held}")];
    for column in store.table_columns(table.name).await? {
        if column != key && column != surrogate && column != held {
            columns.push(column);
        }
    }
    Ok(columns.join(", "))
}

fn drop_views<D: ToolDialect>() -> impl Iterator<Item = Statement<D>> {
    (renamed_tables().into_iter()).map(|t| format!("DROP VIEW IF EXISTS {}", legacy_name(t)).into())
}

/// Which layout foreign keys of runners, pedigree and runner odds point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Legacy,
    New,
}

/// How every foreign key to a renamed table is re-pointed at `target`
/// ([`ToolDialect::repoint_foreign_keys`]).
async fn repoint_foreign_keys<D: ToolDialect>(
    store: &SqlStore<D>,
    target: Target,
) -> Result<Repointing> {
    let renamed = renamed_tables();
    let maps = stored_maps(store).await?;
    let moves: Vec<TableMove> = (renamed.iter())
        .map(|t| {
            // A key-mapped legacy table is referenced through the column holding its key.
            let (legacy, new) = (legacy_end(&maps, t, legacy_name(t)), End::plain(t.name));
            let (from, to) = match target {
                Target::New => (legacy, new),
                Target::Legacy => (new, legacy),
            };
            TableMove {
                parent: t.name,
                from: from.table,
                to: to.table,
                from_key: from.key_column,
                to_key: to.key_column,
            }
        })
        .collect();
    let mut all = Repointing::default();
    // A derived table Paddock skips holds another system's table under its name (adopt).
    let skipped = crate::derive::skipped_in(store).await?;
    for table in referencing_tables() {
        if skipped.contains_key(table.name) {
            continue;
        }
        let one = store.repoint_foreign_keys(table, &moves).await?;
        all.statements.extend(one.statements);
        all.after_commit.extend(one.after_commit);
        all.foreign_keys_off |= one.foreign_keys_off;
    }
    Ok(all)
}

/// Runs the transition `change` re-pointing the foreign keys, then what follows its commit.
async fn run_repointing<D: ToolDialect>(
    store: &SqlStore<D>,
    change: Change,
    repointing: Repointing,
) -> Result<()> {
    let keys = ForeignKeys::for_repointing(&repointing);
    let statements: Vec<Statement<D>> = (repointing.statements.into_iter())
        .map(Into::into)
        .collect();
    run_transition(store, change, &statements, keys).await?;
    let after: Vec<Statement<D>> = (repointing.after_commit.into_iter())
        .map(Into::into)
        .collect();
    store.run_statements(&after, ForeignKeys::Enforced).await
}

/// Steps back one phase (from dual-write up to and including deprecate); returns the phase
/// the database is in afterwards.
pub async fn rollback<D: ToolDialect>(store: &SqlStore<D>, now: DateTime<Utc>) -> Result<Phase> {
    let phase = current_phase(store).await?;
    let to = match phase {
        Phase::DualWrite => Phase::Legacy,
        Phase::Backfill => Phase::DualWrite,
        Phase::SwitchReaders => Phase::Backfill,
        Phase::Deprecate => Phase::SwitchReaders,
        Phase::Legacy | Phase::Dropped => {
            bail!("phase {phase}: nothing to roll back (rollback reaches back from dual-write up to deprecate)")
        }
    };
    let change = Change {
        from: phase,
        to,
        at: now,
    };
    let statements: Vec<Statement<D>> = match phase {
        Phase::DualWrite => (renamed_tables().iter().rev())
            .map(|t| format!("DROP TABLE {}", t.name).into())
            .collect(),
        Phase::Backfill => (renamed_tables().iter())
            .map(|t| clear_cursor(t.name))
            .collect(),
        Phase::SwitchReaders => {
            let repointing = repoint_foreign_keys(store, Target::Legacy).await?;
            run_repointing(store, change, repointing).await?;
            return Ok(to);
        }
        _ => {
            let mut statements: Vec<Statement<D>> = drop_views().collect();
            for table in renamed_tables() {
                let (archived, legacy) = (archived_name(table), legacy_name(table));
                statements.push(format!("ALTER TABLE {archived} RENAME TO {legacy}").into());
            }
            // Legacy missed the writes made while deprecated: bring it level with new, the
            // carried legacy-only columns (an adopted table's mapped ones) included; a
            // key-mapped table's new rows numbered by its surrogate's default, read back into
            // `legacy_id`.
            let maps = stored_maps(store).await?;
            for table in renamed_tables() {
                let carried = carried_columns_of(store, table, &archived_name(table)).await?;
                let carried: Vec<&str> = carried.iter().map(String::as_str).collect();
                let (new, legacy) = (
                    End::plain(table.name),
                    legacy_end(&maps, table, legacy_name(table)),
                );
                statements.push(copy_sql(table, new, legacy, "true", &carried).into());
                statements.extend(surrogate_back_sql(table, new, legacy, "true").map(Into::into));
            }
            statements
        }
    };
    run_transition(store, change, &statements, ForeignKeys::Enforced).await?;
    Ok(to)
}

/// deprecate → dropped: drops the compatibility views and the `ra_old_*` tables, refused
/// within `grace` of the deprecation unless `force`. Returns what it dropped.
pub async fn drop_archived<D: ToolDialect>(
    store: &SqlStore<D>,
    grace: Duration,
    force: bool,
    now: DateTime<Utc>,
) -> Result<Vec<String>> {
    let phase = current_phase(store).await?;
    expect_phase(phase, &[Phase::Deprecate], "drop-archived")?;
    let deprecated_at = history(store)
        .await?
        .into_iter()
        .filter(|t| t.to == Phase::Deprecate && t.outcome == TransitionOutcome::Succeeded)
        .map(|t| t.at)
        .max()
        .unwrap_or(now);
    let change = Change {
        from: phase,
        to: Phase::Dropped,
        at: now,
    };
    let ends = deprecated_at + grace;
    if now < ends && !force {
        let reason = format!(
            "the grace period after deprecation ({deprecated_at}) lasts until {ends}; \
             use --force to drop earlier"
        );
        record_refusal(store, change, &reason).await?;
        bail!("drop-archived refused: {reason}");
    }
    let mut statements: Vec<Statement<D>> = drop_views().collect();
    let mut dropped = Vec::new();
    for table in renamed_tables().iter().rev() {
        statements.push(format!("DROP TABLE {}", archived_name(table)).into());
        dropped.push(archived_name(table));
    }
    run_transition(store, change, &statements, ForeignKeys::Enforced).await?;
    Ok(dropped)
}
