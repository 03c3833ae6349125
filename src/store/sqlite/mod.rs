//! The SQLite store: one database file (or `sqlite::memory:`) with foreign keys enforced on
//! every connection, WAL journaling and a busy timeout. Writes run in `BEGIN IMMEDIATE`
//! transactions so concurrent writers queue on the busy timeout instead of failing on a lock
//! upgrade.

mod binding;
mod catalog;
mod recent;
mod upsert;

use crate::store::database_url::{mask_url, BackendKind};
use crate::store::dialect::{
    decode_rows, execute_unprepared, migrated, rows_as_text, text_cell, BulkInsert, Fetch,
    FetchResult, Fragment, GroupWrite, KeyLookup, LookupResult, TextResult, UpsertResult,
};
use crate::store::options::StoreOptions;
use crate::store::plan::rows_per_chunk;
use crate::store::sql_store::SqlStore;
use crate::store::upsert_sql::quote_ident;
use anyhow::Context as _;
use async_trait::async_trait;
use binding::{placeholder_rows, BindValue};
use chrono::{DateTime, Utc};
use fetchers::registry::ColumnType;
use fetchers::rows::Value;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteQueryResult, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row as _, Sqlite};
use std::str::FromStr;

pub use binding::date_text;
pub use recent::RECENT_FUNCTION;

/// The SQLite migrations, embedded at build time (ordered and checksummed).
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Keys per lookup statement (below SQLite's historical 999-parameter limit).
const LOOKUP_PARAMS: usize = 900;

/// Whether a SQLite URL names an in-memory database (which lives as long as a connection).
fn is_in_memory(database_url: &str) -> bool {
    database_url.contains(":memory:") || database_url.contains("mode=memory")
}

/// Connect options for `sqlite://path`, `sqlite:path`, `sqlite::memory:` or a plain path.
pub fn connect_options(
    database_url: &str,
    options: &StoreOptions,
) -> anyhow::Result<SqliteConnectOptions> {
    let url = database_url.trim();
    let base = if url.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(url)
            .with_context(|| format!("invalid SQLite URL {}", mask_url(url)))?
    } else if url == ":memory:" {
        SqliteConnectOptions::from_str("sqlite::memory:")?
    } else {
        SqliteConnectOptions::new().filename(url)
    };
    let base = base.foreign_keys(true).busy_timeout(options.busy_timeout);
    if options.read_only {
        // A reader neither creates the file nor changes its journal mode.
        return Ok(base.read_only(true).create_if_missing(false));
    }
    Ok(base
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal))
}

/// A Paddock database in SQLite.
pub type SqliteStore = SqlStore<SqliteDialect>;

impl SqliteStore {
    /// Opens (creating if missing, with its parent directory) the database at `database_url`;
    /// with `options.read_only`, opens an existing file read-only.
    pub async fn open(database_url: &str, options: &StoreOptions) -> anyhow::Result<Self> {
        let connect = connect_options(database_url, options)?;
        let in_memory = is_in_memory(database_url);
        if options.read_only && !in_memory && !connect.get_filename().exists() {
            anyhow::bail!(
                "no database at {} (a reading command never creates one: run `paddock migrate`)",
                mask_url(database_url)
            );
        }
        if !in_memory && !options.read_only {
            if let Some(parent) = connect.get_filename().parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent).with_context(|| {
                        format!("creating the directory of {}", mask_url(database_url))
                    })?;
                }
            }
        }
        let pool_options = if in_memory {
            // One connection that never closes: the in-memory database lives with it.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(options.max_connections.max(1))
        };
        let pool = pool_options
            .acquire_timeout(options.acquire_timeout)
            .after_connect(|conn, _| {
                // The full rebuild's form figures (see `recent`).
                Box::pin(async move {
                    let registered = recent::register(conn).await;
                    registered.map_err(|e| sqlx::Error::Configuration(e.into()))
                })
            })
            .connect_with(connect)
            .await
            .with_context(|| format!("opening SQLite database {}", mask_url(database_url)))?;
        Ok(SqliteStore::from_pool(pool))
    }
}

/// The SQLite dialect: anonymous `?` placeholders, multi-row `VALUES` bulk bindings, values
/// stored as text where SQLite has no type (see [`binding`]), `BEGIN IMMEDIATE` for writes.
#[derive(Debug)]
pub struct SqliteDialect;

/// Decodes column `i` of `row` as a value of type `ty` (instants from their RFC 3339 text).
fn decode(row: &SqliteRow, i: usize, ty: ColumnType) -> Result<Value, sqlx::Error> {
    let value = match ty {
        ColumnType::Integer | ColumnType::Serial => {
            row.try_get::<Option<i64>, _>(i)?.map(Value::Integer)
        }
        ColumnType::Decimal => row.try_get::<Option<f64>, _>(i)?.map(Value::Decimal),
        // Money is exact decimal text (never a binary float).
        ColumnType::Money => match row.try_get::<Option<String>, _>(i)? {
            Some(text) => {
                Some(Value::Money(text.parse().map_err(|e| {
                    sqlx::Error::Decode(format!("money {text:?}: {e}").into())
                })?))
            }
            None => None,
        },
        ColumnType::Boolean => row.try_get::<Option<bool>, _>(i)?.map(Value::Boolean),
        ColumnType::Timestamp => match row.try_get::<Option<String>, _>(i)? {
            Some(text) => Some(Value::Timestamp(parse_instant(&text)?)),
            None => None,
        },
        ColumnType::Bytes => row.try_get::<Option<Vec<u8>>, _>(i)?.map(Value::Bytes),
        _ => row.try_get::<Option<String>, _>(i)?.map(Value::Text),
    };
    Ok(value.unwrap_or(Value::Null))
}

