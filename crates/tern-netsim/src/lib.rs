//! A deterministic simulated network for sans-IO endpoints.
//!
//! Hosts hold an [`Endpoint`] (any sans-IO state machine), one or more IP
//! addresses, and an access link ([`LinkConfig`], applied in each direction).
//! A host sits either on the public "internet" or behind a [`NatConfig`] NAT.
//! Time is virtual: [`Network::run_until`] jumps from one event (a delivery or
//! an endpoint timeout) to the next, so thousands of simulated seconds take
//! milliseconds. Everything random comes from one seeded generator: the same
//! seed replays the same run.
//!
//! ```text
//!  host A ──link── NAT ─┐                 ┌─ NAT ──link── host B
//!                       └──── internet ───┘
//!                 host C ──link──┘
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod link;
mod nat;

use std::any::Any;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tern_crypto::SeededRandom;

pub use link::{DropReason, GilbertElliott, LinkConfig};
pub use nat::{Behavior, NatConfig};

use link::{Fate, LinkState};
use nat::Nat;

/// A datagram an endpoint wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// Local address to send from (`None`: the host's first address, port 0).
    pub source: Option<SocketAddr>,
    /// Where to.
    pub destination: SocketAddr,
    /// Payload.
    pub contents: Vec<u8>,
}

/// A sans-IO state machine the network drives.
pub trait Endpoint: Any {
    /// A datagram arrived on local address `to` from `from`.
    fn handle_receive(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, data: &[u8]);
    /// The time returned by [`poll_timeout`](Self::poll_timeout) has come.
    fn handle_timeout(&mut self, now: Instant);
    /// The next datagram to send.
    fn poll_transmit(&mut self, now: Instant) -> Option<Datagram>;
    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    fn poll_timeout(&mut self) -> Option<Instant>;
}

/// Identifies a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(usize);

/// Identifies a NAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NatId(usize);

/// Where a host is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    /// Directly on the internet: its addresses are public.
    Internet,
    /// On the inside of a NAT.
    Behind(NatId),
}

/// Counters over the whole network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Datagrams endpoints sent.
    pub sent: u64,
    /// Datagrams delivered (duplicates count twice).
    pub delivered: u64,
    /// Extra copies made by duplication.
    pub duplicated: u64,
    /// Dropped by loss.
    pub dropped_loss: u64,
    /// Dropped at a full queue.
    pub dropped_queue: u64,
    /// Dropped for size.
    pub dropped_mtu: u64,
    /// Dropped for want of a route.
    pub dropped_no_route: u64,
    /// Dropped by a NAT.
    pub dropped_nat: u64,
}

/// One line of the optional trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceRecord {
    /// Virtual time since the start.
    pub at: Duration,
    /// Sending host.
    pub host: HostId,
    /// Source as the sender wrote it.
    pub from: SocketAddr,
    /// Destination as the sender wrote it.
    pub to: SocketAddr,
    /// Payload length.
    pub len: usize,
    /// `None` if it was scheduled for delivery, else why it was dropped.
    pub dropped: Option<DropReason>,
}

struct Host {
    endpoint: Box<dyn Endpoint>,
    addrs: Vec<IpAddr>,
    attachment: Attachment,
    up: LinkState,
    down: LinkState,
}

struct InFlight {
    host: HostId,
    from: SocketAddr,
    to: SocketAddr,
    data: Vec<u8>,
}

/// The simulated network.
pub struct Network {
    start: Instant,
    now: Instant,
    rng: SeededRandom,
    hosts: Vec<Host>,
    nats: Vec<Nat>,
    queue: BinaryHeap<Reverse<(Instant, u64, usize)>>,
    slots: Vec<Option<InFlight>>,
    free_slots: Vec<usize>,
    seq: u64,
    stats: NetStats,
    trace: Option<Vec<TraceRecord>>,
}

impl Network {
    /// An empty network whose randomness is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        // The one read of the real clock: an arbitrary origin for virtual
        // time. Only differences from it matter, so runs stay deterministic.
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        Network {
            start,
            now: start,
            rng: SeededRandom::new(seed),
            hosts: Vec::new(),
            nats: Vec::new(),
            queue: BinaryHeap::new(),
            slots: Vec::new(),
            free_slots: Vec::new(),
            seq: 0,
            stats: NetStats::default(),
            trace: None,
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }
    /// Virtual time elapsed since the network was made.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }
    /// Counters so far.
    pub fn stats(&self) -> NetStats {
        self.stats
    }
    /// The network's generator (for endpoints that want a seed derived from the run's).
    pub fn rng(&mut self) -> &mut SeededRandom {
        &mut self.rng
    }

    /// Starts recording every datagram.
    pub fn enable_trace(&mut self) {
        self.trace.get_or_insert_with(Vec::new);
    }
    /// The trace so far (empty unless enabled).
    pub fn trace(&self) -> &[TraceRecord] {
        self.trace.as_deref().unwrap_or(&[])
    }

