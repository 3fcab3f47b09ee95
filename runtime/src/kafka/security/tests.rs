use super::*;

fn raw(pairs: &[(&str, &str)]) -> RawConfig {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn ok(layers: &[&RawConfig]) -> RawConfig {
    match translate(layers) {
        Ok(c) => c,
        Err(i) => panic!("unexpected problems: {:?}", i),
    }
}

fn problems(layers: &[&RawConfig]) -> Vec<ConfigIssue> {
    translate(layers).expect_err("expected problems")
}

fn testdata(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/src/kafka/testdata/{}",
        env!("CARGO_MANIFEST_DIR"),
        name
    ))
    .unwrap()
}

fn pem_der(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

const SCRAM: &str = r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="connect" password="s3cr\"et";"#;

#[test]
fn scram_jaas_becomes_librdkafka_username_and_password() {
    let c = ok(&[&raw(&[
        ("bootstrap.servers", "b:9093"),
        ("security.protocol", "sasl_ssl"),
        ("sasl.mechanism", "SCRAM-SHA-512"),
        ("sasl.jaas.config", SCRAM),
    ])]);
    assert_eq!(c["security.protocol"], "sasl_ssl");
    assert_eq!(c["sasl.mechanism"], "SCRAM-SHA-512");
    assert_eq!(c["sasl.username"], "connect");
    assert_eq!(c["sasl.password"], "s3cr\"et");
    assert_eq!(c["bootstrap.servers"], "b:9093");
    assert!(!c.contains_key("sasl.jaas.config"));
}

#[test]
fn plain_and_scram_sha256_with_a_prefixed_layer_winning() {
    let worker = raw(&[
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "PLAIN"),
        (
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="w" password="wp";"#,
        ),
    ]);
    let c = ok(&[&worker]);
    assert_eq!(
        (c["sasl.username"].as_str(), c["sasl.password"].as_str()),
        ("w", "wp")
    );
    let over = raw(&[
        ("sasl.mechanism", "scram-sha-256"),
        ("sasl.jaas.config", SCRAM),
    ]);
    let c = ok(&[&worker, &over]);
    assert_eq!(c["sasl.mechanism"], "SCRAM-SHA-256");
    assert_eq!(c["sasl.username"], "connect");
    // librdkafka's own keys in a later layer win over an earlier JAAS line
    let native = raw(&[("sasl.username", "n"), ("sasl.password", "np")]);
    let c = ok(&[&worker, &native]);
    assert_eq!(
        (c["sasl.username"].as_str(), c["sasl.password"].as_str()),
        ("n", "np")
    );
}

#[test]
fn sasl_problems_name_the_key_and_never_the_password() {
    let i = problems(&[&raw(&[("security.protocol", "SASL_SSL")])]);
    assert_eq!(i[0].key, "sasl.mechanism");
    assert!(i[0].message.contains("GSSAPI"), "{}", i[0]);
    let i = problems(&[&raw(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "GSSAPI"),
    ])]);
    assert!(i[0].message.contains("Kerberos"), "{}", i[0]);
    let i = problems(&[&raw(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "SCRAM-SHA-512"),
        (
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="hunter2""#,
        ),
    ])]);
    assert_eq!(i[0].key, "sasl.jaas.config");
    assert!(i[0].message.contains("';'"), "{}", i[0]);
    assert!(!format!("{:?}", i).contains("hunter2"));
    let i = problems(&[&raw(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "PLAIN"),
    ])]);
    assert_eq!(i[0].key, "sasl.jaas.config");
    assert!(i[0].message.contains("PlainLoginModule"), "{}", i[0]);
    let i = problems(&[&raw(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "PLAIN"),
        (
            "sasl.jaas.config",
            "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true;",
        ),
    ])]);
    assert!(i[0].message.contains("does not go with"), "{}", i[0]);
    let i = problems(&[&raw(&[("security.protocol", "TLS")])]);
    assert_eq!(i[0].key, "security.protocol");
}

