//! Two associations in one thread with virtual time: handshake, transfers
//! checked byte for byte, loss and reordering, shutdown, hostile input.
#![allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time

use std::time::{Duration, Instant};

use tern_crypto::{Random, SeededRandom};
use tern_sctp::{Association, SctpConfig, SctpEvent};

mod common;
use common::Pair;

fn pair(seed: u64, loss: f64, reorder: f64, delay: Duration) -> Pair<Association> {
    let now = Instant::now();
    let mut a = Association::new(
        SctpConfig::default(),
        Box::new(SeededRandom::new(seed)),
        now,
    );
    let b = Association::new(
        SctpConfig::default(),
        Box::new(SeededRandom::new(seed + 1)),
        now,
    );
    a.connect(now);
    Pair::new(a, b, now, seed + 2, loss, reorder, delay)
}

fn messages(events: &[SctpEvent]) -> Vec<&tern_sctp::Message> {
    events
        .iter()
        .filter_map(|e| {
            if let SctpEvent::Message(m) = e {
                Some(m)
            } else {
                None
            }
        })
        .collect()
}

fn transfer(
    seed: u64,
    loss: f64,
    reorder: f64,
    delay: Duration,
    total: usize,
    msg: usize,
) -> Duration {
    let mut p = pair(seed, loss, reorder, delay);
    assert!(
        p.run(Duration::from_secs(60), |p| p.a.is_established()
            && p.b.is_established()),
        "no handshake (seed {seed})"
    );
    let mut rng = SeededRandom::new(seed * 7);
    let mut sent = Vec::new();
    let mut queued = 0;
    let t0 = p.now;
    let mut offset = 0;
    while offset < total {
        // Keep a bounded amount buffered, as an application honouring bufferedAmount would.
        while offset < total && p.a.buffered_amount(1) < 4 * 1024 * 1024 {
            let n = msg.min(total - offset);
            let mut m = vec![0u8; n];
            rng.fill(&mut m);
            p.a.send(p.now, 1, 53, &m, false).unwrap();
            sent.push(m);
            offset += n;
            queued += 1;
        }
        let want = queued;
        p.run(Duration::from_secs(600), |p| {
            messages(&p.got_b).len() == want || p.a.buffered_amount(1) < 2 * 1024 * 1024
        });
    }
    let n = sent.len();
    assert!(
        p.run(Duration::from_secs(600), |p| messages(&p.got_b).len() == n),
        "seed {seed}: delivered {} of {n}; {:?} {:?}",
        messages(&p.got_b).len(),
        p.a,
        p.b
    );
    let got = messages(&p.got_b);
    for (i, (g, s)) in got.iter().zip(&sent).enumerate() {
        assert_eq!(&g.data, s, "message {i} differs (seed {seed})");
        assert_eq!((g.stream, g.ppid), (1, 53));
    }
    p.now - t0
}

#[test]
fn handshake_then_1_mib_ordered_reliable_without_loss() {
    let took = transfer(1, 0.0, 0.0, Duration::from_millis(5), 1 << 20, 64 * 1024);
    println!("1 MiB, no loss, 10 ms RTT: {took:?} of virtual time");
}

#[test]
fn one_mib_intact_under_loss_and_reordering() {
    for (seed, loss) in [(2, 0.01), (3, 0.05), (4, 0.2)] {
        let took = transfer(
            seed,
            loss,
            0.05,
            Duration::from_millis(5),
            1 << 20,
            64 * 1024,
        );
        println!(
            "1 MiB, {:.0}% loss, 5% reordering, 10 ms RTT: {took:?}",
            loss * 100.0
        );
    }
}

#[test]
fn small_messages_and_unordered_delivery() {
    let mut p = pair(5, 0.0, 0.3, Duration::from_millis(5));
    assert!(p.run(Duration::from_secs(10), |p| p.a.is_established()
        && p.b.is_established()));
    for i in 0..1000u32 {
        p.a.send(
            p.now,
            (i % 3) as u16,
            51,
            format!("msg {i}").as_bytes(),
            i % 2 == 0,
        )
        .unwrap();
    }
    assert!(p.run(Duration::from_secs(30), |p| messages(&p.got_b).len()
        == 1000));
    // Ordered messages of each stream arrive in order.
    for stream in 0..3u16 {
        let ordered: Vec<u32> = messages(&p.got_b)
            .iter()
            .filter(|m| m.stream == stream && !m.unordered)
            .map(|m| String::from_utf8_lossy(&m.data)[4..].parse().unwrap())
            .collect();
        assert!(
            ordered.windows(2).all(|w| w[0] < w[1]),
            "stream {stream} out of order"
        );
    }
}

