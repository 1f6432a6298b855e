//! STUN interop with coturn on loopback, both ways:
//! our Binding client against coturn's server, and coturn's
//! `turnutils_stunclient` against our Binding server.
#![allow(clippy::disallowed_methods)] // real sockets, real time

use std::net::{SocketAddr, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use tern_crypto::OsRandom;
use tern_interop::{free_udp_port, request, require_binary, start_coturn};
use tern_stun::{
    attr_type, method, Attribute, BindingClient, BindingEvent, BindingServer, Class, Message,
    MessageBuilder, MessageType, Retransmit, TransactionId,
};

#[test]
fn our_binding_client_reads_the_right_xor_mapped_address_from_coturn() {
    let port = free_udp_port();
    let mut coturn = start_coturn(port);
    let server: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let local = socket.local_addr().unwrap();

    // Wait for coturn to answer at all (it takes a moment to start).
    let mut probe = Vec::new();
    MessageBuilder::new(
        &mut probe,
        MessageType::new(Class::Request, method::BINDING),
        TransactionId::random(&mut OsRandom),
    );
    assert!(
        request(
            &socket,
            server,
            &probe,
            Duration::from_millis(100),
            Duration::from_secs(10)
        )
        .is_some(),
        "coturn did not answer on {server} (running: {})",
        coturn.is_running()
    );

    // The sans-IO client, driven over the real socket.
    let mut client = BindingClient::new(
        server,
        Some(local),
        TransactionId::random(&mut OsRandom),
        Retransmit::RFC8489,
        Some("tern interop"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 1500];
    let event = loop {
        let now = Instant::now();
        client.handle_timeout(now);
        while let Some(t) = client.poll_transmit() {
            socket.send_to(&t.contents, t.destination).unwrap();
        }
        if let Some(e) = client.poll_event() {
            break e;
        }
        assert!(now < deadline, "no answer from coturn");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            client.handle_receive(Instant::now(), from, &buf[..n]);
        }
    };
    match event {
        BindingEvent::Mapped { mapped, rtt } => {
            assert_eq!(
                mapped, local,
                "coturn reflects our own loopback address and port"
            );
            println!("coturn reflected {mapped}, rtt {rtt:?}");
        }
        other => panic!("unexpected {other:?}"),
    }

    // A comprehension-required attribute coturn cannot know gets 420 with UNKNOWN-ATTRIBUTES.
    let mut req = Vec::new();
    let tid = TransactionId::random(&mut OsRandom);
    let mut b = MessageBuilder::new(
        &mut req,
        MessageType::new(Class::Request, method::BINDING),
        tid,
    );
    b.add(&Attribute::Unknown {
        attr_type: 0x7ff0,
        value: b"?",
    })
    .unwrap();
    b.add_fingerprint().unwrap();
    let resp = request(
        &socket,
        server,
        &req,
        Duration::from_millis(200),
        Duration::from_secs(3),
    )
    .expect("an answer");
    let m = Message::parse(&resp).unwrap();
    assert_eq!(m.transaction_id(), tid);
    assert_eq!(m.class(), Class::ErrorResponse);
    assert_eq!(m.error_code().map(|e| e.0), Some(420));
    match m.get(attr_type::UNKNOWN_ATTRIBUTES) {
        Some(Ok(Attribute::UnknownAttributes(u))) => {
            assert_eq!(u.iter().collect::<Vec<_>>(), vec![0x7ff0])
        }
        other => panic!("no UNKNOWN-ATTRIBUTES: {other:?}"),
    }
}

#[test]
fn coturn_stunclient_reads_our_binding_server() {
    let bin = require_binary("turnutils_stunclient", "coturn");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let server = std::thread::spawn(move || {
        let mut s = BindingServer::new(Some("tern"), 64);
        let mut buf = [0u8; 1500];
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok((n, from)) = socket.recv_from(&mut buf) {
                s.handle_receive(Instant::now(), from, addr, &buf[..n]);
                while let Some(t) = s.poll_transmit() {
                    socket.send_to(&t.contents, t.destination).unwrap();
                }
            }
        }
        s.stats()
    });
    let out = Command::new(&bin)
        .args(["-p", &addr.port().to_string(), "127.0.0.1"])
        .output()
        .expect("run turnutils_stunclient");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let stats = server.join().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("UDP reflexive addr: 127.0.0.1:"),
        "turnutils_stunclient output:\n{text}"
    );
    assert!(stats.success_responses >= 1, "{stats:?}");
}
