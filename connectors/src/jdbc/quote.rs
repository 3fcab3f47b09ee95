//! Quoting for SQL text: every table and column name reaches SQL through
//! [`quote_ident`], every literal through [`quote_literal`].

/// `"name"`, with embedded quotes doubled: any name is safe.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `'text'` with quotes doubled (the session runs with standard_conforming_strings on).
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