#[test]
fn graceful_shutdown_after_data() {
    let mut p = pair(6, 0.0, 0.0, Duration::from_millis(5));
    assert!(p.run(Duration::from_secs(10), |p| p.a.is_established()
        && p.b.is_established()));
    p.a.send(p.now, 0, 51, b"last words", false).unwrap();
    let now = p.now;
    p.a.close(now);
    assert!(p.run(Duration::from_secs(10), |p| p
        .got_a
        .contains(&SctpEvent::Closed)
        && p.got_b.contains(&SctpEvent::Closed)));
    assert_eq!(messages(&p.got_b)[0].data, b"last words");
}

#[test]
fn handshake_survives_heavy_loss() {
    for seed in 10..20 {
        let mut p = pair(seed, 0.3, 0.1, Duration::from_millis(20));
        let t0 = p.now;
        // RFC 9260's T1 doubles from 1 s: an unlucky run needs a few minutes.
        assert!(
            p.run(Duration::from_secs(600), |p| p.a.is_established()
                && p.b.is_established()),
            "seed {seed}: {:?} {:?}",
            p.a,
            p.b
        );
        println!("seed {seed}: handshake at 30% loss took {:?}", p.now - t0);
    }
}

#[test]
fn garbage_and_wrong_tags_are_dropped() {
    let mut p = pair(7, 0.0, 0.0, Duration::from_millis(5));
    assert!(p.run(Duration::from_secs(10), |p| p.a.is_established()
        && p.b.is_established()));
    let mut rng = SeededRandom::new(3);
    let now = p.now;
    for len in 0..500 {
        let mut g = vec![0u8; len];
        rng.fill(&mut g);
        p.b.handle_receive(now, &g);
    }
    // A valid packet with a wrong verification tag.
    let mut w = tern_sctp::chunk::PacketWriter::new(tern_sctp::chunk::CommonHeader {
        source_port: 5000,
        destination_port: 5000,
        verification_tag: 12345,
    });
    w.push(&tern_sctp::chunk::Chunk::Abort {
        reflected: false,
        causes: vec![],
    });
    p.b.handle_receive(now, &w.finish(false));
    assert!(p.b.stats().malformed > 400);
    assert_eq!(p.b.stats().bad_tag, 1);
    assert!(
        p.b.is_established(),
        "an ABORT with the wrong tag does nothing"
    );
    p.a.send(p.now, 0, 51, b"still fine", false).unwrap();
    assert!(p.run(Duration::from_secs(5), |p| messages(&p.got_b).len() == 1));
}

#[test]
fn a_stale_cookie_restarts_the_handshake() {
    let now = Instant::now();
    let mut a = Association::new(SctpConfig::default(), Box::new(SeededRandom::new(1)), now);
    let mut b = Association::new(SctpConfig::default(), Box::new(SeededRandom::new(2)), now);
    a.connect(now);
    let init = a.poll_transmit().unwrap();
    b.handle_receive(now, &init);
    let init_ack = b.poll_transmit().unwrap();
    a.handle_receive(now, &init_ack);
    let cookie_echo = a.poll_transmit().unwrap();
    // The echo arrives 61 s later: the cookie has expired.
    let later = now + Duration::from_secs(61);
    b.handle_receive(later, &cookie_echo);
    assert!(!b.is_established());
    let error = b.poll_transmit().expect("an ERROR with Stale Cookie");
    a.handle_receive(later, &error);
    let again = a.poll_transmit().expect("a fresh INIT");
    // From here the handshake completes normally.
    b.handle_receive(later, &again);
    let ack = b.poll_transmit().unwrap();
    a.handle_receive(later, &ack);
    let echo = a.poll_transmit().unwrap();
    b.handle_receive(later, &echo);
    let cookie_ack = b.poll_transmit().unwrap();
    a.handle_receive(later, &cookie_ack);
    assert!(a.is_established() && b.is_established());
}

