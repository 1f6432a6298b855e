//! Two PeerConnections as tern-netsim endpoints, with the signaling (SDP
//! and trickled candidates) carried by the test.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tern_netsim::{Attachment, Datagram, Endpoint, HostId, LinkConfig, NatConfig, Network};
use tern_peer::{
    IceCandidateInit, PeerConfig, PeerConnection, PeerConnectionState, PeerEvent, RandomSource,
};
use tern_stun::BindingServer;

pub fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

pub struct Peer {
    pub pc: PeerConnection,
    pub events: Vec<PeerEvent>,
    /// Candidates to trickle to the other side (None: end-of-candidates).
    pub outbox: Vec<Option<IceCandidateInit>>,
    /// The application stops taking events (and so messages).
    pub hold: bool,
    /// Outgoing DTLS application data (SCTP) is lost; other records pass.
    pub lose_app_data: bool,
}

impl Peer {
    pub fn new(host: SocketAddr, seed: u64, stun: Option<SocketAddr>) -> Self {
        let config = PeerConfig {
            host_addresses: vec![host],
            stun_servers: stun.into_iter().collect(),
            random: RandomSource::Seeded(seed),
            ..PeerConfig::default()
        };
        Peer {
            pc: PeerConnection::new(config).expect("peer"),
            events: Vec::new(),
            outbox: Vec::new(),
            hold: false,
            lose_app_data: false,
        }
    }
    fn drain(&mut self) {
        while !self.hold {
            let Some(e) = self.pc.poll_event() else { break };
            if let PeerEvent::IceCandidate(c) = &e {
                self.outbox.push(c.clone());
            }
            self.events.push(e);
        }
    }
    pub fn connected(&self) -> bool {
        self.pc.connection_state() == PeerConnectionState::Connected
    }
}

impl Endpoint for Peer {
    fn handle_receive(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        self.pc.handle_receive(now, from, to, data);
        self.drain();
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.pc.handle_timeout(now);
        self.drain();
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<Datagram> {
        self.drain();
        loop {
            let t = self.pc.poll_transmit()?;
            // 23: a DTLS record of application data (RFC 6347 §4.1).
            if self.lose_app_data && t.contents.first() == Some(&23) {
                continue;
            }
            return Some(Datagram {
                source: t.source,
                destination: t.destination,
                contents: t.contents,
            });
        }
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.pc.poll_timeout()
    }
}

pub struct StunServer(pub BindingServer);

impl Endpoint for StunServer {
    fn handle_receive(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        self.0.handle_receive(now, from, to, data);
    }
    fn handle_timeout(&mut self, _now: Instant) {}
    fn poll_transmit(&mut self, _now: Instant) -> Option<Datagram> {
        self.0.poll_transmit().map(|t| Datagram {
            source: t.source,
            destination: t.destination,
            contents: t.contents,
        })
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        None
    }
}

pub const A: &str = "203.0.113.10:40000";
pub const B: &str = "198.51.100.20:50000";
pub const STUN: &str = "192.0.2.1:3478";

/// Two peers on the internet with `link` each.
pub fn pair(seed: u64, link: LinkConfig) -> (Network, HostId, HostId) {
    let mut net = Network::new(seed);
    let a = net.add_host(
        Peer::new(sa(A), seed * 10 + 1, None),
        &[sa(A).ip()],
        Attachment::Internet,
        link.clone(),
    );
    let b = net.add_host(
        Peer::new(sa(B), seed * 10 + 2, None),
        &[sa(B).ip()],
        Attachment::Internet,
        link,
    );
    (net, a, b)
}

/// Two peers behind NATs of the given kinds (private addresses, a STUN
/// server on the internet for their reflexive candidates).
pub fn natted_pair(seed: u64, nat_a: NatConfig, nat_b: NatConfig) -> (Network, HostId, HostId) {
    let mut net = Network::new(seed);
    let na = net.add_nat(nat_a, sa("203.0.113.1:0").ip());
    let nb = net.add_nat(nat_b, sa("198.51.100.1:0").ip());
    let (pa, pb) = (sa("192.0.2.100:40000"), sa("192.0.2.200:50000"));
    let a = net.add_host(
        Peer::new(pa, seed * 10 + 1, Some(sa(STUN))),
        &[pa.ip()],
        Attachment::Behind(na),
        LinkConfig::with_latency(Duration::from_millis(10)),
    );
    let b = net.add_host(
        Peer::new(pb, seed * 10 + 2, Some(sa(STUN))),
        &[pb.ip()],
        Attachment::Behind(nb),
        LinkConfig::with_latency(Duration::from_millis(10)),
    );
    net.add_host(
        StunServer(BindingServer::new(Some("netsim stun"), 1024)),
        &[sa(STUN).ip()],
        Attachment::Internet,
        LinkConfig::default(),
    );
    (net, a, b)
}

pub fn peer(net: &mut Network, h: HostId) -> &mut Peer {
    net.endpoint_mut::<Peer>(h)
}

/// Carries trickled candidates each way (as a signaling server would).
pub fn trickle(net: &mut Network, a: HostId, b: HostId) {
    let now = net.now();
    for (from, to) in [(a, b), (b, a)] {
        let out: Vec<_> = std::mem::take(&mut peer(net, from).outbox);
        let p = peer(net, to);
        if p.pc.remote_description().is_none() {
            // Not ready for them yet: keep them for later.
            peer(net, from).outbox.extend(out);
            continue;
        }
        for c in out {
            p.pc.add_ice_candidate(now, c).expect("candidate");
        }
    }
}

/// Offer from A, answer from B, trickling candidates; runs until both are
/// connected or `max` passes. Returns whether they connected.
pub fn negotiate(net: &mut Network, a: HostId, b: HostId, max: Duration) -> bool {
    let now = net.now();
    let offer = peer(net, a)
        .pc
        .create_offer(now, Default::default())
        .expect("offer");
    peer(net, a)
        .pc
        .set_local_description(now, offer.clone())
        .expect("set local offer");
    peer(net, b)
        .pc
        .set_remote_description(now, offer)
        .expect("set remote offer");
    let answer = peer(net, b).pc.create_answer(now).expect("answer");
    peer(net, b)
        .pc
        .set_local_description(now, answer.clone())
        .expect("set local answer");
    peer(net, a)
        .pc
        .set_remote_description(now, answer)
        .expect("set remote answer");
    run(net, a, b, max, |net| {
        net.endpoint::<Peer>(a).connected() && net.endpoint::<Peer>(b).connected()
    })
}

/// Runs the network with trickling until `done` or `max`.
pub fn run(
    net: &mut Network,
    a: HostId,
    b: HostId,
    max: Duration,
    mut done: impl FnMut(&Network) -> bool,
) -> bool {
    let end = net.now() + max;
    while net.now() < end {
        trickle(net, a, b);
        if done(net) {
            return true;
        }
        net.run_for(Duration::from_millis(1));
    }
    done(net)
}

/// Every event `h` has had (candidates also go to its outbox for
/// trickling), including those the endpoint collected while the network ran.
#[allow(dead_code)] // not every test binary uses it
pub fn take_events(net: &mut Network, h: HostId) -> Vec<PeerEvent> {
    let p = peer(net, h);
    while let Some(e) = p.pc.poll_event() {
        if let PeerEvent::IceCandidate(c) = &e {
            p.outbox.push(c.clone());
        }
        p.events.push(e);
    }
    std::mem::take(&mut p.events)
}
