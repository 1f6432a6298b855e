//! RFC 6062 TCP relays: Connect (§5.2), ConnectionAttempt (§5.3) and
//! ConnectionBind (§5.4). The core tracks each peer connection's state; the
//! driver opens, accepts and splices the sockets.

use std::net::SocketAddr;
use std::time::Instant;

use tern_stun::{attr_type, error_code, method, Attribute, Class, MessageType, TransactionId};

use super::timer::{Deadline, TimerKey};
use super::{
    Auth, ClientTransport, ConnectionId, Destination, Event, FiveTuple, RelayTransport, Req,
    TurnServer,
};

pub(crate) enum ConnState {
    /// Connect sent to the driver; the client waits for this answer.
    Connecting {
        tid: TransactionId,
        auth: Box<Auth>,
        fingerprint: bool,
    },
    /// Connected (or accepted); waiting for the client's ConnectionBind.
    AwaitingBind,
    /// Spliced to a client data connection.
    Bound { data: FiveTuple },
}

pub(crate) struct TcpConnection {
    pub(crate) alloc: FiveTuple,
    pub(crate) peer: SocketAddr,
    pub(crate) state: ConnState,
    pub(crate) life: Deadline,
}

impl TurnServer {
    fn fresh_connection_id(&mut self) -> ConnectionId {
        loop {
            let id = ConnectionId(self.rng.next_u32());
            if id.0 != 0 && !self.conns.contains_key(&id) {
                return id;
            }
        }
    }

    fn new_connection(
        &mut self,
        now: Instant,
        alloc: FiveTuple,
        peer: SocketAddr,
        state: ConnState,
    ) -> ConnectionId {
        let id = self.fresh_connection_id();
        let life = Deadline::new(
            &mut self.timers,
            now + self.cfg.tcp_connection_timeout,
            TimerKey::Connection(id),
        );
        self.conns.insert(
            id,
            TcpConnection {
                alloc,
                peer,
                state,
                life,
            },
        );
        if let Some(a) = self.allocs.get_mut(&alloc) {
            a.conns.push(id);
        }
        self.stats.tcp_connections += 1;
        id
    }

    fn tcp_allocation(&self, ft: &FiveTuple) -> bool {
        self.allocs
            .get(ft)
            .is_some_and(|a| a.transport == RelayTransport::Tcp)
    }

    /// RFC 6062 §5.2: Connect. The peer address passes the same policy as
    /// permissions (403); one connection per peer (446).
    pub(crate) fn connect(&mut self, now: Instant, req: &Req<'_>, auth: &Auth) {
        use error_code::*;
        let ft = req.ft;
        let Some(a) = self.allocs.get(&ft) else {
            return self.error(req, ALLOCATION_MISMATCH, Some(auth), &[]);
        };
        if a.username != auth.username {
            return self.error(req, WRONG_CREDENTIALS, Some(auth), &[]);
        }
        if !self.tcp_allocation(&ft) {
            return self.error(req, BAD_REQUEST, Some(auth), &[]);
        }
        let peer = match req.msg.get(attr_type::XOR_PEER_ADDRESS) {
            Some(Ok(Attribute::XorPeerAddress(p))) => p,
            _ => return self.error(req, BAD_REQUEST, Some(auth), &[]),
        };
        let Some(relay) = self.allocs.get(&ft).and_then(|a| a.relay_for(peer)) else {
            return self.error(req, PEER_ADDRESS_FAMILY_MISMATCH, Some(auth), &[]);
        };
        if self.cfg.policy.check(peer).is_err() {
            self.stats.denied_peers += 1;
            return self.error(req, FORBIDDEN, Some(auth), &[]);
        }
        let (exists, count) = match self.allocs.get(&ft) {
            Some(a) => (
                a.conns
                    .iter()
                    .any(|id| self.conns.get(id).is_some_and(|c| c.peer == peer)),
                a.conns.len(),
            ),
            None => return,
        };
        if exists {
            return self.error(req, 446, Some(auth), &[]);
        }
        if count >= self.cfg.max_connections {
            return self.error(req, INSUFFICIENT_CAPACITY, Some(auth), &[]);
        }
        let state = ConnState::Connecting {
            tid: req.msg.transaction_id(),
            auth: Box::new(auth.clone()),
            fingerprint: req.fingerprint,
        };
        let id = self.new_connection(now, ft, peer, state);
        self.events.push_back(Event::Connect { id, relay, peer });
    }

    /// The driver's outgoing TCP connection `id` (from [`Event::Connect`]) is
    /// up: the client gets its Connect success with CONNECTION-ID, and has
    /// 30 s to bind it.
    pub fn handle_connection_established(&mut self, now: Instant, id: ConnectionId) {
        let timeout = self.cfg.tcp_connection_timeout;
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let ConnState::Connecting {
            tid,
            auth,
            fingerprint,
        } = std::mem::replace(&mut c.state, ConnState::AwaitingBind)
        else {
            return;
        };
        c.life
            .set(&mut self.timers, now + timeout, TimerKey::Connection(id));
        let alloc = c.alloc;
        let typ = MessageType::new(Class::SuccessResponse, method::CONNECT);
        if let Some(buf) = self.build(
            typ,
            tid,
            &[Attribute::ConnectionId(id.0)],
            Some(&auth),
            fingerprint,
        ) {
            self.push_transmit(Destination::Client(alloc), buf);
        }
    }

