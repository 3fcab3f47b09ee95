//! `connection.url`: JDBC (`jdbc:postgresql://host:port/db?user=...`) and libpq-style
//! (`postgres://user:password@host:port/db`) URLs, turned into a driver config, with
//! the TLS parameters of pgJDBC and libpq (`sslmode`, `sslrootcert`, `sslcert`,
//! `sslkey`, pgJDBC's `ssl=true` and `sslfactory=...NonValidatingFactory`).

use std::time::Duration;

use tokio_postgres::Config as PgConfig;

/// What the URL says, without the secret in `Debug`.
#[derive(Clone)]
pub struct DbUrl {
    pub hosts: Vec<(String, u16)>,
    pub dbname: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub connect_timeout: Option<Duration>,
    pub ssl: SslParams,
}

/// libpq's and pgJDBC's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// No TLS (Sluice's default when the URL names no mode).
    #[default]
    Disable,
    /// TLS if the server offers it, certificate not checked (`allow` is the same here).
    Prefer,
    /// TLS, certificate not checked unless `sslrootcert` is given (then as verify-ca).
    Require,
    /// TLS, the certificate signed by a trusted CA.
    VerifyCa,
    /// TLS, the certificate signed by a trusted CA and naming the host.
    VerifyFull,
}

impl SslMode {
    /// Parses an `sslmode` value.
    pub fn parse(v: &str) -> Result<SslMode, String> {
        Ok(match v.trim().to_ascii_lowercase().as_str() {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                "sslmode={} is not one of disable, allow, prefer, require, verify-ca, verify-full",
                other
            ))
            }
        })
    }
}

/// The TLS parameters of the URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SslParams {
    /// `None`: not given in the URL.
    pub mode: Option<SslMode>,
    /// PEM file of trusted CAs (`system`: the system's roots).
    pub root_cert: Option<String>,
    /// PEM file of the client's certificate.
    pub cert: Option<String>,
    /// The client's private key (PEM, or PKCS#8 DER as pgJDBC's `.pk8`).
    pub key: Option<String>,
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbUrl")
            .field("hosts", &self.hosts)
            .field("dbname", &self.dbname)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| "bad percent-encoding".to_string())?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-encoding is not UTF-8".to_string())
}

