//! Fuzz SCTP packet parsing, DCEP parsing and the association: a listener,
//! and (with the checksum check waived, so the fuzzer reaches the chunk
//! handlers) chunks fed straight to an established pair of data-channel
//! transports, which reaches stream reset and DCEP too.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tern_crypto::SeededRandom;
use tern_sctp::chunk::{parse_packet, CommonHeader, PacketWriter};
use tern_sctp::dcep::DcepMessage;
use tern_sctp::{Association, DataChannelInit, DtlsRole, SctpConfig, SctpTransport};

fuzz_target!(|data: &[u8]| {
    let _ = parse_packet(data, true);
    let _ = DcepMessage::parse(data);
    let now = Instant::now();
    let mut listener = Association::new(SctpConfig::default(), Box::new(SeededRandom::new(1)), now);
    listener.handle_receive(now, data);
    while listener.poll_transmit().is_some() {}
    // An established pair; then the fuzz bytes as chunks under a valid header.
    let mut a = SctpTransport::new(SctpConfig::default(), Box::new(SeededRandom::new(2)), now, DtlsRole::Client);
    let mut b = SctpTransport::new(SctpConfig::default(), Box::new(SeededRandom::new(3)), now, DtlsRole::Server);
    a.connect(now);
    let _ = a.create_data_channel(now, "f", DataChannelInit::default());
    for _ in 0..4 {
        while let Some(p) = a.poll_transmit() {
            b.handle_receive(now, &p);
        }
        while let Some(p) = b.poll_transmit() {
            a.handle_receive(now, &p);
        }
    }
    if let Some(first) = a.poll_transmit().or_else(|| {
        let _ = a.association_mut().send(now, 0, 51, b"x", false);
        a.poll_transmit()
    }) {
        if first.len() >= 12 {
            let tag = u32::from_be_bytes([first[4], first[5], first[6], first[7]]);
            let mut raw = PacketWriter::new(CommonHeader { source_port: 5000, destination_port: 5000, verification_tag: tag }).finish(true);
            raw.extend_from_slice(data);
            b.handle_receive(now, &raw);
            b.handle_timeout(now + Duration::from_secs(1));
            while b.poll_transmit().is_some() {}
            while b.poll_event().is_some() {}
        }
    }
});
