//! The baselines the store's figures are divided by, each loading the same rows into the same
//! migrated, constrained tables, table by table in write order, in one transaction:
//!
//! - **PostgreSQL `COPY`** (the first load's bound);
//! - **a raw no-op upsert on PostgreSQL**: the unchanged rows again, one
//!   `INSERT … SELECT FROM UNNEST(typed arrays) ON CONFLICT (key) DO UPDATE SET … WHERE (stored)
//!   IS DISTINCT FROM (excluded)` per table, on the database `COPY` filled (the unchanged
//!   reload's bound: it writes nothing, like the store's unchanged reload);
//! - **SQLite, one prepared statement per table** executed once per row (what Python's
//!   `executemany` does), on a raw connection handle with the store's own connection settings
//!   (WAL, `synchronous=NORMAL`, foreign keys on).

use chrono::{DateTime, NaiveDate, Utc};
use fetchers::registry::{self, ColumnType};
use fetchers::rows::{format_timestamp, Row, UnitOfWork, Value};
use fetchers::schema::Dialect;
use libsqlite3_sys as ffi;
use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::ptr::NonNull;
use std::time::{Duration, Instant};

/// The rows of `year` per table, in the registry's write order, with the columns they set
/// plus the two NOT NULL audit columns.
fn tables_in_order(
    year: &UnitOfWork,
) -> Vec<(&'static registry::Table, Vec<&'static str>, Vec<&Row>)> {
    let mut by_table: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for row in &year.rows {
        by_table.entry(row.table.as_ref()).or_default().push(row);
    }
    let mut out = Vec::new();
    for name in fetchers::order::registry_order() {
        let Some(rows) = by_table.remove(name) else {
            continue;
        };
        let table = registry::table(name).expect("registry table");
        let columns: Vec<&'static str> = table
            .all_columns()
            .iter()
            .map(|c| c.name)
            .filter(|c| is_audit(c) || rows[0].values.contains_key(c))
            .collect();
        out.push((table, columns, rows));
    }
    out
}

fn is_audit(column: &str) -> bool {
    column == "created_at" || column == "updated_at"
}

fn column_type(table: &registry::Table, column: &str) -> ColumnType {
    table.column(column).map_or(ColumnType::Text, |c| c.ty)
}

// ---- PostgreSQL COPY ----------------------------------------------------------------------

