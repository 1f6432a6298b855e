//! Fuzz the SDP parser: no input panics it; what parses writes back to text
//! that parses to the same description, and every typed accessor copes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_sdp::{HasAttributes, SessionDescription};

fn touch(a: &impl HasAttributes) {
    let _ = (a.mid(), a.ice_ufrag(), a.ice_options(), a.fingerprints(), a.setup());
    let _ = (a.candidates(), a.groups(), a.sctp_port(), a.max_message_size());
    let _ = (a.direction(), a.rtpmaps(), a.fmtps(), a.rtcp_fbs(), a.extmaps());
    let _ = (a.msids(), a.ssrcs(), a.ssrc_groups(), a.rids(), a.simulcast());
    for f in a.fmtps() {
        let _ = f.parameters();
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(d) = s.parse::<SessionDescription>() {
        touch(&d);
        for m in &d.media {
            touch(m);
        }
        let again: SessionDescription = d.to_string().parse().expect("our output must parse");
        assert_eq!(again, d);
    }
});
