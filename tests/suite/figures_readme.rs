//! The README's Performance table is the newest committed results file
//! (`benches/results/figures-<date>.json`), rendered by the same code the bench writes it with
//! (`benches/figures/readme_table.rs`): a number edited by hand, a table left behind by a newer
//! results file, or a results file missing a section fails here.

#[allow(dead_code)] // The bench uses the rest of it.
#[path = "../../benches/figures/readme_table.rs"]
mod readme_table;

use std::path::Path;

fn newest_figures() -> (String, serde_json::Value) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/results");
    let newest = readme_table::newest_results(&dir)
        .expect("benches/results holds a figures-<date>.json (cargo bench --bench figures)");
    let text = std::fs::read_to_string(&newest).expect("the results file reads");
    let figures = serde_json::from_str(&text).expect("the results file is JSON");
    (readme_table::file_name(&newest), figures)
}

#[test]
fn the_readme_performance_table_is_the_newest_results_file_rendered() {
    let (source, figures) = newest_figures();
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md reads");
    let shown = readme_table::between_markers(&readme)
        .expect("README.md has the figures markers around its Performance table");
    let expected = readme_table::render(&figures, &source);
    assert_eq!(
        shown.trim(),
        expected.trim(),
        "README.md's table differs from {source}: run `cargo bench --bench figures -- --write-readme`"
    );
}

#[test]
fn the_newest_results_file_is_a_full_size_run_with_the_store_and_its_baselines() {
    let (source, figures) = newest_figures();
    assert_eq!(figures["quick"], false, "{source} is a quick run");
    for section in ["store", "pipeline"] {
        assert!(figures[section].is_object(), "{source} has no {section}");
    }
    let store = &figures["store"];
    for baseline in [
        "postgres_copy",
        "postgres_noop_upsert",
        "sqlite_executemany",
    ] {
        let rate = store[baseline]["rows_per_sec"].as_f64().unwrap_or(0.0);
        assert!(rate > 0.0, "{source}: baseline {baseline} has no rate");
    }
    for backend in ["postgres", "sqlite"] {
        let ratio = store[backend]["first_load"]["ratio"].as_f64();
        assert!(
            ratio.is_some_and(f64::is_finite),
            "{source}: {backend} first load has no ratio"
        );
    }
}

#[test]
fn numbers_are_shown_with_thousands_separators() {
    assert_eq!(readme_table::thousands(38_113.4), "38,113");
    assert_eq!(readme_table::thousands(1_618_100.0), "1,618,100");
    assert_eq!(readme_table::thousands(999.6), "1,000");
    assert_eq!(readme_table::thousands(12.0), "12");
}
