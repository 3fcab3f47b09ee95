//! Time series collections (`timeseries.*`): the collection of a namespace is created
//! as a time series collection before the first write to it, as the MongoDB
//! connector's `TimeseriesValidation` does, and the time field can be converted to a
//! BSON date (`timeseries.timefield.auto.convert`).
//!
//! Before the first write to a namespace: if the collection exists, it must be a time
//! series collection (`listCollections` says `type: "timeseries"`), otherwise the task
//! fails ("A collection already exists for: `db.coll` that is not a timeseries
//! collection."); if it does not, it is created with `create` and the `timeseries`
//! (`timeField`, `metaField`, `granularity`) and `expireAfterSeconds` options.

use mongodb::bson::{doc, Bson, DateTime, Document};
use mongodb::Client;
use sluice_runtime::connector::ConnectError;

/// How a time series collection is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeseriesOptions {
    pub time_field: String,
    pub meta_field: Option<String>,
    /// `seconds`, `minutes` or `hours`.
    pub granularity: Option<String>,
    /// 0: the data does not expire.
    pub expire_after_seconds: i64,
}

impl TimeseriesOptions {
    /// The `create` command for `coll`.
    pub fn create_command(&self, coll: &str) -> Document {
        let mut ts = doc! {"timeField": &self.time_field};
        if let Some(m) = &self.meta_field {
            ts.insert("metaField", m);
        }
        if let Some(g) = &self.granularity {
            ts.insert("granularity", g);
        }
        let mut cmd = doc! {"create": coll, "timeseries": ts};
        if self.expire_after_seconds > 0 {
            cmd.insert("expireAfterSeconds", self.expire_after_seconds);
        }
        cmd
    }

    /// Makes sure `db.coll` is a time series collection, creating it if missing.
    pub async fn ensure(&self, client: &Client, db: &str, coll: &str) -> Result<(), ConnectError> {
        let ns = format!("{}.{}", db, coll);
        let database = client.database(db);
        let not_timeseries = || {
            ConnectError::fatal(format!(
                "A collection already exists for: `{}` that is not a timeseries collection.",
                ns
            ))
        };
        match collection_type(client, db, coll).await? {
            Some(t) if t == "timeseries" => return Ok(()),
            Some(_) => return Err(not_timeseries()),
            None => {}
        }
        match database.run_command(self.create_command(coll)).await {
            Ok(_) => {
                tracing::info!("created the time series collection {}", ns);
                Ok(())
            }
            Err(e) => {
                let code = match e.kind.as_ref() {
                    mongodb::error::ErrorKind::Command(c) => Some(c.code),
                    _ => None,
                };
                match code {
                    // Created meanwhile (another task): fine if it is a time series.
                    Some(48) => match collection_type(client, db, coll).await? {
                        Some(t) if t == "timeseries" => Ok(()),
                        _ => Err(not_timeseries()),
                    },
                    Some(13) => Err(ConnectError::fatal(format!(
                        "Failed to create collection for: `{}`. Unauthorized, user does not have the correct permissions to check for and create the collection. {}",
                        ns, e
                    ))),
                    Some(_) => Err(ConnectError::fatal(format!(
                        "Failed to create collection for: `{}`. {}",
                        ns, e
                    ))),
                    None => Err(super::writer::classify(
                        &e,
                        &format!("cannot create the time series collection {}", ns),
                    )),
                }
            }
        }
    }
}

