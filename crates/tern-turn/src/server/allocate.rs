//! Allocations and their control requests: Allocate (RFC 8656 §7.2, RFC 6156,
//! RFC 6062 §5.1), Refresh (§7.5), CreatePermission (§9.2), ChannelBind
//! (§12.2), and the expiry of everything they create.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tern_stun::{attr_type, error_code, AddressFamily, Attribute, TransactionId};

use super::limit::TokenBucket;
use super::tcp::ConnState;
use super::timer::{Deadline, Fire, TimerKey};
use super::{
    Auth, ClientTransport, ConnectionId, Event, FiveTuple, RelayTransport, Req, TurnServer,
};
use crate::channel_data::ChannelNumber;

/// One allocation (RFC 8656 §2: relayed transport addresses, permissions,
/// channels, a lifetime).
pub(crate) struct Allocation {
    pub(crate) id: u64,
    /// The Allocate that created it, and the answer, for retransmissions (RFC 8656 §7.2).
    pub(crate) tid: TransactionId,
    pub(crate) response: Vec<u8>,
    pub(crate) username: String,
    pub(crate) quota_id: String,
    /// IPv4 and IPv6 relayed addresses (RFC 8656 §7.2 dual allocations).
    pub(crate) relayed: [Option<SocketAddr>; 2],
    pub(crate) transport: RelayTransport,
    pub(crate) life: Deadline,
    pub(crate) perms: HashMap<IpAddr, Deadline>,
    pub(crate) channels: HashMap<ChannelNumber, (SocketAddr, Deadline)>,
    pub(crate) by_peer: HashMap<SocketAddr, ChannelNumber>,
    pub(crate) bucket: Option<TokenBucket>,
    pub(crate) conns: Vec<ConnectionId>,
}

impl Allocation {
    /// The relayed address of `peer`'s family (443 if none).
    pub(crate) fn relay_for(&self, peer: SocketAddr) -> Option<SocketAddr> {
        if peer.is_ipv4() {
            self.relayed[0]
        } else {
            self.relayed[1]
        }
    }

    pub(crate) fn has_permission(&self, ip: IpAddr, now: Instant) -> bool {
        self.perms.get(&ip).is_some_and(|d| d.alive(now))
    }

    pub(crate) fn within_bandwidth(&mut self, now: Instant, bytes: usize) -> bool {
        match &mut self.bucket {
            Some(b) => b.take(now, bytes as u64),
            None => true,
        }
    }
}

/// A port held for a later Allocate with RESERVATION-TOKEN (RFC 8656 §7.2).
pub(crate) struct Reservation {
    pub(crate) addr: SocketAddr,
    pub(crate) life: Deadline,
}

/// Why an Allocate failed after validation.
enum Refusal {
    Code(u16),
}

impl TurnServer {
    /// RFC 8656 §7.2: lifetime = max(default, min(requested, max)).
    fn allocate_lifetime(&self, requested: Option<u32>) -> Duration {
        let req = requested.map_or(self.cfg.default_lifetime, |s| Duration::from_secs(s.into()));
        req.min(self.cfg.max_lifetime)
            .max(self.cfg.default_lifetime)
    }

    fn lifetime_attr(req: &Req<'_>) -> Option<u32> {
        match req.msg.get(attr_type::LIFETIME) {
            Some(Ok(Attribute::Lifetime(s))) => Some(s),
            _ => None,
        }
    }

    fn take_port(
        &mut self,
        family: AddressFamily,
        even: Option<bool>,
    ) -> Result<(SocketAddr, Option<SocketAddr>), Refusal> {
        let (ip, pool) = match family {
            AddressFamily::V6 => (self.cfg.relay_ipv6.map(IpAddr::V6), self.pool_v6.as_mut()),
            _ => (self.cfg.relay_ipv4.map(IpAddr::V4), self.pool_v4.as_mut()),
        };
        let (Some(ip), Some(pool)) = (ip, pool) else {
            return Err(Refusal::Code(error_code::ADDRESS_FAMILY_NOT_SUPPORTED));
        };
        let got = match even {
            None => pool.take().map(|p| (p, None)),
            Some(reserve) => pool.take_even(reserve),
        };
        match got {
            Some((p, next)) => Ok((SocketAddr::new(ip, p), next.map(|n| SocketAddr::new(ip, n)))),
            None => Err(Refusal::Code(error_code::INSUFFICIENT_CAPACITY)),
        }
    }

