//! The PostgreSQL store: a connection pool whose every connection carries an explicit
//! `statement_timeout` and `lock_timeout`, bulk upserts bound as arrays (`UNNEST`), and set
//! lookups with `= ANY($1)`.

mod arrays;
mod catalog;
pub mod tls;
mod upsert;

use crate::store::connection::check_connection;
use crate::store::database_url::{mask_url, BackendKind};
use crate::store::dialect::{
    decode_rows, execute_unprepared, migrated, rows_as_text, text_cell, BulkInsert, Fetch,
    FetchResult, Fragment, GroupWrite, KeyLookup, LookupResult, TextResult, UpsertResult,
};
use crate::store::options::{postgres_duration, StoreOptions};
use crate::store::sql_store::SqlStore;
use crate::store::upsert_sql::{postgres_array_type, postgres_element_cast, quote_ident};
use anyhow::Context as _;
use arrays::{values_array, BindArray};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use fetchers::registry::{Column, ColumnType};
use fetchers::rows::Value;
use fetchers::schema::Dialect;
use sqlx::migrate::Migrator;
use sqlx::postgres::{
    PgArguments, PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgQueryResult, PgRow,
};
use sqlx::{Postgres, Row as _};
use std::str::FromStr;

/// The PostgreSQL migrations, embedded at build time (ordered and checksummed).
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Keys per lookup statement.
const LOOKUP_CHUNK: usize = 10_000;

/// Connect options for a `postgres://` URL, with the session settings of `options`
/// (`application_name`, `statement_timeout`, `lock_timeout`, and `search_path` set to the one
/// schema of Paddock's tables) set on every connection and its TLS settings laid over the URL's
/// `sslmode`/`sslrootcert`/`sslcert`/`sslkey` (`tls.rs`). Every PostgreSQL connection Paddock
/// makes (the pool, the first direct one, the job-lock session) is made with these.
pub fn connect_options(
    database_url: &str,
    options: &StoreOptions,
) -> anyhow::Result<PgConnectOptions> {
    let connect = PgConnectOptions::from_str(database_url.trim())
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("invalid PostgreSQL URL {}", mask_url(database_url)))?;
    let connect = tls::with_tls(connect, database_url, &options.tls)?
        .application_name(&options.application_name)
        .options([
            (
                "statement_timeout",
                postgres_duration(options.statement_timeout),
            ),
            ("lock_timeout", postgres_duration(options.lock_timeout)),
            // Only Paddock's schema: every unqualified name, the migrations ledger's included,
            // resolves and is created there, and nothing lands in `public` by accident.
            ("search_path", options.schema.clone()),
        ]);
    Ok(if options.read_only {
        connect.options([("default_transaction_read_only", "on")])
    } else {
        connect
    })
}

/// Creates the schema the sessions' `search_path` names ([`connect_options`]) when it does not
/// exist yet, so `migrate` can create Paddock's tables (and the migrations ledger) in it. An
/// existing schema is left as it is (no CREATE privilege needed then).
async fn create_schema_if_missing(pool: &PgPool) -> anyhow::Result<()> {
    let (search_path, current): (String, Option<String>) =
        sqlx::query_as("SELECT current_setting('search_path'), current_schema()::text")
            .fetch_one(pool)
            .await
            .context("reading the session's schema")?;
    if current.is_some() {
        return Ok(());
    }
    let schema = search_path
        .split(',')
        .next()
        .unwrap_or_default()
        .trim()
        .trim_matches('"');
    sqlx::query(&format!(
        "CREATE SCHEMA IF NOT EXISTS {}",
        quote_ident(schema)
    ))
    .execute(pool)
    .await
    .with_context(|| format!("creating the schema {schema:?} for Paddock's tables"))?;
    tracing::info!(schema, "created the schema for Paddock's tables");
    Ok(())
}

/// A Paddock database in PostgreSQL.
pub type PgStore = SqlStore<PgDialect>;

impl PgStore {
    /// Connects a pool to `database_url`, after one direct connection that fails within the
    /// connect timeout with the cause named ([`check_connection`]).
    pub async fn connect(database_url: &str, options: &StoreOptions) -> anyhow::Result<Self> {
        let connect = connect_options(database_url, options)?;
        let target = tls::target(database_url, &options.tls);
        check_connection(&connect, &target, options.connect_timeout).await?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("connecting to PostgreSQL at {}", mask_url(database_url)))?;
        Ok(PgStore::from_pool(pool))
    }
}

