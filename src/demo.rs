//! `paddock demo`: a two-week backfill through the real pipeline (HTTP client, rate limiter,
//! extractor, store, raw archive) against the bundled simulator on a loopback port, with the
//! progress bar; then per-table counts, a sample question with its answer, and how to open
//! the file. No credentials needed.

use crate::backfill::plan::Part;
use crate::backfill::progress::Reporter;
use crate::backfill::{self, BackfillOptions};
use crate::config::{Config, Secret};
use crate::run::{self, JobRequest, RunContext};
use crate::simulator::{SimConfig, SimServer};
use crate::store::AnyStore;
use fetchers::store::{ApplyMode, RunTrigger, Store};
use std::time::Duration;

/// The simulator is local, so the demo may go faster than the real API's 2 requests/s.
const DEMO_RATE_LIMIT: f64 = 20.0;
/// Profiles the demo fetches at most (horses not seen on a racecard).
const DEMO_PROFILE_BUDGET: u32 = 50;

/// Runs MasterReference, then a backfill of the last `days` days (results, racecards,
/// profiles), and prints what the database now holds. Returns the worst exit status.
pub async fn run_demo(config: &Config, seed: u64, days: u32) -> anyhow::Result<i32> {
    let server = SimServer::start(SimConfig::new(seed, "demo", "demo")).await?;
    let mut config = config.clone();
    config.api.base_url = server.base_url.clone();
    config.api.username = Some(Secret::new("demo"));
    config.api.password = Some(Secret::new("demo"));
    config.api.rate_limit_per_second = DEMO_RATE_LIMIT;
    println!(
        "demo: simulated Racing API at {}, database {}\n",
        server.base_url,
        config.database_url.masked()
    );
    let store = crate::open_store(&config).await?;
    let api = crate::api_client(&config)?;
    let reference = run::run_job(
        &config,
        &api,
        &store,
        &JobRequest::MasterReference,
        &RunContext::new(RunTrigger::Manual, ApplyMode::Commit),
    )
    .await?;
    let mut worst = reference.exit_code();

    let today = crate::today(&config);
    let from = today - chrono::Duration::days(i64::from(days.max(1)));
    println!("backfill {from} … {today} (two weeks of results and racecards, then profiles)");
    let options = BackfillOptions {
        from,
        to: today,
        parts: Part::all(),
        profile_budget: DEMO_PROFILE_BUDGET,
        regions: config.api.regions.clone(),
        today,
        rate_per_second: DEMO_RATE_LIMIT,
        distance_bands: config.distance_bands.clone(),
        odds: Default::default(),
    };
    let (result, archived) = backfill::backfill_with_config(
        &config,
        &store,
        &options,
        Reporter::auto(Duration::from_secs(5)),
    )
    .await?;
    println!("{}", backfill::render_summary(&result));
    worst = worst.max(result.exit_code());

    println!("rows now stored:");
    for table in fetchers::order::registry_order() {
        let is_data = fetchers::registry::table(table)
            .is_some_and(|t| t.kind != fetchers::registry::TableKind::Operations);
        if is_data {
            println!("  {table:<22} {:>9}", store.count_rows(table).await?);
        }
    }
    println!("  {archived} API responses archived (paddock archive stats)\n");
    print!("{}", sample_question(&store).await?);
    print!("{}", derived_answer(&store).await?);
    println!("\n{}", how_to_open(&config));
    server.shutdown().await;
    Ok(worst)
}

/// The last day's winners with their starting price and prize money.
const WINNERS_SQL: &str =
    "SELECT CAST(r.race_date AS TEXT), COALESCE(r.off_time_raw, ''), c.name, \
     COALESCE(h.name, ru.horse_id), COALESCE(ru.sp_raw, ''), \
     COALESCE(CAST(ru.prize_amount AS TEXT), ''), COALESCE(ru.prize_currency, '') \
     FROM ra_runners ru \
     JOIN ra_mst_races r ON r.id = ru.race_id \
     JOIN ra_mst_courses c ON c.id = r.course_id \
     JOIN ra_mst_horses h ON h.id = ru.horse_id \
     WHERE ru.position = 1 \
       AND r.race_date = (SELECT MAX(race_date) FROM ra_mst_races WHERE has_result) \
     ORDER BY r.off_dt, c.name LIMIT 12";

async fn sample_question(store: &AnyStore) -> anyhow::Result<String> {
    let rows: Vec<Vec<String>> = (store.text_rows(WINNERS_SQL).await?.into_iter())
        .map(|row| row.into_iter().map(Option::unwrap_or_default).collect())
        .collect();
    let mut out = String::from(
        "a sample question: who won on the last day with results, at what SP, for what prize?\n",
    );
    out.push_str(&format!("  {WINNERS_SQL}\n\n"));
    match rows.first() {
        None => out.push_str("  (no results stored)\n"),
        Some(first) => out.push_str(&format!("  winners on {} (first 12 races):\n", first[0])),
    }
    for row in &rows {
        let [_, off, course, horse, sp, prize, currency] = &row[..] else {
            continue;
        };
        out.push_str(&format!(
            "  {off:>5}  {course:<18} {horse:<26} SP {sp:<7} {currency} {prize}\n"
        ));
    }
    Ok(out)
}

/// The busiest jockey by rides, from the derived statistics the backfill kept current.
const BUSIEST_JOCKEY_SQL: &str =
    "SELECT s.entity_id, COALESCE(j.name, s.entity_id), CAST(s.runs AS TEXT), \
     CAST(s.wins AS TEXT), CAST(ROUND(CAST(100 * s.win_rate AS NUMERIC), 1) AS TEXT) \
     FROM ra_runner_statistics s LEFT JOIN ra_mst_jockeys j ON j.id = s.entity_id \
     WHERE s.entity_type = 'jockey' ORDER BY s.runs DESC, s.entity_id LIMIT 1";

/// A question the derived tables answer at once: the busiest jockey's strike rate.
async fn derived_answer(store: &AnyStore) -> anyhow::Result<String> {
    let rows = store.text_rows(BUSIEST_JOCKEY_SQL).await?;
    let cells: Vec<String> = match rows.into_iter().next() {
        Some(row) => row.into_iter().map(Option::unwrap_or_default).collect(),
        None => return Ok("\nthe derived tables hold no jockey yet\n".into()),
    };
    let [id, name, runs, wins, rate] = &cells[..] else {
        anyhow::bail!("the busiest-jockey query returned {} columns", cells.len());
    };
    Ok(format!(
        "\nfrom the derived tables (kept current by every run): the busiest jockey is {name} \
         ({runs} rides, {wins} wins, strike rate {rate}%); more: paddock query jockey {id}\n"
    ))
}

fn how_to_open(config: &Config) -> String {
    let url = config.database_url.expose();
    match url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        Some(path) => format!(
            "open it: sqlite3 {path} 'SELECT COUNT(*) FROM ra_runners'  (or any SQLite browser); \
             paddock status shows the runs"
        ),
        None if url.starts_with("postgres") => format!(
            "open it: psql '{}'  then e.g. SELECT COUNT(*) FROM ra_runners; paddock status shows the runs",
            config.database_url.masked()
        ),
        None => format!("open it: sqlite3 {url}; paddock status shows the runs"),
    }
}
