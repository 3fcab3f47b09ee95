//! A subset of Java's `SimpleDateFormat`, always in UTC, for `TimestampRouter` and
//! `TimestampConverter`.
//!
//! Supported pattern letters: `y` (year; `yy` = two digits), `M` (month; `MMM` short
//! name, `MMMM` full name), `d` (day of month), `D` (day of year), `E` (day name),
//! `a` (AM/PM), `H` (hour 0-23), `k` (hour 1-24), `h` (hour 1-12), `K` (hour 0-11),
//! `m` (minute), `s` (second), `S` (millisecond), `z`, `Z`, `X` (time zone, always UTC
//! when formatting; parsed offsets are applied). Text in single quotes is literal, `''`
//! is a quote; any other non-letter character is literal. Other Java letters (`G`,
//! `w`, `W`, `F`, `u`, `Y`, `L`) are rejected.

use crate::data::logical::{civil_from_days, days_from_civil};

const MS_PER_DAY: i64 = 86_400_000;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(String),
    Field(char, usize),
}

/// A compiled date pattern.
#[derive(Debug, Clone)]
pub(crate) struct DateFormat {
    pattern: String,
    toks: Vec<Tok>,
}

fn is_numeric(c: char, count: usize) -> bool {
    match c {
        'M' => count < 3,
        'E' | 'a' | 'z' | 'Z' | 'X' => false,
        _ => true,
    }
}

