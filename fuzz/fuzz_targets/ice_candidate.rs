//! Fuzz the ICE candidate-attribute parser: no input panics it, and what
//! parses prints back to something that parses to the same candidate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_ice::Candidate;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(c) = s.parse::<Candidate>() {
        let again: Candidate = c.to_string().parse().expect("our output must parse");
        assert_eq!(again, c);
    }
});
