//! A harness that runs ICE agents as netsim endpoints and ferries their
//! signalling (credentials, trickled candidates, end-of-candidates).
#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tern_crypto::SeededRandom;
use tern_ice::{
    Candidate, Credentials, IceAgent, IceConfig, IceConnectionState, IceEvent, Received,
    TurnServerConfig,
};
use tern_netsim::{Attachment, Datagram, Endpoint, HostId, LinkConfig, NatConfig, Network};
use tern_stun::BindingServer;
use tern_turn::server::{Destination, ServerConfig};
use tern_turn::{Cidr, ClientTransport, StaticUsers, TurnServer};

/// Something to tell the other side.
#[derive(Debug, Clone)]
pub enum Signal {
    Candidate(Candidate),
    EndOfCandidates,
}

pub struct Peer {
    pub agent: IceAgent,
    pub events: Vec<(Instant, IceEvent)>,
    pub outbox: Vec<Signal>,
    /// Application data: send a numbered packet every `data_interval` on the selected pair.
    pub data_interval: Option<Duration>,
    pub next_data: Option<Instant>,
    pub data_seq: u32,
    pub data_out: Vec<Datagram>,
    pub data_in: Vec<(Instant, SocketAddr, u32)>,
    pub signal_delay: Duration,
}

impl Peer {
    pub fn new(config: IceConfig, seed: u64) -> Self {
        Peer {
            agent: IceAgent::new(config, Box::new(SeededRandom::new(seed))),
            events: Vec::new(),
            outbox: Vec::new(),
            data_interval: None,
            next_data: None,
            data_seq: 0,
            data_out: Vec::new(),
            data_in: Vec::new(),
            signal_delay: Duration::ZERO,
        }
    }

    fn drain(&mut self, now: Instant) {
        while let Some(e) = self.agent.poll_event() {
            match &e {
                IceEvent::LocalCandidate(c) => self.outbox.push(Signal::Candidate(c.clone())),
                IceEvent::EndOfLocalCandidates => self.outbox.push(Signal::EndOfCandidates),
                _ => {}
            }
            self.events.push((now, e));
        }
    }

    pub fn state(&self) -> IceConnectionState {
        self.agent.connection_state()
    }

    /// When the agent first reached `state`.
    pub fn reached(&self, state: IceConnectionState) -> Option<Instant> {
        self.events
            .iter()
            .find_map(|(t, e)| (*e == IceEvent::ConnectionStateChange(state)).then_some(*t))
    }
}

