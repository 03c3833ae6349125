//! SQLite's online backup API (`sqlite3_backup_init` / `step(-1)` / `finish`) between two
//! open sqlx connections, through their raw handles. The source connection's open read
//! transaction is the snapshot copied: `sqlite3_backup_step` reads inside it.

use anyhow::{bail, Result};
use libsqlite3_sys as ffi;
use sqlx::SqliteConnection;
use std::ffi::CStr;
use std::ptr::NonNull;

/// Copies every page of `source`'s main database into `destination`'s, in one step. The
/// calling task blocks for the copy (the daemon's runtime hands its other tasks to another
/// worker meanwhile).
pub async fn copy(source: &mut SqliteConnection, destination: &mut SqliteConnection) -> Result<()> {
    let mut source = source.lock_handle().await?;
    let mut destination = destination.lock_handle().await?;
    let (from, to) = (source.as_raw_handle(), destination.as_raw_handle());
    let step = || copy_pages(from, to);
    match tokio::runtime::Handle::current().runtime_flavor() {
        tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(step),
        _ => step(),
    }
}

/// The backup itself, on the two locked handles.
fn copy_pages(from: NonNull<ffi::sqlite3>, to: NonNull<ffi::sqlite3>) -> Result<()> {
    let main = c"main";
    // SAFETY: both handles are open connections whose sqlx workers are locked out
    // (`lock_handle`) for as long as this runs; the backup object is finished before return.
    unsafe {
        let backup =
            ffi::sqlite3_backup_init(to.as_ptr(), main.as_ptr(), from.as_ptr(), main.as_ptr());
        if backup.is_null() {
            bail!("starting the backup: {}", message(to));
        }
        let step = ffi::sqlite3_backup_step(backup, -1);
        let finish = ffi::sqlite3_backup_finish(backup);
        if step != ffi::SQLITE_DONE {
            bail!(
                "copying the pages: {} (code {step}; source: {})",
                message(to),
                message(from)
            );
        }
        if finish != ffi::SQLITE_OK {
            bail!("finishing the backup: {} (code {finish})", message(to));
        }
    }
    Ok(())
}

/// The connection's last error message.
///
/// # Safety
/// `db` is an open connection.
unsafe fn message(db: NonNull<ffi::sqlite3>) -> String {
    let text = ffi::sqlite3_errmsg(db.as_ptr());
    if text.is_null() {
        return "unknown error".into();
    }
    CStr::from_ptr(text).to_string_lossy().into_owned()
}
