//! Schema drift and wrong targets: the live catalog against the registry (tables, columns,
//! types, nullability, primary keys, foreign keys, the indexes serving them) and the applied
//! migrations against the embedded migrator. Each registry table is checked under the
//! physical names the database's rename phase keeps (`layout.rs`); on a database `paddock
//! adopt` took over, what the adoption accepted is listed without counting as a violation:
//! legacy-only and mapped columns, bridged types, columns added nullable, a key held by a
//! unique index beside a surrogate primary key, and other systems' tables (`foreign_table`).

use crate::adopt::types::bridge;
use crate::audit::db::{count, text, AuditDb};
use crate::audit::layout::Layout;
use crate::audit::report::{DriftFinding, WrongTarget};
use crate::store::catalog::{Catalog, LiveTable};
use fetchers::registry::{Column, ColumnType, Table, TABLES};
use fetchers::schema::Dialect;

/// The live type a registry column must have: PostgreSQL `format_type`, SQLite declared type.
pub fn expected_type(dialect: Dialect, column: &Column) -> String {
    match dialect {
        Dialect::Postgres => match column.ty {
            ColumnType::Text => "text",
            ColumnType::Integer | ColumnType::Serial => "bigint",
            ColumnType::Decimal | ColumnType::Money => "numeric",
            ColumnType::Boolean => "boolean",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp with time zone",
            ColumnType::Json => "jsonb",
            ColumnType::Bytes => "bytea",
        }
        .to_string(),
        Dialect::Sqlite => Dialect::Sqlite.column_type(column.ty).to_string(),
    }
}

fn finding(
    kind: &str,
    table: Option<&str>,
    column: Option<&str>,
    expected: Option<String>,
    actual: Option<String>,
) -> DriftFinding {
    DriftFinding {
        kind: kind.to_string(),
        table: table.map(str::to_string),
        column: column.map(str::to_string),
        expected,
        actual,
        violation: true,
    }
}

/// The legacy name of a registry table, if `name` is one.
fn legacy_of(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.legacy_name == Some(name))
}

/// A finding the adoption accepted: listed, not a violation.
fn accepted(mut f: DriftFinding) -> DriftFinding {
    f.violation = false;
    f
}

/// Live tables, columns, keys, foreign keys and indexes against the registry, each registry
/// table under the physical names of `layout`'s phase.
pub fn schema_drift(dialect: Dialect, catalog: &Catalog, layout: &Layout) -> Vec<DriftFinding> {
    let mut out = Vec::new();
    let mut expected = std::collections::BTreeSet::new();
    for table in TABLES {
        if layout.skipped.contains(table.name) {
            continue;
        }
        for name in layout.physical.written(table) {
            expected.insert(name.to_string());
            match catalog.tables.get(name) {
                None => out.push(finding("missing_table", Some(name), None, None, None)),
                Some(live) => table_drift(dialect, (table, name), live, layout, &mut out),
            }
        }
    }
    for name in catalog.tables.keys().filter(|n| !expected.contains(*n)) {
        let registry_name = fetchers::registry::table(name).map(|t| t.name);
        match legacy_of(name).map(|t| t.name).or(registry_name) {
            Some(current) if !layout.skipped.contains(name) => out.push(accepted(finding(
                "legacy_table",
                Some(name),
                None,
                Some(current.to_string()),
                None,
            ))),
            _ if layout.adopted => out.push(accepted(finding(
                "foreign_table",
                Some(name),
                None,
                None,
                Some("another system's table, left alone by the adoption".into()),
            ))),
            _ if crate::derive::is_staged(name) => out.push(accepted(finding(
                "rebuild_staging",
                Some(name),
                None,
                None,
                Some("a derived full rebuild's staged table, dropped by it or the next".into()),
            ))),
            _ => out.push(finding("extra_table", Some(name), None, None, None)),
        }
    }
    out
}

/// Whether live foreign-key target `actual` is one of the names `layout` keeps `expected` under.
fn target_ok(layout: &Layout, expected: &str, actual: &str) -> bool {
    fetchers::registry::table(expected).map_or(expected == actual, |t| {
        actual == t.name || layout.physical.written(t).contains(&actual)
    })
}

