-- The rename's ledger of transition attempts as a table of its own (issue 18): one row per
-- attempt with a typed outcome, instead of `rename_history:NNNNNN` rows in paddock_state whose
-- value was the text "from->to: ok" (or "from->to: refused: reason"). Those rows move here.
CREATE TABLE paddock_rename_history (
    seq INTEGER NOT NULL,
    from_phase TEXT NOT NULL,
    to_phase TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (seq)
);

INSERT INTO paddock_rename_history (seq, from_phase, to_phase, outcome, detail, at)
SELECT seq,
       substr(phases, 1, instr(phases, '->') - 1),
       substr(phases, instr(phases, '->') + 2),
       CASE WHEN rest = 'ok' THEN 'succeeded'
            WHEN rest LIKE 'refused%' THEN 'refused'
            ELSE 'failed' END,
       CASE WHEN rest = 'ok' THEN NULL
            WHEN instr(rest, ': ') > 0 THEN substr(rest, instr(rest, ': ') + 2)
            ELSE rest END,
       updated_at
FROM (SELECT CAST(substr(key, 16) AS INTEGER) AS seq,
             substr(value, 1, instr(value, ': ') - 1) AS phases,
             substr(value, instr(value, ': ') + 2) AS rest,
             updated_at
      FROM paddock_state
      WHERE key LIKE 'rename_history:%' AND instr(value, ': ') > 0) AS old_ledger;

DELETE FROM paddock_state WHERE key LIKE 'rename_history:%';
