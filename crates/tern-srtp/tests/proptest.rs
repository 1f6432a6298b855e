//! Property tests through the public API: protect → unprotect round trips
//! for every profile and header shape, the 65535 → 0 wrap under reordering,
//! any flipped bit failing authentication, replays refused, and arbitrary
//! bytes never panicking.

use proptest::prelude::*;
use tern_srtp::{
    DtlsRole, ProtectionProfile, Protector, SrtpConfig, SrtpError, SrtpKeys, Unprotector,
};

fn profile() -> impl Strategy<Value = ProtectionProfile> {
    prop::sample::select(ProtectionProfile::ALL.to_vec())
}

fn contexts(profile: ProtectionProfile, seed: u8) -> (Protector, Unprotector) {
    let material: Vec<u8> = (0..profile.keying_material_len())
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    let a = SrtpKeys::from_exporter(profile, &material, DtlsRole::Client).unwrap();
    let b = SrtpKeys::from_exporter(profile, &material, DtlsRole::Server).unwrap();
    (
        a.contexts(SrtpConfig::default()).unwrap().0,
        b.contexts(SrtpConfig::default()).unwrap().1,
    )
}

#[derive(Debug, Clone)]
struct Rtp {
    marker_pt: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
    csrcs: Vec<u32>,
    ext: Option<(u16, Vec<u8>)>,
    payload: Vec<u8>,
}

impl Rtp {
    fn bytes(&self) -> Vec<u8> {
        let x = if self.ext.is_some() { 0x10 } else { 0 };
        let mut p = vec![0x80 | x | self.csrcs.len() as u8, self.marker_pt];
        p.extend_from_slice(&self.seq.to_be_bytes());
        p.extend_from_slice(&self.ts.to_be_bytes());
        p.extend_from_slice(&self.ssrc.to_be_bytes());
        for c in &self.csrcs {
            p.extend_from_slice(&c.to_be_bytes());
        }
        if let Some((profile, data)) = &self.ext {
            let words = data.len().div_ceil(4);
            p.extend_from_slice(&profile.to_be_bytes());
            p.extend_from_slice(&(words as u16).to_be_bytes());
            p.extend_from_slice(data);
            p.resize(p.len() + words * 4 - data.len(), 0);
        }
        p.extend_from_slice(&self.payload);
        p
    }
}

fn rtp() -> impl Strategy<Value = Rtp> {
    (
        any::<u8>(),
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        prop::collection::vec(any::<u32>(), 0..=15),
        prop::option::of((any::<u16>(), prop::collection::vec(any::<u8>(), 0..40))),
        prop::collection::vec(any::<u8>(), 0..1400),
    )
        .prop_map(|(marker_pt, seq, ts, ssrc, csrcs, ext, payload)| Rtp {
            marker_pt,
            seq,
            ts,
            ssrc,
            csrcs,
            ext,
            payload,
        })
}

fn rtcp() -> impl Strategy<Value = Vec<u8>> {
    (any::<u32>(), prop::collection::vec(any::<u8>(), 0..600)).prop_map(|(ssrc, body)| {
        let mut p = vec![0x81, 200, 0, 0];
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&body);
        p
    })
}

fn protect_rtp(tx: &mut Protector, plain: &[u8]) -> Vec<u8> {
    let mut buf = plain.to_vec();
    buf.resize(plain.len() + tx.profile().rtp_overhead(), 0xee);
    let n = tx.protect_rtp(&mut buf, plain.len()).unwrap();
    assert_eq!(n, buf.len());
    buf
}

fn protect_rtcp(tx: &mut Protector, plain: &[u8]) -> Vec<u8> {
    let mut buf = plain.to_vec();
    buf.resize(plain.len() + tx.profile().rtcp_overhead(), 0xee);
    let n = tx.protect_rtcp(&mut buf, plain.len()).unwrap();
    assert_eq!(n, buf.len());
    buf
}

fn is_replay(r: Result<Vec<u8>, SrtpError>) -> bool {
    matches!(r, Err(SrtpError::Replay { .. }))
}

fn unprotect_rtp(rx: &mut Unprotector, wire: &[u8]) -> Result<Vec<u8>, SrtpError> {
    let mut b = wire.to_vec();
    let n = rx.unprotect_rtp(&mut b)?;
    b.truncate(n);
    Ok(b)
}

fn unprotect_rtcp(rx: &mut Unprotector, wire: &[u8]) -> Result<Vec<u8>, SrtpError> {
    let mut b = wire.to_vec();
    let n = rx.unprotect_rtcp(&mut b)?;
    b.truncate(n);
    Ok(b)
}

