//! The adoption plan: every table of a database Paddock did not create, read from the live
//! catalog through the store's tool door, set against the registry. Per table: adopted as the
//! legacy table of a registry table, a registry table under its own name, one Paddock creates,
//! or another system's left alone (with why); the key Paddock upserts on; the registry columns
//! to add (always nullable); legacy-only columns and how they are carried; type differences,
//! bridged or blocking; NOT NULL legacy columns Paddock would not fill. Then the names Paddock
//! would take that are already taken, with the free names chosen instead.

use crate::adopt::types::{bridge, mapped_bridge, type_name, Bridge};
use crate::config::{AdoptMaps, AdoptSettings};
use crate::rename::carry::free_name;
use crate::rename::phase::{legacy_name, renamed_tables};
use crate::store::catalog::{Catalog, LiveTable};
use crate::store::dialect::ToolDialect;
use crate::store::{BackendKind, SqlStore};
use anyhow::Result;
use fetchers::registry::{self, Table, TableKind};
use fetchers::schema::create_indexes;
use serde::Serialize;
use std::collections::BTreeSet;

/// What becomes of one live or missing table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "as", rename_all = "snake_case")]
pub enum Disposition {
    /// The legacy name of registry table `registry` (`ra_horses` for `ra_mst_horses`).
    Legacy { registry: &'static str },
    /// A registry table under its own name.
    Registry,
    /// Missing: Paddock creates registry table `registry` under this name.
    Create { registry: &'static str },
    /// Missing: one of Paddock's own bookkeeping tables (`paddock_*`), created.
    PaddockOwn,
    /// Another system's table: never touched.
    Foreign { why: String },
    /// Another system's table under the name of registry table `registry`, renamed to `to`
    /// (`paddock adopt --move-aside`; never dropped) so that Paddock creates its own.
    MovedAside { registry: &'static str, to: String },
}

/// How Paddock finds a row to update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpsertKey {
    pub columns: Vec<String>,
    /// `primary key`, `unique index NAME`, or `unique index NAME (added)`.
    pub by: String,
    /// The unique index adopt adds (a free name), when none covers the key.
    pub add_index: Option<String>,
}

/// A registry column the legacy table lacks, added nullable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddColumn {
    pub column: String,
    pub ty: String,
}

/// A column only the legacy table has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegacyColumn {
    pub column: String,
    pub ty: String,
    pub carried: String,
}

/// A legacy column that mirrors a registry column (`[adopt.columns.<table>]`): every write
/// fills it too, bridged as `bridge` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappedColumn {
    pub column: String,
    pub mirrors: String,
    pub ty: String,
    pub bridge: Bridge,
}

/// A registry column present with another type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeDifference {
    pub column: String,
    pub registry: &'static str,
    pub live: String,
    pub bridge: Bridge,
}

/// One table's plan.
#[derive(Debug, Clone, Serialize)]
pub struct TablePlan {
    pub table: String,
    pub disposition: Disposition,
    pub key: Option<UpsertKey>,
    pub add_columns: Vec<AddColumn>,
    pub legacy_only: Vec<LegacyColumn>,
    /// Legacy columns filled from the registry column each mirrors (the column maps).
    pub mapped: Vec<MappedColumn>,
    pub type_differences: Vec<TypeDifference>,
    /// NOT NULL columns without a default that Paddock's inserts would leave empty.
    pub not_null_unfilled: Vec<String>,
    pub warnings: Vec<String>,
    /// Why the adoption cannot go ahead, each naming the table and column.
    pub blocking: Vec<String>,
    /// Maps naming what the table lacks (configuration errors, each with its line).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config_errors: Vec<String>,
}

impl TablePlan {
    fn new(table: &str, disposition: Disposition) -> Self {
        TablePlan {
            table: table.to_string(),
            disposition,
            key: None,
            add_columns: Vec::new(),
            legacy_only: Vec::new(),
            mapped: Vec::new(),
            type_differences: Vec::new(),
            not_null_unfilled: Vec::new(),
            warnings: Vec::new(),
            blocking: Vec::new(),
            config_errors: Vec::new(),
        }
    }
}

/// A name Paddock would give an index that the database already uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameClash {
    pub name: String,
    /// What wanted the name (`index of ra_mst_courses, created by tables begin`).
    pub wanted_by: String,
    pub chosen: String,
}

