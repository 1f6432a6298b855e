//! Fuzz SRTP/SRTCP unprotect: arbitrary datagrams into the inbound contexts of
//! every profile under a fixed key. Nothing may panic, a refused packet must
//! leave no per-SSRC state, and anything that parses as RTP/RTCP and is
//! protected by the matching sender must unprotect back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_srtp::{DtlsRole, ProtectionProfile, SrtpConfig, SrtpKeys};

fuzz_target!(|data: &[u8]| {
    for profile in ProtectionProfile::ALL {
        let material = vec![0x17; profile.keying_material_len()];
        let keys = SrtpKeys::from_exporter(profile, &material, DtlsRole::Server).unwrap();
        let peer = SrtpKeys::from_exporter(profile, &material, DtlsRole::Client).unwrap();
        let (_, mut rx) = keys.contexts(SrtpConfig::default()).unwrap();
        let (mut tx, _) = peer.contexts(SrtpConfig::default()).unwrap();

        let mut buf = data.to_vec();
        if rx.unprotect_rtp(&mut buf).is_err() {
            assert_eq!(rx.stream_count(), 0);
        }
        let mut buf = data.to_vec();
        let _ = rx.unprotect_rtcp(&mut buf);

        // Round trips through a fresh receiver.
        let (_, mut rx) = keys.contexts(SrtpConfig::default()).unwrap();
        let mut buf = data.to_vec();
        buf.resize(data.len() + profile.rtp_overhead(), 0);
        if let Ok(n) = tx.protect_rtp(&mut buf, data.len()) {
            let m = rx.unprotect_rtp(&mut buf[..n]).expect("our SRTP must unprotect");
            assert_eq!(&buf[..m], data);
        }
        let mut buf = data.to_vec();
        buf.resize(data.len() + profile.rtcp_overhead(), 0);
        if let Ok(n) = tx.protect_rtcp(&mut buf, data.len()) {
            let m = rx.unprotect_rtcp(&mut buf[..n]).expect("our SRTCP must unprotect");
            assert_eq!(&buf[..m], data);
        }
    }
});
