-- The raw response archive (issue 10): every API response, zstd-compressed, for replay.
CREATE TABLE paddock_raw_responses (
    response_id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint TEXT NOT NULL,
    query TEXT NOT NULL,
    status INTEGER NOT NULL,
    fetched_at TEXT NOT NULL,
    body_bytes INTEGER NOT NULL,
    body_zstd TEXT NOT NULL
);
CREATE INDEX idx_paddock_raw_responses_fetched_at ON paddock_raw_responses (fetched_at);
