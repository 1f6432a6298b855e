//! SCTP over tern-netsim: transfers of 1 MiB and 256 MiB checked byte for
//! byte under loss, reordering and duplication, at 1 ms and 100 ms RTT.
//!
//! The sender streams: it keeps a few MiB queued and tops up as the peer
//! acknowledges. Message `i` is generated from `(seed, i)`, so the receiver
//! regenerates and compares every message without keeping the whole transfer.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tern_crypto::SeededRandom;
use tern_netsim::{Attachment, Datagram, Endpoint, HostId, LinkConfig, Network};
use tern_sctp::{Association, SctpConfig, SctpEvent};

const MESSAGE: usize = 64 * 1024;
/// How much the sender keeps queued ahead of the peer's acknowledgements.
const QUEUE_AHEAD: usize = 4 << 20;

/// Message `index` of the transfer with `seed` (xorshift64*, cheap to regenerate).
fn message(seed: u64, index: u64, out: &mut Vec<u8>) {
    out.clear();
    let mut x = (seed << 32 ^ index).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while out.len() < MESSAGE {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
}

struct Peer {
    assoc: Association,
    local: SocketAddr,
    remote: SocketAddr,
    connected: bool,
    seed: u64,
    /// Messages still to queue (sender).
    to_send: u64,
    sent: u64,
    /// Messages received and verified, and the first mismatch seen.
    received: u64,
    mismatch: Option<String>,
    scratch: Vec<u8>,
}

impl Peer {
    fn new(assoc: Association, local: SocketAddr, remote: SocketAddr, seed: u64) -> Self {
        Peer {
            assoc,
            local,
            remote,
            connected: false,
            seed,
            to_send: 0,
            sent: 0,
            received: 0,
            mismatch: None,
            scratch: Vec::with_capacity(MESSAGE),
        }
    }

    fn drain(&mut self, now: Instant) {
        while let Some(e) = self.assoc.poll_event() {
            match e {
                SctpEvent::Connected => self.connected = true,
                SctpEvent::Message(m) => {
                    message(self.seed, self.received, &mut self.scratch);
                    if m.data != self.scratch && self.mismatch.is_none() {
                        self.mismatch = Some(format!(
                            "message {} differs ({} bytes, expected {})",
                            self.received,
                            m.data.len(),
                            self.scratch.len()
                        ));
                    }
                    self.received += 1;
                }
                _ => {}
            }
        }
        while self.to_send > 0
            && self.assoc.is_established()
            && self.assoc.buffered_amount(1) < QUEUE_AHEAD
        {
            message(self.seed, self.sent, &mut self.scratch);
            self.assoc
                .send(now, 1, 53, &self.scratch, false)
                .expect("send");
            self.sent += 1;
            self.to_send -= 1;
        }
    }
}

impl Endpoint for Peer {
    fn handle_receive(&mut self, now: Instant, _from: SocketAddr, _to: SocketAddr, data: &[u8]) {
        self.assoc.handle_receive(now, data);
        self.drain(now);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.assoc.handle_timeout(now);
        self.drain(now);
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
        Peer::new(x, a, b, seed),
        &[a.ip()],
        Attachment::Internet,
        link.clone(),
    );
    let hb = net.add_host(
        Peer::new(y, b, a, seed),
        &[b.ip()],
        Attachment::Internet,
        link,
    );
    (net, ha, hb)
}

/// Moves `mib` MiB from A to B over a path with `rtt_ms` and `loss` (plus 5%
/// reordering and 2% duplication); asserts it arrives intact and in order.
/// Returns the virtual time the transfer took and A's retransmitted chunks.
fn transfer(mib: u64, rtt_ms: u64, loss: f64, seed: u64) -> (Duration, u64) {
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
    let (mut net, a, b) = pair(seed, LinkConfig::with_latency(one_way));
    net.set_link(a, lossy);
    assert!(
        net.run_until(Duration::from_secs(300), |n| n
            .endpoint::<Peer>(a)
            .connected
            && n.endpoint::<Peer>(b).connected),
        "handshake {rtt_ms} ms {loss}"
    );
    let count = mib * (1 << 20) / MESSAGE as u64;
    let now = net.now();
    let sender = net.endpoint_mut::<Peer>(a);
    sender.to_send = count;
    sender.drain(now);
    let t0 = net.now();
    // Far above the Mathis bound for the worst case (256 MiB, 100 ms, 20%: ~2.3 h).
    let ok = net.run_until(Duration::from_secs(8 * 3600), |n| {
        let r = n.endpoint::<Peer>(b);
        r.received == count || r.mismatch.is_some()
    });
    let r = net.endpoint::<Peer>(b);
    assert_eq!(r.mismatch, None, "{mib} MiB, {rtt_ms} ms RTT, {loss} loss");
    assert!(
        ok,
        "{mib} MiB, {rtt_ms} ms RTT, {loss} loss: delivered {} of {count} messages",
        r.received
    );
    (
        net.now() - t0,
        net.endpoint::<Peer>(a).assoc.stats().retransmitted_chunks,
    )
}

fn matrix(mib: u64, check: impl Fn(u64, f64, Duration)) {
    let mut report = Vec::new();
    for rtt_ms in [1u64, 100] {
        for (i, loss) in [0.0, 0.01, 0.05, 0.20].into_iter().enumerate() {
            let seed = 100 + mib * 1000 + rtt_ms * 10 + i as u64;
            let (took, retransmitted) = transfer(mib, rtt_ms, loss, seed);
            check(rtt_ms, loss, took);
            report.push(format!(
                "{rtt_ms:>3} ms RTT, {:>2.0}% loss: {mib} MiB in {:.2} s ({retransmitted} retransmitted chunks)",
                loss * 100.0,
                took.as_secs_f64(),
            ));
        }
    }
    println!("{}", report.join("\n"));
}

#[test]
fn one_mib_intact_at_1ms_and_100ms_rtt_under_loss_reordering_duplication() {
    matrix(1, |rtt_ms, loss, took| {
        if loss == 0.0 {
            // Reordering alone costs little: RACK's reordering window and
            // undoing spurious recoveries (10.3 s at 100 ms before them).
            assert!(
                took < Duration::from_millis(rtt_ms * 40),
                "{rtt_ms} ms RTT, reordering only: {took:?}"
            );
        }
    });
}

#[test]
fn two_hundred_fifty_six_mib_intact_at_1ms_and_100ms_rtt_under_loss_reordering_duplication() {
    matrix(256, |rtt_ms, loss, took| {
        if loss == 0.0 {
            // With an 8 MiB window, 256 MiB is 32 windows: the path stays full.
            assert!(
                took < Duration::from_millis(rtt_ms * 32 * 4 + 2000),
                "{rtt_ms} ms RTT, reordering only: {took:?}"
            );
        }
    });
}
