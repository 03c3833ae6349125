-- The SQLite twin of audit_fixture_postgres.sql: 130,000 races, 1.3 million runners, their
-- masters, one successful run per job. On a freshly migrated database:
--
--   paddock --database-url sqlite://bench.db migrate
--   sqlite3 bench.db < benches/audit_fixture_sqlite.sql
--   time paddock --database-url sqlite://bench.db audit --strict

PRAGMA foreign_keys = ON;
BEGIN;
CREATE TEMP TABLE nums (n INTEGER PRIMARY KEY);
WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < 149999)
INSERT INTO nums SELECT n FROM s;
CREATE TEMP TABLE stamp AS SELECT strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now', '-5 minutes') AS t;
INSERT INTO paddock_runs (run_id, job, run_trigger, params, started_at, finished_at, status, api_requests, rows_rejected)
SELECT n + 1, CASE n WHEN 0 THEN 'master_reference' WHEN 1 THEN 'master_entities_daily'
    WHEN 2 THEN 'master_entities_weekly' ELSE 'races_and_runners' END,
    'scheduled', '{}', (SELECT t FROM stamp), (SELECT t FROM stamp), 'succeeded', 1, 0
FROM nums WHERE n < 4;
INSERT INTO ra_regions (code, name, created_at, updated_at, last_run_id)
VALUES ('gb', 'Great Britain', (SELECT t FROM stamp), (SELECT t FROM stamp), 1),
       ('ire', 'Ireland', (SELECT t FROM stamp), (SELECT t FROM stamp), 1);
INSERT INTO ra_mst_courses (id, name, region_code, created_at, updated_at, last_run_id)
SELECT 'crs_' || n, 'Course ' || n, CASE WHEN n % 4 = 0 THEN 'ire' ELSE 'gb' END, (SELECT t FROM stamp), (SELECT t FROM stamp), 1
FROM nums WHERE n BETWEEN 1 AND 60;
INSERT INTO ra_mst_jockeys (id, name, created_at, updated_at, last_run_id)
SELECT 'jky_' || n, 'Jockey ' || n, (SELECT t FROM stamp), (SELECT t FROM stamp), 4 FROM nums WHERE n BETWEEN 1 AND 3000;
INSERT INTO ra_mst_trainers (id, name, location, created_at, updated_at, last_run_id)
SELECT 'trn_' || n, 'Trainer ' || n, 'Yard ' || (n % 50), (SELECT t FROM stamp), (SELECT t FROM stamp), 4 FROM nums WHERE n BETWEEN 1 AND 2000;
INSERT INTO ra_mst_owners (id, name, created_at, updated_at, last_run_id)
SELECT 'own_' || n, 'Owner ' || n, (SELECT t FROM stamp), (SELECT t FROM stamp), 4 FROM nums WHERE n BETWEEN 1 AND 30000;
INSERT INTO ra_mst_horses (id, name, sex_code, region, created_at, updated_at, last_run_id)
SELECT 'hrs_' || n, 'Horse ' || n, 'G', 'GB', (SELECT t FROM stamp), (SELECT t FROM stamp), 4 FROM nums;
INSERT INTO ra_mst_sires (id, name, created_at, updated_at, last_run_id)
SELECT 'sir_' || n, 'Sire ' || n, (SELECT t FROM stamp), (SELECT t FROM stamp), 4 FROM nums WHERE n < 5000;
INSERT INTO ra_mst_dams (id, name, created_at, updated_at, last_run_id)
SELECT 'dam_' || n, 'Dam ' || n, (SELECT t FROM stamp), (SELECT t FROM stamp), 4 FROM nums WHERE n < 60000;
INSERT INTO ra_mst_damsires (id, name, created_at, updated_at, last_run_id)
SELECT 'dsi_' || n, 'Damsire ' || n, (SELECT t FROM stamp), (SELECT t FROM stamp), 4 FROM nums WHERE n < 5000;
CREATE TEMP TABLE race_days AS
SELECT n, date('now', '-1 day', '-' || ((n / 30) % 4300) || ' days') AS d FROM nums WHERE n < 130000;
INSERT INTO ra_mst_races (id, course_id, race_date, off_dt, race_name, region_code, race_type,
    distance_furlongs, going, field_size, has_result, is_abandoned, created_at, updated_at, last_run_id)
SELECT 'rac_' || n, 'crs_' || (1 + n % 60), d, d || 'T13:00:00.000000Z', 'Race ' || n, 'gb', 'Flat',
    5 + n % 20, 'Good', 10, 1, 0, (SELECT t FROM stamp), (SELECT t FROM stamp), 4
FROM race_days;
INSERT INTO ra_runners (race_id, horse_id, jockey_id, trainer_id, owner_id, sire_id, dam_id, damsire_id,
    number, draw, age, weight_lbs, official_rating, spotlight, position, position_raw, sp_decimal,
    created_at, updated_at, last_run_id)
SELECT 'rac_' || n, 'hrs_' || h, 'jky_' || (1 + h % 3000), 'trn_' || (1 + h % 2000), 'own_' || (1 + h % 30000),
    'sir_' || (h % 5000), 'dam_' || (h % 60000), 'dsi_' || (h % 5000),
    k + 1, k + 1, 2 + h % 8, 120 + k, CASE WHEN d >= '2023-01-23' THEN 60 + h % 50 END,
    CASE WHEN d >= '2023-01-23' THEN 'Spotlight ' || h END,
    k + 1, CAST(k + 1 AS TEXT), 2.5 + k, (SELECT t FROM stamp), (SELECT t FROM stamp), 4
FROM (SELECT r.n AS n, k.n AS k, (r.n * 37 + k.n * 15000) % 150000 AS h, r.d AS d
      FROM race_days r CROSS JOIN nums k WHERE k.n < 10);
COMMIT;
ANALYZE;
