//! SASL EXTERNAL over an established TLS stream: the broker takes the client's identity
//! from the certificate it presented in the TLS handshake.
//!
//! fe2o3-amqp offers EXTERNAL only over a TLS stack of its own (aws-lc-rs), so Sluice
//! runs the short SASL exchange itself (AMQP 1.0 part 5.3) on its tokio-rustls stream
//! and then hands the stream to fe2o3-amqp, which goes on with the AMQP header:
//!
//! 1. both sides send the SASL protocol header `AMQP 3 1 0 0`;
//! 2. the broker lists its mechanisms (`sasl-mechanisms`), which must include EXTERNAL;
//! 3. Sluice sends `sasl-init` with EXTERNAL and an empty response (the identity is the
//!    certificate's, no authorization id is asked for);
//! 4. the broker answers `sasl-outcome`: `ok`, or a code that becomes the error.

use fe2o3_amqp::types::primitives::{Binary, Symbol};
use fe2o3_amqp::types::sasl::{SaslCode, SaslInit, SaslMechanisms, SaslOutcome};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const SASL_HEADER: [u8; 8] = *b"AMQP\x03\x01\x00\x00";
const EXTERNAL: &str = "EXTERNAL";
/// Frame type of SASL frames.
const FRAME_TYPE_SASL: u8 = 0x01;
/// The largest SASL frame accepted from the broker. The spec keeps SASL frames within
/// 512 bytes; a broker that lists many mechanisms may go past that, so the bound is
/// looser, only there to refuse a size no broker sends.
const MAX_FRAME: usize = 64 * 1024;

/// Authenticates `stream` with SASL EXTERNAL. On success the stream is ready for the
/// AMQP protocol header.
pub async fn negotiate<S>(stream: &mut S, hostname: &str) -> Result<(), String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    stream
        .write_all(&SASL_HEADER)
        .await
        .map_err(|e| format!("SASL: cannot send the protocol header: {}", e))?;
    stream.flush().await.map_err(|e| format!("SASL: {}", e))?;
    let mut header = [0u8; 8];
    stream.read_exact(&mut header).await.map_err(|e| {
        format!(
            "SASL: the broker closed the connection before its protocol header: {}",
            e
        )
    })?;
    if header != SASL_HEADER {
        return Err(format!(
            "SASL: the broker answered with protocol header {:?}, not SASL's (does this listener take SASL EXTERNAL?)",
            String::from_utf8_lossy(&header)
        ));
    }
    let mechanisms: SaslMechanisms = decode(&read_frame(stream).await?, "sasl-mechanisms")?;
    let offered = &mechanisms.sasl_server_mechanisms.0;
    if !offered.iter().any(|m| m.0 == EXTERNAL) {
        let names: Vec<&str> = offered.iter().map(|m| m.0.as_str()).collect();
        return Err(format!(
            "SASL: the broker does not offer EXTERNAL (it offers {}); it needs a listener that asks for client certificates with EXTERNAL enabled",
            names.join(", ")
        ));
    }
    let init = SaslInit {
        mechanism: Symbol::from(EXTERNAL),
        initial_response: Some(Binary::from(Vec::new())),
        hostname: Some(hostname.to_string()),
    };
    write_frame(stream, &init).await?;
    let outcome: SaslOutcome = decode(&read_frame(stream).await?, "sasl-outcome")?;
    match outcome.code {
        SaslCode::Ok => Ok(()),
        code => Err(format!(
            "SASL EXTERNAL authentication failed ({}): the broker did not accept the client certificate's identity",
            match code {
                SaslCode::Auth => "auth: no user for this certificate",
                SaslCode::Sys => "sys: a broker system error",
                SaslCode::SysPerm => "sys-perm: a permanent broker system error",
                SaslCode::SysTemp => "sys-temp: a transient broker system error",
                SaslCode::Ok => unreachable!(),
            }
        )),
    }
}

async fn write_frame<S: AsyncWrite + Unpin>(stream: &mut S, init: &SaslInit) -> Result<(), String> {
    let body =
        serde_amqp::to_vec(init).map_err(|e| format!("SASL: cannot encode sasl-init: {}", e))?;
    let size = (8 + body.len()) as u32;
    let mut frame = Vec::with_capacity(size as usize);
    frame.extend_from_slice(&size.to_be_bytes());
    frame.extend_from_slice(&[2, FRAME_TYPE_SASL, 0, 0]);
    frame.extend_from_slice(&body);
    stream
        .write_all(&frame)
        .await
        .map_err(|e| format!("SASL: cannot send sasl-init: {}", e))?;
    stream.flush().await.map_err(|e| format!("SASL: {}", e))
}