/// Cell `i` of `row` as text, whatever its type ([`Dialect::fetch_text`]); a value SQLite
/// stored with another type than declared is read as text unchecked.
fn cell_text(row: &SqliteRow, i: usize) -> Option<String> {
    text_cell!(row, i, [String, i64, f64], {
        row.try_get_unchecked::<Option<String>, _>(i).ok().flatten()
    })
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>, sqlx::Error> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| sqlx::Error::Decode(format!("instant {text:?}: {e}").into()))
}

#[async_trait]
impl crate::store::dialect::Dialect for SqliteDialect {
    type Db = Sqlite;

    /// Anonymous and positional: parameters bind in the order they appear.
    fn param(_n: usize, _ty: ColumnType) -> String {
        "?".to_string()
    }

    async fn execute_once(conn: &mut SqliteConnection, sql: &str) -> Result<u64, sqlx::Error> {
        execute_unprepared::<Sqlite>(conn, sql, SqliteQueryResult::rows_affected).await
    }

    /// Dates and instants are stored as text already, in a format that compares as time.
    fn fragment(fragment: Fragment, e: &str) -> String {
        match fragment {
            Fragment::TimestampText | Fragment::DateText => format!("CAST({e} AS TEXT)"),
            Fragment::MonthOf => format!("substr({e}, 1, 7)"),
            Fragment::Hex => format!("hex({e})"),
            Fragment::IsText => format!("typeof({e}) = 'text'"),
            Fragment::EpochSeconds => format!("unixepoch({e})"),
        }
    }

    async fn fetch_text(conn: &mut SqliteConnection, sql: &str, params: &[Value]) -> TextResult {
        let query = params.iter().fold(sqlx::query(sql), BindValue::bind_value);
        Ok(rows_as_text(&query.fetch_all(&mut *conn).await?, cell_text))
    }

    const KIND: BackendKind = BackendKind::Sqlite;
    const LOOKUP_CHUNK: usize = LOOKUP_PARAMS;

    async fn migrate(pool: &SqlitePool) -> anyhow::Result<()> {
        migrated(MIGRATOR.run(pool).await, Self::KIND)
    }

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";

    const NAME_TRANSACTION: Option<&'static str> = None;

    async fn execute(
        conn: &mut SqliteConnection,
        sql: &str,
        params: &[Value],
    ) -> Result<u64, sqlx::Error> {
        let query = params.iter().fold(sqlx::query(sql), BindValue::bind_value);
        Ok(query.execute(&mut *conn).await?.rows_affected())
    }

    async fn fetch(conn: &mut SqliteConnection, query: &Fetch<'_>) -> FetchResult {
        let bound = query
            .params
            .iter()
            .fold(sqlx::query(query.sql), BindValue::bind_value);
        decode_rows(&bound.fetch_all(&mut *conn).await?, query.columns, decode)
    }

    async fn insert_rows(
        conn: &mut SqliteConnection,
        insert: &BulkInsert<'_>,
    ) -> Result<(), sqlx::Error> {
        let width = insert.columns.len();
        let names: Vec<&str> = insert.columns.iter().map(|(n, _)| *n).collect();
        for chunk in insert
            .rows
            .chunks(rows_per_chunk(width, 0, upsert::MAX_PARAMS))
        {
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {} {}",
                quote_ident(insert.table),
                names.join(", "),
                placeholder_rows(chunk.len(), width),
                insert.on_conflict
            );
            // Sized by the chunk: not worth a slot in the statement cache.
            let query = (chunk.iter().flatten())
                .fold(sqlx::query(&sql).persistent(false), BindValue::bind_value);
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }

    async fn lookup_tuples(conn: &mut SqliteConnection, lookup: &KeyLookup<'_>) -> LookupResult {
        let (columns, names) = (lookup.columns, lookup.names);
        let selected: Vec<String> = (names.iter())
            .map(|c| format!("CAST(t.{} AS TEXT)", quote_ident(c)))
            .collect();
        let sql = upsert::key_membership_sql(
            &selected.join(", "),
            names,
            lookup.physical_name,
            lookup.tuples.len(),
        );
        let query = (lookup.tuples.iter().flatten())
            .fold(sqlx::query(&sql).persistent(false), |q, v| {
                q.bind(v.as_str())
            });
        let rows = query.fetch_all(&mut *conn).await?;
        rows.iter()
            .map(|row| (0..columns.len()).map(|i| row.try_get(i)).collect())
            .collect()
    }

    async fn upsert_group(conn: &mut SqliteConnection, write: &GroupWrite<'_>) -> UpsertResult {
        upsert::upsert_group(conn, write).await
    }

    /// Units and transitions both `BEGIN IMMEDIATE`: already serialized.
    const PROBES_PER_ROW: bool = true;

    const SHARE_LOCK: &'static str = "";
}