impl DateFormat {
    /// Compiles a pattern; the error names the offending character.
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut toks = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    lit.push('\'');
                    i += 2;
                    continue;
                }
                // Quoted text up to the closing quote; '' inside is a quote.
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("unterminated quote in pattern {}", pattern)),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            lit.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            lit.push(ch);
                            i += 1;
                        }
                    }
                }
            } else if c.is_ascii_alphabetic() {
                let mut n = 1;
                while chars.get(i + n) == Some(&c) {
                    n += 1;
                }
                match c {
                    'y' | 'M' | 'd' | 'D' | 'E' | 'a' | 'H' | 'k' | 'h' | 'K' | 'm' | 's' | 'S'
                    | 'z' | 'Z' | 'X' => {}
                    'G' | 'w' | 'W' | 'F' | 'u' | 'Y' | 'L' => {
                        return Err(format!(
                            "pattern letter '{}' is not supported by Sluice (pattern {})",
                            c, pattern
                        ))
                    }
                    _ => {
                        return Err(format!(
                            "Illegal pattern character '{}' in pattern {}",
                            c, pattern
                        ))
                    }
                }
                if !lit.is_empty() {
                    toks.push(Tok::Lit(std::mem::take(&mut lit)));
                }
                toks.push(Tok::Field(c, n));
                i += n;
            } else {
                lit.push(c);
                i += 1;
            }
        }
        if !lit.is_empty() {
            toks.push(Tok::Lit(lit));
        }
        Ok(DateFormat {
            pattern: pattern.to_string(),
            toks,
        })
    }

    pub(crate) fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Formats epoch milliseconds in UTC.
    pub(crate) fn format(&self, ms: i64) -> String {
        let mut out = String::with_capacity(self.pattern.len() + 8);
        self.format_into(ms, &mut out);
        out
    }

    pub(crate) fn format_into(&self, ms: i64, out: &mut String) {
        let days = ms.div_euclid(MS_PER_DAY);
        let rem = ms.rem_euclid(MS_PER_DAY);
        let (y, mo, d) = civil_from_days(days);
        let hour = rem / 3_600_000;
        let minute = (rem / 60_000) % 60;
        let second = (rem / 1000) % 60;
        let milli = rem % 1000;
        for t in &self.toks {
            match t {
                Tok::Lit(s) => out.push_str(s),
                Tok::Field(c, n) => {
                    let n = *n;
                    match c {
                        'y' => {
                            if n == 2 {
                                pad(out, y.rem_euclid(100), 2)
                            } else {
                                pad(out, y, n)
                            }
                        }
                        'M' => {
                            if n >= 4 {
                                out.push_str(MONTHS[mo as usize - 1])
                            } else if n == 3 {
                                out.push_str(&MONTHS[mo as usize - 1][..3])
                            } else {
                                pad(out, mo as i64, n)
                            }
                        }
                        'd' => pad(out, d as i64, n),
                        'D' => pad(out, days - days_from_civil(y, 1, 1) + 1, n),
                        'E' => {
                            // 1970-01-01 was a Thursday.
                            let name = DAYS[(days + 3).rem_euclid(7) as usize];
                            out.push_str(if n >= 4 { name } else { &name[..3] })
                        }
                        'a' => out.push_str(if hour < 12 { "AM" } else { "PM" }),
                        'H' => pad(out, hour, n),
                        'k' => pad(out, if hour == 0 { 24 } else { hour }, n),
                        'h' => pad(out, if hour % 12 == 0 { 12 } else { hour % 12 }, n),
                        'K' => pad(out, hour % 12, n),
                        'm' => pad(out, minute, n),
                        's' => pad(out, second, n),
                        'S' => pad(out, milli, n),
                        'z' => out.push_str(if n >= 4 {
                            "Coordinated Universal Time"
                        } else {
                            "UTC"
                        }),
                        'Z' => out.push_str("+0000"),
                        'X' => out.push('Z'),
                        _ => {}
                    }
                }
            }
        }
    }

    /// Parses text into epoch milliseconds, as `SimpleDateFormat.parse` does (lenient
    /// numeric fields; text after the pattern is ignored).
    pub(crate) fn parse(&self, text: &str) -> Result<i64, String> {
        let fail = || format!("value ({}) does not match pattern ({})", text, self.pattern);
        let b = text.as_bytes();
        let mut pos = 0usize;
        let (mut year, mut month, mut day) = (1970i64, 1i64, 1i64);
        let mut day_of_year: Option<i64> = None;
        let (mut hour, mut minute, mut second, mut milli) = (0i64, 0i64, 0i64, 0i64);
        let mut hour12: Option<i64> = None;
        let mut pm: Option<bool> = None;
        let mut offset_ms = 0i64;
        let mut month_or_day_set = false;
        for (idx, t) in self.toks.iter().enumerate() {
            match t {
                Tok::Lit(s) => {
                    if text[pos..].starts_with(s.as_str()) {
                        pos += s.len();
                    } else {
                        return Err(fail());
                    }
                }
                Tok::Field(c, n) => {
                    let (c, n) = (*c, *n);
                    if is_numeric(c, n) {
                        // Abutting numeric fields take exactly `n` digits.
                        let abut = matches!(self.toks.get(idx + 1), Some(Tok::Field(c2, n2)) if is_numeric(*c2, *n2));
                        let neg = c == 'y' && b.get(pos) == Some(&b'-');
                        let start = if neg { pos + 1 } else { pos };
                        let mut end = start;
                        while end < b.len() && b[end].is_ascii_digit() && (!abut || end - start < n)
                        {
                            end += 1;
                        }
                        if end == start {
                            return Err(fail());
                        }
                        let mut v: i64 = text[start..end].parse().map_err(|_| fail())?;
                        if neg {
                            v = -v;
                        }
                        let digits = end - start;
                        pos = end;
                        match c {
                            'y' => {
                                year = if n <= 2 && digits == 2 && !neg {
                                    two_digit_year(v)
                                } else {
                                    v
                                }
                            }
                            'M' => {
                                month = v;
                                month_or_day_set = true;
                            }
                            'd' => {
                                day = v;
                                month_or_day_set = true;
                            }
                            'D' => day_of_year = Some(v),
                            'H' => hour = v,
                            'k' => hour = if v == 24 { 0 } else { v },
                            'h' => hour12 = Some(if v == 12 { 0 } else { v }),
                            'K' => hour12 = Some(v),
                            'm' => minute = v,
                            's' => second = v,
                            'S' => milli = v,
                            _ => {}
                        }
                    } else {
                        let rest = &text[pos..];
                        match c {
                            'M' => {
                                let (i, len) = match_name(rest, &MONTHS).ok_or_else(fail)?;
                                month = i as i64 + 1;
                                month_or_day_set = true;
                                pos += len;
                            }
                            'E' => {
                                let (_, len) = match_name(rest, &DAYS).ok_or_else(fail)?;
                                pos += len;
                            }
                            'a' => {
                                let up = rest.get(..2).map(|s| s.to_ascii_uppercase());
                                match up.as_deref() {
                                    Some("AM") => pm = Some(false),
                                    Some("PM") => pm = Some(true),
                                    _ => return Err(fail()),
                                }
                                pos += 2;
                            }
                            _ => {
                                let (off, len) = parse_zone(rest).ok_or_else(fail)?;
                                offset_ms = off;
                                pos += len;
                            }
                        }
                    }
                }
            }
        }
        if let Some(h) = hour12 {
            hour = h + if pm == Some(true) { 12 } else { 0 };
        } else if pm == Some(true) && hour < 12 {
            hour += 12;
        }
        // Lenient month: 13 is January of the next year.
        year += (month - 1).div_euclid(12);
        month = (month - 1).rem_euclid(12) + 1;
        let days = match day_of_year {
            Some(doy) if !month_or_day_set => days_from_civil(year, 1, 1) + doy - 1,
            _ => days_from_civil(year, month as u32, 1) + day - 1,
        };
        Ok(
            days * MS_PER_DAY + hour * 3_600_000 + minute * 60_000 + second * 1000 + milli
                - offset_ms,
        )
    }
}

