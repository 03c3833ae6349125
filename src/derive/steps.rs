//! What a derived update is made of: statements, what each one's row count means for the
//! ledger, and the steps of a [`Plan`]. Most steps are statements of the plan's one
//! transaction; PostgreSQL's full rebuild also has steps of independent jobs
//! ([`Step::Together`]) that fill and index its staged tables on connections of their own
//! (run by `super::together`).

/// What a statement's affected-row count means for the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Scratch work (temporary tables).
    None,
    /// Rows of `table` (its registry name) deleted before recomputing.
    Deleted(&'static str),
    /// Rows of `table` (its registry name) written.
    Written(&'static str),
    /// A `SELECT COUNT(*)` of the rows of `table` (its registry name) a staged rebuild is about
    /// to replace: the count is what the ledger records as deleted.
    Replaced(&'static str),
}

/// One statement of the plan.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sql: String,
    pub effect: Effect,
}

impl Statement {
    /// A statement of scratch work ([`Effect::None`]).
    pub fn scratch(sql: String) -> Statement {
        Statement {
            sql,
            effect: Effect::None,
        }
    }
}

/// Every step of an update, and what undoes the work its jobs committed should it fail.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Run after a failure, on a connection of its own, once the plan's transaction has rolled
    /// back: drops what [`Step::Together`] jobs committed (the staged tables).
    pub on_failure: Vec<String>,
}

/// One step of a [`Plan`].
#[derive(Debug, Clone)]
pub enum Step {
    /// A statement of the plan's own transaction.
    Main(Statement),
    /// Jobs independent of each other, run at the same time on connections of their own, each
    /// in a transaction of its own, all committed before the next step; or, when no such
    /// connection is to be had, in turn inside the plan's transaction. A job's statements run
    /// in order. They write only what the plan's transaction has not touched (PostgreSQL's
    /// staged tables), so the two ways give the same result.
    Together(Vec<Job>),
}

/// Statements run in order, in one transaction.
pub type Job = Vec<Statement>;

impl Plan {
    /// Adds statements of the plan's own transaction.
    pub fn main(&mut self, statements: impl IntoIterator<Item = Statement>) {
        self.steps.extend(statements.into_iter().map(Step::Main));
    }

    /// Every statement, in order (the jobs of a step in turn).
    pub fn statements(&self) -> Vec<&Statement> {
        let mut out = Vec::new();
        for step in &self.steps {
            match step {
                Step::Main(statement) => out.push(statement),
                Step::Together(jobs) => out.extend(jobs.iter().flatten()),
            }
        }
        out
    }
}
