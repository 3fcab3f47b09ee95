//! Java key and trust stores for librdkafka: which format a store is (declared by
//! `ssl.*store.type` or read from the file's first bytes), the CA certificates of a
//! PKCS12 truststore as PEM (librdkafka reads CAs only as PEM), a check that a PKCS12
//! keystore opens with its password, and the `keytool` conversion for JKS stores,
//! which librdkafka cannot read.
//!
//! Errors name the key at fault and the file, never a password.

use p12_keystore::{KeyStore, KeyStoreEntry};

/// A store format librdkafka can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreType {
    Pem,
    Pkcs12,
}

/// What is wrong with a store setting: the Java key at fault and why.
pub(crate) type StoreIssue = (&'static str, String);

/// Which store a setting is about: `truststore` or `keystore`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Store {
    Trust,
    Key,
}

impl Store {
    fn name(self) -> &'static str {
        match self {
            Store::Trust => "truststore",
            Store::Key => "keystore",
        }
    }
    fn type_key(self) -> &'static str {
        match self {
            Store::Trust => "ssl.truststore.type",
            Store::Key => "ssl.keystore.type",
        }
    }
    fn location_key(self) -> &'static str {
        match self {
            Store::Trust => "ssl.truststore.location",
            Store::Key => "ssl.keystore.location",
        }
    }
    fn password_key(self) -> &'static str {
        match self {
            Store::Trust => "ssl.truststore.password",
            Store::Key => "ssl.keystore.password",
        }
    }
}

/// The `keytool` command that converts the JKS (or JCEKS) store at `path` to PKCS12.
pub(crate) fn keytool_command(path: &str, src_type: &str) -> String {
    let stem = path
        .strip_suffix(".jks")
        .or_else(|| path.strip_suffix(".jceks"))
        .or_else(|| path.strip_suffix(".keystore"))
        .unwrap_or(path);
    format!(
        "keytool -importkeystore -srckeystore {} -srcstoretype {} -destkeystore {}.p12 -deststoretype PKCS12",
        path, src_type, stem
    )
}

fn unsupported_type(store: Store, t: &str, path: Option<&str>) -> StoreIssue {
    let upper = t.to_ascii_uppercase();
    let msg = match (upper.as_str(), path) {
        ("JKS" | "JCEKS", Some(p)) => format!(
            "{} is a {} store, which librdkafka (Sluice's Kafka client) cannot read; convert it to PKCS12 with `{}` and set {}={}.p12 (or the new path) and {}=PKCS12",
            p,
            upper,
            keytool_command(p, &upper),
            store.location_key(),
            p.strip_suffix(".jks").or_else(|| p.strip_suffix(".jceks")).unwrap_or(p),
            store.type_key()
        ),
        ("JKS" | "JCEKS", None) => format!(
            "{} stores cannot be read by librdkafka (Sluice's Kafka client); convert the store to PKCS12 with `keytool -importkeystore -srckeystore <file> -srcstoretype {} -destkeystore <file>.p12 -deststoretype PKCS12` and set {}=PKCS12",
            upper, upper, store.type_key()
        ),
        _ => format!(
            "{} {}s are not supported; use PKCS12 or PEM (a Java store converts with keytool -importkeystore ... -deststoretype PKCS12)",
            t,
            store.name()
        ),
    };
    (store.type_key(), msg)
}

/// The format of a store: the declared `ssl.*store.type`, or, if none is declared,
/// what the file holds (PEM text, PKCS12 DER, or a JKS/JCEKS magic number).
pub(crate) fn store_type(
    store: Store,
    declared: Option<&str>,
    path: Option<&str>,
) -> Result<StoreType, StoreIssue> {
    if let Some(t) = declared.map(str::trim).filter(|t| !t.is_empty()) {
        return match t.to_ascii_uppercase().as_str() {
            "PEM" => Ok(StoreType::Pem),
            "PKCS12" | "P12" | "PFX" => Ok(StoreType::Pkcs12),
            _ => Err(unsupported_type(store, t, path)),
        };
    }
    let Some(path) = path else {
        return Ok(StoreType::Pem);
    };
    let head = read_head(store, path)?;
    match sniff(&head) {
        Some(Ok(t)) => Ok(t),
        Some(Err(kind)) => Err(unsupported_type(store, kind, Some(path))),
        None => Err((
            store.location_key(),
            format!(
                "{} is neither PEM, PKCS12 nor JKS; set {} if it is one of them",
                path,
                store.type_key()
            ),
        )),
    }
}

fn read_head(store: Store, path: &str) -> Result<Vec<u8>, StoreIssue> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(64).read_to_end(&mut buf))
        .map_err(|e| {
            (
                store.location_key(),
                format!("cannot read {} {}: {}", store.name(), path, e),
            )
        })?;
    Ok(buf)
}

/// The format the first bytes of a file show; `Err(name)` for Java-only formats.
fn sniff(head: &[u8]) -> Option<Result<StoreType, &'static str>> {
    if head.starts_with(&[0xfe, 0xed, 0xfe, 0xed]) {
        return Some(Err("JKS"));
    }
    if head.starts_with(&[0xce, 0xce, 0xce, 0xce]) {
        return Some(Err("JCEKS"));
    }
    if head.first() == Some(&0x30) {
        return Some(Ok(StoreType::Pkcs12));
    }
    let text = String::from_utf8_lossy(head);
    if text.trim_start().starts_with("-----BEGIN") {
        return Some(Ok(StoreType::Pem));
    }
    None
}