/// One value in `COPY … FROM STDIN` text format.
fn copy_text(value: &Value, out: &mut String) {
    let escaped = |s: &str, out: &mut String| {
        for ch in s.chars() {
            match ch {
                '\\' => out.push_str("\\\\"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
    };
    match value {
        Value::Null => out.push_str("\\N"),
        Value::Text(s) => escaped(s, out),
        Value::Integer(i) => out.push_str(&i.to_string()),
        Value::Decimal(d) => out.push_str(&d.to_string()),
        Value::Money(m) => out.push_str(&m.to_string()),
        Value::Boolean(b) => out.push(if *b { 't' } else { 'f' }),
        Value::Date(d) => out.push_str(&d.format("%Y-%m-%d").to_string()),
        Value::Timestamp(t) => out.push_str(&format_timestamp(t)),
        Value::Json(j) => escaped(&j.to_string(), out),
        // bytea's hex form, its backslash escaped for COPY's text format.
        Value::Bytes(b) => {
            out.push_str("\\\\x");
            out.extend(b.iter().map(|byte| format!("{byte:02x}")));
        }
    }
}

/// `COPY` of every row of `year` into the migrated tables of `pool`: rows copied and time.
pub async fn postgres_copy(
    pool: &sqlx::PgPool,
    year: &UnitOfWork,
) -> anyhow::Result<(u64, Duration)> {
    let now = Value::Timestamp(Utc::now());
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    let mut copied = 0u64;
    for (table, columns, rows) in tables_in_order(year) {
        let mut text = String::new();
        for row in rows {
            for (i, c) in columns.iter().enumerate() {
                if i > 0 {
                    text.push('\t');
                }
                let v = if is_audit(c) {
                    &now
                } else {
                    row.values.get(c).unwrap_or(&Value::Null)
                };
                copy_text(v, &mut text);
            }
            text.push('\n');
        }
        let sql = format!(
            "COPY {} ({}) FROM STDIN",
            table.name,
            quoted(&columns).join(", ")
        );
        let mut copy = tx.copy_in_raw(&sql).await?;
        copy.send(text.into_bytes()).await?;
        copied += copy.finish().await?;
    }
    tx.commit().await?;
    Ok((copied, started.elapsed()))
}

fn quoted(columns: &[&str]) -> Vec<String> {
    columns.iter().map(|c| format!("\"{c}\"")).collect()
}

// ---- PostgreSQL raw no-op upsert ----------------------------------------------------------

/// One column's values as the typed array they are bound as.
enum Array {
    Text(Vec<Option<String>>),
    Integer(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Boolean(Vec<Option<bool>>),
    Date(Vec<Option<NaiveDate>>),
    Timestamp(Vec<Option<DateTime<Utc>>>),
}

impl Array {
    fn of(rows: &[&Row], column: &str, ty: ColumnType) -> Array {
        let values = rows
            .iter()
            .map(|r| r.values.get(column).unwrap_or(&Value::Null));
        match ty {
            ColumnType::Integer | ColumnType::Serial => Array::Integer(
                values
                    .map(|v| match v {
                        Value::Integer(i) => Some(*i),
                        _ => None,
                    })
                    .collect(),
            ),
            ColumnType::Decimal => Array::Float(
                values
                    .map(|v| match v {
                        Value::Decimal(d) => Some(*d),
                        _ => None,
                    })
                    .collect(),
            ),
            ColumnType::Boolean => Array::Boolean(
                values
                    .map(|v| match v {
                        Value::Boolean(b) => Some(*b),
                        _ => None,
                    })
                    .collect(),
            ),
            ColumnType::Date => Array::Date(
                values
                    .map(|v| match v {
                        Value::Date(d) => Some(*d),
                        _ => None,
                    })
                    .collect(),
            ),
            ColumnType::Timestamp => Array::Timestamp(
                values
                    .map(|v| match v {
                        Value::Timestamp(t) => Some(*t),
                        _ => None,
                    })
                    .collect(),
            ),
            // Text, money (exact decimal text) and JSON travel as text.
            _ => Array::Text(
                values
                    .map(|v| match v {
                        Value::Null => None,
                        Value::Text(s) => Some(s.clone()),
                        Value::Money(m) => Some(m.to_string()),
                        other => Some(other.key_text()),
                    })
                    .collect(),
            ),
        }
    }

    fn sql_type(&self) -> &'static str {
        match self {
            Array::Text(_) => "text[]",
            Array::Integer(_) => "int8[]",
            Array::Float(_) => "float8[]",
            Array::Boolean(_) => "bool[]",
            Array::Date(_) => "date[]",
            Array::Timestamp(_) => "timestamptz[]",
        }
    }

    fn bind<'q>(
        self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        match self {
            Array::Text(v) => query.bind(v),
            Array::Integer(v) => query.bind(v),
            Array::Float(v) => query.bind(v),
            Array::Boolean(v) => query.bind(v),
            Array::Date(v) => query.bind(v),
            Array::Timestamp(v) => query.bind(v),
        }
    }
}

/// The unchanged rows of `year` upserted again into `pool`'s tables (which hold them
/// already), one statement per table; rows offered and time. Fails if a row was written.
pub async fn postgres_noop_upsert(
    pool: &sqlx::PgPool,
    year: &UnitOfWork,
) -> anyhow::Result<(u64, Duration)> {
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    let mut offered = 0u64;
    for (table, columns, rows) in tables_in_order(year) {
        let data: Vec<&str> = columns.iter().copied().filter(|c| !is_audit(c)).collect();
        let arrays: Vec<Array> = (data.iter())
            .map(|c| Array::of(&rows, c, column_type(table, c)))
            .collect();
        let unnest: Vec<String> = (arrays.iter().enumerate())
            .map(|(i, a)| format!("${}::{}", i + 2, a.sql_type()))
            .collect();
        let select: Vec<String> = (data.iter())
            .map(|c| {
                let ty = Dialect::Postgres.column_type(column_type(table, c));
                format!("u.\"{c}\"::{ty}")
            })
            .collect();
        let non_key: Vec<&str> = (data.iter().copied())
            .filter(|c| !table.key.contains(c))
            .collect();
        let set: Vec<String> = (non_key.iter())
            .map(|c| format!("\"{c}\" = excluded.\"{c}\""))
            .collect();
        let stored: Vec<String> = non_key.iter().map(|c| format!("t.\"{c}\"")).collect();
        let excluded: Vec<String> = (non_key.iter())
            .map(|c| format!("excluded.\"{c}\""))
            .collect();
        let sql = format!(
            "INSERT INTO {name} AS t ({columns}, created_at, updated_at) \
             SELECT {select}, $1, $1 FROM UNNEST({unnest}) AS u({columns}) \
             ON CONFLICT ({key}) DO UPDATE SET {set} \
             WHERE ({stored}) IS DISTINCT FROM ({excluded})",
            name = table.name,
            columns = quoted(&data).join(", "),
            select = select.join(", "),
            unnest = unnest.join(", "),
            key = quoted(table.key).join(", "),
            set = set.join(", "),
            stored = stored.join(", "),
            excluded = excluded.join(", "),
        );
        let query = sqlx::query(&sql).bind(Utc::now());
        let query = arrays.into_iter().fold(query, |q, a| a.bind(q));
        let written = query.execute(&mut *tx).await?.rows_affected();
        anyhow::ensure!(
            written == 0,
            "the no-op upsert wrote {written} rows of {}",
            table.name
        );
        offered += rows.len() as u64;
    }
    tx.commit().await?;
    Ok((offered, started.elapsed()))
}

// ---- SQLite: one prepared statement per table ---------------------------------------------

/// Every row of `year` inserted into the migrated SQLite database behind `conn` by one
/// prepared single-row `INSERT` per table, executed once per row, in one `BEGIN IMMEDIATE`
/// transaction: rows inserted and time.
pub async fn sqlite_executemany(
    conn: &mut sqlx::SqliteConnection,
    year: &UnitOfWork,
) -> anyhow::Result<(u64, Duration)> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle();
    tokio::task::block_in_place(|| {
        let now = format_timestamp(&Utc::now());
        let started = Instant::now();
        // SAFETY: `db` is an open connection whose sqlx worker is locked out while the handle
        // is held; every statement is finalized before return.
        unsafe {
            exec(db, "BEGIN IMMEDIATE")?;
            let mut inserted = 0u64;
            for (table, columns, rows) in tables_in_order(year) {
                let sql = format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    table.name,
                    quoted(&columns).join(", "),
                    vec!["?"; columns.len()].join(", ")
                );
                inserted += insert_each(db, &sql, &columns, &rows, &now)?;
            }
            exec(db, "COMMIT")?;
            Ok((inserted, started.elapsed()))
        }
    })
}