/// The whole plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub backend: &'static str,
    /// The database has Paddock's migrations ledger already: nothing to adopt.
    pub already_paddock: bool,
    /// The masters are under their legacy names: adopted in rename phase legacy.
    pub legacy_layout: bool,
    pub tables: Vec<TablePlan>,
    pub clashes: Vec<NameClash>,
    /// Paddock's derived tables not kept because another system's table holds the name (the
    /// derived update and the full rebuild skip them; `--move-aside` moves it aside).
    pub skipped_derived: Vec<&'static str>,
    /// What this version does not do yet, said plainly.
    pub limits: Vec<String>,
    /// The column and key maps of the configuration, persisted by the adoption.
    pub maps: AdoptMaps,
    /// Maps naming a table or column the database lacks (exit 2, nothing changed).
    pub config_errors: Vec<String>,
}

impl Plan {
    /// Every blocking item, each naming its table.
    pub fn blocking(&self) -> Vec<String> {
        (self.tables.iter())
            .flat_map(|t| t.blocking.iter().map(move |b| format!("{}: {b}", t.table)))
            .collect()
    }

    /// Every configuration error, each naming the file and line of its map.
    pub fn config_errors(&self) -> Vec<String> {
        let tables = self
            .tables
            .iter()
            .flat_map(|t| t.config_errors.iter().cloned());
        self.config_errors.iter().cloned().chain(tables).collect()
    }

    /// The plan of `table`, if it has one.
    pub fn table(&self, table: &str) -> Option<&TablePlan> {
        self.tables.iter().find(|t| t.table == table)
    }
}

/// Names already taken in the database (tables and indexes share PostgreSQL's namespace;
/// SQLite's index names are database-wide) and names the plan took.
struct Names(BTreeSet<String>);

impl Names {
    fn of(catalog: &Catalog) -> Names {
        let mut taken = BTreeSet::new();
        for (name, table) in &catalog.tables {
            taken.insert(name.clone());
            taken.extend(table.indexes.iter().map(|i| i.name.clone()));
        }
        Names(taken)
    }

    /// `wanted`, or the first `wanted_N` free (as `tables begin` chooses); taken from then on.
    fn choose(&mut self, wanted: &str) -> String {
        free_name(&mut self.0, wanted)
    }
}

/// The names of the indexes `create_indexes(table, name)` creates.
pub fn index_names(table: &Table, name: &str) -> Vec<String> {
    (create_indexes(table, name).split(';'))
        .filter_map(|s| s.split_whitespace().nth(2).map(str::to_string))
        .collect()
}

/// The name under which the legacy phase keeps registry table `table`.
pub fn legacy_phase_name(table: &Table) -> &'static str {
    table.legacy_name.unwrap_or(table.name)
}

/// Reads the database behind `store` and plans its adoption; with `move_aside`, another
/// system's table under a registry name is renamed aside (under a free name) rather than left.
pub async fn plan<D: ToolDialect>(
    store: &SqlStore<D>,
    move_aside: bool,
    adopt: &AdoptSettings,
) -> Result<Plan> {
    let schema = store.current_schema().await?;
    let catalog = store.read_catalog(&schema).await?;
    let already_paddock = store.has_migrations_table(&schema).await?;
    let mut names = Names::of(&catalog);
    let legacy_layout = renamed_tables()
        .iter()
        .any(|t| catalog.tables.contains_key(legacy_name(t)));
    let mut plan = Plan {
        backend: D::KIND.name(),
        already_paddock,
        legacy_layout,
        tables: Vec::new(),
        clashes: Vec::new(),
        skipped_derived: Vec::new(),
        limits: limits(),
        maps: adopt.maps.clone(),
        config_errors: Vec::new(),
    };
    // Paddock's own bookkeeping is planned from the migrations (`own_tables`).
    for table in (registry::TABLES.iter()).filter(|t| t.kind != TableKind::Operations) {
        let mut context = Context {
            catalog: &catalog,
            legacy_layout,
            move_aside,
            adopt,
            names: &mut names,
        };
        let one = plan_registry_table(store, &mut context, table).await?;
        if matches!(one.disposition, Disposition::Foreign { .. })
            && table.kind == TableKind::Derived
        {
            plan.skipped_derived.push(table.name);
        }
        plan.tables.push(one);
    }
    let own = crate::adopt::baseline::own_table_names::<D>();
    for name in catalog.tables.keys() {
        if own.contains(name) {
            let why = "Paddock's own bookkeeping name, already present: kept as it is".into();
            plan.tables
                .push(TablePlan::new(name, Disposition::Foreign { why }));
        } else if plan.table(name).is_none() {
            plan.tables.push(foreign(name, legacy_layout));
        }
    }
    plan.tables.extend(own_tables::<D>(&catalog));
    plan.config_errors = unadopted_maps(&plan, adopt);
    plan.clashes = clashes(&catalog, &plan, legacy_layout, &mut names);
    Ok(plan)
}

