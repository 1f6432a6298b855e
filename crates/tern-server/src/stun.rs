//! The STUN Binding server (RFC 8489) on UDP, so peers learn their
//! server-reflexive address.
// A server: it reads the clock and owns a socket.
#![allow(clippy::disallowed_methods)]

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use tern_stun::BindingServer;
use tokio::net::UdpSocket;

use crate::metrics::Metrics;

/// Answers Binding requests on `socket` until the task is dropped.
pub(crate) async fn run(socket: UdpSocket, metrics: Arc<Metrics>) {
    let local = match socket.local_addr() {
        Ok(a) => a,
        Err(_) => return,
    };
    let mut server = BindingServer::new(Some("tern"), 1024);
    let mut buf = vec![0u8; 2048];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        server.handle_receive(Instant::now(), from, local, &buf[..n]);
        while let Some(t) = server.poll_transmit() {
            let _ = socket.send_to(&t.contents, t.destination).await;
        }
        let s = server.stats();
        metrics
            .stun_requests
            .store(s.success_responses + s.error_responses, Ordering::Relaxed);
    }
}
