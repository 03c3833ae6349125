-- Generated from the table registry (fetchers/src/registry.rs) by `paddock schema-sql`.

CREATE TABLE ra_regions (
    code TEXT NOT NULL,
    name TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    last_run_id BIGINT,
    PRIMARY KEY (code)
);

CREATE TABLE ra_mst_courses (
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    region_code TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    last_run_id BIGINT,
    PRIMARY KEY (id),
    FOREIGN KEY (region_code) REFERENCES ra_regions (code)
);
CREATE INDEX idx_ra_mst_courses_region_code ON ra_mst_courses (region_code);

CREATE TABLE ra_mst_bookmakers (
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    last_run_id BIGINT,
    PRIMARY KEY (id)
);

CREATE TABLE ra_mst_jockeys (
    id TEXT NOT NULL,
    name TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    last_run_id BIGINT,
    PRIMARY KEY (id)
);

CREATE TABLE ra_mst_trainers (
    id TEXT NOT NULL,
    name TEXT,
    location TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    last_run_id BIGINT,
    PRIMARY KEY (id)
);

CREATE TABLE ra_mst_owners (
    id TEXT NOT NULL,
    name TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    last_run_id BIGINT,
    PRIMARY KEY (id)
);

CREATE TABLE ra_mst_horses (
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    name_with_suffix TEXT,
    dob DATE,
    sex TEXT,
    sex_code TEXT,
    colour TEXT,
    colour_code TEXT,
    region TEXT,
    breeder TEXT,
    profile_fetched_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    last_run_id BIGINT,
    PRIMARY KEY (id)
);

CREATE TABLE ra_mst_sires (
    id TEXT NOT NULL,
    name TEXT,
    region TEXT,
    horse_id TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    last_run_id BIGINT,
    PRIMARY KEY (id),
    FOREIGN KEY (horse_id) REFERENCES ra_mst_horses (id)
);
CREATE INDEX idx_ra_mst_sires_horse_id ON ra_mst_sires (horse_id);

CREATE TABLE ra_mst_dams (
    id TEXT NOT NULL,
    name TEXT,
    region TEXT,
    horse_id TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    last_run_id BIGINT,
    PRIMARY KEY (id),
    FOREIGN KEY (horse_id) REFERENCES ra_mst_horses (id)
);
CREATE INDEX idx_ra_mst_dams_horse_id ON ra_mst_dams (horse_id);

CREATE TABLE ra_mst_damsires (
    id TEXT NOT NULL,
    name TEXT,
    region TEXT,
    horse_id TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    last_run_id BIGINT,
    PRIMARY KEY (id),
    FOREIGN KEY (horse_id) REFERENCES ra_mst_horses (id)
);
CREATE INDEX idx_ra_mst_damsires_horse_id ON ra_mst_damsires (horse_id);

CREATE TABLE ra_mst_races (
    id TEXT NOT NULL,
    course_id TEXT NOT NULL,
    race_date DATE NOT NULL,
    off_dt TIMESTAMPTZ,
    off_time_raw TEXT,
    race_name TEXT,
    region_code TEXT,
    race_class TEXT,
    race_type TEXT,
    pattern TEXT,
    age_band TEXT,
    rating_band TEXT,
    sex_restriction TEXT,
    distance_raw TEXT,
    distance_round TEXT,
    distance_yards BIGINT,
    distance_metres BIGINT,
    distance_furlongs NUMERIC,
    going TEXT,
    going_detailed TEXT,
    surface TEXT,
    jumps TEXT,
    field_size BIGINT,
    prize_amount NUMERIC,
    prize_currency TEXT,
    big_race BOOLEAN,
    is_abandoned BOOLEAN,
    rail_movements TEXT,
    stalls TEXT,
    weather TEXT,
    tip TEXT,
    verdict TEXT,
    betting_forecast TEXT,
    winning_time_detail TEXT,
    winning_time_seconds NUMERIC,
    result_comments TEXT,
    non_runners_text TEXT,
    tote_win TEXT,
    tote_place TEXT,
    tote_exacta TEXT,
    tote_csf TEXT,
    tote_tricast TEXT,
    tote_trifecta TEXT,
    has_result BOOLEAN,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    last_run_id BIGINT,
    PRIMARY KEY (id),
    FOREIGN KEY (course_id) REFERENCES ra_mst_courses (id),
    FOREIGN KEY (region_code) REFERENCES ra_regions (code)
);
CREATE INDEX idx_ra_mst_races_course_id ON ra_mst_races (course_id);
CREATE INDEX idx_ra_mst_races_region_code ON ra_mst_races (region_code);

