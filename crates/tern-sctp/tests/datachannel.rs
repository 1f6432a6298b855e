//! Data channels over two SCTP associations in one thread, virtual time:
//! DCEP and negotiated opening, message types, closing by stream reset
//! with id reuse, buffered-amount-low, simultaneous open.
#![allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time

use std::time::{Duration, Instant};

use tern_crypto::SeededRandom;
use tern_sctp::{
    Bytes, DataChannelError, DataChannelEvent, DataChannelId, DataChannelInit, DataChannelMessage,
    DataChannelState, DtlsRole, Priority, SctpConfig, SctpTransport,
};

mod common;
use common::Pair;

type P = Pair<SctpTransport>;

fn pair(seed: u64, loss: f64, both_connect: bool) -> P {
    let now = Instant::now();
    let mut a = SctpTransport::new(
        SctpConfig::default(),
        Box::new(SeededRandom::new(seed)),
        now,
        DtlsRole::Client,
    );
    let mut b = SctpTransport::new(
        SctpConfig::default(),
        Box::new(SeededRandom::new(seed + 1)),
        now,
        DtlsRole::Server,
    );
    a.connect(now);
    if both_connect {
        b.connect(now);
    }
    Pair::new(a, b, now, seed + 2, loss, 0.0, Duration::from_millis(10))
}

fn connected(p: &P) -> bool {
    p.got_a.contains(&DataChannelEvent::Connected) && p.got_b.contains(&DataChannelEvent::Connected)
}

fn messages(events: &[DataChannelEvent], id: DataChannelId) -> Vec<DataChannelMessage> {
    events
        .iter()
        .filter_map(|e| match e {
            DataChannelEvent::Message { id: i, message } if *i == id => Some(message.clone()),
            _ => None,
        })
        .collect()
}

fn count(events: &[DataChannelEvent], want: &DataChannelEvent) -> usize {
    events.iter().filter(|e| *e == want).count()
}

