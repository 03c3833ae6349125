//! Every migrated database matches the table registry: the same tables, and per table the
//! same columns (type family, nullability), primary key and foreign keys, on PostgreSQL and
//! SQLite. Also: migrating again is a no-op, and SQLite connections enforce foreign keys.

use crate::support;
use crate::support::jobs::default_config;
use crate::support::sim::{client_for, sim_today, simulator};
use fetchers::registry::{ColumnType, Table, TableKind, TABLES};
use fetchers::schema::Dialect;
use sqlx::{PgPool, Row as _, SqlitePool};
use std::collections::{BTreeMap, BTreeSet};

/// One column as a database reports it, reduced to what the registry states.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ColumnShape {
    /// The registry type family, or the declared type when it maps to none.
    ty: Result<ColumnType, String>,
    nullable: bool,
}

/// A foreign key as `(columns, referenced table, referenced columns)`.
type ForeignKeyShape = (Vec<String>, String, Vec<String>);

/// One table as a database reports it.
#[derive(Debug, Default, PartialEq, Eq)]
struct TableShape {
    columns: BTreeMap<String, ColumnShape>,
    primary_key: Vec<String>,
    foreign_keys: BTreeSet<ForeignKeyShape>,
}

/// What the registry says a table must look like on `dialect`.
fn expected_shape(table: &Table, dialect: Dialect) -> TableShape {
    let columns = table
        .all_columns()
        .iter()
        .map(|c| {
            let ty = match dialect {
                // `numeric` holds both decimal measures and money.
                Dialect::Postgres if c.ty == ColumnType::Money => Ok(ColumnType::Decimal),
                Dialect::Postgres => Ok(c.ty),
                // SQLite declares several families with one type name: compare declared
                // types, forward-mapped from the registry.
                Dialect::Sqlite => Err(Dialect::Sqlite.column_type(c.ty).to_string()),
            };
            (
                c.name.to_string(),
                ColumnShape {
                    ty,
                    nullable: c.nullable,
                },
            )
        })
        .collect();
    TableShape {
        columns,
        primary_key: table.key.iter().map(|k| k.to_string()).collect(),
        foreign_keys: table
            .foreign_keys
            .iter()
            .map(|f| {
                (
                    f.columns.iter().map(|c| c.to_string()).collect(),
                    f.ref_table.to_string(),
                    f.ref_columns.iter().map(|c| c.to_string()).collect(),
                )
            })
            .collect(),
    }
}

fn registry_tables() -> BTreeSet<String> {
    TABLES.iter().map(|t| t.name.to_string()).collect()
}

// ---- PostgreSQL ----

/// `information_schema.columns.data_type` back to the registry's type family.
fn postgres_type_family(data_type: &str, is_identity: bool) -> Result<ColumnType, String> {
    match (data_type, is_identity) {
        ("bigint", true) => Ok(ColumnType::Serial),
        ("text", _) => Ok(ColumnType::Text),
        ("bigint", false) => Ok(ColumnType::Integer),
        ("numeric", _) => Ok(ColumnType::Decimal),
        ("boolean", _) => Ok(ColumnType::Boolean),
        ("date", _) => Ok(ColumnType::Date),
        ("timestamp with time zone", _) => Ok(ColumnType::Timestamp),
        ("jsonb", _) => Ok(ColumnType::Json),
        ("bytea", _) => Ok(ColumnType::Bytes),
        (other, _) => Err(other.to_string()),
    }
}

