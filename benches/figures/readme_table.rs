//! The README's Performance table, generated from a results file
//! (`benches/results/figures-<date>.json`) and nothing else: the bench writes it between the
//! two markers (`--write-readme`, and after every full run), and the suite's `figures_readme`
//! test renders the newest committed file again and compares, so the README never shows a
//! number the committed figures do not hold. Shared by both through `#[path]`; plain
//! functions over `serde_json` only.

use serde_json::Value as Json;
use std::path::{Path, PathBuf};

pub const BEGIN: &str = "<!-- figures:begin: generated from benches/results by `cargo bench --bench figures -- --write-readme`; do not edit -->";
pub const END: &str = "<!-- figures:end -->";

/// The newest `figures-YYYY-MM-DD.json` in `dir` (the dates sort as text).
pub fn newest_results(dir: &Path) -> Option<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = file_name(p);
            name.starts_with("figures-") && name.ends_with(".json")
        })
        .collect();
    files.sort();
    files.pop()
}

pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The text between the markers, if both are there in order.
pub fn between_markers(readme: &str) -> Option<&str> {
    let start = readme.find(BEGIN)? + BEGIN.len();
    let end = start + readme[start..].find(END)?;
    Some(&readme[start..end])
}

/// `readme` with the text between the markers replaced by `table`.
pub fn replace_table(readme: &str, table: &str) -> Option<String> {
    let old = between_markers(readme)?;
    let start = old.as_ptr() as usize - readme.as_ptr() as usize;
    Some(format!(
        "{}\n{}{}",
        &readme[..start],
        table,
        &readme[start + old.len()..]
    ))
}

fn number(v: &Json) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// `12345.6` → `12,346`.
pub fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if v < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

fn baseline_label(key: &str) -> &'static str {
    match key {
        "postgres_copy" => "COPY",
        "postgres_noop_upsert" => "no-op upsert",
        "sqlite_executemany" => "executemany",
        _ => "baseline",
    }
}

fn store_rows(store: &Json, out: &mut Vec<[String; 3]>) {
    let rate = |v: &Json| format!("{} rows/s", thousands(number(&v["rows_per_sec"])));
    for (key, label) in [
        ("postgres_copy", "PostgreSQL `COPY`"),
        ("postgres_noop_upsert", "PostgreSQL raw no-op upsert (`ON CONFLICT … WHERE … IS DISTINCT FROM`), one statement per table"),
        ("sqlite_executemany", "SQLite, one prepared statement per table, once per row (`executemany`)"),
    ] {
        out.push([
            format!("baseline: {label}"),
            rate(&store[key]),
            "baseline".into(),
        ]);
    }
    let goals = [
        ("postgres", "first_load", "≥ 0.9× COPY"),
        ("postgres", "unchanged_reload", "≥ 0.5× no-op upsert"),
        ("sqlite", "first_load", "≥ 0.9× executemany"),
    ];
    for (backend, name) in [("postgres", "PostgreSQL"), ("sqlite", "SQLite")] {
        for (case, label) in [
            ("first_load", "first load"),
            ("unchanged_reload", "unchanged reload"),
            ("reload_10pct_changed", "reload, 10 % of runners changed"),
        ] {
            let figures = &store[backend][case];
            let base = figures["baseline"].as_str().unwrap_or("");
            let goal = goals
                .iter()
                .find(|(b, c, _)| *b == backend && *c == case)
                .map_or("", |(_, _, g)| g);
            out.push([
                format!("{name} store, {label}"),
                format!(
                    "{} ({:.2}× {})",
                    rate(figures),
                    number(&figures["ratio"]),
                    baseline_label(base)
                ),
                goal.into(),
            ]);
        }
    }
}

