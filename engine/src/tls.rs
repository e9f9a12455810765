//! TLS, modelled: real record framing and well-formed handshake messages of realistic sizes,
//! so that Wireshark dissects the handshake — but **no real cryptography**.
//!
//! What is real: the record layer (RFC 8446 §5.1, RFC 5246 §6.2), the ClientHello and
//! ServerHello structures with their extensions, TLS 1.2's Certificate (an actual
//! self-signed P-256 certificate for `shop.traffic-cop.example`), ServerKeyExchange,
//! ServerHelloDone and ClientKeyExchange, the round trips each version needs (1.3: one,
//! 1.2: two), and the per-record overhead of an AEAD cipher.
//!
//! What is modelled, and **not secure in any way**: key exchange and encryption. Each
//! direction's "encryption" XORs the plaintext with a ChaCha8 keystream whose key is a hash
//! of the two hello randoms, which travel in the clear — anyone can derive it. Encrypted
//! handshake messages (TLS 1.3's EncryptedExtensions, Certificate, CertificateVerify and
//! Finished; TLS 1.2's Finished) are opaque bytes of the right sizes.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng as _, SeedableRng};

use crate::rng::fnv1a64;
use crate::scenario::TlsVersion;

/// Record content types.
pub const CHANGE_CIPHER_SPEC: u8 = 20;
/// Handshake records.
pub const HANDSHAKE: u8 = 22;
/// Application data records.
pub const APPLICATION_DATA: u8 = 23;

/// The largest plaintext in one record.
const MAX_FRAGMENT: usize = 16_384;
/// The AEAD tag every protected record carries.
const TAG: usize = 16;

/// The certificate the balancer presents (DER, self-signed, P-256).
pub const CERTIFICATE: &[u8] = include_bytes!("certificate.der");

/// The server name clients ask for.
pub const SERVER_NAME: &str = "shop.traffic-cop.example";

/// A record: content type and payload.
pub fn record(content_type: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + payload.len());
    out.push(content_type);
    out.extend_from_slice(&[3, 3]);
    out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A record read from a buffer: content type, payload, and bytes of the buffer it used.
pub type Record<'a> = (u8, &'a [u8], usize);

/// The first whole record of `buf`: (content type, payload, bytes used). `Ok(None)` when more
/// bytes are needed; `Err` when the bytes are not TLS records.
pub fn read_record(buf: &[u8]) -> Result<Option<Record<'_>>, TlsError> {
    if buf.len() < 5 {
        return Ok(None);
    }
    if !matches!(
        buf[0],
        CHANGE_CIPHER_SPEC | 21 | HANDSHAKE | APPLICATION_DATA
    ) || buf[1] != 3
    {
        return Err(TlsError::NotTls);
    }
    let len = usize::from(u16::from_be_bytes([buf[3], buf[4]]));
    if len > MAX_FRAGMENT + 256 {
        return Err(TlsError::NotTls);
    }
    if buf.len() < 5 + len {
        return Ok(None);
    }
    Ok(Some((buf[0], &buf[5..5 + len], 5 + len)))
}

/// Why a TLS exchange failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsError {
    /// The bytes are not TLS records.
    NotTls,
    /// A record arrived that the handshake did not expect.
    Unexpected,
}

fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(body);
    out
}

fn vec16(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn extension(kind: u16, body: &[u8]) -> Vec<u8> {
    let mut out = kind.to_be_bytes().to_vec();
    out.extend_from_slice(&vec16(body));
    out
}

/// A ClientHello offering TLS 1.3 and 1.2 (as browsers do), with SNI and an X25519 share.
pub fn client_hello(random: &[u8; 32], session_id: &[u8; 32], key_share: &[u8; 32]) -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(random);
    body.push(32);
    body.extend_from_slice(session_id);
    // TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256,
    // ECDHE-ECDSA-AES128-GCM-SHA256, ECDHE-RSA-AES128-GCM-SHA256.
    body.extend_from_slice(&vec16(&[
        0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0xc0, 0x2b, 0xc0, 0x2f,
    ]));
    body.extend_from_slice(&[1, 0]);
    let name = SERVER_NAME.as_bytes();
    let mut sni = vec![0];
    sni.extend_from_slice(&vec16(name));
    let mut ext = extension(0x0000, &vec16(&sni));
    ext.extend(extension(0x000a, &vec16(&[0x00, 0x1d, 0x00, 0x17])));
    ext.extend(extension(0x000b, &[1, 0]));
    ext.extend(extension(
        0x000d,
        &vec16(&[0x04, 0x03, 0x08, 0x04, 0x04, 0x01]),
    ));
    ext.extend(extension(0x002b, &[4, 0x03, 0x04, 0x03, 0x03]));
    let mut share = vec![0x00, 0x1d];
    share.extend_from_slice(&vec16(key_share));
    ext.extend(extension(0x0033, &vec16(&share)));
    body.extend_from_slice(&vec16(&ext));
    handshake(1, &body)
}

