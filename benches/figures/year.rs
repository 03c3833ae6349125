//! The simulated year of rows the store figures load: deterministic (a hash of each index,
//! never the clock), masters scaled with the number of races, ten runners a race.

use chrono::{DateTime, Duration as Days, NaiveDate, TimeZone, Utc};
use fetchers::registry::Source;
use fetchers::rows::{Row, UnitOfWork};

const RUNNERS_PER_RACE: usize = 10;

/// splitmix64: a deterministic hash of an index, so the data never depends on the clock.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick(i: usize, salt: u64, n: usize) -> usize {
    (mix(i as u64 ^ (salt << 40)) % n as u64) as usize
}

/// Master counts scale with the number of races (a year: 13k races, 15.6k horses, …).
struct Masters {
    courses: usize,
    horses: usize,
    jockeys: usize,
    trainers: usize,
    owners: usize,
    sires: usize,
    dams: usize,
}

fn masters(races: usize) -> Masters {
    Masters {
        courses: 60,
        horses: races * 6 / 5,
        jockeys: (races / 40).max(20),
        trainers: (races / 50).max(20),
        owners: (races / 6).max(50),
        sires: (races / 16).max(20),
        dams: races / 2,
    }
}

/// The year as one unit of work; `changed` runners (every tenth, when set) carry a new
/// rating and comment.
pub fn build_year(races: usize, changed: bool) -> UnitOfWork {
    let m = masters(races);
    let mut rows = Vec::new();
    for r in ["gb", "ire"] {
        rows.push(
            Row::new("ra_regions", Source::Reference)
                .set("code", r)
                .set("name", r.to_uppercase()),
        );
    }
    for c in 0..m.courses {
        rows.push(
            Row::new("ra_mst_courses", Source::Reference)
                .set("id", format!("crs_{c}"))
                .set("name", format!("Course {c}"))
                .set("region_code", ["gb", "ire"][c % 2]),
        );
    }
    for (prefix, table, n) in [
        ("jky", "ra_mst_jockeys", m.jockeys),
        ("trn", "ra_mst_trainers", m.trainers),
        ("own", "ra_mst_owners", m.owners),
    ] {
        for i in 0..n {
            rows.push(
                Row::new(table, Source::Racecard)
                    .set("id", format!("{prefix}_{i}"))
                    .set("name", format!("{prefix} name {i}")),
            );
        }
    }
    for (prefix, table, n) in [
        ("sir", "ra_mst_sires", m.sires),
        ("dam", "ra_mst_dams", m.dams),
    ] {
        for i in 0..n {
            rows.push(
                Row::new(table, Source::Racecard)
                    .set("id", format!("{prefix}_{i}"))
                    .set("name", format!("{prefix} name {i}"))
                    .set("region", ["GB", "IRE", "FR"][i % 3]),
            );
        }
    }
    let foaled = NaiveDate::from_ymd_opt(2016, 1, 1).expect("valid date");
    for h in 0..m.horses {
        rows.push(
            Row::new("ra_mst_horses", Source::Racecard)
                .set("id", format!("hrs_{h}"))
                .set("name", format!("Horse {h}"))
                .set("dob", foaled + Days::days(pick(h, 1, 2_500) as i64))
                .set("sex_code", ["G", "M", "C", "F"][h % 4])
                .set("region", ["GB", "IRE"][h % 2]),
        );
    }
    let start: DateTime<Utc> = Utc
        .with_ymd_and_hms(2024, 1, 1, 12, 0, 0)
        .single()
        .expect("valid start");
    for race in 0..races {
        // 36 races a day, 20 minutes apart.
        let off = start + Days::days((race / 36) as i64) + Days::minutes((race % 36) as i64 * 20);
        rows.push(
            Row::new("ra_mst_races", Source::Racecard)
                .set("id", format!("rac_{race}"))
                .set("course_id", format!("crs_{}", pick(race, 6, m.courses)))
                .set("race_date", off.date_naive())
                .set("off_dt", off)
                .set("race_name", format!("Handicap Stakes {race}"))
                .set("race_type", ["Flat", "Hurdle", "Chase"][pick(race, 8, 3)])
                .set("going", ["Good", "Soft", "Firm"][pick(race, 10, 3)])
                .set("field_size", RUNNERS_PER_RACE as i64)
                .set(
                    "prize_amount",
                    fetchers::rows::Decimal::from(2_000 + pick(race, 11, 50_000) as i64),
                )
                .set("prize_currency", "GBP"),
        );
        for k in 0..RUNNERS_PER_RACE {
            let runner = race * RUNNERS_PER_RACE + k;
            // Distinct horses within a race: k * 1201 differs mod horses for k < 10.
            let h = (race * 7 + k * 1_201) % m.horses;
            let bump = usize::from(changed && runner.is_multiple_of(10));
            rows.push(
                Row::new("ra_runners", Source::Racecard)
                    .set("race_id", format!("rac_{race}"))
                    .set("horse_id", format!("hrs_{h}"))
                    .set("jockey_id", format!("jky_{}", pick(runner, 12, m.jockeys)))
                    .set("trainer_id", format!("trn_{}", pick(h, 13, m.trainers)))
                    .set("owner_id", format!("own_{}", pick(h, 14, m.owners)))
                    .set("sire_id", format!("sir_{}", pick(h, 3, m.sires)))
                    .set("dam_id", format!("dam_{}", pick(h, 4, m.dams)))
                    .set("number", (k + 1) as i64)
                    .set("draw", (1 + pick(runner, 15, RUNNERS_PER_RACE)) as i64)
                    .set("weight_lbs", (112 + pick(runner, 18, 50)) as i64)
                    .set("official_rating", (40 + pick(runner, 20, 80) + bump) as i64)
                    .set(
                        "spotlight",
                        format!("Runner {runner} ran well last time (revision {bump})."),
                    ),
            );
        }
    }
    UnitOfWork {
        rows,
        ..UnitOfWork::default()
    }
}
