//! Connects two agents in memory: datagrams go straight from one to the
//! other after a fixed one-way delay, in virtual time. Shared by the memory
//! test and the benchmarks.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tern_crypto::SeededRandom;
use tern_ice::{IceAgent, IceConfig, IceConnectionState};

pub fn connected(a: &IceAgent) -> bool {
    matches!(
        a.connection_state(),
        IceConnectionState::Connected | IceConnectionState::Completed
    )
}

/// Two connected agents, host candidates `addr_a` and `addr_b`, and the virtual time reached.
pub fn connected_pair(
    seed: u64,
    addr_a: SocketAddr,
    addr_b: SocketAddr,
    start: Instant,
) -> (IceAgent, IceAgent, Instant) {
    let mut a = IceAgent::new(
        IceConfig {
            controlling: true,
            ..IceConfig::default()
        },
        Box::new(SeededRandom::new(seed * 2)),
    );
    let mut b = IceAgent::new(
        IceConfig::default(),
        Box::new(SeededRandom::new(seed * 2 + 1)),
    );
    let mut now = start;
    a.set_remote_credentials(now, b.local_credentials().clone());
    b.set_remote_credentials(now, a.local_credentials().clone());
    a.gather(now, &[addr_a]);
    b.gather(now, &[addr_b]);
    let ca: Vec<_> = a.local_candidates().cloned().collect();
    let cb: Vec<_> = b.local_candidates().cloned().collect();
    for c in ca {
        b.add_remote_candidate(now, c);
    }
    for c in cb {
        a.add_remote_candidate(now, c);
    }
    a.set_remote_end_of_candidates(now);
    b.set_remote_end_of_candidates(now);
    let step = Duration::from_millis(1);
    for _ in 0..10_000 {
        exchange(&mut a, &mut b, now);
        exchange(&mut b, &mut a, now);
        while a.poll_event().is_some() {}
        while b.poll_event().is_some() {}
        if connected(&a)
            && connected(&b)
            && a.pairs()
                .iter()
                .all(|p| p.state == tern_ice::PairState::Succeeded)
        {
            break;
        }
        now += step;
    }
    assert!(
        connected(&a) && connected(&b),
        "in-memory pair did not connect"
    );
    (a, b, now)
}

/// Delivers `x`'s datagrams to `y` and runs `x`'s due timers.
fn exchange(x: &mut IceAgent, y: &mut IceAgent, now: Instant) {
    while let Some(t) = x.poll_transmit() {
        let from = t.source.expect("agents name their source");
        y.handle_receive(now, from, t.destination, &t.contents);
    }
    if x.poll_timeout().is_some_and(|t| t <= now) {
        x.handle_timeout(now);
    }
}
