-- About 1.3 million runners' worth of masters in a legacy-named PostgreSQL database (after
-- `paddock migrate --legacy-names`), generated set-based: 130,000 races of 10 runners each.
-- Used for the `tables backfill` / `tables verify` figures (see README, "Renaming the tables").
INSERT INTO ra_regions (code, name, created_at, updated_at) VALUES ('gb', 'Great Britain', now(), now()), ('ire', 'Ireland', now(), now()) ON CONFLICT DO NOTHING;
INSERT INTO ra_courses (id, name, region_code, created_at, updated_at)
  SELECT 'crs_' || g, 'Course ' || g, CASE WHEN g % 4 = 0 THEN 'ire' ELSE 'gb' END, now(), now() FROM generate_series(1, 90) g;
INSERT INTO ra_bookmakers (id, name, created_at, updated_at)
  SELECT 'bk_' || g, 'Bookmaker ' || g, now(), now() FROM generate_series(1, 25) g;
INSERT INTO ra_jockeys (id, name, created_at, updated_at)
  SELECT 'jky_' || g, 'Jockey ' || g, now(), now() FROM generate_series(1, 4000) g;
INSERT INTO ra_trainers (id, name, location, created_at, updated_at)
  SELECT 'trn_' || g, 'Trainer ' || g, 'Town ' || (g % 300), now(), now() FROM generate_series(1, 3500) g;
INSERT INTO ra_owners (id, name, created_at, updated_at)
  SELECT 'own_' || g, 'Owner ' || g, now(), now() FROM generate_series(1, 45000) g;
INSERT INTO ra_horses (id, name, dob, sex, sex_code, colour, colour_code, region, breeder, created_at, updated_at)
  SELECT 'hrs_' || g, 'Horse ' || g, DATE '2015-01-01' + (g % 3000), 'gelding', 'G', 'bay', 'B', 'GB', 'Breeder ' || (g % 900), now(), now()
  FROM generate_series(1, 180000) g;
INSERT INTO ra_sires (id, name, region, horse_id, created_at, updated_at)
  SELECT 'sir_' || g, 'Horse ' || g, 'GB', 'hrs_' || g, now(), now() FROM generate_series(1, 12000) g;
INSERT INTO ra_dams (id, name, region, horse_id, created_at, updated_at)
  SELECT 'dam_' || g, 'Horse ' || g, 'IRE', 'hrs_' || g, now(), now() FROM generate_series(12001, 102000) g;
INSERT INTO ra_damsires (id, name, region, horse_id, created_at, updated_at)
  SELECT 'dsi_' || g, 'Horse ' || g, 'FR', 'hrs_' || g, now(), now() FROM generate_series(102001, 112000) g;
INSERT INTO ra_races (id, course_id, race_date, race_name, region_code, race_class, distance_yards, prize_amount, prize_currency, field_size, big_race, is_abandoned, created_at, updated_at)
  SELECT 'rac_' || g, 'crs_' || (1 + g % 90), DATE '2010-01-01' + (g / 40), 'Race ' || g, 'gb', 'Class ' || (1 + g % 7), 1000 + g % 3000, 4193.50 + g % 1000, 'GBP', 10, g % 50 = 0, false, now(), now()
  FROM generate_series(1, 130000) g;
INSERT INTO ra_runners (race_id, horse_id, created_at, updated_at)
  SELECT 'rac_' || r, 'hrs_' || (1 + (r * 10 + n) % 180000), now(), now()
  FROM generate_series(1, 130000) r, generate_series(0, 9) n
  ON CONFLICT DO NOTHING;
ANALYZE;