fn pipeline_rows(p: &Json, out: &mut Vec<[String; 3]>) {
    out.push([
        format!("{}-day backfill: requests vs computed minimum", p["days"]),
        format!(
            "{} / {} = {:.2}",
            p["requests"],
            p["minimum_requests"],
            number(&p["requests_vs_minimum"])
        ),
        "1.00".into(),
    ]);
    out.push([
        "achieved rate vs limit".into(),
        format!(
            "{:.2} / {} req/s = {:.2}",
            number(&p["achieved_rate_per_sec"]),
            p["rate_limit_per_sec"],
            number(&p["achieved_vs_limit"])
        ),
        "≥ 0.95".into(),
    ]);
    out.push([
        "429s received".into(),
        p["http_429"].to_string(),
        "0".into(),
    ]);
    out.push([
        "wall vs requests ÷ limit".into(),
        format!(
            "{:.1} s / {:.1} s = {:.2}",
            number(&p["wall_secs"]),
            number(&p["requests_over_limit_secs"]),
            number(&p["wall_vs_requests_over_limit"])
        ),
        String::new(),
    ]);
    out.push([
        "peak RSS, backfill process".into(),
        format!("{:.1} MB", number(&p["peak_rss_mb"])),
        "< 100 MB".into(),
    ]);
}

/// The table (with its one-line heading) for `figures`, read from the file `source`.
pub fn render(figures: &Json, source: &str) -> String {
    let mut rows: Vec<[String; 3]> = Vec::new();
    if figures["store"].is_object() {
        store_rows(&figures["store"], &mut rows);
    }
    if figures["pipeline"].is_object() {
        pipeline_rows(&figures["pipeline"], &mut rows);
    }
    let idle = &figures["idle_daemon"];
    if idle.is_object() {
        rows.push([
            "peak RSS, idle daemon".into(),
            format!(
                "{:.1} MB ({} s idle)",
                number(&idle["peak_rss_mb"]),
                idle["idle_secs"]
            ),
            "< 30 MB".into(),
        ]);
    }
    let replay = &figures["replay"];
    if replay.is_object() {
        rows.push([
            format!("replay of {} days (SQLite)", replay["days"]),
            format!(
                "{} rows/s ({} responses → {} rows in {:.1} s)",
                thousands(number(&replay["rows_per_sec"])),
                thousands(number(&replay["responses"])),
                thousands(number(&replay["rows_written"])),
                number(&replay["secs"])
            ),
            String::new(),
        ]);
    }
    let audit = &figures["audit"];
    if audit.is_object() {
        for (backend, name) in [("sqlite", "SQLite"), ("postgres", "PostgreSQL")] {
            let a = &audit[backend];
            rows.push([
                format!("`paddock audit`, 1.3 M runners, {name}"),
                format!(
                    "{:.1} s ({} violations)",
                    number(&a["wall_secs"]),
                    a["total_violations"]
                ),
                String::new(),
            ]);
        }
        rows.push([
            "audit, SQLite ÷ PostgreSQL".into(),
            format!("{:.2}", number(&audit["sqlite_over_postgres"])),
            String::new(),
        ]);
    }
    // Issue 21's goals for the derived tables at 1.3 M runners.
    let derive_goal = |name: &str| match name {
        "derive_postgres_full_rebuild_s" => "≤ 60 s",
        "derive_sqlite_full_rebuild_s" => "≤ 90 s",
        "derive_postgres_incremental_day_s" | "derive_sqlite_incremental_day_s" => "≤ 1 s",
        "derive_postgres_incremental_day_peak_rss_mb"
        | "derive_sqlite_incremental_day_peak_rss_mb" => "< 100 MB",
        _ => "",
    };
    if let Some(derive) = figures["derive"].as_object() {
        for (name, value) in derive {
            let shown = match value.as_f64() {
                Some(v) if v.abs() >= 1000.0 => thousands(v),
                Some(v) => format!("{v:.3}"),
                None => value.to_string(),
            };
            rows.push([
                format!("derived (`derive_scale`): {name}"),
                shown,
                derive_goal(name).to_string(),
            ]);
        }
    }
    let loads = |key: &str| {
        (figures[key].as_array().into_iter().flatten())
            .map(|v| format!("{:.2}", number(v)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut text = format!(
        "Measured {} ({}, {:.0} s in all, {} CPUs), load average {} at the start and {} at \
         the end; from `benches/results/{source}`. Every ratio divides by a baseline measured \
         in the same run.\n\n| Figure | Value | Goal |\n|---|---|---|\n",
        figures["date"].as_str().unwrap_or("?"),
        if figures["quick"].as_bool() == Some(false) {
            "full run"
        } else {
            "quick run"
        },
        number(&figures["total_secs"]),
        figures["cpus"],
        loads("load_average_start"),
        loads("load_average_end"),
    );
    for [figure, value, goal] in rows {
        text.push_str(&format!("| {figure} | {value} | {goal} |\n"));
    }
    text
}