/// Reads one SASL frame and returns its body (after the data offset).
async fn read_frame<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Vec<u8>, String> {
    let mut head = [0u8; 8];
    stream
        .read_exact(&mut head)
        .await
        .map_err(|e| format!("SASL: the broker closed the connection: {}", e))?;
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let doff = head[4] as usize * 4;
    if head[5] != FRAME_TYPE_SASL || size > MAX_FRAME || doff < 8 || size < doff {
        return Err(format!(
            "SASL: malformed frame from the broker (size {}, data offset {}, type {})",
            size, doff, head[5]
        ));
    }
    let mut rest = vec![0u8; size - 8];
    stream
        .read_exact(&mut rest)
        .await
        .map_err(|e| format!("SASL: the broker closed the connection: {}", e))?;
    Ok(rest.split_off(doff - 8))
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, String> {
    serde_amqp::from_slice(body)
        .map_err(|e| format!("SASL: expected {} from the broker: {}", what, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fe2o3_amqp::types::primitives::Array;

    /// Plays the broker's side of the exchange on the other end of an in-memory pipe.
    async fn broker(mut s: tokio::io::DuplexStream, offered: &[&str], code: SaslCode) -> SaslInit {
        let mut header = [0u8; 8];
        s.read_exact(&mut header).await.unwrap();
        assert_eq!(header, SASL_HEADER);
        s.write_all(&SASL_HEADER).await.unwrap();
        let mechs = SaslMechanisms {
            sasl_server_mechanisms: Array::from(
                offered.iter().map(|m| Symbol::from(*m)).collect::<Vec<_>>(),
            ),
        };
        send(&mut s, &serde_amqp::to_vec(&mechs).unwrap()).await;
        if !offered.contains(&EXTERNAL) {
            return SaslInit {
                mechanism: Symbol::from(""),
                initial_response: None,
                hostname: None,
            };
        }
        let init: SaslInit = serde_amqp::from_slice(&read_frame(&mut s).await.unwrap()).unwrap();
        let outcome = SaslOutcome {
            code,
            additional_data: None,
        };
        send(&mut s, &serde_amqp::to_vec(&outcome).unwrap()).await;
        init
    }

    async fn send(s: &mut tokio::io::DuplexStream, body: &[u8]) {
        let mut f = ((8 + body.len()) as u32).to_be_bytes().to_vec();
        f.extend_from_slice(&[2, FRAME_TYPE_SASL, 0, 0]);
        f.extend_from_slice(body);
        s.write_all(&f).await.unwrap();
    }

    #[tokio::test]
    async fn sends_external_and_accepts_ok() {
        let (mut client, server) = tokio::io::duplex(4096);
        let b = tokio::spawn(broker(server, &["PLAIN", "EXTERNAL"], SaslCode::Ok));
        negotiate(&mut client, "broker.example").await.unwrap();
        let init = b.await.unwrap();
        assert_eq!(init.mechanism.0, "EXTERNAL");
        assert_eq!(init.hostname.as_deref(), Some("broker.example"));
    }

    #[tokio::test]
    async fn a_refused_identity_names_the_outcome() {
        let (mut client, server) = tokio::io::duplex(4096);
        tokio::spawn(broker(server, &["EXTERNAL"], SaslCode::Auth));
        let e = negotiate(&mut client, "h").await.unwrap_err();
        assert!(e.contains("authentication failed (auth"), "{}", e);
    }

    #[tokio::test]
    async fn an_absurd_frame_size_is_refused() {
        let (mut client, mut server) = tokio::io::duplex(4096);
        tokio::spawn(async move {
            let mut header = [0u8; 8];
            server.read_exact(&mut header).await.unwrap();
            server.write_all(&SASL_HEADER).await.unwrap();
            server
                .write_all(&[0x7f, 0xff, 0xff, 0xff, 2, FRAME_TYPE_SASL, 0, 0])
                .await
                .unwrap();
            // keep the pipe open while the client decides
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        });
        let e = negotiate(&mut client, "h").await.unwrap_err();
        assert!(
            e.contains("malformed frame") && e.contains("size 2147483647"),
            "{}",
            e
        );
    }

    #[tokio::test]
    async fn a_broker_without_external_is_named() {
        let (mut client, server) = tokio::io::duplex(4096);
        tokio::spawn(broker(server, &["PLAIN", "ANONYMOUS"], SaslCode::Ok));
        let e = negotiate(&mut client, "h").await.unwrap_err();
        assert!(
            e.contains("does not offer EXTERNAL (it offers PLAIN, ANONYMOUS)"),
            "{}",
            e
        );
    }
}
