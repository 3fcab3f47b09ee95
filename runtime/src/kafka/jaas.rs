//! A parser for Kafka's `sasl.jaas.config` value: one JAAS login module entry,
//! `<LoginModuleClass> <flag> key="value" key2=value2 ... ;`, read as Kafka's
//! `JaasConfig` reads it (double-quoted values with backslash escapes, bare words,
//! `//` and `/* */` comments, a `;` at the end, exactly one module).
//!
//! Errors never quote an option's value: values hold passwords.

/// One parsed login module entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JaasEntry {
    /// The login module's Java class, e.g.
    /// `org.apache.kafka.common.security.scram.ScramLoginModule`.
    pub module: String,
    /// `required`, `requisite`, `sufficient` or `optional`.
    pub flag: String,
    /// The options in the order written.
    pub options: Vec<(String, String)>,
}

impl JaasEntry {
    /// The value of option `key`, if present.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The last segment of the module class (`ScramLoginModule`).
    pub fn module_name(&self) -> &str {
        self.module.rsplit('.').next().unwrap_or(&self.module)
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Equals,
    Semicolon,
}

/// Parses a `sasl.jaas.config` value. The error says what is wrong and where, never a
/// value.
pub fn parse(text: &str) -> Result<JaasEntry, String> {
    let tokens = tokenize(text)?;
    let mut entries = Vec::new();
    let mut it = tokens.into_iter().peekable();
    while it.peek().is_some() {
        let module = match it.next() {
            Some(Token::Word(w)) => w,
            _ => return Err("expected a login module class name".into()),
        };
        let flag = match it.next() {
            Some(Token::Word(w)) => w.to_ascii_lowercase(),
            _ => {
                return Err(format!(
                "expected a control flag (required, requisite, sufficient or optional) after {}",
                module
            ))
            }
        };
        if !["required", "requisite", "sufficient", "optional"].contains(&flag.as_str()) {
            return Err(format!(
                "invalid control flag '{}' after {}: use required, requisite, sufficient or optional",
                flag, module
            ));
        }
        let mut options = Vec::new();
        loop {
            match it.next() {
                Some(Token::Semicolon) => break,
                Some(Token::Word(key)) => {
                    if it.next() != Some(Token::Equals) {
                        return Err(format!("option '{}' of {} has no '=value'", key, module));
                    }
                    match it.next() {
                        Some(Token::Word(v)) | Some(Token::Quoted(v)) => options.push((key, v)),
                        _ => {
                            return Err(format!("option '{}' of {} has no value", key, module));
                        }
                    }
                }
                Some(_) => {
                    return Err(format!(
                        "unexpected '=' or quoted text among the options of {}",
                        module
                    ))
                }
                None => {
                    return Err(format!(
                        "the entry for {} does not end with ';' (Kafka requires it)",
                        module
                    ))
                }
            }
        }
        entries.push(JaasEntry {
            module,
            flag,
            options,
        });
    }
    match entries.len() {
        0 => Err("no login module given".into()),
        1 => Ok(entries.pop().expect("one entry")),
        n => Err(format!(
            "holds {} login modules; a Kafka client takes exactly one",
            n
        )),
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                loop {
                    if i + 1 >= chars.len() {
                        return Err("a /* comment is not closed".into());
                    }
                    if chars[i] == '*' && chars[i + 1] == '/' {
                        i += 2;
                        break;
                    }
                    i += 1;
                }
            }
            '=' => {
                out.push(Token::Equals);
                i += 1;
            }
            ';' => {
                out.push(Token::Semicolon);
                i += 1;
            }
            '"' | '\'' => {
                let (s, next) = quoted(&chars, i)?;
                out.push(Token::Quoted(s));
                i = next;
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '=' | ';' | '"' | '\'')
                {
                    i += 1;
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

/// Reads a quoted string starting at `start` (the quote), with Java's
/// `StreamTokenizer` escapes; returns it and the index after the closing quote.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), String> {
    let q = chars[start];
    let mut s = String::new();
    let mut i = start + 1;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err("a quoted value is not closed".into());
        };
        i += 1;
        if c == q {
            return Ok((s, i));
        }
        if c != '\\' {
            s.push(c);
            continue;
        }
        let Some(&e) = chars.get(i) else {
            return Err("a quoted value is not closed".into());
        };
        i += 1;
        match e {
            'a' => s.push('\u{7}'),
            'b' => s.push('\u{8}'),
            'f' => s.push('\u{c}'),
            'n' => s.push('\n'),
            'r' => s.push('\r'),
            't' => s.push('\t'),
            'v' => s.push('\u{b}'),
            '0'..='7' => {
                // up to three octal digits (the first 0-3 when there are three)
                let mut n = e.to_digit(8).unwrap_or(0);
                let max = if e <= '3' { 2 } else { 1 };
                for _ in 0..max {
                    match chars.get(i).and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            n = n * 8 + d;
                            i += 1;
                        }
                        None => break,
                    }
                }
                s.push(char::from_u32(n).unwrap_or('\u{fffd}'));
            }
            other => s.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_module_with_quoted_values() {
        let e = parse(
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="al1ce-secret";"#,
        )
        .unwrap();
        assert_eq!(e.module_name(), "PlainLoginModule");
        assert_eq!(e.flag, "required");
        assert_eq!(e.option("username"), Some("alice"));
        assert_eq!(e.option("password"), Some("al1ce-secret"));
    }

    #[test]
    fn scram_module_with_escapes_bare_words_and_newlines() {
        let e = parse(
            "org.apache.kafka.common.security.scram.ScramLoginModule REQUIRED\n  username=bob\n  password=\"p\\\"a\\\\s;s=w\\tord\";  ",
        )
        .unwrap();
        assert_eq!(e.module_name(), "ScramLoginModule");
        assert_eq!(e.option("username"), Some("bob"));
        assert_eq!(e.option("password"), Some("p\"a\\s;s=w\tord"));
    }

    #[test]
    fn single_quotes_octal_escapes_and_comments() {
        let e = parse(
            "// a comment\nx.PlainLoginModule /* inline */ required username='u' password=\"\\101\\60b\";",
        )
        .unwrap();
        assert_eq!(e.option("username"), Some("u"));
        assert_eq!(e.option("password"), Some("A0b"));
    }

    #[test]
    fn a_missing_semicolon_is_an_error_without_the_value() {
        let err =
            parse(r#"x.PlainLoginModule required username="u" password="topsecret""#).unwrap_err();
        assert!(err.contains("does not end with ';'"), "{}", err);
        assert!(!err.contains("topsecret"));
    }

    #[test]
    fn bad_flags_unclosed_quotes_and_two_modules_are_errors() {
        assert!(parse("x.PlainLoginModule mandatory;")
            .unwrap_err()
            .contains("invalid control flag"));
        let err = parse(r#"x.PlainLoginModule required password="topsecret;"#).unwrap_err();
        assert!(
            err.contains("not closed") && !err.contains("topsecret"),
            "{}",
            err
        );
        assert!(parse("a.A required; b.B required;")
            .unwrap_err()
            .contains("2 login modules"));
        assert!(parse("  ").unwrap_err().contains("no login module"));
        assert!(parse("x.PlainLoginModule required password;")
            .unwrap_err()
            .contains("no '=value'"));
    }
}
