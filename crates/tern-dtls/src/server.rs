//! The server's side of the handshake (flights 2, 4, 6), stateless until
//! the HelloVerifyRequest cookie comes back.

use std::time::Instant;

use tern_crypto::ecdh::EcdhPrivateKey;
use tern_crypto::hmac::HmacSha256Key;

use crate::client::message_name;
use crate::codec::{
    content_type, decode_certificate, decode_client_key_exchange, encode_certificate,
    handshake_type as ht, CertificateRequest, ClientHello, DigitallySigned, Extensions,
    HandshakeHeader, HelloVerifyRequest, RecordHeader, ServerHello, ServerKeyExchange, UseSrtp,
    DTLS1_0, DTLS1_2,
};
use crate::endpoint::{Dtls, State};
use crate::reassembly::{Message, Reassembler};
use crate::suite::{SrtpProfile, ECDSA_SECP256R1_SHA256};
use crate::DtlsError;

impl Dtls {
    fn cookie_for(&self, ch: &ClientHello) -> [u8; 20] {
        let key = HmacSha256Key::new(&self.cookie_secret);
        let suites: Vec<u8> = ch
            .cipher_suites
            .iter()
            .flat_map(|s| s.to_be_bytes())
            .collect();
        let mac = key.sign(&[&self.peer_identity, &ch.random, &ch.session_id, &suites]);
        let mut c = [0u8; 20];
        c.copy_from_slice(&mac[..20]);
        c
    }

    /// A ClientHello while no state exists. Anything malformed is dropped
    /// without a reply and without keeping anything.
    pub(crate) fn server_on_client_hello(
        &mut self,
        now: Instant,
        rec: &RecordHeader,
        hh: &HandshakeHeader,
        frag: &[u8],
    ) -> Result<(), DtlsError> {
        if hh.msg_type != ht::CLIENT_HELLO
            || hh.fragment_offset != 0
            || hh.fragment_length != hh.length
        {
            return Ok(());
        }
        let Ok(ch) = ClientHello::decode(frag) else {
            self.stats.malformed += 1;
            return Ok(());
        };
        if self.config.use_cookies {
            let expected = self.cookie_for(&ch);
            if !tern_crypto::constant_time_eq(&ch.cookie, &expected) {
                self.send_hello_verify_request(rec, hh, &expected);
                return Ok(());
            }
        }
        self.accept_client_hello(now, hh, frag, ch)
    }

    fn send_hello_verify_request(
        &mut self,
        rec: &RecordHeader,
        hh: &HandshakeHeader,
        cookie: &[u8],
    ) {
        let mut body = Vec::new();
        // RFC 6347 §4.2.1: version 1.0 here whatever is negotiated later.
        HelloVerifyRequest {
            version: DTLS1_0,
            cookie: cookie.to_vec(),
        }
        .encode(&mut body);
        let mut msg = Vec::new();
        HandshakeHeader {
            msg_type: ht::HELLO_VERIFY_REQUEST,
            length: body.len() as u32,
            message_seq: hh.message_seq,
            fragment_offset: 0,
            fragment_length: body.len() as u32,
        }
        .encode(&mut msg);
        msg.extend_from_slice(&body);
        let mut d = Vec::new();
        // The record sequence number mirrors the ClientHello's (RFC 6347 §4.2.1).
        RecordHeader {
            content_type: content_type::HANDSHAKE,
            version: DTLS1_2,
            epoch: 0,
            sequence: rec.sequence,
            length: msg.len() as u16,
        }
        .encode(&mut d);
        d.extend_from_slice(&msg);
        self.push_out(d);
        // Our later epoch-0 records must not reuse that number (the client's replay window).
        self.write_seq[0] = self.write_seq[0].max(rec.sequence + 1);
    }

