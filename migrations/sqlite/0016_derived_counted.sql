-- What the derived tables counted (issue 21): one row per run, with the entity ids, race
-- facts and figures as `src/derive/` counted them. The incremental update subtracts a touched
-- race's rows from the running totals and adds its current ones, so a corrected result, a late
-- non-runner (which also changes a big handicap's places), a disqualification or a changed
-- jockey takes back exactly what was added. The full rebuild refills it. Empty here: the first
-- derived update after this migration is a full rebuild (`src/derive/`).
CREATE TABLE paddock_derived_counted (
    race_id TEXT NOT NULL,
    horse_id TEXT NOT NULL,
    jockey_id TEXT,
    trainer_id TEXT,
    owner_id TEXT,
    sire_id TEXT,
    dam_id TEXT,
    damsire_id TEXT,
    course_id TEXT,
    race_date TEXT,
    distance_band TEXT,
    is_win INTEGER NOT NULL,
    is_place INTEGER NOT NULL,
    prize_amount TEXT,
    prize_currency TEXT,
    sp_decimal REAL,
    PRIMARY KEY (race_id, horse_id)
);
-- An entity's runs by date: the 14/30-day form window and the last dates of a touched group.
CREATE INDEX idx_paddock_derived_counted_horse_date ON paddock_derived_counted (horse_id, race_date);
CREATE INDEX idx_paddock_derived_counted_jockey_date ON paddock_derived_counted (jockey_id, race_date);
CREATE INDEX idx_paddock_derived_counted_trainer_date ON paddock_derived_counted (trainer_id, race_date);
CREATE INDEX idx_paddock_derived_counted_owner_date ON paddock_derived_counted (owner_id, race_date);
CREATE INDEX idx_paddock_derived_counted_sire_date ON paddock_derived_counted (sire_id, race_date);
CREATE INDEX idx_paddock_derived_counted_dam_date ON paddock_derived_counted (dam_id, race_date);
CREATE INDEX idx_paddock_derived_counted_damsire_date ON paddock_derived_counted (damsire_id, race_date);
