//! Bulk-upsert SQL for both dialects, generated from a registry table and a *physical* table
//! name (the registry name, or its legacy name for the dual-write mode), never from a
//! hard-coded name.
//!
//! The rules every statement encodes:
//! - an owner overwrites: `col = COALESCE(excluded.col, t.col)`; a filler only fills:
//!   `col = COALESCE(t.col, excluded.col)`, so a NULL never erases and columns the source does
//!   not write are not in the statement at all;
//! - `created_at` is written on insert only; `updated_at` and `last_run_id` on insert and on a
//!   real change;
//! - a conflicting row whose values would not change is not written (`DO UPDATE … WHERE`
//!   some new value is distinct from the stored one);
//! - pre-race state ([`Access::UntilResult`]) is overwritten by a racecard only while the
//!   stored row's race has no result: `CASE WHEN <no result> THEN COALESCE(excluded.col,
//!   t.col) ELSE t.col END`, the guard read from the race's result marker (the row's own
//!   column, or an `EXISTS` on the race it references).

use crate::store::plan::WriteColumn;
use fetchers::registry::{Access, ColumnType, ResultMarker, Table, RESULT_MARKER};
use fetchers::schema::Dialect;

/// An identifier in double quotes (valid in both dialects).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The result marker's table under registry names: the table itself, or the one its marker
/// foreign key references.
pub fn default_marker_table<'a>(table: &Table, physical_name: &'a str) -> &'a str {
    match table.result_marker() {
        Some(ResultMarker::Via(fk)) => fk.ref_table,
        _ => physical_name,
    }
}

/// A condition, on the stored row `physical`, that its race has no result yet; `marker_table`
/// is the physical name of the table holding the result marker (the race's, for runners).
///
/// Panics for a table without a result marker: the registry's tests guarantee that every
/// table with pre-race state has one.
fn no_result_yet(table: &Table, physical: &str, marker_table: &str) -> String {
    let target = quote_ident(physical);
    let marker = quote_ident(RESULT_MARKER);
    match table.result_marker() {
        Some(ResultMarker::Own) => format!("{target}.{marker} IS NOT TRUE"),
        Some(ResultMarker::Via(fk)) => {
            let on: Vec<String> = fk
                .columns
                .iter()
                .zip(fk.ref_columns)
                .map(|(c, r)| format!("r.{} = {target}.{}", quote_ident(r), quote_ident(c)))
                .collect();
            format!(
                "NOT EXISTS (SELECT 1 FROM {} AS r WHERE {} AND r.{marker} IS TRUE)",
                quote_ident(marker_table),
                on.join(" AND ")
            )
        }
        None => panic!("{}: pre-race state without a result marker", table.name),
    }
}

/// An adopted database's legacy columns a statement writes besides the registry's: the mapped
/// columns (`mirrors`, `(legacy, registry)`, `[adopt.columns.*]`) and the legacy column holding
/// the table's one-column key (`key_column`, `[adopt.keys]`: upserted on, the surrogate never
/// written). [`AdoptedColumns::NONE`] for a table as the registry has it.
#[derive(Debug, Clone, Copy, Default)]
pub struct AdoptedColumns<'a> {
    pub mirrors: &'a [(&'a str, &'a str)],
    pub key_column: Option<&'a str>,
}

impl AdoptedColumns<'_> {
    /// No legacy column.
    pub const NONE: AdoptedColumns<'static> = AdoptedColumns {
        mirrors: &[],
        key_column: None,
    };
}

/// A column a statement writes: a written registry column under its own name, or a legacy
/// column mirroring one (an adopted database's column map), with the registry column's rule
/// and value (`index` in the written columns).
struct Target<'a> {
    name: &'a str,
    column: &'a WriteColumn,
    index: usize,
}

