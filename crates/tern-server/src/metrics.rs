//! Counters for `/metrics` (Prometheus text format).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Members present (gauge).
    pub members: AtomicU64,
    /// WebSocket connections open (gauge).
    pub connections: AtomicU64,
    /// Messages relayed between members.
    pub relayed: AtomicU64,
    /// Error messages sent back to clients.
    pub errors: AtomicU64,
    /// STUN requests answered.
    pub stun_requests: AtomicU64,
    /// STUN datagrams dropped: not a Binding request, or over the
    /// per-source rate.
    pub stun_dropped: AtomicU64,
    /// Bytes queued to members and not yet written (gauge).
    pub queued_bytes: AtomicU64,
    /// TCP connections refused at accept by the global or per-IP cap.
    pub refused_connections: AtomicU64,
    /// Connections the server closed: flooding, not reading, stuck
    /// writes, idle before joining, or an expired token.
    pub kicked: AtomicU64,
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn render(&self, rooms: usize) -> String {
        let mut s = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, v: u64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        metric(
            "tern_rooms",
            "gauge",
            "Rooms with at least one member.",
            rooms as u64,
        );
        metric(
            "tern_members",
            "gauge",
            "Members in all rooms.",
            g(&self.members),
        );
        metric(
            "tern_connections",
            "gauge",
            "Open signaling WebSockets.",
            g(&self.connections),
        );
        metric(
            "tern_messages_relayed_total",
            "counter",
            "Messages relayed between members.",
            g(&self.relayed),
        );
        metric(
            "tern_errors_total",
            "counter",
            "Error messages sent to clients.",
            g(&self.errors),
        );
        metric(
            "tern_stun_requests_total",
            "counter",
            "STUN Binding requests answered.",
            g(&self.stun_requests),
        );
        metric(
            "tern_stun_dropped_total",
            "counter",
            "STUN datagrams dropped (not a Binding request, or over the per-source rate).",
            g(&self.stun_dropped),
        );
        metric(
            "tern_queued_bytes",
            "gauge",
            "Bytes queued to members, not yet written.",
            g(&self.queued_bytes),
        );
        metric(
            "tern_refused_connections_total",
            "counter",
            "TCP connections refused by the global or per-IP connection cap.",
            g(&self.refused_connections),
        );
        metric(
            "tern_kicked_total",
            "counter",
            "Connections closed by the server for misbehaving or idling.",
            g(&self.kicked),
        );
        s
    }
}
