//! DTLS handshakes over the simulated network: loss, reordering,
//! duplication, small MTU; and hostile input against a server.
#![allow(clippy::disallowed_methods)] // a few tests take an arbitrary origin for time

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tern_crypto::cert::Certificate;
use tern_crypto::{Random, SeededRandom};
use tern_dtls::{Dtls, DtlsConfig, DtlsEvent};
use tern_netsim::{Attachment, Datagram, Endpoint, LinkConfig, Network};

struct Peer {
    dtls: Dtls,
    local: SocketAddr,
    remote: SocketAddr,
    events: Vec<(Instant, DtlsEvent)>,
}

impl Endpoint for Peer {
    fn handle_receive(&mut self, now: Instant, _from: SocketAddr, _to: SocketAddr, data: &[u8]) {
        self.dtls.handle_receive(now, data);
        while let Some(e) = self.dtls.poll_event() {
            self.events.push((now, e));
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.dtls.handle_timeout(now);
        while let Some(e) = self.dtls.poll_event() {
            self.events.push((now, e));
        }
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<Datagram> {
        self.dtls.poll_transmit().map(|d| Datagram {
            source: Some(self.local),
            destination: self.remote,
            contents: d,
        })
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.dtls.poll_timeout()
    }
}

fn connected(p: &Peer) -> Option<Instant> {
    p.events
        .iter()
        .find_map(|(t, e)| matches!(e, DtlsEvent::Connected { .. }).then_some(*t))
}

fn setup(
    seed: u64,
    mtu: usize,
    link: LinkConfig,
) -> (Network, tern_netsim::HostId, tern_netsim::HostId) {
    let mut net = Network::new(seed);
    let mut rng = SeededRandom::new(seed);
    let cc = Arc::new(Certificate::generate_self_signed(&mut rng).unwrap());
    let sc = Arc::new(Certificate::generate_self_signed(&mut rng).unwrap());
    let a: SocketAddr = "203.0.113.1:5000".parse().unwrap();
    let b: SocketAddr = "203.0.113.2:5000".parse().unwrap();
    let mut ccfg = DtlsConfig::new(cc.clone());
    ccfg.mtu = mtu;
    let mut scfg = DtlsConfig::new(sc.clone());
    scfg.mtu = mtu;
    let now = net.now();
    let client = Dtls::new_client(
        ccfg,
        Box::new(SeededRandom::new(seed + 1)),
        Some(sc.fingerprint()),
        now,
    );
    let server = Dtls::new_server(
        scfg,
        Box::new(SeededRandom::new(seed + 2)),
        Some(cc.fingerprint()),
        a.to_string().as_bytes(),
    );
    let c = net.add_host(
        Peer {
            dtls: client,
            local: a,
            remote: b,
            events: Vec::new(),
        },
        &[a.ip()],
        Attachment::Internet,
        link,
    );
    let s = net.add_host(
        Peer {
            dtls: server,
            local: b,
            remote: a,
            events: Vec::new(),
        },
        &[b.ip()],
        Attachment::Internet,
        LinkConfig::with_latency(Duration::from_millis(10)),
    );
    (net, c, s)
}

#[test]
fn handshake_completes_under_30_percent_loss_reordering_duplication_and_mtu_576() {
    let link = LinkConfig {
        latency: Duration::from_millis(15),
        jitter: Duration::from_millis(5),
        loss: 0.3,
        reorder: 0.1,
        reorder_delay: Duration::from_millis(30),
        duplicate: 0.1,
        mtu: 576,
        ..LinkConfig::default()
    };
    let mut times = Vec::new();
    let mut retransmissions = 0;
    for seed in 0..20 {
        let (mut net, c, s) = setup(seed, 576, link.clone());
        let t0 = net.now();
        let ok = net.run_until(Duration::from_secs(120), |n| {
            connected(n.endpoint::<Peer>(c)).is_some() && connected(n.endpoint::<Peer>(s)).is_some()
        });
        assert!(
            ok,
            "seed {seed}: {:?} / {:?}",
            net.endpoint::<Peer>(c).events,
            net.endpoint::<Peer>(s).events
        );
        assert_eq!(
            net.stats().dropped_mtu,
            0,
            "no datagram above the MTU was sent"
        );
        let done = connected(net.endpoint::<Peer>(c))
            .unwrap()
            .max(connected(net.endpoint::<Peer>(s)).unwrap());
        times.push((done - t0).as_secs_f64());
        retransmissions += net.endpoint::<Peer>(c).dtls.stats().retransmissions
            + net.endpoint::<Peer>(s).dtls.stats().retransmissions;
        // Data flows afterwards, through the same lossy link (some may be lost: DTLS is unreliable).
        net.endpoint_mut::<Peer>(c)
            .dtls
            .send_application_data(b"after")
            .unwrap();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "30% loss, 10% reordering, 10% duplication, MTU 576, 50 ms RTT, 20 seeds: handshake median {:.2} s, max {:.2} s, {} retransmitted flights in all",
        times[10], times[19], retransmissions
    );
    assert!(retransmissions > 0);
}

#[test]
fn clean_handshake_takes_two_round_trips_after_the_cookie() {
    let (mut net, c, s) = setup(
        50,
        1200,
        LinkConfig::with_latency(Duration::from_millis(15)),
    );
    let t0 = net.now();
    assert!(
        net.run_until(Duration::from_secs(5), |n| connected(n.endpoint::<Peer>(c))
            .is_some()
            && connected(n.endpoint::<Peer>(s)).is_some())
    );
    let rtt = 0.050;
    let tc = (connected(net.endpoint::<Peer>(c)).unwrap() - t0).as_secs_f64() / rtt;
    println!("clean handshake at 50 ms RTT: client connected after {tc:.2} RTT (cookie exchange included)");
    assert!(tc < 3.1, "{tc}");
    assert_eq!(net.endpoint::<Peer>(c).dtls.stats().retransmissions, 0);
}

#[test]
fn client_hello_flood_keeps_the_server_stateless_and_garbage_never_panics() {
    let mut rng = SeededRandom::new(9);
    let sc = Arc::new(Certificate::generate_self_signed(&mut rng).unwrap());
    let cc = Arc::new(Certificate::generate_self_signed(&mut rng).unwrap());
    let mut server = Dtls::new_server(
        DtlsConfig::new(sc.clone()),
        Box::new(SeededRandom::new(1)),
        None,
        b"peer",
    );
    let now = Instant::now();
    // 10,000 ClientHellos from fresh clients: each gets a HelloVerifyRequest, none creates state.
    for i in 0..10_000u64 {
        let mut client = Dtls::new_client(
            DtlsConfig::new(cc.clone()),
            Box::new(SeededRandom::new(1000 + i)),
            None,
            now,
        );
        client.handle_timeout(now);
        let hello = client.poll_transmit().unwrap();
        server.handle_receive(now, &hello);
        let hvr = server.poll_transmit().expect("a HelloVerifyRequest");
        assert!(
            hvr.len() < 80,
            "the answer is small: no amplification ({} bytes)",
            hvr.len()
        );
    }
    assert_eq!(
        server.poll_timeout(),
        None,
        "no timer, no flight: still stateless"
    );
    // Garbage, truncations and random records.
    for len in 0..2000usize {
        let mut g = vec![0u8; len % 300];
        rng.fill(&mut g);
        if len % 3 == 0 && g.len() > 13 {
            g[0] = 22;
            g[1] = 0xfe;
            g[2] = 0xfd;
        }
        server.handle_receive(now, &g);
    }
    while server.poll_transmit().is_some() {}
    assert!(server.stats().malformed > 0);
    // Still able to serve a real client afterwards.
    let mut client = Dtls::new_client(
        DtlsConfig::new(cc.clone()),
        Box::new(SeededRandom::new(5)),
        Some(sc.fingerprint()),
        now,
    );
    server.set_remote_fingerprint(cc.fingerprint());
    client.handle_timeout(now);
    for _ in 0..20 {
        while let Some(d) = client.poll_transmit() {
            server.handle_receive(now, &d);
        }
        while let Some(d) = server.poll_transmit() {
            client.handle_receive(now, &d);
        }
    }
    assert!(client.is_connected() && server.is_connected());
}

#[test]
fn messages_in_the_wrong_state_fail_the_handshake_cleanly() {
    let mut rng = SeededRandom::new(10);
    let sc = Arc::new(Certificate::generate_self_signed(&mut rng).unwrap());
    let cc = Arc::new(Certificate::generate_self_signed(&mut rng).unwrap());
    let now = Instant::now();
    // A client that receives a ClientHello where it expects ServerHello.
    let mut client = Dtls::new_client(
        DtlsConfig::new(cc.clone()),
        Box::new(SeededRandom::new(1)),
        None,
        now,
    );
    let mut other = Dtls::new_client(
        DtlsConfig::new(sc.clone()),
        Box::new(SeededRandom::new(2)),
        None,
        now,
    );
    client.handle_timeout(now);
    other.handle_timeout(now);
    let hello = other.poll_transmit().unwrap();
    client.handle_receive(now, &hello);
    match client.poll_event() {
        Some(DtlsEvent::Failed(e)) => assert!(e.to_string().contains("unexpected"), "{e}"),
        other => panic!("{other:?}"),
    }
    // It told the peer with an alert.
    let _ = client.poll_transmit();
    assert!(client.poll_transmit().is_some());
}

#[test]
fn a_malformed_server_hello_fails_with_decode_error_and_an_alert() {
    use tern_dtls::codec::{content_type, HandshakeHeader, RecordHeader, DTLS1_2};
    use tern_dtls::DtlsError;
    let mut rng = SeededRandom::new(11);
    let cc = Arc::new(Certificate::generate_self_signed(&mut rng).unwrap());
    let now = Instant::now();
    let mut client = Dtls::new_client(
        DtlsConfig::new(cc),
        Box::new(SeededRandom::new(1)),
        None,
        now,
    );
    client.handle_timeout(now);
    let _hello = client.poll_transmit().unwrap();
    let body = [0xfe, 0xfd, 1, 2, 3]; // a ServerHello cut short
    let mut msg = Vec::new();
    HandshakeHeader {
        msg_type: 2,
        length: body.len() as u32,
        message_seq: 0,
        fragment_offset: 0,
        fragment_length: body.len() as u32,
    }
    .encode(&mut msg);
    msg.extend_from_slice(&body);
    let mut rec = Vec::new();
    RecordHeader {
        content_type: content_type::HANDSHAKE,
        version: DTLS1_2,
        epoch: 0,
        sequence: 0,
        length: msg.len() as u16,
    }
    .encode(&mut rec);
    rec.extend_from_slice(&msg);
    client.handle_receive(now, &rec);
    assert!(matches!(
        client.poll_event(),
        Some(DtlsEvent::Failed(DtlsError::Decode(_)))
    ));
    let alert = client.poll_transmit().expect("an alert");
    assert_eq!(&alert[alert.len() - 2..], &[2, 50], "fatal decode_error");
}