async fn postgres_tables(pool: &PgPool) -> BTreeSet<String> {
    sqlx::query_scalar::<_, String>(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .expect("list tables")
    .into_iter()
    .collect()
}

async fn postgres_shape(pool: &PgPool, table: &str) -> TableShape {
    let mut shape = TableShape::default();
    let columns = sqlx::query(
        "SELECT column_name::text, data_type::text, is_nullable::text, is_identity::text \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .expect("columns");
    for row in columns {
        let name: String = row.get(0);
        let data_type: String = row.get(1);
        let nullable: String = row.get(2);
        let identity: String = row.get(3);
        shape.columns.insert(
            name,
            ColumnShape {
                ty: postgres_type_family(&data_type, identity == "YES"),
                nullable: nullable == "YES",
            },
        );
    }
    shape.primary_key = sqlx::query_scalar(
        "SELECT a.attname::text FROM pg_constraint c \
         CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) \
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum \
         WHERE c.contype = 'p' AND c.conrelid = $1::regclass ORDER BY k.ord",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .expect("primary key");
    let foreign_keys = sqlx::query(
        "SELECT \
           (SELECT array_agg(a.attname::text ORDER BY k.ord) \
              FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) \
              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum), \
           (SELECT relname::text FROM pg_class WHERE oid = c.confrelid), \
           (SELECT array_agg(a.attname::text ORDER BY k.ord) \
              FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord) \
              JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) \
         FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = $1::regclass",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .expect("foreign keys");
    for row in foreign_keys {
        shape
            .foreign_keys
            .insert((row.get(0), row.get(1), row.get(2)));
    }
    shape
}

// ---- SQLite ----

async fn sqlite_tables(pool: &SqlitePool) -> BTreeSet<String> {
    sqlx::query_scalar::<_, String>(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .expect("list tables")
    .into_iter()
    .collect()
}

async fn sqlite_shape(pool: &SqlitePool, table: &str) -> TableShape {
    let mut shape = TableShape::default();
    // Table names come from sqlite_master and the registry, never from outside.
    let info = sqlx::query(&format!("PRAGMA table_info(\"{table}\")"))
        .fetch_all(pool)
        .await
        .expect("table_info");
    let mut key: Vec<(i64, String)> = Vec::new();
    for row in info {
        let name: String = row.get("name");
        let declared: String = row.get("type");
        let not_null: i64 = row.get("notnull");
        let pk: i64 = row.get("pk");
        if pk > 0 {
            key.push((pk, name.clone()));
        }
        // An INTEGER PRIMARY KEY is the rowid, which is never NULL.
        let rowid_alias = pk > 0 && declared.eq_ignore_ascii_case("INTEGER");
        shape.columns.insert(
            name,
            ColumnShape {
                ty: Err(declared.to_ascii_uppercase()),
                nullable: not_null == 0 && !rowid_alias,
            },
        );
    }
    key.sort();
    shape.primary_key = key.into_iter().map(|(_, name)| name).collect();
    let fk_rows = sqlx::query(&format!("PRAGMA foreign_key_list(\"{table}\")"))
        .fetch_all(pool)
        .await
        .expect("foreign_key_list");
    let mut by_id: BTreeMap<i64, Vec<(i64, String, String, String)>> = BTreeMap::new();
    for row in fk_rows {
        by_id.entry(row.get("id")).or_default().push((
            row.get("seq"),
            row.get("table"),
            row.get("from"),
            row.get("to"),
        ));
    }
    for (_, mut parts) in by_id {
        parts.sort();
        let ref_table = parts[0].1.clone();
        shape.foreign_keys.insert((
            parts.iter().map(|p| p.2.clone()).collect(),
            ref_table,
            parts.iter().map(|p| p.3.clone()).collect(),
        ));
    }
    shape
}

// ---- the checks ----

fn assert_matches_registry(
    dialect: Dialect,
    tables: &BTreeSet<String>,
    shapes: &BTreeMap<String, TableShape>,
) {
    assert_eq!(tables, &registry_tables(), "{dialect:?}: the set of tables");
    for table in TABLES {
        let expected = expected_shape(table, dialect);
        let actual = &shapes[table.name];
        assert_eq!(
            actual.columns.keys().collect::<Vec<_>>(),
            expected.columns.keys().collect::<Vec<_>>(),
            "{dialect:?} {}: column names",
            table.name
        );
        for (name, want) in &expected.columns {
            assert_eq!(
                &actual.columns[name], want,
                "{dialect:?} {}.{name}: type or nullability",
                table.name
            );
        }
        assert_eq!(
            actual.primary_key, expected.primary_key,
            "{dialect:?} {}: primary key",
            table.name
        );
        assert_eq!(
            actual.foreign_keys, expected.foreign_keys,
            "{dialect:?} {}: foreign keys",
            table.name
        );
        if table.kind != TableKind::Operations {
            for audit in ["created_at", "updated_at", "last_run_id"] {
                assert!(actual.columns.contains_key(audit), "{}.{audit}", table.name);
            }
        }
    }
}

#[tokio::test]
async fn a_migrated_postgres_database_matches_the_registry() {
    let (store, _db) = support::postgres_store().await;
    let pool = store.pool_for_tests();
    let tables = postgres_tables(pool).await;
    let mut shapes = BTreeMap::new();
    for t in &tables {
        shapes.insert(t.clone(), postgres_shape(pool, t).await);
    }
    assert_matches_registry(Dialect::Postgres, &tables, &shapes);
}

#[tokio::test]
async fn a_migrated_sqlite_database_matches_the_registry() {
    let (store, _dir) = support::sqlite_store().await;
    let pool = store.pool_for_tests();
    let tables = sqlite_tables(pool).await;
    let mut shapes = BTreeMap::new();
    for t in &tables {
        shapes.insert(t.clone(), sqlite_shape(pool, t).await);
    }
    assert_matches_registry(Dialect::Sqlite, &tables, &shapes);
}

#[tokio::test]
async fn migrating_a_migrated_postgres_database_again_changes_nothing() {
    let (store, _db) = support::postgres_store().await;
    let applied = "SELECT COUNT(*) FROM _sqlx_migrations";
    let before: i64 = sqlx::query_scalar(applied)
        .fetch_one(store.pool_for_tests())
        .await
        .unwrap();
    let tables_before = postgres_tables(store.pool_for_tests()).await;
    store.migrate().await.expect("second migration is a no-op");
    let after: i64 = sqlx::query_scalar(applied)
        .fetch_one(store.pool_for_tests())
        .await
        .unwrap();
    assert_eq!(before, after);
    assert_eq!(
        before as usize,
        paddock::store::postgres::MIGRATOR.iter().count()
    );
    assert_eq!(postgres_tables(store.pool_for_tests()).await, tables_before);
}

#[tokio::test]
async fn migrating_a_migrated_sqlite_database_again_changes_nothing() {
    let (store, _dir) = support::sqlite_store().await;
    let applied = "SELECT COUNT(*) FROM _sqlx_migrations";
    let before: i64 = sqlx::query_scalar(applied)
        .fetch_one(store.pool_for_tests())
        .await
        .unwrap();
    store.migrate().await.expect("second migration is a no-op");
    let after: i64 = sqlx::query_scalar(applied)
        .fetch_one(store.pool_for_tests())
        .await
        .unwrap();
    assert_eq!(before, after);
    assert_eq!(
        before as usize,
        paddock::store::sqlite::MIGRATOR.iter().count()
    );
}

#[tokio::test]
async fn every_sqlite_connection_enforces_foreign_keys() {
    let (store, _dir) = support::sqlite_store().await;
    // Hold several connections at once so each is a distinct one.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(store.pool_for_tests().acquire().await.expect("connection"));
    }
    for conn in &mut held {
        let on: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(on, 1);
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(journal, "wal");
    }
}

/// The storage class SQLite must hold for a value of each type family: money is exact decimal
/// text, never a binary float; booleans are integers; dates, instants and JSON are text.
fn sqlite_storage_class(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Text
        | ColumnType::Money
        | ColumnType::Date
        | ColumnType::Timestamp
        | ColumnType::Json => "text",
        ColumnType::Integer | ColumnType::Serial | ColumnType::Boolean => "integer",
        ColumnType::Decimal => "real",
        ColumnType::Bytes => "blob",
    }
}

#[tokio::test]
async fn sqlite_stores_every_written_value_in_its_registry_type_family() {
    use fetchers::jobs::RacesAndRunnersPlan;
    use fetchers::store::{ApplyMode, RunTrigger};
    use paddock::run::{self, JobRequest, RunContext};

    let (store, _dir) = support::sqlite_store().await;
    let today = sim_today();
    let server = simulator(11, paddock::simulator::Faults::default()).await;
    let client = client_for(&server);
    let config = default_config();
    let day = today - chrono::Duration::days(2);
    let store = paddock::store::AnyStore::Sqlite(store);
    let result = run::run_job(
        &config,
        &client,
        &store,
        &JobRequest::RacesAndRunners(RacesAndRunnersPlan::dates(day, day, today)),
        &RunContext::new(RunTrigger::Manual, ApplyMode::Commit),
    )
    .await
    .unwrap();
    assert!(result.error.is_none(), "{:?}", result.error);
    let paddock::store::AnyStore::Sqlite(sqlite) = &store else {
        unreachable!()
    };
    let pool = sqlite.pool_for_tests();

    let mut families_seen = BTreeSet::new();
    let mut wrong = Vec::new();
    for table in TABLES {
        for column in table.all_columns() {
            let classes: Vec<String> = sqlx::query_scalar(&format!(
                "SELECT DISTINCT typeof(\"{}\") FROM \"{}\" WHERE \"{}\" IS NOT NULL",
                column.name, table.name, column.name
            ))
            .fetch_all(pool)
            .await
            .expect("typeof");
            let want = sqlite_storage_class(column.ty);
            for class in &classes {
                if class != want {
                    wrong.push(format!(
                        "{}.{} ({:?}) holds {class}, not {want}",
                        table.name, column.name, column.ty
                    ));
                }
            }
            if !classes.is_empty() {
                families_seen.insert(format!("{:?}", column.ty));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // Not vacuous: every family was written at least once.
    for family in [
        ColumnType::Text,
        ColumnType::Integer,
        ColumnType::Decimal,
        ColumnType::Money,
        ColumnType::Boolean,
        ColumnType::Date,
        ColumnType::Timestamp,
        ColumnType::Json,
        ColumnType::Serial,
    ] {
        assert!(
            families_seen.contains(&format!("{family:?}")),
            "no {family:?} value was written: {families_seen:?}"
        );
    }
}

#[tokio::test]
async fn migration_0002_turns_stored_sqlite_prize_amounts_into_exact_decimal_text() {
    use sqlx::migrate::Migrator;
    use std::borrow::Cow;

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    let pool = SqlitePool::connect(&url).await.unwrap();
    let full = &paddock::store::sqlite::MIGRATOR;
    let first_only = Migrator {
        migrations: Cow::Owned(
            full.migrations
                .iter()
                .filter(|m| m.version == 1)
                .cloned()
                .collect(),
        ),
        ..Migrator::DEFAULT
    };
    first_only.run(&pool).await.unwrap();
    for sql in [
        "INSERT INTO ra_mst_courses (id, name, created_at, updated_at) VALUES ('crs_1', 'Ascot', 'now', 'now')",
        "INSERT INTO ra_mst_races (id, course_id, race_date, prize_amount, created_at, updated_at) \
         VALUES ('rac_1', 'crs_1', '2024-05-01', 4193.5, 'now', 'now'), \
                ('rac_2', 'crs_1', '2024-05-01', 25000, 'now', 'now'), \
                ('rac_3', 'crs_1', '2024-05-01', NULL, 'now', 'now')",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    full.run(&pool).await.unwrap();
    let stored: Vec<(String, Option<String>, String)> = sqlx::query_as(
        "SELECT id, prize_amount, typeof(prize_amount) FROM ra_mst_races ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        stored,
        vec![
            ("rac_1".into(), Some("4193.5".into()), "text".into()),
            ("rac_2".into(), Some("25000".into()), "text".into()),
            ("rac_3".into(), None, "null".into()),
        ]
    );
}