/// The columns of `table` live under `name`: missing, mistyped, of another nullability, extra
/// (on an adopted database: bridged, added nullable, legacy-only or mapped, not violations).
fn column_drift(
    dialect: Dialect,
    (table, name): (&Table, &str),
    live: &LiveTable,
    layout: &Layout,
    out: &mut Vec<DriftFinding>,
) {
    let t = Some(name);
    let adopted = layout.adopted;
    let declared = table.all_columns();
    // A key-mapped table ([adopt.keys]) holds its registry key in a legacy column.
    let held = |c: &'static str| layout.physical.column(table, name, c);
    for column in &declared {
        let Some(actual) = live.column(held(column.name)) else {
            out.push(finding("missing_column", t, Some(column.name), None, None));
            continue;
        };
        let want = expected_type(dialect, column);
        if !actual.ty.eq_ignore_ascii_case(&want) {
            let bridged = adopted && !bridge(dialect, column.ty, &actual.ty).is_blocking();
            let f = finding(
                if bridged {
                    "type_bridged"
                } else {
                    "type_mismatch"
                },
                t,
                Some(column.name),
                Some(want),
                Some(actual.ty.clone()),
            );
            out.push(if bridged { accepted(f) } else { f });
        }
        if actual.not_null == column.nullable {
            let says = |not_null: bool| if not_null { "NOT NULL" } else { "NULL" };
            // The adoption adds registry columns nullable (legacy rows lack them).
            let added = adopted && !actual.not_null;
            let f = finding(
                if added {
                    "nullable_in_adopted_table"
                } else {
                    "nullability_mismatch"
                },
                t,
                Some(column.name),
                Some(says(!column.nullable).into()),
                Some(says(actual.not_null).into()),
            );
            out.push(if added { accepted(f) } else { f });
        }
    }
    let mirrors = layout.physical.mirrors(table);
    for column in &live.columns {
        if declared.iter().any(|c| held(c.name) == column.name) {
            continue;
        }
        let mirrored = mirrors.iter().find(|(legacy, _)| *legacy == column.name);
        let (kind, expected) = match mirrored {
            Some((_, registry)) if adopted => {
                ("mapped_column", Some(format!("mirrors {registry}")))
            }
            _ if adopted => ("legacy_only_column", None),
            _ => ("extra_column", None),
        };
        let f = finding(
            kind,
            t,
            Some(&column.name),
            expected,
            Some(column.ty.clone()),
        );
        out.push(if adopted { accepted(f) } else { f });
    }
}

fn table_drift(
    dialect: Dialect,
    (table, name): (&Table, &str),
    live: &LiveTable,
    layout: &Layout,
    out: &mut Vec<DriftFinding>,
) {
    let t = Some(name);
    let adopted = layout.adopted;
    column_drift(dialect, (table, name), live, layout, out);
    let key: Vec<&str> = (table.key.iter())
        .map(|k| layout.physical.column(table, name, k))
        .collect();
    if live.primary_key != key {
        let same = |cols: &[String]| {
            cols.len() == key.len() && key.iter().all(|k| cols.iter().any(|c| c == k))
        };
        let by_index = adopted && live.indexes.iter().any(|i| i.unique && same(&i.columns));
        let f = finding(
            if by_index {
                "key_by_unique_index"
            } else {
                "primary_key_mismatch"
            },
            t,
            None,
            Some(key.join(", ")),
            Some(live.primary_key.join(", ")),
        );
        out.push(if by_index { accepted(f) } else { f });
    }
    for fk in table.foreign_keys {
        let same_columns = live.foreign_keys.iter().find(|l| {
            l.columns
                .iter()
                .map(String::as_str)
                .eq(fk.columns.iter().copied())
        });
        let describe = format!(
            "({}) -> {} ({})",
            fk.columns.join(", "),
            fk.ref_table,
            fk.ref_columns.join(", ")
        );
        match same_columns {
            // A key with the same columns but another target is a wrong target (own section).
            Some(l) if target_ok(layout, fk.ref_table, &l.ref_table) && !l.validated => {
                out.push(finding(
                    "foreign_key_not_valid",
                    t,
                    Some(&fk.columns.join(", ")),
                    Some(describe.clone()),
                    Some(format!("{} NOT VALID", l.name)),
                ))
            }
            Some(_) => {}
            None => out.push(finding(
                "missing_foreign_key",
                t,
                Some(&fk.columns.join(", ")),
                Some(describe.clone()),
                None,
            )),
        }
        let needs_index = fetchers::schema::indexed_foreign_keys(table).any(|f| f == fk);
        if needs_index && !live.has_index_on(fk.columns) {
            out.push(finding(
                "missing_index",
                t,
                Some(&fk.columns.join(", ")),
                Some(format!("index on ({})", fk.columns.join(", "))),
                None,
            ));
        }
    }
    for l in &live.foreign_keys {
        let declared = table.foreign_keys.iter().any(|fk| {
            l.columns
                .iter()
                .map(String::as_str)
                .eq(fk.columns.iter().copied())
        });
        if !declared {
            out.push(finding(
                "extra_foreign_key",
                t,
                Some(&l.columns.join(", ")),
                None,
                Some(format!("{} -> {}", l.name, l.ref_table)),
            ));
        }
    }
}