/// The `type` `listCollections` gives for `db.coll` (`collection`, `timeseries`,
/// `view`), or `None` if it does not exist. A server that gives no type but a
/// `timeseries` option counts as `timeseries`.
async fn collection_type(
    client: &Client,
    db: &str,
    coll: &str,
) -> Result<Option<String>, ConnectError> {
    let what = format!("cannot list the collections of {}", db);
    let reply = client
        .database(db)
        .run_command(doc! {"listCollections": 1, "filter": {"name": coll}})
        .await
        .map_err(|e| super::writer::classify(&e, &what))?;
    let specs: Vec<Document> = reply
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .map(|b| b.iter().filter_map(|x| x.as_document().cloned()).collect())
        .unwrap_or_default();
    Ok(specs.first().map(|spec| {
        let has_ts_option = spec
            .get_document("options")
            .is_ok_and(|o| o.contains_key("timeseries"));
        match spec.get_str("type") {
            Ok("timeseries") => "timeseries".to_string(),
            _ if has_ts_option => "timeseries".to_string(),
            Ok(t) => t.to_string(),
            Err(_) => "collection".to_string(),
        }
    }))
}

/// Converts the time field of value documents to a BSON date: a number is epoch
/// milliseconds (fractions dropped), a string is parsed with the date format. A value
/// that cannot be converted is left as it is (and logged).
#[derive(Debug)]
pub struct TimeFieldConverter {
    field: String,
    format: DateFormat,
}

impl TimeFieldConverter {
    pub fn new(field: &str, format: DateFormat) -> Self {
        TimeFieldConverter {
            field: field.to_string(),
            format,
        }
    }

    /// Converts the field in place if it is a number or a string.
    pub fn convert(&self, value: &mut Document) {
        let converted = match value.get(&self.field) {
            Some(Bson::Int32(n)) => Ok(*n as i64),
            Some(Bson::Int64(n)) => Ok(*n),
            Some(Bson::Double(d)) if d.is_finite() => Ok(d.trunc() as i64),
            Some(Bson::Decimal128(d)) => d
                .to_string()
                .parse::<f64>()
                .map(|f| f.trunc() as i64)
                .map_err(|e| e.to_string()),
            Some(Bson::String(s)) => self.format.to_epoch_millis(s),
            _ => return,
        };
        match converted {
            Ok(ms) => {
                value.insert(self.field.clone(), DateTime::from_millis(ms));
            }
            Err(e) => tracing::info!(
                "Failed to convert field `{}` to a valid date time, so leaving as is: `{}`",
                self.field,
                e
            ),
        }
    }
}

/// The Java `DateTimeFormatter` pattern of the MongoDB connector's default
/// (`timeseries.timefield.auto.convert.date.format`).
pub const DEFAULT_DATE_FORMAT: &str = "yyyy-MM-dd[['T'][ ]][HH:mm:ss[[.][SSSSSS][SSS]][ ]VV[ ]'['VV']'][HH:mm:ss[[.][SSSSSS][SSS]][ ]X][HH:mm:ss[[.][SSSSSS][SSS]]]";

/// A date format: a Java `DateTimeFormatter` pattern turned into a regular expression.
/// Without an offset the time is UTC; without a time, the start of the day.
#[derive(Debug)]
pub struct DateFormat {
    re: regex::Regex,
}

