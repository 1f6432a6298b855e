//! Codec property tests: what we encode decodes to the same value, and
//! arbitrary bytes never panic any decoder or the endpoint.

use proptest::prelude::*;
use tern_dtls::codec::{
    records, CertificateRequest, ClientHello, DigitallySigned, Extensions, HandshakeHeader, Reader,
    ServerHello, ServerKeyExchange, UseSrtp,
};

fn extensions() -> impl Strategy<Value = Extensions> {
    (
        proptest::option::of(proptest::collection::vec(any::<u16>(), 0..5)),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..3)),
        proptest::option::of(proptest::collection::vec(any::<u16>(), 0..5)),
        proptest::option::of((
            proptest::collection::vec(any::<u16>(), 0..4),
            proptest::collection::vec(any::<u8>(), 0..4),
        )),
        any::<bool>(),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..4)),
        proptest::collection::vec(
            (
                0x2000u16..0x3000,
                proptest::collection::vec(any::<u8>(), 0..10),
            ),
            0..3,
        ),
    )
        .prop_map(|(g, f, s, u, ems, r, unknown)| {
            let mut unknown = unknown;
            unknown.sort_by_key(|(t, _)| *t);
            unknown.dedup_by_key(|(t, _)| *t);
            Extensions {
                supported_groups: g,
                ec_point_formats: f,
                signature_algorithms: s,
                use_srtp: u.map(|(profiles, mki)| UseSrtp { profiles, mki }),
                extended_master_secret: ems,
                renegotiation_info: r,
                unknown,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn client_hello_round_trips(
        random in any::<[u8; 32]>(),
        session_id in proptest::collection::vec(any::<u8>(), 0..32),
        cookie in proptest::collection::vec(any::<u8>(), 0..64),
        suites in proptest::collection::vec(any::<u16>(), 1..10),
        ext in extensions(),
    ) {
        let ch = ClientHello { version: 0xfefd, random, session_id, cookie, cipher_suites: suites, compression_methods: vec![0], extensions: ext };
        let mut b = Vec::new();
        ch.encode(&mut b);
        let back = ClientHello::decode(&b).unwrap();
        // An empty extensions block is not written, so it decodes as the default.
        prop_assert_eq!(back, ch);
    }

    #[test]
    fn server_messages_round_trip(random in any::<[u8; 32]>(), suite in any::<u16>(), ext in extensions(),
                                  public in proptest::collection::vec(any::<u8>(), 1..100),
                                  sig in proptest::collection::vec(any::<u8>(), 0..80)) {
        let sh = ServerHello { version: 0xfefd, random, session_id: vec![], cipher_suite: suite, compression_method: 0, extensions: ext };
        let mut b = Vec::new();
        sh.encode(&mut b);
        prop_assert_eq!(ServerHello::decode(&b).unwrap(), sh);
        let ske = ServerKeyExchange { group: 29, public, signature_scheme: 0x0403, signature: sig.clone() };
        let mut b = Vec::new();
        ske.encode(&mut b);
        prop_assert_eq!(ServerKeyExchange::decode(&b).unwrap(), ske);
        let cr = CertificateRequest { certificate_types: vec![64], signature_schemes: vec![0x0403, 0x0804], authorities: vec![] };
        let mut b = Vec::new();
        cr.encode(&mut b);
        prop_assert_eq!(CertificateRequest::decode(&b).unwrap(), cr);
        let ds = DigitallySigned { signature_scheme: 0x0403, signature: sig };
        let mut b = Vec::new();
        ds.encode(&mut b);
        prop_assert_eq!(DigitallySigned::decode(&b).unwrap(), ds);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = ClientHello::decode(&data);
        let _ = ServerHello::decode(&data);
        let _ = ServerKeyExchange::decode(&data);
        let _ = CertificateRequest::decode(&data);
        let _ = DigitallySigned::decode(&data);
        let _ = tern_dtls::codec::decode_certificate(&data);
        let _ = Extensions::decode(&mut Reader::new(&data));
        let _ = HandshakeHeader::parse(&mut Reader::new(&data));
        for r in records(&data) {
            let _ = r;
        }
    }
}