fn partial_reliability(unordered: bool, seed: u64) {
    use std::collections::BTreeSet;
    use tern_sctp::SendOptions;
    let mut p = pair(seed, 0.2, 0.05, Duration::from_millis(10));
    assert!(p.run(Duration::from_secs(60), |p| p.a.is_established()
        && p.b.is_established()));
    let n = 2000u32;
    let mut ids = std::collections::HashMap::new();
    for i in 0..n {
        let opts = SendOptions {
            unordered,
            max_retransmits: Some(0),
            lifetime: None,
        };
        let id = p.a.send_with(p.now, 2, 51, &i.to_be_bytes(), opts).unwrap();
        ids.insert(id, i);
        if i % 50 == 0 {
            p.run(Duration::from_millis(20), |_| false);
        }
    }
    // Let everything settle: nothing outstanding, no FORWARD TSN pending.
    let settle_start = p.now;
    assert!(
        p.run(Duration::from_secs(3600), |p| !p.a.has_unacknowledged()),
        "everything acknowledged or skipped: a timeout in {:?}, b {:?}; {:?} / {:?} / {:?}",
        p.a.poll_timeout()
            .map(|t| t.saturating_duration_since(p.now)),
        p.b.poll_timeout()
            .map(|t| t.saturating_duration_since(p.now)),
        p.a,
        p.b,
        p.got_a
            .iter()
            .filter(|e| !matches!(e, SctpEvent::Abandoned { .. }))
            .collect::<Vec<_>>()
    );
    let settle_start_elapsed = p.now - settle_start;
    assert_eq!(p.a.buffered_amount(2), 0, "the channel never stalls");
    let delivered: BTreeSet<u32> = messages(&p.got_b)
        .iter()
        .map(|m| u32::from_be_bytes(m.data[..4].try_into().unwrap()))
        .collect();
    let abandoned: BTreeSet<u32> = p
        .got_a
        .iter()
        .filter_map(|e| {
            if let SctpEvent::Abandoned { message, .. } = e {
                ids.get(message).copied()
            } else {
                None
            }
        })
        .collect();
    let all: BTreeSet<u32> = (0..n).collect();
    let accounted: BTreeSet<u32> = delivered.union(&abandoned).copied().collect();
    let missing: Vec<u32> = all.difference(&accounted).copied().take(10).collect();
    assert!(
        missing.is_empty(),
        "neither delivered nor reported abandoned: {missing:?} ({} in all)",
        all.len() - accounted.len()
    );
    assert!(
        !abandoned.is_empty(),
        "with 20% loss and no retransmissions some are abandoned"
    );
    assert!(
        delivered.len() as u32 > n / 2,
        "most still arrive: {}",
        delivered.len()
    );
    if !unordered {
        let order: Vec<u32> = messages(&p.got_b)
            .iter()
            .map(|m| u32::from_be_bytes(m.data[..4].try_into().unwrap()))
            .collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "ordered delivery skips abandoned messages but never reorders"
        );
    }
    // The tail settles in seconds: one RTT sample per round trip keeps the
    // RTO sane (timing every late-acked chunk once pushed this past 25 min).
    assert!(
        settle_start_elapsed < Duration::from_secs(60),
        "tail took {settle_start_elapsed:?}"
    );
    // And the stream keeps working for reliable traffic afterwards.
    let before = messages(&p.got_b).len();
    p.a.send(p.now, 2, 51, b"after", false).unwrap();
    assert!(p.run(Duration::from_secs(60), |p| messages(&p.got_b).len()
        > before));
    println!(
                "{} max_retransmits=0 at 20% loss: {} delivered, {} abandoned (of {n}); tail settled {:?} after the last send",
        if unordered { "unordered" } else { "ordered" },
        delivered.len(),
        abandoned.len(),
        settle_start_elapsed
    );
}

#[test]
fn unordered_max_retransmits_0_never_stalls_and_reports_abandoned() {
    partial_reliability(true, 40);
}

#[test]
fn ordered_max_retransmits_0_skips_forward_with_forward_tsn() {
    partial_reliability(false, 41);
}

