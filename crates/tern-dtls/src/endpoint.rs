//! The sans-IO DTLS endpoint: records in and out, flights, epochs, timers.
//! The handshake messages themselves are handled in `client.rs` and `server.rs`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tern_crypto::cert::Fingerprint;
use tern_crypto::ecdh::{EcdhPrivateKey, Group};
use tern_crypto::Random;

use crate::codec::{
    alert, content_type, records, Alert, HandshakeHeader, Reader, RecordHeader, DTLS1_2,
    HANDSHAKE_HEADER_LEN, RECORD_HEADER_LEN,
};
use crate::config::DtlsConfig;
use crate::keys::{prf, record_overhead, transcript_hash, RecordKeys};
use crate::reassembly::{Message, Reassembler};
use crate::replay::ReplayWindow;
use crate::suite::{CipherSuite, SrtpProfile};
use crate::DtlsError;

/// Which side of the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DtlsRole {
    /// Sends ClientHello (the SDP `a=setup:active` side).
    Client,
    /// Answers it (`a=setup:passive`).
    Server,
}

/// What a DTLS endpoint reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DtlsEvent {
    /// The handshake completed and the peer's certificate matched.
    Connected {
        /// Negotiated suite.
        cipher_suite: CipherSuite,
        /// Negotiated SRTP profile, if any.
        srtp_profile: Option<SrtpProfile>,
        /// SRTP keying material (RFC 5764 §4.2), when a profile was negotiated.
        srtp_keying_material: Option<Vec<u8>>,
        /// SHA-256 fingerprint of the peer's certificate.
        peer_fingerprint: Fingerprint,
    },
    /// Application data arrived.
    ApplicationData(Vec<u8>),
    /// The peer closed the connection (close_notify).
    Closed,
    /// The connection failed; nothing more will be sent or received.
    Failed(DtlsError),
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DtlsStats {
    /// Records that failed authentication (dropped, RFC 6347 §4.1.2.7).
    pub bad_records: u64,
    /// Records dropped as replays.
    pub replayed_records: u64,
    /// Datagrams or records that did not parse.
    pub malformed: u64,
    /// Flights retransmitted.
    pub retransmissions: u64,
    /// Datagrams sent.
    pub datagrams_sent: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    ClientStart,
    ClientWaitHello,
    ClientWaitServerDone,
    ClientWaitFinished,
    ServerWaitHello,
    ServerWaitClientFlight,
    Connected,
    Closed,
    Failed,
}

/// One item of a flight, kept so the flight can be sent again.
#[derive(Debug, Clone)]
pub(crate) enum FlightItem {
    Handshake {
        msg_type: u8,
        seq: u16,
        body: Vec<u8>,
        epoch: u16,
    },
    ChangeCipherSpec,
}

/// A sans-IO DTLS 1.2 endpoint for one peer.
pub struct Dtls {
    pub(crate) config: DtlsConfig,
    pub(crate) role: DtlsRole,
    pub(crate) rng: Box<dyn Random + Send>,
    pub(crate) state: State,
    pub(crate) expected_fingerprint: Option<Fingerprint>,
    pub(crate) peer_identity: Vec<u8>,
    pub(crate) cookie_secret: [u8; 32],
    pub(crate) client_random: [u8; 32],
    pub(crate) server_random: [u8; 32],
    pub(crate) transcript: Vec<u8>,
    pub(crate) reasm: Reassembler,
    /// A ClientHello that came in fragments, before the server keeps state.
    pub(crate) hello_reasm: Option<Reassembler>,
    pub(crate) send_seq: u16,
    pub(crate) suite: Option<CipherSuite>,
    pub(crate) srtp: Option<SrtpProfile>,
    pub(crate) ems: bool,
    pub(crate) ecdh: Option<EcdhPrivateKey>,
    pub(crate) group: Option<Group>,
    pub(crate) peer_ecdh_public: Option<Vec<u8>>,
    pub(crate) peer_cert: Option<Vec<u8>>,
    pub(crate) client_cert_requested: bool,
    pub(crate) cert_verify_ok: bool,
    pub(crate) master: Option<[u8; 48]>,
    pub(crate) cookie: Vec<u8>,
    pub(crate) keys: Option<RecordKeys>,
    pub(crate) write_epoch: u16,
    pub(crate) read_epoch: u16,
    pub(crate) write_seq: [u64; 2],
    pub(crate) replay: [ReplayWindow; 2],
    pub(crate) early_epoch1: Vec<Vec<u8>>,
    pub(crate) flight: Vec<FlightItem>,
    pub(crate) retransmit_at: Option<Instant>,
    pub(crate) rto: Duration,
    pub(crate) retransmits: u32,
    pub(crate) connected_pending: bool,
    pub(crate) out: VecDeque<Vec<u8>>,
    pub(crate) events: VecDeque<DtlsEvent>,
    pub(crate) stats: DtlsStats,
    pub(crate) created: Option<Instant>,
}