#[test]
fn oauthbearer_oidc_maps_to_librdkafka_oidc() {
    let (c, issues) = translate_all(&[&raw(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "OAUTHBEARER"),
        (
            "sasl.login.callback.handler.class",
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
        ),
        (
            "sasl.oauthbearer.token.endpoint.url",
            "https://idp.example/token",
        ),
        ("sasl.login.refresh.buffer.seconds", "300"),
        (
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="sluice" clientSecret="cs" scope="kafka" extension_logicalCluster="lkc-1";"#,
        ),
    ])]);
    assert_eq!(c["sasl.oauthbearer.method"], "oidc");
    assert_eq!(
        c["sasl.oauthbearer.token.endpoint.url"],
        "https://idp.example/token"
    );
    assert_eq!(c["sasl.oauthbearer.client.id"], "sluice");
    assert_eq!(c["sasl.oauthbearer.client.secret"], "cs");
    assert_eq!(c["sasl.oauthbearer.scope"], "kafka");
    assert_eq!(c["sasl.oauthbearer.extensions"], "logicalCluster=lkc-1");
    assert!(!c.contains_key("sasl.login.refresh.buffer.seconds"));
    assert!(!c.contains_key("sasl.login.callback.handler.class"));
    // OIDC needs librdkafka with libcurl: a build without it says so
    if librdkafka_features().split(',').any(|f| f == "oidc") {
        assert!(issues.is_empty(), "{:?}", issues);
    } else {
        assert_eq!(issues.len(), 1, "{:?}", issues);
        assert!(issues[0].message.contains("kafka-oidc"), "{}", issues[0]);
        assert!(!issues[0].message.contains("cs"));
    }
}

#[test]
fn oauthbearer_unsecured_tokens_and_unknown_handlers() {
    let c = ok(&[&raw(&[
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "OAUTHBEARER"),
        (
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="alice" unsecuredLoginLifetimeSeconds="600" unsecuredLoginListClaim_scope=",read,write";"#,
        ),
    ])]);
    assert_eq!(c["enable.sasl.oauthbearer.unsecure.jwt"], "true");
    assert_eq!(
        c["sasl.oauthbearer.config"],
        "principal=alice lifeSeconds=600 scope=read,write"
    );
    let i = problems(&[&raw(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "OAUTHBEARER"),
        ("sasl.login.callback.handler.class", "com.example.MyHandler"),
        (
            "sasl.jaas.config",
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
        ),
    ])]);
    assert_eq!(i[0].key, "sasl.login.callback.handler.class");
    assert!(i[0].message.contains("com.example.MyHandler"), "{}", i[0]);
    let i = problems(&[&raw(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "OAUTHBEARER"),
        (
            "sasl.jaas.config",
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
        ),
    ])]);
    assert!(i[0].message.contains("OIDC token endpoint"), "{}", i[0]);
}

#[test]
fn pem_truststores_and_keystores() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, testdata("ca.pem")).unwrap();
    let both = dir.path().join("client.pem");
    std::fs::write(&both, testdata("ca.pem") + &testdata("key.pem")).unwrap();
    let c = ok(&[&raw(&[
        ("security.protocol", "SSL"),
        ("ssl.truststore.location", ca.to_str().unwrap()),
        ("ssl.keystore.location", both.to_str().unwrap()),
        ("ssl.keystore.type", "PEM"),
        ("ssl.endpoint.identification.algorithm", ""),
    ])]);
    assert_eq!(c["ssl.ca.location"], ca.to_str().unwrap());
    assert_eq!(c["ssl.certificate.location"], both.to_str().unwrap());
    assert_eq!(c["ssl.key.location"], both.to_str().unwrap());
    assert_eq!(c["ssl.endpoint.identification.algorithm"], "none");
    assert!(!c.keys().any(|k| k.contains("store")), "{:?}", c.keys());

    let c = ok(&[&raw(&[
        ("security.protocol", "SSL"),
        ("ssl.truststore.type", "PEM"),
        ("ssl.truststore.certificates", &testdata("ca.pem")),
        ("ssl.keystore.type", "PEM"),
        ("ssl.keystore.certificate.chain", &testdata("ca.pem")),
        ("ssl.keystore.key", &testdata("key.pem")),
        ("ssl.key.password", "kp"),
        ("ssl.endpoint.identification.algorithm", "HTTPS"),
    ])]);
    assert_eq!(c["ssl.ca.pem"], testdata("ca.pem"));
    assert_eq!(c["ssl.certificate.pem"], testdata("ca.pem"));
    assert_eq!(c["ssl.key.pem"], testdata("key.pem"));
    assert_eq!(c["ssl.key.password"], "kp");
    assert_eq!(c["ssl.endpoint.identification.algorithm"], "https");

    let i = problems(&[&raw(&[
        ("security.protocol", "SSL"),
        ("ssl.truststore.location", "/nonexistent/ca.pem"),
        ("ssl.truststore.type", "PEM"),
        ("ssl.keystore.type", "PEM"),
        ("ssl.keystore.key", "secret key text"),
    ])]);
    assert_eq!(i.len(), 2, "{:?}", i);
    assert_eq!(i[0].key, "ssl.truststore.location");
    assert!(i[0].message.contains("/nonexistent/ca.pem"));
    assert_eq!(i[1].key, "ssl.keystore.certificate.chain");
    assert!(!format!("{:?}", i).contains("secret key text"));
}

