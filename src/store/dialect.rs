//! What a backend supplies to the one store implementation ([`crate::store::SqlStore`]): its
//! dialect, and nothing else.
//!
//! Shared code (the `Store` glue, the ledger, the read queries, the diagnosis) writes its SQL
//! once, asks the dialect for each parameter's placeholder ([`Dialect::param`]: `$3::int8` on
//! PostgreSQL, `?` on SQLite) and passes parameters as [`Value`]s, which each backend binds in
//! its own way. Parameters must appear in the SQL text in the order they are passed (SQLite's
//! `?` are positional); [`Params`] keeps that order. Bulk writes are described once as a
//! [`BulkInsert`] and rendered by the backend (`UNNEST` arrays or multi-row `VALUES`).
//!
//! Beyond that, a dialect runs one-off SQL unprepared ([`Dialect::execute_once`], the derived
//! tables), reads cells of unknown type as text ([`Dialect::fetch_text`], the tools and the
//! audit), spells the few expressions that differ ([`Fragment`]: timestamps as text, hex) and
//! answers, as a [`ToolDialect`], what the tools beside the write path need that differs per
//! engine (the catalog, a view, re-pointing foreign keys, the exclusive state lock; bodies in
//! `postgres/catalog.rs` and `sqlite/catalog.rs`, reached through [`crate::store::tools`]).
//!
//! A new store operation is written once, on [`crate::store::SqlStore`], with these methods;
//! only something that really differs between the engines becomes a new method here,
//! implemented in `postgres/` and `sqlite/`.

use crate::store::catalog::Catalog;
use crate::store::database_url::BackendKind;
use crate::store::plan::WriteGroup;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fetchers::registry::{Column, ColumnType, Table};
use fetchers::rows::{TableCounts, Value};
use fetchers::store::RunId;
use sqlx::migrate::Migrator;
use sqlx::{Database, Executor, IntoArguments, Pool, Row};

/// A connection of the dialect's database (a pooled connection or an open transaction
/// dereferences to one).
pub type Conn<D> = <<D as Dialect>::Db as Database>::Connection;