#[test]
fn zero_window_for_10_seconds_then_the_transfer_completes() {
    // 16 MiB against the default 8 MiB receive window.
    let mut p = pair(11, 0.0, 0.0, Duration::from_millis(10));
    assert!(p.run(Duration::from_secs(5), |p| p.a.is_established()
        && p.b.is_established()));
    let mut rng = SeededRandom::new(99);
    let mut sent = Vec::new();
    for _ in 0..256 {
        let mut m = vec![0u8; 64 * 1024];
        rng.fill(&mut m);
        p.a.send(p.now, 3, 53, &m, false).unwrap();
        sent.push(m);
    }
    // B's application stops reading: its 8 MiB window fills and closes.
    p.hold_b = true;
    p.run(Duration::from_secs(10), |_| false);
    assert!(
        p.a.buffered_amount(3) > 3 * 1024 * 1024,
        "the sender is held back by the closed window"
    );
    // Reading resumes: everything arrives, intact and in order.
    p.hold_b = false;
    let resumed = p.now;
    assert!(
        p.run(Duration::from_secs(60), |p| messages(&p.got_b).len() == 256),
        "delivered {} of 256 after the window reopened",
        messages(&p.got_b).len()
    );
    println!("window reopened: the rest took {:?}", p.now - resumed);
    for (g, s) in messages(&p.got_b).iter().zip(&sent) {
        assert_eq!(&g.data, s);
    }
    assert_eq!(
        p.a.stats().t3_expiries,
        0,
        "probes, not timeouts, kept it going"
    );
}

#[test]
fn max_burst_limits_a_send_into_an_open_window() {
    let mut p = pair(12, 0.0, 0.0, Duration::from_millis(10));
    assert!(p.run(Duration::from_secs(5), |p| p.a.is_established()
        && p.b.is_established()));
    // Grow the congestion window, then let everything be acknowledged.
    for _ in 0..64 {
        p.a.send(p.now, 0, 53, &[1; 64 * 1024], false).unwrap();
    }
    assert!(p.run(Duration::from_secs(30), |p| !p.a.has_unacknowledged()));
    assert!(p.a.cwnd() > 100 * 1200, "cwnd {}", p.a.cwnd());
    // A large send into the idle, wide-open window: at most Max.Burst (4)
    // packets leave at once; the rest follows the acknowledgements.
    p.collect();
    p.in_flight.clear();
    p.a.send(p.now, 0, 53, &[2; 256 * 1024], false).unwrap();
    let mut burst = 0;
    while p.a.poll_transmit().is_some() {
        burst += 1;
    }
    assert_eq!(burst, 4);
}

#[test]
fn out_of_buffer_data_is_dropped_unacked_but_the_next_expected_tsn_is_kept() {
    use tern_sctp::chunk::{parse_packet, Chunk, CommonHeader, Data, PacketWriter};
    let now = Instant::now();
    let small = SctpConfig {
        receive_window: 16 * 1024,
        max_message_size: 16 * 1024,
        ..SctpConfig::default()
    };
    let mut a = Association::new(SctpConfig::default(), Box::new(SeededRandom::new(1)), now);
    let b = Association::new(small, Box::new(SeededRandom::new(2)), now);
    a.connect(now);
    let mut p = Pair::new(a, b, now, 3, 0.0, 0.0, Duration::from_millis(5));
    assert!(p.run(Duration::from_secs(5), |p| p.a.is_established()
        && p.b.is_established()));
    // Learn B's tag and next expected TSN from one real DATA packet.
    p.a.send(p.now, 0, 53, b"x", false).unwrap();
    let pkt = p.a.poll_transmit().unwrap();
    let (h, chunks) = parse_packet(&pkt, true).unwrap();
    let Some(Chunk::Data(first)) = chunks.into_iter().find(|c| matches!(c, Chunk::Data(_))) else {
        panic!("no DATA");
    };
    p.b.handle_receive(p.now, &pkt);
    let tsn = first.tsn;
    // Middle fragments of a message whose start (tsn + 1) is missing pile
    // up in reassembly until the 16 KiB buffer is full.
    let fragment = |n: u32, begin: bool| Data {
        tsn: tsn.plus(n),
        stream: 0,
        ssn: 1,
        ppid: 53,
        unordered: false,
        begin,
        end: false,
        immediate: false,
        payload: vec![n as u8; 1000].into(),
    };
    let deliver = |b: &mut Association, d: Data| {
        let mut w = PacketWriter::new(CommonHeader {
            verification_tag: h.verification_tag,
            ..h
        });
        w.push(&Chunk::Data(d));
        b.handle_receive(now, &w.finish(false));
    };
    for n in 2..=17 {
        deliver(&mut p.b, fragment(n, false));
    }
    assert_eq!(p.b.stats().dropped_no_buffer, 0);
    deliver(&mut p.b, fragment(18, false));
    assert_eq!(p.b.stats().dropped_no_buffer, 1, "no room: dropped");
    // Dropped means not acknowledged: the SACK's gap ends at 17.
    let sack = std::iter::from_fn(|| p.b.poll_transmit())
        .filter_map(|pk| parse_packet(&pk, true).ok())
        .flat_map(|(_, c)| c)
        .filter_map(|c| {
            if let Chunk::Sack(s) = c {
                Some(s)
            } else {
                None
            }
        })
        .last()
        .expect("a SACK at once");
    assert_eq!(sack.cumulative_tsn, tsn.0);
    assert_eq!(
        sack.gaps.last().map(|g| g.1),
        Some(17),
        "acked up to +17; +18 is not"
    );
    // The next expected TSN is always taken, so the stream cannot deadlock.
    deliver(&mut p.b, fragment(1, true));
    assert_eq!(p.b.stats().dropped_no_buffer, 1);
}

