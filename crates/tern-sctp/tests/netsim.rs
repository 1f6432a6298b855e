//! SCTP over tern-netsim: transfers checked byte for byte under loss,
//! reordering and duplication, at 1 ms and 100 ms RTT.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tern_crypto::{Random, SeededRandom};
use tern_netsim::{Attachment, Datagram, Endpoint, HostId, LinkConfig, Network};
use tern_sctp::{Association, SctpConfig, SctpEvent};

struct Peer {
    assoc: Association,
    local: SocketAddr,
    remote: SocketAddr,
    received: Vec<Vec<u8>>,
    connected: bool,
}

impl Peer {
    fn drain(&mut self) {
        while let Some(e) = self.assoc.poll_event() {
            match e {
                SctpEvent::Connected => self.connected = true,
                SctpEvent::Message(m) => self.received.push(m.data),
                _ => {}
            }
        }
    }
}

impl Endpoint for Peer {
    fn handle_receive(&mut self, now: Instant, _from: SocketAddr, _to: SocketAddr, data: &[u8]) {
        self.assoc.handle_receive(now, data);
        self.drain();
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.assoc.handle_timeout(now);
        self.drain();
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<Datagram> {
        self.assoc.poll_transmit().map(|p| Datagram {
            source: Some(self.local),
            destination: self.remote,
            contents: p,
        })
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.assoc.poll_timeout()
    }
}

fn pair(seed: u64, link: LinkConfig) -> (Network, HostId, HostId) {
    let mut net = Network::new(seed);
    let a: SocketAddr = "203.0.113.1:5000".parse().unwrap();
    let b: SocketAddr = "203.0.113.2:5000".parse().unwrap();
    let now = net.now();
    let mut x = Association::new(
        SctpConfig::default(),
        Box::new(SeededRandom::new(seed)),
        now,
    );
    let y = Association::new(
        SctpConfig::default(),
        Box::new(SeededRandom::new(seed + 1)),
        now,
    );
    x.connect(now);
    let ha = net.add_host(
        Peer {
            assoc: x,
            local: a,
            remote: b,
            received: vec![],
            connected: false,
        },
        &[a.ip()],
        Attachment::Internet,
        link.clone(),
    );
    let hb = net.add_host(
        Peer {
            assoc: y,
            local: b,
            remote: a,
            received: vec![],
            connected: false,
        },
        &[b.ip()],
        Attachment::Internet,
        link,
    );
    (net, ha, hb)
}

#[test]
fn one_mib_intact_at_1ms_and_100ms_rtt_under_loss_reordering_duplication() {
    let mut report = Vec::new();
    for rtt_ms in [1u64, 100] {
        for (i, loss) in [0.0, 0.01, 0.05, 0.20].into_iter().enumerate() {
            // Impairments on the sender's link only, so each direction sees them once.
            let one_way = Duration::from_micros(rtt_ms * 1000 / 4);
            let lossy = LinkConfig {
                latency: one_way,
                loss,
                reorder: 0.05,
                reorder_delay: one_way,
                duplicate: 0.02,
                ..LinkConfig::default()
            };
            let seed = 100 + rtt_ms * 10 + i as u64;
            let (mut net, a, b) = pair(seed, LinkConfig::with_latency(one_way));
            net.set_link(a, lossy);
            assert!(
                net.run_until(Duration::from_secs(300), |n| n
                    .endpoint::<Peer>(a)
                    .connected
                    && n.endpoint::<Peer>(b).connected),
                "handshake {rtt_ms} ms {loss}"
            );
            let mut rng = SeededRandom::new(seed);
            let mut sent = Vec::new();
            let now = net.now();
            for _ in 0..16 {
                let mut m = vec![0u8; 64 * 1024];
                rng.fill(&mut m);
                net.endpoint_mut::<Peer>(a)
                    .assoc
                    .send(now, 1, 53, &m, false)
                    .unwrap();
                sent.push(m);
            }
            let t0 = net.now();
            let ok = net.run_until(Duration::from_secs(3600), |n| {
                n.endpoint::<Peer>(b).received.len() == 16
            });
            assert!(
                ok,
                "{rtt_ms} ms RTT, {loss} loss: delivered {}",
                net.endpoint::<Peer>(b).received.len()
            );
            assert_eq!(
                net.endpoint::<Peer>(b).received,
                sent,
                "{rtt_ms} ms, {loss}: data corrupted or reordered"
            );
            let took = net.now() - t0;
            if loss == 0.0 {
                // Reordering alone costs little: RACK's reordering window and
                // undoing spurious recoveries (10.3 s at 100 ms before them).
                assert!(
                    took < Duration::from_millis(rtt_ms * 40),
                    "{rtt_ms} ms RTT, reordering only: {took:?}"
                );
            }
            report.push(format!(
                "{rtt_ms:>3} ms RTT, {:>2.0}% loss: 1 MiB in {:.2} s ({} retransmitted chunks)",
                loss * 100.0,
                took.as_secs_f64(),
                net.endpoint::<Peer>(a).assoc.stats().retransmitted_chunks
            ));
        }
    }
    println!("{}", report.join("\n"));
}