/// Opens a PKCS12 file with its password, with errors that name the key at fault.
fn open_pkcs12(store: Store, path: &str, password: Option<&str>) -> Result<KeyStore, StoreIssue> {
    let data = std::fs::read(path).map_err(|e| {
        (
            store.location_key(),
            format!("cannot read {} {}: {}", store.name(), path, e),
        )
    })?;
    let Some(password) = password else {
        return Err((
            store.password_key(),
            format!("is required to open the PKCS12 {} {}", store.name(), path),
        ));
    };
    KeyStore::from_pkcs12(&data, password).map_err(|e| match e {
        p12_keystore::error::Error::MacError(_) => (
            store.password_key(),
            format!(
                "does not open the PKCS12 {} {} (wrong password)",
                store.name(),
                path
            ),
        ),
        p12_keystore::error::Error::DerError(_)
        | p12_keystore::error::Error::InvalidVersion
        | p12_keystore::error::Error::UnsupportedContentType => (
            store.location_key(),
            format!("{} is not a PKCS12 file", path),
        ),
        other => (
            store.location_key(),
            format!(
                "cannot read the PKCS12 {} {}: {} (a key with a password of its own, different from {}, is not supported by librdkafka)",
                store.name(),
                path,
                other,
                store.password_key()
            ),
        ),
    })
}

/// The trusted certificates of a PKCS12 truststore as PEM text (for librdkafka's
/// `ssl.ca.pem`). Like Java, only entries marked as trusted certificates count (what
/// `keytool -importcert` makes).
pub(crate) fn pkcs12_truststore_pem(
    path: &str,
    password: Option<&str>,
) -> Result<String, StoreIssue> {
    let ks = open_pkcs12(Store::Trust, path, password)?;
    let mut pem = String::new();
    for (_, entry) in ks.entries() {
        if let KeyStoreEntry::Certificate(c) = entry {
            pem.push_str(&der_to_pem("CERTIFICATE", c.as_der()));
        }
    }
    if pem.is_empty() {
        return Err((
            "ssl.truststore.location",
            format!(
                "the PKCS12 truststore {} holds no trusted certificate entries (a file made with `openssl pkcs12 -export -nokeys` has none: make it with `keytool -importcert -storetype PKCS12`, or set ssl.truststore.type=PEM and point ssl.truststore.location to the CA's PEM file)",
                path
            ),
        ));
    }
    Ok(pem)
}

/// Checks that a PKCS12 keystore opens with its password and holds a private key.
pub(crate) fn check_pkcs12_keystore(path: &str, password: Option<&str>) -> Result<(), StoreIssue> {
    let ks = open_pkcs12(Store::Key, path, password)?;
    if ks.private_key_chain().is_none() {
        return Err((
            "ssl.keystore.location",
            format!(
                "the PKCS12 keystore {} holds no private key and certificate",
                path
            ),
        ));
    }
    Ok(())
}

/// DER bytes as a PEM block.
fn der_to_pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {}-----\n", label);
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {}-----\n", label));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised_by_their_first_bytes() {
        assert_eq!(sniff(&[0xfe, 0xed, 0xfe, 0xed, 0, 0]), Some(Err("JKS")));
        assert_eq!(sniff(&[0xce, 0xce, 0xce, 0xce]), Some(Err("JCEKS")));
        assert_eq!(sniff(&[0x30, 0x82, 0x0a]), Some(Ok(StoreType::Pkcs12)));
        assert_eq!(
            sniff(b"\n-----BEGIN CERTIFICATE-----\n"),
            Some(Ok(StoreType::Pem))
        );
        assert_eq!(sniff(b"hello"), None);
    }

    #[test]
    fn a_jks_store_names_the_keytool_conversion() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("trust.jks");
        std::fs::write(&p, [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]).unwrap();
        let path = p.to_str().unwrap();
        let (key, msg) = store_type(Store::Trust, None, Some(path)).unwrap_err();
        assert_eq!(key, "ssl.truststore.type");
        assert!(
            msg.contains(&format!(
                "keytool -importkeystore -srckeystore {} -srcstoretype JKS -destkeystore {}.p12 -deststoretype PKCS12",
                path,
                path.trim_end_matches(".jks")
            )),
            "{}",
            msg
        );
        let (key, msg) = store_type(Store::Key, Some("jks"), Some(path)).unwrap_err();
        assert_eq!(key, "ssl.keystore.type");
        assert!(msg.contains("keytool -importkeystore"), "{}", msg);
        assert!(store_type(Store::Key, Some("BCFKS"), None)
            .unwrap_err()
            .1
            .contains("not supported"));
    }

    #[test]
    fn declared_types_win_and_missing_files_are_named() {
        assert_eq!(
            store_type(Store::Trust, Some("pkcs12"), Some("/nope")),
            Ok(StoreType::Pkcs12)
        );
        let (key, msg) = store_type(Store::Trust, None, Some("/nope/ca.p12")).unwrap_err();
        assert_eq!(key, "ssl.truststore.location");
        assert!(msg.contains("/nope/ca.p12"), "{}", msg);
    }

    #[test]
    fn pkcs12_errors_name_the_password_key_but_not_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.p12");
        std::fs::write(&p, [0x30, 0x03, 0x02, 0x01, 0x03]).unwrap();
        let path = p.to_str().unwrap();
        let (key, msg) = pkcs12_truststore_pem(path, Some("hunter2")).unwrap_err();
        assert_eq!(key, "ssl.truststore.location");
        assert!(!msg.contains("hunter2"));
        let (key, _) = pkcs12_truststore_pem(path, None).unwrap_err();
        assert_eq!(key, "ssl.truststore.password");
    }

    #[test]
    fn der_becomes_wrapped_pem() {
        let pem = der_to_pem("CERTIFICATE", &[0u8; 60]);
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert!(pem.ends_with("-----END CERTIFICATE-----\n"));
    }
}
