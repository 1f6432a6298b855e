//! Client and server in one thread, datagrams handed across directly.
#![allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time

use std::sync::Arc;
use std::time::{Duration, Instant};

use tern_crypto::cert::Certificate;
use tern_crypto::SeededRandom;
use tern_dtls::{CipherSuite, Dtls, DtlsConfig, DtlsError, DtlsEvent, SrtpProfile};

struct Pair {
    client: Dtls,
    server: Dtls,
    now: Instant,
    client_events: Vec<DtlsEvent>,
    server_events: Vec<DtlsEvent>,
}

fn certs() -> (Arc<Certificate>, Arc<Certificate>) {
    let mut rng = SeededRandom::new(1);
    (
        Arc::new(Certificate::generate_self_signed(&mut rng).unwrap()),
        Arc::new(Certificate::generate_self_signed(&mut rng).unwrap()),
    )
}

impl Pair {
    fn new(client_cfg: DtlsConfig, server_cfg: DtlsConfig) -> Pair {
        let now = Instant::now();
        let cfp = client_cfg.certificate.fingerprint();
        let sfp = server_cfg.certificate.fingerprint();
        Pair {
            client: Dtls::new_client(client_cfg, Box::new(SeededRandom::new(2)), Some(sfp), now),
            server: Dtls::new_server(
                server_cfg,
                Box::new(SeededRandom::new(3)),
                Some(cfp),
                b"client-addr",
            ),
            now,
            client_events: Vec::new(),
            server_events: Vec::new(),
        }
    }

    /// Moves datagrams until both are quiet, advancing time to timers.
    fn run(&mut self, max_steps: usize) {
        for _ in 0..max_steps {
            let mut moved = false;
            while let Some(d) = self.client.poll_transmit() {
                self.server.handle_receive(self.now, &d);
                moved = true;
            }
            while let Some(d) = self.server.poll_transmit() {
                self.client.handle_receive(self.now, &d);
                moved = true;
            }
            while let Some(e) = self.client.poll_event() {
                self.client_events.push(e);
            }
            while let Some(e) = self.server.poll_event() {
                self.server_events.push(e);
            }
            if !moved {
                let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min();
                match next {
                    Some(t) => {
                        self.now = self.now.max(t);
                        self.client.handle_timeout(self.now);
                        self.server.handle_timeout(self.now);
                    }
                    None => return,
                }
            }
        }
    }
}

fn connected(events: &[DtlsEvent]) -> Option<(CipherSuite, Option<SrtpProfile>, Option<Vec<u8>>)> {
    events.iter().find_map(|e| match e {
        DtlsEvent::Connected {
            cipher_suite,
            srtp_profile,
            srtp_keying_material,
            ..
        } => Some((*cipher_suite, *srtp_profile, srtp_keying_material.clone())),
        _ => None,
    })
}

#[test]
fn every_suite_and_srtp_profile_handshakes_and_agrees_on_keys() {
    let (cc, sc) = certs();
    for suite in CipherSuite::ALL {
        for profile in SrtpProfile::ALL {
            let mut ccfg = DtlsConfig::new(cc.clone());
            ccfg.cipher_suites = vec![suite];
            ccfg.srtp_profiles = vec![profile];
            let scfg = DtlsConfig::new(sc.clone());
            let mut p = Pair::new(ccfg, scfg);
            p.run(100);
            let c = connected(&p.client_events)
                .unwrap_or_else(|| panic!("{suite:?}/{profile:?}: client {:?}", p.client_events));
            let s = connected(&p.server_events)
                .unwrap_or_else(|| panic!("{suite:?}/{profile:?}: server {:?}", p.server_events));
            assert_eq!(c.0, suite);
            assert_eq!(c.1, Some(profile));
            assert_eq!(c, s, "both sides derive the same SRTP keying material");
            assert_eq!(c.2.as_ref().unwrap().len(), profile.keying_material_len());
            assert_eq!(
                p.client
                    .export_keying_material(b"EXPORTER-test", 32)
                    .unwrap(),
                p.server
                    .export_keying_material(b"EXPORTER-test", 32)
                    .unwrap()
            );
            // Application data both ways.
            p.client.send_application_data(b"ping").unwrap();
            p.run(10);
            assert!(p
                .server_events
                .contains(&DtlsEvent::ApplicationData(b"ping".to_vec())));
            p.server.send_application_data(b"pong").unwrap();
            p.run(10);
            assert!(p
                .client_events
                .contains(&DtlsEvent::ApplicationData(b"pong".to_vec())));
        }
    }
}