    pub(crate) fn release_port(&mut self, addr: SocketAddr) {
        let pool = if addr.is_ipv4() {
            self.pool_v4.as_mut()
        } else {
            self.pool_v6.as_mut()
        };
        if let Some(pool) = pool {
            pool.release(addr.port());
        }
    }

    /// RFC 8656 §7.2 (and RFC 6062 §5.1 for TCP).
    pub(crate) fn allocate(&mut self, now: Instant, req: &Req<'_>, auth: &Auth) {
        use error_code::*;
        let ft = req.ft;
        if let Some(a) = self.allocs.get(&ft) {
            if a.tid == req.msg.transaction_id() {
                // A retransmission: the same answer again.
                let mut buf = self.buffer();
                if let Some(a) = self.allocs.get(&ft) {
                    buf.extend_from_slice(&a.response);
                }
                self.push_transmit(super::Destination::Client(ft), buf);
            } else {
                self.error(req, ALLOCATION_MISMATCH, Some(auth), &[]);
            }
            return;
        }
        if self.data_conns.contains_key(&ft) {
            self.error(req, ALLOCATION_MISMATCH, Some(auth), &[]);
            return;
        }
        let m = &req.msg;
        let transport = match m.get(attr_type::REQUESTED_TRANSPORT) {
            Some(Ok(Attribute::RequestedTransport(17))) => RelayTransport::Udp,
            Some(Ok(Attribute::RequestedTransport(6))) if !self.cfg.tcp_relay => {
                return self.error(req, UNSUPPORTED_TRANSPORT_PROTOCOL, Some(auth), &[]);
            }
            Some(Ok(Attribute::RequestedTransport(6))) if ft.transport != ClientTransport::Udp => {
                RelayTransport::Tcp
            }
            Some(Ok(Attribute::RequestedTransport(6))) => {
                return self.error(req, BAD_REQUEST, Some(auth), &[]);
            }
            Some(Ok(_)) => return self.error(req, UNSUPPORTED_TRANSPORT_PROTOCOL, Some(auth), &[]),
            _ => return self.error(req, BAD_REQUEST, Some(auth), &[]),
        };
        let dont_fragment = m.raw(attr_type::DONT_FRAGMENT).is_some();
        let even = match m.get(attr_type::EVEN_PORT) {
            None => None,
            Some(Ok(Attribute::EvenPort(r))) => Some(r),
            _ => return self.error(req, BAD_REQUEST, Some(auth), &[]),
        };
        let token = match m.get(attr_type::RESERVATION_TOKEN) {
            None => None,
            Some(Ok(Attribute::ReservationToken(t))) => Some(t),
            _ => return self.error(req, BAD_REQUEST, Some(auth), &[]),
        };
        let family = |t: u16| match m.get(t) {
            None => Ok(None),
            Some(Ok(
                Attribute::RequestedAddressFamily(f) | Attribute::AdditionalAddressFamily(f),
            )) => Ok(Some(f)),
            // RFC 8656 §7.2: an unknown family value is 440.
            _ => Err(()),
        };
        let (Ok(requested), Ok(additional)) = (
            family(attr_type::REQUESTED_ADDRESS_FAMILY),
            family(attr_type::ADDITIONAL_ADDRESS_FAMILY),
        ) else {
            return self.error(req, ADDRESS_FAMILY_NOT_SUPPORTED, Some(auth), &[]);
        };
        let conflicting = (transport == RelayTransport::Tcp
            && (dont_fragment || even.is_some() || token.is_some()))
            || (token.is_some() && (even.is_some() || requested.is_some() || additional.is_some()))
            || (requested.is_some() && additional.is_some())
            || additional == Some(AddressFamily::V4)
            || (additional.is_some() && even.is_some());
        if conflicting {
            return self.error(req, BAD_REQUEST, Some(auth), &[]);
        }
        let quota_id = self.creds.quota_identity(&auth.username).to_owned();
        let ip = ft.client.ip();
        if self.allocs.len() >= self.cfg.max_allocations
            || self.per_user.get(&quota_id).copied().unwrap_or(0)
                >= self.cfg.max_allocations_per_user
            || self.per_ip.get(&ip).copied().unwrap_or(0) >= self.cfg.max_allocations_per_ip
        {
            self.stats.quota_refusals += 1;
            return self.error(req, ALLOCATION_QUOTA_REACHED, Some(auth), &[]);
        }

        let mut relayed: [Option<SocketAddr>; 2] = [None, None];
        let mut reserved_next = None;
        let mut address_error = None;
        if let Some(token) = token {
            let Some(r) = self
                .reservations
                .remove(&token)
                .filter(|r| r.life.alive(now))
            else {
                self.stats.capacity_refusals += 1;
                return self.error(req, INSUFFICIENT_CAPACITY, Some(auth), &[]);
            };
            relayed[usize::from(r.addr.is_ipv6())] = Some(r.addr);
        } else {
            let primary = requested.unwrap_or(AddressFamily::V4);
            match self.take_port(primary, even) {
                Ok((addr, next)) => {
                    relayed[usize::from(addr.is_ipv6())] = Some(addr);
                    reserved_next = next;
                }
                Err(Refusal::Code(code)) => {
                    if code == INSUFFICIENT_CAPACITY {
                        self.stats.capacity_refusals += 1;
                    }
                    return self.error(req, code, Some(auth), &[]);
                }
            }
            if additional == Some(AddressFamily::V6) {
                match self.take_port(AddressFamily::V6, None) {
                    Ok((addr, _)) => relayed[1] = Some(addr),
                    Err(Refusal::Code(code)) => address_error = Some(code),
                }
            }
        }

        let lifetime = self.allocate_lifetime(Self::lifetime_attr(req));
        let id = self.fresh_id();
        let reservation_token = reserved_next.map(|addr| {
            let mut t = [0u8; 8];
            self.rng.fill(&mut t);
            let key = TimerKey::Reservation(t);
            let life = Deadline::new(&mut self.timers, now + self.cfg.reservation_lifetime, key);
            self.reservations.insert(t, Reservation { addr, life });
            t
        });

        let mut attrs = Vec::with_capacity(6);
        for a in relayed.iter().flatten() {
            attrs.push(Attribute::XorRelayedAddress(*a));
        }
        attrs.push(Attribute::Lifetime(lifetime.as_secs() as u32));
        attrs.push(Attribute::XorMappedAddress(ft.client));
        if let Some(t) = reservation_token {
            attrs.push(Attribute::ReservationToken(t));
        }
        if let Some(code) = address_error {
            attrs.push(Attribute::AddressErrorCode {
                family: AddressFamily::V6,
                code,
                reason: error_code::reason(code),
            });
        }
        let Some(response) = self.success(req, auth, &attrs) else {
            for a in relayed.iter().flatten() {
                self.release_port(*a);
            }
            return;
        };

        let life = Deadline::new(&mut self.timers, now + lifetime, TimerKey::Allocation(id));
        for a in relayed.iter().flatten() {
            self.by_relay.insert(*a, ft);
            self.events.push_back(Event::OpenRelay {
                relay: *a,
                transport,
                dont_fragment,
            });
        }
        *self.per_user.entry(quota_id.clone()).or_default() += 1;
        *self.per_ip.entry(ip).or_default() += 1;
        self.ids.insert(id, ft);
        let bucket = self
            .cfg
            .bandwidth_bytes_per_sec
            .map(|r| TokenBucket::new(r, r, now));
        let mut out = self.buffer();
        out.extend_from_slice(&response);
        self.allocs.insert(
            ft,
            Allocation {
                id,
                tid: req.msg.transaction_id(),
                response,
                username: auth.username.clone(),
                quota_id,
                relayed,
                transport,
                life,
                perms: HashMap::new(),
                channels: HashMap::new(),
                by_peer: HashMap::new(),
                bucket,
                conns: Vec::new(),
            },
        );
        self.stats.allocations_created += 1;
        self.push_transmit(super::Destination::Client(ft), out);
    }