/// One backend's SQL dialect and bindings.
#[async_trait]
pub trait Dialect: Send + Sync + Sized + std::fmt::Debug + 'static {
    type Db: Database;

    /// Which engine this is.
    const KIND: BackendKind;

    /// The placeholder of the `n`-th (1-based) parameter of a statement, read as type `ty`.
    fn param(n: usize, ty: ColumnType) -> String;

    /// Runs the embedded migrations.
    async fn migrate(pool: &Pool<Self::Db>) -> anyhow::Result<()>;

    /// The statement opening a write transaction (SQLite's `BEGIN IMMEDIATE` takes the write
    /// lock at once).
    const BEGIN_WRITE: &'static str;

    /// The statement naming the session for the rest of the transaction, its one parameter
    /// the name (PostgreSQL: `application_name`, local to the transaction); `None` where the
    /// engine has no session names.
    const NAME_TRANSACTION: Option<&'static str>;

    /// Runs one statement with `params`; returns the rows affected.
    async fn execute(
        conn: &mut Conn<Self>,
        sql: &str,
        params: &[Value],
    ) -> Result<u64, sqlx::Error>;

    /// Runs one query, decoding each row's columns as the query says (NULLs as
    /// [`Value::Null`]).
    async fn fetch(conn: &mut Conn<Self>, query: &Fetch<'_>) -> FetchResult;

    /// Writes a [`BulkInsert`] in as few statements as the engine allows.
    async fn insert_rows(conn: &mut Conn<Self>, insert: &BulkInsert<'_>)
        -> Result<(), sqlx::Error>;

    /// Bulk-upserts one registry group; returns inserted/updated/unchanged.
    async fn upsert_group(conn: &mut Conn<Self>, write: &GroupWrite<'_>) -> UpsertResult;

    // ---- SQL run once, text reads and SQL fragments: the derived-table plan, tools, audit ----

    /// Runs one statement without parameters and without keeping it prepared (SQL run once,
    /// such as the derived-table plan, whose text names its run); returns the rows affected.
    async fn execute_once(conn: &mut Conn<Self>, sql: &str) -> Result<u64, sqlx::Error>;

    /// Runs a query with `params` whose column types are not known beforehand (catalog,
    /// tool and audit queries) and returns every cell as text, `None` for NULL.
    async fn fetch_text(conn: &mut Conn<Self>, sql: &str, params: &[Value]) -> TextResult;

    /// The SQL of `fragment` applied to the expression `expr`.
    fn fragment(fragment: Fragment, expr: &str) -> String;

    /// The embedded migrations ([`Dialect::migrate`] runs them).
    fn migrator() -> &'static Migrator;

    // ---- end of the block ----

    /// Keys (tuples of text) per lookup statement.
    const LOOKUP_CHUNK: usize;

    /// Which of the lookup's tuples exist; returns the found tuples.
    async fn lookup_tuples(conn: &mut Conn<Self>, lookup: &KeyLookup<'_>) -> LookupResult;

    /// Whether the engine joins a large table to another by one index probe per row (SQLite,
    /// which has no hash join) rather than by hashing (PostgreSQL): the audit then looks up
    /// each distinct reference once instead of each row's (`audit::orphans`).
    const PROBES_PER_ROW: bool;

    // --- The rename phase (`store::phase_follow`). ---

    /// Appended to a `SELECT` at the start of a unit's transaction to share-lock the rows it
    /// reads until the transaction ends (PostgreSQL ` FOR SHARE`); empty where write
    /// transactions are serialized anyway (SQLite's `BEGIN IMMEDIATE`).
    const SHARE_LOCK: &'static str;
}

/// What the tools beside the write path (`store::tools`: the rename tooling, the audit) need of
/// an engine beyond [`Dialect`]: the catalog, a view, re-pointing foreign keys, the exclusive
/// state lock and row-level security on a new table. Each engine implements it in its
/// `catalog.rs`.
#[async_trait]
pub trait ToolDialect: Dialect {
    /// The live schema: every table of `schema` (PostgreSQL; SQLite has one and ignores it),
    /// without `_sqlx_migrations` and the engine's own tables.
    async fn read_catalog(conn: &mut Conn<Self>, schema: &str) -> Result<Catalog, sqlx::Error>;

    /// Whether `_sqlx_migrations` exists in `schema` (PostgreSQL; SQLite ignores it).
    async fn has_migrations_table(conn: &mut Conn<Self>, schema: &str)
        -> Result<bool, sqlx::Error>;

    /// Takes `paddock_state` exclusively inside a write transaction, so a rename transition
    /// waits for the units in flight (each holds [`Dialect::SHARE_LOCK`]) and holds new ones
    /// off until it commits (PostgreSQL `LOCK TABLE … IN EXCLUSIVE MODE`; SQLite: nothing,
    /// its write transactions are serialized already).
    async fn lock_state_exclusively(conn: &mut Conn<Self>) -> Result<(), sqlx::Error>;

    /// Whether a base table (not a view) named `name` exists (PostgreSQL: in the current
    /// schema).
    async fn table_exists(conn: &mut Conn<Self>, name: &str) -> Result<bool, sqlx::Error>;

    /// The columns of table `name`, in order.
    async fn table_columns(conn: &mut Conn<Self>, name: &str) -> Result<Vec<String>, sqlx::Error>;

    /// `CREATE TABLE IF NOT EXISTS _sqlx_migrations (…)` as sqlx's migrator creates its ledger
    /// on this engine (`paddock adopt` records the embedded migrations as applied in it).
    fn migrations_ledger_sql() -> String;

    /// A byte-string literal of the bytes whose hex is `hex` (the ledger's checksums).
    fn bytes_literal(hex: &str) -> String;

    /// The `DEFAULT` clause giving a column added by `ALTER TABLE … ADD COLUMN` the default
    /// expression `expr` another table's column has (as the catalog reads it back: PostgreSQL
    /// `pg_get_expr`, SQLite `dflt_value`); none when the engine adds no column with it
    /// (SQLite takes only a constant there: a literal number, string, blob, NULL, TRUE or
    /// FALSE; PostgreSQL any).
    fn added_column_default(expr: &str) -> Option<String>;

    /// The statement creating read-only view `view` of every row of `table`, its select list
    /// `columns` (`*`, or a key-mapped table's legacy columns; PostgreSQL: with the caller's
    /// privileges).
    fn create_view_sql(view: &str, table: &str, columns: &str) -> String;

    /// The statements securing data table `table` right after Paddock creates it outside the
    /// migrations (`tools::create_table_statements`, the one caller). PostgreSQL: `ALTER TABLE
    /// … ENABLE ROW LEVEL SECURITY` (the owner, Paddock, is not restricted), then every reader
    /// policy the other data tables carry (`paddock grants`, [`READER_POLICY_PREFIX`]) created
    /// on it too. SQLite has no roles: none.
    fn row_level_security_sql(table: &str) -> Vec<String>;

    /// The statements re-pointing `table`'s foreign keys from each move's `from` to its `to`
    /// (read from the live schema, not run).
    async fn repoint_foreign_keys(
        conn: &mut Conn<Self>,
        table: &Table,
        moves: &[TableMove<'_>],
    ) -> Result<Repointing, sqlx::Error>;

    /// Switches the connection's foreign-key enforcement (SQLite `PRAGMA foreign_keys`, which
    /// only takes effect outside a transaction; PostgreSQL: nothing).
    async fn enforce_foreign_keys(conn: &mut Conn<Self>, on: bool) -> Result<(), sqlx::Error>;

    /// The tables holding rows that break a foreign key (SQLite `foreign_key_check`, for
    /// work done with enforcement off; PostgreSQL checks every statement: none).
    async fn foreign_key_violations(conn: &mut Conn<Self>) -> Result<Vec<String>, sqlx::Error>;
}

/// The name of a reader's read policy is this prefix and the role (`paddock grants`).
pub const READER_POLICY_PREFIX: &str = "paddock_read_";

/// Foreign keys pointing at registry table `parent` move from physical table `from` to `to`;
/// `from_key`/`to_key`: the column holding the parent's one-column key in a key-mapped legacy
/// table (`[adopt.keys]`, referenced through it), `None` where the key keeps its name.
#[derive(Debug, Clone, Copy)]
pub struct TableMove<'a> {
    pub parent: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub from_key: Option<&'a str>,
    pub to_key: Option<&'a str>,
}

/// How one table's foreign keys are re-pointed ([`ToolDialect::repoint_foreign_keys`]).
#[derive(Debug, Default)]
pub struct Repointing {
    /// Run in one transaction.
    pub statements: Vec<String>,
    /// Run after that transaction committed (PostgreSQL `VALIDATE CONSTRAINT`: a key added
    /// `NOT VALID` takes a short lock; the validation scans without blocking writers).
    pub after_commit: Vec<String>,
    /// The statements rebuild tables: the transaction must run with foreign keys off and be
    /// checked before it commits (SQLite's table-rebuild procedure).
    pub foreign_keys_off: bool,
}

/// A query with its parameters, and the types its columns are decoded as.
pub struct Fetch<'a> {
    pub sql: &'a str,
    pub params: &'a [Value],
    pub columns: &'a [ColumnType],
}

/// Runs `sql` with `params` and decodes its rows as `columns` ([`Dialect::fetch`]).
pub async fn fetch<D: Dialect>(
    conn: &mut Conn<D>,
    sql: &str,
    params: &[Value],
    columns: &[ColumnType],
) -> FetchResult {
    let query = Fetch {
        sql,
        params,
        columns,
    };
    D::fetch(conn, &query).await
}

/// What [`Dialect::fetch`] returns: rows of values.
pub type FetchResult = Result<Vec<Vec<Value>>, sqlx::Error>;

/// Decodes every row with `decode(row, column index, column type)`.
pub fn decode_rows<R>(
    rows: &[R],
    columns: &[ColumnType],
    decode: fn(&R, usize, ColumnType) -> Result<Value, sqlx::Error>,
) -> FetchResult {
    rows.iter()
        .map(|row| {
            (columns.iter().enumerate())
                .map(|(i, ty)| decode(row, i, *ty))
                .collect()
        })
        .collect()
}

/// Expressions whose SQL differs between the engines ([`Dialect::fragment`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fragment {
    /// A timestamp as RFC 3339 UTC text.
    TimestampText,
    /// A date as `YYYY-MM-DD` text.
    DateText,
    /// The month (`YYYY-MM`) of a date.
    MonthOf,
    /// A binary value as upper-case hexadecimal text.
    Hex,
    /// Whether a value is stored as text (SQLite's storage class; PostgreSQL: never, its
    /// columns hold their declared type).
    IsText,
    /// An instant as seconds since the Unix epoch (a number to compare and subtract).
    EpochSeconds,
}

/// What [`Dialect::fetch_text`] returns: rows of cells as text.
pub type TextResult = Result<Vec<Vec<Option<String>>>, sqlx::Error>;

/// [`Dialect::execute_once`] on any sqlx engine (the engines differ only in their types);
/// `rows` reads the engine's rows affected.
pub async fn execute_unprepared<'c, DB>(
    conn: &'c mut DB::Connection,
    sql: &str,
    rows: fn(&DB::QueryResult) -> u64,
) -> Result<u64, sqlx::Error>
where
    DB: Database + sqlx::database::HasStatementCache,
    &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
{
    let done = sqlx::query(sql).persistent(false).execute(conn).await?;
    Ok(rows(&done))
}