#[test]
fn fingerprint_mismatch_fails_with_a_clear_error() {
    let (cc, sc) = certs();
    let now = Instant::now();
    let wrong = cc.fingerprint(); // the client expects its own fingerprint from the server
    let mut client = Dtls::new_client(
        DtlsConfig::new(cc.clone()),
        Box::new(SeededRandom::new(2)),
        Some(wrong),
        now,
    );
    let mut server = Dtls::new_server(
        DtlsConfig::new(sc.clone()),
        Box::new(SeededRandom::new(3)),
        Some(cc.fingerprint()),
        b"x",
    );
    client.handle_timeout(now);
    let mut events = Vec::new();
    for _ in 0..10 {
        while let Some(d) = client.poll_transmit() {
            server.handle_receive(now, &d);
        }
        while let Some(d) = server.poll_transmit() {
            client.handle_receive(now, &d);
        }
        while let Some(e) = client.poll_event() {
            events.push(e);
        }
    }
    match events.as_slice() {
        [DtlsEvent::Failed(DtlsError::BadCertificate(msg))] => {
            assert!(msg.contains("does not match"), "{msg}")
        }
        other => panic!("{other:?}"),
    }
    // The server hears a bad_certificate alert.
    let mut server_events = Vec::new();
    while let Some(e) = server.poll_event() {
        server_events.push(e);
    }
    assert!(
        server_events.contains(&DtlsEvent::Failed(DtlsError::PeerAlert(42))),
        "{server_events:?}"
    );
}

#[test]
fn fingerprint_given_late_is_checked_before_connected() {
    let (cc, sc) = certs();
    let now = Instant::now();
    let mut p = Pair::new(DtlsConfig::new(cc.clone()), DtlsConfig::new(sc.clone()));
    p.client = Dtls::new_client(
        DtlsConfig::new(cc.clone()),
        Box::new(SeededRandom::new(2)),
        None,
        now,
    );
    p.run(100);
    assert!(
        connected(&p.client_events).is_none(),
        "not connected before the fingerprint is known"
    );
    p.client.set_remote_fingerprint(sc.fingerprint());
    p.run(5);
    assert!(connected(&p.client_events).is_some());
}

#[test]
fn tampered_and_replayed_records_are_dropped_without_killing_the_connection() {
    let (cc, sc) = certs();
    let mut p = Pair::new(DtlsConfig::new(cc), DtlsConfig::new(sc));
    p.run(100);
    assert!(p.client.is_connected() && p.server.is_connected());
    p.client.send_application_data(b"hello").unwrap();
    let good = p.client.poll_transmit().unwrap();
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    p.server.handle_receive(p.now, &bad);
    assert_eq!(p.server.stats().bad_records, 1);
    p.server.handle_receive(p.now, &good);
    p.server.handle_receive(p.now, &good);
    // A record larger than 2^14 bytes is refused on both send paths.
    let big = vec![0u8; tern_dtls::MAX_PLAINTEXT + 1];
    assert_eq!(
        p.client.send_application_data(&big),
        Err(DtlsError::TooLarge(big.len()))
    );
    assert!(p
        .client
        .seal_application_data(&big, &mut Vec::new())
        .is_err());
    assert!(p
        .client
        .send_application_data(&big[..tern_dtls::MAX_PLAINTEXT])
        .is_ok());
    while p.client.poll_transmit().is_some() {}
    assert_eq!(p.server.stats().replayed_records, 1);
    let mut data = Vec::new();
    while let Some(e) = p.server.poll_event() {
        if let DtlsEvent::ApplicationData(d) = e {
            data.push(d);
        }
    }
    assert_eq!(
        data,
        vec![b"hello".to_vec()],
        "delivered once, despite tampering and replay"
    );
    assert!(p.server.is_connected());
}