/// The written columns, then the mapped legacy columns mirroring one of them (`mirrors`:
/// `(legacy, registry)`; a mirror of a column this source does not write is left out, so the
/// legacy column keeps its value as the registry column does).
fn targets<'a>(
    table: &Table,
    columns: &'a [WriteColumn],
    mirrors: &[(&'a str, &str)],
    key_as: Option<&'a str>,
) -> Vec<Target<'a>> {
    let mut out: Vec<Target> = (columns.iter().enumerate())
        .map(|(index, column)| Target {
            name: physical_key(table, key_as, column.name()),
            column,
            index,
        })
        .collect();
    for (legacy, registry) in mirrors {
        if let Some(index) = columns.iter().position(|c| c.name() == *registry) {
            out.push(Target {
                name: legacy,
                column: &columns[index],
                index,
            });
        }
    }
    out
}

/// The physical column holding registry column `column`: `key_as` (an adopted database's key
/// map, `[adopt.keys]`) for the table's one-column key, else the column itself.
fn physical_key<'a>(table: &Table, key_as: Option<&'a str>, column: &'a str) -> &'a str {
    match key_as {
        Some(mapped) if table.key == [column] => mapped,
        _ => column,
    }
}

/// The `SET` list of `ON CONFLICT … DO UPDATE`.
fn update_assignments(
    table: &Table,
    physical: &str,
    marker_table: &str,
    columns: &[Target],
) -> Vec<String> {
    let target = quote_ident(physical);
    let mut sets: Vec<String> = columns
        .iter()
        .filter_map(|t| {
            let (c, col) = (t.column, quote_ident(t.name));
            match c.access {
                Access::Overwrite => {
                    Some(format!("{col} = COALESCE(excluded.{col}, {target}.{col})"))
                }
                Access::FillOnly => {
                    Some(format!("{col} = COALESCE({target}.{col}, excluded.{col})"))
                }
                Access::UntilResult => Some(format!(
                    "{col} = CASE WHEN {} THEN COALESCE(excluded.{col}, {target}.{col}) ELSE {target}.{col} END",
                    no_result_yet(table, physical, marker_table)
                )),
                Access::Key | Access::None => None,
            }
        })
        .collect();
    sets.push("\"updated_at\" = excluded.\"updated_at\"".to_string());
    sets.push("\"last_run_id\" = excluded.\"last_run_id\"".to_string());
    sets
}

/// True when the update would change at least one stored value.
fn change_predicate(
    dialect: Dialect,
    table: &Table,
    physical: &str,
    marker_table: &str,
    columns: &[Target],
) -> String {
    let target = quote_ident(physical);
    let distinct = match dialect {
        Dialect::Postgres => "IS DISTINCT FROM",
        Dialect::Sqlite => "IS NOT",
    };
    let differs = |col: &str| {
        format!("(excluded.{col} IS NOT NULL AND excluded.{col} {distinct} {target}.{col})")
    };
    let mut tests: Vec<String> = columns
        .iter()
        .filter_map(|t| {
            let col = quote_ident(t.name);
            match t.column.access {
                Access::Overwrite => Some(differs(&col)),
                Access::FillOnly => Some(format!(
                    "({target}.{col} IS NULL AND excluded.{col} IS NOT NULL)"
                )),
                Access::UntilResult | Access::Key | Access::None => None,
            }
        })
        .collect();
    // Pre-race columns: the result guard (a subquery for runners) once, and only when one of
    // them differs, so an unchanged row never evaluates it.
    let pre_race: Vec<String> = columns
        .iter()
        .filter(|t| t.column.access == Access::UntilResult)
        .map(|t| differs(&quote_ident(t.name)))
        .collect();
    if !pre_race.is_empty() {
        tests.push(format!(
            "(({}) AND {})",
            pre_race.join(" OR "),
            no_result_yet(table, physical, marker_table)
        ));
    }
    tests.join(" OR ")
}

