//! Many agents behind one address and port (a server's shared socket),
//! routed by ufrag and 5-tuple with `UfragDemux`; a flood from an unknown
//! ufrag is dropped and counted without touching any agent.

mod sim;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sim::*;
use tern_crypto::SeededRandom;
use tern_ice::{Credentials, IceAgent, IceConfig, UfragDemux};
use tern_netsim::{Attachment, Datagram, Endpoint, HostId, LinkConfig, Network};

const SERVER: &str = "203.0.113.50:443";

/// One socket, many agents.
struct SharedSocket {
    agents: Vec<IceAgent>,
    demux: UfragDemux<usize>,
    unrouted: u64,
}

impl Endpoint for SharedSocket {
    fn handle_receive(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        match self.demux.route(from, to, data) {
            Some(i) => {
                self.agents[i].handle_receive(now, from, to, data);
            }
            None => self.unrouted += 1,
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        for a in &mut self.agents {
            if a.poll_timeout().is_some_and(|t| t <= now) {
                a.handle_timeout(now);
            }
        }
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<Datagram> {
        for (i, a) in self.agents.iter_mut().enumerate() {
            if let Some(t) = a.poll_transmit() {
                self.demux
                    .note_transmit(&i, t.source.unwrap_or_else(|| sa(SERVER)), t.destination);
                return Some(Datagram {
                    source: t.source,
                    destination: t.destination,
                    contents: t.contents,
                });
            }
        }
        None
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.agents.iter().filter_map(|a| a.poll_timeout()).min()
    }
}

#[test]
fn five_clients_share_one_server_socket() {
    let mut net = Network::new(21);
    let n = 5;
    let mut server = SharedSocket {
        agents: Vec::new(),
        demux: UfragDemux::new(10_000),
        unrouted: 0,
    };
    for i in 0..n {
        let agent = IceAgent::new(
            IceConfig::default(),
            Box::new(SeededRandom::new(1000 + i as u64)),
        );
        server
            .demux
            .register_ufrag(&agent.local_credentials().ufrag.clone(), i);
        server.agents.push(agent);
    }
    let now = net.now();
    for a in &mut server.agents {
        a.gather(now, &[sa(SERVER)]);
    }
    let srv = net.add_host(
        server,
        &[sa(SERVER).ip()],
        Attachment::Internet,
        LinkConfig::default(),
    );
    let mut clients: Vec<HostId> = Vec::new();
    for i in 0..n {
        let addr = sa(&format!("198.51.100.{}:5000", 10 + i));
        let cfg = IceConfig {
            controlling: true,
            ..IceConfig::default()
        };
        let c = net.add_host(
            Peer::new(cfg, i as u64),
            &[addr.ip()],
            Attachment::Internet,
            LinkConfig::default(),
        );
        let server_creds: Credentials = net.endpoint::<SharedSocket>(srv).agents[i]
            .local_credentials()
            .clone();
        let server_cand = net.endpoint::<SharedSocket>(srv).agents[i]
            .local_candidates()
            .next()
            .unwrap()
            .clone();
        let client_creds = net.endpoint::<Peer>(c).agent.local_credentials().clone();
        let s = net.endpoint_mut::<SharedSocket>(srv);
        s.agents[i].set_remote_credentials(now, client_creds);
        let client_cand = tern_ice::Candidate::host(addr, 0x7fff);
        s.agents[i].add_remote_candidate(now, client_cand);
        let p = net.endpoint_mut::<Peer>(c);
        p.agent.set_remote_credentials(now, server_creds);
        p.agent.gather(now, &[addr]);
        p.agent.add_remote_candidate(now, server_cand);
        clients.push(c);
    }
    let ok = net.run_until(Duration::from_secs(10), |net| {
        clients
            .iter()
            .all(|c| connected(net.endpoint::<Peer>(*c).state()))
            && net
                .endpoint::<SharedSocket>(srv)
                .agents
                .iter()
                .all(|a| connected(a.connection_state()))
    });
    assert!(ok, "every client connects through the shared socket");
    let s = net.endpoint::<SharedSocket>(srv);
    for (i, a) in s.agents.iter().enumerate() {
        let (local, remote) = a.selected_pair().unwrap();
        assert_eq!(local, sa(SERVER));
        assert_eq!(
            remote,
            sa(&format!("198.51.100.{}:5000", 10 + i)),
            "agent {i} got its own client"
        );
    }
    assert_eq!(s.unrouted, 0);

    // A flood from a stranger: every request is dropped by the demultiplexer.
    let stranger = net.add_host(
        Flood {
            to: sa(SERVER),
            left: 5_000,
            seed: 3,
        },
        &[sa("198.51.100.99:1").ip()],
        Attachment::Internet,
        LinkConfig::default(),
    );
    let _ = stranger;
    net.run_for(Duration::from_secs(2));
    let s = net.endpoint::<SharedSocket>(srv);
    assert_eq!(s.demux.stats().unknown_ufrag, 5_000);
    assert!(s.agents.iter().all(|a| connected(a.connection_state())));
}

/// Sends checks with random ufrags as fast as it can.
struct Flood {
    to: SocketAddr,
    left: u32,
    seed: u64,
}

impl Endpoint for Flood {
    fn handle_receive(&mut self, _: Instant, _: SocketAddr, _: SocketAddr, _: &[u8]) {}
    fn handle_timeout(&mut self, _: Instant) {}
    fn poll_transmit(&mut self, _now: Instant) -> Option<Datagram> {
        use tern_stun::{
            method, Attribute, Class, IntegrityKey, MessageBuilder, MessageType, TransactionId,
        };
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        self.seed += 1;
        let mut buf = Vec::new();
        let mut b = MessageBuilder::new(
            &mut buf,
            MessageType::new(Class::Request, method::BINDING),
            TransactionId([self.seed as u8; 12]),
        );
        b.add(&Attribute::Username(&format!("x{}:y", self.seed)))
            .unwrap();
        b.add_message_integrity(&IntegrityKey::short_term("p"))
            .unwrap();
        b.add_fingerprint().unwrap();
        Some(Datagram {
            source: Some(sa("198.51.100.99:1")),
            destination: self.to,
            contents: buf,
        })
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        None
    }
}