#[test]
fn close_notify_closes_the_peer_cleanly() {
    let (cc, sc) = certs();
    let mut p = Pair::new(DtlsConfig::new(cc), DtlsConfig::new(sc));
    p.run(100);
    p.client.close();
    p.run(5);
    assert!(p.server_events.contains(&DtlsEvent::Closed));
    assert!(p.server.send_application_data(b"x").is_err());
}

#[test]
fn no_common_suite_is_a_handshake_failure() {
    let (cc, sc) = certs();
    let mut c = DtlsConfig::new(cc);
    c.cipher_suites = vec![CipherSuite::EcdheEcdsaChaCha20Poly1305Sha256];
    let mut s = DtlsConfig::new(sc);
    s.cipher_suites = vec![CipherSuite::EcdheEcdsaAes128GcmSha256];
    let mut p = Pair::new(c, s);
    p.run(100);
    assert!(
        matches!(
            p.server_events.first(),
            Some(DtlsEvent::Failed(DtlsError::HandshakeFailure(_)))
        ),
        "{:?}",
        p.server_events
    );
    assert!(
        p.client_events
            .contains(&DtlsEvent::Failed(DtlsError::PeerAlert(40))),
        "{:?}",
        p.client_events
    );
}

#[test]
fn small_mtu_fragments_and_reassembles() {
    let (cc, sc) = certs();
    let mut c = DtlsConfig::new(cc);
    c.mtu = 200;
    let mut s = DtlsConfig::new(sc);
    s.mtu = 200;
    let mut p = Pair::new(c, s);
    let mut max = 0;
    for _ in 0..200 {
        while let Some(d) = p.server.poll_transmit() {
            max = max.max(d.len());
            p.client.handle_receive(p.now, &d);
        }
        while let Some(d) = p.client.poll_transmit() {
            max = max.max(d.len());
            p.server.handle_receive(p.now, &d);
        }
        p.client.handle_timeout(p.now);
    }
    assert!(p.client.is_connected() && p.server.is_connected());
    assert!(max <= 200, "a datagram of {max} bytes exceeds the MTU");
    let _ = Duration::ZERO;
}

#[test]
fn a_client_hello_in_fragments_is_reassembled_with_and_without_cookies() {
    // Chromium's ClientHello (post-quantum key shares) does not fit one
    // record; a 100-byte MTU makes ours fragment the same way.
    for cookies in [false, true] {
        let (cc, sc) = certs();
        let mut c = DtlsConfig::new(cc);
        c.mtu = 100;
        let mut s = DtlsConfig::new(sc);
        s.use_cookies = cookies;
        let mut p = Pair::new(c, s);
        let mut hello_fragments = 0;
        for _ in 0..200 {
            while let Some(d) = p.server.poll_transmit() {
                p.client.handle_receive(p.now, &d);
            }
            while let Some(d) = p.client.poll_transmit() {
                // A handshake record carrying a ClientHello fragment.
                if d[0] == 22 && d[13] == 1 {
                    hello_fragments += 1;
                }
                p.server.handle_receive(p.now, &d);
            }
            p.client.handle_timeout(p.now);
        }
        assert!(hello_fragments >= 2, "the hello was not fragmented");
        assert!(
            p.client.is_connected() && p.server.is_connected(),
            "cookies {cookies}"
        );
    }
}