/// `ON CONFLICT (key) DO UPDATE SET … WHERE …`, or `DO NOTHING` when the source writes only
/// the key.
fn on_conflict(
    dialect: Dialect,
    table: &Table,
    physical: &str,
    marker_table: &str,
    columns: &[Target],
    key_as: Option<&str>,
) -> String {
    let key: Vec<String> = (table.key.iter())
        .map(|k| quote_ident(physical_key(table, key_as, k)))
        .collect();
    let key = key.join(", ");
    if columns.iter().all(|t| t.column.access == Access::Key) {
        return format!("ON CONFLICT ({key}) DO NOTHING");
    }
    format!(
        "ON CONFLICT ({key}) DO UPDATE SET {} WHERE {}",
        update_assignments(table, physical, marker_table, columns).join(", "),
        change_predicate(dialect, table, physical, marker_table, columns)
    )
}

/// The insert column list: the written (and mirroring) columns, then the audit columns.
fn insert_columns(columns: &[Target]) -> String {
    let mut names: Vec<String> = columns.iter().map(|t| quote_ident(t.name)).collect();
    names.extend(
        ["created_at", "updated_at", "last_run_id"]
            .iter()
            .map(|n| quote_ident(n)),
    );
    names.join(", ")
}

/// `LEFT JOIN physical AS e ON e.k = <source>.k …`, to take stored values of NOT NULL
/// columns a row leaves NULL.
fn stored_row_join(
    table: &Table,
    physical: &str,
    key_as: Option<&str>,
    source_column: impl Fn(&str) -> String,
) -> String {
    let on: Vec<String> = table
        .key
        .iter()
        .map(|k| {
            let stored = quote_ident(physical_key(table, key_as, k));
            format!("e.{stored} = {}", source_column(k))
        })
        .collect();
    format!(
        " LEFT JOIN {} AS e ON {}",
        quote_ident(physical),
        on.join(" AND ")
    )
}

/// Parameters of a SQLite upsert before the rows' values: now, now, run id.
pub const SQLITE_FIXED_PARAMS: usize = 3;

/// The SQLite bulk upsert of `row_count` rows.
///
/// Parameters, all anonymous (`?`) and bound in this order: now (text, for `created_at`), now
/// again (`updated_at`), the run id, then the rows' values row by row, column by column in
/// `columns` order ([`SQLITE_FIXED_PARAMS`] + rows × columns in all). Numbered `?NNN`
/// parameters would be much slower: SQLite looks their names up in a list, once per bound
/// parameter, which is quadratic in a 32,000-parameter statement. With
/// `fill_required_from_stored`, a NULL in a NOT
/// NULL non-key column takes the stored value (see
/// [`crate::store::plan::WriteGroup::needs_stored_required_values`]).
pub fn sqlite_upsert_sql(
    table: &Table,
    physical_name: &str,
    columns: &[WriteColumn],
    row_count: usize,
    fill_required_from_stored: bool,
) -> String {
    let marker_table = default_marker_table(table, physical_name);
    sqlite_upsert_sql_with(
        table,
        physical_name,
        marker_table,
        columns,
        &AdoptedColumns::NONE,
        row_count,
        fill_required_from_stored,
    )
}

/// [`sqlite_upsert_sql`] with the result marker read from `marker_table` (its physical name)
/// and the legacy columns of `mirrors` (`(legacy, registry)`) filled as their registry columns.
pub fn sqlite_upsert_sql_with(
    table: &Table,
    physical_name: &str,
    marker_table: &str,
    columns: &[WriteColumn],
    adopted: &AdoptedColumns,
    row_count: usize,
    fill_required_from_stored: bool,
) -> String {
    let (mirrors, key_as) = (adopted.mirrors, adopted.key_column);
    let targets = targets(table, columns, mirrors, key_as);
    let one_row = format!("({})", vec!["?"; columns.len()].join(","));
    let values = vec![one_row; row_count].join(",");
    let position = |name: &str| columns.iter().position(|c| c.name() == name);
    let select: Vec<String> = targets
        .iter()
        .map(|t| {
            let (i, c) = (t.index, t.column);
            let v = format!("v.column{}", i + 1);
            if fill_required_from_stored && c.is_required_non_key() {
                format!("COALESCE({v}, e.{})", quote_ident(c.name()))
            } else {
                v
            }
        })
        .collect();
    let join = if fill_required_from_stored {
        stored_row_join(table, physical_name, key_as, |k| {
            format!("v.column{}", position(k).map_or(0, |i| i + 1))
        })
    } else {
        String::new()
    };
    // `WHERE true` resolves SQLite's parsing ambiguity between a join's ON and ON CONFLICT.
    format!(
        "INSERT INTO {} ({}) SELECT {}, ?, ?, ? FROM (VALUES {values}) AS v{join} WHERE true {}",
        quote_ident(physical_name),
        insert_columns(&targets),
        select.join(", "),
        on_conflict(
            Dialect::Sqlite,
            table,
            physical_name,
            marker_table,
            &targets,
            key_as
        )
    )
}