impl DateFormat {
    /// Translates a Java pattern. Supported: `yyyy`/`uuuu`, `MM`/`M`, `dd`/`d`,
    /// `HH`/`H`, `mm`, `ss`, one or more `S` (fraction), one to three `X`, one or more `x`, or `Z` (offset),
    /// `'literal'`, optional sections `[...]` and other punctuation as literals; the
    /// default pattern's `VV` (zone id) sections are dropped.
    pub fn parse(pattern: &str) -> Result<DateFormat, String> {
        let pattern = if pattern.trim() == DEFAULT_DATE_FORMAT {
            // The zone-id sections of the default need a time zone database.
            "yyyy-MM-dd[['T'][ ]][HH:mm:ss[[.][SSSSSS][SSS]][ ]X][HH:mm:ss[[.][SSSSSS][SSS]]]"
        } else {
            pattern
        };
        let chars: Vec<char> = pattern.chars().collect();
        let mut re = String::from("^");
        let mut i = 0;
        let mut depth = 0i32;
        while i < chars.len() {
            let c = chars[i];
            let mut n = 1;
            while i + n < chars.len() && chars[i + n] == c && c.is_ascii_alphabetic() {
                n += 1;
            }
            match c {
                '[' => {
                    depth += 1;
                    re.push_str("(?:");
                }
                ']' => {
                    depth -= 1;
                    if depth < 0 {
                        return Err("unbalanced ] in the pattern".into());
                    }
                    re.push_str(")?");
                }
                '\'' => {
                    let end = chars[i + 1..]
                        .iter()
                        .position(|&x| x == '\'')
                        .ok_or("unterminated quote in the pattern")?;
                    let lit: String = chars[i + 1..i + 1 + end].iter().collect();
                    re.push_str(&if lit.is_empty() { "'".to_string() } else { regex::escape(&lit) });
                    n = end + 2;
                }
                'y' | 'u' if n == 4 => re.push_str("(?P<year>[0-9]{4})"),
                'M' if n <= 2 => re.push_str(if n == 2 { "(?P<month>[0-9]{2})" } else { "(?P<month>[0-9]{1,2})" }),
                'd' if n <= 2 => re.push_str(if n == 2 { "(?P<day>[0-9]{2})" } else { "(?P<day>[0-9]{1,2})" }),
                'H' if n <= 2 => re.push_str(if n == 2 { "(?P<hour>[0-9]{2})" } else { "(?P<hour>[0-9]{1,2})" }),
                'm' if n == 2 => re.push_str("(?P<minute>[0-9]{2})"),
                's' if n == 2 => re.push_str("(?P<second>[0-9]{2})"),
                'S' => re.push_str(&format!("(?P<fraction>[0-9]{{{}}})", n)),
                'X' | 'x' | 'Z' => re.push_str("(?P<offset>Z|[+-][0-9]{2}(?::?[0-9]{2})?)"),
                c if c.is_ascii_alphabetic() => {
                    return Err(format!(
                        "the pattern letter {} (x{}) is not supported by Sluice; supported: yyyy, uuuu, MM, M, dd, d, HH, H, mm, ss, S..., X, x, Z, 'literals' and [optional] sections",
                        c, n
                    ))
                }
                c => re.push_str(&regex::escape(&c.to_string())),
            }
            i += n;
        }
        if depth != 0 {
            return Err("unbalanced [ in the pattern".into());
        }
        re.push('$');
        // A group name used twice (in alternative optional sections) is not allowed
        // by the regex crate: number the repeats.
        let mut seen = std::collections::HashMap::new();
        let re = regex::Regex::new(r"\(\?P<([a-z]+)>")
            .expect("static regex")
            .replace_all(&re, |c: &regex::Captures| {
                let k = seen.entry(c[1].to_string()).or_insert(0);
                *k += 1;
                format!("(?P<{}{}>", &c[1], k)
            })
            .into_owned();
        let re = regex::Regex::new(&re).map_err(|e| format!("invalid pattern: {}", e))?;
        if !re.capture_names().flatten().any(|n| n.starts_with("year")) {
            return Err("the pattern has no year (yyyy)".into());
        }
        Ok(DateFormat { re })
    }

