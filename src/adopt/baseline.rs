//! What makes an adopted database one `paddock migrate` knows: Paddock's own bookkeeping tables
//! (`paddock_*`) taken from the embedded migrations themselves (their `CREATE TABLE` and
//! `CREATE INDEX` statements — the last of each name, where a later migration made a table
//! again — and the `ALTER TABLE … ADD COLUMN` / `ALTER COLUMN` that change them, nothing else
//! of them: the tables start empty), and sqlx's ledger `_sqlx_migrations`
//! holding every embedded migration as applied, checksums included, so `migrate` finds nothing
//! to run.

use crate::store::dialect::{Dialect, ToolDialect};
use crate::store::tools::Statement;

/// The statements of a migration script: split on `;` outside `$$` bodies, `--` comments out.
fn split(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_body = false;
    for line in script.lines() {
        let line = match line.find("--") {
            Some(at) if !in_body => &line[..at],
            _ => line,
        };
        for (i, piece) in line.split("$$").enumerate() {
            if i > 0 {
                in_body = !in_body;
                current.push_str("$$");
            }
            if in_body {
                current.push_str(piece);
                continue;
            }
            let mut parts = piece.split(';');
            current.push_str(parts.next().unwrap_or_default());
            for part in parts {
                out.push(std::mem::take(&mut current));
                current.push_str(part);
            }
        }
        current.push('\n');
    }
    out.push(current);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The `paddock_*` table a `CREATE TABLE`, `CREATE INDEX … ON` or column-changing `ALTER
/// TABLE` statement creates, indexes or changes, and the name the statement creates (the
/// table's or the index's; `None` for an `ALTER`).
fn own_table(statement: &str) -> Option<(String, Option<String>)> {
    let words: Vec<&str> = statement.split_whitespace().collect();
    let (table, created) = match words.as_slice() {
        ["CREATE", "TABLE", name, ..] => (*name, Some(*name)),
        ["CREATE", "INDEX", index, "ON", name, ..] => (*name, Some(*index)),
        ["CREATE", "UNIQUE", "INDEX", index, "ON", name, ..] => (*name, Some(*index)),
        ["ALTER", "TABLE", name, "ADD" | "ALTER", ..] => (*name, None),
        _ => return None,
    };
    let table = table.trim_end_matches('(');
    let created = created.map(|c| c.trim_end_matches('(').to_string());
    table
        .starts_with("paddock_")
        .then(|| (table.to_string(), created))
}

/// Paddock's own tables, their indexes and column changes from `D`'s migrations: (table,
/// statement), in order; of a table or index created more than once, the last creation only
/// (with the changes after it).
pub fn own_table_statements<D: Dialect>() -> Vec<(String, String)> {
    let all: Vec<(String, Option<String>, String)> = (D::migrator().iter())
        .flat_map(|m| split(&m.sql))
        .filter_map(|s| own_table(&s).map(|(t, created)| (t, created, s)))
        .collect();
    let last_creation = |name: &str| {
        all.iter()
            .rposition(|(_, c, s)| c.as_deref() == Some(name) && s.starts_with("CREATE TABLE"))
    };
    (all.iter().enumerate())
        .filter(|(i, (table, created, _))| {
            let later_create =
                |n: &str| all[i + 1..].iter().any(|(_, c, _)| c.as_deref() == Some(n));
            match created {
                Some(name) => !later_create(name),
                // A change to a table made again later is in the later creation.
                None => last_creation(table).is_none_or(|at| at < *i),
            }
        })
        .map(|(_, (table, _, s))| (table.clone(), s.clone()))
        .collect()
}

/// The names of Paddock's own tables ([`own_table_statements`]).
pub fn own_table_names<D: Dialect>() -> Vec<String> {
    let mut names: Vec<String> = (own_table_statements::<D>().into_iter())
        .filter(|(_, s)| s.starts_with("CREATE TABLE"))
        .map(|(t, _)| t)
        .collect();
    names.dedup();
    names
}

/// sqlx's ledger as sqlx creates it, and every embedded migration recorded as applied.
pub fn migrations_ledger<D: ToolDialect>() -> Vec<Statement<D>> {
    let mut out: Vec<Statement<D>> = vec![D::migrations_ledger_sql().into()];
    for m in D::migrator().iter() {
        let hex: String = m.checksum.iter().map(|b| format!("{b:02x}")).collect();
        // The version, description and checksum are the binary's own constants.
        out.push(
            format!(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
                 execution_time) VALUES ({}, '{}', TRUE, {}, -1)",
                m.version,
                m.description.replace('\'', "''"),
                D::bytes_literal(&hex)
            )
            .into(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{PgDialect, SqliteDialect};

    #[test]
    fn a_dollar_quoted_body_stays_one_statement_and_comments_go() {
        let script = "-- a; comment\nCREATE TABLE a (x int);\nDO $$ BEGIN x; y; END $$;\nSELECT 1";
        assert_eq!(
            split(script),
            [
                "CREATE TABLE a (x int)",
                "DO $$ BEGIN x; y; END $$",
                "SELECT 1"
            ]
        );
    }

    #[test]
    fn paddock_own_tables_come_from_the_migrations_on_both_engines() {
        for names in [
            own_table_names::<PgDialect>(),
            own_table_names::<SqliteDialect>(),
        ] {
            for table in [
                "paddock_runs",
                "paddock_state",
                "paddock_rejects",
                "paddock_raw_responses",
                "paddock_rename_history",
            ] {
                assert!(names.iter().any(|n| n == table), "{table} in {names:?}");
            }
            assert!(names.iter().all(|n| n.starts_with("paddock_")));
        }
        let indexes = own_table_statements::<PgDialect>();
        assert!(indexes
            .iter()
            .any(|(t, s)| t == "paddock_rejects" && s.starts_with("CREATE INDEX")));
    }

    #[test]
    fn a_table_made_again_by_a_later_migration_is_created_once_in_its_last_shape_with_its_changes()
    {
        for statements in [
            own_table_statements::<PgDialect>(),
            own_table_statements::<SqliteDialect>(),
        ] {
            let archive: Vec<&String> = (statements.iter())
                .filter(|(t, _)| t == "paddock_raw_responses")
                .map(|(_, s)| s)
                .collect();
            let creations = archive.iter().filter(|s| s.starts_with("CREATE TABLE"));
            assert_eq!(creations.count(), 1, "{archive:#?}");
            let indexes = archive.iter().filter(|s| s.starts_with("CREATE INDEX"));
            assert_eq!(indexes.count(), 1, "{archive:#?}");
            // Migration 0014: bytes (SQLite: made again; PostgreSQL: the column changed).
            assert!(archive
                .iter()
                .any(|s| s.contains("BLOB") || s.contains("BYTEA")));
            assert!(statements
                .iter()
                .any(|(t, s)| t == "paddock_run_tables" && s.contains("ADD COLUMN deleted")));
        }
    }
}