/// The PostgreSQL array type a column's values are bound as.
pub fn postgres_array_type(ty: ColumnType) -> &'static str {
    match ty {
        // Money travels as its exact decimal text and is cast to numeric in the statement.
        ColumnType::Text | ColumnType::Json | ColumnType::Money => "text[]",
        ColumnType::Integer | ColumnType::Serial => "int8[]",
        ColumnType::Decimal => "float8[]",
        ColumnType::Boolean => "bool[]",
        ColumnType::Date => "date[]",
        ColumnType::Timestamp => "timestamptz[]",
        ColumnType::Bytes => "bytea[]",
    }
}

/// The cast from the bound element type to the column type, where they differ.
pub fn postgres_element_cast(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Decimal | ColumnType::Money => "::numeric",
        ColumnType::Json => "::jsonb",
        _ => "",
    }
}

/// The PostgreSQL bulk upsert of one chunk, bound as one array per column.
///
/// Parameters: `$1` = now (timestamptz), `$2` = run id, then one array per column in
/// `columns` order from `$3` (types from [`postgres_array_type`]). Returns one row:
/// `(inserted, updated)` counts.
pub fn postgres_upsert_sql(
    table: &Table,
    physical_name: &str,
    columns: &[WriteColumn],
    fill_required_from_stored: bool,
) -> String {
    let marker_table = default_marker_table(table, physical_name);
    postgres_upsert_sql_with(
        table,
        physical_name,
        marker_table,
        columns,
        &AdoptedColumns::NONE,
        fill_required_from_stored,
    )
}