CREATE TABLE ra_runners (
    race_id TEXT NOT NULL,
    horse_id TEXT NOT NULL,
    jockey_id TEXT,
    trainer_id TEXT,
    owner_id TEXT,
    sire_id TEXT,
    dam_id TEXT,
    damsire_id TEXT,
    number BIGINT,
    draw BIGINT,
    is_non_runner BOOLEAN,
    age BIGINT,
    weight_lbs BIGINT,
    headgear TEXT,
    headgear_run TEXT,
    wind_surgery TEXT,
    wind_surgery_run TEXT,
    official_rating BIGINT,
    racecard_rpr BIGINT,
    racecard_ts BIGINT,
    form TEXT,
    last_run_days BIGINT,
    last_run_raw TEXT,
    racecard_comment TEXT,
    spotlight TEXT,
    silk_url TEXT,
    trainer_rtf BIGINT,
    trainer_14_days JSONB,
    prev_trainers JSONB,
    prev_owners JSONB,
    quotes JSONB,
    stable_tour JSONB,
    medical JSONB,
    past_results_flags JSONB,
    position BIGINT,
    position_raw TEXT,
    finish_status TEXT,
    sp_raw TEXT,
    sp_decimal NUMERIC,
    sp_favourite BOOLEAN,
    beaten_lengths NUMERIC,
    overall_beaten_lengths NUMERIC,
    weight_raw TEXT,
    jockey_claim_lbs BIGINT,
    result_official_rating BIGINT,
    result_rpr BIGINT,
    result_tsr BIGINT,
    finish_time_raw TEXT,
    finish_time_seconds NUMERIC,
    prize_amount NUMERIC,
    prize_currency TEXT,
    result_comment TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    last_run_id BIGINT,
    PRIMARY KEY (race_id, horse_id),
    FOREIGN KEY (race_id) REFERENCES ra_mst_races (id),
    FOREIGN KEY (horse_id) REFERENCES ra_mst_horses (id),
    FOREIGN KEY (jockey_id) REFERENCES ra_mst_jockeys (id),
    FOREIGN KEY (trainer_id) REFERENCES ra_mst_trainers (id),
    FOREIGN KEY (owner_id) REFERENCES ra_mst_owners (id),
    FOREIGN KEY (sire_id) REFERENCES ra_mst_sires (id),
    FOREIGN KEY (dam_id) REFERENCES ra_mst_dams (id),
    FOREIGN KEY (damsire_id) REFERENCES ra_mst_damsires (id)
);
CREATE INDEX idx_ra_runners_horse_id ON ra_runners (horse_id);
CREATE INDEX idx_ra_runners_jockey_id ON ra_runners (jockey_id);
CREATE INDEX idx_ra_runners_trainer_id ON ra_runners (trainer_id);
CREATE INDEX idx_ra_runners_owner_id ON ra_runners (owner_id);
CREATE INDEX idx_ra_runners_sire_id ON ra_runners (sire_id);
CREATE INDEX idx_ra_runners_dam_id ON ra_runners (dam_id);
CREATE INDEX idx_ra_runners_damsire_id ON ra_runners (damsire_id);

CREATE TABLE ra_horse_pedigree (
    horse_id TEXT NOT NULL,
    sire_id TEXT,
    dam_id TEXT,
    damsire_id TEXT,
    sire_region TEXT,
    dam_region TEXT,
    damsire_region TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    last_run_id BIGINT,
    PRIMARY KEY (horse_id),
    FOREIGN KEY (horse_id) REFERENCES ra_mst_horses (id),
    FOREIGN KEY (sire_id) REFERENCES ra_mst_sires (id),
    FOREIGN KEY (dam_id) REFERENCES ra_mst_dams (id),
    FOREIGN KEY (damsire_id) REFERENCES ra_mst_damsires (id)
);
CREATE INDEX idx_ra_horse_pedigree_sire_id ON ra_horse_pedigree (sire_id);
CREATE INDEX idx_ra_horse_pedigree_dam_id ON ra_horse_pedigree (dam_id);
CREATE INDEX idx_ra_horse_pedigree_damsire_id ON ra_horse_pedigree (damsire_id);

CREATE TABLE ra_runner_odds (
    race_id TEXT NOT NULL,
    horse_id TEXT NOT NULL,
    bookmaker_id TEXT NOT NULL,
    observed_at TIMESTAMPTZ NOT NULL,
    fractional TEXT,
    decimal NUMERIC,
    ew_places BIGINT,
    ew_denom BIGINT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    last_run_id BIGINT,
    PRIMARY KEY (race_id, horse_id, bookmaker_id, observed_at),
    FOREIGN KEY (race_id, horse_id) REFERENCES ra_runners (race_id, horse_id),
    FOREIGN KEY (bookmaker_id) REFERENCES ra_mst_bookmakers (id)
);
CREATE INDEX idx_ra_runner_odds_bookmaker_id ON ra_runner_odds (bookmaker_id);

CREATE TABLE paddock_runs (
    run_id BIGINT GENERATED BY DEFAULT AS IDENTITY NOT NULL,
    job TEXT NOT NULL,
    run_trigger TEXT NOT NULL,
    params JSONB,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    status TEXT NOT NULL,
    api_requests BIGINT NOT NULL,
    requests_by_endpoint JSONB,
    rows_rejected BIGINT NOT NULL,
    error_text TEXT,
    PRIMARY KEY (run_id)
);

CREATE TABLE paddock_run_tables (
    run_id BIGINT NOT NULL,
    table_name TEXT NOT NULL,
    inserted BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    unchanged BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    PRIMARY KEY (run_id, table_name),
    FOREIGN KEY (run_id) REFERENCES paddock_runs (run_id)
);

CREATE TABLE paddock_rejects (
    reject_id BIGINT GENERATED BY DEFAULT AS IDENTITY NOT NULL,
    run_id BIGINT NOT NULL,
    endpoint TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_key TEXT,
    reason TEXT NOT NULL,
    payload TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (reject_id),
    FOREIGN KEY (run_id) REFERENCES paddock_runs (run_id)
);
CREATE INDEX idx_paddock_rejects_run_id ON paddock_rejects (run_id);

CREATE TABLE paddock_checkpoints (
    name TEXT NOT NULL,
    job TEXT NOT NULL,
    cursor TEXT,
    status TEXT NOT NULL,
    run_id BIGINT,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (name)
);

CREATE TABLE paddock_state (
    key TEXT NOT NULL,
    value TEXT,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (key)
);

