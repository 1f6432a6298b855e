//! Property tests: any description the model can hold writes to text that
//! parses back to the same description, and typed attributes print and
//! parse back to themselves.

use proptest::prelude::*;
use tern_sdp::{
    Attribute, ExtMap, Fingerprint, Fmtp, Group, MediaDescription, Msid, Rid, RidDirection, RtcpFb,
    RtpMap, SessionDescription, Simulcast, SimulcastStream, Ssrc, SsrcGroup, TypedAttribute,
};

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9+/._-]{1,12}"
}

fn attribute() -> impl Strategy<Value = Attribute> {
    ("[a-z][a-z0-9-]{0,10}", proptest::option::of("[ -~]{0,30}"))
        .prop_filter("security attributes have their own grammar", |(n, _)| {
            !matches!(
                n.as_str(),
                "fingerprint" | "setup" | "ice-ufrag" | "ice-pwd"
            )
        })
        .prop_map(|(name, value)| Attribute { name, value })
}

fn media() -> impl Strategy<Value = MediaDescription> {
    (
        "[a-z]{1,11}",
        any::<u16>(),
        proptest::option::of(1u16..8),
        "[A-Z/]{1,16}",
        proptest::collection::vec("[0-9a-z-]{1,8}", 0..5),
        proptest::collection::vec(attribute(), 0..8),
    )
        .prop_map(|(kind, port, count, proto, formats, attributes)| {
            let f: Vec<&str> = formats.iter().map(String::as_str).collect();
            let mut m = MediaDescription::new(&kind, port, &proto, &f);
            m.port_count = count;
            m.attributes = attributes;
            m
        })
}

proptest! {
    #[test]
    fn written_descriptions_parse_back(
        id in any::<u64>(),
        version in any::<u64>(),
        attrs in proptest::collection::vec(attribute(), 0..6),
        media in proptest::collection::vec(media(), 0..4),
    ) {
        let mut d = SessionDescription::new(id, version);
        d.attributes = attrs;
        d.media = media;
        let text = d.to_string();
        let back: SessionDescription = text.parse().map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, d);
    }

    #[test]
    fn parser_never_panics(s in "[ -~\r\n]{0,400}") {
        let _ = s.parse::<SessionDescription>();
    }

    #[test]
    fn typed_attributes_round_trip(
        pt in 0u8..128, enc in "[A-Za-z0-9-]{1,8}", clock in any::<u32>(), ch in proptest::option::of(any::<u16>()),
        t1 in token(), t2 in token(), ids in proptest::collection::vec(token(), 0..4),
        digest in proptest::collection::vec(any::<u8>(), 32), ssrcs in proptest::collection::vec(any::<u32>(), 1..4),
        ext in 1u16..256, paused in any::<bool>(),
    ) {
        fn rt<T: TypedAttribute + PartialEq + std::fmt::Debug>(v: T) -> Result<(), TestCaseError> {
            let s = v.to_string();
            let back: T = s.parse().map_err(|_| TestCaseError::fail(format!("{} did not parse: {s}", T::NAME)))?;
            prop_assert_eq!(back, v);
            Ok(())
        }
        rt(RtpMap { payload_type: pt, encoding: enc, clock_rate: clock, channels: ch })?;
        rt(Fingerprint { algorithm: "sha-256".into(), value: digest })?;
        rt(Group { semantics: t1.clone(), mids: ids.clone() })?;
        rt(Fmtp { format: pt.to_string(), params: format!("{t1}={t2}") })?;
        rt(RtcpFb { format: "*".into(), kind: t1.clone(), parameter: Some(t2.clone()) })?;
        rt(ExtMap { id: ext, direction: None, uri: format!("urn:{t1}"), attributes: None })?;
        rt(Msid { stream_id: t1.clone(), track_id: Some(t2.clone()) })?;
        rt(Ssrc { ssrc: ssrcs[0], attribute: "cname".into(), value: Some(t2.clone()) })?;
        rt(SsrcGroup { semantics: "FID".into(), ssrcs })?;
        rt(Rid { id: t1.clone(), direction: RidDirection::Recv, params: Some("pt=96".into()) })?;
        let s = |rid: &str| SimulcastStream { rid: rid.into(), paused };
        rt(Simulcast { send: vec![vec![s(&t1), s(&t2)]], recv: vec![vec![s(&t2)]] })?;
    }
}