/// Every cell of `rows` as text, read with the engine's `cell` ([`Dialect::fetch_text`]).
pub fn rows_as_text<R: Row>(
    rows: &[R],
    cell: fn(&R, usize) -> Option<String>,
) -> Vec<Vec<Option<String>>> {
    (rows.iter())
        .map(|row| (0..row.len()).map(|i| cell(row, i)).collect())
        .collect()
}

/// Cell `$i` of `$row` as text: decoded as the first of the listed types the column accepts
/// and written with `to_string`, else `$fallback` ([`Dialect::fetch_text`]).
macro_rules! text_cell {
    ($row:expr, $i:expr, [$($ty:ty),+], $fallback:expr) => {{
        $(
            if let Ok(v) = $row.try_get::<Option<$ty>, _>($i) {
                return v.map(|v| v.to_string());
            }
        )+
        $fallback
    }};
}
pub(crate) use text_cell;

/// Typed reads of one fetched row's cells; a NULL (or a cell of another type) reads as
/// `None`.
pub struct Cells<'a>(pub &'a [Value]);

impl Cells<'_> {
    pub fn text(&self, i: usize) -> Option<String> {
        match self.0.get(i) {
            Some(Value::Text(s)) => Some(s.clone()),
            _ => None,
        }
    }

    pub fn integer(&self, i: usize) -> Option<i64> {
        match self.0.get(i) {
            Some(Value::Integer(n)) => Some(*n),
            _ => None,
        }
    }

    pub fn timestamp(&self, i: usize) -> Option<DateTime<Utc>> {
        match self.0.get(i) {
            Some(Value::Timestamp(t)) => Some(*t),
            _ => None,
        }
    }
}

