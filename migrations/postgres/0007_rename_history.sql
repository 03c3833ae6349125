-- The rename's ledger of transition attempts as a table of its own (issue 18): one row per
-- attempt with a typed outcome, instead of `rename_history:NNNNNN` rows in paddock_state whose
-- value was the text "from->to: ok" (or "from->to: refused: reason"). Those rows move here.
CREATE TABLE paddock_rename_history (
    seq BIGINT NOT NULL,
    from_phase TEXT NOT NULL,
    to_phase TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT,
    at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (seq)
);

INSERT INTO paddock_rename_history (seq, from_phase, to_phase, outcome, detail, at)
SELECT seq,
       split_part(phases, '->', 1),
       split_part(phases, '->', 2),
       CASE WHEN rest = 'ok' THEN 'succeeded'
            WHEN rest LIKE 'refused%' THEN 'refused'
            ELSE 'failed' END,
       CASE WHEN rest = 'ok' THEN NULL
            WHEN position(': ' IN rest) > 0 THEN substr(rest, position(': ' IN rest) + 2)
            ELSE rest END,
       updated_at
FROM (SELECT CAST(substr(key, 16) AS BIGINT) AS seq,
             split_part(value, ': ', 1) AS phases,
             substr(value, position(': ' IN value) + 2) AS rest,
             updated_at
      FROM paddock_state
      WHERE key LIKE 'rename_history:%' AND position(': ' IN value) > 0) AS old_ledger;

DELETE FROM paddock_state WHERE key LIKE 'rename_history:%';
