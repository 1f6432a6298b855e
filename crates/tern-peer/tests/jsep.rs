//! JSEP rules and bad input: wrong states, bad SDP, bad candidates, and
//! answers to real Chromium and aiortc offers.

use std::time::Instant;

use tern_peer::{
    DataChannelInit, IceCandidateInit, OfferOptions, PeerConfig, PeerConnection, PeerError,
    RandomSource, RtcSessionDescription, SignalingState,
};
use tern_sdp::{HasAttributes, SessionDescription, Setup};

#[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
fn t0() -> Instant {
    Instant::now()
}

fn pc(seed: u64) -> PeerConnection {
    PeerConnection::new(PeerConfig {
        host_addresses: vec!["127.0.0.1:40000".parse().unwrap()],
        random: RandomSource::Seeded(seed),
        ..PeerConfig::default()
    })
    .unwrap()
}

fn fixture(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tern-sdp/tests/fixtures")
        .join(name);
    std::fs::read_to_string(p).unwrap()
}

fn offer_from(seed: u64) -> RtcSessionDescription {
    let now = t0();
    let mut a = pc(seed);
    a.create_data_channel(now, "x", DataChannelInit::default())
        .unwrap();
    a.create_offer(now, OfferOptions::default()).unwrap()
}

#[test]
fn our_offer_is_what_browsers_expect() {
    let d: SessionDescription = offer_from(1).sdp.parse().unwrap();
    assert_eq!(d.groups()[0].mids, ["0"]);
    let m = &d.media[0];
    assert_eq!(
        (m.kind.as_str(), m.protocol.as_str(), m.formats[0].as_str()),
        ("application", "UDP/DTLS/SCTP", "webrtc-datachannel")
    );
    assert_eq!(m.setup(), Some(Setup::ActPass));
    assert_eq!(m.ice_options(), ["trickle"]);
    assert_eq!(m.sctp_port(), Some(5000));
    assert_eq!(m.max_message_size(), Some(262_144));
    assert_eq!(m.fingerprints()[0].algorithm, "sha-256");
    // No channel, no data section (W3C).
    let now = t0();
    let empty: SessionDescription = pc(2)
        .create_offer(now, OfferOptions::default())
        .unwrap()
        .sdp
        .parse()
        .unwrap();
    assert!(empty.media.is_empty());
}

#[test]
fn answers_chromium_and_aiortc_offers() {
    for (name, data_mid, sections) in [
        ("chromium-datachannel-offer.sdp", "0", 1),
        ("chromium-av-datachannel-offer.sdp", "2", 3),
        ("aiortc-datachannel-offer.sdp", "0", 1),
        ("aiortc-av-datachannel-offer.sdp", "2", 3),
    ] {
        let now = t0();
        let mut b = pc(3);
        b.set_remote_description(now, RtcSessionDescription::offer(fixture(name)))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(b.signaling_state(), SignalingState::HaveRemoteOffer);
        let answer = b.create_answer(now).unwrap();
        b.set_local_description(now, answer.clone()).unwrap();
        let d: SessionDescription = answer.sdp.parse().unwrap();
        assert_eq!(
            d.media.len(),
            sections,
            "{name}: one answer section per offered one"
        );
        let mut mids = Vec::new();
        for m in &d.media {
            mids.push(m.mid().unwrap().to_string());
            assert_eq!(m.port, 9, "{name}: every section accepted");
            if m.mid() == Some(data_mid) {
                assert_eq!(
                    m.setup(),
                    Some(Setup::Active),
                    "{name}: answer actpass with active"
                );
            } else {
                // No local tracks: we receive what the browser sends.
                assert!(m.has_attribute("recvonly"), "{name}: {m}");
                assert!(!m.rtpmaps().is_empty(), "{name}: a codec in common");
                assert!(m.has_attribute("rtcp-mux"));
            }
        }
        assert_eq!(
            d.groups()[0].mids,
            mids,
            "{name}: BUNDLE everything, in the offer's order"
        );
        assert_eq!(b.signaling_state(), SignalingState::Stable);
    }
}