/// What this version of `adopt` does not do yet.
fn limits() -> Vec<String> {
    vec![
        "a key-mapped table ([adopt.keys]) without a surrogate column named as the registry key \
         (`id`) cannot be renamed: `tables begin` refuses it (its rename carries that surrogate \
         into ra_mst_*.legacy_id)"
            .into(),
    ]
}

/// Maps naming a registry table the database holds no adopted table of.
fn unadopted_maps(plan: &Plan, adopt: &AdoptSettings) -> Vec<String> {
    let adopted = |registry: &str| {
        plan.tables.iter().any(|t| match &t.disposition {
            Disposition::Legacy { registry: r } => *r == registry,
            Disposition::Registry => t.table == registry,
            _ => false,
        })
    };
    let maps = &adopt.maps;
    let tables = (maps.columns.iter())
        .flat_map(|(table, columns)| columns.keys().map(move |c| (table, c)))
        .chain(maps.keys.iter());
    tables
        .filter(|(table, _)| !adopted(table))
        .map(|(table, column)| {
            format!(
                "{}: the map of {column}: the database holds no adopted table of {table}",
                adopt.origin(table, column)
            )
        })
        .collect()
}

/// What planning a registry table needs besides the table.
struct Context<'a> {
    catalog: &'a Catalog,
    legacy_layout: bool,
    move_aside: bool,
    adopt: &'a AdoptSettings,
    names: &'a mut Names,
}

/// The plan of registry table `table`: adopted, under its own name, or created.
async fn plan_registry_table<D: ToolDialect>(
    store: &SqlStore<D>,
    context: &mut Context<'_>,
    table: &'static Table,
) -> Result<TablePlan> {
    let (catalog, legacy_layout) = (context.catalog, context.legacy_layout);
    let physical = if legacy_layout {
        legacy_phase_name(table)
    } else {
        table.name
    };
    let Some(live) = catalog.tables.get(physical) else {
        return Ok(TablePlan::new(
            physical,
            Disposition::Create {
                registry: table.name,
            },
        ));
    };
    let key_as = context.adopt.maps.key(table.name);
    let missing_key: Vec<&str> = (table.key.iter().copied())
        .map(|k| key_as.unwrap_or(k))
        .filter(|k| live.column(k).is_none())
        .collect();
    if let (Some(key_as), false) = (key_as, missing_key.is_empty()) {
        let mut plan = TablePlan::new(physical, Disposition::Foreign { why: String::new() });
        plan.config_errors.push(format!(
            "{}: adopt.keys.{physical}: {physical} has no column {key_as}",
            context.adopt.origin(table.name, key_as)
        ));
        return Ok(plan);
    }
    if !missing_key.is_empty() {
        return Ok(occupied(context, table, physical, &missing_key));
    }
    let disposition = if physical == table.name {
        Disposition::Registry
    } else {
        Disposition::Legacy {
            registry: table.name,
        }
    };
    let mut plan = TablePlan::new(physical, disposition);
    plan_columns(&mut plan, D::KIND, table, live, key_as);
    plan_maps(&mut plan, D::KIND, table, live, context.adopt);
    plan.key = Some(match key_as {
        Some(key_as) => mapped_key(&mut plan, D::KIND, table, live, key_as, context.adopt),
        None => upsert_key(store, &mut plan, table, live, context.names).await?,
    });
    Ok(plan)
}

