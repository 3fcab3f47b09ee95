//! Optional authentication for the REST API: HTTP Basic (`rest.auth.type=basic` with
//! `rest.auth.basic.users=user:password,...`) or bearer tokens (`rest.auth.type=bearer`
//! with `rest.auth.bearer.tokens=...`). Every endpoint but `/health` needs it when on.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

/// How requests are authenticated.
#[derive(Debug, Clone, Default)]
pub enum Auth {
    #[default]
    None,
    Basic(Vec<(String, String)>),
    Bearer(Vec<String>),
}

fn same(a: &[u8], b: &[u8]) -> bool {
    // Compare in time independent of where the first difference is.
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Auth {
    /// Does this `Authorization` header value grant access?
    pub fn allows(&self, header: Option<&str>) -> bool {
        match self {
            Auth::None => true,
            Auth::Basic(users) => {
                let Some(encoded) = header.and_then(|h| h.strip_prefix("Basic ")) else {
                    return false;
                };
                let Ok(decoded) = BASE64.decode(encoded.trim()) else {
                    return false;
                };
                let Ok(text) = String::from_utf8(decoded) else {
                    return false;
                };
                let Some((u, p)) = text.split_once(':') else {
                    return false;
                };
                users.iter().any(|(uu, pp)| {
                    same(uu.as_bytes(), u.as_bytes()) & same(pp.as_bytes(), p.as_bytes())
                })
            }
            Auth::Bearer(tokens) => {
                let Some(t) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
                    return false;
                };
                tokens
                    .iter()
                    .any(|tt| same(tt.as_bytes(), t.trim().as_bytes()))
            }
        }
    }

    /// The `WWW-Authenticate` challenge for a refused request.
    pub fn challenge(&self) -> &'static str {
        match self {
            Auth::Bearer(_) => "Bearer realm=\"sluice\"",
            _ => "Basic realm=\"sluice\"",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_and_bearer() {
        let a = Auth::Basic(vec![("admin".into(), "s3cret".into())]);
        let good = format!("Basic {}", BASE64.encode("admin:s3cret"));
        let bad = format!("Basic {}", BASE64.encode("admin:nope"));
        assert!(a.allows(Some(&good)));
        assert!(!a.allows(Some(&bad)));
        assert!(!a.allows(None));
        let b = Auth::Bearer(vec!["tok".into()]);
        assert!(b.allows(Some("Bearer tok")));
        assert!(!b.allows(Some("Bearer other")));
        assert!(Auth::None.allows(None));
    }
}
