-- A large, consistent Paddock database for timing `paddock audit` on PostgreSQL:
-- 130,000 races from 2015 to yesterday, 10 runners each (1.3 million runners), their masters,
-- one successful run per job. Set-based; run on a freshly migrated database:
--
--   createdb paddock_audit_bench
--   paddock --database-url postgres://localhost/paddock_audit_bench migrate
--   psql -d paddock_audit_bench -f benches/audit_fixture_postgres.sql
--   time paddock --database-url postgres://localhost/paddock_audit_bench audit --strict

BEGIN;
INSERT INTO paddock_runs (run_id, job, run_trigger, params, started_at, finished_at, status, api_requests, rows_rejected)
SELECT n, job, 'scheduled', '{}'::jsonb, now() - interval '10 minutes', now() - interval '5 minutes', 'succeeded', 1, 0
FROM (VALUES (1, 'master_reference'), (2, 'master_entities_daily'), (3, 'master_entities_weekly'),
             (4, 'races_and_runners')) AS j(n, job);
INSERT INTO ra_regions (code, name, created_at, updated_at, last_run_id)
VALUES ('gb', 'Great Britain', now(), now(), 1), ('ire', 'Ireland', now(), now(), 1);
INSERT INTO ra_mst_courses (id, name, region_code, created_at, updated_at, last_run_id)
SELECT 'crs_' || n, 'Course ' || n, CASE WHEN n % 4 = 0 THEN 'ire' ELSE 'gb' END, now(), now(), 1
FROM generate_series(1, 60) n;
INSERT INTO ra_mst_jockeys (id, name, created_at, updated_at, last_run_id)
SELECT 'jky_' || n, 'Jockey ' || n, now(), now(), 4 FROM generate_series(1, 3000) n;
INSERT INTO ra_mst_trainers (id, name, location, created_at, updated_at, last_run_id)
SELECT 'trn_' || n, 'Trainer ' || n, 'Yard ' || (n % 50), now(), now(), 4 FROM generate_series(1, 2000) n;
INSERT INTO ra_mst_owners (id, name, created_at, updated_at, last_run_id)
SELECT 'own_' || n, 'Owner ' || n, now(), now(), 4 FROM generate_series(1, 30000) n;
INSERT INTO ra_mst_horses (id, name, sex_code, region, created_at, updated_at, last_run_id)
SELECT 'hrs_' || n, 'Horse ' || n, 'G', 'GB', now(), now(), 4 FROM generate_series(0, 149999) n;
INSERT INTO ra_mst_sires (id, name, created_at, updated_at, last_run_id)
SELECT 'sir_' || n, 'Sire ' || n, now(), now(), 4 FROM generate_series(0, 4999) n;
INSERT INTO ra_mst_dams (id, name, created_at, updated_at, last_run_id)
SELECT 'dam_' || n, 'Dam ' || n, now(), now(), 4 FROM generate_series(0, 59999) n;
INSERT INTO ra_mst_damsires (id, name, created_at, updated_at, last_run_id)
SELECT 'dsi_' || n, 'Damsire ' || n, now(), now(), 4 FROM generate_series(0, 4999) n;
INSERT INTO ra_mst_races (id, course_id, race_date, off_dt, race_name, region_code, race_type,
    distance_furlongs, going, field_size, has_result, is_abandoned, created_at, updated_at, last_run_id)
SELECT 'rac_' || n, 'crs_' || (1 + n % 60), d, d + time '13:00' + (n % 30) * interval '10 minutes',
    'Race ' || n, 'gb', 'Flat', 5 + n % 20, 'Good', 10, TRUE, FALSE, now(), now(), 4
FROM (SELECT n, (current_date - 1 - (n / 30) % 4300)::date AS d FROM generate_series(0, 129999) n) r;
INSERT INTO ra_runners (race_id, horse_id, jockey_id, trainer_id, owner_id, sire_id, dam_id, damsire_id,
    number, draw, age, weight_lbs, official_rating, spotlight, position, position_raw, sp_decimal,
    created_at, updated_at, last_run_id)
SELECT 'rac_' || n, 'hrs_' || h, 'jky_' || (1 + h % 3000), 'trn_' || (1 + h % 2000), 'own_' || (1 + h % 30000),
    'sir_' || (h % 5000), 'dam_' || (h % 60000), 'dsi_' || (h % 5000),
    k + 1, k + 1, 2 + h % 8, 120 + k, CASE WHEN d >= DATE '2023-01-23' THEN 60 + h % 50 END,
    CASE WHEN d >= DATE '2023-01-23' THEN 'Spotlight ' || h END,
    k + 1, (k + 1)::text, 2.5 + k, now(), now(), 4
FROM (SELECT n, k, (n * 37 + k * 15000) % 150000 AS h, (current_date - 1 - (n / 30) % 4300)::date AS d
      FROM generate_series(0, 129999) n CROSS JOIN generate_series(0, 9) k) x;
COMMIT;
ANALYZE;
