-- Retention (issue 22). The raw archive keeps its zstd bodies as bytes (BYTEA), not as base64
-- text a third larger: every stored row is decoded here, in the migration's transaction. The
-- run ledger counts the rows a retention run deleted per table (`deleted`, 0 for every other
-- run).
ALTER TABLE paddock_raw_responses
    ALTER COLUMN body_zstd TYPE BYTEA USING decode(body_zstd, 'base64');
ALTER TABLE paddock_run_tables ADD COLUMN deleted BIGINT NOT NULL DEFAULT 0;
