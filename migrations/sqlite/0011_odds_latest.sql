-- Odds (issue 22). ra_runner_odds is now a price history stored on change (the store drops a
-- row that repeats its runner's and bookmaker's previous price in the unit's transaction);
-- ra_runner_odds_latest holds the current price per runner and bookmaker, kept by the store in
-- the same transaction, so the latest and best prices are one primary-key range read; the
-- index on ra_mst_races.race_date serves the queries by day.
CREATE TABLE ra_runner_odds_latest (
    race_id TEXT NOT NULL,
    horse_id TEXT NOT NULL,
    bookmaker_id TEXT NOT NULL,
    observed_at TEXT,
    fractional TEXT,
    decimal REAL,
    ew_places INTEGER,
    ew_denom INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_run_id INTEGER,
    PRIMARY KEY (race_id, horse_id, bookmaker_id),
    FOREIGN KEY (race_id, horse_id) REFERENCES ra_runners (race_id, horse_id),
    FOREIGN KEY (bookmaker_id) REFERENCES ra_mst_bookmakers (id)
);
CREATE INDEX idx_ra_runner_odds_latest_bookmaker_id ON ra_runner_odds_latest (bookmaker_id);
-- The current price of the history stored so far.
INSERT INTO ra_runner_odds_latest (race_id, horse_id, bookmaker_id, observed_at, fractional,
    decimal, ew_places, ew_denom, created_at, updated_at, last_run_id)
SELECT o.race_id, o.horse_id, o.bookmaker_id, o.observed_at, o.fractional, o.decimal,
       o.ew_places, o.ew_denom, o.created_at, o.updated_at, o.last_run_id
  FROM ra_runner_odds o
 WHERE NOT EXISTS (SELECT 1 FROM ra_runner_odds n
                    WHERE n.race_id = o.race_id AND n.horse_id = o.horse_id
                      AND n.bookmaker_id = o.bookmaker_id AND n.observed_at > o.observed_at);
CREATE INDEX idx_ra_mst_races_race_date ON ra_mst_races (race_date);