proptest! {
    #[test]
    fn rtp_and_rtcp_round_trip(p in profile(), seed in any::<u8>(), pkt in rtp(), c in rtcp()) {
        let (mut tx, mut rx) = contexts(p, seed);
        let plain = pkt.bytes();
        let wire = protect_rtp(&mut tx, &plain);
        let header_len = plain.len() - pkt.payload.len();
        prop_assert_eq!(&wire[..header_len], &plain[..header_len]);
        prop_assert_eq!(unprotect_rtp(&mut rx, &wire).unwrap(), plain);
        prop_assert!(is_replay(unprotect_rtp(&mut rx, &wire)));

        let wire = protect_rtcp(&mut tx, &c);
        prop_assert_eq!(&wire[..8], &c[..8]);
        prop_assert_eq!(unprotect_rtcp(&mut rx, &wire).unwrap(), c);
        prop_assert!(is_replay(unprotect_rtcp(&mut rx, &wire)));
        let s = rx.stats();
        prop_assert_eq!((s.rtp_packets, s.rtcp_packets, s.replays), (1, 1, 2));
    }

    #[test]
    fn sequence_wrap_with_reordering_keeps_decrypting(
        p in profile(),
        start in 64_900u16..=65_535,
        count in 100usize..700,
        swaps in prop::collection::vec((any::<prop::sample::Index>(), 1usize..100), 0..80),
        ssrc in any::<u32>(),
    ) {
        let (mut tx, mut rx) = contexts(p, 1);
        let seqs: Vec<u16> = (0..count).map(|i| start.wrapping_add(i as u16)).collect();
        let wire: Vec<Vec<u8>> = seqs
            .iter()
            .map(|&s| {
                let pkt = Rtp { marker_pt: 96, seq: s, ts: 0, ssrc, csrcs: vec![], ext: None,
                                payload: s.to_be_bytes().repeat(8) };
                protect_rtp(&mut tx, &pkt.bytes())
            })
            .collect();
        // Reorder: each swap moves a packet up to 99 places, well inside the
        // default 1024-packet window and far across the wrap. The first
        // packet stays first: a receiver learns a stream's ROC from its first
        // packet, taken as ROC 0 (RFC 3711 §3.3.1), so a stream whose very
        // first arrival is from after a wrap cannot be followed by anyone.
        let mut order: Vec<usize> = (0..count).collect();
        for (i, d) in swaps {
            let i = 1 + i.index(count - 1);
            let j = (i + d).min(count - 1);
            order.swap(i, j);
        }
        for &i in &order {
            let plain = unprotect_rtp(&mut rx, &wire[i]);
            prop_assert!(plain.is_ok(), "packet {} (seq {}): {:?}", i, seqs[i], plain);
            let plain = plain.unwrap();
            prop_assert_eq!(&plain[12..], &seqs[i].to_be_bytes().repeat(8)[..]);
        }
        let wrapped = u32::from(start) + count as u32 > 65_536;
        prop_assert_eq!(rx.roc(ssrc), Some(u32::from(wrapped)));
        prop_assert_eq!(tx.roc(ssrc), Some(u32::from(wrapped)));
        for w in &wire {
            prop_assert!(is_replay(unprotect_rtp(&mut rx, w)));
        }
    }

    #[test]
    fn any_flipped_bit_fails(p in profile(), pkt in rtp(), c in rtcp(), bit in any::<prop::sample::Index>()) {
        let (mut tx, _) = contexts(p, 2);
        for (rtcp, plain) in [(false, pkt.bytes()), (true, c)] {
            let mut wire = if rtcp { protect_rtcp(&mut tx, &plain) } else { protect_rtp(&mut tx, &plain) };
            let b = bit.index(wire.len() * 8);
            wire[b / 8] ^= 1 << (b % 8);
            // A fresh receiver each time, so no replay state can explain the refusal.
            let (_, mut rx) = contexts(p, 2);
            let r = if rtcp { unprotect_rtcp(&mut rx, &wire) } else { unprotect_rtp(&mut rx, &wire) };
            prop_assert!(
                matches!(r, Err(SrtpError::Authentication { .. } | SrtpError::Truncated { .. } | SrtpError::BadVersion { .. })),
                "rtcp={} bit {}: {:?}", rtcp, b, r
            );
            prop_assert_eq!(rx.stream_count(), 0);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_what_we_protect_comes_back(
        p in profile(),
        data in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        // The fuzz target srtp_unprotect does the same, for longer.
        let (mut tx, mut rx) = contexts(p, 3);
        let mut b = data.clone();
        if rx.unprotect_rtp(&mut b).is_err() {
            prop_assert_eq!(rx.stream_count(), 0);
        }
        let mut b = data.clone();
        let _ = rx.unprotect_rtcp(&mut b);
        prop_assert_eq!(rx.stream_count(), 0);

        let (_, mut rx) = contexts(p, 3);
        let mut b = data.clone();
        b.resize(data.len() + p.rtp_overhead(), 0);
        if let Ok(n) = tx.protect_rtp(&mut b, data.len()) {
            let m = rx.unprotect_rtp(&mut b[..n]).unwrap();
            prop_assert_eq!(&b[..m], &data[..]);
        }
        let mut b = data.clone();
        b.resize(data.len() + p.rtcp_overhead(), 0);
        if let Ok(n) = tx.protect_rtcp(&mut b, data.len()) {
            let m = rx.unprotect_rtcp(&mut b[..n]).unwrap();
            prop_assert_eq!(&b[..m], &data[..]);
        }
    }
}