    /// The allocation of `req`'s 5-tuple, if the same user made it; answers
    /// 437 or 441 otherwise (RFC 8656 §5, §7.5).
    fn own_allocation(&mut self, req: &Req<'_>, auth: &Auth) -> Option<FiveTuple> {
        match self.allocs.get(&req.ft) {
            None => {
                self.error(req, error_code::ALLOCATION_MISMATCH, Some(auth), &[]);
                None
            }
            Some(a) if a.username != auth.username => {
                self.error(req, error_code::WRONG_CREDENTIALS, Some(auth), &[]);
                None
            }
            Some(_) => Some(req.ft),
        }
    }

    /// RFC 8656 §7.5: Refresh; LIFETIME 0 deletes.
    pub(crate) fn refresh(&mut self, now: Instant, req: &Req<'_>, auth: &Auth) {
        let Some(ft) = self.own_allocation(req, auth) else {
            return;
        };
        let requested = Self::lifetime_attr(req);
        if requested == Some(0) {
            self.stats.allocations_deleted += 1;
            self.delete_allocation(ft);
            if let Some(buf) = self.success(req, auth, &[Attribute::Lifetime(0)]) {
                self.push_transmit(super::Destination::Client(ft), buf);
            }
            return;
        }
        let lifetime = requested
            .map_or(self.cfg.default_lifetime, |s| Duration::from_secs(s.into()))
            .min(self.cfg.max_lifetime);
        if let Some(a) = self.allocs.get_mut(&ft) {
            let key = TimerKey::Allocation(a.id);
            a.life.set(&mut self.timers, now + lifetime, key);
        }
        if let Some(buf) =
            self.success(req, auth, &[Attribute::Lifetime(lifetime.as_secs() as u32)])
        {
            self.push_transmit(super::Destination::Client(ft), buf);
        }
    }