impl std::fmt::Debug for Dtls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dtls")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("read_epoch", &self.read_epoch)
            .field("write_epoch", &self.write_epoch)
            .field("next_seq", &self.reasm.next_seq())
            .field("master", &self.master.is_some())
            .field("peer_cert", &self.peer_cert.is_some())
            .field("cert_verify_ok", &self.cert_verify_ok)
            .field("early", &self.early_epoch1.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

const MAX_EARLY_RECORDS: usize = 16;
/// Largest record plaintext (RFC 5246 §6.2.1, kept by RFC 6347): 2^14 bytes.
pub const MAX_PLAINTEXT: usize = 16384;
const MAX_OUT_QUEUE: usize = 1024;

impl Dtls {
    /// A client, made at `now`. The handshake starts at the first
    /// [`handle_timeout`](Self::handle_timeout), which [`poll_timeout`](Self::poll_timeout)
    /// reports as due at once.
    /// `expected_fingerprint` is the peer's `a=fingerprint`; it may also be
    /// given later with [`set_remote_fingerprint`](Self::set_remote_fingerprint),
    /// but the connection is only reported once it has been checked.
    pub fn new_client(
        config: DtlsConfig,
        rng: Box<dyn Random + Send>,
        expected_fingerprint: Option<Fingerprint>,
        now: Instant,
    ) -> Self {
        let mut d = Self::new(
            config,
            rng,
            DtlsRole::Client,
            expected_fingerprint,
            Vec::new(),
        );
        d.created = Some(now);
        d
    }

    /// A server for one peer. `peer_identity` (the peer's transport address,
    /// say) is bound into the HelloVerifyRequest cookie.
    pub fn new_server(
        config: DtlsConfig,
        rng: Box<dyn Random + Send>,
        expected_fingerprint: Option<Fingerprint>,
        peer_identity: &[u8],
    ) -> Self {
        Self::new(
            config,
            rng,
            DtlsRole::Server,
            expected_fingerprint,
            peer_identity.to_vec(),
        )
    }

    fn new(
        config: DtlsConfig,
        mut rng: Box<dyn Random + Send>,
        role: DtlsRole,
        expected_fingerprint: Option<Fingerprint>,
        peer_identity: Vec<u8>,
    ) -> Self {
        let mut cookie_secret = [0u8; 32];
        rng.fill(&mut cookie_secret);
        let rto = config.initial_retransmit;
        let max = config.max_handshake_message;
        Dtls {
            config,
            role,
            rng,
            state: if role == DtlsRole::Client {
                State::ClientStart
            } else {
                State::ServerWaitHello
            },
            expected_fingerprint,
            peer_identity,
            cookie_secret,
            client_random: [0; 32],
            server_random: [0; 32],
            transcript: Vec::new(),
            reasm: Reassembler::new(0, max),
            hello_reasm: None,
            send_seq: 0,
            suite: None,
            srtp: None,
            ems: false,
            ecdh: None,
            group: None,
            peer_ecdh_public: None,
            peer_cert: None,
            client_cert_requested: false,
            cert_verify_ok: false,
            master: None,
            cookie: Vec::new(),
            keys: None,
            write_epoch: 0,
            read_epoch: 0,
            write_seq: [0; 2],
            replay: [ReplayWindow::default(), ReplayWindow::default()],
            early_epoch1: Vec::new(),
            flight: Vec::new(),
            retransmit_at: None,
            rto,
            retransmits: 0,
            connected_pending: false,
            out: VecDeque::new(),
            events: VecDeque::new(),
            stats: DtlsStats::default(),
            created: None,
        }
    }

    /// Our role.
    pub fn role(&self) -> DtlsRole {
        self.role
    }
    /// Whether the handshake has completed.
    pub fn is_connected(&self) -> bool {
        self.state == State::Connected && !self.connected_pending
    }
    /// Counters.
    pub fn stats(&self) -> DtlsStats {
        self.stats
    }
    /// The negotiated suite (after ServerHello).
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        self.suite
    }

    /// Whether the fingerprint to check the peer against is known.
    pub fn has_remote_fingerprint(&self) -> bool {
        self.expected_fingerprint.is_some()
    }

    /// The fingerprint of the certificate the peer presented, once received.
    pub fn peer_certificate_fingerprint(&self) -> Option<Fingerprint> {
        self.peer_cert.as_deref().map(Fingerprint::of_der)
    }

    /// Sets (or changes, before it was checked) the fingerprint the peer's
    /// certificate must have.
    pub fn set_remote_fingerprint(&mut self, fp: Fingerprint) {
        self.expected_fingerprint = Some(fp);
        if self.connected_pending {
            self.finish_connected();
        }
    }

    /// RFC 5705 exporter: `len` bytes for `label` (no context), after the handshake.
    pub fn export_keying_material(&self, label: &[u8], len: usize) -> Result<Vec<u8>, DtlsError> {
        let (Some(master), Some(suite), true) = (self.master, self.suite, self.is_connected())
        else {
            return Err(DtlsError::NotConnected);
        };
        let mut out = vec![0u8; len];
        prf(
            suite.prf_hash(),
            &master,
            label,
            &[&self.client_random, &self.server_random],
            &mut out,
        );
        Ok(out)
    }

    /// Sends application data in one record (one datagram).
    pub fn send_application_data(&mut self, data: &[u8]) -> Result<(), DtlsError> {
        if !self.is_connected() {
            return Err(DtlsError::NotConnected);
        }
        let mut d = Vec::with_capacity(RECORD_HEADER_LEN + 24 + data.len() + 16);
        self.write_record(&mut d, content_type::APPLICATION_DATA, data)?;
        self.push_out(d);
        Ok(())
    }

    /// Hot path: appends one application-data record carrying `data` to
    /// `out`, ready to send as a datagram. Allocates nothing when `out` has
    /// room (reuse one buffer per connection).
    pub fn seal_application_data(
        &mut self,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), DtlsError> {
        if !self.is_connected() {
            return Err(DtlsError::NotConnected);
        }
        self.seal_record(out, content_type::APPLICATION_DATA, data)
    }

    /// Hot path: if `datagram` is a single application-data record of the
    /// current epoch, authenticates and decrypts it in place and returns the
    /// plaintext's range within `datagram`, allocating nothing. Anything
    /// else (handshake, alerts, several records, a bad or replayed record)
    /// goes through [`handle_receive`](Self::handle_receive) and `None` is
    /// returned: then look at [`poll_event`](Self::poll_event).
    pub fn handle_receive_in_place(
        &mut self,
        now: Instant,
        datagram: &mut [u8],
    ) -> Option<std::ops::Range<usize>> {
        let fast = self.is_connected()
            && self.read_epoch == 1
            && datagram.len() > RECORD_HEADER_LEN
            && datagram[0] == content_type::APPLICATION_DATA
            && u16::from_be_bytes([datagram[3], datagram[4]]) == 1
            && usize::from(u16::from_be_bytes([datagram[11], datagram[12]]))
                == datagram.len() - RECORD_HEADER_LEN;
        if !fast {
            self.handle_receive(now, datagram);
            return None;
        }
        let Some(Ok((h, _))) = records(datagram).next() else {
            self.stats.malformed += 1;
            return None;
        };
        if !self.replay[1].check(h.sequence) {
            self.stats.replayed_records += 1;
            return None;
        }
        let keys = self.keys.as_ref()?;
        match keys.open(&h, &mut datagram[RECORD_HEADER_LEN..]) {
            Ok(r) => {
                self.replay[1].accept(h.sequence);
                Some(r.start + RECORD_HEADER_LEN..r.end + RECORD_HEADER_LEN)
            }
            Err(_) => {
                self.stats.bad_records += 1;
                None
            }
        }
    }

    /// Sends close_notify and closes.
    pub fn close(&mut self) {
        if matches!(self.state, State::Closed | State::Failed) {
            return;
        }
        let mut d = Vec::new();
        if self
            .write_record(&mut d, content_type::ALERT, &[1, alert::CLOSE_NOTIFY])
            .is_ok()
        {
            self.push_out(d);
        }
        self.state = State::Closed;
        self.retransmit_at = None;
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }
    /// The next event.
    pub fn poll_event(&mut self) -> Option<DtlsEvent> {
        self.events.pop_front()
    }
    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::ClientStart {
            return self.created; // due at once: the client sends its hello
        }
        self.retransmit_at
    }

    /// Timers: starts the client handshake, retransmits flights.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::ClientStart => {
                if let Err(e) = self.client_start() {
                    self.fail(e, None);
                } else {
                    self.state = State::ClientWaitHello;
                    self.arm_timer(now, true);
                }
            }
            State::Closed | State::Failed => {}
            _ => {
                if self.retransmit_at.is_some_and(|t| now >= t) {
                    if self.retransmits >= self.config.max_retransmits {
                        self.fail(DtlsError::Timeout, None);
                        return;
                    }
                    self.retransmits += 1;
                    self.stats.retransmissions += 1;
                    self.rto = (self.rto * 2).min(self.config.max_retransmit);
                    self.resend_flight();
                    self.retransmit_at = Some(now + self.rto);
                }
            }
        }
    }

    /// Handles one received datagram (one or more records).
    pub fn handle_receive(&mut self, now: Instant, datagram: &[u8]) {
        let mut parsed = Vec::new();
        for rec in records(datagram) {
            match rec {
                Ok((h, frag)) => parsed.push((h, frag.to_vec())),
                Err(_) => {
                    self.stats.malformed += 1;
                    break;
                }
            }
        }
        for (h, frag) in parsed {
            if matches!(self.state, State::Closed | State::Failed) {
                return;
            }
            self.handle_record(now, h, frag);
        }
    }

    fn handle_record(&mut self, now: Instant, h: RecordHeader, mut frag: Vec<u8>) {
        let epoch = usize::from(h.epoch);
        if epoch > 1 {
            self.stats.malformed += 1;
            return;
        }
        if h.epoch == 1 && self.read_epoch == 0 {
            // Reordered ahead of ChangeCipherSpec: hold a few until keys switch.
            if self.early_epoch1.len() < MAX_EARLY_RECORDS {
                let mut raw = Vec::with_capacity(RECORD_HEADER_LEN + frag.len());
                h.encode(&mut raw);
                raw.extend_from_slice(&frag);
                self.early_epoch1.push(raw);
            }
            return;
        }
        if h.epoch == 0
            && self.read_epoch == 1
            && h.content_type != content_type::HANDSHAKE
            && h.content_type != content_type::CHANGE_CIPHER_SPEC
        {
            return; // stale plaintext records after the switch
        }
        // Before the cookie checks out the server keeps no state, not even
        // sequence numbers: a restarted client begins at 0 again.
        let stateless = self.state == State::ServerWaitHello;
        if !stateless && !self.replay[epoch].check(h.sequence) {
            self.stats.replayed_records += 1;
            return;
        }
        let range = if h.epoch == 1 {
            let Some(keys) = &self.keys else { return };
            match keys.open(&h, &mut frag) {
                Ok(r) => r,
                Err(_) => {
                    self.stats.bad_records += 1;
                    return;
                }
            }
        } else {
            0..frag.len()
        };
        if !stateless {
            self.replay[epoch].accept(h.sequence);
        }
        let body = &frag[range];
        let result = match h.content_type {
            content_type::HANDSHAKE => self.on_handshake_record(now, &h, body),
            content_type::CHANGE_CIPHER_SPEC => self.on_change_cipher_spec(now, body),
            content_type::ALERT => {
                self.on_alert(body);
                Ok(())
            }
            content_type::APPLICATION_DATA => {
                if self.state == State::Connected && h.epoch == 1 && !self.connected_pending {
                    self.events
                        .push_back(DtlsEvent::ApplicationData(body.to_vec()));
                }
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            let alert_code = match &e {
                DtlsError::Decode(_) => alert::DECODE_ERROR,
                DtlsError::BadCertificate(_) => alert::BAD_CERTIFICATE,
                DtlsError::DecryptError(_) => alert::DECRYPT_ERROR,
                DtlsError::UnexpectedMessage(_) => alert::UNEXPECTED_MESSAGE,
                DtlsError::HandshakeFailure(_) => alert::HANDSHAKE_FAILURE,
                _ => alert::INTERNAL_ERROR,
            };
            self.fail(e, Some(alert_code));
        }
    }

    fn on_alert(&mut self, body: &[u8]) {
        let Ok(a) = Alert::decode(body) else {
            self.stats.malformed += 1;
            return;
        };
        if a.description == alert::CLOSE_NOTIFY {
            self.state = State::Closed;
            self.retransmit_at = None;
            self.events.push_back(DtlsEvent::Closed);
        } else if a.level == 2 {
            self.state = State::Failed;
            self.retransmit_at = None;
            self.events
                .push_back(DtlsEvent::Failed(DtlsError::PeerAlert(a.description)));
        }
    }

    fn on_change_cipher_spec(&mut self, now: Instant, body: &[u8]) -> Result<(), DtlsError> {
        if body != [1] {
            return Err(DtlsError::Decode("change_cipher_spec"));
        }
        if self.read_epoch == 1 {
            return Ok(()); // a retransmitted CCS
        }
        let ready = match self.state {
            State::ClientWaitFinished => true,
            State::ServerWaitClientFlight => {
                self.master.is_some() && (!self.client_cert_requested || self.peer_cert_verified())
            }
            _ => false,
        };
        if !ready || self.keys.is_none() {
            // Out of order (before the messages that give us keys): ignore; it will be retransmitted.
            return Ok(());
        }
        self.read_epoch = 1;
        for raw in std::mem::take(&mut self.early_epoch1) {
            self.handle_receive(now, &raw);
        }
        Ok(())
    }

    fn on_handshake_record(
        &mut self,
        now: Instant,
        h: &RecordHeader,
        body: &[u8],
    ) -> Result<(), DtlsError> {
        let mut r = Reader::new(body);
        while !r.is_empty() {
            let hh = HandshakeHeader::parse(&mut r)?;
            let frag = r.take(hh.fragment_length as usize, "handshake fragment")?;
            if self.state == State::ServerWaitHello {
                if hh.fragment_offset == 0 && hh.fragment_length == hh.length {
                    self.server_on_client_hello(now, h, &hh, frag)?;
                } else if hh.msg_type == crate::codec::handshake_type::CLIENT_HELLO {
                    self.on_client_hello_fragment(now, h, &hh, frag)?;
                }
                continue;
            }
            let retransmission = self.reasm.add(&hh, frag)?;
            if retransmission {
                self.on_peer_retransmission(now, &hh);
                continue;
            }
            while let Some(m) = self.reasm.pop() {
                self.on_message(now, h.epoch, m)?;
            }
        }
        Ok(())
    }

    /// A ClientHello larger than one record (Chromium's, with post-quantum
    /// key shares, is about 1.5 KB): put it together, then handle it whole.
    /// One partial hello is kept at most, bounded by the handshake size limit.
    fn on_client_hello_fragment(
        &mut self,
        now: Instant,
        h: &RecordHeader,
        hh: &HandshakeHeader,
        frag: &[u8],
    ) -> Result<(), DtlsError> {
        let max = self.config.max_handshake_message;
        let r = self
            .hello_reasm
            .get_or_insert_with(|| Reassembler::new(hh.message_seq, max));
        if r.next_seq() != hh.message_seq {
            *r = Reassembler::new(hh.message_seq, max);
        }
        if r.add(hh, frag).is_err() {
            self.stats.malformed += 1;
            self.hello_reasm = None;
            return Ok(());
        }
        let Some(m) = r.pop() else { return Ok(()) };
        self.hello_reasm = None;
        let whole = HandshakeHeader {
            msg_type: m.msg_type,
            length: m.body.len() as u32,
            message_seq: m.message_seq,
            fragment_offset: 0,
            fragment_length: m.body.len() as u32,
        };
        self.server_on_client_hello(now, h, &whole, &m.body)
    }

    /// The peer resent a flight we already have: our answer was lost; resend it.
    fn on_peer_retransmission(&mut self, now: Instant, hh: &HandshakeHeader) {
        let resend = match (self.role, self.state) {
            // Flight 5 again: our flight 6 (or 4, if 5 never completed) was lost.
            (DtlsRole::Server, State::Connected) => {
                hh.msg_type == crate::codec::handshake_type::FINISHED
            }
            (DtlsRole::Server, State::ServerWaitClientFlight) => {
                hh.msg_type == crate::codec::handshake_type::CLIENT_HELLO
            }
            (DtlsRole::Client, State::ClientWaitFinished) => {
                hh.msg_type == crate::codec::handshake_type::SERVER_HELLO_DONE
            }
            _ => false,
        };
        if resend && !self.flight.is_empty() {
            self.stats.retransmissions += 1;
            self.resend_flight();
            if self.state != State::Connected {
                self.retransmit_at = Some(now + self.rto);
            }
        }
    }

    fn on_message(&mut self, now: Instant, epoch: u16, m: Message) -> Result<(), DtlsError> {
        match self.role {
            DtlsRole::Client => self.client_on_message(now, epoch, m),
            DtlsRole::Server => self.server_on_message(now, epoch, m),
        }
    }

    // ---- shared handshake helpers -----------------------------------------

    /// Appends a complete message (unfragmented header) to the transcript.
    pub(crate) fn add_to_transcript(&mut self, msg_type: u8, seq: u16, body: &[u8]) {
        HandshakeHeader {
            msg_type,
            length: body.len() as u32,
            message_seq: seq,
            fragment_offset: 0,
            fragment_length: body.len() as u32,
        }
        .encode(&mut self.transcript);
        self.transcript.extend_from_slice(body);
    }

    /// Queues a handshake message in the current flight (and the transcript).
    pub(crate) fn queue_handshake(&mut self, msg_type: u8, body: Vec<u8>) {
        let seq = self.send_seq;
        self.send_seq = self.send_seq.wrapping_add(1);
        self.add_to_transcript(msg_type, seq, &body);
        let epoch = self.write_epoch;
        self.flight.push(FlightItem::Handshake {
            msg_type,
            seq,
            body,
            epoch,
        });
    }

    /// Queues ChangeCipherSpec; later messages go out in epoch 1.
    pub(crate) fn queue_change_cipher_spec(&mut self) {
        self.flight.push(FlightItem::ChangeCipherSpec);
        self.write_epoch = 1;
    }

    /// Starts a new flight (the previous one was acknowledged by the peer's answer).
    pub(crate) fn new_flight(&mut self) {
        self.flight.clear();
        self.retransmits = 0;
        self.rto = self.config.initial_retransmit;
    }

    pub(crate) fn arm_timer(&mut self, now: Instant, expect_answer: bool) {
        self.retransmit_at = expect_answer.then(|| now + self.rto);
    }

    /// Sends the current flight: fragments to the MTU, packs records into datagrams.
    pub(crate) fn resend_flight(&mut self) {
        let items = self.flight.clone();
        let mtu = self
            .config
            .mtu
            .max(RECORD_HEADER_LEN + HANDSHAKE_HEADER_LEN + 64);
        let mut datagram: Vec<u8> = Vec::new();

        for item in items {
            match item {
                FlightItem::ChangeCipherSpec => {
                    let mut rec = Vec::new();
                    self.write_plain_record(&mut rec, content_type::CHANGE_CIPHER_SPEC, 0, &[1]);
                    self.pack(&mut datagram, rec, mtu);
                }
                FlightItem::Handshake {
                    msg_type,
                    seq,
                    body,
                    epoch,
                } => {
                    let overhead = RECORD_HEADER_LEN
                        + HANDSHAKE_HEADER_LEN
                        + if epoch == 1 {
                            record_overhead(
                                self.suite.unwrap_or(CipherSuite::EcdheEcdsaAes128GcmSha256),
                            )
                        } else {
                            0
                        };
                    let room = mtu - overhead;
                    let mut off = 0;
                    loop {
                        let n = room.min(body.len() - off);
                        let mut msg = Vec::with_capacity(HANDSHAKE_HEADER_LEN + n);
                        HandshakeHeader {
                            msg_type,
                            length: body.len() as u32,
                            message_seq: seq,
                            fragment_offset: off as u32,
                            fragment_length: n as u32,
                        }
                        .encode(&mut msg);
                        msg.extend_from_slice(&body[off..off + n]);
                        let mut rec = Vec::new();
                        if epoch == 1 {
                            if self
                                .seal_record(&mut rec, content_type::HANDSHAKE, &msg)
                                .is_err()
                            {
                                return;
                            }
                        } else {
                            self.write_plain_record(&mut rec, content_type::HANDSHAKE, 0, &msg);
                        }
                        self.pack(&mut datagram, rec, mtu);
                        off += n;
                        if off >= body.len() {
                            break;
                        }
                    }
                }
            }
        }

        if !datagram.is_empty() {
            self.push_out(datagram);
        }
    }

    fn pack(&mut self, datagram: &mut Vec<u8>, rec: Vec<u8>, mtu: usize) {
        if !datagram.is_empty() && datagram.len() + rec.len() > mtu {
            let full = std::mem::take(datagram);
            self.push_out(full);
        }
        datagram.extend_from_slice(&rec);
    }

    pub(crate) fn push_out(&mut self, d: Vec<u8>) {
        if self.out.len() < MAX_OUT_QUEUE {
            self.stats.datagrams_sent += 1;
            self.out.push_back(d);
        }
    }

    fn write_plain_record(&mut self, out: &mut Vec<u8>, ct: u8, epoch: u16, body: &[u8]) {
        let seq = self.write_seq[usize::from(epoch)];
        self.write_seq[usize::from(epoch)] += 1;
        RecordHeader {
            content_type: ct,
            version: DTLS1_2,
            epoch,
            sequence: seq,
            length: body.len() as u16,
        }
        .encode(out);
        out.extend_from_slice(body);
    }

    fn seal_record(&mut self, out: &mut Vec<u8>, ct: u8, body: &[u8]) -> Result<(), DtlsError> {
        if body.len() > MAX_PLAINTEXT {
            return Err(DtlsError::TooLarge(body.len()));
        }
        let seq = self.write_seq[1];
        self.write_seq[1] += 1;
        let keys = self.keys.as_ref().ok_or(DtlsError::NotConnected)?;
        keys.seal(out, ct, 1, seq, body)
    }

    /// A record in the current write epoch.
    pub(crate) fn write_record(
        &mut self,
        out: &mut Vec<u8>,
        ct: u8,
        body: &[u8],
    ) -> Result<(), DtlsError> {
        if self.write_epoch == 1 {
            self.seal_record(out, ct, body)
        } else {
            self.write_plain_record(out, ct, 0, body);
            Ok(())
        }
    }

    /// Ends the connection with an error, telling the peer if `alert` is given.
    pub(crate) fn fail(&mut self, e: DtlsError, alert_code: Option<u8>) {
        if matches!(self.state, State::Failed | State::Closed) {
            return;
        }
        tracing::debug!(role = ?self.role, error = %e, "dtls failed");
        if let Some(code) = alert_code {
            let mut d = Vec::new();
            if self
                .write_record(&mut d, content_type::ALERT, &[2, code])
                .is_ok()
            {
                self.push_out(d);
            }
        }
        self.state = State::Failed;
        self.retransmit_at = None;
        self.events.push_back(DtlsEvent::Failed(e));
    }

    /// Derives the master secret and record keys from the premaster secret.
    pub(crate) fn derive_keys(&mut self, premaster: &[u8]) -> Result<(), DtlsError> {
        let suite = self
            .suite
            .ok_or(DtlsError::UnexpectedMessage("keys before ServerHello"))?;
        let mut master = [0u8; 48];
        if self.ems {
            // RFC 7627 §4: session_hash covers the transcript through ClientKeyExchange.
            let session_hash = transcript_hash(suite.prf_hash(), &self.transcript);
            prf(
                suite.prf_hash(),
                premaster,
                b"extended master secret",
                &[&session_hash],
                &mut master,
            );
        } else {
            prf(
                suite.prf_hash(),
                premaster,
                b"master secret",
                &[&self.client_random, &self.server_random],
                &mut master,
            );
        }
        self.keys = Some(RecordKeys::derive(
            suite,
            &master,
            &self.client_random,
            &self.server_random,
            self.role == DtlsRole::Client,
        )?);
        self.master = Some(master);
        Ok(())
    }

    /// Finished verify_data over the transcript so far (RFC 5246 §7.4.9).
    pub(crate) fn verify_data(&self, client: bool) -> Result<[u8; 12], DtlsError> {
        let (Some(suite), Some(master)) = (self.suite, self.master) else {
            return Err(DtlsError::UnexpectedMessage("Finished before keys"));
        };
        let label: &[u8] = if client {
            b"client finished"
        } else {
            b"server finished"
        };
        let h = transcript_hash(suite.prf_hash(), &self.transcript);
        let mut out = [0u8; 12];
        prf(suite.prf_hash(), &master, label, &[&h], &mut out);
        Ok(out)
    }

    /// Verifies the peer's Finished (in epoch 1) and adds it to the transcript.
    pub(crate) fn check_peer_finished(&mut self, epoch: u16, m: &Message) -> Result<(), DtlsError> {
        if epoch != 1 {
            return Err(DtlsError::UnexpectedMessage("Finished outside epoch 1"));
        }
        let peer_is_client = self.role == DtlsRole::Server;
        let expected = self.verify_data(peer_is_client)?;
        if !tern_crypto::constant_time_eq(&expected, &m.body) {
            return Err(DtlsError::DecryptError(if peer_is_client {
                "client Finished"
            } else {
                "server Finished"
            }));
        }
        self.add_to_transcript(
            crate::codec::handshake_type::FINISHED,
            m.message_seq,
            &m.body,
        );
        Ok(())
    }

    /// Verifies an ECDSA P-256/SHA-256 signature by the peer's certificate key.
    pub(crate) fn verify_peer_signature(
        &self,
        msg: &[u8],
        sig: &[u8],
        what: &'static str,
    ) -> Result<(), DtlsError> {
        let cert = self
            .peer_cert
            .as_deref()
            .ok_or(DtlsError::UnexpectedMessage(what))?;
        let key = tern_crypto::cert::p256_public_key_from_der(cert)
            .map_err(|e| DtlsError::BadCertificate(e.to_string()))?;
        tern_crypto::ecdsa::verify_p256_sha256(key, msg, sig)
            .map_err(|_| DtlsError::DecryptError(what))
    }

    /// Checks the peer certificate against the expected fingerprint, if known.
    pub(crate) fn check_peer_certificate(&mut self, der: &[u8]) -> Result<(), DtlsError> {
        let fp = Fingerprint::of_der(der);
        if let Some(expected) = self.expected_fingerprint {
            if expected != fp {
                return Err(DtlsError::BadCertificate(format!(
                    "certificate fingerprint {fp} does not match the signalled {expected}"
                )));
            }
        }
        self.peer_cert = Some(der.to_vec());
        Ok(())
    }

    fn peer_cert_verified(&self) -> bool {
        self.cert_verify_ok
    }

    /// The handshake is done; report it once the fingerprint is known to match.
    pub(crate) fn complete_handshake(&mut self) {
        self.state = State::Connected;
        if self.role == DtlsRole::Client {
            self.retransmit_at = None;
        }
        self.connected_pending = true;
        self.finish_connected();
    }

    pub(crate) fn finish_connected(&mut self) {
        let Some(cert) = &self.peer_cert else { return };
        let fp = Fingerprint::of_der(cert);
        match self.expected_fingerprint {
            None => return, // wait for set_remote_fingerprint
            Some(e) if e != fp => {
                let msg = format!("certificate fingerprint {fp} does not match the signalled {e}");
                self.connected_pending = false;
                self.fail(DtlsError::BadCertificate(msg), Some(alert::BAD_CERTIFICATE));
                return;
            }
            Some(_) => {}
        }
        self.connected_pending = false;
        let srtp_keying_material = self.srtp.and_then(|p| {
            self.export_keying_material(b"EXTRACTOR-dtls_srtp", p.keying_material_len())
                .ok()
        });
        let Some(cipher_suite) = self.suite else {
            return;
        };
        self.events.push_back(DtlsEvent::Connected {
            cipher_suite,
            srtp_profile: self.srtp,
            srtp_keying_material,
            peer_fingerprint: fp,
        });
    }

    pub(crate) fn random32(&mut self) -> [u8; 32] {
        let mut r = [0u8; 32];
        self.rng.fill(&mut r);
        r
    }
}
