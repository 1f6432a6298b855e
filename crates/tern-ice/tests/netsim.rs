//! ICE over the simulated network: NAT matrix, loss, consent, restart,
//! role conflicts, lite, IPv6, trickle, demultiplexing, hostile input.

mod sim;

use std::time::Duration;

use sim::*;
use tern_ice::{IceConfig, IceConnectionState, IceEvent, Role};
use tern_netsim::LinkConfig;

fn expected_to_connect(a: Nat, b: Nat) -> bool {
    // Symmetric on one side needs the other to admit an unknown port from a
    // known address: full cone, restricted cone, or no NAT do; port-restricted
    // and symmetric do not (those pairs need TURN).
    !matches!(
        (a, b),
        (Nat::Symmetric, Nat::Symmetric)
            | (Nat::Symmetric, Nat::PortRestricted)
            | (Nat::PortRestricted, Nat::Symmetric)
    )
}

#[test]
fn nat_matrix_host_and_srflx() {
    let mut report = Vec::new();
    for (i, na) in Nat::ALL.iter().enumerate() {
        for (j, nb) in Nat::ALL.iter().enumerate() {
            let seed = (i * 10 + j) as u64;
            let (mut net, a, b) = pair_with(
                seed,
                *na,
                *nb,
                LinkConfig::default(),
                config(true),
                config(false),
            );
            let t0 = net.now();
            let ended = run(&mut net, a, b, Duration::from_secs(120), |n| {
                both(n, a, b, connected) || both(n, a, b, |s| s == IceConnectionState::Failed)
            });
            assert!(
                ended,
                "{na:?} vs {nb:?}: neither connected nor failed within 120 s"
            );
            let ok = both(&net, a, b, connected);
            let took = net.now() - t0;
            report.push(format!(
                "{na:?}/{nb:?}: {} in {:?}",
                if ok { "connected" } else { "failed" },
                took
            ));
            assert_eq!(ok, expected_to_connect(*na, *nb), "{na:?} vs {nb:?}");
            if ok {
                let pa = net.endpoint::<Peer>(a).agent.selected_pair().unwrap();
                let pb = net.endpoint::<Peer>(b).agent.selected_pair().unwrap();
                assert_eq!(pa.0.port(), 5000);
                assert_eq!(pb.0.port(), 5000);
            } else {
                assert!(
                    took < Duration::from_secs(60),
                    "{na:?} vs {nb:?} took {took:?} to fail"
                );
            }
        }
    }
    println!("{}", report.join("\n"));
}

/// The same matrix with a TURN server both sides know: every pair connects,
/// the ones that failed above through a relayed candidate.
#[test]
fn nat_matrix_with_turn_connects_every_pair() {
    for (i, na) in Nat::ALL.iter().enumerate() {
        for (j, nb) in Nat::ALL.iter().enumerate() {
            let seed = (100 + i * 10 + j) as u64;
            let (mut net, a, b) = pair_with(
                seed,
                *na,
                *nb,
                LinkConfig::default(),
                turn_config(true),
                turn_config(false),
            );
            let ended = run(&mut net, a, b, Duration::from_secs(120), |n| {
                both(n, a, b, connected) || both(n, a, b, |s| s == IceConnectionState::Failed)
            });
            assert!(ended && both(&net, a, b, connected), "{na:?} vs {nb:?}");
            let relayed = |h| {
                let p = net.endpoint::<Peer>(h);
                let (l, r) = p.agent.selected_pair().unwrap();
                let relay = sa(TURN_SERVER).ip();
                l.ip() == relay || r.ip() == relay
            };
            if !expected_to_connect(*na, *nb) {
                assert!(relayed(a) && relayed(b), "{na:?} vs {nb:?} needs the relay");
            } else {
                // A direct path is preferred whenever there is one.
                assert!(!relayed(a) && !relayed(b), "{na:?} vs {nb:?} relayed");
            }
        }
    }
}

