-- The races whose derived figures are not yet recomputed (issue 21): every unit that writes
-- races or runners marks their race ids here in the same transaction as the rows, and the
-- derived update that covers them deletes exactly the marks it read, in its own transaction.
-- So a writer that dies between its last unit and its derived update (a killed backfill, a
-- lost connection) leaves its races marked, and the next derived update of any writer, or the
-- full rebuild, brings them up to date: the derived tables are never left stale.
CREATE TABLE paddock_derived_pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    race_id TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    marked_at TEXT NOT NULL
);

