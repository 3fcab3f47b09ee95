//! What the broker says about itself: the `product` and `version` properties of its
//! open frame, read off the stream while the connection opens (fe2o3-amqp does not
//! expose the remote open frame). Sluice uses them for one broker difference: how
//! new link credit is counted (see [`Peer::credit_adds_to_what_is_in_flight`]).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The first bytes the broker sends (SASL frames, the open frame) are kept up to this
/// many; an open frame is a few hundred bytes.
const CAPTURE: usize = 16 * 1024;

/// The broker's product and version, as its open frame gave them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peer {
    pub product: Option<String>,
    pub version: Option<String>,
}

impl Peer {
    /// Reads the `product` and `version` properties out of the bytes the broker sent
    /// before the connection was open. The properties map holds symbol keys and, for
    /// these two, string values.
    pub fn from_open_bytes(bytes: &[u8]) -> Peer {
        Peer {
            product: string_property(bytes, b"product"),
            version: string_property(bytes, b"version"),
        }
    }

    /// RabbitMQ before 4.0 (the `rabbitmq_amqp1_0` plugin) counts a credit grant from
    /// what it has handed to the link, not from the receiver's delivery count: messages
    /// already on their way when the grant arrives come on top of it, and fe2o3-amqp
    /// then fails the link ("more message transfers than currently allowed"). With such
    /// a broker credit is granted only once the last grant is used up, when both
    /// counts agree. Spec brokers (Artemis, Qpid, RabbitMQ 4) count from the delivery
    /// count and get credit while messages flow.
    pub fn credit_adds_to_what_is_in_flight(&self) -> bool {
        let rabbit = self
            .product
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case("rabbitmq"));
        let major = self
            .version
            .as_deref()
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.parse::<u32>().ok());
        rabbit && major.is_none_or(|m| m < 4)
    }
}

/// The string value following the symbol `key` (sym8, as brokers encode map keys).
fn string_property(bytes: &[u8], key: &[u8]) -> Option<String> {
    let mut needle = vec![0xa3, key.len() as u8];
    needle.extend_from_slice(key);
    let at = bytes.windows(needle.len()).position(|w| w == needle)? + needle.len();
    let rest = &bytes[at..];
    let (len, start) = match rest.first()? {
        0xa1 => (*rest.get(1)? as usize, 2), // str8-utf8
        0xb1 => (
            u32::from_be_bytes(rest.get(1..5)?.try_into().ok()?) as usize,
            5,
        ), // str32-utf8
        _ => return None,
    };
    let value = rest.get(start..start + len)?;
    std::str::from_utf8(value).ok().map(str::to_string)
}

/// What [`Sniffed`] captured; the capture stops when taken.
#[derive(Debug, Clone, Default)]
pub struct Capture(Arc<Mutex<Option<Vec<u8>>>>);

impl Capture {
    fn new() -> Capture {
        Capture(Arc::new(Mutex::new(Some(Vec::new()))))
    }

    /// Stops capturing and reads the broker's product and version from what came.
    pub fn finish(&self) -> Peer {
        let bytes = self.0.lock().unwrap().take().unwrap_or_default();
        Peer::from_open_bytes(&bytes)
    }
}

/// A stream that keeps a copy of the first bytes read from it.
#[derive(Debug)]
pub struct Sniffed<S> {
    inner: S,
    /// Let go once the capture is finished: later reads take no lock.
    capture: Option<Capture>,
}

impl<S> Sniffed<S> {
    pub fn new(inner: S) -> (Sniffed<S>, Capture) {
        let capture = Capture::new();
        (
            Sniffed {
                inner,
                capture: Some(capture.clone()),
            },
            capture,
        )
    }

    /// The wrapped stream (for a handshake done by hand before fe2o3-amqp's).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Sniffed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(capture)) = (&r, &self.capture) {
            let mut kept = capture.0.lock().unwrap();
            match kept.as_mut() {
                Some(kept) => {
                    let new = &buf.filled()[before..];
                    let room = CAPTURE.saturating_sub(kept.len());
                    kept.extend_from_slice(&new[..new.len().min(room)]);
                }
                None => {
                    drop(kept);
                    self.capture = None;
                }
            }
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Sniffed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A properties map as a broker encodes it: sym8 keys, str8 values.
    fn props(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut b = vec![0x00, 0x53, 0x10, 0xc1, 0x00, 0x00]; // some open-frame prefix
        for (k, v) in pairs {
            b.extend_from_slice(&[0xa3, k.len() as u8]);
            b.extend_from_slice(k.as_bytes());
            b.extend_from_slice(&[0xa1, v.len() as u8]);
            b.extend_from_slice(v.as_bytes());
        }
        b
    }

    #[test]
    fn product_and_version_are_read_from_the_open_frame() {
        let p = Peer::from_open_bytes(&props(&[
            ("cluster_name", "rabbit@vm"),
            ("product", "RabbitMQ"),
            ("version", "3.10.8"),
        ]));
        assert_eq!(p.product.as_deref(), Some("RabbitMQ"));
        assert_eq!(p.version.as_deref(), Some("3.10.8"));
        assert!(p.credit_adds_to_what_is_in_flight());
    }

    #[test]
    fn spec_brokers_and_rabbitmq_4_count_credit_from_the_delivery_count() {
        for (product, version) in [
            ("apache-activemq-artemis", "2.40.0"),
            ("RabbitMQ", "4.0.5"),
            ("qpid-dispatch-router", "1.19.0"),
        ] {
            let p = Peer::from_open_bytes(&props(&[("product", product), ("version", version)]));
            assert!(!p.credit_adds_to_what_is_in_flight(), "{}", product);
        }
        assert!(!Peer::default().credit_adds_to_what_is_in_flight());
    }

    #[test]
    fn str32_values_and_truncated_frames() {
        let mut b = vec![0xa3, 7];
        b.extend_from_slice(b"product");
        b.push(0xb1);
        b.extend_from_slice(&8u32.to_be_bytes());
        b.extend_from_slice(b"RabbitMQ");
        assert_eq!(
            Peer::from_open_bytes(&b).product.as_deref(),
            Some("RabbitMQ")
        );
        // Cut off inside the value: nothing, no panic.
        for cut in 0..b.len() {
            assert_eq!(Peer::from_open_bytes(&b[..cut]).product, None);
        }
    }

    #[tokio::test]
    async fn the_capture_keeps_what_was_read_until_finished() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut broker, client) = tokio::io::duplex(64);
        let (mut sniffed, capture) = Sniffed::new(client);
        let frame = props(&[("product", "RabbitMQ"), ("version", "3.12.1")]);
        broker.write_all(&frame).await.unwrap();
        let mut got = vec![0; frame.len()];
        sniffed.read_exact(&mut got).await.unwrap();
        assert_eq!(got, frame);
        let peer = capture.finish();
        assert_eq!(peer.version.as_deref(), Some("3.12.1"));
        // After finish nothing more is kept, and the stream still works both ways.
        broker.write_all(b"later").await.unwrap();
        let mut later = [0u8; 5];
        sniffed.read_exact(&mut later).await.unwrap();
        assert_eq!(&later, b"later");
        assert!(capture.0.lock().unwrap().is_none());
        sniffed.write_all(b"ping").await.unwrap();
        let mut ping = [0u8; 4];
        broker.read_exact(&mut ping).await.unwrap();
        assert_eq!(&ping, b"ping");
    }
}
