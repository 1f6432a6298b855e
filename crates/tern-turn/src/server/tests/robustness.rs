//! Random input on every path: no panic, nothing left allocated.

use super::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_input_never_panics_nor_leaks_ports(
        inputs in proptest::collection::vec((0u8..4, proptest::collection::vec(any::<u8>(), 0..120)), 0..40)
    ) {
        let mut h = H::new();
        let mut c = alice();
        let relay = h.allocate(&mut c, &[Attribute::EvenPort(true)]).relayed()[0];
        let peer = sa("198.51.100.1:1");
        h.bind(&mut c, 0x4000, peer);
        let tcp = { let mut t = tcp_alice(); t.addr = sa("192.0.2.100:1"); t };
        for (kind, bytes) in &inputs {
            match kind {
                0 => { h.feed(&c, bytes); }
                1 => { h.feed(&tcp, bytes); }
                2 => { h.peer_sends(relay, peer, bytes); }
                _ => {
                    // Mutate a valid signed request.
                    let tid = h.next_tid();
                    let mut req = h.build(&c, method::CHANNEL_BIND, Class::Request,
                        &[Attribute::ChannelNumber(0x4001), Attribute::XorPeerAddress(peer)], true, tid);
                    for (i, b) in bytes.iter().enumerate() {
                        let at = (usize::from(*b) * 7 + i) % req.len();
                        req[at] ^= b;
                    }
                    h.feed(&c, &req);
                }
            }
            h.events();
        }
        h.advance(3601);
        h.advance(3601);
        prop_assert_eq!(h.s.ports_in_use(), 0);
        prop_assert_eq!(h.s.allocation_count(), 0);
        prop_assert_eq!(h.s.poll_timeout(), None);
    }
}