    fn accept_client_hello(
        &mut self,
        now: Instant,
        hh: &HandshakeHeader,
        body: &[u8],
        ch: ClientHello,
    ) -> Result<(), DtlsError> {
        let c = &self.config;
        let suite = c
            .cipher_suites
            .iter()
            .copied()
            .find(|s| ch.cipher_suites.contains(&s.id()))
            .ok_or_else(|| {
                DtlsError::HandshakeFailure(
                    "no cipher suite in common (we need ECDHE-ECDSA with AES-GCM or ChaCha20)"
                        .into(),
                )
            })?;
        let client_groups = ch
            .extensions
            .supported_groups
            .clone()
            .unwrap_or_else(|| vec![23]);
        let group = c
            .groups
            .iter()
            .copied()
            .find(|g| client_groups.contains(&g.tls_id()))
            .ok_or_else(|| DtlsError::HandshakeFailure("no ECDHE group in common".into()))?;
        if let Some(algs) = &ch.extensions.signature_algorithms {
            if !algs.contains(&ECDSA_SECP256R1_SHA256) {
                return Err(DtlsError::HandshakeFailure(
                    "client does not accept ecdsa_secp256r1_sha256".into(),
                ));
            }
        }
        if !ch.compression_methods.contains(&0) {
            return Err(DtlsError::HandshakeFailure(
                "client offers no null compression".into(),
            ));
        }
        if ch
            .extensions
            .renegotiation_info
            .as_ref()
            .is_some_and(|r| !r.is_empty())
        {
            return Err(DtlsError::HandshakeFailure(
                "renegotiation is refused".into(),
            ));
        }
        let ems = ch.extensions.extended_master_secret;
        if c.require_extended_master_secret && !ems {
            return Err(DtlsError::HandshakeFailure(
                "client does not support extended_master_secret (RFC 7627)".into(),
            ));
        }
        let srtp: Option<SrtpProfile> = ch.extensions.use_srtp.as_ref().and_then(|u| {
            c.srtp_profiles
                .iter()
                .copied()
                .find(|p| u.profiles.contains(&p.id()))
        });
        let echo_point_formats = ch.extensions.ec_point_formats.is_some();
        let echo_reneg =
            ch.extensions.renegotiation_info.is_some() || ch.cipher_suites.contains(&0x00ff);

        self.suite = Some(suite);
        self.group = Some(group);
        self.ems = ems;
        self.srtp = srtp;
        self.client_random = ch.random;
        self.server_random = self.random32();
        self.reasm = Reassembler::new(
            hh.message_seq.wrapping_add(1),
            self.config.max_handshake_message,
        );
        self.send_seq = hh.message_seq;
        self.transcript.clear();
        self.add_to_transcript(ht::CLIENT_HELLO, hh.message_seq, body);
        self.new_flight();

        let sh = ServerHello {
            version: DTLS1_2,
            random: self.server_random,
            session_id: Vec::new(),
            cipher_suite: suite.id(),
            compression_method: 0,
            extensions: Extensions {
                ec_point_formats: echo_point_formats.then(|| vec![0]),
                use_srtp: srtp.map(|p| UseSrtp {
                    profiles: vec![p.id()],
                    mki: Vec::new(),
                }),
                extended_master_secret: ems,
                renegotiation_info: echo_reneg.then(Vec::new),
                ..Extensions::default()
            },
        };
        let mut b = Vec::new();
        sh.encode(&mut b);
        self.queue_handshake(ht::SERVER_HELLO, b);

        let mut b = Vec::new();
        let der = self.config.certificate.der().to_vec();
        encode_certificate(&mut b, &[&der]);
        self.queue_handshake(ht::CERTIFICATE, b);

        let ecdh = EcdhPrivateKey::generate(group, self.rng.as_mut())?;
        let public = ecdh.public_key()?;
        let params = ServerKeyExchange::params(group.tls_id(), &public);
        let mut signed = Vec::with_capacity(64 + params.len());
        signed.extend_from_slice(&self.client_random);
        signed.extend_from_slice(&self.server_random);
        signed.extend_from_slice(&params);
        let signature = self.config.certificate.signing_key().sign(&signed)?;
        let mut b = Vec::new();
        ServerKeyExchange {
            group: group.tls_id(),
            public,
            signature_scheme: ECDSA_SECP256R1_SHA256,
            signature,
        }
        .encode(&mut b);
        self.queue_handshake(ht::SERVER_KEY_EXCHANGE, b);
        self.ecdh = Some(ecdh);

        if self.config.require_client_certificate {
            let mut b = Vec::new();
            CertificateRequest {
                certificate_types: vec![64],
                signature_schemes: vec![ECDSA_SECP256R1_SHA256],
                authorities: Vec::new(),
            }
            .encode(&mut b);
            self.queue_handshake(ht::CERTIFICATE_REQUEST, b);
            self.client_cert_requested = true;
        }
        self.queue_handshake(ht::SERVER_HELLO_DONE, Vec::new());
        self.resend_flight();
        self.arm_timer(now, true);
        self.state = State::ServerWaitClientFlight;
        Ok(())
    }