impl Endpoint for Peer {
    fn handle_receive(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        // Relayed data is handled as arriving on the relayed address.
        let (from, to, data) = match self.agent.handle_datagram(now, from, to, data) {
            Received::Consumed => (from, to, &[][..]),
            Received::Relayed { from, to, data } => (from, to, data),
            _ => (from, to, data),
        };
        if data.len() >= 5 && data[0] == 0xAA {
            self.agent.record_data_received(from, to, data.len());
            self.data_in.push((
                now,
                from,
                u32::from_be_bytes(data[1..5].try_into().unwrap()),
            ));
        }
        self.drain(now);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.agent.handle_timeout(now);
        if let (Some(iv), Some(next)) = (self.data_interval, self.next_data) {
            if now >= next {
                if let Some((local, remote)) = self.agent.selected_pair() {
                    let mut d = vec![0xAA];
                    d.extend_from_slice(&self.data_seq.to_be_bytes());
                    self.data_seq += 1;
                    // Wrapped for the TURN server when the pair is relayed.
                    if let Some(t) = self.agent.send_data(now, local, remote, d) {
                        self.data_out.push(Datagram {
                            source: t.source,
                            destination: t.destination,
                            contents: t.contents,
                        });
                    }
                }
                self.next_data = Some(now + iv);
            }
        }
        self.drain(now);
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<Datagram> {
        if let Some(d) = self.data_out.pop() {
            return Some(d);
        }
        self.agent.poll_transmit().map(|t| Datagram {
            source: t.source,
            destination: t.destination,
            contents: t.contents,
        })
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        [
            self.agent.poll_timeout(),
            self.data_interval.and(self.next_data),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// A STUN Binding server as a netsim endpoint.
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

/// A TURN server (RFC 8656) as a netsim endpoint: its listener and relayed
/// addresses share the host's one IP.
pub struct TurnHost {
    pub server: TurnServer,
    pub listener: SocketAddr,
}

impl Endpoint for TurnHost {
    fn handle_receive(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        if to == self.listener {
            self.server
                .handle_client(now, ClientTransport::Udp, from, to, data);
        } else {
            self.server.handle_peer(now, to, from, data);
        }
        // Socket actions (open/close relayed sockets): every port of the
        // simulated host already receives.
        while self.server.poll_event().is_some() {}
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.server.handle_timeout(now);
        while self.server.poll_event().is_some() {}
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<Datagram> {
        let t = self.server.poll_transmit()?;
        let (source, destination) = match t.destination {
            Destination::Client(ft) => (ft.server, ft.client),
            Destination::Peer { relay, peer, .. } => (relay, peer),
            _ => return None,
        };
        Some(Datagram {
            source: Some(source),
            destination,
            contents: t.contents,
        })
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.server.poll_timeout()
    }
}

pub const TURN_SERVER: &str = "203.0.113.250:3478";
pub const TURN_USER: &str = "netsim";
pub const TURN_PASSWORD: &str = "netsim-secret";

/// Adds a TURN server on the internet at [`TURN_SERVER`].
pub fn add_turn_server(net: &mut Network) -> HostId {
    let now = net.now();
    let listener = sa(TURN_SERVER);
    let mut cfg = ServerConfig::new("netsim", [3; 32]);
    let IpAddr::V4(relay_ip) = listener.ip() else {
        unreachable!("an IPv4 listener")
    };
    cfg.relay_ipv4 = Some(relay_ip);
    // The documentation ranges stand for the public internet here.
    for range in ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"] {
        cfg.policy.allow(range.parse::<Cidr>().unwrap());
    }
    cfg.policy.add_listener(listener);
    let mut users = StaticUsers::new("netsim");
    users.add_user(TURN_USER, TURN_PASSWORD);
    let server = TurnServer::new(
        cfg,
        Box::new(users),
        Box::new(SeededRandom::new(77)),
        now,
        1_700_000_000,
    );
    net.add_host(
        TurnHost { server, listener },
        &[listener.ip()],
        Attachment::Internet,
        LinkConfig::default(),
    )
}

/// [`config`] with the TURN server of [`add_turn_server`].
pub fn turn_config(controlling: bool) -> IceConfig {
    IceConfig {
        turn_servers: vec![TurnServerConfig::udp(
            sa(TURN_SERVER),
            TURN_USER,
            TURN_PASSWORD,
        )],
        ..config(controlling)
    }
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}
pub fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

pub const STUN_SERVER: &str = "203.0.113.100:3478";

/// Where a test peer lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nat {
    None,
    FullCone,
    Restricted,
    PortRestricted,
    Symmetric,
}

impl Nat {
    pub const ALL: [Nat; 5] = [
        Nat::None,
        Nat::FullCone,
        Nat::Restricted,
        Nat::PortRestricted,
        Nat::Symmetric,
    ];
    fn config(self) -> Option<NatConfig> {
        match self {
            Nat::None => None,
            Nat::FullCone => Some(NatConfig::full_cone()),
            Nat::Restricted => Some(NatConfig::restricted()),
            Nat::PortRestricted => Some(NatConfig::port_restricted()),
            Nat::Symmetric => Some(NatConfig::symmetric()),
        }
    }
}

/// Places a peer: behind its own NAT (public `nat_ip`, private `private`) or
/// on the internet at `public`.
pub fn place(
    net: &mut Network,
    peer: Peer,
    nat: Nat,
    private: &str,
    nat_ip: &str,
    public: &str,
    link: LinkConfig,
) -> (HostId, SocketAddr) {
    match nat.config() {
        Some(cfg) => {
            let n = net.add_nat(cfg, ip(nat_ip));
            let addr = sa(&format!("{private}:5000"));
            (
                net.add_host(peer, &[addr.ip()], Attachment::Behind(n), link),
                addr,
            )
        }
        None => {
            let addr = sa(&format!("{public}:5000"));
            (
                net.add_host(peer, &[addr.ip()], Attachment::Internet, link),
                addr,
            )
        }
    }
}

pub fn add_stun_server(net: &mut Network) {
    net.add_host(
        StunServer(BindingServer::new(Some("netsim stun"), 1024)),
        &[sa(STUN_SERVER).ip()],
        Attachment::Internet,
        LinkConfig::default(),
    );
}

/// Exchanges credentials between two peers (as offer/answer would).
pub fn exchange_credentials(net: &mut Network, a: HostId, b: HostId) {
    let now = net.now();
    let ca: Credentials = net.endpoint::<Peer>(a).agent.local_credentials().clone();
    let cb: Credentials = net.endpoint::<Peer>(b).agent.local_credentials().clone();
    net.endpoint_mut::<Peer>(a)
        .agent
        .set_remote_credentials(now, cb);
    net.endpoint_mut::<Peer>(b)
        .agent
        .set_remote_credentials(now, ca);
}

/// Moves pending signals from one peer to the other.
pub fn ferry(net: &mut Network, from: HostId, to: HostId) {
    let now = net.now();
    let signals = std::mem::take(&mut net.endpoint_mut::<Peer>(from).outbox);
    let dst = net.endpoint_mut::<Peer>(to);
    for s in signals {
        match s {
            Signal::Candidate(c) => dst.agent.add_remote_candidate(now, c),
            Signal::EndOfCandidates => dst.agent.set_remote_end_of_candidates(now),
        }
    }
    dst.drain(now);
}

/// Runs the network, ferrying signals both ways, until `done` or `max`.
pub fn run(
    net: &mut Network,
    a: HostId,
    b: HostId,
    max: Duration,
    mut done: impl FnMut(&Network) -> bool,
) -> bool {
    let limit = net.now() + max;
    loop {
        ferry(net, a, b);
        ferry(net, b, a);
        if done(net) {
            return true;
        }
        if net.now() >= limit || !net.step(limit) {
            ferry(net, a, b);
            ferry(net, b, a);
            return done(net);
        }
    }
}

pub fn both(net: &Network, a: HostId, b: HostId, f: impl Fn(IceConnectionState) -> bool) -> bool {
    f(net.endpoint::<Peer>(a).state()) && f(net.endpoint::<Peer>(b).state())
}

pub fn connected(s: IceConnectionState) -> bool {
    matches!(
        s,
        IceConnectionState::Connected | IceConnectionState::Completed
    )
}

/// Two peers, credentials exchanged, gathering started on their single host address.
pub fn pair_with(
    seed: u64,
    nat_a: Nat,
    nat_b: Nat,
    link: LinkConfig,
    config_a: IceConfig,
    config_b: IceConfig,
) -> (Network, HostId, HostId) {
    let mut net = Network::new(seed);
    add_stun_server(&mut net);
    let (a, addr_a) = place(
        &mut net,
        Peer::new(config_a, seed * 2 + 1),
        nat_a,
        "192.0.2.10",
        "203.0.113.1",
        "203.0.113.10",
        link.clone(),
    );
    let (b, addr_b) = place(
        &mut net,
        Peer::new(config_b, seed * 2 + 2),
        nat_b,
        "198.51.100.10",
        "203.0.113.2",
        "203.0.113.20",
        link,
    );
    // Last, so the hosts before it keep their ids and the run its draws.
    add_turn_server(&mut net);
    exchange_credentials(&mut net, a, b);
    let now = net.now();
    net.endpoint_mut::<Peer>(a).agent.gather(now, &[addr_a]);
    net.endpoint_mut::<Peer>(b).agent.gather(now, &[addr_b]);
    net.endpoint_mut::<Peer>(a).drain(now);
    net.endpoint_mut::<Peer>(b).drain(now);
    (net, a, b)
}

pub fn config(controlling: bool) -> IceConfig {
    IceConfig {
        controlling,
        stun_servers: vec![sa(STUN_SERVER)],
        ..IceConfig::default()
    }
}
