-- Odds (issue 22). ra_runner_odds is now a price history stored on change (the store drops a
-- row that repeats its runner's and bookmaker's previous price in the unit's transaction);
-- ra_runner_odds_latest holds the current price per runner and bookmaker, kept by the store in
-- the same transaction, so the latest and best prices are one primary-key range read; the
-- index on ra_mst_races.race_date serves the queries by day.
--
-- A database part-way through the table rename (or adopted in its legacy phase) has the
-- bookmakers and races under their legacy names: the foreign key and the index go to whichever
-- name exists (the rename re-points the key later; its `begin` makes ra_mst_races anew).
DO $$
DECLARE
    bookmakers text := CASE WHEN to_regclass('ra_mst_bookmakers') IS NOT NULL
                            THEN 'ra_mst_bookmakers' ELSE 'ra_bookmakers' END;
    races text := CASE WHEN to_regclass('ra_mst_races') IS NOT NULL
                       THEN 'ra_mst_races' ELSE 'ra_races' END;
BEGIN
    EXECUTE format($sql$
        CREATE TABLE ra_runner_odds_latest (
            race_id TEXT NOT NULL,
            horse_id TEXT NOT NULL,
            bookmaker_id TEXT NOT NULL,
            observed_at TIMESTAMPTZ,
            fractional TEXT,
            decimal NUMERIC,
            ew_places BIGINT,
            ew_denom BIGINT,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            last_run_id BIGINT,
            PRIMARY KEY (race_id, horse_id, bookmaker_id),
            FOREIGN KEY (race_id, horse_id) REFERENCES ra_runners (race_id, horse_id),
            FOREIGN KEY (bookmaker_id) REFERENCES %I (id)
        )$sql$, bookmakers);
    IF to_regclass(races) IS NOT NULL THEN
        EXECUTE format('CREATE INDEX %I ON %I (race_date)', 'idx_' || races || '_race_date', races);
    END IF;
END
$$;
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
ALTER TABLE ra_runner_odds_latest ENABLE ROW LEVEL SECURITY;
