//! The client's side of the handshake (RFC 6347 §4.2.4 flights 1, 3, 5).

use std::time::Instant;

use tern_crypto::ecdh::{EcdhPrivateKey, Group};

use crate::codec::{
    decode_certificate, encode_certificate, encode_client_key_exchange, handshake_type as ht,
    CertificateRequest, ClientHello, DigitallySigned, Extensions, HelloVerifyRequest, ServerHello,
    ServerKeyExchange, UseSrtp, DTLS1_2,
};
use crate::endpoint::{Dtls, State};
use crate::reassembly::Message;
use crate::suite::{CipherSuite, SrtpProfile, ECDSA_SECP256R1_SHA256};
use crate::DtlsError;

pub(crate) fn group_from_id(id: u16) -> Option<Group> {
    [Group::X25519, Group::P256]
        .into_iter()
        .find(|g| g.tls_id() == id)
}

impl Dtls {
    pub(crate) fn client_start(&mut self) -> Result<(), DtlsError> {
        self.client_random = self.random32();
        self.new_flight();
        let body = self.client_hello();
        self.queue_handshake(ht::CLIENT_HELLO, body);
        self.resend_flight();
        Ok(())
    }

    /// The groups we advertise: those configured for ECDHE, plus P-256, since
    /// supported_groups also names the curves we accept in the server's
    /// ECDSA certificate (RFC 8422 §5.1.1) and we only accept P-256 ones.
    pub(crate) fn advertised_groups(&self) -> Vec<Group> {
        let mut g = self.config.groups.clone();
        if !g.contains(&Group::P256) {
            g.push(Group::P256);
        }
        g
    }

    fn client_hello(&self) -> Vec<u8> {
        let c = &self.config;
        let ch = ClientHello {
            version: DTLS1_2,
            random: self.client_random,
            session_id: Vec::new(),
            cookie: self.cookie.clone(),
            cipher_suites: c.cipher_suites.iter().map(|s| s.id()).collect(),
            compression_methods: vec![0],
            extensions: Extensions {
                supported_groups: Some(
                    self.advertised_groups()
                        .iter()
                        .map(|g| g.tls_id())
                        .collect(),
                ),
                ec_point_formats: Some(vec![0]),
                signature_algorithms: Some(vec![ECDSA_SECP256R1_SHA256]),
                use_srtp: (!c.srtp_profiles.is_empty()).then(|| UseSrtp {
                    profiles: c.srtp_profiles.iter().map(|p| p.id()).collect(),
                    mki: Vec::new(),
                }),
                extended_master_secret: true,
                renegotiation_info: Some(Vec::new()),
                unknown: Vec::new(),
            },
        };
        let mut body = Vec::new();
        ch.encode(&mut body);
        body
    }

