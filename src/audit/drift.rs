//! Schema drift and wrong targets: the live catalog against the registry (tables, columns,
//! types, nullability, primary keys, foreign keys, the indexes serving them) and the applied
//! migrations against the embedded migrator.

use crate::audit::db::{count, text, AuditDb};
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

/// Live tables, columns, keys, foreign keys and indexes against the registry.
pub fn schema_drift(dialect: Dialect, catalog: &Catalog) -> Vec<DriftFinding> {
    let mut out = Vec::new();
    for table in TABLES {
        match catalog.tables.get(table.name) {
            None => out.push(finding("missing_table", Some(table.name), None, None, None)),
            Some(live) => table_drift(dialect, table, live, &mut out),
        }
    }
    for name in catalog.tables.keys() {
        if fetchers::registry::table(name).is_some() {
            continue;
        }
        match legacy_of(name) {
            Some(current) => {
                let mut f = finding(
                    "legacy_table",
                    Some(name),
                    None,
                    Some(current.name.to_string()),
                    None,
                );
                f.violation = false;
                out.push(f);
            }
            None => out.push(finding("extra_table", Some(name), None, None, None)),
        }
    }
    out
}

fn table_drift(dialect: Dialect, table: &Table, live: &LiveTable, out: &mut Vec<DriftFinding>) {
    let t = Some(table.name);
    let declared = table.all_columns();
    for column in &declared {
        let Some(actual) = live.column(column.name) else {
            out.push(finding("missing_column", t, Some(column.name), None, None));
            continue;
        };
        let want = expected_type(dialect, column);
        if !actual.ty.eq_ignore_ascii_case(&want) {
            out.push(finding(
                "type_mismatch",
                t,
                Some(column.name),
                Some(want),
                Some(actual.ty.clone()),
            ));
        }
        if actual.not_null == column.nullable {
            let says = |not_null: bool| if not_null { "NOT NULL" } else { "NULL" };
            out.push(finding(
                "nullability_mismatch",
                t,
                Some(column.name),
                Some(says(!column.nullable).into()),
                Some(says(actual.not_null).into()),
            ));
        }
    }
    for column in &live.columns {
        if !declared.iter().any(|c| c.name == column.name) {
            out.push(finding(
                "extra_column",
                t,
                Some(&column.name),
                None,
                Some(column.ty.clone()),
            ));
        }
    }
    if live.primary_key != table.key {
        out.push(finding(
            "primary_key_mismatch",
            t,
            None,
            Some(table.key.join(", ")),
            Some(live.primary_key.join(", ")),
        ));
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
            Some(l) if l.ref_table == fk.ref_table && !l.validated => out.push(finding(
                "foreign_key_not_valid",
                t,
                Some(&fk.columns.join(", ")),
                Some(describe.clone()),
                Some(format!("{} NOT VALID", l.name)),
            )),
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

/// Live foreign keys whose columns match a registry relation but whose target differs.
pub fn wrong_targets(catalog: &Catalog) -> Vec<WrongTarget> {
    let mut out = Vec::new();
    for table in TABLES {
        let Some(live) = catalog.tables.get(table.name) else {
            continue;
        };
        for fk in table.foreign_keys {
            for l in &live.foreign_keys {
                let same_columns = l
                    .columns
                    .iter()
                    .map(String::as_str)
                    .eq(fk.columns.iter().copied());
                if same_columns && l.ref_table != fk.ref_table {
                    out.push(WrongTarget {
                        table: table.name.to_string(),
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