#[test]
fn heartbeats_keep_an_idle_association_and_detect_a_vanished_peer() {
    let now = Instant::now();
    let cfg = SctpConfig {
        heartbeat_interval: Some(Duration::from_secs(1)),
        ..SctpConfig::default()
    };
    let mut a = Association::new(cfg.clone(), Box::new(SeededRandom::new(70)), now);
    let b = Association::new(cfg, Box::new(SeededRandom::new(71)), now);
    a.connect(now);
    let mut p = Pair::new(a, b, now, 72, 0.0, 0.0, Duration::from_millis(40));
    assert!(p.run(Duration::from_secs(5), |p| p.a.is_established()
        && p.b.is_established()));
    // Ten idle minutes: heartbeats each way about once a second, answered,
    // and their round trips measured; nothing fails.
    let aborted = |e: &[SctpEvent]| e.iter().any(|e| matches!(e, SctpEvent::Aborted(_)));
    assert!(!p.run(Duration::from_secs(600), |p| aborted(&p.got_a)
        || aborted(&p.got_b)));
    for s in [p.a.stats(), p.b.stats()] {
        assert!((500..=600).contains(&s.heartbeats_sent), "{s:?}");
    }
    assert!(p.a.is_established() && p.b.is_established());
    assert!(
        p.a.srtt()
            .is_some_and(|r| r.abs_diff(Duration::from_millis(80)) < Duration::from_millis(5)),
        "RTT from heartbeats: {:?}",
        p.a.srtt()
    );
    // B vanishes: nothing gets through any more. A, idle, finds out from
    // its unanswered heartbeats (11 of them, each waiting an RTO).
    p.loss = 1.0;
    let t0 = p.now;
    assert!(p.run(Duration::from_secs(120), |p| aborted(&p.got_a)));
    let took = p.now - t0;
    assert!(
        took > Duration::from_secs(11) && took < Duration::from_secs(60),
        "{took:?}"
    );
    assert!(!p.a.is_established());
}

#[test]
fn no_heartbeats_when_disabled_or_while_data_flows() {
    let now = Instant::now();
    let cfg = SctpConfig {
        heartbeat_interval: None,
        ..SctpConfig::default()
    };
    let mut a = Association::new(cfg.clone(), Box::new(SeededRandom::new(80)), now);
    let b = Association::new(cfg, Box::new(SeededRandom::new(81)), now);
    a.connect(now);
    let mut p = Pair::new(a, b, now, 82, 0.0, 0.0, Duration::from_millis(10));
    assert!(
        !p.run(Duration::from_secs(300), |p| p.a.stats().heartbeats_sent
            + p.b.stats().heartbeats_sent
            > 0)
    );
    assert!(p.a.is_established());
    // With the default 30 s interval, a transfer that keeps data in flight
    // sends none (the data tests the path).
    let mut p = pair(83, 0.0, 0.0, Duration::from_millis(10));
    assert!(p.run(Duration::from_secs(5), |p| p.a.is_established()));
    let chunk = vec![1u8; 1000];
    let t0 = p.now;
    while p.now < t0 + Duration::from_secs(60) {
        let now = p.now;
        p.a.send(now, 0, 53, &chunk, false).unwrap();
        p.run(Duration::from_millis(5), |_| false);
        p.got_b.clear();
    }
    assert_eq!(p.a.stats().heartbeats_sent, 0);
}
