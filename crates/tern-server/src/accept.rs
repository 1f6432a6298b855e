//! Accepting HTTP connections without letting idle or slow ones pile up: a
//! global and a per-IP cap checked at accept, a deadline for the request
//! headers (and the TLS handshake), and HTTP/1.1 only, served by hyper with
//! upgrades for the WebSockets. The open file limit is raised at start so
//! the cap, not the descriptor table, is what runs out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use crate::metrics::Metrics;

#[derive(Default)]
struct Counts {
    total: usize,
    /// Only addresses with a connection open have an entry.
    per_ip: HashMap<IpAddr, usize>,
}

/// Open TCP connections, in all and per address.
pub(crate) struct Connections {
    counts: Mutex<Counts>,
    max_total: usize,
    max_per_ip: usize,
    metrics: Arc<Metrics>,
}

/// One admitted connection's place; dropping it frees the place. The
/// WebSocket handler holds it (through [`Peer`]) for as long as the
/// upgraded connection lives.
pub(crate) struct Slot {
    table: Arc<Connections>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.table.lock();
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_ip.remove(&self.ip);
            }
        }
    }
}

/// Who is on the other end of a request (put in its extensions).
#[derive(Clone)]
pub(crate) struct Peer {
    /// The client's address.
    pub(crate) ip: IpAddr,
    /// Its connection's place in the caps.
    pub(crate) slot: Arc<Slot>,
}

impl Connections {
    /// A table admitting `max_total` connections, `max_per_ip` per address.
    pub(crate) fn new(max_total: usize, max_per_ip: usize, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Connections {
            counts: Mutex::new(Counts::default()),
            max_total,
            max_per_ip,
            metrics,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // Changes under the lock are counter updates that cannot panic.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place for a connection from `ip`, if the caps allow.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut c = self.lock();
        let from_ip = c.per_ip.get(&ip).copied().unwrap_or(0);
        if c.total >= self.max_total || from_ip >= self.max_per_ip {
            self.metrics
                .refused_connections
                .fetch_add(1, Ordering::Relaxed);
            return None;
        }
        c.total += 1;
        *c.per_ip.entry(ip).or_default() += 1;
        Some(Slot {
            table: self.clone(),
            ip,
        })
    }
}

/// Raises the soft limit on open files to the hard one; returns the soft
/// limit now in force (`None` if unknown).
pub(crate) fn raise_fd_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let l = getrlimit(Resource::Nofile);
    let (Some(current), Some(maximum)) = (l.current, l.maximum) else {
        // `None` is "unlimited": nothing to raise.
        return l.current.or(l.maximum);
    };
    if current >= maximum {
        return Some(current);
    }
    match setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(maximum),
            maximum: Some(maximum),
        },
    ) {
        Ok(()) => Some(maximum),
        Err(e) => {
            tracing::warn!(%e, current, maximum, "cannot raise the open file limit");
            Some(current)
        }
    }
}

/// Accepts connections on `listener` and serves `app` on them until the
/// task is dropped.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    connections: Arc<Connections>,
    header_timeout: Duration,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors, most likely: do not spin on it.
                tracing::warn!(%e, "accept");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = connections.admit(peer.ip()) else {
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let peer = Peer {
            ip: peer.ip(),
            slot: Arc::new(slot),
        };
        let (app, tls) = (app.clone(), tls.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(peer.clone());
                // A Router is always ready (it never applies back-pressure),
                // so calling it without poll_ready is allowed.
                let mut app = app.clone();
                async move { app.call(req).await }
            });
            let mut http = http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true);
            match tls {
                None => {
                    let _ = http
                        .serve_connection(TokioIo::new(tcp), service)
                        .with_upgrades()
                        .await;
                }
                Some(acceptor) => {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(header_timeout, acceptor.accept(tcp)).await
                    else {
                        return; // too slow, or not TLS
                    };
                    let _ = http
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades()
                        .await;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_count_per_address_and_in_all_and_free_on_drop() {
        let m = Arc::new(Metrics::default());
        let t = Connections::new(5, 2, m.clone());
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let a1 = t.admit(a).unwrap();
        let _a2 = t.admit(a).unwrap();
        assert!(t.admit(a).is_none(), "per-IP cap");
        drop(a1);
        let _a3 = t.admit(a).unwrap();
        let mut others: Vec<_> = (0..3)
            .filter_map(|i| t.admit(IpAddr::from([198, 51, 100, i])))
            .collect();
        assert_eq!(others.len(), 3);
        assert!(t.admit(b).is_none(), "global cap");
        others.clear();
        assert!(t.admit(b).is_some());
        assert_eq!(m.refused_connections.load(Ordering::Relaxed), 2);
        assert!(t.lock().per_ip.len() <= 2, "empty entries are removed");
    }
}