    /// Checks one XOR-PEER-ADDRESS for an allocation: family (443) and policy
    /// (403). `Ok` means it may be used.
    fn check_peer(&mut self, ft: FiveTuple, peer: SocketAddr) -> Result<(), u16> {
        let family_ok = self
            .allocs
            .get(&ft)
            .is_some_and(|a| a.relay_for(peer).is_some());
        if !family_ok {
            return Err(error_code::PEER_ADDRESS_FAMILY_MISMATCH);
        }
        if self.cfg.policy.check(peer).is_err() {
            self.stats.denied_peers += 1;
            return Err(error_code::FORBIDDEN);
        }
        Ok(())
    }

    fn install_permission(&mut self, now: Instant, ft: FiveTuple, ip: IpAddr) {
        let lifetime = self.cfg.permission_lifetime;
        let Some(a) = self.allocs.get_mut(&ft) else {
            return;
        };
        let key = TimerKey::Permission(a.id, ip);
        match a.perms.get_mut(&ip) {
            Some(d) => d.set(&mut self.timers, now + lifetime, key),
            None => {
                a.perms
                    .insert(ip, Deadline::new(&mut self.timers, now + lifetime, key));
                self.stats.permissions_created += 1;
            }
        }
    }

    /// RFC 8656 §9.2: CreatePermission, all XOR-PEER-ADDRESS attributes or none.
    pub(crate) fn create_permission(&mut self, now: Instant, req: &Req<'_>, auth: &Auth) {
        let Some(ft) = self.own_allocation(req, auth) else {
            return;
        };
        let mut peers = Vec::new();
        for raw in req
            .msg
            .attributes()
            .filter(|a| a.attr_type == attr_type::XOR_PEER_ADDRESS)
        {
            match Attribute::decode(raw.attr_type, raw.value, &req.msg.transaction_id()) {
                Ok(Attribute::XorPeerAddress(p)) if peers.len() < self.cfg.max_permissions => {
                    peers.push(p)
                }
                _ => return self.error(req, error_code::BAD_REQUEST, Some(auth), &[]),
            }
        }
        if peers.is_empty() {
            return self.error(req, error_code::BAD_REQUEST, Some(auth), &[]);
        }
        for p in &peers {
            if let Err(code) = self.check_peer(ft, *p) {
                return self.error(req, code, Some(auth), &[]);
            }
        }
        let new = {
            let Some(a) = self.allocs.get(&ft) else {
                return;
            };
            let mut ips: Vec<IpAddr> = peers
                .iter()
                .map(|p| p.ip())
                .filter(|ip| !a.perms.contains_key(ip))
                .collect();
            ips.sort();
            ips.dedup();
            a.perms.len() + ips.len()
        };
        if new > self.cfg.max_permissions {
            return self.error(req, error_code::INSUFFICIENT_CAPACITY, Some(auth), &[]);
        }
        for p in peers {
            self.install_permission(now, ft, p.ip());
        }
        if let Some(buf) = self.success(req, auth, &[]) {
            self.push_transmit(super::Destination::Client(ft), buf);
        }
    }

