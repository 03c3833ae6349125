//! The write order: a topological sort of the registry's foreign keys, so every referenced row
//! is written before the rows that reference it. Nothing keeps this order by hand.

use crate::registry::{Table, TableKind};
use std::collections::BTreeMap;

/// Errors in a table set's foreign-key graph.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OrderError {
    #[error("table {table} has a foreign key to {target}, which is not in the registry")]
    UnknownTarget { table: String, target: String },
    #[error("foreign keys form a cycle through: {0}")]
    Cycle(String),
}

/// Table names in an order where each table comes after every table it references (self
/// references are ignored), and every derived table after every fact table it is computed
/// from. Ties keep the order of `tables`, so the result is deterministic.
pub fn write_order(tables: &[Table]) -> Result<Vec<&str>, OrderError> {
    let index: BTreeMap<&str, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name, i))
        .collect();
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); tables.len()];
    for (i, t) in tables.iter().enumerate() {
        for f in t.foreign_keys {
            let j = *index
                .get(f.ref_table)
                .ok_or_else(|| OrderError::UnknownTarget {
                    table: t.name.to_string(),
                    target: f.ref_table.to_string(),
                })?;
            if j != i && !deps[i].contains(&j) {
                deps[i].push(j);
            }
        }
        if t.kind == TableKind::Derived {
            // Computed from the facts: written after all of them, whatever its keys reference.
            for (j, fact) in tables.iter().enumerate() {
                if fact.kind == TableKind::Fact && !deps[i].contains(&j) {
                    deps[i].push(j);
                }
            }
        }
    }
    // Kahn's algorithm, always taking the first ready table in declaration order.
    let mut done = vec![false; tables.len()];
    let mut order = Vec::with_capacity(tables.len());
    while order.len() < tables.len() {
        let next = (0..tables.len()).find(|&i| !done[i] && deps[i].iter().all(|&d| done[d]));
        match next {
            Some(i) => {
                done[i] = true;
                order.push(tables[i].name);
            }
            None => {
                let stuck: Vec<&str> = (0..tables.len())
                    .filter(|&i| !done[i])
                    .map(|i| tables[i].name)
                    .collect();
                return Err(OrderError::Cycle(stuck.join(", ")));
            }
        }
    }
    Ok(order)
}

/// The write order of the real registry (computed once).
pub fn registry_order() -> &'static [&'static str] {
    use std::sync::OnceLock;
    static ORDER: OnceLock<Vec<&'static str>> = OnceLock::new();
    ORDER.get_or_init(|| write_order(crate::registry::TABLES).expect("registry is acyclic"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{ForeignKey, Table, TABLES};

    fn pos(order: &[&str], name: &str) -> usize {
        order.iter().position(|n| *n == name).unwrap()
    }

    #[test]
    fn registry_order_puts_every_referenced_table_first() {
        let order = write_order(TABLES).unwrap();
        for t in TABLES {
            for f in t.foreign_keys {
                if f.ref_table != t.name {
                    assert!(pos(&order, f.ref_table) < pos(&order, t.name), "{}", t.name);
                }
            }
        }
        assert!(pos(&order, "ra_mst_horses") < pos(&order, "ra_mst_sires"));
        assert!(pos(&order, "ra_mst_races") < pos(&order, "ra_runners"));
        assert!(pos(&order, "ra_runners") < pos(&order, "ra_runner_odds"));
    }

    #[test]
    fn derived_tables_are_written_after_every_fact_table() {
        let order = write_order(TABLES).unwrap();
        let derived: Vec<&Table> = TABLES
            .iter()
            .filter(|t| t.kind == TableKind::Derived)
            .collect();
        assert_eq!(derived.len(), 4);
        for d in derived {
            for fact in TABLES.iter().filter(|t| t.kind == TableKind::Fact) {
                assert!(pos(&order, fact.name) < pos(&order, d.name), "{}", d.name);
            }
        }
    }

    #[test]
    fn adding_a_foreign_key_changes_the_order() {
        static A: Table = Table {
            name: "a",
            legacy_name: None,
            kind: TableKind::Master,
            columns: &[],
            key: &[],
            foreign_keys: &[],
        };
        static B_PLAIN: Table = Table {
            name: "b",
            legacy_name: None,
            kind: TableKind::Master,
            columns: &[],
            key: &[],
            foreign_keys: &[],
        };
        static FK_TO_A: [ForeignKey; 1] = [ForeignKey {
            columns: &["a_id"],
            ref_table: "a",
            ref_columns: &["id"],
        }];
        static B_REFS_A: Table = Table {
            name: "b",
            legacy_name: None,
            kind: TableKind::Master,
            columns: &[],
            key: &[],
            foreign_keys: &FK_TO_A,
        };
        let plain = [clone(&B_PLAIN), clone(&A)];
        assert_eq!(write_order(&plain).unwrap(), vec!["b", "a"]);
        let with_fk = [clone(&B_REFS_A), clone(&A)];
        assert_eq!(write_order(&with_fk).unwrap(), vec!["a", "b"]);
    }

    #[test]
    fn a_cycle_is_an_error_naming_the_tables() {
        static TO_B: [ForeignKey; 1] = [ForeignKey {
            columns: &["x"],
            ref_table: "b",
            ref_columns: &["id"],
        }];
        static TO_A: [ForeignKey; 1] = [ForeignKey {
            columns: &["x"],
            ref_table: "a",
            ref_columns: &["id"],
        }];
        let tables = [
            Table {
                name: "a",
                legacy_name: None,
                kind: TableKind::Master,
                columns: &[],
                key: &[],
                foreign_keys: &TO_B,
            },
            Table {
                name: "b",
                legacy_name: None,
                kind: TableKind::Master,
                columns: &[],
                key: &[],
                foreign_keys: &TO_A,
            },
        ];
        assert_eq!(
            write_order(&tables),
            Err(OrderError::Cycle("a, b".to_string()))
        );
    }

    fn clone(t: &Table) -> Table {
        Table {
            name: t.name,
            legacy_name: t.legacy_name,
            kind: t.kind,
            columns: t.columns,
            key: t.key,
            foreign_keys: t.foreign_keys,
        }
    }
}