/// A ServerHello choosing `version`, echoing the client's session id.
pub fn server_hello(
    version: TlsVersion,
    random: &[u8; 32],
    session_id: &[u8; 32],
    key_share: &[u8; 32],
) -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(random);
    body.push(32);
    body.extend_from_slice(session_id);
    match version {
        TlsVersion::Tls13 => {
            body.extend_from_slice(&[0x13, 0x01, 0]);
            let mut ext = extension(0x002b, &[0x03, 0x04]);
            let mut share = vec![0x00, 0x1d];
            share.extend_from_slice(&vec16(key_share));
            ext.extend(extension(0x0033, &share));
            body.extend_from_slice(&vec16(&ext));
        }
        TlsVersion::Tls12 => {
            body.extend_from_slice(&[0xc0, 0x2b, 0]);
            // renegotiation_info (empty) and ec_point_formats.
            let mut ext = extension(0xff01, &[0]);
            ext.extend(extension(0x000b, &[1, 0]));
            body.extend_from_slice(&vec16(&ext));
        }
    }
    handshake(2, &body)
}

/// TLS 1.2 Certificate with the balancer's certificate.
pub fn certificate() -> Vec<u8> {
    let mut entry = (CERTIFICATE.len() as u32).to_be_bytes()[1..].to_vec();
    entry.extend_from_slice(CERTIFICATE);
    let mut body = (entry.len() as u32).to_be_bytes()[1..].to_vec();
    body.extend_from_slice(&entry);
    handshake(11, &body)
}

/// TLS 1.2 ServerKeyExchange for ECDHE on P-256, signed with ECDSA-SHA256 (opaque bytes).
pub fn server_key_exchange(point: &[u8; 64], signature: &[u8; 70]) -> Vec<u8> {
    let mut body = vec![3, 0x00, 0x17, 65, 4];
    body.extend_from_slice(point);
    body.extend_from_slice(&[0x04, 0x03]);
    body.extend_from_slice(&vec16(signature));
    handshake(12, &body)
}

/// TLS 1.2 ServerHelloDone.
pub fn server_hello_done() -> Vec<u8> {
    handshake(14, &[])
}

/// TLS 1.2 ClientKeyExchange for ECDHE on P-256.
pub fn client_key_exchange(point: &[u8; 64]) -> Vec<u8> {
    let mut body = vec![65, 4];
    body.extend_from_slice(point);
    handshake(16, &body)
}

/// One direction of a connection's modelled cipher.
#[derive(Clone, Debug)]
pub struct Cipher {
    version: TlsVersion,
    stream: ChaCha8Rng,
    sequence: u64,
}

impl Cipher {
    /// The cipher for one direction, keyed by both randoms (public: this is not secure).
    pub fn new(
        version: TlsVersion,
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        client_to_server: bool,
    ) -> Self {
        let mut seed_text = client_random.to_vec();
        seed_text.extend_from_slice(server_random);
        seed_text.push(u8::from(client_to_server));
        Cipher {
            version,
            stream: ChaCha8Rng::seed_from_u64(fnv1a64(&seed_text)),
            sequence: 0,
        }
    }

    fn xor(&mut self, data: &mut [u8]) {
        for chunk in data.chunks_mut(8) {
            let k = self.stream.next_u64().to_le_bytes();
            for (b, k) in chunk.iter_mut().zip(k) {
                *b ^= k;
            }
        }
    }

    fn tag(&mut self) -> [u8; TAG] {
        let mut t = [0u8; TAG];
        self.xor(&mut t);
        t
    }

