//! Real descriptions captured from Chromium and aiortc (see tools/) parse,
//! expose what JSEP needs, and write back byte for byte.

use std::path::Path;

use tern_sdp::{
    Direction, HasAttributes, RidDirection, SessionDescription, Setup, SimulcastStream,
};

fn fixture(name: &str) -> (String, SessionDescription) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let sdp = text
        .parse()
        .unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
    (text, sdp)
}

#[test]
fn every_fixture_round_trips_byte_for_byte() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        let (text, sdp) = fixture(&name);
        assert!(text.contains("\r\n"), "{name}: captured with CRLF");
        assert_eq!(sdp.to_string(), text, "{name}");
        n += 1;
    }
    assert!(n >= 10, "fixtures present: {n}");
}

#[test]
fn chromium_data_channel_offer() {
    let (_, sdp) = fixture("chromium-datachannel-offer.sdp");
    assert_eq!(sdp.origin.session_version, 2);
    let g = sdp.groups();
    assert_eq!(
        (g[0].semantics.as_str(), g[0].mids.clone()),
        ("BUNDLE", vec!["0".to_string()])
    );
    assert_eq!(sdp.attribute("msid-semantic"), Some(" WMS"));
    let m = &sdp.media[0];
    assert_eq!(
        (m.kind.as_str(), m.protocol.as_str()),
        ("application", "UDP/DTLS/SCTP")
    );
    assert_eq!(m.formats, ["webrtc-datachannel"]);
    assert_eq!(m.mid(), Some("0"));
    assert_eq!(m.setup(), Some(Setup::ActPass));
    assert_eq!(m.ice_options(), ["trickle"]);
    assert_eq!(m.ice_ufrag().map(str::len), Some(4));
    assert_eq!(m.ice_pwd().map(str::len), Some(24));
    let fp = m.fingerprints();
    assert_eq!(
        (fp.len(), fp[0].algorithm.as_str(), fp[0].value.len()),
        (1, "sha-256", 32)
    );
    assert_eq!(m.sctp_port(), Some(5000));
    assert_eq!(m.max_message_size(), Some(262_144));
    let c = m.candidates();
    assert_eq!(c.len(), 2);
    assert!(c[0].contains(" udp ") && c[0].contains("typ host"));
    assert!(c[1].contains("tcptype active"));
    assert!(!m.end_of_candidates());
    assert_eq!(sdp.media_by_mid("0"), Some(m));
}

#[test]
fn chromium_answer_is_active_or_passive() {
    let (_, sdp) = fixture("chromium-datachannel-answer.sdp");
    assert!(matches!(
        sdp.media[0].setup(),
        Some(Setup::Active | Setup::Passive)
    ));
}

#[test]
fn chromium_audio_video_offer_has_the_rtp_details() {
    let (_, sdp) = fixture("chromium-av-datachannel-offer.sdp");
    let kinds: Vec<&str> = sdp.media.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, ["audio", "video", "application"]);
    assert_eq!(sdp.groups()[0].mids, ["0", "1", "2"]);
    let audio = &sdp.media[0];
    assert_eq!(audio.direction(), Some(Direction::SendRecv));
    assert!(audio.rtcp_mux());
    let opus = audio
        .rtpmaps()
        .into_iter()
        .find(|r| r.encoding == "opus")
        .expect("opus");
    assert_eq!((opus.clock_rate, opus.channels), (48_000, Some(2)));
    let fmtp = audio
        .fmtps()
        .into_iter()
        .find(|f| f.format == opus.payload_type.to_string())
        .unwrap();
    assert_eq!(fmtp.parameter("useinbandfec"), Some("1"));
    assert!(audio
        .extmaps()
        .iter()
        .any(|e| e.uri == "urn:ietf:params:rtp-hdrext:sdes:mid"));
    let msid = &audio.msids()[0];
    assert!(msid.track_id.is_some());
    assert!(audio.ssrcs().iter().any(|s| s.attribute == "cname"));
    let video = &sdp.media[1];
    assert!(video
        .rtcp_fbs()
        .iter()
        .any(|f| f.kind == "nack" && f.parameter.as_deref() == Some("pli")));
    let fid = video
        .ssrc_groups()
        .into_iter()
        .find(|g| g.semantics == "FID")
        .expect("RTX group");
    assert_eq!(fid.ssrcs.len(), 2);
    let rtx = video
        .rtpmaps()
        .into_iter()
        .filter(|r| r.encoding == "rtx")
        .count();
    assert!(rtx >= 2);
    assert_eq!(sdp.media[2].sctp_port(), Some(5000));
}

#[test]
fn chromium_simulcast_offer_has_rids_and_simulcast() {
    let (_, sdp) = fixture("chromium-simulcast-offer.sdp");
    let v = &sdp.media[0];
    assert_eq!(v.direction(), Some(Direction::SendOnly));
    let rids: Vec<(String, RidDirection)> =
        v.rids().into_iter().map(|r| (r.id, r.direction)).collect();
    assert_eq!(
        rids,
        [
            ("q".to_string(), RidDirection::Send),
            ("h".to_string(), RidDirection::Send),
            ("f".to_string(), RidDirection::Send)
        ]
    );
    let s = v.simulcast().expect("a=simulcast");
    let plain = |r: &str| {
        vec![SimulcastStream {
            rid: r.into(),
            paused: false,
        }]
    };
    assert_eq!(s.send, [plain("q"), plain("h"), plain("f")]);
    assert!(s.recv.is_empty());
}

#[test]
fn aiortc_offers_several_fingerprints_and_ends_candidates() {
    let (_, sdp) = fixture("aiortc-datachannel-offer.sdp");
    let m = &sdp.media[0];
    let algs: Vec<String> = m.fingerprints().into_iter().map(|f| f.algorithm).collect();
    assert_eq!(algs, ["sha-256", "sha-384", "sha-512"]);
    assert!(m.end_of_candidates());
    assert_eq!(m.candidates().len(), 1);
    let (_, answer) = fixture("aiortc-answer-to-chromium.sdp");
    assert!(matches!(
        answer.media[0].setup(),
        Some(Setup::Active | Setup::Passive)
    ));
    let (_, av) = fixture("aiortc-av-datachannel-offer.sdp");
    assert_eq!(av.media.len(), 3);
    assert!(av.media[1].rtpmaps().iter().any(|r| r.encoding == "VP8"));
}