    pub(crate) fn client_on_message(
        &mut self,
        now: Instant,
        epoch: u16,
        m: Message,
    ) -> Result<(), DtlsError> {
        match (self.state, m.msg_type) {
            (State::ClientWaitHello, ht::HELLO_VERIFY_REQUEST) => {
                let hvr = HelloVerifyRequest::decode(&m.body)?;
                if hvr.cookie.is_empty() {
                    return Err(DtlsError::Decode("empty cookie"));
                }
                self.cookie = hvr.cookie;
                // RFC 6347 §4.2.1: the transcript starts again with the second ClientHello.
                self.transcript.clear();
                self.new_flight();
                let body = self.client_hello();
                self.queue_handshake(ht::CLIENT_HELLO, body);
                self.resend_flight();
                self.arm_timer(now, true);
                Ok(())
            }
            (State::ClientWaitHello, ht::SERVER_HELLO) => {
                let sh = ServerHello::decode(&m.body)?;
                if sh.version != DTLS1_2 {
                    return Err(DtlsError::HandshakeFailure(format!(
                        "server chose version {:#06x}, not DTLS 1.2",
                        sh.version
                    )));
                }
                let suite = CipherSuite::from_id(sh.cipher_suite)
                    .filter(|s| self.config.cipher_suites.contains(s))
                    .ok_or_else(|| {
                        DtlsError::HandshakeFailure(format!(
                            "server chose suite {:#06x} we did not offer",
                            sh.cipher_suite
                        ))
                    })?;
                if sh.compression_method != 0 {
                    return Err(DtlsError::HandshakeFailure("compression".into()));
                }
                if sh
                    .extensions
                    .renegotiation_info
                    .as_ref()
                    .is_some_and(|r| !r.is_empty())
                {
                    return Err(DtlsError::HandshakeFailure(
                        "renegotiation_info must be empty".into(),
                    ));
                }
                self.ems = sh.extensions.extended_master_secret;
                if self.config.require_extended_master_secret && !self.ems {
                    return Err(DtlsError::HandshakeFailure(
                        "server does not support extended_master_secret (RFC 7627)".into(),
                    ));
                }
                if let Some(u) = &sh.extensions.use_srtp {
                    let p = match u.profiles.as_slice() {
                        [one] => SrtpProfile::from_id(*one)
                            .filter(|p| self.config.srtp_profiles.contains(p)),
                        _ => None,
                    };
                    self.srtp = Some(p.ok_or_else(|| {
                        DtlsError::HandshakeFailure(
                            "server chose an SRTP profile we did not offer".into(),
                        )
                    })?);
                }
                self.suite = Some(suite);
                self.server_random = sh.random;
                self.add_to_transcript(ht::SERVER_HELLO, m.message_seq, &m.body);
                self.state = State::ClientWaitServerDone;
                Ok(())
            }
            (State::ClientWaitServerDone, ht::CERTIFICATE) if self.peer_cert.is_none() => {
                let certs = decode_certificate(&m.body)?;
                let leaf = certs.first().ok_or_else(|| {
                    DtlsError::BadCertificate("server sent no certificate".into())
                })?;
                self.check_peer_certificate(leaf)?;
                self.add_to_transcript(ht::CERTIFICATE, m.message_seq, &m.body);
                Ok(())
            }
            (State::ClientWaitServerDone, ht::SERVER_KEY_EXCHANGE)
                if self.peer_cert.is_some() && self.peer_ecdh_public.is_none() =>
            {
                let ske = ServerKeyExchange::decode(&m.body)?;
                let group = group_from_id(ske.group)
                    .filter(|g| self.advertised_groups().contains(g))
                    .ok_or_else(|| {
                        DtlsError::HandshakeFailure(format!(
                            "server chose group {} we did not offer",
                            ske.group
                        ))
                    })?;
                if ske.signature_scheme != ECDSA_SECP256R1_SHA256 {
                    return Err(DtlsError::HandshakeFailure(
                        "server signature is not ecdsa_secp256r1_sha256".into(),
                    ));
                }
                let params = ServerKeyExchange::params(ske.group, &ske.public);
                let mut signed = Vec::with_capacity(64 + params.len());
                signed.extend_from_slice(&self.client_random);
                signed.extend_from_slice(&self.server_random);
                signed.extend_from_slice(&params);
                self.verify_peer_signature(&signed, &ske.signature, "ServerKeyExchange signature")?;
                self.group = Some(group);
                self.peer_ecdh_public = Some(ske.public);
                self.add_to_transcript(ht::SERVER_KEY_EXCHANGE, m.message_seq, &m.body);
                Ok(())
            }
            (State::ClientWaitServerDone, ht::CERTIFICATE_REQUEST)
                if self.peer_ecdh_public.is_some() =>
            {
                let cr = CertificateRequest::decode(&m.body)?;
                if !cr.certificate_types.contains(&64)
                    || !cr.signature_schemes.contains(&ECDSA_SECP256R1_SHA256)
                {
                    return Err(DtlsError::HandshakeFailure(
                        "server does not accept ECDSA P-256 client certificates".into(),
                    ));
                }
                self.client_cert_requested = true;
                self.add_to_transcript(ht::CERTIFICATE_REQUEST, m.message_seq, &m.body);
                Ok(())
            }
            (State::ClientWaitServerDone, ht::SERVER_HELLO_DONE)
                if self.peer_ecdh_public.is_some() =>
            {
                if !m.body.is_empty() {
                    return Err(DtlsError::Decode("server_hello_done"));
                }
                self.add_to_transcript(ht::SERVER_HELLO_DONE, m.message_seq, &m.body);
                self.send_client_flight(now)
            }
            (State::ClientWaitFinished, ht::FINISHED) => {
                self.check_peer_finished(epoch, &m)?;
                self.complete_handshake();
                Ok(())
            }
            (_, t) => Err(DtlsError::UnexpectedMessage(message_name(t))),
        }
    }

    /// Flight 5: [Certificate], ClientKeyExchange, [CertificateVerify], CCS, Finished.
    fn send_client_flight(&mut self, now: Instant) -> Result<(), DtlsError> {
        self.new_flight();
        if self.client_cert_requested {
            let mut body = Vec::new();
            let der = self.config.certificate.der().to_vec();
            encode_certificate(&mut body, &[&der]);
            self.queue_handshake(ht::CERTIFICATE, body);
        }
        let group = self
            .group
            .ok_or(DtlsError::UnexpectedMessage("no key exchange"))?;
        let ecdh = EcdhPrivateKey::generate(group, self.rng.as_mut())?;
        let peer = self.peer_ecdh_public.clone().unwrap_or_default();
        let premaster = ecdh
            .agree(&peer)
            .map_err(|_| DtlsError::HandshakeFailure("server's ECDHE key is invalid".into()))?;
        let mut body = Vec::new();
        encode_client_key_exchange(&mut body, &ecdh.public_key()?);
        self.queue_handshake(ht::CLIENT_KEY_EXCHANGE, body);
        self.derive_keys(&premaster)?;
        if self.client_cert_requested {
            let sig = self
                .config
                .certificate
                .signing_key()
                .sign(&self.transcript)?;
            let mut body = Vec::new();
            DigitallySigned {
                signature_scheme: ECDSA_SECP256R1_SHA256,
                signature: sig,
            }
            .encode(&mut body);
            self.queue_handshake(ht::CERTIFICATE_VERIFY, body);
        }
        self.queue_change_cipher_spec();
        let vd = self.verify_data(true)?;
        self.queue_handshake(ht::FINISHED, vd.to_vec());
        self.resend_flight();
        self.arm_timer(now, true);
        self.state = State::ClientWaitFinished;
        Ok(())
    }
}

pub(crate) fn message_name(t: u8) -> &'static str {
    match t {
        ht::CLIENT_HELLO => "ClientHello",
        ht::SERVER_HELLO => "ServerHello",
        ht::HELLO_VERIFY_REQUEST => "HelloVerifyRequest",
        ht::CERTIFICATE => "Certificate",
        ht::SERVER_KEY_EXCHANGE => "ServerKeyExchange",
        ht::CERTIFICATE_REQUEST => "CertificateRequest",
        ht::SERVER_HELLO_DONE => "ServerHelloDone",
        ht::CERTIFICATE_VERIFY => "CertificateVerify",
        ht::CLIENT_KEY_EXCHANGE => "ClientKeyExchange",
        ht::FINISHED => "Finished",
        _ => "unknown handshake message",
    }
}
