//! Fuzz the RTP view: no input panics it; a packet that parses exposes
//! every field, its RFC 8285 extensions iterate and decode as every typed
//! value, rewriting fields and extension values in place keeps it parseable,
//! and rebuilding it with the writer gives the same fields back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_rtp::extension::{
    AbsCaptureTime, AbsSendTime, AudioLevel, ExtensionValue, Mid, PlayoutDelay,
    RepairedRtpStreamId, RtpStreamId, TransmissionOffset, TransportSequenceNumber,
    VideoOrientation,
};
use tern_rtp::rtp::{write_rtx, RtpHeader, RtpPacket, RtpWriter, SeqNo, Ssrc};

fn decode_all(v: &[u8]) {
    let _ = (Mid::parse(v), RtpStreamId::parse(v), RepairedRtpStreamId::parse(v));
    let _ = (AbsSendTime::parse(v), TransportSequenceNumber::parse(v), AudioLevel::parse(v));
    let _ = (PlayoutDelay::parse(v), VideoOrientation::parse(v), AbsCaptureTime::parse(v));
    let _ = TransmissionOffset::parse(v);
}

fuzz_target!(|data: &[u8]| {
    let mut owned = data.to_vec();
    let Ok(p) = RtpPacket::new_checked(&owned[..]) else { return };
    let _ = (p.version(), p.padding(), p.marker(), p.csrc_count(), p.extension_profile());
    let _ = (p.extension_data(), p.padding_len(), p.header_len());
    assert_eq!(p.header_len() + p.payload().len() + p.padding_len(), p.len());
    let csrcs: Vec<Ssrc> = p.csrcs().collect();
    let mut elements = Vec::new();
    if let Ok(Some(exts)) = p.extensions() {
        for e in exts.iter() {
            decode_all(e.data);
            elements.push((e.id, e.data.to_vec()));
        }
    }

    // Rebuild: same fields and the same elements.
    let header = RtpHeader {
        marker: p.marker(),
        payload_type: p.payload_type(),
        sequence_number: p.sequence_number(),
        timestamp: p.timestamp(),
        ssrc: p.ssrc(),
        csrcs: &csrcs,
    };
    let mut out = vec![0u8; data.len() * 2 + 64];
    let mut w = RtpWriter::new(&mut out, &header).expect("fits");
    let mut all_added = true;
    for (id, v) in &elements {
        // Duplicates and one-byte ids above what fits are legal to read.
        all_added &= w.add_extension(*id, v).is_ok();
    }
    let padding = u8::try_from(p.padding_len()).expect("padding fits a byte");
    let n = w.finish(p.payload(), padding).expect("fits");
    let again = RtpPacket::new_checked(&out[..n]).expect("our output must parse");
    assert_eq!(again.sequence_number(), p.sequence_number());
    assert_eq!(again.ssrc(), p.ssrc());
    assert_eq!(again.payload(), p.payload());
    assert_eq!(again.csrcs().collect::<Vec<_>>(), csrcs);
    if all_added {
        let got: Vec<(u8, Vec<u8>)> = match again.extensions().expect("ours are well-formed") {
            Some(e) => e.iter().map(|e| (e.id, e.data.to_vec())).collect(),
            None => Vec::new(),
        };
        assert_eq!(got, elements);
    }

    let mut rtx = vec![0u8; data.len() + 2];
    let _ = write_rtx(&p, Ssrc(1), SeqNo(2), p.payload_type(), &mut rtx);

    // In-place rewriting keeps the packet valid.
    let ids: Vec<u8> = elements.iter().map(|(id, _)| *id).collect();
    let mut m = RtpPacket::new_checked(&mut owned[..]).expect("parsed before");
    m.set_ssrc(Ssrc(0xdead_beef));
    m.set_sequence_number(SeqNo(1));
    m.set_marker(!m.marker());
    for id in ids {
        if let Some(v) = m.extension_value_mut(id) {
            v.fill(0xff);
        }
    }
    let m = RtpPacket::new_checked(&owned[..]).expect("rewriting keeps the layout");
    assert_eq!(m.ssrc(), Ssrc(0xdead_beef));
});
