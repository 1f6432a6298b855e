//! Fuzz DTLS record and handshake parsing through both endpoints: a server
//! waiting for a ClientHello and a client that has sent one. Every input is
//! a datagram from the network; nothing may panic.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use tern_crypto::cert::Certificate;
use tern_crypto::SeededRandom;
use tern_dtls::{codec, Dtls, DtlsConfig};

fn cert() -> Arc<Certificate> {
    static C: OnceLock<Arc<Certificate>> = OnceLock::new();
    C.get_or_init(|| Arc::new(Certificate::generate_self_signed(&mut SeededRandom::new(1)).unwrap())).clone()
}

fuzz_target!(|data: &[u8]| {
    for r in codec::records(data) {
        let Ok((_, frag)) = r else { break };
        let mut rd = codec::Reader::new(frag);
        if let Ok(h) = codec::HandshakeHeader::parse(&mut rd) {
            let body = rd.rest();
            let _ = codec::ClientHello::decode(body);
            let _ = codec::ServerHello::decode(body);
            let _ = codec::ServerKeyExchange::decode(body);
            let _ = codec::decode_certificate(body);
            let _ = h;
        }
    }
    let now = Instant::now();
    let mut server = Dtls::new_server(DtlsConfig::new(cert()), Box::new(SeededRandom::new(2)), None, b"fuzz");
    server.handle_receive(now, data);
    while server.poll_transmit().is_some() {}
    let mut client = Dtls::new_client(DtlsConfig::new(cert()), Box::new(SeededRandom::new(3)), None, now);
    client.handle_timeout(now);
    client.handle_receive(now, data);
    while client.poll_event().is_some() {}
});