    /// Protects plaintext of `content_type` into records (TLS 1.3 hides the type inside).
    pub fn seal(&mut self, content_type: u8, plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let chunks: Vec<&[u8]> = if plaintext.is_empty() {
            vec![&[]]
        } else {
            plaintext.chunks(MAX_FRAGMENT).collect()
        };
        for chunk in chunks {
            let mut payload = Vec::with_capacity(chunk.len() + TAG + 9);
            let outer = match self.version {
                TlsVersion::Tls13 => {
                    let mut inner = chunk.to_vec();
                    inner.push(content_type);
                    self.xor(&mut inner);
                    payload.extend_from_slice(&inner);
                    APPLICATION_DATA
                }
                TlsVersion::Tls12 => {
                    // AES-GCM's explicit nonce: the record sequence number.
                    payload.extend_from_slice(&self.sequence.to_be_bytes());
                    let mut data = chunk.to_vec();
                    self.xor(&mut data);
                    payload.extend_from_slice(&data);
                    content_type
                }
            };
            payload.extend_from_slice(&self.tag());
            self.sequence += 1;
            out.extend(record(outer, &payload));
        }
        out
    }

    /// Recovers the plaintext of a protected record's payload (the tag is not checked:
    /// nothing here is secret). `None` when the payload is too short to be protected.
    pub fn open(&mut self, payload: &[u8]) -> Option<Vec<u8>> {
        let body = match self.version {
            TlsVersion::Tls13 => payload.get(..payload.len().checked_sub(TAG)?)?,
            TlsVersion::Tls12 => payload.get(8..payload.len().checked_sub(TAG)?)?,
        };
        let mut data = body.to_vec();
        self.xor(&mut data);
        let _ = self.tag();
        self.sequence += 1;
        if self.version == TlsVersion::Tls13 {
            data.pop(); // the inner content type
        }
        Some(data)
    }
}

/// Deterministic "random" bytes for hellos and keys, from a stream.
pub fn fill(stream: &mut ChaCha8Rng, out: &mut [u8]) {
    for chunk in out.chunks_mut(8) {
        let k = stream.next_u64().to_le_bytes();
        chunk.copy_from_slice(&k[..chunk.len()]);
    }
}