    /// Epoch milliseconds of a date string.
    pub fn to_epoch_millis(&self, s: &str) -> Result<i64, String> {
        let caps = self
            .re
            .captures(s.trim())
            .ok_or_else(|| format!("{:?} does not match the date format", s))?;
        let get = |name: &str| -> Option<&str> {
            self.re
                .capture_names()
                .flatten()
                .filter(|n| n.trim_end_matches(|c: char| c.is_ascii_digit()) == name)
                .find_map(|n| caps.name(n).map(|m| m.as_str()))
        };
        let num = |name: &str, default: i64| -> i64 {
            get(name).and_then(|v| v.parse().ok()).unwrap_or(default)
        };
        let (y, mo, d) = (num("year", 1970), num("month", 1), num("day", 1));
        let (h, mi, sec) = (num("hour", 0), num("minute", 0), num("second", 0));
        if !(1..=12).contains(&mo)
            || !(1..=days_in_month(y, mo)).contains(&d)
            || h > 23
            || mi > 59
            || sec > 59
        {
            return Err(format!("{:?} is not a valid date and time", s));
        }
        let millis = get("fraction")
            .map(|f| {
                let padded = format!("{:0<3}", f);
                padded[..3].parse::<i64>().unwrap_or(0)
            })
            .unwrap_or(0);
        let offset_secs = match get("offset") {
            None | Some("Z") => 0,
            Some(o) => {
                let sign = if o.starts_with('-') { -1 } else { 1 };
                let digits: String = o[1..].chars().filter(|c| c.is_ascii_digit()).collect();
                let hh: i64 = digits.get(0..2).and_then(|v| v.parse().ok()).unwrap_or(0);
                let mm: i64 = digits.get(2..4).and_then(|v| v.parse().ok()).unwrap_or(0);
                sign * (hh * 3600 + mm * 60)
            }
        };
        let days = days_from_civil(y, mo, d);
        Ok(((days * 86_400 + h * 3600 + mi * 60 + sec) - offset_secs) * 1000 + millis)
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_parsed_as_the_default_java_pattern_does() {
        let f = DateFormat::parse(DEFAULT_DATE_FORMAT).unwrap();
        let ms = |s: &str| f.to_epoch_millis(s).unwrap();
        assert_eq!(ms("2021-04-01T10:00:00Z"), 1_617_271_200_000);
        assert_eq!(ms("2021-04-01 10:00:00.123"), 1_617_271_200_123);
        assert_eq!(ms("2021-04-01T12:00:00+02:00"), 1_617_271_200_000);
        assert_eq!(ms("2021-04-01"), 1_617_235_200_000);
        assert_eq!(ms("1970-01-01T00:00:00Z"), 0);
        assert!(f.to_epoch_millis("2021-02-30").is_err());
        assert!(f.to_epoch_millis("yesterday").is_err());
        let custom = DateFormat::parse("dd/MM/yyyy HH:mm").unwrap();
        assert_eq!(
            custom.to_epoch_millis("01/04/2021 10:00").unwrap(),
            1_617_271_200_000
        );
        assert!(DateFormat::parse("MMM d, yyyy")
            .unwrap_err()
            .contains("letter M"));
        assert!(DateFormat::parse("yyyy-MM-dd[").is_err());
    }

    #[test]
    fn the_time_field_becomes_a_date() {
        let c = TimeFieldConverter::new("t", DateFormat::parse(DEFAULT_DATE_FORMAT).unwrap());
        let mut d = doc! {"t": 1_617_271_200_000.9_f64};
        c.convert(&mut d);
        assert_eq!(
            d.get("t"),
            Some(&Bson::DateTime(DateTime::from_millis(1_617_271_200_000)))
        );
        let mut s = doc! {"t": "2021-04-01T10:00:00Z"};
        c.convert(&mut s);
        assert_eq!(
            s.get("t"),
            Some(&Bson::DateTime(DateTime::from_millis(1_617_271_200_000)))
        );
        let mut bad = doc! {"t": "soon"};
        c.convert(&mut bad);
        assert_eq!(bad.get("t"), Some(&Bson::String("soon".into())));
    }

    #[test]
    fn the_create_command_carries_the_options() {
        let o = TimeseriesOptions {
            time_field: "t".into(),
            meta_field: Some("m".into()),
            granularity: Some("hours".into()),
            expire_after_seconds: 60,
        };
        assert_eq!(
            o.create_command("c"),
            doc! {"create": "c", "timeseries": {"timeField": "t", "metaField": "m", "granularity": "hours"}, "expireAfterSeconds": 60_i64}
        );
    }
}