    pub(crate) fn server_on_message(
        &mut self,
        now: Instant,
        epoch: u16,
        m: Message,
    ) -> Result<(), DtlsError> {
        match (self.state, m.msg_type) {
            (State::ServerWaitClientFlight, ht::CERTIFICATE)
                if self.client_cert_requested && self.peer_cert.is_none() =>
            {
                let certs = decode_certificate(&m.body)?;
                let Some(leaf) = certs.first() else {
                    return Err(DtlsError::HandshakeFailure(
                        "client sent no certificate (WebRTC requires one)".into(),
                    ));
                };
                self.check_peer_certificate(leaf)?;
                self.add_to_transcript(ht::CERTIFICATE, m.message_seq, &m.body);
                Ok(())
            }
            (State::ServerWaitClientFlight, ht::CLIENT_KEY_EXCHANGE)
                if self.master.is_none()
                    && (!self.client_cert_requested || self.peer_cert.is_some()) =>
            {
                let public = decode_client_key_exchange(&m.body)?;
                let ecdh = self
                    .ecdh
                    .take()
                    .ok_or(DtlsError::UnexpectedMessage("ClientKeyExchange"))?;
                let premaster = ecdh.agree(public).map_err(|_| {
                    DtlsError::HandshakeFailure("client's ECDHE key is invalid".into())
                })?;
                self.add_to_transcript(ht::CLIENT_KEY_EXCHANGE, m.message_seq, &m.body);
                self.derive_keys(&premaster)
            }
            (State::ServerWaitClientFlight, ht::CERTIFICATE_VERIFY)
                if self.master.is_some() && self.peer_cert.is_some() && !self.cert_verify_ok =>
            {
                let ds = DigitallySigned::decode(&m.body)?;
                if ds.signature_scheme != ECDSA_SECP256R1_SHA256 {
                    return Err(DtlsError::HandshakeFailure(
                        "client signature is not ecdsa_secp256r1_sha256".into(),
                    ));
                }
                self.verify_peer_signature(
                    &self.transcript,
                    &ds.signature,
                    "CertificateVerify signature",
                )?;
                self.cert_verify_ok = true;
                self.add_to_transcript(ht::CERTIFICATE_VERIFY, m.message_seq, &m.body);
                Ok(())
            }
            (State::ServerWaitClientFlight, ht::FINISHED)
                if self.master.is_some()
                    && (!self.client_cert_requested || self.cert_verify_ok) =>
            {
                self.check_peer_finished(epoch, &m)?;
                self.new_flight();
                self.queue_change_cipher_spec();
                let vd = self.verify_data(false)?;
                self.queue_handshake(ht::FINISHED, vd.to_vec());
                self.resend_flight();
                // Flight 6 is the last: no timer; it is resent when flight 5 comes again.
                self.arm_timer(now, false);
                self.complete_handshake();
                Ok(())
            }
            (_, t) => Err(DtlsError::UnexpectedMessage(message_name(t))),
        }
    }
}
