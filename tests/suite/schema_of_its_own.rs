//! `[database] schema` on PostgreSQL: every table Paddock creates, the migrations ledger
//! included, lives in the configured schema, which `migrate` creates; every command's
//! statements (the store through a run, the rename phases, the derived tables, `query`, the
//! audit, `grants`) work there, and nothing lands in `public`.

use crate::support::bin::run_paddock;
use crate::support::sim::{sim_today, start_simulator};
use simulator::SimConfig;
use std::process::Output;

const SCHEMA: &str = "racing";

fn shown(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Relations (tables, views, sequences, indexes) of `schema` in the database at `url`.
async fn relations_in(url: &str, schema: &str) -> Vec<String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 ORDER BY 1",
    )
    .bind(schema)
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

async fn execute(url: &str, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query(sql).execute(&mut conn).await.unwrap();
}

#[test]
fn every_command_works_in_the_configured_schema_and_nothing_lands_in_public() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(start_simulator(SimConfig::new(5, "schema-user", "pw")));
    let database = runtime.block_on(crate::support::fresh_postgres_database());
    let public_before = runtime.block_on(relations_in(&database.url, "public"));
    let env = [
        ("PADDOCK_DATABASE_URL", database.url.as_str()),
        ("PADDOCK_DATABASE_SCHEMA", SCHEMA),
        ("PADDOCK_API_BASE_URL", server.base_url.as_str()),
        ("PADDOCK_API_RATE_LIMIT", "100"),
        ("RACING_API_USERNAME", "schema-user"),
        ("RACING_API_PASSWORD", "pw"),
    ];
    let day = (sim_today() - chrono::Duration::days(1)).to_string();
    let run = |args: &[&str]| {
        let output = run_paddock(args, &env);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}:\n{}",
            shown(&output)
        );
        shown(&output)
    };

    // Legacy names first, so the rename phases run in the schema too.
    run(&["migrate", "--legacy-names"]);
    run(&["run", "master-reference"]);
    run(&["run", "races-and-runners", "--date", &day]);
    run(&["tables", "begin"]);
    run(&["run", "races-and-runners", "--date", &day]);
    run(&["tables", "backfill"]);
    run(&["tables", "verify"]);
    run(&["tables", "advance"]);
    let status = run(&["tables", "status"]);
    assert!(status.contains("switch-readers"), "{status}");
    run(&["derive", "--full"]);
    runtime.block_on(execute(
        &database.url,
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'analyst_in_schema') \
         THEN CREATE ROLE analyst_in_schema NOLOGIN; END IF; END $$",
    ));
    run(&["grants", "--reader", "analyst_in_schema"]);

    let relations = runtime.block_on(relations_in(&database.url, SCHEMA));
    for expected in [
        "_sqlx_migrations",
        "paddock_runs",
        "paddock_state",
        "ra_mst_horses",
        "ra_horses",
        "ra_runners",
        "ra_runner_statistics",
    ] {
        assert!(
            relations.iter().any(|r| r == expected),
            "{expected} is not in {SCHEMA}: {relations:?}"
        );
    }
    // The reader reads in the schema (USAGE on it, SELECT and a policy per table).
    let read_by_reader = runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&database.url).await.unwrap();
        sqlx::query("SET ROLE analyst_in_schema")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {SCHEMA}.ra_runners"))
            .fetch_one(&mut conn)
            .await
            .unwrap()
    });
    assert!(read_by_reader > 0, "the reader sees the runners");
    let jockey = runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&database.url).await.unwrap();
        sqlx::query_scalar::<_, String>(&format!(
            "SELECT jockey_id FROM {SCHEMA}.ra_runners WHERE jockey_id IS NOT NULL \
             GROUP BY jockey_id ORDER BY COUNT(*) DESC, jockey_id LIMIT 1"
        ))
        .fetch_one(&mut conn)
        .await
        .unwrap()
    });
    let answer = run(&["query", "jockey", &jockey]);
    assert!(!answer.contains("no runs recorded"), "{answer}");
    let audit = run_paddock(&["audit", "--format", "json"], &env);
    let report: serde_json::Value = serde_json::from_slice(&audit.stdout)
        .unwrap_or_else(|e| panic!("audit json: {e}\n{}", shown(&audit)));
    assert_eq!(report["schema"], SCHEMA, "{report}");
    assert!(
        !shown(&audit).contains("does not exist"),
        "{}",
        shown(&audit)
    );

    assert_eq!(
        runtime.block_on(relations_in(&database.url, "public")),
        public_before,
        "nothing Paddock made is in public"
    );
}

#[test]
fn a_schema_name_that_is_not_plain_is_refused_before_connecting() {
    let output = run_paddock(
        &["migrate"],
        &[
            ("PADDOCK_DATABASE_URL", "postgres://p:s3cret@127.0.0.1:1/x"),
            ("PADDOCK_DATABASE_SCHEMA", "racing; DROP SCHEMA public"),
        ],
    );
    let text = shown(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("PADDOCK_DATABASE_SCHEMA"), "{text}");
    assert!(!text.contains("connection refused"), "{text}");
}