/// A PKCS12 file as Java's keytool makes it (trusted certificate entries), written
/// with `p12-keystore`.
fn pkcs12_truststore(password: &str) -> Vec<u8> {
    let mut ks = p12_keystore::KeyStore::new();
    let cert = p12_keystore::Certificate::from_der(&pem_der(&testdata("ca.pem"))).unwrap();
    ks.add_entry("ca", p12_keystore::KeyStoreEntry::Certificate(cert));
    ks.writer(password).write().unwrap()
}

fn pkcs12_keystore(password: &str) -> Vec<u8> {
    let mut ks = p12_keystore::KeyStore::new();
    let cert = p12_keystore::Certificate::from_der(&pem_der(&testdata("ca.pem"))).unwrap();
    let chain =
        p12_keystore::PrivateKeyChain::new(pem_der(&testdata("key.pem")), [1u8; 20], [cert]);
    ks.add_entry(
        "client",
        p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
    );
    ks.writer(password).write().unwrap()
}

#[test]
fn pkcs12_truststores_become_inline_pem_and_keystores_pass_through() {
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("truststore.p12");
    std::fs::write(&trust, pkcs12_truststore("changeit")).unwrap();
    let keys = dir.path().join("keystore.p12");
    std::fs::write(&keys, pkcs12_keystore("kspass")).unwrap();
    let c = ok(&[&raw(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "SCRAM-SHA-512"),
        ("sasl.jaas.config", SCRAM),
        ("ssl.truststore.location", trust.to_str().unwrap()),
        ("ssl.truststore.password", "changeit"),
        ("ssl.truststore.type", "PKCS12"),
        ("ssl.keystore.location", keys.to_str().unwrap()),
        ("ssl.keystore.password", "kspass"),
        ("ssl.key.password", "kspass"),
    ])]);
    let pem = &c["ssl.ca.pem"];
    let body: String = testdata("ca.pem")
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert_eq!(
        pem.lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>(),
        body
    );
    assert_eq!(c["ssl.keystore.location"], keys.to_str().unwrap());
    assert_eq!(c["ssl.keystore.password"], "kspass");
    assert!(!c.contains_key("ssl.truststore.location"));
    assert!(!c.contains_key("ssl.key.password"));

    // wrong passwords: the key that is wrong, never the password
    let i = problems(&[&raw(&[
        ("security.protocol", "SSL"),
        ("ssl.truststore.location", trust.to_str().unwrap()),
        ("ssl.truststore.password", "wrong-trust-pw"),
        ("ssl.keystore.location", keys.to_str().unwrap()),
        ("ssl.keystore.password", "wrong-key-pw"),
    ])]);
    assert_eq!(i.len(), 2, "{:?}", i);
    assert_eq!(i[0].key, "ssl.truststore.password");
    assert!(i[0].message.contains("wrong password"), "{}", i[0]);
    assert_eq!(i[1].key, "ssl.keystore.password");
    let all = format!("{:?}", i);
    assert!(!all.contains("wrong-trust-pw") && !all.contains("wrong-key-pw"));

    // a keystore used as a truststore holds no trusted entries
    let i = problems(&[&raw(&[
        ("security.protocol", "SSL"),
        ("ssl.truststore.location", keys.to_str().unwrap()),
        ("ssl.truststore.password", "kspass"),
    ])]);
    assert!(i[0].message.contains("no trusted certificate"), "{}", i[0]);
}

