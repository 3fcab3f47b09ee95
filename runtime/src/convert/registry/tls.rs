//! TLS for `https` registry URLs: the CAs of `schema.registry.ssl.truststore.location`
//! (PEM, or PKCS12 with its password) as ureq's trusted roots. Errors name the key and
//! the file, never a password.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

use super::config::TrustStore;
use crate::config::ConfigIssue;
use crate::kafka::stores;

const LOCATION: &str = "schema.registry.ssl.truststore.location";

/// ureq's TLS settings for `store` (the system's roots if `None`).
pub(super) fn tls_config(store: Option<&TrustStore>) -> Result<TlsConfig, ConfigIssue> {
    let Some(store) = store else {
        return Ok(TlsConfig::builder().build());
    };
    let pem = match store_kind(store)? {
        Kind::Pem => std::fs::read(&store.location).map_err(|e| {
            ConfigIssue::new(LOCATION, format!("cannot read {}: {}", store.location, e))
        })?,
        Kind::Pkcs12 => stores::pkcs12_truststore_pem(&store.location, store.password.as_deref())
            .map_err(|(key, msg)| ConfigIssue::new(format!("schema.registry.{}", key), msg))?
            .into_bytes(),
    };
    let certs: Vec<Certificate<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            ConfigIssue::new(
                LOCATION,
                format!("{} is not a PEM certificate file: {}", store.location, e),
            )
        })?
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    if certs.is_empty() {
        return Err(ConfigIssue::new(
            LOCATION,
            format!(
                "{} holds no certificate (-----BEGIN CERTIFICATE-----)",
                store.location
            ),
        ));
    }
    Ok(TlsConfig::builder()
        .root_certs(RootCerts::Specific(Arc::new(certs)))
        .build())
}

enum Kind {
    Pem,
    Pkcs12,
}

fn store_kind(store: &TrustStore) -> Result<Kind, ConfigIssue> {
    let declared = store.store_type.as_deref().map(str::trim).unwrap_or("");
    let kind = if declared.is_empty() {
        let head = std::fs::read(&store.location)
            .map(|b| b.into_iter().take(8).collect::<Vec<u8>>())
            .map_err(|e| {
                ConfigIssue::new(LOCATION, format!("cannot read {}: {}", store.location, e))
            })?;
        if head.starts_with(&[0xfe, 0xed, 0xfe, 0xed]) {
            "JKS".to_string()
        } else if head.starts_with(&[0xce, 0xce, 0xce, 0xce]) {
            "JCEKS".to_string()
        } else if head.first() == Some(&0x30) {
            "PKCS12".to_string()
        } else {
            "PEM".to_string()
        }
    } else {
        declared.to_ascii_uppercase()
    };
    match kind.as_str() {
        "PEM" => Ok(Kind::Pem),
        "PKCS12" | "P12" | "PFX" => Ok(Kind::Pkcs12),
        "JKS" | "JCEKS" => Err(ConfigIssue::new(
            LOCATION,
            format!(
                "{} is a {} store, which Sluice cannot read; convert it with `{}` and set schema.registry.ssl.truststore.type=PKCS12, or point this key to the CA's PEM file",
                store.location,
                kind,
                stores::keytool_command(&store.location, &kind)
            ),
        )),
        other => Err(ConfigIssue::new(
            "schema.registry.ssl.truststore.type",
            format!("{} truststores are not supported; use PEM or PKCS12", other),
        )),
    }
}