impl DbUrl {
    /// Parses the URL. Errors never repeat the URL (it may hold a password).
    pub fn parse(url: &str) -> Result<DbUrl, String> {
        let url = url.trim();
        let rest = if let Some(r) = url.strip_prefix("jdbc:postgresql://") {
            r
        } else if let Some(r) = url
            .strip_prefix("postgresql://")
            .or_else(|| url.strip_prefix("postgres://"))
        {
            r
        } else if url.starts_with("jdbc:") {
            return Err("only PostgreSQL is supported: the URL must start with jdbc:postgresql://, postgres:// or postgresql://".into());
        } else {
            return Err("must start with jdbc:postgresql://, postgres:// or postgresql://".into());
        };
        let (main, query) = match rest.split_once('?') {
            Some((m, q)) => (m, q),
            None => (rest, ""),
        };
        let (authority, path) = match main.split_once('/') {
            Some((a, p)) => (a, p),
            None => (main, ""),
        };
        let mut user = None;
        let mut password = None;
        let hostpart = match authority.rsplit_once('@') {
            Some((cred, h)) => {
                match cred.split_once(':') {
                    Some((u, p)) => {
                        user = Some(percent_decode(u)?);
                        password = Some(percent_decode(p)?);
                    }
                    None => user = Some(percent_decode(cred)?),
                }
                h
            }
            None => authority,
        };
        let mut hosts = Vec::new();
        for h in hostpart.split(',').filter(|h| !h.is_empty()) {
            let (host, port) = if let Some(r) = h.strip_prefix('[') {
                let (host, after) = r.split_once(']').ok_or("unbalanced [ in host")?;
                (host.to_string(), after.strip_prefix(':'))
            } else {
                match h.rsplit_once(':') {
                    Some((host, p)) => (host.to_string(), Some(p)),
                    None => (h.to_string(), None),
                }
            };
            let port = match port {
                Some(p) => p
                    .parse::<u16>()
                    .map_err(|_| format!("invalid port {:?}", p))?,
                None => 5432,
            };
            hosts.push((percent_decode(&host)?, port));
        }
        if hosts.is_empty() {
            hosts.push(("localhost".into(), 5432));
        }
        let dbname = if path.is_empty() {
            None
        } else {
            Some(percent_decode(path)?)
        };
        let mut connect_timeout = None;
        let mut ssl = SslParams::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(v)?;
            match k {
                "user" => user = Some(v),
                "password" => password = Some(v),
                "connectTimeout" | "connect_timeout" => {
                    let secs: u64 = v.parse().map_err(|_| format!("invalid {} {:?}", k, v))?;
                    connect_timeout = Some(Duration::from_secs(secs));
                }
                "sslmode" => ssl.mode = Some(SslMode::parse(&v)?),
                // pgJDBC: ssl=true means verify-full unless sslmode says otherwise
                "ssl" => match v.to_ascii_lowercase().as_str() {
                    "true" | "" => {
                        ssl.mode.get_or_insert(SslMode::VerifyFull);
                    }
                    "false" => {
                        ssl.mode.get_or_insert(SslMode::Disable);
                    }
                    other => return Err(format!("ssl={} must be true or false", other)),
                },
                "sslfactory" if v.ends_with(".NonValidatingFactory") => {
                    ssl.mode = Some(SslMode::Require);
                }
                "sslrootcert" => ssl.root_cert = Some(v),
                "sslcert" => ssl.cert = Some(v),
                "sslkey" => ssl.key = Some(v),
                "sslpassword" => {
                    return Err("sslpassword (an encrypted client key) is not supported: decrypt the key (openssl pkey -in key.pem -out key-plain.pem) and drop sslpassword".into())
                }
                // Other JDBC driver options (ApplicationName, currentSchema, ...) do
                // not apply to this driver and are ignored.
                _ => {}
            }
        }
        Ok(DbUrl {
            hosts,
            dbname,
            user,
            password,
            connect_timeout,
            ssl,
        })
    }

    /// The driver config; `user` / `password` (from `connection.user` /
    /// `connection.password`) override the URL's.
    pub fn pg_config(
        &self,
        user: Option<&str>,
        password: Option<&str>,
        application_name: &str,
    ) -> PgConfig {
        let mut c = PgConfig::new();
        for (h, p) in &self.hosts {
            c.host(h);
            c.port(*p);
        }
        if let Some(d) = &self.dbname {
            c.dbname(d);
        }
        if let Some(u) = user.or(self.user.as_deref()) {
            c.user(u);
        }
        if let Some(p) = password.or(self.password.as_deref()) {
            c.password(p);
        }
        c.connect_timeout(self.connect_timeout.unwrap_or(Duration::from_secs(10)));
        c.application_name(application_name);
        c
    }

    /// `host:port/db`, without credentials: safe for logs and status.
    pub fn display(&self) -> String {
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .map(|(h, p)| format!("{}:{}", h, p))
            .collect();
        format!(
            "{}/{}",
            hosts.join(","),
            self.dbname.as_deref().unwrap_or("")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jdbc_url_with_query_credentials() {
        let u = DbUrl::parse(
            "jdbc:postgresql://db.example:6543/sales?user=bob&password=p%40ss&ApplicationName=x",
        )
        .unwrap();
        assert_eq!(u.hosts, vec![("db.example".to_string(), 6543)]);
        assert_eq!(u.dbname.as_deref(), Some("sales"));
        assert_eq!(u.user.as_deref(), Some("bob"));
        assert_eq!(u.password.as_deref(), Some("p@ss"));
        assert!(!format!("{:?}", u).contains("p@ss"));
        assert_eq!(u.display(), "db.example:6543/sales");
    }

    #[test]
    fn libpq_url_and_defaults() {
        let u = DbUrl::parse("postgres://alice:s3cret@127.0.0.1/test").unwrap();
        assert_eq!(u.hosts, vec![("127.0.0.1".to_string(), 5432)]);
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("s3cret"));
        let u = DbUrl::parse("jdbc:postgresql://[::1]:5433,h2/db").unwrap();
        assert_eq!(
            u.hosts,
            vec![("::1".to_string(), 5433), ("h2".to_string(), 5432)]
        );
    }

    #[test]
    fn rejects_other_databases() {
        assert!(DbUrl::parse("jdbc:mysql://h/db").is_err());
        assert!(DbUrl::parse("http://h").is_err());
        let e = DbUrl::parse("jdbc:postgresql://h:99999/db?password=topsecret").unwrap_err();
        assert!(!e.contains("topsecret"));
    }

    #[test]
    fn tls_parameters() {
        let u = DbUrl::parse(
            "jdbc:postgresql://h/db?sslmode=verify-full&sslrootcert=/etc/ca.pem&sslcert=/c.pem&sslkey=/k.pk8",
        )
        .unwrap();
        assert_eq!(
            u.ssl,
            SslParams {
                mode: Some(SslMode::VerifyFull),
                root_cert: Some("/etc/ca.pem".into()),
                cert: Some("/c.pem".into()),
                key: Some("/k.pk8".into()),
            }
        );
        let mode = |q: &str| {
            DbUrl::parse(&format!("postgres://h/db?{}", q))
                .unwrap()
                .ssl
                .mode
        };
        assert_eq!(mode("sslmode=REQUIRE"), Some(SslMode::Require));
        assert_eq!(mode("sslmode=verify-ca"), Some(SslMode::VerifyCa));
        assert_eq!(mode("sslmode=allow"), Some(SslMode::Prefer));
        assert_eq!(mode("ssl=true"), Some(SslMode::VerifyFull));
        assert_eq!(mode("sslmode=require&ssl=true"), Some(SslMode::Require));
        assert_eq!(
            mode("ssl=true&sslfactory=org.postgresql.ssl.NonValidatingFactory"),
            Some(SslMode::Require)
        );
        assert_eq!(mode("ApplicationName=x"), None);
        assert!(DbUrl::parse("postgres://h/db?sslmode=sometimes")
            .unwrap_err()
            .contains("sslmode=sometimes"));
        let e = DbUrl::parse("postgres://h/db?sslpassword=topsecret").unwrap_err();
        assert!(
            e.contains("not supported") && !e.contains("topsecret"),
            "{}",
            e
        );
    }
}