#[test]
fn jks_stores_name_the_keytool_conversion() {
    let dir = tempfile::tempdir().unwrap();
    let jks = dir.path().join("kafka.client.truststore.jks");
    std::fs::write(&jks, [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0, 0, 0, 1]).unwrap();
    let p = jks.to_str().unwrap();
    let i = problems(&[&raw(&[
        ("security.protocol", "SSL"),
        ("ssl.truststore.location", p),
        ("ssl.truststore.password", "changeit"),
        ("ssl.keystore.location", p),
        ("ssl.keystore.type", "JKS"),
    ])]);
    assert_eq!(i.len(), 2, "{:?}", i);
    assert_eq!(i[0].key, "ssl.truststore.type");
    assert!(
        i[0].message.contains(&format!(
            "keytool -importkeystore -srckeystore {} -srcstoretype JKS -destkeystore {}.p12 -deststoretype PKCS12",
            p,
            p.trim_end_matches(".jks")
        )),
        "{}",
        i[0]
    );
    assert_eq!(i[1].key, "ssl.keystore.type");
    assert!(!format!("{:?}", i).contains("changeit"));
}

#[test]
fn store_and_sasl_keys_are_ignored_when_the_protocol_does_not_use_them() {
    let c = ok(&[&raw(&[
        ("ssl.truststore.location", "/some/where.jks"),
        ("ssl.truststore.type", "JKS"),
        ("sasl.jaas.config", "not even parsed"),
        ("sasl.mechanism", "GSSAPI"),
        ("ssl.ca.location", "/etc/ssl/ca.pem"),
    ])]);
    assert_eq!(c["security.protocol"], "plaintext");
    assert_eq!(c["ssl.ca.location"], "/etc/ssl/ca.pem");
    assert!(!c.contains_key("ssl.truststore.location"));
    assert!(!c.contains_key("sasl.jaas.config"));
    assert!(!c.contains_key("sasl.mechanism"));
}

#[test]
fn java_only_tuning_is_dropped_and_librdkafka_keys_pass() {
    let c = ok(&[&raw(&[
        ("security.protocol", "SSL"),
        ("ssl.protocol", "TLSv1.3"),
        ("ssl.enabled.protocols", "TLSv1.2,TLSv1.3"),
        ("ssl.cipher.suites", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
        ("ssl.keymanager.algorithm", "SunX509"),
        ("ssl.ca.location", "/etc/ssl/certs"),
        ("ssl.certificate.location", "/c.pem"),
        ("ssl.key.location", "/k.pem"),
        ("ssl.key.password", "kp"),
    ])]);
    for k in [
        "ssl.protocol",
        "ssl.enabled.protocols",
        "ssl.cipher.suites",
        "ssl.keymanager.algorithm",
    ] {
        assert!(!c.contains_key(k), "{} kept", k);
    }
    assert_eq!(c["ssl.ca.location"], "/etc/ssl/certs");
    assert_eq!(c["ssl.key.location"], "/k.pem");
    assert_eq!(c["ssl.key.password"], "kp");
    let c = ok(&[&raw(&[
        ("security.protocol", "SSL"),
        ("ssl.cipher.suites", "ECDHE-RSA-AES256-GCM-SHA384"),
    ])]);
    assert_eq!(c["ssl.cipher.suites"], "ECDHE-RSA-AES256-GCM-SHA384");
    let i = problems(&[&raw(&[
        ("security.protocol", "SSL"),
        ("ssl.engine.factory.class", "com.example.Engine"),
    ])]);
    assert_eq!(i[0].key, "ssl.engine.factory.class");
}

#[test]
fn this_build_speaks_tls_and_scram() {
    let f = librdkafka_features();
    for want in ["ssl", "sasl_plain", "sasl_scram", "sasl_oauthbearer"] {
        assert!(
            f.split(',').any(|x| x == want),
            "{} missing from {}",
            want,
            f
        );
    }
}