/// The PostgreSQL dialect: `$n::type` placeholders, array (`UNNEST`) bulk bindings.
#[derive(Debug)]
pub struct PgDialect;

/// The SQL type a value of type `ty` is cast to.
fn cast_for(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Serial => "BIGINT",
        other => Dialect::Postgres.column_type(other),
    }
}

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// Binds one scalar value (NULL as a text NULL: every placeholder carries a cast). A prepared
/// statement keeps the parameter types of its first use, so SQL text whose parameter is NULL
/// in one call and, say, an instant in another must differ between the two (write the
/// condition only when the value is given).
fn bind_value<'q>(query: PgQuery<'q>, value: &'q Value) -> PgQuery<'q> {
    match value {
        Value::Null => query.bind(None::<String>),
        Value::Text(s) => query.bind(s.as_str()),
        Value::Integer(i) => query.bind(*i),
        Value::Decimal(d) => query.bind(*d),
        Value::Money(m) => query.bind(*m),
        Value::Boolean(b) => query.bind(*b),
        Value::Date(d) => query.bind(*d),
        Value::Timestamp(t) => query.bind(*t),
        Value::Json(j) => query.bind(j.to_string()),
        Value::Bytes(b) => query.bind(b.as_slice()),
    }
}

/// Decodes column `i` of `row` as a value of type `ty`.
fn decode(row: &PgRow, i: usize, ty: ColumnType) -> Result<Value, sqlx::Error> {
    let value = match ty {
        ColumnType::Text => row.try_get::<Option<String>, _>(i)?.map(Value::Text),
        ColumnType::Integer | ColumnType::Serial => {
            row.try_get::<Option<i64>, _>(i)?.map(Value::Integer)
        }
        ColumnType::Decimal => row.try_get::<Option<f64>, _>(i)?.map(Value::Decimal),
        ColumnType::Money => row
            .try_get::<Option<fetchers::rows::Decimal>, _>(i)?
            .map(Value::Money),
        ColumnType::Boolean => row.try_get::<Option<bool>, _>(i)?.map(Value::Boolean),
        ColumnType::Date => row.try_get::<Option<NaiveDate>, _>(i)?.map(Value::Date),
        ColumnType::Timestamp => row
            .try_get::<Option<DateTime<Utc>>, _>(i)?
            .map(Value::Timestamp),
        ColumnType::Json => row
            .try_get::<Option<serde_json::Value>, _>(i)?
            .map(Value::Json),
        ColumnType::Bytes => row.try_get::<Option<Vec<u8>>, _>(i)?.map(Value::Bytes),
    };
    Ok(value.unwrap_or(Value::Null))
}

/// Cell `i` of `row` as text, whatever its type ([`Dialect::fetch_text`]).
fn cell_text(row: &PgRow, i: usize) -> Option<String> {
    text_cell!(row, i, [String, i64, i32, bool, f64], None)
}

/// `SELECT … WHERE` a stored row matches one of the bound key arrays.
fn lookup_sql(physical_name: &str, columns: &[&Column], names: &[&str]) -> String {
    let target = quote_ident(physical_name);
    if let ([only], [name]) = (columns, names) {
        if only.ty == ColumnType::Text {
            // The common case: one text key column, an index lookup with = ANY.
            return format!(
                "SELECT {col} FROM {target} WHERE {col} = ANY($1::text[])",
                col = quote_ident(name)
            );
        }
    }
    let arrays: Vec<String> = (1..=columns.len())
        .map(|i| format!("${i}::text[]"))
        .collect();
    let aliases: Vec<String> = (0..columns.len()).map(|i| format!("c{i}")).collect();
    let matches: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let cast = if c.ty == ColumnType::Text {
                String::new()
            } else {
                format!("::{}", cast_for(c.ty))
            };
            format!("t.{} = k.c{i}{cast}", quote_ident(names[i]))
        })
        .collect();
    format!(
        "SELECT k.* FROM UNNEST({}) AS k({}) WHERE EXISTS \
         (SELECT 1 FROM {target} AS t WHERE {})",
        arrays.join(", "),
        aliases.join(", "),
        matches.join(" AND ")
    )
}

#[async_trait]
impl crate::store::dialect::Dialect for PgDialect {
    type Db = Postgres;
    const KIND: BackendKind = BackendKind::Postgres;
    const LOOKUP_CHUNK: usize = LOOKUP_CHUNK;