/// Another system's table under `physical`, the name of registry table `table`: moved aside
/// with `--move-aside`; else left alone, and Paddock's table skipped if it is a derived one
/// (nothing else reads it) or the adoption blocked.
fn occupied(
    context: &mut Context<'_>,
    table: &'static Table,
    physical: &str,
    missing_key: &[&str],
) -> TablePlan {
    if context.move_aside {
        let to = context.names.choose(&format!("{physical}_foreign"));
        let disposition = Disposition::MovedAside {
            registry: table.name,
            to,
        };
        return TablePlan::new(physical, disposition);
    }
    let mut why = format!(
        "has none of Paddock's key column(s) {} of {}: another system's table under a name \
         Paddock uses",
        missing_key.join(", "),
        table.name
    );
    let derived = table.kind == TableKind::Derived;
    if derived {
        why.push_str(&format!(
            "; Paddock's derived {} is skipped (not kept) while it holds the name",
            table.name
        ));
    }
    let mut plan = TablePlan::new(physical, Disposition::Foreign { why });
    if derived {
        plan.warnings.push(format!(
            "`paddock adopt --move-aside` renames this table aside (never dropped) and creates \
             Paddock's {}",
            table.name
        ));
    } else {
        plan.blocking.push(format!(
            "Paddock's {} cannot be created: the name is taken by another system's table \
             (`paddock adopt --move-aside` renames it aside, never dropped)",
            table.name
        ));
    }
    plan
}

/// Columns to add, type differences, legacy-only and NOT NULL columns of an adopted table.
/// `key_as`: the legacy column holding the one-column registry key (`[adopt.keys]`); the
/// live column of the key's name is then a legacy-only one (the surrogate).
fn plan_columns(
    plan: &mut TablePlan,
    kind: BackendKind,
    table: &Table,
    live: &LiveTable,
    key_as: Option<&str>,
) {
    let dialect = kind.schema_dialect();
    let renamed = table.legacy_name.is_some();
    let key_mapped = |name: &str| key_as.is_some() && table.key == [name];
    for column in table.all_columns() {
        if key_mapped(column.name) {
            continue; // judged by `mapped_key`
        }
        let Some(found) = live.column(column.name) else {
            plan.add_columns.push(AddColumn {
                column: column.name.to_string(),
                ty: dialect.column_type(column.ty).to_string(),
            });
            continue;
        };
        let bridged = bridge(dialect, column.ty, &found.ty);
        if bridged != Bridge::Exact {
            if let Bridge::Blocking(why) = &bridged {
                let hint = key_hint(table, column.name, live);
                plan.blocking
                    .push(format!("column {}: {why}{hint}", column.name));
            }
            plan.type_differences.push(TypeDifference {
                column: column.name.to_string(),
                registry: type_name(column.ty),
                live: found.ty.clone(),
                bridge: bridged,
            });
        }
        if found.not_null && column.nullable && !found.has_default && !found.identity {
            plan.warnings.push(format!(
                "column {} is NOT NULL here but optional in Paddock: a row Paddock writes \
                 without a value would be refused",
                column.name
            ));
        }
    }
    for found in &live.columns {
        let registry_column =
            table.column(found.name.as_str()).is_some() && !key_mapped(&found.name);
        if registry_column || is_audit_column(&found.name) || Some(found.name.as_str()) == key_as {
            continue;
        }
        let fills = found.has_default || found.identity;
        let carried =
            match (renamed, fills) {
                (_, _) if found.not_null && !fills => "never filled by Paddock".to_string(),
                (_, true) if key_mapped(&found.name) => format!(
                    "the surrogate key: filled by its default, never written by Paddock (the \
                     registry key {} is kept in {})",
                    found.name,
                    key_as.unwrap_or_default()
                ),
                (true, _) => {
                    format!(
                "kept in {}, not written by Paddock{}; carried into {} by tables begin (copied by \
                 backfill, compared by verify)",
                plan.table,
                if fills { " (its default fills new rows)" } else { "" },
                table.name
            )
                }
                (false, _) => {
                    format!(
                "kept in place (the table keeps its name through the rename), not written by \
                 Paddock{}",
                if fills { " (its default fills new rows)" } else { "" }
            )
                }
            };
        if found.not_null && !fills {
            plan.not_null_unfilled.push(found.name.clone());
            plan.blocking.push(format!(
                "column {} is NOT NULL without a default and Paddock does not fill it: its \
                 inserts would be refused",
                found.name
            ));
        }
        plan.legacy_only.push(LegacyColumn {
            column: found.name.clone(),
            ty: found.ty.clone(),
            carried,
        });
    }
}

