use std::time::{Duration, Instant};

use super::*;
use crate::rtp::{rtx_original, RtpHeader, RtpTimestamp};

#[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
fn origin() -> Instant {
    Instant::now()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn packet(seq: u16, payload_len: usize) -> Vec<u8> {
    let h = RtpHeader::new(
        PayloadType::new(96).unwrap(),
        SeqNo(seq),
        RtpTimestamp(u32::from(seq) * 3000),
        Ssrc(0x1111),
    );
    let mut buf = vec![0u8; 12 + payload_len];
    let payload: Vec<u8> = (0..payload_len).map(|i| (i as u8) ^ (seq as u8)).collect();
    let n = h.emit(&payload, 0, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn resend_is_spaced_by_one_rtt() {
    let t0 = origin();
    let mut h = PacketHistory::default();
    let p = packet(5, 100);
    h.insert(t0, &p).unwrap();
    assert_eq!(h.get(t0, SeqNo(5)).unwrap(), &p[..]);
    assert_eq!(h.resend(t0 + ms(10), SeqNo(5)).unwrap(), &p[..]);
    // A NACK flood within the RTT gets nothing more.
    for i in 0..100 {
        assert_eq!(
            h.resend(t0 + ms(10 + i), SeqNo(5)),
            Err(HistoryError::TooSoon(SeqNo(5)))
        );
    }
    assert_eq!(h.resends(SeqNo(5)), Some(1));
    assert!(h.resend(t0 + ms(110), SeqNo(5)).is_ok());
    h.set_rtt(ms(300));
    assert!(h.resend(t0 + ms(400), SeqNo(5)).is_err());
    assert!(h.resend(t0 + ms(410), SeqNo(5)).is_ok());
    let s = h.stats();
    assert_eq!((s.stored, s.resent, s.too_soon, s.missing), (1, 3, 101, 0));
}

#[test]
fn bounded_by_count_and_age() {
    let t0 = origin();
    let mut h = PacketHistory::new(HistoryConfig {
        capacity: 4,
        ..HistoryConfig::default()
    });
    for s in 0..6 {
        h.insert(t0, &packet(s, 10)).unwrap();
    }
    assert_eq!(h.get(t0, SeqNo(0)), Err(HistoryError::NotFound(SeqNo(0))));
    assert_eq!(h.get(t0, SeqNo(1)), Err(HistoryError::NotFound(SeqNo(1))));
    assert_eq!(h.get(t0, SeqNo(9)), Err(HistoryError::NotFound(SeqNo(9))));
    assert!(h.get(t0, SeqNo(2)).is_ok());
    assert!(h.get(t0, SeqNo(5)).is_ok());
    // 1 s minimum age, or 3 RTTs.
    assert_eq!(h.max_age(), ms(1000));
    assert!(h.get(t0 + ms(1000), SeqNo(5)).is_ok());
    assert_eq!(
        h.resend(t0 + ms(1001), SeqNo(5)),
        Err(HistoryError::Expired(SeqNo(5)))
    );
    h.set_rtt(ms(500));
    assert_eq!(h.max_age(), ms(1500));
    assert!(h.get(t0 + ms(1400), SeqNo(5)).is_ok());
    assert_eq!(h.stats().missing, 1);
}

#[test]
fn refuses_bad_input() {
    let t0 = origin();
    let mut h = PacketHistory::default();
    assert_eq!(
        h.insert(t0, &packet(1, 1500)),
        Err(HistoryError::TooLarge {
            len: 1512,
            max: 1500
        })
    );
    assert!(matches!(
        h.insert(t0, &[0x40; 20]),
        Err(HistoryError::Rtp(RtpError::BadVersion(1)))
    ));
}

#[test]
fn sequence_numbers_wrap() {
    let t0 = origin();
    let mut h = PacketHistory::default();
    for s in (65530..=65535).chain(0..5) {
        h.insert(t0, &packet(s, 20)).unwrap();
    }
    for s in (65530..=65535).chain(0..5) {
        let b = h.get(t0, SeqNo(s)).unwrap();
        assert_eq!(
            RtpPacket::new_checked(b).unwrap().sequence_number(),
            SeqNo(s)
        );
    }
}

#[test]
fn slots_are_reused_without_reallocation() {
    let t0 = origin();
    let mut h = PacketHistory::new(HistoryConfig {
        capacity: 8,
        ..HistoryConfig::default()
    });
    let mut first_lap = Vec::new();
    for s in 0..8 {
        h.insert(t0, &packet(s, 1000)).unwrap();
        first_lap.push(h.get(t0, SeqNo(s)).unwrap().as_ptr());
    }
    for lap in 1..4u16 {
        for s in 0..8u16 {
            let seq = lap * 8 + s;
            h.insert(t0, &packet(seq, 900 + usize::from(s))).unwrap();
            let b = h.get(t0, SeqNo(seq)).unwrap();
            assert_eq!(
                b.as_ptr(),
                first_lap[usize::from(s)],
                "slot {s} reallocated"
            );
        }
    }
}

#[test]
fn rtx_from_history() {
    let t0 = origin();
    let mut h = PacketHistory::default();
    let p = packet(42, 50);
    h.insert(t0, &p).unwrap();
    let rtx_pt = PayloadType::new(97).unwrap();
    let mut small = [0u8; 20];
    assert!(matches!(
        h.resend_rtx(t0, SeqNo(42), Ssrc(0x2222), SeqNo(7), rtx_pt, &mut small),
        Err(HistoryError::Rtp(RtpError::BufferTooSmall { .. }))
    ));
    // A failed write does not use up the packet's resend.
    assert_eq!(h.resends(SeqNo(42)), Some(0));
    let mut out = [0u8; 1500];
    let n = h
        .resend_rtx(t0, SeqNo(42), Ssrc(0x2222), SeqNo(7), rtx_pt, &mut out)
        .unwrap();
    let rtx = RtpPacket::new_checked(&out[..n]).unwrap();
    let orig = RtpPacket::new_checked(&p[..]).unwrap();
    assert_eq!(rtx.ssrc(), Ssrc(0x2222));
    assert_eq!(rtx.sequence_number(), SeqNo(7));
    assert_eq!(rtx.payload_type(), rtx_pt);
    assert_eq!(rtx.timestamp(), orig.timestamp());
    let (osn, payload) = rtx_original(rtx.payload()).unwrap();
    assert_eq!(osn, SeqNo(42));
    assert_eq!(payload, orig.payload());
    assert_eq!(
        h.resend_rtx(
            t0 + ms(1),
            SeqNo(42),
            Ssrc(0x2222),
            SeqNo(8),
            rtx_pt,
            &mut out
        ),
        Err(HistoryError::TooSoon(SeqNo(42)))
    );
}
