//! The rename commands: `migrate --legacy-names`, `tables begin|backfill|advance|rollback|
//! drop-archived`. Each transition runs in one transaction together with its phase change and
//! its ledger entry, serialized with the units of work (`state::run_transition`); a refusal is
//! recorded with its reason.

use crate::store::AnyStore;
use crate::rename::phase::{archived_name, legacy_name, referencing_tables, renamed_tables, Phase};
use crate::rename::sql::{fetch_texts, literal, run_in_transaction, table_columns, table_exists};
use crate::rename::state::{
    backfill_cursor, current_phase, cursor_key, delete_state_sql, history, phase_sql,
    record_refusal, run_transition, set_state_sql, Change,
};
use crate::rename::verify::verify;
use anyhow::{bail, Result};
use chrono::{DateTime, Duration, Utc};
use fetchers::registry::Table;
use fetchers::schema::{self, create_indexes, create_table};

/// Default grace period between deprecate and `drop-archived`.
pub const DEFAULT_GRACE_DAYS: i64 = 30;

fn dialect(store: &AnyStore) -> schema::Dialect {
    match store {
        AnyStore::Postgres(_) => schema::Dialect::Postgres,
        AnyStore::Sqlite(_) => schema::Dialect::Sqlite,
    }
}

fn split(script: &str) -> Vec<String> {
    script
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn column_list(table: &Table) -> Vec<&'static str> {
    table.all_columns().iter().map(|c| c.name).collect()
}