/// [`postgres_upsert_sql`] with the result marker read from `marker_table` (its physical name)
/// and the legacy columns of `mirrors` (`(legacy, registry)`) filled as their registry columns.
pub fn postgres_upsert_sql_with(
    table: &Table,
    physical_name: &str,
    marker_table: &str,
    columns: &[WriteColumn],
    adopted: &AdoptedColumns,
    fill_required_from_stored: bool,
) -> String {
    let (mirrors, key_as) = (adopted.mirrors, adopted.key_column);
    let targets = targets(table, columns, mirrors, key_as);
    let arrays: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("${}::{}", i + 3, postgres_array_type(c.column.ty)))
        .collect();
    let aliases: Vec<String> = columns.iter().map(|c| quote_ident(c.name())).collect();
    let select: Vec<String> = targets
        .iter()
        .map(|t| {
            let c = t.column;
            let col = quote_ident(c.name());
            let v = format!("i.{col}{}", postgres_element_cast(c.column.ty));
            if fill_required_from_stored && c.is_required_non_key() {
                format!("COALESCE({v}, e.{col})")
            } else {
                v
            }
        })
        .collect();
    let join = if fill_required_from_stored {
        stored_row_join(table, physical_name, key_as, |k| {
            format!("i.{}", quote_ident(k))
        })
    } else {
        String::new()
    };
    format!(
        "WITH input AS (SELECT * FROM UNNEST({}) AS i({})), \
         written AS (INSERT INTO {} ({}) \
         SELECT {}, $1::timestamptz, $1::timestamptz, $2::int8 FROM input AS i{join} {} \
         RETURNING (xmax = 0) AS inserted) \
         SELECT COUNT(*) FILTER (WHERE inserted), COUNT(*) FILTER (WHERE NOT inserted) FROM written",
        arrays.join(", "),
        aliases.join(", "),
        quote_ident(physical_name),
        insert_columns(&targets),
        select.join(", "),
        on_conflict(
            Dialect::Postgres,
            table,
            physical_name,
            marker_table,
            &targets,
            key_as,
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::plan::write_columns;
    use fetchers::registry::{table, Source};

    #[test]
    fn the_physical_name_is_the_only_table_name_in_the_statement() {
        let horses = table("ra_mst_horses").unwrap();
        let cols = write_columns(horses, Source::Result);
        for sql in [
            sqlite_upsert_sql(horses, "ra_horses", &cols, 2, true),
            postgres_upsert_sql(horses, "ra_horses", &cols, true),
        ] {
            assert!(sql.contains("INSERT INTO \"ra_horses\""), "{sql}");
            assert!(!sql.contains("ra_mst_horses"), "{sql}");
        }
    }

    #[test]
    fn owners_overwrite_fillers_fill_and_unwritten_columns_are_absent() {
        let horses = table("ra_mst_horses").unwrap();
        let sql = sqlite_upsert_sql(
            horses,
            "ra_mst_horses",
            &write_columns(horses, Source::Result),
            1,
            false,
        );
        // Result owns name_with_suffix and fills name.
        assert!(sql.contains(
            "\"name_with_suffix\" = COALESCE(excluded.\"name_with_suffix\", \"ra_mst_horses\".\"name_with_suffix\")"
        ));
        assert!(sql.contains("\"name\" = COALESCE(\"ra_mst_horses\".\"name\", excluded.\"name\")"));
        // Results never write the colour or the profile timestamp.
        assert!(!sql.contains("\"colour\""));
        assert!(!sql.contains("profile_fetched_at"));
        assert!(!sql.contains("\"created_at\" ="));
    }

    #[test]
    fn sqlite_parameters_are_anonymous_with_the_audit_values_first() {
        let regions = table("ra_regions").unwrap();
        let sql = sqlite_upsert_sql(
            regions,
            "ra_regions",
            &write_columns(regions, Source::Reference),
            2,
            false,
        );
        assert!(
            sql.contains("?, ?, ? FROM (VALUES (?,?),(?,?)) AS v"),
            "{sql}"
        );
    }

    #[test]
    fn a_key_only_write_does_nothing_on_conflict() {
        let regions = table("ra_regions").unwrap();
        let sql = postgres_upsert_sql(
            regions,
            "ra_regions",
            &write_columns(regions, Source::Odds),
            false,
        );
        assert!(sql.contains("DO NOTHING"), "{sql}");
    }

    #[test]
    fn the_change_test_reads_the_result_guard_once_and_only_after_a_pre_race_value_differs() {
        let runners = table("ra_runners").unwrap();
        let cols = write_columns(runners, Source::Racecard);
        for sql in [
            sqlite_upsert_sql(runners, "ra_runners", &cols, 1, false),
            postgres_upsert_sql(runners, "ra_runners", &cols, false),
        ] {
            let (_, change_test) = sql
                .rsplit_once("= excluded.\"last_run_id\" WHERE ")
                .unwrap();
            assert_eq!(
                change_test.matches("NOT EXISTS").count(),
                1,
                "{change_test}"
            );
            let guard = change_test.find("NOT EXISTS").unwrap();
            let jockey = change_test
                .find("excluded.\"jockey_id\" IS NOT NULL")
                .unwrap();
            assert!(jockey < guard, "{change_test}");
        }
    }

    #[test]
    fn racecards_write_pre_race_state_only_while_the_race_has_no_result() {
        let runners = table("ra_runners").unwrap();
        let cols = write_columns(runners, Source::Racecard);
        for sql in [
            sqlite_upsert_sql(runners, "ra_runners", &cols, 1, false),
            postgres_upsert_sql(runners, "ra_runners", &cols, false),
        ] {
            assert!(sql.contains(
                "\"jockey_id\" = CASE WHEN NOT EXISTS (SELECT 1 FROM \"ra_mst_races\" AS r WHERE r.\"id\" = \"ra_runners\".\"race_id\" AND r.\"has_result\" IS TRUE) THEN COALESCE(excluded.\"jockey_id\", \"ra_runners\".\"jockey_id\") ELSE \"ra_runners\".\"jockey_id\" END"
            ), "{sql}");
        }
        // Results overwrite the same columns unconditionally.
        let sql = sqlite_upsert_sql(
            runners,
            "ra_runners",
            &write_columns(runners, Source::Result),
            1,
            false,
        );
        assert!(sql.contains(
            "\"jockey_id\" = COALESCE(excluded.\"jockey_id\", \"ra_runners\".\"jockey_id\")"
        ));
        // The race table reads its own marker.
        let races = table("ra_mst_races").unwrap();
        let sql = sqlite_upsert_sql(
            races,
            "ra_mst_races",
            &write_columns(races, Source::Racecard),
            1,
            false,
        );
        assert!(
            sql.contains("\"going\" = CASE WHEN \"ra_mst_races\".\"has_result\" IS NOT TRUE THEN"),
            "{sql}"
        );
    }

    #[test]
    fn a_key_mapped_table_is_upserted_on_its_legacy_key_column_and_never_writes_the_surrogate() {
        let books = table("ra_mst_bookmakers").unwrap();
        let cols = write_columns(books, Source::Odds);
        let code = AdoptedColumns {
            mirrors: &[],
            key_column: Some("code"),
        };
        let pg =
            postgres_upsert_sql_with(books, "ra_bookmakers", "ra_bookmakers", &cols, &code, true);
        let lite = sqlite_upsert_sql_with(
            books,
            "ra_bookmakers",
            "ra_bookmakers",
            &cols,
            &code,
            1,
            true,
        );
        for sql in [&pg, &lite] {
            // The surrogate `id` is not in the list: its default fills it.
            let insert = "INSERT INTO \"ra_bookmakers\" (\"code\", \"name\", \"created_at\"";
            assert!(sql.contains(insert), "{sql}");
            assert!(sql.contains("ON CONFLICT (\"code\")"), "{sql}");
            assert!(sql.contains("AS e ON e.\"code\" = "), "{sql}");
        }
    }

    #[test]
    fn a_mapped_legacy_column_is_written_with_the_value_and_rule_of_its_registry_column() {
        let races = table("ra_mst_races").unwrap();
        let cols = write_columns(races, Source::Racecard);
        let mirrors = [("date", "race_date"), ("unwritten", "no_such_column")];
        let mirrors = AdoptedColumns {
            mirrors: &mirrors,
            key_column: None,
        };
        let pg = postgres_upsert_sql_with(races, "ra_races", "ra_races", &cols, &mirrors, true);
        let lite = sqlite_upsert_sql_with(races, "ra_races", "ra_races", &cols, &mirrors, 1, true);
        for sql in [&pg, &lite] {
            assert!(sql.contains("\"date\", \"created_at\""), "{sql}");
            assert!(!sql.contains("unwritten"), "{sql}");
        }
        let rule = |c: &str| format!("\"{c}\" = COALESCE(excluded.\"{c}\", \"ra_races\".\"{c}\")");
        assert!(
            pg.contains(&rule("race_date")) && pg.contains(&rule("date")),
            "{pg}"
        );
        // The value: the registry column's own expression, twice.
        assert_eq!(
            pg.matches("COALESCE(i.\"race_date\", e.\"race_date\")")
                .count(),
            2,
            "{pg}"
        );
        let position = cols.iter().position(|c| c.name() == "race_date").unwrap() + 1;
        let value = format!("COALESCE(v.column{position}, e.\"race_date\")");
        assert_eq!(lite.matches(&value).count(), 2, "{lite}");
    }
}
