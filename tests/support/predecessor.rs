//! A database in the shape of the system Paddock replaces (issue 19's description of its
//! October 2025 schema), built from that description only, never from `../shared`: legacy
//! master names with `varchar(50)` ids, `timestamp` without zone, `integer` and `numeric(5,2)`
//! figures, `ra_runners` with a surrogate `id` beside its unique `(race_id, horse_id)` and
//! columns Paddock does not have, statistics columns on the people and pedigree masters,
//! `ra_races.date`, `ra_bookmakers` keyed by a serial `id` with the API's name in a unique
//! `code`, other systems' tables (`ra_odds_*`, `ra_race_results`, `ra_runner_supplementary`,
//! the predecessor's own `ra_entity_combinations`) and index names Paddock would choose
//! itself (`idx_ra_mst_courses_region_code`). Every table holds rows.
//!
//! [`Predecessor::new`] makes one on a fresh, unmigrated database of either backend;
//! [`Predecessor::checksums`] fingerprints every table's rows, to show nothing changed.

use super::db::{fresh_postgres_database, test_options, Backend, PgTestDatabase};
use paddock::store::AnyStore;
use std::collections::BTreeMap;

/// The schema, with `{SERIAL}` for a surrogate integer primary key.
const SCHEMA: &str = "
CREATE TABLE ra_regions (
    code varchar(10) PRIMARY KEY,
    name varchar(100),
    created_at timestamp DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE ra_courses (
    id varchar(50) PRIMARY KEY,
    name varchar(200) NOT NULL,
    region_code varchar(10) REFERENCES ra_regions (code),
    latitude numeric(9,6),
    longitude numeric(9,6),
    created_at timestamp DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp
);
CREATE INDEX idx_ra_mst_courses_region_code ON ra_courses (region_code);
CREATE TABLE ra_bookmakers (
    id {SERIAL},
    code varchar(50) NOT NULL UNIQUE,
    name varchar(100) NOT NULL,
    is_active boolean DEFAULT true,
    created_at timestamp DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE ra_jockeys (
    id varchar(50) PRIMARY KEY,
    name varchar(200),
    total_rides integer DEFAULT 0,
    total_wins integer DEFAULT 0,
    win_rate numeric(5,2),
    stats_updated_at timestamp,
    created_at timestamp DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp
);
CREATE TABLE ra_trainers (
    id varchar(50) PRIMARY KEY,
    name varchar(200),
    location varchar(100),
    total_runners integer DEFAULT 0,
    total_wins integer DEFAULT 0,
    win_rate numeric(5,2),
    stats_updated_at timestamp,
    created_at timestamp DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp
);
CREATE TABLE ra_owners (
    id varchar(50) PRIMARY KEY,
    name varchar(200),
    total_runners integer DEFAULT 0,
    total_wins integer DEFAULT 0,
    created_at timestamp DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp
);
CREATE TABLE ra_horses (
    id varchar(50) PRIMARY KEY,
    name varchar(200) NOT NULL,
    dob date,
    sex varchar(20),
    colour varchar(50),
    region varchar(10),
    created_at timestamp DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp
);
CREATE TABLE ra_sires (
    id varchar(50) PRIMARY KEY,
    name varchar(200),
    total_runners integer,
    overall_win_percent numeric(5,2),
    best_distance varchar(20),
    stats_updated_at timestamp,
    created_at timestamp DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE ra_dams (
    id varchar(50) PRIMARY KEY,
    name varchar(200),
    total_runners integer,
    overall_win_percent numeric(5,2),
    best_distance varchar(20),
    created_at timestamp DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE ra_damsires (
    id varchar(50) PRIMARY KEY,
    name varchar(200),
    overall_win_percent numeric(5,2),
    created_at timestamp DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE ra_races (
    id varchar(50) PRIMARY KEY,
    course_id varchar(50) REFERENCES ra_courses (id),
    course_name varchar(200),
    date date NOT NULL,
    off_time varchar(10),
    race_number integer,
    race_name varchar(300),
    race_class varchar(20),
    going varchar(50),
    prize text,
    comments text,
    meet_id varchar(50),
    created_at timestamp DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp
);
CREATE INDEX idx_ra_races_date ON ra_races (date);
CREATE TABLE ra_runners (
    id {SERIAL},
    race_id varchar(50) NOT NULL REFERENCES ra_races (id),
    horse_id varchar(50) NOT NULL REFERENCES ra_horses (id),
    jockey_id varchar(50) REFERENCES ra_jockeys (id),
    trainer_id varchar(50) REFERENCES ra_trainers (id),
    owner_id varchar(50) REFERENCES ra_owners (id),
    number integer,
    draw integer,
    age integer,
    weight_lbs integer,
    position integer,
    horse_name varchar(200),
    jockey_name varchar(200),
    trainer_name varchar(200),
    owner_name varchar(200),
    weight_st_lbs varchar(10),
    ofr text,
    rpr text,
    ts text,
    starting_price varchar(20),
    prize_won numeric(10,2),
    distance_beaten varchar(20),
    is_scratched boolean DEFAULT false,
    created_at timestamp DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp,
    CONSTRAINT ra_runners_race_horse_key UNIQUE (race_id, horse_id)
);
CREATE INDEX idx_ra_runners_horse_id ON ra_runners (horse_id);
CREATE TABLE ra_horse_pedigree (
    id {SERIAL},
    horse_id varchar(50) NOT NULL UNIQUE REFERENCES ra_horses (id),
    sire_id varchar(50) REFERENCES ra_sires (id),
    dam_id varchar(50) REFERENCES ra_dams (id),
    damsire_id varchar(50) REFERENCES ra_damsires (id),
    sire varchar(200),
    dam varchar(200),
    breeder varchar(200),
    created_at timestamp DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE ra_odds_live (
    id {SERIAL},
    race_id varchar(50) NOT NULL,
    horse_id varchar(50) NOT NULL,
    bookmaker varchar(50) NOT NULL,
    odds_decimal numeric(8,2),
    fetched_at timestamp NOT NULL
);
CREATE INDEX idx_ra_runner_odds_bookmaker_id ON ra_odds_live (bookmaker);
CREATE TABLE ra_odds_historical (
    race_id varchar(50) NOT NULL,
    horse_id varchar(50) NOT NULL,
    sp numeric(8,2),
    PRIMARY KEY (race_id, horse_id)
);
CREATE TABLE ra_race_results (
    race_id varchar(50) PRIMARY KEY,
    winner_id varchar(50),
    result_text text NOT NULL
);
CREATE TABLE ra_runner_supplementary (
    runner_id bigint NOT NULL,
    key varchar(50) NOT NULL,
    value text,
    PRIMARY KEY (runner_id, key)
);
CREATE TABLE ra_entity_combinations (
    id {SERIAL},
    entity_a varchar(50) NOT NULL,
    entity_b varchar(50) NOT NULL,
    combo_kind varchar(20) NOT NULL,
    strike_rate numeric(5,2),
    sample_size integer
);
";

/// The rows: every table holds some.
const ROWS: &str = "
INSERT INTO ra_regions (code, name) VALUES ('gb', 'Great Britain'), ('ire', 'Ireland');
INSERT INTO ra_courses (id, name, region_code, latitude, longitude, updated_at) VALUES
    ('crs_1', 'Ascot', 'gb', 51.412, -0.672, '2025-10-01 09:00:00'),
    ('crs_2', 'Leopardstown', 'ire', 53.266, -6.193, NULL);
INSERT INTO ra_bookmakers (code, name) VALUES ('bet365', 'Bet365'), ('paddy', 'Paddy Power');
INSERT INTO ra_jockeys (id, name, total_rides, total_wins, win_rate, stats_updated_at) VALUES
    ('jky_1', 'A Rider', 120, 18, 15.00, '2025-10-01 04:00:00'),
    ('jky_2', 'B Rider', 40, 3, 7.50, '2025-10-01 04:00:00');
INSERT INTO ra_trainers (id, name, location, total_runners, total_wins, win_rate) VALUES
    ('trn_1', 'C Trainer', 'Lambourn', 300, 45, 15.00);
INSERT INTO ra_owners (id, name, total_runners, total_wins) VALUES ('own_1', 'D Owner', 12, 2);
INSERT INTO ra_horses (id, name, dob, sex, colour, region) VALUES
    ('hrs_1', 'First Horse', '2020-04-01', 'gelding', 'bay', 'GB'),
    ('hrs_2', 'Second Horse', '2019-03-12', 'mare', 'chestnut', 'IRE');
INSERT INTO ra_sires (id, name, total_runners, overall_win_percent, best_distance) VALUES
    ('sir_1', 'Sire One', 500, 12.34, '7f');
INSERT INTO ra_dams (id, name, total_runners, overall_win_percent, best_distance) VALUES
    ('dam_1', 'Dam One', 8, 25.00, '1m');
INSERT INTO ra_damsires (id, name, overall_win_percent) VALUES ('dsi_1', 'Damsire One', 9.99);
INSERT INTO ra_races (id, course_id, course_name, date, off_time, race_number, race_name,
    race_class, going, prize, comments, meet_id) VALUES
    ('rac_1', 'crs_1', 'Ascot', '2025-10-04', '13:30', 1, 'Old Maiden', 'Class 4', 'Good',
     '£4,193', 'kept by the predecessor', 'mtg_1'),
    ('rac_2', 'crs_2', 'Leopardstown', '2025-10-05', '14:05', 3, 'Old Handicap', 'Class 2',
     'Soft', '€12,000', NULL, 'mtg_2');
INSERT INTO ra_runners (race_id, horse_id, jockey_id, trainer_id, owner_id, number, draw, age,
    weight_lbs, position, horse_name, jockey_name, trainer_name, owner_name, weight_st_lbs, ofr,
    rpr, ts, starting_price, prize_won, distance_beaten, is_scratched) VALUES
    ('rac_1', 'hrs_1', 'jky_1', 'trn_1', 'own_1', 1, 4, 5, 130, 1, 'First Horse', 'A Rider',
     'C Trainer', 'D Owner', '9-4', '72', '80', '–', '5/2F', 4193.00, NULL, false),
    ('rac_1', 'hrs_2', 'jky_2', 'trn_1', 'own_1', 2, 1, 6, 126, 2, 'Second Horse', 'B Rider',
     'C Trainer', 'D Owner', '9-0', '68', '75', '60', '7/1', 1200.50, '1¼', false),
    ('rac_2', 'hrs_2', 'jky_1', 'trn_1', NULL, 5, NULL, 6, 140, NULL, 'Second Horse', 'A Rider',
     'C Trainer', NULL, '10-0', NULL, NULL, NULL, NULL, NULL, NULL, true);
INSERT INTO ra_horse_pedigree (horse_id, sire_id, dam_id, damsire_id, sire, dam, breeder) VALUES
    ('hrs_1', 'sir_1', 'dam_1', 'dsi_1', 'Sire One', 'Dam One', 'E Breeder');
INSERT INTO ra_odds_live (race_id, horse_id, bookmaker, odds_decimal, fetched_at) VALUES
    ('rac_1', 'hrs_1', 'bet365', 3.50, '2025-10-04 12:00:00'),
    ('rac_1', 'hrs_2', 'paddy', 8.00, '2025-10-04 12:00:00');
INSERT INTO ra_odds_historical (race_id, horse_id, sp) VALUES ('rac_1', 'hrs_1', 3.50);
INSERT INTO ra_race_results (race_id, winner_id, result_text) VALUES ('rac_1', 'hrs_1', '1st First Horse');
INSERT INTO ra_runner_supplementary (runner_id, key, value) VALUES (1, 'notes', 'bled'), (2, 'tack', 'visor');
INSERT INTO ra_entity_combinations (entity_a, entity_b, combo_kind, strike_rate, sample_size) VALUES
    ('jky_1', 'trn_1', 'jockey_trainer', 15.00, 20);
";

/// The tables of other systems the fixture in `shape` holds (never to be touched).
pub fn foreign_tables(shape: Shape) -> Vec<&'static str> {
    let mut tables = vec![
        "ra_odds_live",
        "ra_odds_historical",
        "ra_race_results",
        "ra_runner_supplementary",
    ];
    if shape != Shape::Adoptable {
        tables.push("ra_entity_combinations");
    }
    tables
}

/// How hostile the fixture is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// As the issue describes the predecessor: `adopt` without maps is blocked by
    /// `ra_bookmakers`' serial id, the NOT NULL `ra_races.date` and the foreign
    /// `ra_entity_combinations`.
    Hostile,
    /// The same less those three (what `[adopt.keys]`, `[adopt.columns]` and `adopt
    /// --move-aside` resolve): bookmakers keyed by the API's text id (`code` kept beside it,
    /// nullable: Paddock does not fill it), `date` nullable, no `ra_entity_combinations`.
    /// Everything else (varchar ids, timestamps without zone, surrogate ids, legacy-only
    /// columns, other systems' tables, the clashing index name) stays.
    Adoptable,
    /// [`Shape::Adoptable`] with the predecessor's own `ra_entity_combinations` (other columns
    /// than Paddock's derived table of that name): adoptable, Paddock's table skipped.
    Occupied,
    /// [`Shape::Hostile`] with bookmakers keyed by the API's text id as in
    /// [`Shape::Adoptable`]: the NOT NULL `ra_races.date` and the foreign
    /// `ra_entity_combinations` stay (what `[adopt.columns]` and the skip resolve).
    TextKeyed,
}

/// `text` with `from` replaced by `to`; `from` must be there.
fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "fixture text {from:?} not found");
    text.replace(from, to)
}

/// `script` with `ra_bookmakers` keyed by the API's text id (`code` kept beside it, nullable).
fn text_keyed_bookmakers(script: &str) -> String {
    let script = replaced(
        script,
        "id {SERIAL},\n    code varchar(50) NOT NULL UNIQUE",
        "id varchar(50) PRIMARY KEY,\n    code varchar(50) UNIQUE",
    );
    replaced(
        &script,
        "INSERT INTO ra_bookmakers (code, name) VALUES ('bet365', 'Bet365'), ('paddy', 'Paddy Power')",
        "INSERT INTO ra_bookmakers (id, code, name) VALUES ('bet365', 'bet365', 'Bet365'), \
         ('paddy', 'paddy', 'Paddy Power')",
    )
}

/// The predecessor's statements for `backend` in `shape`, schema then rows.
pub fn statements(backend: Backend, shape: Shape) -> Vec<String> {
    let serial = match backend {
        Backend::Postgres => "bigserial PRIMARY KEY",
        Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
    };
    let mut script = format!("{SCHEMA}{ROWS}");
    if shape != Shape::Hostile {
        script = text_keyed_bookmakers(&script);
    }
    if shape != Shape::Hostile && shape != Shape::TextKeyed {
        script = replaced(&script, "date date NOT NULL", "date date");
    }
    if shape == Shape::Adoptable {
        let start = script.find("CREATE TABLE ra_entity_combinations").unwrap();
        let end = start + script[start..].find(");").unwrap() + 2;
        script.replace_range(start..end, "");
        let start = script.find("INSERT INTO ra_entity_combinations").unwrap();
        script.truncate(start);
    }
    let script = script.replace("{SERIAL}", serial);
    script
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// What keeps the database alive.
enum Keep {
    Directory(tempfile::TempDir),
    Database(PgTestDatabase),
}

/// A predecessor-shaped database that Paddock never migrated, and a store on it.
pub struct Predecessor {
    pub store: AnyStore,
    pub backend: Backend,
    url: String,
    _keep: Keep,
}

impl Predecessor {
    /// A fresh database of `backend` holding the predecessor's schema and rows.
    pub async fn new(backend: Backend) -> Predecessor {
        Self::with(backend, Shape::Hostile, &[]).await
    }

    /// A fresh database in `shape`, then `extra` statements (a test's own hostility).
    pub async fn with(backend: Backend, shape: Shape, extra: &[&str]) -> Predecessor {
        let (url, keep) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("legacy.db").display());
                (url, Keep::Directory(dir))
            }
            Backend::Postgres => {
                let database = fresh_postgres_database().await;
                (database.url.clone(), Keep::Database(database))
            }
        };
        // Created by the store's own connect, without its migrations.
        let store = paddock::store::connect_with(&url, &test_options())
            .await
            .expect("open the predecessor's database");
        let predecessor = Predecessor {
            store,
            backend,
            url,
            _keep: keep,
        };
        for sql in statements(backend, shape)
            .iter()
            .map(String::as_str)
            .chain(extra.iter().copied())
        {
            predecessor.execute(sql).await;
        }
        predecessor
    }

    /// The database's URL (for a `paddock` process under test).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Runs a statement.
    pub async fn execute(&self, sql: &str) {
        let result = match &self.store {
            AnyStore::Sqlite(s) => sqlx::query(sql)
                .execute(s.pool_for_tests())
                .await
                .map(|_| ()),
            AnyStore::Postgres(s) => sqlx::query(sql)
                .execute(s.pool_for_tests())
                .await
                .map(|_| ()),
        };
        if let Err(e) = result {
            panic!("{sql}: {e}");
        }
    }

    /// The base tables of the database.
    pub async fn tables(&self) -> Vec<String> {
        let sql = match self.backend {
            Backend::Postgres => {
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() \
                 ORDER BY 1"
            }
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' ORDER BY 1"
            }
        };
        let rows = self.store.text_rows(sql).await.expect("list the tables");
        rows.into_iter().filter_map(|mut r| r.remove(0)).collect()
    }

    /// A fingerprint of every row of `table` (PostgreSQL: md5 of the rows' text in order;
    /// SQLite: every cell's text and type, in rowid order) and its column list.
    pub async fn checksum(&self, table: &str) -> String {
        let sql = match self.backend {
            Backend::Postgres => format!(
                "SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) || ':' || \
                 (SELECT string_agg(column_name || ' ' || data_type, ',' ORDER BY \
                 ordinal_position) FROM information_schema.columns WHERE table_schema = \
                 current_schema() AND table_name = '{table}') FROM {table} t"
            ),
            Backend::Sqlite => {
                let columns = self.columns(table).await;
                let cells: Vec<String> = (columns.iter())
                    .map(|c| format!("COALESCE(typeof(\"{c}\") || ':' || \"{c}\", 'null')"))
                    .collect();
                format!(
                    "SELECT '{}' || ':' || COALESCE(group_concat(r, '|'), '') FROM \
                     (SELECT {} AS r FROM \"{table}\" ORDER BY 1)",
                    columns.join(","),
                    cells.join(" || ',' || ")
                )
            }
        };
        let rows = self.store.text_rows(&sql).await.expect("checksum");
        rows[0][0].clone().unwrap_or_default()
    }

    /// The columns of `table`, in order.
    pub async fn columns(&self, table: &str) -> Vec<String> {
        let sql = match self.backend {
            Backend::Postgres => format!(
                "SELECT column_name::text FROM information_schema.columns WHERE table_schema = \
                 current_schema() AND table_name = '{table}' ORDER BY ordinal_position"
            ),
            Backend::Sqlite => {
                format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid")
            }
        };
        let rows = self.store.text_rows(&sql).await.expect("columns");
        rows.into_iter().filter_map(|mut r| r.remove(0)).collect()
    }

    /// Every row of `table` as the text of `columns` (NULLs spelled out).
    pub async fn rows(
        &self,
        table: &str,
        columns: &[String],
    ) -> std::collections::BTreeSet<String> {
        let cells: Vec<String> = (columns.iter())
            .map(|c| match self.backend {
                Backend::Postgres => format!("COALESCE(CAST(\"{c}\" AS TEXT), 'NULL')"),
                Backend::Sqlite => format!("quote(\"{c}\")"),
            })
            .collect();
        let sql = format!("SELECT {} FROM {table}", cells.join(" || '|' || "));
        let rows = self.store.text_rows(&sql).await.expect("rows");
        rows.into_iter().filter_map(|mut r| r.remove(0)).collect()
    }

    /// [`Predecessor::checksum`] of every table.
    pub async fn checksums(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for table in self.tables().await {
            let sum = self.checksum(&table).await;
            out.insert(table, sum);
        }
        out
    }
}