/// # Safety
/// `db` is an open connection used by nothing else meanwhile.
unsafe fn exec(db: NonNull<ffi::sqlite3>, sql: &str) -> anyhow::Result<()> {
    let sql = CString::new(sql)?;
    let rc = ffi::sqlite3_exec(
        db.as_ptr(),
        sql.as_ptr(),
        None,
        std::ptr::null_mut(),
        std::ptr::null_mut(),
    );
    anyhow::ensure!(rc == ffi::SQLITE_OK, "{}", message(db));
    Ok(())
}

/// # Safety
/// `db` is an open connection.
unsafe fn message(db: NonNull<ffi::sqlite3>) -> String {
    CStr::from_ptr(ffi::sqlite3_errmsg(db.as_ptr()))
        .to_string_lossy()
        .into_owned()
}

/// Prepares `sql` once and runs it for every row, binding values as the store does (dates and
/// instants as text, money as its decimal text, booleans as 0/1).
///
/// # Safety
/// `db` is an open connection used by nothing else meanwhile.
unsafe fn insert_each(
    db: NonNull<ffi::sqlite3>,
    sql: &str,
    columns: &[&str],
    rows: &[&Row],
    now: &str,
) -> anyhow::Result<u64> {
    let text = CString::new(sql)?;
    let mut stmt = std::ptr::null_mut();
    let rc = ffi::sqlite3_prepare_v2(
        db.as_ptr(),
        text.as_ptr(),
        -1,
        &mut stmt,
        std::ptr::null_mut(),
    );
    anyhow::ensure!(rc == ffi::SQLITE_OK, "preparing {sql}: {}", message(db));
    let bind_text = |i: i32, s: &str| {
        ffi::sqlite3_bind_text(
            stmt,
            i,
            s.as_ptr().cast(),
            s.len() as i32,
            ffi::SQLITE_TRANSIENT(),
        )
    };
    let mut done = 0u64;
    let mut failure = None;
    for row in rows {
        for (i, c) in columns.iter().enumerate() {
            let i = i as i32 + 1;
            if is_audit(c) {
                bind_text(i, now);
                continue;
            }
            match row.values.get(c).unwrap_or(&Value::Null) {
                Value::Null => ffi::sqlite3_bind_null(stmt, i),
                Value::Text(s) => bind_text(i, s),
                Value::Integer(n) => ffi::sqlite3_bind_int64(stmt, i, *n),
                Value::Decimal(d) => ffi::sqlite3_bind_double(stmt, i, *d),
                Value::Money(m) => bind_text(i, &m.to_string()),
                Value::Boolean(b) => ffi::sqlite3_bind_int64(stmt, i, i64::from(*b)),
                Value::Date(d) => bind_text(i, &d.format("%Y-%m-%d").to_string()),
                Value::Timestamp(t) => bind_text(i, &format_timestamp(t)),
                Value::Json(j) => bind_text(i, &j.to_string()),
                Value::Bytes(b) => ffi::sqlite3_bind_blob(
                    stmt,
                    i,
                    b.as_ptr().cast(),
                    b.len() as i32,
                    ffi::SQLITE_TRANSIENT(),
                ),
            };
        }
        let rc = ffi::sqlite3_step(stmt);
        ffi::sqlite3_reset(stmt);
        if rc != ffi::SQLITE_DONE {
            failure = Some(format!("{sql}: {}", message(db)));
            break;
        }
        done += 1;
    }
    ffi::sqlite3_finalize(stmt);
    match failure {
        Some(f) => anyhow::bail!(f),
        None => Ok(done),
    }
}