/// Live foreign keys whose columns match a registry relation but whose target is none of the
/// names `layout`'s phase keeps the referenced table under.
pub fn wrong_targets(catalog: &Catalog, layout: &Layout) -> Vec<WrongTarget> {
    let mut out = Vec::new();
    let checked = TABLES.iter().filter(|t| !layout.skipped.contains(t.name));
    for (table, name) in
        checked.flat_map(|t| layout.physical.written(t).into_iter().map(move |n| (t, n)))
    {
        let Some(live) = catalog.tables.get(name) else {
            continue;
        };
        for fk in table.foreign_keys {
            for l in &live.foreign_keys {
                let same_columns = l
                    .columns
                    .iter()
                    .map(String::as_str)
                    .eq(fk.columns.iter().copied());
                if same_columns && !target_ok(layout, fk.ref_table, &l.ref_table) {
                    out.push(WrongTarget {
                        table: name.to_string(),
                        columns: l.columns.clone(),
                        constraint: l.name.clone(),
                        expected: fk.ref_table.to_string(),
                        actual: l.ref_table.clone(),
                    });
                }
            }
        }
    }
    out
}

/// Applied migrations (`_sqlx_migrations`) against the migrator embedded in this binary.
pub async fn migration_drift(db: &AuditDb, has_table: bool) -> anyhow::Result<Vec<DriftFinding>> {
    let migrator = db.migrator();
    let applied = if has_table {
        let checksum = db.hex_text("checksum");
        db.rows(&format!(
            "SELECT CAST(version AS TEXT), CAST(success AS TEXT), {checksum} FROM {} \
             ORDER BY version",
            db.table("_sqlx_migrations")
        ))
        .await?
    } else {
        Vec::new()
    };
    let mut out = Vec::new();
    let embedded: Vec<_> = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .collect();
    for m in &embedded {
        let name = format!("{} {}", m.version, m.description);
        let row = applied.iter().find(|r| count(&r[0]) as i64 == m.version);
        match row {
            None => out.push(finding("unapplied_migration", None, None, Some(name), None)),
            Some(r) => {
                let succeeded = matches!(text(&r[1]).as_str(), "1" | "true" | "t");
                let want: String = m.checksum.iter().map(|b| format!("{b:02X}")).collect();
                if !succeeded {
                    out.push(finding("failed_migration", None, None, Some(name), None));
                } else if !text(&r[2]).eq_ignore_ascii_case(&want) {
                    out.push(finding(
                        "changed_migration",
                        None,
                        None,
                        Some(name),
                        Some("applied with another checksum".into()),
                    ));
                }
            }
        }
    }
    for r in &applied {
        let version = count(&r[0]) as i64;
        if !embedded.iter().any(|m| m.version == version) {
            out.push(finding(
                "unknown_migration",
                None,
                None,
                None,
                Some(version.to_string()),
            ));
        }
    }
    Ok(out)
}