#[test]
fn bad_descriptions_are_refused_with_a_reason() {
    let now = t0();
    let good = offer_from(4).sdp;
    let err = |sdp: String| {
        let mut b = pc(5);
        let e = b
            .set_remote_description(now, RtcSessionDescription::offer(sdp))
            .unwrap_err();
        assert_eq!(
            b.signaling_state(),
            SignalingState::Stable,
            "state untouched by a refused offer"
        );
        e.to_string()
    };
    assert!(err("garbage".into()).contains("SDP line 1"));
    let no_fp: String = good
        .lines()
        .filter(|l| !l.starts_with("a=fingerprint"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    assert!(err(no_fp).contains("no a=fingerprint"));
    let sha1 = good
        .replace("a=fingerprint:sha-256", "a=fingerprint:sha-1")
        .replace(
            &good
                .lines()
                .find(|l| l.starts_with("a=fingerprint"))
                .unwrap()["a=fingerprint:sha-256 ".len()..],
            &vec!["AA"; 20].join(":"),
        );
    assert!(err(sha1).contains("no sha-256 a=fingerprint"));
    let no_ice: String = good
        .lines()
        .filter(|l| !l.starts_with("a=ice-pwd"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    assert!(err(no_ice).contains("a=ice-ufrag and a=ice-pwd"));
    assert!(err(good.replace("a=setup:actpass", "a=setup:bogus")).contains("a=setup must be"));
    assert!(err(good.replace("a=sctp-port:5000", "a=sctp-port:5001")).contains("sctp-port:5001"));
    assert!(err(format!("{good}a=x:{}\r\n", "y".repeat(600_000))).contains("too large"));
    // An audio section without ICE credentials: refused with the reason.
    let audio = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\n";
    assert!(err(audio.into()).contains("a=ice-ufrag and a=ice-pwd"));
    // A profile WebRTC does not use (plain RTP/AVP) is rejected in the
    // answer, the data section accepted.
    let mut b = pc(6);
    let avp = good.replacen(
        "m=application",
        "m=audio 9 RTP/AVP 0\r\na=mid:x\r\nm=application",
        1,
    );
    b.set_remote_description(now, RtcSessionDescription::offer(avp))
        .unwrap();
    let ans: SessionDescription = b.create_answer(now).unwrap().sdp.parse().unwrap();
    assert_eq!(
        (ans.media.len(), ans.media[0].port, ans.media[1].port),
        (2, 0, 9)
    );
}

#[test]
fn calls_out_of_state_are_refused() {
    let now = t0();
    let mut a = pc(7);
    let e = a
        .set_remote_description(now, RtcSessionDescription::answer(offer_from(8).sdp))
        .unwrap_err();
    assert!(matches!(e, PeerError::InvalidState(_)), "{e}");
    assert!(matches!(
        a.create_answer(now),
        Err(PeerError::InvalidState(_))
    ));
    let c = IceCandidateInit {
        candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host".into(),
        sdp_mid: Some("0".into()),
        ..Default::default()
    };
    assert!(matches!(
        a.add_ice_candidate(now, Some(c.clone())),
        Err(PeerError::InvalidState(_))
    ));
    assert!(matches!(
        a.set_local_description(
            now,
            RtcSessionDescription {
                sdp_type: tern_peer::SdpType::Pranswer,
                sdp: String::new()
            }
        ),
        Err(PeerError::Unsupported(_))
    ));
    // Glare: an offer arrives while ours is pending; roll back, then accept it.
    a.create_data_channel(now, "x", DataChannelInit::default())
        .unwrap();
    a.set_local_description(now, RtcSessionDescription::offer(""))
        .unwrap();
    let theirs = offer_from(9);
    assert!(matches!(
        a.set_remote_description(now, theirs.clone()),
        Err(PeerError::InvalidState(_))
    ));
    a.set_local_description(now, RtcSessionDescription::rollback())
        .unwrap();
    assert_eq!(a.signaling_state(), SignalingState::Stable);
    a.set_remote_description(now, theirs).unwrap();
    // Candidates: bad text, unknown section, old generation.
    let bad = IceCandidateInit {
        candidate: "candidate:nonsense".into(),
        ..c.clone()
    };
    assert!(matches!(
        a.add_ice_candidate(now, Some(bad)),
        Err(PeerError::InvalidCandidate(_))
    ));
    let elsewhere = IceCandidateInit {
        sdp_mid: Some("video".into()),
        ..c.clone()
    };
    assert!(matches!(
        a.add_ice_candidate(now, Some(elsewhere)),
        Err(PeerError::InvalidCandidate(_))
    ));
    let old = IceCandidateInit {
        username_fragment: Some("old1".into()),
        ..c.clone()
    };
    a.add_ice_candidate(now, Some(old))
        .expect("earlier generation: ignored");
    a.add_ice_candidate(now, Some(c)).expect("good candidate");
    a.add_ice_candidate(now, None).expect("end of candidates");
    // Munged local descriptions: our credentials and certificate only.
    let answer = a.create_answer(now).unwrap();
    let fp = answer
        .sdp
        .lines()
        .find(|l| l.starts_with("a=fingerprint"))
        .unwrap();
    let munged = answer.sdp.replace(
        fp,
        &format!("a=fingerprint:sha-256 {}", vec!["01"; 32].join(":")),
    );
    assert!(matches!(
        a.set_local_description(now, RtcSessionDescription::answer(munged)),
        Err(PeerError::InvalidDescription(_))
    ));
    a.set_local_description(now, answer).unwrap();
    a.close(now);
    assert!(matches!(
        a.create_offer(now, OfferOptions::default()),
        Err(PeerError::Closed)
    ));
    assert_eq!(a.signaling_state(), SignalingState::Closed);
}
