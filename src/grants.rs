//! `paddock grants --reader ROLE`: lets a PostgreSQL role read Paddock's data tables (analysts,
//! dashboards, a provider's API role) while every table keeps row-level security on. For the
//! role: USAGE on the schema, SELECT on each data table (`ra_*`; the `paddock_*` bookkeeping
//! and the migrations ledger only with `--include-internal`) with a read policy
//! (`paddock_read_<role>`, `FOR SELECT … USING (true)`), and default privileges so tables
//! Paddock creates later are readable too (the store gives them the same policies). `--revoke`
//! takes all of it back; `--dry-run` prints the statements instead of running them. Running it
//! twice is harmless.
//!
//! Reaches the database only through the store's tool door (`store::tools`): the tables are
//! read from the catalog with bound values, the statements run in one write transaction.

use crate::store::dialect::{Params, ToolDialect, READER_POLICY_PREFIX};
use crate::store::tools::{ForeignKeys, Statement};
use crate::store::{with_backend, AnyStore, SqlStore};
use anyhow::{bail, Result};
use fetchers::registry::ColumnType;
use fetchers::rows::Value;

/// Longest role name accepted: the policy name (`paddock_read_` + role) must fit PostgreSQL's
/// 63-byte identifiers.
const MAX_ROLE_LEN: usize = 63 - READER_POLICY_PREFIX.len();

/// What `paddock grants` is asked to do.
#[derive(Debug, Clone)]
pub struct GrantRequest {
    pub reader: ReaderRole,
    /// Take the access back instead of granting it.
    pub revoke: bool,
    /// The `paddock_*` bookkeeping tables and `_sqlx_migrations` too (granting; a revoke always
    /// covers them).
    pub include_internal: bool,
}

/// A role name checked to be a plain identifier (letters, digits, `_`; not starting with a
/// digit), always written quoted, so it cannot carry SQL. `public` (everyone) and the
/// `pg_*` system roles are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderRole(String);

impl ReaderRole {
    pub fn parse(name: &str) -> Result<ReaderRole> {
        let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let starts_well = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !plain || !starts_well || name.len() > MAX_ROLE_LEN {
            bail!(
                "reader role {name:?} is not a plain identifier: letters, digits and _, not \
                 starting with a digit, at most {MAX_ROLE_LEN} characters"
            );
        }
        if name.eq_ignore_ascii_case("public") || name.to_ascii_lowercase().starts_with("pg_") {
            bail!("reader role {name:?} is reserved: name a role of your own");
        }
        Ok(ReaderRole(name.to_string()))
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    /// The role as a quoted identifier.
    fn quoted(&self) -> String {
        quote(&self.0)
    }

    /// The quoted name of the role's read policy.
    fn policy(&self) -> String {
        quote(&format!("{READER_POLICY_PREFIX}{}", self.0))
    }
}

/// `name` as a quoted identifier (inner quotes doubled).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A table or view of Paddock's in the current schema.
#[derive(Debug, Clone)]
struct Relation {
    name: String,
    is_view: bool,
    internal: bool,
    /// Whether the reader's policy is on it already.
    has_policy: bool,
}

/// The statements `request` takes on `store` (run unless `dry_run`); they are returned either
/// way, for printing.
pub async fn grants(
    store: &AnyStore,
    request: &GrantRequest,
    dry_run: bool,
) -> Result<Vec<String>> {
    with_backend!(store, |s| grants_on(s, request, dry_run).await)
}

async fn grants_on<D: ToolDialect>(
    store: &SqlStore<D>,
    request: &GrantRequest,
    dry_run: bool,
) -> Result<Vec<String>> {
    if !D::KIND.is_postgres() {
        bail!(
            "grants are a PostgreSQL feature: SQLite has no roles (a reader opens the file, or \
             the analytics copy, read-only)"
        );
    }
    let role = &request.reader;
    let mut p = Params::<D>::new();
    let sql = format!(
        "SELECT 1 FROM pg_roles WHERE rolname = {}",
        p.add(Value::Text(role.name().into()), ColumnType::Text)
    );
    let exists = store.text_rows(&sql, p.values()).await?;
    if exists.is_empty() {
        bail!(
            "role {:?} does not exist; create it first (e.g. CREATE ROLE {} NOLOGIN)",
            role.name(),
            role.quoted()
        );
    }
    let schema = current_schema(store).await?;
    let relations = paddock_relations(store, role).await?;
    let statements = if request.revoke {
        revoke_sql(role, &schema, &relations)
    } else {
        let chosen: Vec<Relation> = relations
            .into_iter()
            .filter(|r| request.include_internal || !r.internal)
            .collect();
        grant_sql(role, &schema, &chosen)
    };
    if !dry_run {
        let run: Vec<Statement<D>> = statements.iter().cloned().map(Statement::from).collect();
        store.run_statements(&run, ForeignKeys::Enforced).await?;
    }
    Ok(statements)
}

async fn current_schema<D: ToolDialect>(store: &SqlStore<D>) -> Result<String> {
    let rows = store
        .text_rows("SELECT current_schema()::text", &[])
        .await?;
    match rows.into_iter().next().and_then(|mut r| r.remove(0)) {
        Some(schema) => Ok(schema),
        None => bail!("the connection has no current schema (search_path is empty)"),
    }
}

/// Paddock's tables and views in the current schema: data (`ra_*`, every rename phase's names
/// included) and internal (`paddock_*`, `_sqlx_migrations`).
async fn paddock_relations<D: ToolDialect>(
    store: &SqlStore<D>,
    role: &ReaderRole,
) -> Result<Vec<Relation>> {
    let mut p = Params::<D>::new();
    let policy_name = format!("{READER_POLICY_PREFIX}{}", role.name());
    let policy = p.add(Value::Text(policy_name), ColumnType::Text);
    let data = p.add(Value::Text("ra\\_%".into()), ColumnType::Text);
    let internal = p.add(Value::Text("paddock\\_%".into()), ColumnType::Text);
    let ledger = p.add(Value::Text("_sqlx_migrations".into()), ColumnType::Text);
    let sql = format!(
        "SELECT c.relname::text, (c.relkind = 'v')::text, (c.relname NOT LIKE {data})::text, \
         EXISTS (SELECT 1 FROM pg_policy pol WHERE pol.polrelid = c.oid \
           AND pol.polname = {policy})::text \
         FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace \
         AND c.relkind IN ('r', 'p', 'v') \
         AND (c.relname LIKE {data} OR c.relname LIKE {internal} OR c.relname = {ledger}) \
         ORDER BY c.relname"
    );
    let rows = store.text_rows(&sql, p.values()).await?;
    let flag = |cell: &Option<String>| cell.as_deref() == Some("true");
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(Relation {
                name: row.first()?.clone()?,
                is_view: flag(row.get(1)?),
                internal: flag(row.get(2)?),
                has_policy: flag(row.get(3)?),
            })
        })
        .collect())
}

