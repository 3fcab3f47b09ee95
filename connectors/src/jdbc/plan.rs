//! How one table or query is read: the columns' SELECT expressions and schemas, the
//! record key, and the checked incrementing / timestamp columns.

use std::sync::Arc;

use sluice_runtime::config::ConfigIssue;
use sluice_runtime::data::{SchemaBuilder, SchemaRef};
use tokio_postgres::types::Type;

use super::config::{JdbcSourceConfig, RecordKey};
use super::db::Described;
use super::query::TsType;
use super::quote::ident;
use super::source::From;
use super::types::{plan_column, ColumnPlan};

/// The reading plan of one source.
pub struct Plan {
    pub columns: Vec<ColumnPlan>,
    pub value_schema: SchemaRef,
    /// The key struct schema and the indexes of its columns (tables with a primary key,
    /// with `record.key=primary.key`).
    pub key: Option<(SchemaRef, Vec<usize>)>,
    pub inc: Option<String>,
    pub ts: Option<(String, TsType)>,
}

impl Plan {
    /// The SELECT list of the value columns.
    pub fn select_list(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.expr.clone()).collect()
    }
}

/// Builds the plan, or lists what is wrong with the config for this source.
pub fn build(
    cfg: &JdbcSourceConfig,
    from: &From,
    d: &Described,
) -> Result<Arc<Plan>, Vec<ConfigIssue>> {
    let mut issues = Vec::new();
    let what = match from {
        From::Table(t) => format!("table {}", t.display()),
        From::Query(_) => "the query".to_string(),
    };
    let col = |name: &str| d.columns.iter().find(|c| c.name == name);
    let mut inc = None;
    if cfg.mode.uses_incrementing() {
        let name = cfg.incrementing_column.as_deref().unwrap_or_default();
        match col(name) {
            None => issues.push(ConfigIssue::new(
                "incrementing.column.name",
                format!("{} has no column {:?}", what, name),
            )),
            Some(c) if !matches!(c.ty, Type::INT2 | Type::INT4 | Type::INT8) => {
                issues.push(ConfigIssue::new(
                    "incrementing.column.name",
                    format!(
                        "column {:?} of {} is {}, not an integer type (smallint, integer, bigint)",
                        name,
                        what,
                        c.ty.name()
                    ),
                ))
            }
            Some(c) if c.nullable && cfg.validate_non_null && matches!(from, From::Table(_)) => {
                issues.push(ConfigIssue::new(
                    "incrementing.column.name",
                    format!("column {:?} of {} is nullable (set validate.non.null=false to allow it; rows with NULL are never read)", name, what),
                ))
            }
            Some(_) => inc = Some(ident(name, cfg.quote)),
        }
    }
    let mut ts = None;
    if cfg.mode.uses_timestamp() {
        let mut kinds = Vec::new();
        for name in &cfg.timestamp_columns {
            match col(name) {
                None => issues.push(ConfigIssue::new(
                    "timestamp.column.name",
                    format!("{} has no column {:?}", what, name),
                )),
                Some(c) => match c.ty {
                    Type::TIMESTAMPTZ => kinds.push(TsType::Tz),
                    Type::TIMESTAMP => kinds.push(TsType::NoTz),
                    _ => issues.push(ConfigIssue::new(
                        "timestamp.column.name",
                        format!(
                            "column {:?} of {} is {}, not timestamp or timestamptz",
                            name,
                            what,
                            c.ty.name()
                        ),
                    )),
                },
            }
        }
        if kinds.windows(2).any(|w| w[0] != w[1]) {
            issues.push(ConfigIssue::new(
                "timestamp.column.name",
                format!(
                    "the timestamp columns of {} mix timestamp and timestamptz",
                    what
                ),
            ));
        }
        if cfg.validate_non_null && cfg.timestamp_columns.len() == 1 {
            if let Some(c) = col(&cfg.timestamp_columns[0]) {
                if c.nullable && matches!(from, From::Table(_)) {
                    issues.push(ConfigIssue::new(
                        "timestamp.column.name",
                        format!("column {:?} of {} is nullable (set validate.non.null=false to allow it; rows with NULL are never read)", c.name, what),
                    ));
                }
            }
        }
        if issues.is_empty() {
            let quoted: Vec<String> = cfg
                .timestamp_columns
                .iter()
                .map(|c| ident(c, cfg.quote))
                .collect();
            let expr = if quoted.len() == 1 {
                quoted[0].clone()
            } else {
                format!("COALESCE({})", quoted.join(", "))
            };
            ts = Some((expr, kinds[0]));
        }
    }
    if !issues.is_empty() {
        return Err(issues);
    }
    let columns: Vec<ColumnPlan> = d
        .columns
        .iter()
        .map(|c| plan_column(c, &ident(&c.name, cfg.quote), cfg))
        .collect();
    let mut vb = SchemaBuilder::struct_();
    if let From::Table(t) = from {
        vb = vb.name(t.name.clone());
    }
    for c in &columns {
        vb = vb.field(c.name.clone(), c.schema.clone());
    }
    let key = if d.primary_key.is_empty() || cfg.record_key == RecordKey::None {
        None
    } else {
        let mut kb = SchemaBuilder::struct_();
        if let From::Table(t) = from {
            kb = kb.name(format!("{}.Key", t.name));
        }
        let mut idx = Vec::new();
        for k in &d.primary_key {
            if let Some(i) = columns.iter().position(|c| &c.name == k) {
                kb = kb.field(k.clone(), columns[i].schema.clone());
                idx.push(i);
            }
        }
        Some((kb.build(), idx))
    };
    Ok(Arc::new(Plan {
        value_schema: vb.build(),
        columns,
        key,
        inc,
        ts,
    }))
}
