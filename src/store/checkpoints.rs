//! Reading backfill checkpoints (`paddock_checkpoints`), written once over [`SqlStore`]. They
//! are written by [`fetchers::store::Store::apply`] in the same transaction as the page they
//! advance.

use super::dialect::{self, text, Cells, Dialect, Params};
use super::{with_backend, AnyStore, SqlStore};
use fetchers::registry::ColumnType::Text;

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
    with_backend!(store, |s| for_job_in(s, job).await)
}

async fn for_job_in<D: Dialect>(
    store: &SqlStore<D>,
    job: &str,
) -> anyhow::Result<Vec<StoredCheckpoint>> {
    let mut p = Params::<D>::new();
    let sql = format!(
        "SELECT name, job, \"cursor\", status FROM paddock_checkpoints WHERE job = {} \
         ORDER BY name",
        p.add(text(Some(job)), Text)
    );
    let mut conn = store.connection(Some("paddock_checkpoints")).await?;
    let rows = dialect::fetch::<D>(&mut conn, &sql, p.values(), &[Text; 4]).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let cells = Cells(row);
            StoredCheckpoint {
                name: cells.text(0).unwrap_or_default(),
                job: cells.text(1).unwrap_or_default(),
                cursor: cells.text(2),
                status: cells.text(3).unwrap_or_default(),
            }
        })
        .collect())
}