/// What [`Dialect::upsert_group`] returns.
pub type UpsertResult = Result<TableCounts, sqlx::Error>;

/// What [`Dialect::lookup_tuples`] returns.
pub type LookupResult = Result<Vec<Vec<String>>, sqlx::Error>;

/// One registry group written to one physical table, stamped with the run and the unit's
/// instant.
pub struct GroupWrite<'a> {
    pub group: &'a WriteGroup,
    pub physical_name: &'a str,
    /// The physical table holding the group's result marker (the race's, for runners), which
    /// guards pre-race columns.
    pub marker_table: &'a str,
    /// Legacy columns filled as the registry column each mirrors, `(legacy, registry)` (an
    /// adopted database's `[adopt.columns.*]`, [`crate::store::PhysicalNames::mirrors`]).
    pub mirrors: &'a [(&'a str, &'a str)],
    /// The legacy column holding the table's key (an adopted database's `[adopt.keys]`,
    /// [`crate::store::PhysicalNames::key_column`]): upserted on, the surrogate never written.
    pub key_column: Option<&'a str>,
    pub run_id: RunId,
    pub now: DateTime<Utc>,
}

impl GroupWrite<'_> {
    /// The adopted database's legacy columns the upsert writes too.
    fn adopted(&self) -> crate::store::upsert_sql::AdoptedColumns<'_> {
        crate::store::upsert_sql::AdoptedColumns {
            mirrors: self.mirrors,
            key_column: self.key_column,
        }
    }

    /// The upsert statement for `rows` of the group's rows on `backend` (`fill`: see
    /// [`WriteGroup::needs_stored_required_values`]). PostgreSQL binds whole columns as
    /// arrays, so its statement does not depend on the row count.
    pub fn upsert_sql(&self, backend: BackendKind, rows: usize, fill: bool) -> String {
        let (group, physical, marker) = (self.group, self.physical_name, self.marker_table);
        match backend {
            BackendKind::Postgres => crate::store::upsert_sql::postgres_upsert_sql_with(
                group.table,
                physical,
                marker,
                &group.columns,
                &self.adopted(),
                fill,
            ),
            BackendKind::Sqlite => crate::store::upsert_sql::sqlite_upsert_sql_with(
                group.table,
                physical,
                marker,
                &group.columns,
                &self.adopted(),
                rows,
                fill,
            ),
        }
    }
}

