//! Quoting for SQL text: every table and column name reaches SQL through [`ident`]
//! (`quote.sql.identifiers`) or [`quote_ident`], every literal through
//! [`quote_literal`].

/// `"name"`, with embedded quotes doubled: any name is safe.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `'text'` with quotes doubled (the session runs with standard_conforming_strings on).
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `quote.sql.identifiers`: whether table and column names are quoted in the SELECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuoteMethod {
    /// Always `"name"` (Confluent's default): names are taken exactly as stored.
    #[default]
    Always,
    /// Bare names, which PostgreSQL folds to lower case, as Confluent's `never`. A name
    /// that is not a plain identifier (letters, digits, `_`, `$`) is still quoted, so
    /// a name never reaches SQL as raw text.
    Never,
}

/// `name` for SQL text under `method`.
pub fn ident(name: &str, method: QuoteMethod) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if method == QuoteMethod::Never && plain {
        name.to_string()
    } else {
        quote_ident(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_quotes_plain_names_only() {
        assert_eq!(ident("Orders", QuoteMethod::Always), "\"Orders\"");
        assert_eq!(ident("Orders", QuoteMethod::Never), "Orders");
        assert_eq!(ident("a$1_b", QuoteMethod::Never), "a$1_b");
        assert_eq!(ident("odd \"name", QuoteMethod::Never), "\"odd \"\"name\"");
        assert_eq!(ident("x; DROP", QuoteMethod::Never), "\"x; DROP\"");
        assert_eq!(ident("1a", QuoteMethod::Never), "\"1a\"");
    }
}
