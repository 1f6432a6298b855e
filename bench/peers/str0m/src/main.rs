//! Two str0m peers in one thread over real UDP on loopback: TOTAL_MIB (64)
//! through one reliable ordered channel in MSG_KIB (64) KiB messages, with
//! buffered-amount flow control; MB/s, CPU s/GB and setup time (offer to the
//! channel open on both sides). str0m is sans-IO, so this is its own run
//! loop, as its docs describe. Run inside `unshare -n`:
//!   cargo run --release --manifest-path bench/peers/str0m/Cargo.toml
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use str0m::channel::ChannelId;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

struct Peer {
    rtc: Rtc,
    sock: UdpSocket,
    open: Option<ChannelId>,
    received: usize,
    buf: Vec<u8>,
}

impl Peer {
    fn new() -> Peer {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_nonblocking(true).unwrap();
        let mut rtc = Rtc::new(Instant::now());
        rtc.add_local_candidate(Candidate::host(sock.local_addr().unwrap(), "udp").unwrap());
        Peer { rtc, sock, open: None, received: 0, buf: vec![0; 2000] }
    }

    /// Drains output; returns the next timeout.
    fn drain(&mut self) -> Instant {
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Timeout(t) => return t,
                Output::Transmit(t) => {
                    let _ = self.sock.send_to(&t.contents, t.destination);
                }
                Output::Event(Event::ChannelOpen(id, _)) => self.open = Some(id),
                Output::Event(Event::ChannelData(d)) => self.received += d.data.len(),
                Output::Event(_) => {}
            }
        }
    }

    /// Feeds everything that arrived (draining after each input, as str0m
    /// requires), then the timeout; returns whether anything arrived.
    fn step(&mut self) -> bool {
        let local = self.sock.local_addr().unwrap();
        let mut any = false;
        while let Ok((n, source)) = self.sock.recv_from(&mut self.buf) {
            let r = Receive::new(Protocol::Udp, source, local, &self.buf[..n]).unwrap();
            self.rtc.handle_input(Input::Receive(Instant::now(), r)).unwrap();
            self.drain();
            any = true;
        }
        self.rtc.handle_input(Input::Timeout(Instant::now())).unwrap();
        self.drain();
        any
    }
}

/// A connected pair with an open channel, and how long that took.
fn pair() -> (Peer, Peer, ChannelId, Duration) {
    let mut a = Peer::new();
    let mut b = Peer::new();
    let t0 = Instant::now();
    let mut change = a.rtc.sdp_api();
    let cid = change.add_channel("bench".into());
    let (offer, pending) = change.apply().unwrap();
    a.drain();
    let answer = b.rtc.sdp_api().accept_offer(offer).unwrap();
    b.drain();
    a.rtc.sdp_api().accept_answer(pending, answer).unwrap();
    a.drain();
    while a.open.is_none() || b.open.is_none() {
        let busy = a.step() | b.step();
        if !busy {
            std::thread::sleep(Duration::from_micros(50));
        }
    }
    (a, b, cid, t0.elapsed())
}

fn main() {
    let mib: usize = std::env::var("TOTAL_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(64);
    let kib: usize = std::env::var("MSG_KIB").ok().and_then(|v| v.parse().ok()).unwrap_or(64);
    let mut setups: Vec<f64> = (0..10).map(|_| pair().3.as_secs_f64() * 1e3).collect();
    setups.sort_by(|x, y| x.total_cmp(y));
    let (mut a, mut b, cid, _) = pair();
    let total = mib << 20;
    let msg = vec![0x5au8; kib * 1024];
    let (c0, t0) = (cpu(), Instant::now());
    let mut sent = 0;
    while b.received < total {
        while sent < total {
            let Some(mut ch) = a.rtc.channel(cid) else { break };
            if ch.buffered_amount() > 4 << 20 {
                break;
            }
            if !ch.write(true, &msg).unwrap() {
                break;
            }
            sent += msg.len();
            a.drain();
        }
        let busy = a.step() | b.step();
        if !busy {
            std::thread::yield_now();
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "str0m ↔ str0m, one thread, loopback: {mib} MiB in {kib} KiB messages: {:.0} MB/s, {:.1} CPU s/GB (both peers); setup median {:.1} ms, max {:.1} ms over 10",
        total as f64 / 1e6 / secs,
        (cpu() - c0) / (total as f64 / 1e9),
        setups[5],
        setups[9]
    );
}
