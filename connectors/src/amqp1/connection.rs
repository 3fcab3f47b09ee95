//! Opening one AMQP 1.0 connection and session: TCP, TLS (tokio-rustls, from the
//! first byte) for amqps://, SASL (EXTERNAL by `sasl_external`), open and begin, trying the endpoints of the
//! failover list in order.

use fe2o3_amqp::connection::ConnectionHandle;
use fe2o3_amqp::sasl_profile::SaslProfile;
use fe2o3_amqp::session::SessionHandle;
use fe2o3_amqp::{Connection, Session};
use tokio::net::TcpStream;

use super::config::{Endpoint, Sasl, ServerConfig};
use super::peer::{Peer, Sniffed};
use super::sasl_external;

/// An open connection with one session.
pub struct Opened {
    pub connection: ConnectionHandle<()>,
    pub session: SessionHandle<()>,
    /// The endpoint it is connected to (for logs; no credentials).
    pub endpoint: String,
    /// The broker's product and version, from its open frame.
    pub peer: Peer,
}

impl Opened {
    /// Ends the session and closes the connection (best effort).
    pub async fn close(mut self) {
        let _ = self.session.end().await;
        let _ = self.connection.close().await;
    }
}

/// The profile fe2o3-amqp negotiates; none for EXTERNAL, which Sluice negotiates
/// itself on the TLS stream before handing it over (`sasl_external`).
fn profile(s: &Sasl) -> Option<SaslProfile> {
    match s {
        Sasl::Anonymous => Some(SaslProfile::Anonymous),
        Sasl::Plain { user, password } => Some(SaslProfile::Plain {
            username: user.clone(),
            password: password.clone(),
        }),
        Sasl::External => None,
    }
}

/// Whether small writes wait to be coalesced (TCP's Nagle algorithm).
///
/// A receiver wants it off: its dispositions and credit are small frames the broker
/// waits for, and Nagle (with the broker's delayed ACKs) held them back (Artemis ->
/// Kafka fell from 46,000 to 10,600 msg/s with it on). A sender with a window of
/// transfers in flight wants it on: transfers coalesce into fewer segments (Kafka ->
/// Artemis rose from 0.69 to 0.89 of the plain loop, which fe2o3-amqp leaves on).
/// Measured with `cargo bench --bench amqp1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nagle {
    On,
    Off,
}

async fn open_one(
    cfg: &ServerConfig,
    e: &Endpoint,
    container_id: &str,
    nagle: Nagle,
) -> Result<Opened, String> {
    let tcp = TcpStream::connect((e.host.as_str(), e.port))
        .await
        .map_err(|err| format!("cannot connect: {}", err))?;
    let _ = tcp.set_nodelay(nagle == Nagle::Off);
    let builder = Connection::builder()
        .container_id(container_id.to_string())
        .hostname(e.host.as_str())
        .scheme("amqp");
    let builder = match profile(&cfg.sasl) {
        Some(p) => builder.sasl_profile(p),
        None => builder,
    };
    let builder = if cfg.idle_timeout.is_zero() {
        builder
    } else {
        builder.idle_time_out(cfg.idle_timeout.as_millis().min(u32::MAX as u128) as u32)
    };
    let (opened, capture) = if e.tls {
        let tls = cfg
            .tls
            .as_ref()
            .ok_or_else(|| "amqps:// without a TLS configuration".to_string())?;
        let name = rustls::pki_types::ServerName::try_from(e.host.clone())
            .map_err(|err| format!("{} is not a valid TLS server name: {}", e.host, err))?;
        let stream = tokio_rustls::TlsConnector::from(tls.0.clone())
            .connect(name, tcp)
            .await
            .map_err(|err| format!("TLS handshake failed: {}", err))?;
        let (mut stream, capture) = Sniffed::new(stream);
        if cfg.sasl == Sasl::External {
            sasl_external::negotiate(stream.get_mut(), &e.host).await?;
        }
        (builder.open_with_stream(stream).await, capture)
    } else {
        let (stream, capture) = Sniffed::new(tcp);
        (builder.open_with_stream(stream).await, capture)
    };
    let mut connection = opened.map_err(|err| format!("AMQP open failed: {}", err))?;
    let peer = capture.finish();
    let session = match Session::begin(&mut connection).await {
        Ok(s) => s,
        Err(err) => {
            let _ = connection.close().await;
            return Err(format!("cannot begin a session: {}", err));
        }
    };
    Ok(Opened {
        connection,
        session,
        endpoint: e.to_string(),
        peer,
    })
}

/// Opens a connection to the first endpoint that answers, each attempt bounded by
/// `amqp1.connection.timeout.ms`. The error names every endpoint tried and why.
pub async fn open(cfg: &ServerConfig, container_id: &str, nagle: Nagle) -> Result<Opened, String> {
    let mut errors = Vec::new();
    for e in &cfg.endpoints {
        match tokio::time::timeout(
            cfg.connection_timeout,
            open_one(cfg, e, container_id, nagle),
        )
        .await
        {
            Ok(Ok(o)) => return Ok(o),
            Ok(Err(err)) => errors.push(format!("{}: {}", e, err)),
            Err(_) => errors.push(format!(
                "{}: timed out after {:?}",
                e, cfg.connection_timeout
            )),
        }
    }
    Err(errors.join("; "))
}