fn pad(out: &mut String, v: i64, width: usize) {
    use std::fmt::Write;
    if v < 0 {
        out.push('-');
    }
    let _ = write!(out, "{:0width$}", v.unsigned_abs(), width = width);
}

/// Java's default two-digit year window: within 80 years before and 20 after now.
fn two_digit_year(v: i64) -> i64 {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let (now_year, _, _) = civil_from_days(now_ms.div_euclid(MS_PER_DAY));
    let start = now_year - 80;
    let century = start - start.rem_euclid(100);
    let y = century + v;
    if y < start {
        y + 100
    } else {
        y
    }
}

/// Matches a full or three-letter name, case-insensitively; (index, bytes used).
fn match_name(rest: &str, names: &[&str]) -> Option<(usize, usize)> {
    for (i, name) in names.iter().enumerate() {
        if rest.len() >= name.len() && rest[..name.len()].eq_ignore_ascii_case(name) {
            return Some((i, name.len()));
        }
    }
    for (i, name) in names.iter().enumerate() {
        if rest.len() >= 3 && rest.is_char_boundary(3) && rest[..3].eq_ignore_ascii_case(&name[..3])
        {
            return Some((i, 3));
        }
    }
    None
}

/// Parses `Z`, `UTC`, `GMT`, `+hh`, `+hhmm` or `+hh:mm` (optionally after UTC/GMT);
/// returns (offset ms, bytes used).
fn parse_zone(rest: &str) -> Option<(i64, usize)> {
    let b = rest.as_bytes();
    if b.first() == Some(&b'Z') {
        return Some((0, 1));
    }
    let mut pos = 0;
    for prefix in ["UTC", "GMT"] {
        if rest.starts_with(prefix) {
            pos = 3;
            break;
        }
    }
    let sign = match b.get(pos) {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return if pos > 0 { Some((0, pos)) } else { None },
    };
    pos += 1;
    let digit = |i: usize| {
        b.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| (c - b'0') as i64)
    };
    let h = digit(pos)? * 10 + digit(pos + 1)?;
    pos += 2;
    let mut m = 0;
    if b.get(pos) == Some(&b':') {
        m = digit(pos + 1)? * 10 + digit(pos + 2)?;
        pos += 3;
    } else if let (Some(a), Some(c)) = (digit(pos), digit(pos + 1)) {
        m = a * 10 + c;
        pos += 2;
    }
    Some((sign * (h * 3_600_000 + m * 60_000), pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TS: i64 = 1_700_000_000_123; // 2023-11-14T22:13:20.123Z, a Tuesday

    #[test]
    fn formats_common_patterns() {
        let f = |p: &str| DateFormat::new(p).unwrap().format(TS);
        assert_eq!(f("yyyyMMdd"), "20231114");
        assert_eq!(
            f("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(f("yy/M/d H:m:s"), "23/11/14 22:13:20");
        assert_eq!(
            f("EEE, dd MMM yyyy hh:mm a z"),
            "Tue, 14 Nov 2023 10:13 PM UTC"
        );
        assert_eq!(f("MMMM D 'o''clock' ''"), "November 318 o'clock '");
        assert_eq!(f("yyyy-MM-dd HH:mm:ssZ"), "2023-11-14 22:13:20+0000");
    }

    #[test]
    fn rejects_bad_letters() {
        let e = DateFormat::new("yyyy-MM-ddTHH").unwrap_err();
        assert!(e.contains("Illegal pattern character 'T'"), "{}", e);
        assert!(DateFormat::new("'open").is_err());
        assert!(DateFormat::new("YYYY")
            .unwrap_err()
            .contains("not supported"));
    }

    #[test]
    fn parses_back() {
        for p in [
            "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",
            "yyyyMMddHHmmssSSS",
            "dd MMM yyyy HH:mm:ss.SSS",
            "EEEE, MMMM d, yyyy h:mm:ss.SSS a",
        ] {
            let f = DateFormat::new(p).unwrap();
            assert_eq!(f.parse(&f.format(TS)).unwrap(), TS, "pattern {}", p);
        }
        let f = DateFormat::new("yyyy-MM-dd").unwrap();
        assert_eq!(f.parse("2023-11-14").unwrap(), TS - TS % MS_PER_DAY);
        assert!(f.parse("14/11/2023").is_err());
        let z = DateFormat::new("yyyy-MM-dd HH:mmXXX").unwrap();
        assert_eq!(
            z.parse("2023-11-14 23:13+01:00").unwrap(),
            z.parse("2023-11-14 22:13Z").unwrap()
        );
        // Lenient month and trailing text ignored, as SimpleDateFormat does.
        assert_eq!(
            f.parse("2023-13-01 extra").unwrap(),
            f.parse("2024-01-01").unwrap()
        );
    }
}
