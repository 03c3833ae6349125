-- Retention (issue 22). The raw archive keeps its zstd bodies as bytes (BLOB), not as base64
-- text a third larger. SQLite cannot change a column's declared type, so the table is made
-- again with its rows as they are; its SQL has no base64 decoder, so the rows still holding
-- text are decoded by the store right after migrating, in batches, each committed with its
-- rows (`store::archive::convert_text_bodies`: a row's storage class says whether it is done,
-- so a conversion cut short resumes, and a `paddock_state` mark ends the checks once all are
-- done). The run ledger counts the rows a retention run deleted per table (`deleted`, 0 for
-- every other run).
ALTER TABLE paddock_raw_responses RENAME TO raw_responses_before_0014;
DROP INDEX idx_paddock_raw_responses_fetched_at;
CREATE TABLE paddock_raw_responses (
    response_id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint TEXT NOT NULL,
    query TEXT NOT NULL,
    status INTEGER NOT NULL,
    fetched_at TEXT NOT NULL,
    body_bytes INTEGER NOT NULL,
    body_zstd BLOB NOT NULL
);
INSERT INTO paddock_raw_responses
    (response_id, endpoint, query, status, fetched_at, body_bytes, body_zstd)
SELECT response_id, endpoint, query, status, fetched_at, body_bytes, body_zstd
  FROM raw_responses_before_0014;
-- Ids are never handed out twice, also those of rows deleted before: the old table's sequence
-- (never below its largest id) goes with the rows.
DELETE FROM sqlite_sequence WHERE name = 'paddock_raw_responses';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'paddock_raw_responses', seq FROM sqlite_sequence WHERE name = 'raw_responses_before_0014';
DROP TABLE raw_responses_before_0014;
CREATE INDEX idx_paddock_raw_responses_fetched_at ON paddock_raw_responses (fetched_at);
ALTER TABLE paddock_run_tables ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