/// The column maps of an adopted table: each mapped legacy column's bridge (an inexact one
/// blocks, named), a mapped NOT NULL column no longer blocking when its registry column is
/// always written; a map naming a column the table lacks is a configuration error; the key map is
/// judged by [`mapped_key`].
fn plan_maps(
    plan: &mut TablePlan,
    kind: BackendKind,
    table: &Table,
    live: &LiveTable,
    adopt: &AdoptSettings,
) {
    for (legacy, registry_column) in adopt.maps.mirrors(table.name) {
        let column = table
            .column(registry_column)
            .expect("checked by the configuration");
        let Some(found) = live.column(legacy) else {
            plan.config_errors.push(format!(
                "{}: adopt.columns.{}.{legacy}: {} has no column {legacy}",
                adopt.origin(table.name, legacy),
                plan.table,
                plan.table
            ));
            continue;
        };
        let bridged = mapped_bridge(kind.schema_dialect(), column.ty, &found.ty);
        if let Bridge::Blocking(why) = &bridged {
            plan.blocking.push(format!(
                "column {legacy} mapped from {registry_column} ({}): {why}: refused",
                type_name(column.ty)
            ));
        }
        let always_written = !column.nullable;
        if always_written && plan.not_null_unfilled.iter().any(|c| c == legacy) {
            plan.not_null_unfilled.retain(|c| c != legacy);
            plan.blocking
                .retain(|b| !(b.starts_with(&format!("column {legacy} is NOT NULL"))));
        }
        if let Some(carried) = plan.legacy_only.iter_mut().find(|c| c.column == legacy) {
            carried.carried = match table.legacy_name {
                Some(_) => format!(
                    "mirrors {registry_column}: filled by every write; carried into {} by \
                     tables begin (copied by backfill, compared by verify)",
                    table.name
                ),
                None => format!("mirrors {registry_column}: filled by every write; kept in place"),
            };
        }
        plan.mapped.push(MappedColumn {
            column: legacy.to_string(),
            mirrors: registry_column.to_string(),
            ty: found.ty.clone(),
            bridge: bridged,
        });
    }
}

/// The key of a key-mapped table (`[adopt.keys]`): the legacy column `key_as`, which must be
/// unique on its own (a primary key or a unique index) and hold the registry key's type
/// exactly; else refused, naming the table and column.
fn mapped_key(
    plan: &mut TablePlan,
    kind: BackendKind,
    table: &Table,
    live: &LiveTable,
    key_as: &str,
    adopt: &AdoptSettings,
) -> UpsertKey {
    let key = table
        .column(table.key[0])
        .expect("the registry key is a column");
    let found = live.column(key_as).expect("checked by plan_registry_table");
    let origin = adopt.origin(table.name, key_as);
    if let Bridge::Blocking(why) = bridge(kind.schema_dialect(), key.ty, &found.ty) {
        plan.blocking.push(format!(
            "[adopt.keys] column {key_as} ({}) cannot hold the key {} ({}): {why} ({origin})",
            found.ty,
            key.name,
            type_name(key.ty)
        ));
    }
    let only = |cols: &[String]| cols.len() == 1 && cols[0] == key_as;
    let by = if only(&live.primary_key) {
        "primary key".to_string()
    } else if let Some(index) = live.indexes.iter().find(|i| i.unique && only(&i.columns)) {
        format!("unique index {}", index.name)
    } else {
        plan.blocking.push(format!(
            "[adopt.keys] column {key_as} is not unique (no primary key or unique index on it \
             alone): it cannot hold the key {} ({origin})",
            key.name
        ));
        "nothing unique".to_string()
    };
    UpsertKey {
        columns: vec![key_as.to_string()],
        by: format!("{by} (the key {} kept in {key_as})", key.name),
        add_index: None,
    }
}

fn is_audit_column(name: &str) -> bool {
    registry::AUDIT_COLUMNS.iter().any(|c| c.name == name)
}

/// For a key column whose type blocks: the unique columns that could hold the key instead.
fn key_hint(table: &Table, column: &str, live: &LiveTable) -> String {
    if !table.key.contains(&column) {
        return String::new();
    }
    let candidates: Vec<&str> = (live.indexes.iter())
        .filter(|i| i.unique && i.columns.len() == 1 && i.columns[0] != column)
        .map(|i| i.columns[0].as_str())
        .collect();
    if candidates.is_empty() {
        return String::new();
    }
    format!(
        " (unique column {} could hold the key: name it in [adopt.keys])",
        candidates.join(", ")
    )
}