    /// Adds a NAT with public address `public_ip`.
    pub fn add_nat(&mut self, config: NatConfig, public_ip: IpAddr) -> NatId {
        self.nats.push(Nat::new(config, public_ip));
        NatId(self.nats.len() - 1)
    }

    /// Live mappings of a NAT.
    pub fn nat_mappings(&self, nat: NatId) -> usize {
        self.nats[nat.0].mapping_count(self.now)
    }

    /// Adds a host with `endpoint`, addresses `addrs`, attached at
    /// `attachment`, with `link` in each direction.
    pub fn add_host(
        &mut self,
        endpoint: impl Endpoint,
        addrs: &[IpAddr],
        attachment: Attachment,
        link: LinkConfig,
    ) -> HostId {
        self.hosts.push(Host {
            endpoint: Box::new(endpoint),
            addrs: addrs.to_vec(),
            attachment,
            up: LinkState::new(link.clone()),
            down: LinkState::new(link),
        });
        HostId(self.hosts.len() - 1)
    }

    /// Gives a host another address (a new interface coming up).
    pub fn add_address(&mut self, host: HostId, ip: IpAddr) {
        let addrs = &mut self.hosts[host.0].addrs;
        if !addrs.contains(&ip) {
            addrs.push(ip);
        }
    }

    /// Changes a host's link (both directions) from now on.
    pub fn set_link(&mut self, host: HostId, link: LinkConfig) {
        let h = &mut self.hosts[host.0];
        h.up.config = link.clone();
        h.down.config = link;
    }

    /// The endpoint of `host` as its concrete type.
    ///
    /// # Panics
    /// If `T` is not the type the host was added with (a test bug).
    pub fn endpoint<T: Endpoint>(&self, host: HostId) -> &T {
        let e: &dyn Any = self.hosts[host.0].endpoint.as_ref();
        e.downcast_ref()
            .expect("endpoint type matches the one added")
    }

    /// The endpoint of `host`, mutably. After changing it from outside, the
    /// next step picks up its transmits and timeout.
    ///
    /// # Panics
    /// If `T` is not the type the host was added with (a test bug).
    pub fn endpoint_mut<T: Endpoint>(&mut self, host: HostId) -> &mut T {
        let e: &mut dyn Any = self.hosts[host.0].endpoint.as_mut();
        e.downcast_mut()
            .expect("endpoint type matches the one added")
    }

    fn record(
        &mut self,
        host: HostId,
        from: SocketAddr,
        to: SocketAddr,
        len: usize,
        dropped: Option<DropReason>,
    ) {
        match dropped {
            Some(DropReason::Loss) => self.stats.dropped_loss += 1,
            Some(DropReason::QueueFull) => self.stats.dropped_queue += 1,
            Some(DropReason::Mtu) => self.stats.dropped_mtu += 1,
            Some(DropReason::NoRoute) => self.stats.dropped_no_route += 1,
            Some(DropReason::NatFiltered | DropReason::NoHairpin) => self.stats.dropped_nat += 1,
            None => {}
        }
        let at = self.now - self.start;
        if let Some(t) = &mut self.trace {
            t.push(TraceRecord {
                at,
                host,
                from,
                to,
                len,
                dropped,
            });
        }
    }

    fn host_in(&self, attachment: Attachment, ip: IpAddr) -> Option<usize> {
        self.hosts
            .iter()
            .position(|h| h.attachment == attachment && h.addrs.contains(&ip))
    }

