//! Two tern peers behind symmetric NATs (RFC 4787 address-and-port-dependent
//! mapping and filtering), which no host or server-reflexive pair crosses,
//! connect through a TURN server on the simulated internet and carry a data
//! channel both ways: with TURN on both sides, or on one side only.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use common::*;
use tern_crypto::SeededRandom;
use tern_ice::{IceConfig, TurnServerConfig};
use tern_netsim::{Attachment, Datagram, Endpoint, HostId, LinkConfig, NatConfig, Network};
use tern_peer::{
    DataChannelInit, DataChannelMessage, PeerConfig, PeerConnection, PeerEvent, RandomSource,
};
use tern_stun::BindingServer;
use tern_turn::server::{Destination, ServerConfig};
use tern_turn::{Cidr, ClientTransport, StaticUsers, TurnServer};

const TURN: &str = "203.0.113.250:3478";

/// A TURN server endpoint: listener and relayed ports on one IP.
struct TurnHost {
    server: TurnServer,
    listener: SocketAddr,
}

impl Endpoint for TurnHost {
    fn handle_receive(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        if to == self.listener {
            self.server
                .handle_client(now, ClientTransport::Udp, from, to, data);
        } else {
            self.server.handle_peer(now, to, from, data);
        }
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

fn turn_server(net: &mut Network) -> HostId {
    let listener = sa(TURN);
    let mut cfg = ServerConfig::new("netsim", [4; 32]);
    let IpAddr::V4(ip) = listener.ip() else {
        unreachable!()
    };
    cfg.relay_ipv4 = Some(ip);
    // The documentation ranges stand for the public internet here.
    for range in ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"] {
        cfg.policy.allow(range.parse::<Cidr>().unwrap());
    }
    cfg.policy.add_listener(listener);
    let mut users = StaticUsers::new("netsim");
    users.add_user("peer", "turn-secret");
    let server = TurnServer::new(
        cfg,
        Box::new(users),
        Box::new(SeededRandom::new(5)),
        net.now(),
        1_700_000_000,
    );
    net.add_host(
        TurnHost { server, listener },
        &[listener.ip()],
        Attachment::Internet,
        LinkConfig::default(),
    )
}

fn peer_with(host: SocketAddr, seed: u64, turn: bool) -> Peer {
    let mut ice = IceConfig::default();
    if turn {
        ice.turn_servers = vec![TurnServerConfig::udp(sa(TURN), "peer", "turn-secret")];
    }
    let config = PeerConfig {
        host_addresses: vec![host],
        stun_servers: vec![sa(STUN)],
        ice,
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

/// Two peers behind symmetric NATs, STUN and TURN servers on the internet.
fn symmetric_pair(seed: u64, turn_a: bool, turn_b: bool) -> (Network, HostId, HostId, HostId) {
    let mut net = Network::new(seed);
    let na = net.add_nat(NatConfig::symmetric(), sa("203.0.113.1:0").ip());
    let nb = net.add_nat(NatConfig::symmetric(), sa("198.51.100.1:0").ip());
    let (pa, pb) = (sa("192.0.2.100:40000"), sa("192.0.2.200:50000"));
    let link = LinkConfig::with_latency(Duration::from_millis(10));
    let a = net.add_host(
        peer_with(pa, seed * 10 + 1, turn_a),
        &[pa.ip()],
        Attachment::Behind(na),
        link.clone(),
    );
    let b = net.add_host(
        peer_with(pb, seed * 10 + 2, turn_b),
        &[pb.ip()],
        Attachment::Behind(nb),
        link,
    );
    net.add_host(
        StunServer(BindingServer::new(Some("netsim stun"), 1024)),
        &[sa(STUN).ip()],
        Attachment::Internet,
        LinkConfig::default(),
    );
    let t = turn_server(&mut net);
    (net, a, b, t)
}

fn texts(p: &Peer) -> Vec<String> {
    p.events
        .iter()
        .filter_map(|e| match e {
            PeerEvent::ChannelMessage {
                message: DataChannelMessage::Text(t),
                ..
            } => Some(t.clone()),
            _ => None,
        })
        .collect()
}

fn data_channel_over_turn(seed: u64, turn_a: bool, turn_b: bool) {
    let (mut net, a, b, t) = symmetric_pair(seed, turn_a, turn_b);
    let now = net.now();
    let ch = peer(&mut net, a)
        .pc
        .create_data_channel(now, "relay", DataChannelInit::default())
        .unwrap();
    assert!(
        negotiate(&mut net, a, b, Duration::from_secs(30)),
        "turn_a={turn_a} turn_b={turn_b}: connected through the relay"
    );
    assert!(run(&mut net, a, b, Duration::from_secs(5), |n| {
        n.endpoint::<Peer>(a)
            .events
            .contains(&PeerEvent::ChannelOpen(ch))
    }));
    let now = net.now();
    peer(&mut net, a)
        .pc
        .channel_mut(ch)
        .unwrap()
        .send_text(now, "a to b")
        .unwrap();
    assert!(run(&mut net, a, b, Duration::from_secs(5), |n| {
        texts(n.endpoint::<Peer>(b)) == ["a to b"]
    }));
    let theirs = peer(&mut net, b)
        .events
        .iter()
        .find_map(|e| match e {
            PeerEvent::DataChannel(c) => Some(*c),
            _ => None,
        })
        .unwrap();
    let now = net.now();
    peer(&mut net, b)
        .pc
        .channel_mut(theirs)
        .unwrap()
        .send_text(now, "b to a")
        .unwrap();
    assert!(run(&mut net, a, b, Duration::from_secs(5), |n| {
        texts(n.endpoint::<Peer>(a)) == ["b to a"]
    }));
    let stats = net.endpoint::<TurnHost>(t).server.stats();
    assert!(
        stats.client_to_peer_packets > 10 && stats.peer_to_client_packets > 10,
        "{stats:?}"
    );
}

#[test]
fn symmetric_nats_carry_a_data_channel_through_turn_on_both_sides() {
    data_channel_over_turn(61, true, true);
}

#[test]
fn symmetric_nats_carry_a_data_channel_when_only_one_side_has_turn() {
    data_channel_over_turn(62, true, false);
    data_channel_over_turn(63, false, true);
}

/// Video through the relay: symmetric NATs on both sides, SRTP in TURN
/// ChannelData both ways, every frame intact.
#[test]
fn symmetric_nats_carry_video_through_turn() {
    use tern_peer::MediaKind;
    let (mut net, a, b, t) = symmetric_pair(64, true, true);
    let tid = peer(&mut net, a)
        .pc
        .add_track(MediaKind::Video, vec!["s".into()], None)
        .unwrap();
    assert!(negotiate(&mut net, a, b, Duration::from_secs(30)));
    let _ = run(&mut net, a, b, Duration::from_millis(300), |_| false);
    let frames: Vec<Vec<u8>> = (0..20u8)
        .map(|n| {
            let mut f = vec![if n == 0 { 0x10 } else { 0x11 }, 0x02, 0x00];
            f.extend((0..3000).map(|i| (i as u8).wrapping_mul(n)));
            f
        })
        .collect();
    for (n, f) in frames.iter().enumerate() {
        let now = net.now();
        peer(&mut net, a)
            .pc
            .transceiver_mut(tid)
            .unwrap()
            .write_frame(now, None, n as u32 * 3000, f)
            .unwrap();
        let _ = run(&mut net, a, b, Duration::from_millis(33), |_| false);
    }
    let _ = run(&mut net, a, b, Duration::from_millis(500), |_| false);
    let mut jb = tern_rtp::JitterBuffer::new(
        tern_rtp::Codec::Vp8.depacketizer(),
        tern_rtp::JitterConfig::default(),
    );
    let now = net.now();
    for e in &net.endpoint::<Peer>(b).events {
        if let PeerEvent::Rtp { packet, .. } = e {
            jb.push(
                packet.sequence_number,
                packet.timestamp,
                packet.marker,
                &packet.payload,
                packet.arrival,
            );
        }
    }
    let mut got = Vec::new();
    let mut buf = Vec::new();
    while let Some(ev) = jb.poll(now + Duration::from_secs(2), &mut buf) {
        if let tern_rtp::frame::JitterEvent::Frame(f) = ev {
            got.push(buf[..f.len].to_vec());
        }
    }
    assert_eq!(got, frames, "every frame intact through the relay");
    let stats = net.endpoint::<TurnHost>(t).server.stats();
    assert!(stats.client_to_peer_packets > 20, "{stats:?}");
}
