//! Relayed candidates: the agent accepts a relayed candidate and relayed
//! transmits from its caller. A minimal relay stands in for TURN (the real
//! client arrives with the TURN issue): the caller wraps datagrams whose
//! source is the relayed address as [destination | payload] to the relay,
//! which sends the payload from the relayed address; datagrams reaching the
//! relayed address come back as [source | payload]. Symmetric NATs on both
//! sides, which defeat host and server-reflexive candidates, connect.

mod sim;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use sim::*;
use tern_ice::{CandidateKind, IceAgent};
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