/// USAGE on the schema, a read policy and SELECT per relation where it is missing (views take
/// no policy: they run with the reader's privileges, so the table's policy applies), default
/// privileges.
///
/// The policy comes before the grant: `CREATE POLICY` takes the table's lock, `GRANT` updates
/// its `pg_class` row. Autovacuum holds the lock while it analyses a table and then updates
/// that row, so a grant made first would leave each waiting for the other (a deadlock).
fn grant_sql(role: &ReaderRole, schema: &str, relations: &[Relation]) -> Vec<String> {
    let (r, s, policy) = (role.quoted(), quote(schema), role.policy());
    let mut out = vec![format!("GRANT USAGE ON SCHEMA {s} TO {r}")];
    for relation in relations {
        let t = format!("{s}.{}", quote(&relation.name));
        if !relation.is_view && !relation.has_policy {
            out.push(format!(
                "CREATE POLICY {policy} ON {t} FOR SELECT TO {r} USING (true)"
            ));
        }
        out.push(format!("GRANT SELECT ON {t} TO {r}"));
    }
    out.push(format!(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT ON TABLES TO {r}"
    ));
    out
}

/// Everything [`grant_sql`] gives, taken back from every Paddock relation. USAGE on `public`
/// stays: PostgreSQL grants it to everyone, and a provider's roles rely on it.
fn revoke_sql(role: &ReaderRole, schema: &str, relations: &[Relation]) -> Vec<String> {
    let (r, s, policy) = (role.quoted(), quote(schema), role.policy());
    let mut out = vec![format!(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {s} REVOKE SELECT ON TABLES FROM {r}"
    )];
    for relation in relations {
        let t = format!("{s}.{}", quote(&relation.name));
        if relation.has_policy {
            out.push(format!("DROP POLICY {policy} ON {t}"));
        }
        out.push(format!("REVOKE SELECT ON {t} FROM {r}"));
    }
    if schema != "public" {
        out.push(format!("REVOKE USAGE ON SCHEMA {s} FROM {r}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::grants::*;

    #[test]
    fn role_names_that_could_carry_sql_are_refused() {
        for bad in [
            "",
            "r; DROP TABLE ra_runners",
            "a\"b",
            "1reader",
            "reader-1",
            "public",
            "PUBLIC",
            "pg_read_all_data",
            &"r".repeat(MAX_ROLE_LEN + 1),
        ] {
            assert!(ReaderRole::parse(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["analyst", "Reader_2", "_bi", "anon", "authenticated"] {
            assert_eq!(ReaderRole::parse(good).unwrap().name(), good);
        }
    }

    #[test]
    fn grant_gives_select_and_a_policy_per_table_and_none_to_views() {
        let role = ReaderRole::parse("analyst").unwrap();
        let relations = [
            Relation {
                name: "ra_runners".into(),
                is_view: false,
                internal: false,
                has_policy: false,
            },
            Relation {
                name: "ra_horses".into(),
                is_view: true,
                internal: false,
                has_policy: false,
            },
        ];
        let sql = grant_sql(&role, "public", &relations).join(";\n");
        assert!(sql.contains("GRANT USAGE ON SCHEMA \"public\" TO \"analyst\""));
        assert!(sql.contains("GRANT SELECT ON \"public\".\"ra_runners\" TO \"analyst\""));
        assert!(sql.contains(
            "CREATE POLICY \"paddock_read_analyst\" ON \"public\".\"ra_runners\" FOR SELECT"
        ));
        assert!(!sql.contains("POLICY \"paddock_read_analyst\" ON \"public\".\"ra_horses\""));
        assert!(sql.contains("ALTER DEFAULT PRIVILEGES IN SCHEMA \"public\" GRANT SELECT"));
        let revoke = revoke_sql(&role, "public", &relations).join(";\n");
        assert!(!revoke.contains("REVOKE USAGE"), "public's USAGE stays");
        assert!(revoke_sql(&role, "racing", &relations)
            .iter()
            .any(|s| s == "REVOKE USAGE ON SCHEMA \"racing\" FROM \"analyst\""));
    }
}