#[test]
fn connects_under_20_percent_loss_and_5_percent_reordering() {
    // The impairment sits on A's access link, which every packet between the
    // peers crosses once: 20% loss and 5% reordering in each direction.
    let lossy = LinkConfig {
        latency: Duration::from_millis(12),
        jitter: Duration::from_millis(3),
        loss: 0.2,
        reorder: 0.05,
        reorder_delay: Duration::from_millis(20),
        ..LinkConfig::default()
    };
    let clean = LinkConfig::with_latency(Duration::from_millis(13));
    let mut times = Vec::new();
    for seed in 0..20 {
        let (mut net, a, b) = pair_with(
            100 + seed,
            Nat::PortRestricted,
            Nat::Restricted,
            clean.clone(),
            config(true),
            config(false),
        );
        net.set_link(a, lossy.clone());
        let t0 = net.now();
        let ok = run(&mut net, a, b, Duration::from_secs(60), |n| {
            both(n, a, b, connected)
        });
        if !ok {
            for h in [a, b] {
                let p = net.endpoint::<Peer>(h);
                eprintln!(
                    "{:?} {:?} {:?}",
                    p.agent,
                    p.agent.gathering_state(),
                    p.agent.stats()
                );
                for pr in p.agent.pairs() {
                    eprintln!(
                        "  {} -> {} {:?} {:?}",
                        pr.local_addr, pr.remote_addr, pr.state, pr.stats
                    );
                }
                for e in &p.events {
                    eprintln!("  {:?}", e.1);
                }
            }
        }
        assert!(ok, "seed {seed}");
        times.push((net.now() - t0).as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "20% loss, 5% reordering, ~50 ms RTT: time to connected over 20 seeds: median {:.0} ms, max {:.0} ms",
        times[times.len() / 2],
        times[times.len() - 1]
    );
}

#[test]
fn connect_time_in_round_trips_at_50ms_rtt() {
    // 12.5 ms on each access link, each way: 50 ms RTT between the peers.
    let link = LinkConfig::with_latency(Duration::from_micros(12_500));
    let (mut net, a, b) = pair_with(7, Nat::None, Nat::None, link, config(true), config(false));
    let t0 = net.now();
    assert!(run(&mut net, a, b, Duration::from_secs(10), |n| both(
        n, a, b, connected
    )));
    let ta = net
        .endpoint::<Peer>(a)
        .reached(IceConnectionState::Connected)
        .unwrap()
        - t0;
    let tb = net
        .endpoint::<Peer>(b)
        .reached(IceConnectionState::Connected)
        .unwrap()
        - t0;
    let rtts = |d: Duration| d.as_secs_f64() / 0.050;
    println!(
        "connect at 50 ms RTT: controlling {:.2} RTT ({ta:?}), controlled {:.2} RTT ({tb:?})",
        rtts(ta),
        rtts(tb)
    );
    // A check and its response (1 RTT) then the nominating check (1 RTT).
    assert!(rtts(ta) < 3.0 && rtts(tb) < 3.0);
    let stats = net.endpoint::<Peer>(a).agent.selected_pair_stats().unwrap();
    let rtt = stats.current_round_trip_time.unwrap();
    assert!(
        rtt >= Duration::from_millis(50) && rtt < Duration::from_millis(52),
        "{rtt:?}"
    );
}

#[test]
fn consent_lost_goes_disconnected_then_failed_within_30s() {
    let (mut net, a, b) = pair_with(
        8,
        Nat::None,
        Nat::None,
        LinkConfig::default(),
        config(true),
        config(false),
    );
    assert!(run(&mut net, a, b, Duration::from_secs(10), |n| both(
        n, a, b, connected
    )));
    // The peer vanishes: nothing reaches or leaves it any more.
    net.set_link(
        b,
        LinkConfig {
            loss: 1.0,
            ..LinkConfig::default()
        },
    );
    let vanished = net.now();
    assert!(run(&mut net, a, b, Duration::from_secs(60), |n| n
        .endpoint::<Peer>(a)
        .state()
        == IceConnectionState::Failed));
    let pa = net.endpoint::<Peer>(a);
    let disconnected = pa.reached(IceConnectionState::Disconnected).unwrap() - vanished;
    let failed = pa.reached(IceConnectionState::Failed).unwrap() - vanished;
    println!("peer vanished: disconnected after {disconnected:?}, failed after {failed:?}");
    assert!(disconnected <= Duration::from_secs(6), "{disconnected:?}");
    assert!(failed <= Duration::from_secs(30), "{failed:?}");
    assert!(failed > disconnected);
    assert_eq!(
        pa.agent.selected_pair(),
        None,
        "no data may be sent after consent expires"
    );
}

#[test]
fn disconnected_recovers_when_the_path_returns() {
    let (mut net, a, b) = pair_with(
        9,
        Nat::None,
        Nat::None,
        LinkConfig::default(),
        config(true),
        config(false),
    );
    assert!(run(&mut net, a, b, Duration::from_secs(10), |n| both(
        n, a, b, connected
    )));
    net.set_link(
        b,
        LinkConfig {
            loss: 1.0,
            ..LinkConfig::default()
        },
    );
    assert!(run(&mut net, a, b, Duration::from_secs(20), |n| n
        .endpoint::<Peer>(a)
        .state()
        == IceConnectionState::Disconnected));
    net.set_link(b, LinkConfig::default());
    assert!(run(&mut net, a, b, Duration::from_secs(5), |n| both(
        n, a, b, connected
    )));
}

#[test]
fn ice_restart_moves_data_to_the_new_pair_without_a_gap() {
    let link = LinkConfig::with_latency(Duration::from_millis(10)); // 40 ms RTT
    let (mut net, a, b) = pair_with(10, Nat::None, Nat::None, link, config(true), config(false));
    net.endpoint_mut::<Peer>(a).data_interval = Some(Duration::from_millis(10));
    net.endpoint_mut::<Peer>(a).next_data = Some(net.now());
    assert!(run(&mut net, a, b, Duration::from_secs(10), |n| both(
        n, a, b, connected
    )));
    net.run_for(Duration::from_secs(1));
    let old_pair = net.endpoint::<Peer>(a).agent.selected_pair().unwrap();

    // A new interface appears on A (say Wi-Fi next to Ethernet); A restarts ICE.
    let new_addr = sa("203.0.113.11:6000");
    net.add_address(a, new_addr.ip());
    let now = net.now();
    let restart_at = now;
    {
        let pa = net.endpoint_mut::<Peer>(a);
        pa.agent.restart(now);
        pa.agent.gather(now, &[new_addr]);
    }
    // Offer/answer: B learns A's new credentials and restarts too.
    let ca = net.endpoint::<Peer>(a).agent.local_credentials().clone();
    net.endpoint_mut::<Peer>(b)
        .agent
        .set_remote_credentials(now, ca);
    let cb = net.endpoint_mut::<Peer>(b).agent.restart(now);
    net.endpoint_mut::<Peer>(a)
        .agent
        .set_remote_credentials(now, cb);

    assert!(run(&mut net, a, b, Duration::from_secs(10), |n| {
        n.endpoint::<Peer>(a)
            .agent
            .selected_pair()
            .is_some_and(|p| p != old_pair)
            && n.endpoint::<Peer>(b).agent.selected_pair().is_some()
    }));
    net.run_for(Duration::from_secs(1));
    let new_pair = net.endpoint::<Peer>(a).agent.selected_pair().unwrap();
    assert_ne!(new_pair, old_pair);
    let pb = net.endpoint::<Peer>(b);
    // Every packet A sent arrived, and the largest gap around the restart is
    // no longer than one check round trip (40 ms) beyond the 10 ms sending interval.
    let seqs: Vec<u32> = pb.data_in.iter().map(|d| d.2).collect();
    let max_seq = *seqs.iter().max().unwrap();
    assert_eq!(
        seqs.len() as u32,
        max_seq + 1,
        "data lost across the restart"
    );
    let around: Vec<_> = pb
        .data_in
        .iter()
        .filter(|d| d.0 >= restart_at - Duration::from_millis(100))
        .collect();
    let gap = around.windows(2).map(|w| w[1].0 - w[0].0).max().unwrap();
    let moved = around.iter().any(|d| d.1 == new_pair.0);
    println!("restart: old {old_pair:?} -> new {new_pair:?}; largest gap in data {gap:?}");
    assert!(moved, "data arrives from the new pair");
    assert!(gap <= Duration::from_millis(50), "gap {gap:?}");
    // Per-pair byte counters follow the data onto the new pair.
    let sa_stats = net.endpoint::<Peer>(a).agent.selected_pair_stats().unwrap();
    let sb_stats = net.endpoint::<Peer>(b).agent.selected_pair_stats().unwrap();
    assert!(
        sa_stats.bytes_sent > 0 && sb_stats.bytes_received > 0,
        "{sa_stats:?} / {sb_stats:?}"
    );
    assert!(sb_stats.bytes_received <= sa_stats.bytes_sent);
    assert!(both(&net, a, b, connected));
}

#[test]
fn role_conflicts_resolve() {
    for (ca, cb) in [(true, true), (false, false)] {
        let (mut net, a, b) = pair_with(
            11,
            Nat::None,
            Nat::None,
            LinkConfig::default(),
            config(ca),
            config(cb),
        );
        assert!(
            run(&mut net, a, b, Duration::from_secs(10), |n| both(
                n, a, b, connected
            )),
            "{ca} {cb}"
        );
        let ra = net.endpoint::<Peer>(a).agent.role();
        let rb = net.endpoint::<Peer>(b).agent.role();
        assert_ne!(ra, rb, "exactly one side ends up controlling");
        let conflicts = net.endpoint::<Peer>(a).agent.stats().role_conflicts
            + net.endpoint::<Peer>(b).agent.stats().role_conflicts;
        assert!(conflicts > 0);
        assert_eq!(
            net.endpoint::<Peer>(a).agent.selected_pair().map(|p| p.1),
            net.endpoint::<Peer>(b).agent.selected_pair().map(|p| p.0)
        );
    }
}

#[test]
fn full_agent_connects_to_lite_agent() {
    let lite = IceConfig {
        lite: true,
        ..IceConfig::default()
    };
    let (mut net, a, b) = pair_with(
        12,
        Nat::PortRestricted,
        Nat::None,
        LinkConfig::default(),
        config(false),
        lite,
    );
    let now = net.now();
    net.endpoint_mut::<Peer>(a).agent.set_remote_lite(now, true);
    assert_eq!(net.endpoint::<Peer>(a).agent.role(), Role::Controlling);
    assert!(run(&mut net, a, b, Duration::from_secs(10), |n| both(
        n, a, b, connected
    )));
    // The lite side stays connected on the full side's consent checks.
    net.run_for(Duration::from_secs(20));
    assert!(both(&net, a, b, connected));
    let pb = net.endpoint::<Peer>(b);
    assert!(
        pb.agent.pairs().is_empty(),
        "a lite agent keeps no check list"
    );
}

#[test]
fn ipv6_and_several_interfaces() {
    let mut net = tern_netsim::Network::new(13);
    let a_addrs = [
        sa("[2001:db8::a]:5000"),
        sa("203.0.113.10:5000"),
        sa("203.0.113.11:5000"),
    ];
    let b_addrs = [sa("[2001:db8::b]:5000"), sa("203.0.113.20:5000")];
    let a = net.add_host(
        Peer::new(config(true), 1),
        &a_addrs.map(|a| a.ip()),
        tern_netsim::Attachment::Internet,
        LinkConfig::default(),
    );
    let b = net.add_host(
        Peer::new(config(false), 2),
        &b_addrs.map(|a| a.ip()),
        tern_netsim::Attachment::Internet,
        LinkConfig::default(),
    );
    exchange_credentials(&mut net, a, b);
    let now = net.now();
    net.endpoint_mut::<Peer>(a).agent.gather(now, &a_addrs);
    net.endpoint_mut::<Peer>(b).agent.gather(now, &b_addrs);
    assert!(run(&mut net, a, b, Duration::from_secs(10), |n| both(
        n, a, b, connected
    )));
    let (local, remote) = net.endpoint::<Peer>(a).agent.selected_pair().unwrap();
    assert!(
        local.is_ipv6() && remote.is_ipv6(),
        "IPv6 is preferred (RFC 8421): {local} {remote}"
    );
    // 1 v6 pair + 2x1 v4 pairs; families never mix.
    assert_eq!(net.endpoint::<Peer>(a).agent.pairs().len(), 3);
}

#[test]
fn late_trickled_candidates_still_connect() {
    let (mut net, a, b) = pair_with(
        14,
        Nat::None,
        Nat::None,
        LinkConfig::default(),
        config(true),
        config(false),
    );
    // Hold B's signals for two seconds, then deliver them.
    net.run_for(Duration::from_secs(2));
    let held = std::mem::take(&mut net.endpoint_mut::<Peer>(b).outbox);
    assert!(!held.is_empty());
    net.endpoint_mut::<Peer>(b).outbox = held;
    assert!(run(&mut net, a, b, Duration::from_secs(10), |n| both(
        n, a, b, connected
    )));
}

#[test]
fn hostile_input_is_dropped_and_counted_without_state_change() {
    use tern_stun::{
        method, Attribute, Class, IntegrityKey, MessageBuilder, MessageType, TransactionId,
    };
    let (mut net, a, b) = pair_with(
        15,
        Nat::None,
        Nat::None,
        LinkConfig::default(),
        config(true),
        config(false),
    );
    assert!(run(&mut net, a, b, Duration::from_secs(10), |n| both(
        n, a, b, connected
    )));
    net.run_for(Duration::from_secs(2));
    let state_before = net.endpoint::<Peer>(a).state();
    let now = net.now();
    let from = sa("198.51.100.66:1234");
    let to = sa("203.0.113.10:5000");
    let pa = net.endpoint_mut::<Peer>(a);
    let before_pairs = pa.agent.pairs().len();
    let before_remotes = pa.agent.remote_candidates().len();
    let selected = pa.agent.selected_pair();
    // A flood of checks from an unknown ufrag.
    let mut buf = Vec::new();
    for i in 0..10_000u32 {
        let mut m = MessageBuilder::new(
            &mut buf,
            MessageType::new(Class::Request, method::BINDING),
            TransactionId([i as u8; 12]),
        );
        m.add(&Attribute::Username("nobody:evil")).unwrap();
        m.add(&Attribute::Priority(i)).unwrap();
        m.add_message_integrity(&IntegrityKey::short_term("whatever-password-here"))
            .unwrap();
        m.add_fingerprint().unwrap();
        assert!(pa.agent.handle_receive(now, from, to, &buf));
    }
    // Checks with our ufrag but a wrong password: answered 401, nothing learnt.
    let ours = pa.agent.local_credentials().ufrag.clone();
    for i in 0..100u8 {
        let mut m = MessageBuilder::new(
            &mut buf,
            MessageType::new(Class::Request, method::BINDING),
            TransactionId([i; 12]),
        );
        m.add(&Attribute::Username(&format!("{ours}:x"))).unwrap();
        m.add_message_integrity(&IntegrityKey::short_term("wrong-password-0123456789"))
            .unwrap();
        m.add_fingerprint().unwrap();
        pa.agent.handle_receive(now, from, to, &buf);
    }
    // Garbage and truncated STUN.
    let mut rng = tern_crypto::SeededRandom::new(1);
    for len in 0..500usize {
        let mut g = vec![0u8; len];
        tern_crypto::Random::fill(&mut rng, &mut g);
        if let Some(b0) = g.first_mut() {
            *b0 &= 0x03; // looks like STUN to the demultiplexer
        }
        pa.agent.handle_receive(now, from, to, &g);
    }
    let stats = pa.agent.stats();
    assert_eq!(stats.unknown_ufrag, 10_000);
    assert_eq!(stats.integrity_failures, 100);
    assert!(stats.malformed > 400);
    assert_eq!(pa.agent.pairs().len(), before_pairs);
    assert_eq!(pa.agent.remote_candidates().len(), before_remotes);
    assert_eq!(pa.agent.selected_pair(), selected);
    let mut sent = 0;
    while pa.agent.poll_transmit().is_some() {
        sent += 1;
    }
    assert!(sent <= 256, "answers to a flood are bounded: {sent}");
    assert!(run(&mut net, a, b, Duration::from_secs(5), |_| false) || both(&net, a, b, connected));
    assert!(both(&net, a, b, connected));
    let events: Vec<_> = net
        .endpoint::<Peer>(a)
        .events
        .iter()
        .filter(|(t, e)| *t >= now && matches!(e, IceEvent::ConnectionStateChange(_)))
        .collect();
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(net.endpoint::<Peer>(a).state(), state_before);
}

#[test]
fn new_checks_are_paced_by_ta() {
    let mut net = tern_netsim::Network::new(16);
    net.enable_trace();
    let a_addr = sa("203.0.113.10:5000");
    let b_addrs: Vec<_> = (0..6)
        .map(|i| sa(&format!("203.0.113.{}:5000", 20 + i)))
        .collect();
    let a = net.add_host(
        Peer::new(config(true), 1),
        &[a_addr.ip()],
        tern_netsim::Attachment::Internet,
        LinkConfig::default(),
    );
    // B never answers: only A's own schedule shows in the trace.
    let b = net.add_host(
        Peer::new(config(false), 2),
        &b_addrs.iter().map(|x| x.ip()).collect::<Vec<_>>(),
        tern_netsim::Attachment::Internet,
        LinkConfig {
            loss: 1.0,
            ..LinkConfig::default()
        },
    );
    exchange_credentials(&mut net, a, b);
    let now = net.now();
    net.endpoint_mut::<Peer>(a).agent.gather(now, &[a_addr]);
    net.endpoint_mut::<Peer>(b).agent.gather(now, &b_addrs);
    run(&mut net, a, b, Duration::from_secs(2), |_| false);
    let mut first: Vec<(Duration, std::net::SocketAddr)> = Vec::new();
    for r in net
        .trace()
        .iter()
        .filter(|r| r.host == a && r.to.ip() != sa(STUN_SERVER).ip())
    {
        if !first.iter().any(|(_, to)| *to == r.to) {
            first.push((r.at, r.to));
        }
    }
    assert_eq!(first.len(), 6, "one check per pair: {first:?}");
    for w in first.windows(2) {
        assert!(
            w[1].0 - w[0].0 >= Duration::from_millis(50),
            "checks {w:?} closer than Ta"
        );
    }
}