/// Tuples of text values of `columns`, looked up in the table `physical_name`, where each
/// column is held under the name of the same position in `names` (a key-mapped legacy
/// table's key in its key column, `[adopt.keys]`; else the column's own name).
pub struct KeyLookup<'a> {
    pub physical_name: &'a str,
    pub columns: &'a [&'a Column],
    pub names: &'a [&'a str],
    pub tuples: &'a [Vec<String>],
}

/// The outcome of running `kind`'s migrations, with the engine named on failure.
pub fn migrated(
    outcome: Result<(), sqlx::migrate::MigrateError>,
    kind: BackendKind,
) -> anyhow::Result<()> {
    let engine = match kind {
        BackendKind::Postgres => "PostgreSQL",
        BackendKind::Sqlite => "SQLite",
    };
    outcome.map_err(|e| anyhow::anyhow!(e).context(format!("migrating the {engine} database")))
}

/// Rows for one table, one [`Value`] per column, with an optional `ON CONFLICT …` tail.
pub struct BulkInsert<'a> {
    pub table: &'a str,
    pub columns: &'a [(&'a str, ColumnType)],
    pub rows: Vec<Vec<Value>>,
    /// Appended to every statement (`""` or an `ON CONFLICT` clause; `excluded.` refers to
    /// the inserted row on both engines).
    pub on_conflict: &'a str,
}

/// Parameters of one statement, and their placeholders in the order they are added.
pub struct Params<D> {
    values: Vec<Value>,
    dialect: std::marker::PhantomData<D>,
}

impl<D: Dialect> Params<D> {
    pub fn new() -> Self {
        Params {
            values: Vec::new(),
            dialect: std::marker::PhantomData,
        }
    }

    /// Adds a parameter; returns its placeholder, to be written into the SQL next.
    pub fn add(&mut self, value: Value, ty: ColumnType) -> String {
        self.values.push(value);
        D::param(self.values.len(), ty)
    }

    pub fn values(&self) -> &[Value] {
        &self.values
    }
}

impl<D: Dialect> Default for Params<D> {
    fn default() -> Self {
        Self::new()
    }
}

/// [`Params`] behind a trait object: for code that builds its SQL without naming the dialect
/// (the audit, which reaches the store as `dyn AuditSql`).
pub trait Bind: Send + Sync {
    /// [`Params::add`].
    fn add(&mut self, value: Value, ty: ColumnType) -> String;
    /// [`Params::values`].
    fn values(&self) -> &[Value];
}

impl<D: Dialect> Bind for Params<D> {
    fn add(&mut self, value: Value, ty: ColumnType) -> String {
        Params::add(self, value, ty)
    }

    fn values(&self) -> &[Value] {
        Params::values(self)
    }
}

/// An optional text as a parameter value.
pub fn text(value: Option<&str>) -> Value {
    value.map_or(Value::Null, |s| Value::Text(s.to_string()))
}

/// A count as a parameter value (saturating at `i64::MAX`).
pub fn count(n: u64) -> Value {
    Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}
