//! Two agents on real UDP sockets on 127.0.0.1, each in its own thread,
//! signalling over channels, connect and agree on the pair.
#![allow(clippy::disallowed_methods)] // drives real sockets in real time

mod udp_driver;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use tern_crypto::OsRandom;
use tern_ice::{Candidate, Credentials, IceAgent, IceConfig, IceEvent};
use udp_driver::UdpDriver;

fn side(
    controlling: bool,
    tx: mpsc::Sender<(Credentials, Vec<Candidate>)>,
    rx: mpsc::Receiver<(Credentials, Vec<Candidate>)>,
) -> (std::net::SocketAddr, std::net::SocketAddr, Duration) {
    let agent = IceAgent::new(
        IceConfig {
            controlling,
            ..IceConfig::default()
        },
        Box::new(OsRandom),
    );
    let mut d = UdpDriver::bind("127.0.0.1:0", agent).unwrap();
    let now = Instant::now();
    let local = d.local;
    d.agent.gather(now, &[local]);
    assert!(d
        .run_until(Duration::from_secs(2), |d| d
            .events
            .contains(&IceEvent::EndOfLocalCandidates))
        .unwrap());
    let cands: Vec<Candidate> = d.agent.local_candidates().cloned().collect();
    tx.send((d.agent.local_credentials().clone(), cands))
        .unwrap();
    let (creds, remote) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let now = Instant::now();
    d.agent.set_remote_credentials(now, creds);
    for c in remote {
        d.agent.add_remote_candidate(now, c);
    }
    d.agent.set_remote_end_of_candidates(now);
    let t0 = Instant::now();
    assert!(
        d.run_until(Duration::from_secs(5), |d| d.connected())
            .unwrap(),
        "did not connect over UDP"
    );
    let took = t0.elapsed();
    // Keep answering the peer's last checks briefly.
    d.run_until(Duration::from_millis(300), |_| false).unwrap();
    let (l, r) = d.agent.selected_pair().unwrap();
    (l, r, took)
}

#[test]
fn two_agents_connect_over_udp_on_loopback() {
    let (tx_a, rx_b) = mpsc::channel();
    let (tx_b, rx_a) = mpsc::channel();
    let a = thread::spawn(move || side(true, tx_a, rx_a));
    let b = thread::spawn(move || side(false, tx_b, rx_b));
    let (la, ra, ta) = a.join().unwrap();
    let (lb, rb, tb) = b.join().unwrap();
    assert_eq!((la, ra), (rb, lb), "both sides selected the same 5-tuple");
    println!("udp loopback: connected in {ta:?} (controlling) / {tb:?} (controlled)");
}
