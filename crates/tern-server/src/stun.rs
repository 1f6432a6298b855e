//! The STUN Binding server (RFC 8489) on UDP, so peers learn their
//! server-reflexive address. Only Binding requests are answered (anything
//! else is dropped unanswered, so the server reflects nothing larger than
//! what it was sent), at most `rate` a second per source address.
// A server: it reads the clock and owns a socket.
#![allow(clippy::disallowed_methods)]

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use tern_stun::{method, BindingServer, Class, Message};
use tokio::net::UdpSocket;

use crate::metrics::Metrics;
use crate::ratelimit::SourceLimiter;

/// Sources remembered by the per-source rate limit.
const SOURCES: usize = 16_384;

/// RFC 8489 §6.3.1: a server answers requests; this one serves only the
/// Binding method (§3), so other classes and methods are not worth an
/// answer.
fn is_binding_request(datagram: &[u8]) -> bool {
    Message::parse(datagram)
        .is_ok_and(|m| m.class() == Class::Request && m.method() == method::BINDING)
}

/// Answers Binding requests on `socket` until the task is dropped.
pub(crate) async fn run(socket: UdpSocket, metrics: Arc<Metrics>, rate: u32, burst: u32) {
    let local = match socket.local_addr() {
        Ok(a) => a,
        Err(_) => return,
    };
    let mut server = BindingServer::new(Some("tern"), 1024);
    let mut limiter = SourceLimiter::new(rate, burst, SOURCES);
    let mut buf = vec![0u8; 2048];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let datagram = buf.get(..n).unwrap_or_default();
        let now = Instant::now();
        if !is_binding_request(datagram) || !limiter.allow(from.ip(), now) {
            metrics.stun_dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        server.handle_receive(now, from, local, datagram);
        while let Some(t) = server.poll_transmit() {
            let _ = socket.send_to(&t.contents, t.destination).await;
        }
        let s = server.stats();
        metrics
            .stun_requests
            .store(s.success_responses + s.error_responses, Ordering::Relaxed);
    }
}
