//! Relayed candidates over the simulated network.
//!
//! With TURN: agents behind symmetric NATs (address-and-port-dependent
//! mapping and filtering) allocate on a `tern_turn::server::TurnServer` on
//! the simulated internet, connect over a relay pair and exchange
//! application data both ways; without TURN the same pair fails.
//!
//! Caller-owned relays: the agent also accepts a relayed candidate and
//! relayed transmits from its caller ([`IceAgent::add_relayed_candidate`]).
//! A minimal relay stands in for TURN there: the caller wraps datagrams
//! whose source is the relayed address as [destination | payload] to the
//! relay, which sends the payload from the relayed address; datagrams
//! reaching the relayed address come back as [source | payload].

mod sim;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use sim::*;
use tern_ice::IceConfig;
use tern_ice::{CandidateKind, IceAgent, IceConnectionState};
use tern_netsim::{Attachment, Datagram, Endpoint, LinkConfig};

const RELAY_SERVER: &str = "203.0.113.200:3478";
const RELAYED: &str = "203.0.113.200:7000";

fn encode(addr: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let IpAddr::V4(ip) = addr.ip() else {
        panic!("IPv4 only in this test relay")
    };
    let mut v = ip.octets().to_vec();
    v.extend_from_slice(&addr.port().to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn decode(data: &[u8]) -> (SocketAddr, &[u8]) {
    let ip = IpAddr::from([data[0], data[1], data[2], data[3]]);
    (
        SocketAddr::new(ip, u16::from_be_bytes([data[4], data[5]])),
        &data[6..],
    )
}

/// The relay server: one allocation, for one client.
struct Relay {
    client: Option<SocketAddr>,
    out: Vec<Datagram>,
}

impl Endpoint for Relay {
    fn handle_receive(&mut self, _now: Instant, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        if to == sa(RELAY_SERVER) {
            // From the client: send the payload on from the relayed address.
            self.client = Some(from);
            let (dest, payload) = decode(data);
            self.out.push(Datagram {
                source: Some(sa(RELAYED)),
                destination: dest,
                contents: payload.to_vec(),
            });
        } else if let Some(client) = self.client {
            // To the relayed address: hand it to the client with its source.
            self.out.push(Datagram {
                source: Some(sa(RELAY_SERVER)),
                destination: client,
                contents: encode(from, data),
            });
        }
    }
    fn handle_timeout(&mut self, _now: Instant) {}
    fn poll_transmit(&mut self, _now: Instant) -> Option<Datagram> {
        self.out.pop()
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        None
    }
}

/// A peer whose caller relays for its agent.
struct RelayingPeer {
    inner: Peer,
    host: SocketAddr,
}

impl Endpoint for RelayingPeer {
    fn handle_receive(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        if from == sa(RELAY_SERVER) {
            let (src, payload) = decode(data);
            self.inner.handle_receive(now, src, sa(RELAYED), payload);
        } else {
            self.inner.handle_receive(now, from, to, data);
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.inner.handle_timeout(now)
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Datagram> {
        let d = self.inner.poll_transmit(now)?;
        if d.source == Some(sa(RELAYED)) {
            return Some(Datagram {
                source: Some(self.host),
                destination: sa(RELAY_SERVER),
                contents: encode(d.destination, &d.contents),
            });
        }
        Some(d)
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.inner.poll_timeout()
    }
}

#[test]
fn symmetric_nats_connect_through_a_relayed_candidate() {
    let mut net = tern_netsim::Network::new(31);
    add_stun_server(&mut net);
    net.add_host(
        Relay {
            client: None,
            out: Vec::new(),
        },
        &[sa(RELAY_SERVER).ip()],
        Attachment::Internet,
        LinkConfig::default(),
    );
    let nat_a = net.add_nat(tern_netsim::NatConfig::symmetric(), ip("203.0.113.1"));
    let nat_b = net.add_nat(tern_netsim::NatConfig::symmetric(), ip("203.0.113.2"));
    let host_a = sa("192.0.2.10:5000");
    let host_b = sa("198.51.100.10:5000");
    let a = net.add_host(
        RelayingPeer {
            inner: Peer::new(config(true), 1),
            host: host_a,
        },
        &[host_a.ip()],
        Attachment::Behind(nat_a),
        LinkConfig::default(),
    );
    let b = net.add_host(
        Peer::new(config(false), 2),
        &[host_b.ip()],
        Attachment::Behind(nat_b),
        LinkConfig::default(),
    );
    let now = net.now();
    let ca = net
        .endpoint::<RelayingPeer>(a)
        .inner
        .agent
        .local_credentials()
        .clone();
    let cb = net.endpoint::<Peer>(b).agent.local_credentials().clone();
    {
        let pa = &mut net.endpoint_mut::<RelayingPeer>(a).inner;
        pa.agent.set_remote_credentials(now, cb);
        pa.agent.gather(now, &[host_a]);
        // The caller's TURN client allocated RELAYED; its server saw us at the NAT.
        pa.agent
            .add_relayed_candidate(now, sa(RELAYED), sa("203.0.113.1:40000"), sa(RELAY_SERVER));
    }
    {
        let pb = net.endpoint_mut::<Peer>(b);
        pb.agent.set_remote_credentials(now, ca);
        pb.agent.gather(now, &[host_b]);
    }
    fn inner(n: &tern_netsim::Network, a: tern_netsim::HostId) -> &IceAgent {
        &n.endpoint::<RelayingPeer>(a).inner.agent
    }
    let limit = net.now() + Duration::from_secs(30);
    loop {
        // Ferry signals both ways.
        let now = net.now();
        for s in std::mem::take(&mut net.endpoint_mut::<RelayingPeer>(a).inner.outbox) {
            let pb = net.endpoint_mut::<Peer>(b);
            match s {
                Signal::Candidate(c) => pb.agent.add_remote_candidate(now, c),
                Signal::EndOfCandidates => pb.agent.set_remote_end_of_candidates(now),
            }
        }
        for s in std::mem::take(&mut net.endpoint_mut::<Peer>(b).outbox) {
            let pa = &mut net.endpoint_mut::<RelayingPeer>(a).inner;
            match s {
                Signal::Candidate(c) => pa.agent.add_remote_candidate(now, c),
                Signal::EndOfCandidates => pa.agent.set_remote_end_of_candidates(now),
            }
        }
        if connected(inner(&net, a).connection_state())
            && connected(net.endpoint::<Peer>(b).state())
        {
            break;
        }
        assert!(
            net.now() < limit && net.step(limit),
            "did not connect through the relay"
        );
    }
    let (local, _) = inner(&net, a).selected_pair().unwrap();
    assert_eq!(local, sa(RELAYED), "the relayed candidate carries the data");
    assert!(inner(&net, a)
        .local_candidates()
        .any(|c| c.kind == CandidateKind::Relayed));
    let (_, remote_seen_by_b) = net.endpoint::<Peer>(b).agent.selected_pair().unwrap();
    assert_eq!(remote_seen_by_b, sa(RELAYED));
}

/// Runs two peers until both connect or both fail; true if they connected.
fn settle(net: &mut tern_netsim::Network, a: tern_netsim::HostId, b: tern_netsim::HostId) -> bool {
    let ended = run(net, a, b, Duration::from_secs(120), |n| {
        both(n, a, b, connected) || both(n, a, b, |s| s == IceConnectionState::Failed)
    });
    assert!(ended, "neither connected nor failed within 120 s");
    both(net, a, b, connected)
}

fn relayed_candidate(net: &tern_netsim::Network, h: tern_netsim::HostId) -> Option<SocketAddr> {
    net.endpoint::<Peer>(h)
        .agent
        .local_candidates()
        .find(|c| c.kind == CandidateKind::Relayed)
        .map(|c| c.address)
}

/// Sends numbered data both ways for `secs` and returns how many arrived
/// at (a, b), with the addresses they came from.
fn exchange_data(
    net: &mut tern_netsim::Network,
    a: tern_netsim::HostId,
    b: tern_netsim::HostId,
    secs: u64,
) -> (Vec<SocketAddr>, Vec<SocketAddr>) {
    net.enable_trace();
    let now = net.now();
    for h in [a, b] {
        let p = net.endpoint_mut::<Peer>(h);
        p.data_interval = Some(Duration::from_millis(20));
        p.next_data = Some(now);
    }
    run(net, a, b, Duration::from_secs(secs), |_| false);
    let from = |n: &tern_netsim::Network, h| {
        n.endpoint::<Peer>(h)
            .data_in
            .iter()
            .map(|(_, f, _)| *f)
            .collect::<Vec<_>>()
    };
    (from(net, a), from(net, b))
}

/// Datagrams to the TURN server the size of a 5-byte test packet in
/// ChannelData (a 4-byte header over UDP, no padding; a Send indication
/// would be 40 bytes longer).
fn channel_data_to_server(net: &tern_netsim::Network) -> usize {
    net.trace()
        .iter()
        .filter(|r| r.to == sa(TURN_SERVER) && r.len == 4 + 5)
        .count()
}

#[test]
fn symmetric_nats_fail_without_turn() {
    let (mut net, a, b) = pair_with(
        41,
        Nat::Symmetric,
        Nat::Symmetric,
        LinkConfig::default(),
        config(true),
        config(false),
    );
    assert!(!settle(&mut net, a, b));
    assert_eq!(relayed_candidate(&net, a), None);
}

#[test]
fn symmetric_nats_connect_over_turn_and_exchange_data_both_ways() {
    let (mut net, a, b) = pair_with(
        42,
        Nat::Symmetric,
        Nat::Symmetric,
        LinkConfig::default(),
        turn_config(true),
        turn_config(false),
    );
    assert!(settle(&mut net, a, b), "connected through the relay");
    let relay_a = relayed_candidate(&net, a).expect("a has a relayed candidate");
    let relay_b = relayed_candidate(&net, b).expect("b has a relayed candidate");
    assert_eq!(relay_a.ip(), sa(TURN_SERVER).ip());
    let (la, ra) = net.endpoint::<Peer>(a).agent.selected_pair().unwrap();
    let (lb, rb) = net.endpoint::<Peer>(b).agent.selected_pair().unwrap();
    // Each side's view of the pair: one end at least is a relayed address.
    assert!(
        [la, ra, lb, rb]
            .iter()
            .any(|x| *x == relay_a || *x == relay_b),
        "selected {la}->{ra} / {lb}->{rb} uses no relay"
    );
    let (at_a, at_b) = exchange_data(&mut net, a, b, 3);
    assert!(
        at_a.len() > 100 && at_b.len() > 100,
        "{} / {}",
        at_a.len(),
        at_b.len()
    );
    assert!(
        channel_data_to_server(&net) > 100,
        "data goes as ChannelData once the channel is bound"
    );
    assert!(
        at_a.iter().all(|f| *f == ra),
        "a hears b on the selected pair"
    );
    assert!(
        at_b.iter().all(|f| *f == rb),
        "b hears a on the selected pair"
    );
    for h in [a, b] {
        let st = net.endpoint::<Peer>(h).agent.selected_pair_stats().unwrap();
        assert!(st.bytes_sent > 500 && st.bytes_received > 500, "{st:?}");
        assert_eq!(
            net.endpoint::<Peer>(h)
                .agent
                .stats()
                .turn_allocations_failed,
            0
        );
    }
}

#[test]
fn symmetric_nats_connect_when_only_one_side_has_turn() {
    for (seed, a_turn) in [(43, true), (44, false)] {
        let (ca, cb) = if a_turn {
            (turn_config(true), config(false))
        } else {
            (config(true), turn_config(false))
        };
        let (mut net, a, b) = pair_with(
            seed,
            Nat::Symmetric,
            Nat::Symmetric,
            LinkConfig::default(),
            ca,
            cb,
        );
        assert!(settle(&mut net, a, b), "a_turn={a_turn}: connected");
        let (with, without) = if a_turn { (a, b) } else { (b, a) };
        let relay = relayed_candidate(&net, with).expect("relayed candidate");
        assert_eq!(relayed_candidate(&net, without), None);
        let (local, _) = net.endpoint::<Peer>(with).agent.selected_pair().unwrap();
        assert_eq!(local, relay, "the TURN side sends from its relayed address");
        let (_, remote) = net.endpoint::<Peer>(without).agent.selected_pair().unwrap();
        assert_eq!(remote, relay, "the other side sends to it");
        let (at_a, at_b) = exchange_data(&mut net, a, b, 3);
        assert!(
            at_a.len() > 100 && at_b.len() > 100,
            "{} / {}",
            at_a.len(),
            at_b.len()
        );
        assert!(channel_data_to_server(&net) > 100);
        let heard_by_without = if a_turn { &at_b } else { &at_a };
        assert!(heard_by_without.iter().all(|f| *f == relay));
    }
}

#[test]
fn a_turn_server_that_never_answers_does_not_stop_a_direct_connection() {
    // The TURN server is configured but unreachable (nothing at that
    // address): gathering still completes and host candidates connect.
    let dead = IceConfig {
        turn_servers: vec![tern_ice::TurnServerConfig::udp(
            sa("203.0.113.251:3478"),
            TURN_USER,
            TURN_PASSWORD,
        )],
        ..config(true)
    };
    let (mut net, a, b) = pair_with(
        45,
        Nat::None,
        Nat::FullCone,
        LinkConfig::default(),
        dead,
        config(false),
    );
    let t0 = net.now();
    assert!(settle(&mut net, a, b));
    let took = net.now() - t0;
    assert!(
        took < Duration::from_secs(2),
        "waited for the TURN server: {took:?}"
    );
    run(&mut net, a, b, Duration::from_secs(10), |_| false);
    let pa = net.endpoint::<Peer>(a);
    let done = pa
        .events
        .iter()
        .find(|(_, e)| *e == tern_ice::IceEvent::EndOfLocalCandidates)
        .map(|(t, _)| *t - t0)
        .expect("gathering completed");
    assert!(done <= Duration::from_secs(6), "gathering took {done:?}");
    assert_eq!(pa.agent.stats().turn_allocations_failed, 1);
}

/// W3C `iceTransportPolicy: "relay"`: two peers that could connect directly
/// signal only relayed candidates and connect through the relay; without a
/// TURN server they gather nothing and fail.
#[test]
fn relay_only_policy_uses_the_relay_even_where_a_direct_path_exists() {
    let relay = |controlling| IceConfig {
        relay_only: true,
        ..turn_config(controlling)
    };
    let (mut net, a, b) = pair_with(
        45,
        Nat::None,
        Nat::None,
        LinkConfig::default(),
        relay(true),
        relay(false),
    );
    assert!(settle(&mut net, a, b), "connected through the relay");
    for h in [a, b] {
        let kinds: Vec<CandidateKind> = net
            .endpoint::<Peer>(h)
            .agent
            .local_candidates()
            .map(|c| c.kind)
            .collect();
        assert!(
            !kinds.is_empty() && kinds.iter().all(|k| *k == CandidateKind::Relayed),
            "only relayed candidates: {kinds:?}"
        );
        let (local, _) = net.endpoint::<Peer>(h).agent.selected_pair().unwrap();
        assert_eq!(
            Some(local),
            relayed_candidate(&net, h),
            "the pair is relayed"
        );
    }
    let (at_a, at_b) = exchange_data(&mut net, a, b, 2);
    assert!(at_a.len() > 50 && at_b.len() > 50);
    let none = |controlling| IceConfig {
        relay_only: true,
        ..config(controlling)
    };
    let (mut net, a, b) = pair_with(
        46,
        Nat::None,
        Nat::None,
        LinkConfig::default(),
        none(true),
        none(false),
    );
    assert!(!settle(&mut net, a, b), "nothing to connect with");
    assert_eq!(net.endpoint::<Peer>(a).agent.local_candidates().count(), 0);
}