#[test]
fn dcep_opens_channels_both_ways_with_their_parameters() {
    let mut p = pair(1, 0.0, false);
    // Created before the association is up: it waits in Connecting.
    let chat =
        p.a.create_data_channel(
            p.now,
            "chat",
            DataChannelInit {
                protocol: "json".into(),
                priority: Priority::High,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        p.a.channel(chat).unwrap().ready_state,
        DataChannelState::Connecting
    );
    assert!(matches!(
        p.a.send_text(p.now, chat, "too early"),
        Err(DataChannelError::InvalidState(
            _,
            DataChannelState::Connecting
        ))
    ));
    assert!(p.run(Duration::from_secs(5), connected));
    assert!(p.run(Duration::from_secs(5), |p| p
        .got_b
        .contains(&DataChannelEvent::DataChannel(chat))));
    assert!(p.got_a.contains(&DataChannelEvent::Open(chat)));
    let theirs = p.b.channel(chat).unwrap();
    assert_eq!(
        (theirs.label.as_str(), theirs.protocol.as_str()),
        ("chat", "json")
    );
    assert_eq!(theirs.priority, Priority::High);
    assert!(theirs.ordered && theirs.max_retransmits.is_none());
    assert_eq!(theirs.ready_state, DataChannelState::Open);

    // The DTLS server's channels take odd ids; partially reliable types travel.
    let lossy =
        p.b.create_data_channel(
            p.now,
            "telemetry",
            DataChannelInit {
                ordered: false,
                max_retransmits: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
    let timed =
        p.b.create_data_channel(
            p.now,
            "timed",
            DataChannelInit {
                max_packet_life_time: Some(Duration::from_millis(300)),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!((chat.0 % 2, lossy.0 % 2, timed.0 % 2), (0, 1, 1));
    assert!(p.run(Duration::from_secs(5), |p| p
        .got_a
        .contains(&DataChannelEvent::DataChannel(timed))));
    let l = p.a.channel(lossy).unwrap();
    assert!(!l.ordered && l.max_retransmits == Some(0));
    let t = p.a.channel(timed).unwrap();
    assert_eq!(t.max_packet_life_time, Some(Duration::from_millis(300)));

    // Text, binary and both empty kinds arrive as sent (RFC 8831 §6.6).
    p.a.send_text(p.now, chat, "héllo").unwrap();
    p.a.send_binary(p.now, chat, &[0, 1, 2]).unwrap();
    p.a.send_text(p.now, chat, "").unwrap();
    p.a.send_binary(p.now, chat, &[]).unwrap();
    p.a.send_binary_bytes(p.now, chat, Bytes::from_static(b"given"))
        .unwrap();
    p.a.send_binary_bytes(p.now, chat, Bytes::new()).unwrap();
    p.b.send_text(p.now, lossy, "pong").unwrap();
    assert!(
        p.run(Duration::from_secs(5), |p| messages(&p.got_b, chat).len()
            == 6
            && messages(&p.got_a, lossy).len() == 1)
    );
    assert_eq!(
        messages(&p.got_b, chat),
        vec![
            DataChannelMessage::Text("héllo".into()),
            DataChannelMessage::Binary(vec![0, 1, 2]),
            DataChannelMessage::Text(String::new()),
            DataChannelMessage::Binary(Vec::new()),
            DataChannelMessage::Binary(b"given".to_vec()),
            DataChannelMessage::Binary(Vec::new()),
        ]
    );
    assert_eq!(p.a.stats().bad_dcep + p.b.stats().bad_dcep, 0);
    // Text that is not UTF-8 is counted and delivered with U+FFFD.
    p.a.association_mut()
        .send(p.now, chat.0, 51, &[b'o', 0xff, b'k'], false)
        .unwrap();
    assert!(
        p.run(Duration::from_secs(5), |p| messages(&p.got_b, chat).len()
            == 7)
    );
    assert_eq!(
        messages(&p.got_b, chat)[6],
        DataChannelMessage::Text("o\u{fffd}k".into())
    );
    assert_eq!(p.b.stats().invalid_utf8, 1);
}

#[test]
fn negotiated_channels_need_no_dcep() {
    let mut p = pair(2, 0.0, false);
    let init = DataChannelInit {
        negotiated: true,
        id: Some(7),
        ..Default::default()
    };
    let a7 = p.a.create_data_channel(p.now, "n", init.clone()).unwrap();
    let b7 = p.b.create_data_channel(p.now, "n", init.clone()).unwrap();
    assert_eq!(
        p.a.create_data_channel(p.now, "dup", init),
        Err(DataChannelError::IdInUse(DataChannelId(7)))
    );
    assert!(p.run(Duration::from_secs(5), connected));
    assert!(p.got_a.contains(&DataChannelEvent::Open(a7)));
    assert!(p.got_b.contains(&DataChannelEvent::Open(b7)));
    p.a.send_text(p.now, a7, "x").unwrap();
    assert!(
        p.run(Duration::from_secs(5), |p| messages(&p.got_b, b7).len()
            == 1)
    );
    assert!(!p
        .got_b
        .iter()
        .any(|e| matches!(e, DataChannelEvent::DataChannel(_))));
    // Inconsistent inits are clear errors.
    for bad in [
        DataChannelInit {
            negotiated: true,
            ..Default::default()
        },
        DataChannelInit {
            id: Some(3),
            ..Default::default()
        },
        DataChannelInit {
            max_retransmits: Some(1),
            max_packet_life_time: Some(Duration::from_secs(1)),
            ..Default::default()
        },
    ] {
        let e = p.a.create_data_channel(p.now, "bad", bad).unwrap_err();
        assert!(matches!(e, DataChannelError::InvalidInit(_)), "{e}");
    }
}

#[test]
fn simultaneous_open_gives_one_association() {
    let mut p = pair(3, 0.0, true);
    assert!(p.run(Duration::from_secs(5), connected));
    let c =
        p.a.create_data_channel(p.now, "x", DataChannelInit::default())
            .unwrap();
    assert!(p.run(Duration::from_secs(5), |p| p
        .got_b
        .contains(&DataChannelEvent::DataChannel(c))));
    p.b.send_text(p.now, c, "back").unwrap();
    assert!(p.run(Duration::from_secs(5), |p| messages(&p.got_a, c).len() == 1));
    assert_eq!(count(&p.got_a, &DataChannelEvent::Connected), 1);
    assert_eq!(count(&p.got_b, &DataChannelEvent::Connected), 1);
}

#[test]
fn close_delivers_what_was_queued_then_frees_the_id_on_both_sides() {
    let mut p = pair(4, 0.1, false);
    assert!(p.run(Duration::from_secs(30), connected));
    let c =
        p.a.create_data_channel(p.now, "bulk", DataChannelInit::default())
            .unwrap();
    for i in 0..50u32 {
        p.a.send_binary(p.now, c, &vec![i as u8; 3000]).unwrap();
    }
    p.a.close(p.now, c).unwrap();
    assert_eq!(
        p.a.channel(c).unwrap().ready_state,
        DataChannelState::Closing
    );
    assert!(matches!(
        p.a.send_text(p.now, c, "late"),
        Err(DataChannelError::InvalidState(_, DataChannelState::Closing))
    ));
    assert!(p.run(Duration::from_secs(120), |p| p
        .got_a
        .contains(&DataChannelEvent::Closed(c))
        && p.got_b.contains(&DataChannelEvent::Closed(c))));
    let got = messages(&p.got_b, c);
    assert_eq!(got.len(), 50, "everything queued before close arrives");
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m, &DataChannelMessage::Binary(vec![i as u8; 3000]));
    }
    assert!(p.got_b.contains(&DataChannelEvent::Closing(c)));
    assert!(p.a.channel(c).is_none() && p.b.channel(c).is_none());
    // The id is reused, and the new channel starts afresh.
    let again =
        p.a.create_data_channel(p.now, "again", DataChannelInit::default())
            .unwrap();
    assert_eq!(again, c);
    p.a.send_text(p.now, again, "new").unwrap();
    assert!(p.run(Duration::from_secs(60), |p| count(
        &p.got_b,
        &DataChannelEvent::DataChannel(c)
    ) == 2
        && messages(&p.got_b, c).len() == 51));
    assert_eq!(p.b.channel(c).unwrap().label, "again");
}

#[test]
fn a_thousand_channels_opened_and_closed_with_id_reuse() {
    let mut p = pair(5, 0.02, true);
    assert!(p.run(Duration::from_secs(30), connected));
    let mut opened = 0;
    let mut round = 0u32;
    while opened < 1000 {
        // Each side opens a batch, sends on each channel, then half are
        // closed from each end: ids get reused in the next round.
        let mut ids = Vec::new();
        for k in 0..50 {
            let side_a = k % 2 == 0;
            let label = format!("r{round}-{k}");
            let t = if side_a { &mut p.a } else { &mut p.b };
            let id = t
                .create_data_channel(p.now, &label, DataChannelInit::default())
                .unwrap();
            t.send_text(p.now, id, &label).unwrap();
            ids.push((id, label));
            opened += 1;
        }
        let all_open = |p: &P| {
            ids.iter().all(|(id, label)| {
                [&p.a, &p.b].iter().all(|t| {
                    t.channel(*id).is_some_and(|c| {
                        c.label == *label && c.ready_state == DataChannelState::Open
                    })
                })
            })
        };
        assert!(
            p.run(Duration::from_secs(60), all_open),
            "round {round} did not open"
        );
        for (k, (id, _)) in ids.iter().enumerate() {
            if k % 3 == 0 {
                p.a.close(p.now, *id).unwrap();
            } else if k % 3 == 1 {
                p.b.close(p.now, *id).unwrap();
            }
        }
        let settled = |p: &P| {
            ids.iter().enumerate().all(|(k, (id, _))| {
                let want_open = k % 3 == 2;
                [&p.a, &p.b]
                    .iter()
                    .all(|t| t.channel(*id).is_some() == want_open)
            })
        };
        assert!(
            p.run(Duration::from_secs(60), settled),
            "round {round} did not close"
        );
        // Close the rest too, so the next round reuses every id.
        for (k, (id, _)) in ids.iter().enumerate() {
            if k % 3 == 2 {
                p.a.close(p.now, *id).unwrap();
            }
        }
        assert!(
            p.run(Duration::from_secs(60), |p| p.a.channels().count() == 0
                && p.b.channels().count() == 0)
        );
        round += 1;
    }
    // Every channel's first message arrived on the right channel, on both sides.
    let texts = |events: &[DataChannelEvent]| {
        events
            .iter()
            .filter(|e| matches!(e, DataChannelEvent::Message { .. }))
            .count()
    };
    assert_eq!(texts(&p.got_a) + texts(&p.got_b), 1000);
    let opened_a = p.a.stats().channels_opened;
    let opened_b = p.b.stats().channels_opened;
    assert_eq!((opened_a, opened_b), (1000, 1000));
    assert_eq!(
        (p.a.stats().channels_closed, p.b.stats().channels_closed),
        (1000, 1000)
    );
    assert_eq!(p.a.stats().bad_dcep + p.b.stats().bad_dcep, 0);
    assert_eq!(p.a.stats().unroutable + p.b.stats().unroutable, 0);
    // Ids were reused: 25 per side per round.
    let max_id = p
        .got_a
        .iter()
        .filter_map(|e| match e {
            DataChannelEvent::Open(id) | DataChannelEvent::DataChannel(id) => Some(id.0),
            _ => None,
        })
        .max()
        .unwrap();
    assert!(max_id < 50, "ids reused (highest {max_id})");
}

#[test]
fn buffered_amount_low_fires_when_the_queue_drains() {
    let mut p = pair(6, 0.0, false);
    assert!(p.run(Duration::from_secs(5), connected));
    let c =
        p.a.create_data_channel(p.now, "bulk", DataChannelInit::default())
            .unwrap();
    p.a.set_buffered_amount_low_threshold(c, 64 * 1024);
    for _ in 0..20 {
        p.a.send_binary(p.now, c, &[7; 16 * 1024]).unwrap();
    }
    assert!(p.a.buffered_amount(c) > 64 * 1024);
    assert!(p.run(Duration::from_secs(10), |p| p
        .got_a
        .contains(&DataChannelEvent::BufferedAmountLow(c))));
    assert!(p.a.buffered_amount(c) <= 64 * 1024);
    assert_eq!(count(&p.got_a, &DataChannelEvent::BufferedAmountLow(c)), 1);
    assert!(
        p.run(Duration::from_secs(10), |p| messages(&p.got_b, c).len()
            == 20)
    );
}

#[test]
fn partially_reliable_channel_reports_what_it_gave_up() {
    let mut p = pair(7, 0.0, false);
    assert!(p.run(Duration::from_secs(5), connected));
    let c =
        p.a.create_data_channel(
            p.now,
            "lossy",
            DataChannelInit {
                ordered: false,
                max_retransmits: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(p.run(Duration::from_secs(5), |p| p.b.channel(c).is_some()));
    // Wait for the ACK so the channel sends unordered.
    p.run(Duration::from_millis(100), |_| false);
    p.loss = 0.3;
    let mut ids = Vec::new();
    for i in 0..300u32 {
        ids.push(p.a.send_binary(p.now, c, &i.to_be_bytes()).unwrap());
        p.run(Duration::from_millis(2), |_| false);
    }
    p.loss = 0.0;
    assert!(p.run(Duration::from_secs(60), |p| !p
        .a
        .association()
        .has_unacknowledged()));
    let got = messages(&p.got_b, c).len();
    let abandoned = p
        .got_a
        .iter()
        .filter(|e| matches!(e, DataChannelEvent::Abandoned { id, .. } if *id == c))
        .count();
    assert!(
        got < 300 && abandoned > 0,
        "got {got}, abandoned {abandoned}"
    );
    assert!(
        got + abandoned >= 300,
        "every message arrived or was reported"
    );
}

#[test]
fn a_reader_that_stops_reading_holds_the_sender_back_and_loses_nothing() {
    let mut p = pair(40, 0.0, false);
    assert!(p.run(Duration::from_secs(5), connected));
    let c =
        p.a.create_data_channel(p.now, "bulk", DataChannelInit::default())
            .unwrap();
    assert!(p.run(Duration::from_secs(5), |p| p
        .got_b
        .iter()
        .any(|e| matches!(e, DataChannelEvent::DataChannel(_)))));
    p.hold_b = true;
    let chunk = 256 * 1024;
    let total = 48; // 12 MiB: more than B's 8 MiB window and what it holds
    for i in 0..total {
        p.a.send_binary(p.now, c, &vec![i as u8; chunk]).unwrap();
    }
    p.run(Duration::from_secs(10), |_| false);
    let stuck = p.a.buffered_amount(c);
    assert!(
        stuck >= 2 * 1024 * 1024,
        "a reader that stops must close the window; sender still holds {stuck} bytes"
    );
    p.hold_b = false;
    assert!(
        p.run(Duration::from_secs(20), |p| messages(&p.got_b, c).len()
            == total)
    );
    for (i, m) in messages(&p.got_b, c).into_iter().enumerate() {
        assert_eq!(
            m,
            DataChannelMessage::Binary(vec![i as u8; chunk]),
            "message {i}"
        );
    }
    assert!(p.run(Duration::from_secs(5), |p| p.a.buffered_amount(c) == 0));
}
