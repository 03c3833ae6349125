//! Reading backfill checkpoints (`paddock_checkpoints`) on both backends. They are written by
//! [`fetchers::store::Store::apply`] in the same transaction as the page they advance.

use super::AnyStore;
use sqlx::Row as _;

/// One stored checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCheckpoint {
    pub name: String,
    pub job: String,
    pub cursor: Option<String>,
    pub status: String,
}

/// Every checkpoint of `job`, by name.
pub async fn for_job(store: &AnyStore, job: &str) -> anyhow::Result<Vec<StoredCheckpoint>> {
    let sql_sqlite = "SELECT name, job, \"cursor\", status FROM paddock_checkpoints \
                      WHERE job = ? ORDER BY name";
    let sql_pg = "SELECT name, job, \"cursor\", status FROM paddock_checkpoints \
                  WHERE job = $1 ORDER BY name";
    let rows = match store {
        AnyStore::Sqlite(s) => {
            sqlx::query(sql_sqlite)
                .bind(job)
                .fetch_all(s.pool())
                .await?
        }
        AnyStore::Postgres(s) => {
            let rows = sqlx::query(sql_pg).bind(job).fetch_all(s.pool()).await?;
            return rows
                .iter()
                .map(|r| {
                    Ok(StoredCheckpoint {
                        name: r.try_get(0)?,
                        job: r.try_get(1)?,
                        cursor: r.try_get(2)?,
                        status: r.try_get(3)?,
                    })
                })
                .collect();
        }
    };
    rows.iter()
        .map(|r| {
            Ok(StoredCheckpoint {
                name: r.try_get(0)?,
                job: r.try_get(1)?,
                cursor: r.try_get(2)?,
                status: r.try_get(3)?,
            })
        })
        .collect()
}
