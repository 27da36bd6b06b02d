//! The emulator as `https://discord.com`: a certificate for `discord.com` made at start, and
//! a listener that speaks TLS with it, so serenity's own rate limiter (which always sends to
//! `https://discord.com/api/v10`, whatever the proxy says) can run against the emulator. A
//! client reaches it through [`super::Emulator::tls_client`], which resolves `discord.com` to
//! this port and trusts only this certificate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// The host the certificate is made for.
pub const HOST: &str = "discord.com";
/// How long a client has to finish its handshake before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// A self-signed certificate for [`HOST`] and the TLS settings that serve it.
pub(crate) struct Identity {
    /// The certificate, DER-encoded: what a client adds as its root.
    pub certificate: Vec<u8>,
    pub config: Arc<rustls::ServerConfig>,
}

impl Identity {
    /// A fresh key and certificate (ECDSA P-256, made with `ring`: about a millisecond).
    pub fn generate() -> anyhow::Result<Self> {
        let made = rcgen::generate_simple_self_signed(vec![HOST.to_owned()])
            .context("making the emulator's certificate for discord.com")?;
        let certificate = made.cert.der().to_vec();
        let key = pki_types::PrivateKeyDer::Pkcs8(pki_types::PrivatePkcs8KeyDer::from(
            made.signing_key.serialize_der(),
        ));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("choosing TLS versions for the emulator")?
            .with_no_client_auth()
            .with_single_cert(vec![made.cert.der().clone()], key)
            .context("loading the emulator's certificate")?;
        // The bot's client speaks HTTP/1.1 (reqwest without its http2 feature).
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            certificate,
            config: Arc::new(config),
        })
    }
}

/// Accepts TCP connections and completes their TLS handshake, for `axum::serve`. Handshakes
/// run one at a time: on loopback each takes about a millisecond, and one that stalls is
/// dropped after [`HANDSHAKE_TIMEOUT`].
pub(crate) struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, identity: &Identity) -> Self {
        Self {
            tcp,
            acceptor: TlsAcceptor::from(identity.config.clone()),
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            // axum's own accept loop: it logs and waits out errors such as too many open files.
            let (tcp, peer) = axum::serve::Listener::accept(&mut self.tcp).await;
            // Discord answers without Nagle's delay; so does the plain port.
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::warn!(%error, "emulator: could not set TCP_NODELAY");
            }
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => return (stream, peer),
                Ok(Err(error)) => {
                    tracing::warn!(%error, %peer, "emulator: TLS handshake failed");
                }
                Err(_) => tracing::warn!(%peer, "emulator: TLS handshake timed out"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::emulator::{Emulator, Rules};

    async fn emulator() -> Emulator {
        Emulator::start_with_rules(None, 0, false, Rules::default())
            .await
            .expect("the emulator starts")
    }

    #[tokio::test]
    async fn https_discord_com_through_the_tls_client_reaches_the_emulator() {
        let emu = emulator().await;
        let client = emu.tls_client().expect("the client builds");
        let response = client
            .get("https://discord.com/api/v10/users/@me")
            .header("Authorization", "Bot t")
            .send()
            .await
            .expect("the request reaches the emulator over TLS");
        assert_eq!(response.status(), 200);
        // Discord's rate-limit headers come along, for serenity's limiter to read.
        assert!(response.headers().contains_key("x-ratelimit-limit"));
        let body = response.bytes().await.expect("an answer");
        let me: serde_json::Value = serde_json::from_slice(&body).expect("a user");
        assert_eq!(me["id"], serde_json::json!(emu.bot_id().to_string()));
        let recorded = emu
            .wait_for_call(0, Duration::from_secs(5), |c| c.path == "/users/@me")
            .await
            .expect("the call is recorded without its /api/v10 prefix");
        assert_eq!(recorded.method, "GET");
        assert!(emu.unhandled().is_empty());
    }

    #[tokio::test]
    async fn a_client_that_does_not_trust_the_certificate_is_refused() {
        let emu = emulator().await;
        let stranger = reqwest::Client::builder()
            .use_rustls_tls()
            .resolve(super::HOST, emu.tls_addr())
            .build()
            .expect("a client");
        let refused = stranger
            .get("https://discord.com/api/v10/users/@me")
            .send()
            .await;
        assert!(
            refused.is_err(),
            "the certificate is the emulator's own, trusted by no one else"
        );
        assert_eq!(emu.call_count(), 0);
    }
}
