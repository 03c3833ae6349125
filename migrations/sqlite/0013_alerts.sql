-- Alerts (issue 22): the outbox of alerts the rules in `[[alerts.rules]]` trigger. Each unit
-- evaluates the rules in its own transaction after its rows are written and inserts what
-- fired here; the unique index makes an event alert once per rule, race, runner and
-- bookmaker (absent runner or bookmaker counted as one value), so a re-run or a replay adds
-- nothing. Delivery (the webhook) marks a row sent, with its time, only after a 2xx; retention
-- prunes sent alerts by `sent_at`.
CREATE TABLE paddock_alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    triggered_at TEXT NOT NULL,
    rule_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    race_id TEXT NOT NULL,
    horse_id TEXT,
    bookmaker_id TEXT,
    threshold REAL,
    actual REAL,
    observed_at TEXT,
    message TEXT NOT NULL,
    run_id INTEGER,
    sent INTEGER NOT NULL,
    sent_at TEXT,
    delivery_attempts INTEGER NOT NULL,
    last_error TEXT
);
CREATE UNIQUE INDEX paddock_alerts_event
    ON paddock_alerts (rule_name, race_id, COALESCE(horse_id, ''), COALESCE(bookmaker_id, ''));
CREATE INDEX paddock_alerts_unsent ON paddock_alerts (sent, id);
CREATE INDEX paddock_alerts_sent_at ON paddock_alerts (sent_at);
