use super::*;

/// Sends `count` numbered datagrams to `peer` every `interval`, echoes
/// anything it receives back with a marker, and logs what arrives.
struct Pinger {
    local: SocketAddr,
    peer: Option<SocketAddr>,
    count: u32,
    sent: u32,
    interval: Duration,
    next: Option<Instant>,

    outbox: Vec<Datagram>,
    received: Vec<(Instant, SocketAddr, Vec<u8>)>,
    echo: bool,
}

impl Pinger {
    fn new(start: Instant, local: &str, peer: Option<&str>, count: u32, echo: bool) -> Self {
        Pinger {
            local: local.parse().unwrap(),
            peer: peer.map(|p| p.parse().unwrap()),
            count,
            sent: 0,
            interval: Duration::from_millis(10),
            next: Some(start),
            outbox: Vec::new(),
            received: Vec::new(),
            echo,
        }
    }
}

impl Endpoint for Pinger {
    fn handle_receive(&mut self, now: Instant, from: SocketAddr, _to: SocketAddr, data: &[u8]) {
        self.received.push((now, from, data.to_vec()));
        if self.echo && data.first() != Some(&b'E') {
            let mut d = vec![b'E'];
            d.extend_from_slice(data);
            self.outbox.push(Datagram {
                source: Some(self.local),
                destination: from,
                contents: d,
            });
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        if let (Some(peer), true) = (self.peer, self.sent < self.count) {
            self.outbox.push(Datagram {
                source: Some(self.local),
                destination: peer,
                contents: self.sent.to_be_bytes().to_vec(),
            });
            self.sent += 1;
            self.next = Some(now + self.interval);
        }
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<Datagram> {
        self.outbox.pop()
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        if self.peer.is_some() && self.sent < self.count {
            self.next
        } else {
            None
        }
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn latency_is_sum_of_both_access_links() {
    let mut net = Network::new(1);
    let a = net.add_host(
        Pinger::new(
            net.now(),
            "198.51.100.1:1000",
            Some("198.51.100.2:2000"),
            1,
            false,
        ),
        &[ip("198.51.100.1")],
        Attachment::Internet,
        LinkConfig::with_latency(Duration::from_millis(10)),
    );
    let b = net.add_host(
        Pinger::new(net.now(), "198.51.100.2:2000", None, 0, true),
        &[ip("198.51.100.2")],
        Attachment::Internet,
        LinkConfig::with_latency(Duration::from_millis(15)),
    );
    let t0 = net.now();
    assert!(net.run_until(Duration::from_secs(1), |n| !n
        .endpoint::<Pinger>(a)
        .received
        .is_empty()));
    let (at_b, from, _) = net.endpoint::<Pinger>(b).received[0].clone();
    assert_eq!(from, "198.51.100.1:1000".parse().unwrap());
    // The first send happens at the first step, a hair after t0.
    let one_way = at_b - t0;
    assert!(
        one_way >= Duration::from_millis(25) && one_way < Duration::from_millis(26),
        "{one_way:?}"
    );
    let rtt = net.endpoint::<Pinger>(a).received[0].0 - t0;
    assert!(
        rtt >= Duration::from_millis(50) && rtt < Duration::from_millis(51),
        "{rtt:?}"
    );
}

fn nat_pair(seed: u64, nat_cfg: NatConfig) -> (Network, HostId, HostId) {
    let mut net = Network::new(seed);
    let nat = net.add_nat(nat_cfg, ip("203.0.113.1"));
    let inside = net.add_host(
        Pinger::new(
            net.now(),
            "192.0.2.10:5000",
            Some("198.51.100.2:3478"),
            3,
            false,
        ),
        &[ip("192.0.2.10")],
        Attachment::Behind(nat),
        LinkConfig::default(),
    );
    let server = net.add_host(
        Pinger::new(net.now(), "198.51.100.2:3478", None, 0, true),
        &[ip("198.51.100.2")],
        Attachment::Internet,
        LinkConfig::default(),
    );
    (net, inside, server)
}

#[test]
fn nat_translates_and_lets_replies_back() {
    let (mut net, inside, server) = nat_pair(2, NatConfig::port_restricted());
    net.run_for(Duration::from_secs(1));
    let s = net.endpoint::<Pinger>(server);
    assert_eq!(s.received.len(), 3);
    assert_eq!(
        s.received[0].1,
        "203.0.113.1:40000".parse().unwrap(),
        "source rewritten by the NAT"
    );
    let i = net.endpoint::<Pinger>(inside);
    assert_eq!(i.received.len(), 3, "echoes came back through the mapping");
    assert_eq!(i.received[0].1, "198.51.100.2:3478".parse().unwrap());
}

#[test]
fn unsolicited_inbound_is_filtered() {
    let mut net = Network::new(3);
    let nat = net.add_nat(NatConfig::full_cone(), ip("203.0.113.1"));
    net.add_host(
        Pinger::new(net.now(), "192.0.2.10:5000", None, 0, true),
        &[ip("192.0.2.10")],
        Attachment::Behind(nat),
        LinkConfig::default(),
    );
    net.add_host(
        Pinger::new(
            net.now(),
            "198.51.100.2:1",
            Some("203.0.113.1:40000"),
            1,
            false,
        ),
        &[ip("198.51.100.2")],
        Attachment::Internet,
        LinkConfig::default(),
    );
    net.run_for(Duration::from_secs(1));
    assert_eq!(
        net.stats().dropped_nat,
        1,
        "no mapping exists yet, even a full cone drops it"
    );
    assert_eq!(net.stats().delivered, 0);
}

#[test]
fn hairpinning_on_and_off() {
    for hairpin in [false, true] {
        let mut net = Network::new(4);
        let mut cfg = NatConfig::full_cone();
        cfg.hairpinning = hairpin;
        let nat = net.add_nat(cfg, ip("203.0.113.1"));
        // b opens a mapping (40000) by pinging a public host; a then targets it via the public address.
        let b = net.add_host(
            Pinger::new(
                net.now(),
                "192.0.2.11:6000",
                Some("198.51.100.2:9"),
                1,
                true,
            ),
            &[ip("192.0.2.11")],
            Attachment::Behind(nat),
            LinkConfig::default(),
        );
        net.add_host(
            Pinger::new(net.now(), "198.51.100.2:9", None, 0, false),
            &[ip("198.51.100.2")],
            Attachment::Internet,
            LinkConfig::default(),
        );
        net.run_for(Duration::from_millis(100));
        let a = net.add_host(
            Pinger::new(
                net.now(),
                "192.0.2.10:5000",
                Some("203.0.113.1:40000"),
                1,
                false,
            ),
            &[ip("192.0.2.10")],
            Attachment::Behind(nat),
            LinkConfig::default(),
        );
        net.run_for(Duration::from_secs(1));
        let got = net.endpoint::<Pinger>(b).received.len();
        if hairpin {
            assert_eq!(got, 1);
            assert_eq!(
                net.endpoint::<Pinger>(a).received.len(),
                1,
                "echo hairpinned back"
            );
            assert_eq!(
                net.endpoint::<Pinger>(b).received[0].1.ip(),
                ip("203.0.113.1")
            );
        } else {
            assert_eq!(got, 0);
            assert_eq!(net.stats().dropped_nat, 1);
        }
    }
}

#[test]
fn same_seed_same_run_different_seed_different_run() {
    let run = |seed| {
        let mut net = Network::new(seed);
        net.enable_trace();
        let link = LinkConfig {
            loss: 0.2,
            jitter: Duration::from_millis(5),
            reorder: 0.1,
            duplicate: 0.05,
            ..LinkConfig::default()
        };
        net.add_host(
            Pinger::new(
                net.now(),
                "198.51.100.1:1",
                Some("198.51.100.2:2"),
                200,
                false,
            ),
            &[ip("198.51.100.1")],
            Attachment::Internet,
            link.clone(),
        );
        let b = net.add_host(
            Pinger::new(net.now(), "198.51.100.2:2", None, 0, true),
            &[ip("198.51.100.2")],
            Attachment::Internet,
            link,
        );
        net.run_for(Duration::from_secs(5));
        let order: Vec<u32> = net
            .endpoint::<Pinger>(b)
            .received
            .iter()
            .map(|(_, _, d)| u32::from_be_bytes(d[..4].try_into().unwrap()))
            .collect();
        (order, net.stats(), net.trace().len())
    };
    let (o1, s1, t1) = run(9);
    let (o2, s2, t2) = run(9);
    let (o3, _, _) = run(10);
    assert_eq!(o1, o2);
    assert_eq!(s1, s2);
    assert_eq!(t1, t2);
    assert_ne!(o1, o3);
    assert!(s1.dropped_loss > 0 && s1.duplicated > 0);
    assert!(o1.windows(2).any(|w| w[1] < w[0]), "reordering happened");
}

#[test]
fn no_route_is_counted() {
    let mut net = Network::new(5);
    net.add_host(
        Pinger::new(
            net.now(),
            "198.51.100.1:1",
            Some("198.51.100.99:2"),
            1,
            false,
        ),
        &[ip("198.51.100.1")],
        Attachment::Internet,
        LinkConfig::default(),
    );
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.stats().dropped_no_route, 1);
}
