//! What a JDBC source task reads: a table, or a custom query.

use super::quote::{ident, quote_ident, QuoteMethod};

/// A table, by schema and name as stored in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId {
    pub schema: String,
    pub name: String,
}

impl TableId {
    /// `"schema"."name"`.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }
    /// `schema.name` for SQL text under `quote.sql.identifiers`.
    pub fn sql(&self, q: QuoteMethod) -> String {
        format!("{}.{}", ident(&self.schema, q), ident(&self.name, q))
    }
    /// `schema.name`, as shown to users and stored in offsets.
    pub fn display(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
    /// Parses `schema.name` (the form task configs carry).
    pub fn parse(s: &str) -> TableId {
        match s.split_once('.') {
            Some((a, b)) => TableId {
                schema: a.into(),
                name: b.into(),
            },
            None => TableId {
                schema: "public".into(),
                name: s.into(),
            },
        }
    }
    /// Does a whitelist / blacklist entry (`table` or `schema.table`) name this table?
    pub fn matches(&self, entry: &str) -> bool {
        let entry = entry.trim();
        entry == self.name || entry == self.display()
    }
}

/// What a source reads from.
#[derive(Debug, Clone)]
pub enum From {
    Table(TableId),
    Query(String),
}

impl From {
    /// For messages: `table schema.name` or `the query`.
    pub fn describe(&self) -> String {
        match self {
            From::Table(t) => format!("table {}", t.display()),
            From::Query(_) => "the query".to_string(),
        }
    }
    /// The FROM item.
    pub fn sql(&self, q: QuoteMethod) -> String {
        match self {
            From::Table(t) => t.sql(q),
            From::Query(q) => format!("({}) AS sluice_q", q),
        }
    }
}