    /// RFC 8656 §12.2: ChannelBind. A channel stays with its peer and a peer
    /// with its channel; binding installs or refreshes the permission.
    pub(crate) fn channel_bind(&mut self, now: Instant, req: &Req<'_>, auth: &Auth) {
        use error_code::*;
        let Some(ft) = self.own_allocation(req, auth) else {
            return;
        };
        let channel = match req.msg.get(attr_type::CHANNEL_NUMBER) {
            Some(Ok(Attribute::ChannelNumber(n))) => ChannelNumber::new(n),
            _ => None,
        };
        let peer = match req.msg.get(attr_type::XOR_PEER_ADDRESS) {
            Some(Ok(Attribute::XorPeerAddress(p))) => Some(p),
            _ => None,
        };
        let (Some(channel), Some(peer)) = (channel, peer) else {
            return self.error(req, BAD_REQUEST, Some(auth), &[]);
        };
        if self
            .allocs
            .get(&ft)
            .is_some_and(|a| a.transport != RelayTransport::Udp)
        {
            return self.error(req, BAD_REQUEST, Some(auth), &[]);
        }
        if let Err(code) = self.check_peer(ft, peer) {
            return self.error(req, code, Some(auth), &[]);
        }
        let verdict = {
            let Some(a) = self.allocs.get(&ft) else {
                return;
            };
            let chan_peer = a.channels.get(&channel).map(|(p, _)| *p);
            let peer_chan = a.by_peer.get(&peer).copied();
            match (chan_peer, peer_chan) {
                (Some(p), _) if p != peer => Err(BAD_REQUEST),
                (_, Some(c)) if c != channel => Err(BAD_REQUEST),
                (None, _) if a.channels.len() >= self.cfg.max_channels => {
                    Err(INSUFFICIENT_CAPACITY)
                }
                (None, _)
                    if a.perms.len() >= self.cfg.max_permissions
                        && !a.perms.contains_key(&peer.ip()) =>
                {
                    Err(INSUFFICIENT_CAPACITY)
                }
                (existing, _) => Ok(existing.is_some()),
            }
        };
        let refresh = match verdict {
            Ok(r) => r,
            Err(code) => return self.error(req, code, Some(auth), &[]),
        };
        let lifetime = self.cfg.channel_lifetime;
        if let Some(a) = self.allocs.get_mut(&ft) {
            let key = TimerKey::Channel(a.id, channel);
            if refresh {
                if let Some((_, d)) = a.channels.get_mut(&channel) {
                    d.set(&mut self.timers, now + lifetime, key);
                }
            } else {
                let d = Deadline::new(&mut self.timers, now + lifetime, key);
                a.channels.insert(channel, (peer, d));
                a.by_peer.insert(peer, channel);
                self.stats.channels_bound += 1;
            }
        }
        self.install_permission(now, ft, peer.ip());
        if let Some(buf) = self.success(req, auth, &[]) {
            self.push_transmit(super::Destination::Client(ft), buf);
        }
    }

