//! SQL text: identifier and literal quoting, and the SELECT each pass declares its
//! cursor for. Table and column names only ever reach SQL through `quote::ident`
//! (quoted, or bare when `quote.sql.identifiers=never` and the name is plain);
//! offsets and bounds are integers formatted by Rust, never user text.

use super::config::Mode;
use super::offsets::Offset;
pub use super::quote::{quote_literal, QuoteMethod};
use super::source::From;
#[cfg(test)]
use super::source::TableId;

/// Whether the timestamp expression is `timestamptz` or `timestamp` (read in db.timezone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsType {
    Tz,
    NoTz,
}

/// The timestamp literal for `micros` since the Unix epoch, in the column's type.
pub fn ts_literal(micros: i64, ty: TsType, tz: &str) -> String {
    let tz_value = format!(
        "(TIMESTAMPTZ 'epoch' + ({})::int8 * INTERVAL '1 microsecond')",
        micros
    );
    match ty {
        TsType::Tz => tz_value,
        TsType::NoTz => format!("({} AT TIME ZONE {})", tz_value, quote_literal(tz)),
    }
}

/// Name of the hidden column carrying the incrementing value.
pub const INC_COL: &str = "__sluice_inc";
/// Name of the hidden column carrying the timestamp as timestamptz.
pub const TS_COL: &str = "__sluice_ts";

/// Everything needed to write one pass's SELECT.
pub struct SelectSpec<'a> {
    pub mode: Mode,
    pub from: &'a From,
    /// The SELECT list of the value columns.
    pub columns: &'a [String],
    /// Quoted incrementing column.
    pub inc: Option<&'a str>,
    /// The timestamp expression (COALESCE of the quoted columns) and its type.
    pub ts: Option<(&'a str, TsType)>,
    pub timezone: &'a str,
    /// Where the last pass stopped.
    pub offset: &'a Offset,
    /// Only ids up to this (inclusive).
    pub inc_upper: Option<i64>,
    /// Only timestamps strictly before this (micros since the epoch).
    pub ts_upper: Option<i64>,
    /// `quote.sql.identifiers` for the table name.
    pub quote: QuoteMethod,
    /// `query.suffix`, appended after a space (empty: nothing).
    pub suffix: &'a str,
}

impl SelectSpec<'_> {
    /// The SELECT: value columns, hidden offset columns, WHERE and ORDER BY.
    pub fn sql(&self) -> String {
        let mut sel = self.columns.join(", ");
        if sel.is_empty() {
            sel.push_str("NULL");
        }
        if let Some(inc) = self.inc {
            sel.push_str(&format!(", ({})::int8 AS {}", inc, INC_COL));
        }
        if let Some((ts, ty)) = self.ts {
            match ty {
                TsType::Tz => sel.push_str(&format!(", ({}) AS {}", ts, TS_COL)),
                TsType::NoTz => sel.push_str(&format!(
                    ", (({}) AT TIME ZONE {}) AS {}",
                    ts,
                    quote_literal(self.timezone),
                    TS_COL
                )),
            }
        }
        let mut conds = Vec::new();
        let lit = |m: i64| {
            let (_, ty) = self.ts.expect("timestamp mode");
            ts_literal(m, ty, self.timezone)
        };
        match self.mode {
            Mode::Bulk => {}
            Mode::Incrementing => {
                let inc = self.inc.expect("incrementing column");
                conds.push(format!("{} > {}", inc, self.offset.inc.unwrap_or(-1)));
                if let Some(u) = self.inc_upper {
                    conds.push(format!("{} <= {}", inc, u));
                }
            }
            Mode::Timestamp => {
                let (ts, _) = self.ts.expect("timestamp column");
                if let Some(l) = self.offset.ts_micros {
                    conds.push(format!("{} > {}", ts, lit(l)));
                }
            }
            Mode::TimestampIncrementing => {
                let (ts, _) = self.ts.expect("timestamp column");
                let inc = self.inc.expect("incrementing column");
                match self.offset.ts_micros {
                    Some(l) => conds.push(format!(
                        "({}, {}) > ({}, {})",
                        ts,
                        inc,
                        lit(l),
                        self.offset.inc.unwrap_or(-1)
                    )),
                    None => conds.push(format!("{} IS NOT NULL", ts)),
                }
            }
        }
        if self.mode.uses_timestamp() {
            let (ts, _) = self.ts.expect("timestamp column");
            if let Some(u) = self.ts_upper {
                conds.push(format!("{} < {}", ts, lit(u)));
            }
        }
        let mut sql = format!("SELECT {} FROM {}", sel, self.from.sql(self.quote));
        if !conds.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conds.join(" AND "));
        }
        match self.mode {
            Mode::Bulk => {}
            Mode::Incrementing => sql.push_str(&format!(" ORDER BY {} ASC", self.inc.unwrap())),
            Mode::Timestamp => sql.push_str(&format!(" ORDER BY {} ASC", self.ts.unwrap().0)),
            Mode::TimestampIncrementing => sql.push_str(&format!(
                " ORDER BY {} ASC, {} ASC",
                self.ts.unwrap().0,
                self.inc.unwrap()
            )),
        }
        if !self.suffix.is_empty() {
            sql.push(' ');
            sql.push_str(self.suffix);
        }
        sql
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jdbc::quote::quote_ident;

    #[test]
    fn names_are_quoted() {
        assert_eq!(quote_ident(r#"we"ird; DROP"#), r#""we""ird; DROP""#);
        assert_eq!(quote_literal("it's"), "'it''s'");
        let t = TableId::parse("sales.or\"ders");
        assert_eq!(t.quoted(), r#""sales"."or""ders""#);
        assert!(t.matches("or\"ders") && t.matches("sales.or\"ders") && !t.matches("x"));
    }

    #[test]
    fn timestamp_incrementing_select() {
        let from = From::Table(TableId::parse("public.t"));
        let cols = vec!["\"id\"".to_string(), "\"v\"".to_string()];
        let off = Offset {
            inc: Some(7),
            ts_micros: Some(1_000_000),
        };
        let s = SelectSpec {
            mode: Mode::TimestampIncrementing,
            from: &from,
            columns: &cols,
            inc: Some("\"id\""),
            ts: Some(("COALESCE(\"u\", \"c\")", TsType::Tz)),
            timezone: "UTC",
            offset: &off,
            inc_upper: None,
            ts_upper: Some(2_000_000),
            quote: QuoteMethod::Always,
            suffix: "LIMIT 5",
        }
        .sql();
        assert!(s.contains("(COALESCE(\"u\", \"c\"), \"id\") > ((TIMESTAMPTZ 'epoch' + (1000000)::int8 * INTERVAL '1 microsecond'), 7)"), "{}", s);
        assert!(
            s.contains("< (TIMESTAMPTZ 'epoch' + (2000000)::int8"),
            "{}",
            s
        );
        assert!(
            s.ends_with("ORDER BY COALESCE(\"u\", \"c\") ASC, \"id\" ASC LIMIT 5"),
            "{}",
            s
        );
    }
}