/// A fresh stream for a connection's handshake values.
pub fn stream(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// The server's side of one connection's handshake.
#[derive(Debug)]
pub struct ServerSession {
    version: TlsVersion,
    phase: ServerPhase,
    seed: u64,
    client_random: [u8; 32],
    server_random: [u8; 32],
    /// Decrypts what the client sends, once established.
    pub rx: Option<Cipher>,
    /// Encrypts what the server sends, once established.
    pub tx: Option<Cipher>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServerPhase {
    AwaitHello,
    /// The ClientHello arrived; the flight is owed once the CPU has done the handshake.
    HelloReceived,
    /// TLS 1.2 only: the ClientKeyExchange comes first, in the clear.
    AwaitClientKeyExchange,
    AwaitClientFinished,
    Established,
}

/// What feeding bytes to a TLS session produced.
#[derive(Debug, Default)]
pub struct Fed {
    /// Application plaintext received.
    pub plaintext: Vec<u8>,
    /// The client's hello arrived: the server owes its flight (after the handshake CPU).
    pub hello: bool,
    /// The handshake just completed.
    pub established: bool,
    /// Bytes to send now.
    pub send: Vec<u8>,
}

impl ServerSession {
    /// A session for one connection; `seed` makes its random values.
    pub fn new(version: TlsVersion, seed: u64) -> Self {
        ServerSession {
            version,
            phase: ServerPhase::AwaitHello,
            seed,
            client_random: [0; 32],
            server_random: [0; 32],
            rx: None,
            tx: None,
        }
    }

    /// Whether application data may flow.
    pub fn established(&self) -> bool {
        self.phase == ServerPhase::Established
    }

    /// Consumes whole records from `buf`.
    pub fn feed(&mut self, buf: &mut Vec<u8>) -> Result<Fed, TlsError> {
        let mut fed = Fed::default();
        let mut used_total = 0;
        while let Some((ct, payload, used)) = read_record(&buf[used_total..])? {
            let payload = payload.to_vec();
            used_total += used;
            match (self.phase, ct) {
                (ServerPhase::AwaitHello, HANDSHAKE) => {
                    // random is at offset 4 (type, length) + 2 (version).
                    let random = payload.get(6..38).ok_or(TlsError::Unexpected)?;
                    self.client_random.copy_from_slice(random);
                    self.phase = ServerPhase::HelloReceived;
                    fed.hello = true;
                }
                (ServerPhase::AwaitClientKeyExchange, HANDSHAKE) => {
                    self.phase = ServerPhase::AwaitClientFinished;
                }
                (ServerPhase::AwaitClientFinished, CHANGE_CIPHER_SPEC) => {}
                (ServerPhase::AwaitClientFinished, HANDSHAKE)
                    if self.version == TlsVersion::Tls12 =>
                {
                    // The encrypted Finished, after the CCS.
                    let _ = self.rx.as_mut().and_then(|c| c.open(&payload));
                    let mut flight = record(CHANGE_CIPHER_SPEC, &[1]);
                    let finished = self
                        .tx
                        .as_mut()
                        .expect("keys are set")
                        .seal(HANDSHAKE, &[0u8; 16]);
                    flight.extend(finished);
                    fed.send.extend(flight);
                    self.phase = ServerPhase::Established;
                    fed.established = true;
                }
                (ServerPhase::AwaitClientFinished, APPLICATION_DATA)
                    if self.version == TlsVersion::Tls13 =>
                {
                    // The client's encrypted Finished.
                    let _ = self.rx.as_mut().and_then(|c| c.open(&payload));
                    self.phase = ServerPhase::Established;
                    fed.established = true;
                }
                (ServerPhase::Established, APPLICATION_DATA) => {
                    let plain = self
                        .rx
                        .as_mut()
                        .expect("keys are set")
                        .open(&payload)
                        .ok_or(TlsError::Unexpected)?;
                    fed.plaintext.extend(plain);
                }
                _ => return Err(TlsError::Unexpected),
            }
        }
        buf.drain(..used_total);
        Ok(fed)
    }

    /// The server's flight after the ClientHello (sent once the handshake CPU is spent).
    pub fn flight(&mut self) -> Vec<u8> {
        let mut rng = stream(self.seed);
        fill(&mut rng, &mut self.server_random);
        let mut session = [0u8; 32];
        fill(&mut rng, &mut session);
        let mut key = [0u8; 32];
        fill(&mut rng, &mut key);
        self.rx = Some(Cipher::new(
            self.version,
            &self.client_random,
            &self.server_random,
            true,
        ));
        self.tx = Some(Cipher::new(
            self.version,
            &self.client_random,
            &self.server_random,
            false,
        ));
        self.phase = match self.version {
            TlsVersion::Tls13 => ServerPhase::AwaitClientFinished,
            TlsVersion::Tls12 => ServerPhase::AwaitClientKeyExchange,
        };
        let mut out = record(
            HANDSHAKE,
            &server_hello(self.version, &self.server_random, &session, &key),
        );
        match self.version {
            TlsVersion::Tls13 => {
                out.extend(record(CHANGE_CIPHER_SPEC, &[1]));
                let tx = self.tx.as_mut().expect("just set");
                // EncryptedExtensions, Certificate (with its chain), CertificateVerify, Finished.
                for size in [10, CERTIFICATE.len() + 13, 79, 36] {
                    let filler = vec![0u8; size];
                    out.extend(tx.seal(HANDSHAKE, &filler));
                }
            }
            TlsVersion::Tls12 => {
                out.extend(record(HANDSHAKE, &certificate()));
                let mut point = [0u8; 64];
                fill(&mut rng, &mut point);
                let mut signature = [0u8; 70];
                fill(&mut rng, &mut signature);
                out.extend(record(HANDSHAKE, &server_key_exchange(&point, &signature)));
                out.extend(record(HANDSHAKE, &server_hello_done()));
            }
        }
        out
    }

    /// Protects response bytes.
    pub fn seal(&mut self, plaintext: &[u8]) -> Vec<u8> {
        self.tx
            .as_mut()
            .expect("established")
            .seal(APPLICATION_DATA, plaintext)
    }
}

/// The client's side of one connection's handshake.
#[derive(Debug)]
pub struct ClientSession {
    phase: ClientPhase,
    random: [u8; 32],
    version: Option<TlsVersion>,
    server_random: [u8; 32],
    encrypted_seen: u32,
    seed: u64,
    rx: Option<Cipher>,
    tx: Option<Cipher>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientPhase {
    AwaitServerHello,
    AwaitServerFlight,
    AwaitServerFinished,
    Established,
}

impl ClientSession {
    /// A session and its ClientHello record.
    pub fn start(seed: u64) -> (Self, Vec<u8>) {
        let mut rng = stream(seed);
        let mut random = [0u8; 32];
        fill(&mut rng, &mut random);
        let mut session = [0u8; 32];
        fill(&mut rng, &mut session);
        let mut key = [0u8; 32];
        fill(&mut rng, &mut key);
        let hello = record(HANDSHAKE, &client_hello(&random, &session, &key));
        (
            ClientSession {
                phase: ClientPhase::AwaitServerHello,
                random,
                version: None,
                server_random: [0; 32],
                encrypted_seen: 0,
                seed,
                rx: None,
                tx: None,
            },
            hello,
        )
    }

    /// Whether application data may flow.
    pub fn established(&self) -> bool {
        self.phase == ClientPhase::Established
    }

    /// Consumes whole records from `buf`.
    pub fn feed(&mut self, buf: &mut Vec<u8>) -> Result<Fed, TlsError> {
        let mut fed = Fed::default();
        let mut used_total = 0;
        while let Some((ct, payload, used)) = read_record(&buf[used_total..])? {
            let payload = payload.to_vec();
            used_total += used;
            match (self.phase, ct) {
                (ClientPhase::AwaitServerHello, HANDSHAKE) => {
                    let random = payload.get(6..38).ok_or(TlsError::Unexpected)?;
                    self.server_random.copy_from_slice(random);
                    // Cipher suite after the session id: 0x1301 means TLS 1.3.
                    let version = if payload.get(71..73) == Some(&[0x13, 0x01]) {
                        TlsVersion::Tls13
                    } else {
                        TlsVersion::Tls12
                    };
                    self.version = Some(version);
                    self.rx = Some(Cipher::new(
                        version,
                        &self.random,
                        &self.server_random,
                        false,
                    ));
                    self.tx = Some(Cipher::new(
                        version,
                        &self.random,
                        &self.server_random,
                        true,
                    ));
                    self.phase = ClientPhase::AwaitServerFlight;
                }
                (ClientPhase::AwaitServerFlight, CHANGE_CIPHER_SPEC) => {}
                (ClientPhase::AwaitServerFlight, APPLICATION_DATA)
                    if self.version == Some(TlsVersion::Tls13) =>
                {
                    let _ = self.rx.as_mut().expect("keys are set").open(&payload);
                    self.encrypted_seen += 1;
                    if self.encrypted_seen == 4 {
                        // The server's Finished: answer with CCS and our Finished.
                        let mut out = record(CHANGE_CIPHER_SPEC, &[1]);
                        out.extend(
                            self.tx
                                .as_mut()
                                .expect("keys are set")
                                .seal(HANDSHAKE, &[0u8; 36]),
                        );
                        fed.send.extend(out);
                        self.phase = ClientPhase::Established;
                        fed.established = true;
                    }
                }
                (ClientPhase::AwaitServerFlight, HANDSHAKE)
                    if self.version == Some(TlsVersion::Tls12) =>
                {
                    if payload.first() == Some(&14) {
                        // ServerHelloDone: ClientKeyExchange, CCS, Finished.
                        let mut rng = stream(self.seed ^ 0x5555);
                        let mut point = [0u8; 64];
                        fill(&mut rng, &mut point);
                        let mut out = record(HANDSHAKE, &client_key_exchange(&point));
                        out.extend(record(CHANGE_CIPHER_SPEC, &[1]));
                        out.extend(
                            self.tx
                                .as_mut()
                                .expect("keys are set")
                                .seal(HANDSHAKE, &[0u8; 16]),
                        );
                        fed.send.extend(out);
                        self.phase = ClientPhase::AwaitServerFinished;
                    }
                }
                (ClientPhase::AwaitServerFinished, CHANGE_CIPHER_SPEC) => {}
                (ClientPhase::AwaitServerFinished, HANDSHAKE) => {
                    let _ = self.rx.as_mut().expect("keys are set").open(&payload);
                    self.phase = ClientPhase::Established;
                    fed.established = true;
                }
                (ClientPhase::Established, APPLICATION_DATA) => {
                    let plain = self
                        .rx
                        .as_mut()
                        .expect("keys are set")
                        .open(&payload)
                        .ok_or(TlsError::Unexpected)?;
                    fed.plaintext.extend(plain);
                }
                _ => return Err(TlsError::Unexpected),
            }
        }
        buf.drain(..used_total);
        Ok(fed)
    }

    /// Protects request bytes.
    pub fn seal(&mut self, plaintext: &[u8]) -> Vec<u8> {
        self.tx
            .as_mut()
            .expect("established")
            .seal(APPLICATION_DATA, plaintext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a handshake between the two sides, returning both once established and the number
    /// of client→server flights it took.
    fn handshake(version: TlsVersion) -> (ClientSession, ServerSession, u32) {
        let (mut client, hello) = ClientSession::start(1);
        let mut server = ServerSession::new(version, 2);
        let mut to_server = hello;
        let mut flights = 1;
        loop {
            let fed = server.feed(&mut to_server).unwrap();
            let mut to_client = fed.send;
            if fed.hello {
                to_client.extend(server.flight());
            }
            if server.established() && client.established() {
                return (client, server, flights);
            }
            let fed = client.feed(&mut to_client).unwrap();
            assert!(to_client.is_empty(), "the client consumed whole records");
            if fed.send.is_empty() {
                assert!(client.established());
                return (client, server, flights);
            }
            to_server = fed.send;
            flights += 1;
        }
    }

    #[test]
    fn tls13_takes_one_round_trip_and_tls12_two() {
        // TLS 1.3: after one round trip (the server's flight) the client may send data.
        let (mut client, hello) = ClientSession::start(1);
        let mut server = ServerSession::new(TlsVersion::Tls13, 2);
        let mut to_server = hello;
        assert!(server.feed(&mut to_server).unwrap().hello);
        let mut flight = server.flight();
        let fed = client.feed(&mut flight).unwrap();
        assert!(fed.established && client.established(), "1 RTT");
        let mut finished = fed.send;
        assert!(server.feed(&mut finished).unwrap().established);

        // TLS 1.2: after the first round trip the client must still wait for the server's
        // Finished: a second round trip.
        let (mut client, hello) = ClientSession::start(3);
        let mut server = ServerSession::new(TlsVersion::Tls12, 4);
        let mut to_server = hello;
        assert!(server.feed(&mut to_server).unwrap().hello);
        let mut flight = server.flight();
        let fed = client.feed(&mut flight).unwrap();
        assert!(!fed.established && !client.established(), "not after 1 RTT");
        let mut second = fed.send;
        let fed = server.feed(&mut second).unwrap();
        assert!(fed.established);
        let mut server_finished = fed.send;
        assert!(
            client.feed(&mut server_finished).unwrap().established,
            "after 2 RTT"
        );
    }

    #[test]
    fn application_data_round_trips_and_is_opaque_on_the_wire() {
        for version in [TlsVersion::Tls13, TlsVersion::Tls12] {
            let (mut client, mut server, _) = handshake(version);
            let request = b"GET / HTTP/1.1\r\nHost: shop\r\n\r\n".repeat(600); // > one record
            let mut wire = client.seal(&request);
            assert!(!wire.windows(4).any(|w| w == b"GET "), "opaque");
            assert_eq!(wire[0], APPLICATION_DATA);
            let fed = server.feed(&mut wire).unwrap();
            assert_eq!(fed.plaintext, request);
            let mut back = server.seal(b"HTTP/1.1 200 OK\r\n\r\n");
            let fed = client.feed(&mut back).unwrap();
            assert_eq!(fed.plaintext, b"HTTP/1.1 200 OK\r\n\r\n");
        }
    }

    #[test]
    fn records_frame_and_partial_records_wait() {
        let r = record(HANDSHAKE, &[1, 2, 3]);
        assert_eq!(r, [22, 3, 3, 0, 3, 1, 2, 3]);
        assert_eq!(read_record(&r[..7]), Ok(None));
        assert_eq!(read_record(&r), Ok(Some((22, &[1u8, 2, 3][..], 8))));
        assert_eq!(read_record(b"GET / HTTP/1.1\r\n"), Err(TlsError::NotTls));
    }

    #[test]
    fn hello_lengths_are_consistent() {
        let hello = client_hello(&[7; 32], &[8; 32], &[9; 32]);
        assert_eq!(hello[0], 1);
        let len = u32::from_be_bytes([0, hello[1], hello[2], hello[3]]) as usize;
        assert_eq!(len + 4, hello.len());
        let cert = certificate();
        assert_eq!(cert[0], 11);
        assert_eq!(
            u32::from_be_bytes([0, cert[1], cert[2], cert[3]]) as usize + 4,
            cert.len()
        );
        assert_eq!(CERTIFICATE[0], 0x30, "DER SEQUENCE");
    }
}