    /// The driver's outgoing TCP connection `id` failed: 447 to the client.
    pub fn handle_connection_failed(&mut self, _now: Instant, id: ConnectionId) {
        if matches!(
            self.conns.get(&id).map(|c| &c.state),
            Some(ConnState::Connecting { .. })
        ) {
            self.connection_timed_out(id, false);
        }
    }

    /// The peer side of connection `id` closed (or the driver gave up on it).
    pub fn handle_connection_closed(&mut self, _now: Instant, id: ConnectionId) {
        self.close_connection(id, false);
    }

    /// A connect timed out or failed, or a connection was never bound; with
    /// `tell_driver` the driver is asked to close (or abandon) it.
    pub(crate) fn connection_timed_out(&mut self, id: ConnectionId, tell_driver: bool) {
        let Some(c) = self.conns.get(&id) else { return };
        let alloc = c.alloc;
        if let ConnState::Connecting {
            tid,
            auth,
            fingerprint,
        } = &c.state
        {
            let (tid, auth, fingerprint) = (*tid, auth.clone(), *fingerprint);
            let typ = MessageType::new(Class::ErrorResponse, method::CONNECT);
            let attrs = [Attribute::ErrorCode {
                code: 447,
                reason: "Connection Timeout or Failure",
            }];
            self.stats.error_responses += 1;
            if let Some(buf) = self.build(typ, tid, &attrs, Some(&auth), fingerprint) {
                self.push_transmit(Destination::Client(alloc), buf);
            }
        }
        self.stats.tcp_connections_failed += 1;
        self.close_connection(id, tell_driver);
    }

    /// Forgets connection `id`; with `tell_driver`, asks the driver to close it.
    pub(crate) fn close_connection(&mut self, id: ConnectionId, tell_driver: bool) {
        let Some(c) = self.conns.remove(&id) else {
            return;
        };
        if let ConnState::Bound { data } = c.state {
            self.data_conns.remove(&data);
        }
        if let Some(a) = self.allocs.get_mut(&c.alloc) {
            a.conns.retain(|x| *x != id);
        }
        if tell_driver {
            self.events.push_back(Event::CloseConnection { id });
        }
    }

    /// RFC 6062 §5.3: a peer connected to relayed TCP address `relay`. With
    /// a permission for its IP, the client is told (ConnectionAttempt) and
    /// the connection's id returned; `None` means: close it.
    pub fn handle_peer_connection(
        &mut self,
        now: Instant,
        relay: SocketAddr,
        peer: SocketAddr,
    ) -> Option<ConnectionId> {
        let ft = self.by_relay.get(&relay).copied()?;
        let a = self.allocs.get(&ft)?;
        if a.transport != RelayTransport::Tcp || !a.has_permission(peer.ip(), now) {
            self.stats.no_permission_dropped += 1;
            return None;
        }
        if a.conns.len() >= self.cfg.max_connections {
            return None;
        }
        let id = self.new_connection(now, ft, peer, ConnState::AwaitingBind);
        let mut tid = [0u8; 12];
        self.rng.fill(&mut tid);
        let typ = MessageType::new(Class::Indication, method::CONNECTION_ATTEMPT);
        let attrs = [
            Attribute::XorPeerAddress(peer),
            Attribute::ConnectionId(id.0),
        ];
        if let Some(buf) = self.build(typ, TransactionId(tid), &attrs, None, false) {
            self.push_transmit(Destination::Client(ft), buf);
        }
        Some(id)
    }

    /// RFC 6062 §5.4: ConnectionBind on a new client TCP connection.
    pub(crate) fn connection_bind(&mut self, _now: Instant, req: &Req<'_>, auth: &Auth) {
        let ft = req.ft;
        let bad = |s: &mut Self| s.error(req, error_code::BAD_REQUEST, Some(auth), &[]);
        if ft.transport == ClientTransport::Udp
            || self.allocs.contains_key(&ft)
            || self.data_conns.contains_key(&ft)
        {
            return bad(self);
        }
        let id = match req.msg.get(attr_type::CONNECTION_ID) {
            Some(Ok(Attribute::ConnectionId(n))) => ConnectionId(n),
            _ => return bad(self),
        };
        let ok = self.conns.get(&id).is_some_and(|c| {
            matches!(c.state, ConnState::AwaitingBind)
                && self
                    .allocs
                    .get(&c.alloc)
                    .is_some_and(|a| a.username == auth.username)
        });
        if !ok {
            return bad(self);
        }
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        c.state = ConnState::Bound { data: ft };
        let peer = c.peer;
        self.data_conns.insert(ft, id);
        if let Some(buf) = self.success(req, auth, &[]) {
            self.push_transmit(Destination::Client(ft), buf);
        }
        self.events.push_back(Event::ConnectionBound {
            id,
            client: ft,
            peer,
        });
    }
}