    /// Deletes an allocation and everything it holds; every port goes back.
    pub(crate) fn delete_allocation(&mut self, ft: FiveTuple) {
        let Some(a) = self.allocs.remove(&ft) else {
            return;
        };
        self.ids.remove(&a.id);
        for r in a.relayed.iter().flatten() {
            self.by_relay.remove(r);
            self.release_port(*r);
            self.events.push_back(Event::CloseRelay {
                relay: *r,
                transport: a.transport,
            });
        }
        if let Some(n) = self.per_user.get_mut(&a.quota_id) {
            *n -= 1;
            if *n == 0 {
                self.per_user.remove(&a.quota_id);
            }
        }
        let ip = ft.client.ip();
        if let Some(n) = self.per_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&ip);
            }
        }
        for id in a.conns {
            self.close_connection(id, true);
        }
        self.recycle(a.response);
    }

    /// A timer entry popped: expire or reschedule what it is for.
    pub(crate) fn fire(&mut self, at: Instant, now: Instant, key: TimerKey) {
        match key {
            TimerKey::Allocation(id) => {
                let Some(ft) = self.ids.get(&id).copied() else {
                    return;
                };
                let Some(a) = self.allocs.get_mut(&ft) else {
                    return;
                };
                if a.life.on_pop(&mut self.timers, at, now, key) == Fire::Expired {
                    self.stats.allocations_expired += 1;
                    self.delete_allocation(ft);
                }
            }
            TimerKey::Permission(id, ip) => {
                let Some(ft) = self.ids.get(&id).copied() else {
                    return;
                };
                let Some(a) = self.allocs.get_mut(&ft) else {
                    return;
                };
                let Some(d) = a.perms.get_mut(&ip) else {
                    return;
                };
                if d.on_pop(&mut self.timers, at, now, key) == Fire::Expired {
                    a.perms.remove(&ip);
                }
            }
            TimerKey::Channel(id, ch) => {
                let Some(ft) = self.ids.get(&id).copied() else {
                    return;
                };
                let Some(a) = self.allocs.get_mut(&ft) else {
                    return;
                };
                let Some((peer, d)) = a.channels.get_mut(&ch) else {
                    return;
                };
                let peer = *peer;
                if d.on_pop(&mut self.timers, at, now, key) == Fire::Expired {
                    a.channels.remove(&ch);
                    a.by_peer.remove(&peer);
                }
            }
            TimerKey::Reservation(t) => {
                let Some(r) = self.reservations.get_mut(&t) else {
                    return;
                };
                if r.life.on_pop(&mut self.timers, at, now, key) == Fire::Expired {
                    let addr = r.addr;
                    self.reservations.remove(&t);
                    self.release_port(addr);
                }
            }
            TimerKey::Connection(id) => {
                let Some(c) = self.conns.get_mut(&id) else {
                    return;
                };
                if matches!(c.state, ConnState::Bound { .. }) {
                    return;
                }
                if c.life.on_pop(&mut self.timers, at, now, key) == Fire::Expired {
                    self.connection_timed_out(id, true);
                }
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn reservation_count(&self) -> usize {
        self.reservations.len()
    }
}