    fn param(n: usize, ty: ColumnType) -> String {
        format!("${n}::{}", cast_for(ty))
    }

    async fn execute_once(conn: &mut PgConnection, sql: &str) -> Result<u64, sqlx::Error> {
        execute_unprepared::<Postgres>(conn, sql, PgQueryResult::rows_affected).await
    }

    fn fragment(fragment: Fragment, e: &str) -> String {
        match fragment {
            Fragment::TimestampText => {
                format!("to_char(({e}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
            }
            Fragment::DateText => format!("to_char({e}, 'YYYY-MM-DD')"),
            Fragment::MonthOf => format!("to_char({e}, 'YYYY-MM')"),
            Fragment::Hex => format!("upper(encode({e}, 'hex'))"),
            Fragment::IsText => "FALSE".to_string(),
            Fragment::EpochSeconds => format!("EXTRACT(EPOCH FROM {e})"),
        }
    }

    async fn fetch_text(conn: &mut PgConnection, sql: &str, params: &[Value]) -> TextResult {
        let query = params.iter().fold(sqlx::query(sql), bind_value);
        Ok(rows_as_text(&query.fetch_all(&mut *conn).await?, cell_text))
    }

    async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
        create_schema_if_missing(pool).await?;
        migrated(MIGRATOR.run(pool).await, Self::KIND)
    }

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    const BEGIN_WRITE: &'static str = "BEGIN";

    const NAME_TRANSACTION: Option<&'static str> =
        Some("SELECT set_config('application_name', $1::text, true)");

    async fn execute(
        conn: &mut PgConnection,
        sql: &str,
        params: &[Value],
    ) -> Result<u64, sqlx::Error> {
        let query = params.iter().fold(sqlx::query(sql), bind_value);
        Ok(query.execute(&mut *conn).await?.rows_affected())
    }

    async fn fetch(conn: &mut PgConnection, query: &Fetch<'_>) -> FetchResult {
        let bound = query.params.iter().fold(sqlx::query(query.sql), bind_value);
        decode_rows(&bound.fetch_all(&mut *conn).await?, query.columns, decode)
    }

    async fn insert_rows(
        conn: &mut PgConnection,
        insert: &BulkInsert<'_>,
    ) -> Result<(), sqlx::Error> {
        if insert.rows.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = insert.columns.iter().map(|(n, _)| *n).collect();
        let selected: Vec<String> = (insert.columns.iter())
            .map(|(n, ty)| format!("u.{n}{}", postgres_element_cast(*ty)))
            .collect();
        let arrays: Vec<String> = (insert.columns.iter().enumerate())
            .map(|(i, (_, ty))| format!("${}::{}", i + 1, postgres_array_type(*ty)))
            .collect();
        let sql = format!(
            "INSERT INTO {table} ({names}) SELECT {selected} FROM UNNEST({arrays}) AS u({names}) {tail}",
            table = quote_ident(insert.table),
            names = names.join(", "),
            selected = selected.join(", "),
            arrays = arrays.join(", "),
            tail = insert.on_conflict
        );
        let mut query = sqlx::query(&sql);
        for (i, (name, ty)) in insert.columns.iter().enumerate() {
            let values = insert.rows.iter().map(|row| &row[i]);
            query = query.bind_array(values_array(values, name, *ty)?);
        }
        query.execute(&mut *conn).await?;
        Ok(())
    }

    async fn upsert_group(conn: &mut PgConnection, write: &GroupWrite<'_>) -> UpsertResult {
        upsert::upsert_group(conn, write).await
    }

    async fn lookup_tuples(conn: &mut PgConnection, lookup: &KeyLookup<'_>) -> LookupResult {
        let columns = lookup.columns;
        let sql = lookup_sql(lookup.physical_name, columns, lookup.names);
        let mut query = sqlx::query(&sql);
        for position in 0..columns.len() {
            let array: Vec<&str> = lookup
                .tuples
                .iter()
                .map(|t| t.get(position).map_or("", String::as_str))
                .collect();
            query = query.bind(array);
        }
        let rows = query.fetch_all(&mut *conn).await?;
        rows.iter()
            .map(|row| (0..columns.len()).map(|i| row.try_get(i)).collect())
            .collect()
    }

    /// Transitions take `paddock_state` exclusively: a unit's share lock makes them wait.
    const PROBES_PER_ROW: bool = false;

    const SHARE_LOCK: &'static str = " FOR SHARE";
}