/// The key Paddock upserts on: the primary key or a unique index on exactly the registry key,
/// else a unique index added under a free name (refused when rows share a key).
async fn upsert_key<D: ToolDialect>(
    store: &SqlStore<D>,
    plan: &mut TablePlan,
    table: &Table,
    live: &LiveTable,
    names: &mut Names,
) -> Result<UpsertKey> {
    let columns: Vec<String> = table.key.iter().map(|k| k.to_string()).collect();
    let same =
        |cols: &[String]| cols.len() == columns.len() && columns.iter().all(|k| cols.contains(k));
    if same(&live.primary_key) {
        return Ok(UpsertKey {
            columns,
            by: "primary key".into(),
            add_index: None,
        });
    }
    if let Some(index) = live.indexes.iter().find(|i| i.unique && same(&i.columns)) {
        return Ok(UpsertKey {
            columns,
            by: format!("unique index {}", index.name),
            add_index: None,
        });
    }
    let list = columns.join(", ");
    let sql = format!(
        "SELECT CAST(COUNT(*) AS TEXT) FROM (SELECT 1 FROM {} GROUP BY {list} \
         HAVING COUNT(*) > 1) d",
        plan.table
    );
    let rows = store.text_rows(&sql, &[]).await?;
    let shared = rows.first().and_then(|r| r[0].clone()).unwrap_or_default();
    if shared != "0" {
        plan.blocking.push(format!(
            "{shared} key(s) ({list}) are shared by several rows: no unique index can be added"
        ));
    }
    let name = names.choose(&format!("{}_paddock_key", plan.table));
    Ok(UpsertKey {
        columns,
        by: format!("unique index {name} (added)"),
        add_index: Some(name),
    })
}

/// A live table that is no registry table's physical name.
fn foreign(name: &str, legacy_layout: bool) -> TablePlan {
    let registry_name = registry::table(name);
    let why = if name.starts_with("ra_odds_") {
        "another system's odds (Paddock keeps its odds in ra_runner_odds)".to_string()
    } else if name.starts_with("paddock_") {
        "named like Paddock's bookkeeping, but not in its migrations".to_string()
    } else if registry_name.is_some() && legacy_layout {
        "a registry name beside the legacy tables".to_string()
    } else {
        "not a registry table nor a legacy name of one: another system's".to_string()
    };
    let mut plan = TablePlan::new(name, Disposition::Foreign { why });
    if registry_name.is_some_and(|t| t.legacy_name.is_some()) && legacy_layout {
        plan.blocking.push(
            "exists beside its legacy table: a rename part-way through is not adopted".into(),
        );
    }
    plan
}

/// Paddock's bookkeeping tables of the migrations (`paddock_*`) the database lacks.
fn own_tables<D: ToolDialect>(catalog: &Catalog) -> Vec<TablePlan> {
    crate::adopt::baseline::own_table_names::<D>()
        .into_iter()
        .filter(|name| !catalog.tables.contains_key(name))
        .map(|name| TablePlan::new(&name, Disposition::PaddockOwn))
        .collect()
}

/// The index names Paddock would take that are taken: those of the tables adopt creates and
/// those `tables begin` creates on `ra_mst_*`, each with the free name chosen.
fn clashes(
    catalog: &Catalog,
    plan: &Plan,
    legacy_layout: bool,
    names: &mut Names,
) -> Vec<NameClash> {
    let taken = Names::of(catalog);
    let mut wanted: Vec<(String, String)> = Vec::new();
    for t in &plan.tables {
        if let Disposition::Create { registry } | Disposition::MovedAside { registry, .. } =
            t.disposition
        {
            let table = registry::table(registry).expect("a registry table");
            for index in index_names(table, &t.table) {
                wanted.push((index, format!("index of {}, created by adopt", t.table)));
            }
        }
    }
    if legacy_layout {
        for table in renamed_tables() {
            for index in index_names(table, table.name) {
                let by = format!("index of {}, created by tables begin", table.name);
                wanted.push((index, by));
            }
        }
    }
    (wanted.into_iter())
        .filter(|(name, _)| taken.0.contains(name))
        .map(|(name, wanted_by)| NameClash {
            chosen: names.choose(&name),
            name,
            wanted_by,
        })
        .collect()
}