    /// Routes one datagram from `src_host` and schedules its delivery.
    fn route(&mut self, src_host: usize, d: Datagram) {
        let now = self.now;
        self.stats.sent += 1;
        let hid = HostId(src_host);
        let from = d
            .source
            .unwrap_or_else(|| SocketAddr::new(self.hosts[src_host].addrs[0], 0));
        let to = d.destination;
        let len = d.contents.len();

        let up = match self.hosts[src_host].up.transit(now, len, &mut self.rng) {
            Fate::Deliver { at, duplicate_at } => (at, duplicate_at),
            Fate::Drop(r) => return self.record(hid, from, to, len, Some(r)),
        };

        // Find the receiving host and the addresses as it will see them.
        let attachment = self.hosts[src_host].attachment;
        let (dst_host, seen_from, seen_to) = match attachment {
            Attachment::Behind(_) if self.host_in(attachment, to.ip()).is_some() => {
                // Same private network: no translation.
                (self.host_in(attachment, to.ip()), from, to)
            }
            Attachment::Behind(nat) => {
                let Some(ext) = self.nats[nat.0].outbound(now, from, to) else {
                    return self.record(hid, from, to, len, Some(DropReason::NatFiltered));
                };
                if to.ip() == self.nats[nat.0].public_ip {
                    if !self.nats[nat.0].config.hairpinning {
                        return self.record(hid, from, to, len, Some(DropReason::NoHairpin));
                    }
                    match self.nats[nat.0].inbound(now, to.port(), ext) {
                        Some(internal) => (self.host_in(attachment, internal.ip()), ext, internal),
                        None => {
                            return self.record(hid, from, to, len, Some(DropReason::NatFiltered))
                        }
                    }
                } else {
                    match self.inbound_from_internet(ext, to) {
                        Ok(x) => x,
                        Err(r) => return self.record(hid, from, to, len, Some(r)),
                    }
                }
            }
            Attachment::Internet => match self.inbound_from_internet(from, to) {
                Ok(x) => x,
                Err(r) => return self.record(hid, from, to, len, Some(r)),
            },
        };
        let Some(dst) = dst_host else {
            return self.record(hid, from, to, len, Some(DropReason::NoRoute));
        };

        let mut arrivals = Vec::with_capacity(2);
        for at in std::iter::once(up.0).chain(up.1) {
            match self.hosts[dst].down.transit(at, len, &mut self.rng) {
                Fate::Deliver { at, duplicate_at } => {
                    arrivals.push(at);
                    arrivals.extend(duplicate_at);
                }
                Fate::Drop(r) => {
                    self.record(hid, from, to, len, Some(r));
                }
            }
        }
        if arrivals.is_empty() {
            return;
        }
        self.record(hid, from, to, len, None);
        self.stats.duplicated += arrivals.len().saturating_sub(1) as u64;
        let last = arrivals.len() - 1;
        let mut data = Some(d.contents);
        for (i, at) in arrivals.into_iter().enumerate() {
            let data = if i == last {
                data.take().unwrap_or_default()
            } else {
                data.clone().unwrap_or_default()
            };
            let item = InFlight {
                host: HostId(dst),
                from: seen_from,
                to: seen_to,
                data,
            };
            let slot = match self.free_slots.pop() {
                Some(s) => {
                    self.slots[s] = Some(item);
                    s
                }
                None => {
                    self.slots.push(Some(item));
                    self.slots.len() - 1
                }
            };
            self.seq += 1;
            self.queue.push(Reverse((at, self.seq, slot)));
        }
    }

    /// A packet on the internet from public `from` to `to`: a public host, or
    /// a NAT's public address.
    fn inbound_from_internet(
        &self,
        from: SocketAddr,
        to: SocketAddr,
    ) -> Result<(Option<usize>, SocketAddr, SocketAddr), DropReason> {
        if let Some(h) = self.host_in(Attachment::Internet, to.ip()) {
            return Ok((Some(h), from, to));
        }
        let nat = self
            .nats
            .iter()
            .position(|n| n.public_ip == to.ip())
            .ok_or(DropReason::NoRoute)?;
        let internal = self.nats[nat]
            .inbound(self.now, to.port(), from)
            .ok_or(DropReason::NatFiltered)?;
        Ok((
            self.host_in(Attachment::Behind(NatId(nat)), internal.ip()),
            from,
            internal,
        ))
    }

    fn flush_transmits(&mut self) {
        for i in 0..self.hosts.len() {
            while let Some(d) = self.hosts[i].endpoint.poll_transmit(self.now) {
                self.route(i, d);
            }
        }
    }

    /// Processes everything due now, then advances virtual time to the next
    /// event, not beyond `limit`. Returns false when nothing at all is
    /// pending (the network is idle).
    pub fn step(&mut self, limit: Instant) -> bool {
        self.flush_transmits();
        let next_delivery = self.queue.peek().map(|Reverse((t, _, _))| *t);
        let mut next_timeout: Option<Instant> = None;
        for h in &mut self.hosts {
            if let Some(t) = h.endpoint.poll_timeout() {
                next_timeout = Some(next_timeout.map_or(t, |n| n.min(t)));
            }
        }
        let Some(next) = [next_delivery, next_timeout].into_iter().flatten().min() else {
            return false;
        };
        if next > limit {
            self.now = self.now.max(limit);
            return true;
        }
        self.now = self.now.max(next);
        while let Some(Reverse((t, _, slot))) = self.queue.peek().copied() {
            if t > self.now {
                break;
            }
            self.queue.pop();
            if let Some(p) = self.slots[slot].take() {
                self.free_slots.push(slot);
                self.stats.delivered += 1;
                let now = self.now;
                self.hosts[p.host.0]
                    .endpoint
                    .handle_receive(now, p.from, p.to, &p.data);
            }
        }
        for i in 0..self.hosts.len() {
            let h = &mut self.hosts[i].endpoint;
            if h.poll_timeout().is_some_and(|t| t <= self.now) {
                h.handle_timeout(self.now);
            }
        }
        self.flush_transmits();
        true
    }

    /// Runs until `done` holds (checked after every step) or `max` of virtual
    /// time passes. Returns whether `done` held.
    pub fn run_until(&mut self, max: Duration, mut done: impl FnMut(&Network) -> bool) -> bool {
        let limit = self.now + max;
        loop {
            if done(self) {
                return true;
            }
            if self.now >= limit || !self.step(limit) {
                return done(self);
            }
        }
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let limit = self.now + d;
        while self.now < limit && self.step(limit) {}
        self.now = self.now.max(limit);
    }
}

#[cfg(test)]
mod tests;
