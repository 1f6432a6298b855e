//! Fuzz the STUN codec: parse, decode every attribute, verify integrity and
//! fingerprint, re-encode what decoded. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_stun::{Attribute, IntegrityKey, Message, MessageBuilder};

fuzz_target!(|data: &[u8]| {
    let _ = tern_stun::is_stun(data);
    let Ok(m) = Message::parse(data) else { return };
    let tid = m.transaction_id();
    let key = IntegrityKey::short_term("fuzz");
    let _ = m.verify_integrity(&key);
    let _ = m.verify_fingerprint();
    let _ = (m.username(), m.priority(), m.mapped_address(), m.error_code(), m.use_candidate());
    let _ = m.unknown_comprehension_required().count();
    let mut out = Vec::new();
    let mut b = MessageBuilder::new(&mut out, m.message_type(), tid);
    for raw in m.attributes() {
        if let Ok(a) = Attribute::decode(raw.attr_type, raw.value, &tid) {
            let _ = a.password_algorithms().count();
            if b.add(&a).is_ok() {
                continue;
            }
        }
    }
    let _ = b.add_fingerprint();
    let rebuilt = b.finish();
    let again = Message::parse(rebuilt).expect("what we build must parse");
    again.verify_fingerprint().expect("our fingerprint must verify");
});