/// `INSERT INTO to … SELECT … FROM from [WHERE …] ON CONFLICT (key) DO UPDATE` of every
/// registry column: `to` ends up equal to `from` for the selected keys.
fn copy_sql(table: &Table, from: &str, to: &str, filter: &str) -> String {
    let columns = column_list(table);
    let key = table.key.join(", ");
    let updates = columns
        .iter()
        .filter(|c| !table.key.contains(c))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let list = columns.join(", ");
    // `WHERE true` keeps SQLite's parser from reading ON CONFLICT as a join constraint.
    format!(
        "INSERT INTO {to} ({list}) SELECT {list} FROM {from} WHERE true {filter} \
         ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )
}

/// Creates the schema with the legacy names: the migrations, then every renamed table moved
/// to its legacy name (indexes too). Phase: legacy.
pub async fn migrate_legacy_names(store: &AnyStore, now: DateTime<Utc>) -> Result<()> {
    store.migrate().await?;
    let first = renamed_tables()[0];
    if table_exists(store, legacy_name(first)).await? && !table_exists(store, first.name).await? {
        return Ok(()); // already legacy
    }
    if current_phase(store).await? != Phase::Dropped || !history(store).await?.is_empty() {
        bail!("this database is already being renamed; --legacy-names only creates a new one");
    }
    let mut statements = Vec::new();
    for table in renamed_tables() {
        let legacy = legacy_name(table);
        for index in split(&create_indexes(table, table.name)) {
            let name = index.split_whitespace().nth(2).unwrap_or_default();
            statements.push(format!("DROP INDEX IF EXISTS {name}"));
        }
        statements.push(format!("ALTER TABLE {} RENAME TO {legacy}", table.name));
        statements.extend(split(&create_indexes(table, legacy)));
    }
    statements.push(phase_sql(Phase::Legacy, now));
    run_in_transaction(store, &statements, false).await
}

/// Legacy columns the registry lacks (kept, shown by `status`), per renamed table.
pub async fn extra_legacy_columns(store: &AnyStore) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for table in renamed_tables() {
        for name in [legacy_name(table).to_string(), archived_name(table)] {
            if !table_exists(store, &name).await? {
                continue;
            }
            for column in table_columns(store, &name).await? {
                if table.column(&column).is_none() && !column_list(table).contains(&column.as_str())
                {
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

/// legacy → dual-write: creates `ra_mst_*` with the registry's columns and keys; adds registry
/// columns the legacy tables lack (nullable).
pub async fn begin(store: &AnyStore, now: DateTime<Utc>) -> Result<()> {
    let phase = current_phase(store).await?;
    expect_phase(phase, &[Phase::Legacy], "begin")?;
    let dialect = dialect(store);
    let mut statements = Vec::new();
    for table in renamed_tables() {
        let legacy = legacy_name(table);
        let present = table_columns(store, legacy).await?;
        for column in table.all_columns() {
            if !present.iter().any(|p| p == column.name) {
                statements.push(format!(
                    "ALTER TABLE {legacy} ADD COLUMN {} {}",
                    column.name,
                    dialect.column_type(column.ty)
                ));
            }
        }
        statements.extend(split(&create_table(dialect, table, table.name)));
        statements.extend(split(&create_indexes(table, table.name)));
    }
    let change = Change {
        from: phase,
        to: Phase::DualWrite,
        at: now,
    };
    run_transition(store, change, &statements, false).await
}

/// Copies history legacy → new in key-ordered batches of `batch` rows, each its own short
/// transaction with its cursor; resumes from the cursors; a finished pass clears them, so a
/// second run is an idempotent full pass. Returns rows copied per table.
pub async fn backfill(
    store: &AnyStore,
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
        run_transition(store, change, &[], false).await?;
    }
    let mut copied = Vec::new();
    for table in renamed_tables() {
        let (legacy, key) = (legacy_name(table), table.key[0]);
        let mut cursor = backfill_cursor(store, table.name).await?;
        let mut rows = 0u64;
        loop {
            let after = cursor
                .as_deref()
                .map(|c| format!("WHERE {key} > {}", literal(c)))
                .unwrap_or_default();
            let upper = fetch_texts(
                store,
                &format!(
                    "SELECT CAST(MAX({key}) AS TEXT), CAST(COUNT(*) AS TEXT) FROM \
                     (SELECT {key} FROM {legacy} {after} ORDER BY {key} LIMIT {batch}) b"
                ),
            )
            .await?;
            let Some(upper_key) = upper[0][0].clone() else {
                break;
            };
            let batch_rows: u64 = upper[0][1].as_deref().unwrap_or("0").parse()?;
            let lower = cursor
                .as_deref()
                .map(|c| format!("AND {key} > {}", literal(c)))
                .unwrap_or_default();
            let filter = format!("{lower} AND {key} <= {}", literal(&upper_key));
            let statements = [
                copy_sql(table, legacy, table.name, &filter),
                set_state_sql(&cursor_key(table.name), &upper_key, now),
            ];
            run_in_transaction(store, &statements, false).await?;
            rows += batch_rows;
            cursor = Some(upper_key);
        }
        copied.push((table.name, rows));
    }
    let clear: Vec<_> = renamed_tables()
        .iter()
        .map(|t| delete_state_sql(&cursor_key(t.name)))
        .collect();
    run_in_transaction(store, &clear, false).await?;
    Ok(copied)
}

/// The phase after `phase` through `advance`, with the work that moves there.
pub async fn advance(
    store: &AnyStore,
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
    match to {
        Phase::SwitchReaders => {
            let report = verify(store).await?;
            if !report.is_clean() {
                let reason = format!("verify found: {}", report.differences.join("; "));
                record_refusal(store, phase, to, &format!("refused: {reason}"), now).await?;
                bail!("advance refused: {reason}");
            }
            let mut statements = Vec::new();
            let validate = repoint_foreign_keys(store, Target::New, &mut statements).await?;
            run_transition(store, change, &statements, is_sqlite(store)).await?;
            run_in_transaction(store, &validate, false).await?;
        }
        _ => {
            let mut statements = Vec::new();
            for table in renamed_tables() {
                let legacy = legacy_name(table);
                statements.push(format!(
                    "ALTER TABLE {legacy} RENAME TO {}",
                    archived_name(table)
                ));
                if compatibility_views {
                    statements.push(view_sql(store, legacy, table.name));
                }
            }
            run_transition(store, change, &statements, false).await?;
        }
    }
    Ok(to)
}

fn is_sqlite(store: &AnyStore) -> bool {
    matches!(store, AnyStore::Sqlite(_))
}

/// A read-only view with the legacy name (PostgreSQL: with the caller's privileges).
fn view_sql(store: &AnyStore, legacy: &str, new: &str) -> String {
    match store {
        AnyStore::Postgres(_) => {
            format!("CREATE VIEW {legacy} WITH (security_invoker = true) AS SELECT * FROM {new}")
        }
        AnyStore::Sqlite(_) => format!("CREATE VIEW {legacy} AS SELECT * FROM {new}"),
    }
}

fn drop_views_sql() -> Vec<String> {
    renamed_tables()
        .iter()
        .map(|t| format!("DROP VIEW IF EXISTS {}", legacy_name(t)))
        .collect()
}

/// Which layout foreign keys of runners, pedigree and runner odds point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Legacy,
    New,
}

/// Appends the statements re-pointing every foreign key to a renamed table at `target`;
/// returns the statements to run after the commit (PostgreSQL `VALIDATE CONSTRAINT`).
/// PostgreSQL: each key dropped and added `NOT VALID` (a short lock), validated afterwards.
/// SQLite: the documented table-rebuild (new table, copy, drop, rename, indexes) with foreign
/// keys off and `foreign_key_check` before the commit, all in one transaction.
async fn repoint_foreign_keys(
    store: &AnyStore,
    target: Target,
    statements: &mut Vec<String>,
) -> Result<Vec<String>> {
    let names = |t: &Table| match target {
        Target::New => (legacy_name(t), t.name),
        Target::Legacy => (t.name, legacy_name(t)),
    };
    let mut after = Vec::new();
    for table in referencing_tables() {
        match store {
            AnyStore::Postgres(_) => {
                for fk in table.foreign_keys {
                    let Some(parent) =
                        fetchers::registry::table(fk.ref_table).filter(|p| p.legacy_name.is_some())
                    else {
                        continue;
                    };
                    let (from, to) = names(parent);
                    let found = fetch_texts(
                        store,
                        &format!(
                            "SELECT conname::text FROM pg_constraint WHERE contype = 'f' \
                             AND conrelid = {}::regclass AND confrelid = {}::regclass",
                            literal(table.name),
                            literal(from)
                        ),
                    )
                    .await?;
                    for row in found {
                        let name = row[0].clone().unwrap_or_default();
                        statements.push(format!(
                            "ALTER TABLE {} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} \
                             FOREIGN KEY ({}) REFERENCES {to} ({}) NOT VALID",
                            table.name,
                            fk.columns.join(", "),
                            fk.ref_columns.join(", ")
                        ));
                        after.push(format!(
                            "ALTER TABLE {} VALIDATE CONSTRAINT {name}",
                            table.name
                        ));
                    }
                }
            }
            AnyStore::Sqlite(_) => {
                let ddl = fetch_texts(
                    store,
                    &format!(
                        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = {}",
                        literal(table.name)
                    ),
                )
                .await?;
                let Some(mut ddl) = ddl.first().and_then(|r| r[0].clone()) else {
                    bail!("table {} not found", table.name);
                };
                let rebuilt = format!("{}__rebuild", table.name);
                ddl = ddl.replacen(table.name, &rebuilt, 1);
                for parent in renamed_tables() {
                    let (from, to) = names(parent);
                    ddl = ddl.replace(&format!("\"{from}\""), from);
                    ddl = ddl.replace(
                        &format!("REFERENCES {from} ("),
                        &format!("REFERENCES {to} ("),
                    );
                    ddl = ddl.replace(&format!("REFERENCES {from}("), &format!("REFERENCES {to}("));
                }
                let indexes = fetch_texts(
                    store,
                    &format!(
                        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = {} \
                         AND sql IS NOT NULL",
                        literal(table.name)
                    ),
                )
                .await?;
                statements.push(ddl);
                statements.push(format!(
                    "INSERT INTO {rebuilt} SELECT * FROM {}",
                    table.name
                ));
                statements.push(format!("DROP TABLE {}", table.name));
                statements.push(format!("ALTER TABLE {rebuilt} RENAME TO {}", table.name));
                statements.extend(indexes.into_iter().filter_map(|mut r| r.remove(0)));
            }
        }
    }
    Ok(after)
}

/// Steps back one phase (from dual-write up to and including deprecate); returns the phase
/// the database is in afterwards.
pub async fn rollback(store: &AnyStore, now: DateTime<Utc>) -> Result<Phase> {
    let phase = current_phase(store).await?;
    let mut statements = Vec::new();
    let mut after = Vec::new();
    let mut foreign_keys_off = false;
    let to = match phase {
        Phase::DualWrite => {
            for table in renamed_tables().iter().rev() {
                statements.push(format!("DROP TABLE {}", table.name));
            }
            Phase::Legacy
        }
        Phase::Backfill => {
            for table in renamed_tables() {
                statements.push(delete_state_sql(&cursor_key(table.name)));
            }
            Phase::DualWrite
        }
        Phase::SwitchReaders => {
            after = repoint_foreign_keys(store, Target::Legacy, &mut statements).await?;
            foreign_keys_off = is_sqlite(store);
            Phase::Backfill
        }
        Phase::Deprecate => {
            statements.extend(drop_views_sql());
            for table in renamed_tables() {
                statements.push(format!(
                    "ALTER TABLE {} RENAME TO {}",
                    archived_name(table),
                    legacy_name(table)
                ));
            }
            // Legacy missed the writes made while deprecated: bring it level with new.
            for table in renamed_tables() {
                statements.push(copy_sql(table, table.name, legacy_name(table), ""));
            }
            Phase::SwitchReaders
        }
        Phase::Legacy | Phase::Dropped => {
            bail!("phase {phase}: nothing to roll back (rollback reaches back from dual-write up to deprecate)")
        }
    };
    let change = Change {
        from: phase,
        to,
        at: now,
    };
    run_transition(store, change, &statements, foreign_keys_off).await?;
    run_in_transaction(store, &after, false).await?;
    Ok(to)
}

/// deprecate → dropped: drops the compatibility views and the `ra_old_*` tables, refused
/// within `grace` of the deprecation unless `force`. Returns what it dropped.
pub async fn drop_archived(
    store: &AnyStore,
    grace: Duration,
    force: bool,
    now: DateTime<Utc>,
) -> Result<Vec<String>> {
    let phase = current_phase(store).await?;
    expect_phase(phase, &[Phase::Deprecate], "drop-archived")?;
    let deprecated_at = history(store)
        .await?
        .into_iter()
        .filter(|t| t.to == Phase::Deprecate && t.outcome == "ok")
        .map(|t| t.at)
        .max()
        .unwrap_or(now);
    let ends = deprecated_at + grace;
    if now < ends && !force {
        let reason = format!(
            "refused: the grace period after deprecation ({deprecated_at}) lasts until {ends}; \
             use --force to drop earlier"
        );
        record_refusal(store, phase, Phase::Dropped, &reason, now).await?;
        bail!("drop-archived {reason}");
    }
    let mut statements = drop_views_sql();
    let mut dropped = Vec::new();
    for table in renamed_tables().iter().rev() {
        statements.push(format!("DROP TABLE {}", archived_name(table)));
        dropped.push(archived_name(table));
    }
    let change = Change {
        from: phase,
        to: Phase::Dropped,
        at: now,
    };
    run_transition(store, change, &statements, false).await?;
    Ok(dropped)
}
