//! Relayed candidates (RFC 8445 §5.1.1.2): one TURN allocation per server per
//! host address, as libwebrtc and Pion make them. Each runs a sans-IO
//! [`TurnClient`] that the agent drives from its own `handle_*` calls and
//! deadline.
//!
//! A relayed candidate is its own base: pairs send "from" the relayed
//! address, and [`IceAgent::queue_transmit`] diverts such datagrams here to be
//! wrapped in a Send indication or ChannelData to the server. A datagram
//! waits until the permission for its peer's IP is installed (RFC 8656 §9),
//! so a check never races its CreatePermission. What the server relays back
//! is unwrapped and handled as if it had arrived on the relayed address.

use std::net::SocketAddr;
use std::time::Instant;

use tern_crypto::SeededRandom;
use tern_stun::Transmit;
use tern_turn::{TurnClient, TurnClientConfig, TurnEvent};

use crate::agent::{IceAgent, LocalCandidate};
use crate::candidate::{Candidate, CandidateKind};
use crate::config::TurnServerConfig;
use crate::state::{IceConnectionState, IceEvent};

/// Datagrams one allocation holds while their peers' permissions are pending.
const MAX_HELD: usize = 32;
/// Room for the TURN framing around relayed data: a Send indication's header,
/// XOR-PEER-ADDRESS (IPv6: 24 bytes), the DATA header and padding.
const WRAP_OVERHEAD: usize = 20 + 24 + 4 + 3;

/// Where an allocation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RelayPhase {
    /// Allocate outstanding; counted as failed at `deadline`.
    Allocating { deadline: Instant },
    /// Live: `relayed` is a local candidate.
    Allocated { relayed: SocketAddr },
    /// Failed, timed out, lost or closed. Datagrams from `relayed` (if it was
    /// ever allocated) are dropped rather than sent from an address we lack.
    Gone { relayed: Option<SocketAddr> },
}

/// One TURN allocation of the agent.
#[derive(Debug)]
pub(crate) struct Relay {
    /// The TURN server.
    pub server: SocketAddr,
    /// The host address we reach the server from.
    pub base: SocketAddr,
    /// The host's local preference, given to the relayed candidate too.
    local_preference: u16,
    pub client: TurnClient,
    pub phase: RelayPhase,
    /// Datagrams (peer, payload) waiting for the peer's permission.
    held: Vec<(SocketAddr, Vec<u8>)>,
}

impl Relay {
    /// The relayed address this allocation has (or had).
    pub fn relayed(&self) -> Option<SocketAddr> {
        match self.phase {
            RelayPhase::Allocated { relayed } => Some(relayed),
            RelayPhase::Gone { relayed } => relayed,
            RelayPhase::Allocating { .. } => None,
        }
    }

    pub fn is_allocating(&self) -> bool {
        matches!(self.phase, RelayPhase::Allocating { .. })
    }

    /// The earliest time this allocation needs the agent.
    pub fn deadline(&self) -> Option<Instant> {
        let own = match self.phase {
            RelayPhase::Allocating { deadline } => Some(deadline),
            _ => None,
        };
        match (own, self.client.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// What the agent learns from one allocation's events.
enum News {
    Allocated {
        relayed: SocketAddr,
        mapped: SocketAddr,
    },
    Failed,
    Lost,
}

impl IceAgent {
    /// Starts an allocation on every TURN server of `host`'s family.
    pub(crate) fn start_relays(&mut self, now: Instant, host: SocketAddr, local_preference: u16) {
        let servers: Vec<TurnServerConfig> = self
            .config
            .turn_servers
            .iter()
            .filter(|t| t.server.is_ipv4() == host.is_ipv4())
            .cloned()
            .collect();
        for t in servers {
            let mut cfg = TurnClientConfig::new(t.server, &t.username, &t.credential);
            if host.is_ipv6() {
                cfg.family = tern_turn::RequestedFamily::Ipv6;
            }
            cfg.software = self.config.software.clone();
            // Transaction ids from a stream seeded by the agent's generator.
            let rng = Box::new(SeededRandom::new(self.rng.next_u64()));
            let mut client = TurnClient::new(cfg, rng);
            let phase = match client.allocate(now) {
                Ok(()) => RelayPhase::Allocating {
                    deadline: now + self.config.turn_allocation_timeout,
                },
                Err(error) => {
                    tracing::debug!(server = %t.server, %error, "TURN allocation not started");
                    self.stats.turn_allocations_failed += 1;
                    RelayPhase::Gone { relayed: None }
                }
            };
            self.relays.push(Relay {
                server: t.server,
                base: host,
                local_preference,
                client,
                phase,
                held: Vec::new(),
            });
        }
    }

    /// Whether `addr` is (or was) one of our relayed addresses.
    pub(crate) fn is_relayed(&self, addr: SocketAddr) -> bool {
        self.relays.iter().any(|r| r.relayed() == Some(addr))
    }

    /// Whether an allocation is still being made (gathering waits for it).
    pub(crate) fn relays_allocating(&self) -> bool {
        self.relays.iter().any(Relay::is_allocating)
    }

    /// Runs the allocations' timers, wraps the datagrams waiting for them,
    /// moves their messages to the transmit queue and acts on their events.
    pub(crate) fn drive_relays(&mut self, now: Instant) {
        if self.relays.is_empty() {
            return;
        }
        while let Some(t) = self.relay_out.pop_front() {
            self.wrap(now, t);
        }
        for i in 0..self.relays.len() {
            let r = &mut self.relays[i];
            if let RelayPhase::Allocating { deadline } = r.phase {
                if now >= deadline {
                    tracing::debug!(server = %r.server, base = %r.base, "TURN allocation timed out");
                    r.client.close(now);
                    r.phase = RelayPhase::Gone { relayed: None };
                    self.stats.turn_allocations_failed += 1;
                }
            }
            let r = &mut self.relays[i];
            r.client.handle_timeout(now);
            let mut news = Vec::new();
            while let Some(e) = r.client.poll_event() {
                match e {
                    TurnEvent::Allocated {
                        relayed, mapped, ..
                    } => {
                        let want = r.base.is_ipv4();
                        if let Some(&relayed) = relayed.iter().find(|a| a.is_ipv4() == want) {
                            news.push(News::Allocated { relayed, mapped });
                        } else {
                            news.push(News::Failed);
                        }
                    }
                    TurnEvent::AllocationFailed(error) => {
                        tracing::debug!(server = %r.server, %error, "TURN allocation failed");
                        news.push(News::Failed);
                    }
                    TurnEvent::AllocationLost(error) => {
                        tracing::debug!(server = %r.server, %error, "TURN allocation lost");
                        news.push(News::Lost);
                    }
                    TurnEvent::PermissionCreated(ip) => {
                        let (ready, rest) = std::mem::take(&mut r.held)
                            .into_iter()
                            .partition(|(peer, _)| peer.ip() == ip);
                        r.held = rest;
                        for (peer, data) in ready {
                            send_through(r, now, peer, &data, &mut self.stats.turn_dropped);
                        }
                    }
                    TurnEvent::PermissionFailed { peer, error } => {
                        tracing::debug!(server = %r.server, %peer, %error, "TURN permission failed");
                        let before = r.held.len();
                        r.held.retain(|(p, _)| p.ip() != peer);
                        self.stats.turn_dropped += (before - r.held.len()) as u64;
                    }
                    other => tracing::trace!(server = %r.server, event = ?other, "TURN"),
                }
            }
            while let Some(t) = r.client.poll_transmit() {
                let t = Transmit {
                    destination: t.to,
                    source: Some(r.base),
                    contents: t.bytes,
                };
                if self.transmits.len() >= crate::agent::MAX_TRANSMIT_QUEUE {
                    self.stats.transmit_queue_full += 1;
                } else {
                    self.transmits.push_back(t);
                }
            }
            for n in news {
                self.on_relay_news(i, n);
            }
        }
        if self.state == IceConnectionState::Closed {
            self.relays.retain(|r| !r.client.is_closed());
        }
        self.maybe_complete_gathering();
    }

    fn on_relay_news(&mut self, i: usize, news: News) {
        let r = &mut self.relays[i];
        match news {
            News::Allocated { relayed, mapped } => {
                if !r.is_allocating() || self.state == IceConnectionState::Closed {
                    return;
                }
                r.phase = RelayPhase::Allocated { relayed };
                let (server, base, pref) = (r.server, r.base, r.local_preference);
                tracing::debug!(%server, %relayed, %mapped, "TURN relayed candidate");
                // RFC 8445 §5.1.1.3: one foundation per kind, base and server.
                let key = format!("{}|{}", base.ip(), server);
                let cand =
                    Candidate::new(CandidateKind::Relayed, relayed, Some(mapped), pref, &key);
                self.locals.push(LocalCandidate {
                    cand: cand.clone(),
                    base: relayed,
                    local_preference: pref,
                });
                self.events.push_back(IceEvent::LocalCandidate(cand));
                self.pair_local(self.locals.len() - 1);
            }
            News::Failed | News::Lost => {
                let relayed = r.relayed();
                if r.is_allocating() {
                    self.stats.turn_allocations_failed += 1;
                }
                r.phase = RelayPhase::Gone { relayed };
                self.stats.turn_dropped += r.held.len() as u64;
                r.held.clear();
            }
        }
    }

    /// Sends `t` (whose source is a relayed address) through its allocation,
    /// once the permission for its destination is installed.
    fn wrap(&mut self, now: Instant, t: Transmit) {
        let Some(source) = t.source else { return };
        let Some(r) = self.relays.iter_mut().find(|r| r.relayed() == Some(source)) else {
            self.stats.turn_dropped += 1;
            return;
        };
        if !matches!(r.phase, RelayPhase::Allocated { .. }) {
            self.stats.turn_dropped += 1;
            return;
        }
        let peer = t.destination;
        if r.client.has_permission(peer.ip()) {
            send_through(r, now, peer, &t.contents, &mut self.stats.turn_dropped);
            return;
        }
        // RFC 8656 §9: the server drops what we send to (and what comes from)
        // a peer without a permission, so the datagram waits for it.
        if let Err(error) = r.client.create_permission(now, peer.ip()) {
            tracing::debug!(%peer, %error, "TURN permission refused locally");
            self.stats.turn_dropped += 1;
            return;
        }
        if r.held.len() >= MAX_HELD {
            r.held.remove(0);
            self.stats.turn_dropped += 1;
        }
        r.held.push((peer, t.contents));
    }

    /// Starts a channel binding for a newly selected relayed pair, so its
    /// data goes as ChannelData (RFC 8656 §12: a 4-byte header instead of a
    /// 36-byte Send indication).
    pub(crate) fn bind_selected_channel(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
    ) {
        if !self.config.turn_channels {
            return;
        }
        let Some(r) = self
            .relays
            .iter_mut()
            .find(|r| r.phase == RelayPhase::Allocated { relayed: local })
        else {
            return;
        };
        if let Err(error) = r.client.bind_channel(now, remote) {
            tracing::debug!(%remote, %error, "TURN channel bind not started");
        }
    }

    /// Application data from `local` to `remote`, wrapped for the TURN
    /// server when `local` is relayed. `None`: it could not go (counted).
    pub(crate) fn wrap_data(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: Vec<u8>,
    ) -> Option<Transmit> {
        let Some(r) = self.relays.iter_mut().find(|r| r.relayed() == Some(local)) else {
            return Some(Transmit {
                destination: remote,
                source: Some(local),
                contents: data,
            });
        };
        if !matches!(r.phase, RelayPhase::Allocated { .. }) {
            self.stats.turn_dropped += 1;
            return None;
        }
        if !r.client.has_permission(remote.ip()) {
            // Not a path that passed a check; hold it like a check would be.
            self.relay_out.push_back(Transmit {
                destination: remote,
                source: Some(local),
                contents: data,
            });
            self.after(now);
            return None;
        }
        let mut out = vec![0; data.len() + WRAP_OVERHEAD];
        match r.client.send_to_into(now, remote, &data, &mut out) {
            Ok(n) => {
                out.truncate(n);
                Some(Transmit {
                    destination: r.server,
                    source: Some(r.base),
                    contents: out,
                })
            }
            Err(error) => {
                tracing::debug!(%remote, %error, "TURN could not relay data");
                self.stats.turn_dropped += 1;
                None
            }
        }
    }

    /// Closes every allocation (RFC 8656 §8: a Refresh with LIFETIME 0).
    pub(crate) fn close_relays(&mut self, now: Instant) {
        for r in &mut self.relays {
            r.client.close(now);
            r.phase = RelayPhase::Gone {
                relayed: r.relayed(),
            };
            r.held.clear();
        }
        self.relay_out.clear();
    }

    /// The permission for `ip` on the allocation whose relayed address is
    /// `relayed` is installed (tests).
    #[cfg(test)]
    pub(crate) fn relay_has_permission(&self, relayed: SocketAddr, ip: std::net::IpAddr) -> bool {
        self.relays
            .iter()
            .any(|r| r.relayed() == Some(relayed) && r.client.has_permission(ip))
    }
}

/// Relays `data` to `peer` through `r` and queues the message to the server
/// in the client (drained right after).
fn send_through(r: &mut Relay, now: Instant, peer: SocketAddr, data: &[u8], dropped: &mut u64) {
    if let Err(error) = r.client.send_to(now, peer, data) {
        tracing::debug!(%peer, %error, "TURN could not relay");
        *dropped += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, SocketAddr};
    use std::time::{Duration, Instant};

    use tern_crypto::SeededRandom;
    use tern_stun::{attr_type, method, Attribute, Class, Message};
    use tern_turn::server::{Destination, ServerConfig};
    use tern_turn::{Cidr, ClientTransport, StaticUsers, TurnServer};

    use crate::candidate::{candidate_priority, Candidate, CandidateKind};
    use crate::config::{Credentials, IceConfig, TurnServerConfig};
    use crate::state::{IceEvent, IceGatheringState};
    use crate::IceAgent;

    const HOST: &str = "192.0.2.10:5000";
    const TURN_A: &str = "203.0.113.200:3478";
    const TURN_B: &str = "203.0.113.201:3478";
    const PEER: &str = "198.51.100.7:6000";

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// An arbitrary origin for the virtual time the tests pass in.
    #[allow(clippy::disallowed_methods)]
    fn t0() -> Instant {
        Instant::now()
    }

    fn agent(servers: &[&str]) -> IceAgent {
        let cfg = IceConfig {
            controlling: true,
            turn_servers: servers
                .iter()
                .map(|s| TurnServerConfig::udp(sa(s), "alice", "secret"))
                .collect(),
            ..IceConfig::default()
        };
        IceAgent::new(cfg, Box::new(SeededRandom::new(5)))
    }

    fn server(listen: &str, now: Instant) -> TurnServer {
        let mut cfg = ServerConfig::new("tern.test", [7; 32]);
        let IpAddr::V4(ip) = sa(listen).ip() else {
            unreachable!()
        };
        cfg.relay_ipv4 = Some(ip);
        // The documentation ranges stand for the public internet here.
        for net in ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"] {
            cfg.policy.allow(net.parse::<Cidr>().unwrap());
        }
        let mut users = StaticUsers::new("tern.test");
        users.add_user("alice", "secret");
        TurnServer::new(
            cfg,
            Box::new(users),
            Box::new(SeededRandom::new(11)),
            now,
            1_700_000_000,
        )
    }

    /// Moves datagrams between the agent and TURN servers until quiet; what
    /// the servers relay to peers is returned (relay, peer, bytes).
    fn exchange(
        now: Instant,
        a: &mut IceAgent,
        servers: &mut [(SocketAddr, TurnServer)],
    ) -> Vec<(SocketAddr, SocketAddr, Vec<u8>)> {
        let mut to_peers = Vec::new();
        for _ in 0..20 {
            let mut moved = false;
            while let Some(t) = a.poll_transmit() {
                moved = true;
                assert_eq!(t.source, Some(sa(HOST)));
                if let Some((l, s)) = servers.iter_mut().find(|(l, _)| *l == t.destination) {
                    s.handle_client(now, ClientTransport::Udp, sa(HOST), *l, &t.contents);
                }
            }
            for (_, s) in servers.iter_mut() {
                while let Some(t) = s.poll_transmit() {
                    moved = true;
                    match t.destination {
                        Destination::Client(ft) => {
                            a.handle_datagram(now, ft.server, ft.client, &t.contents);
                        }
                        Destination::Peer { relay, peer, .. } => {
                            to_peers.push((relay, peer, t.contents))
                        }
                        _ => {}
                    }
                }
                while s.poll_event().is_some() {}
            }
            if !moved {
                break;
            }
        }
        to_peers
    }

    fn events(a: &mut IceAgent) -> Vec<IceEvent> {
        std::iter::from_fn(|| a.poll_event()).collect()
    }

    fn relayed(evs: &[IceEvent]) -> Vec<Candidate> {
        evs.iter()
            .filter_map(|e| match e {
                IceEvent::LocalCandidate(c) if c.kind == CandidateKind::Relayed => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn relay_candidates_have_rfc_priority_distinct_foundations_and_raddr() {
        let now = t0();
        let mut a = agent(&[TURN_A, TURN_B]);
        let mut servers = [
            (sa(TURN_A), server(TURN_A, now)),
            (sa(TURN_B), server(TURN_B, now)),
        ];
        a.gather(now, &[sa(HOST)]);
        exchange(now, &mut a, &mut servers);
        let evs = events(&mut a);
        let relays = relayed(&evs);
        assert_eq!(relays.len(), 2, "one relayed candidate per server: {evs:?}");
        let host = a
            .local_candidates()
            .find(|c| c.kind == CandidateKind::Host)
            .unwrap()
            .clone();
        let host_pref = ((host.priority >> 8) & 0xffff) as u16;
        for (c, turn) in relays.iter().zip([TURN_A, TURN_B]) {
            assert_eq!(c.address.ip(), sa(turn).ip(), "relayed on its server");
            assert_eq!(
                c.priority,
                candidate_priority(CandidateKind::Relayed, host_pref, 1)
            );
            assert_eq!(c.priority >> 24, 0, "relay type preference is 0");
            // No NAT between agent and server: the mapped address is the host.
            assert_eq!(c.related, Some(sa(HOST)));
            let line = c.to_string();
            let tail = format!(
                "{} {} typ relay raddr 192.0.2.10 rport 5000",
                c.address.ip(),
                c.address.port()
            );
            assert!(line.ends_with(&tail), "{line}");
            assert_eq!(line.parse::<Candidate>().unwrap(), *c);
            assert_ne!(c.foundation, host.foundation);
        }
        assert_ne!(relays[0].foundation, relays[1].foundation);
        // Both allocations are in: gathering is complete, after the relays.
        let end = evs
            .iter()
            .position(|e| *e == IceEvent::EndOfLocalCandidates)
            .expect("end of candidates");
        let last_relay = evs
            .iter()
            .rposition(
                |e| matches!(e, IceEvent::LocalCandidate(c) if c.kind == CandidateKind::Relayed),
            )
            .unwrap();
        assert!(last_relay < end);
        assert_eq!(a.stats().turn_allocations_failed, 0);
    }

    #[test]
    fn gathering_completes_in_bounded_time_when_a_turn_server_never_answers() {
        let start = t0();
        let mut a = agent(&[TURN_A]);
        a.gather(start, &[sa(HOST)]);
        let mut allocates = 0;
        let mut now = start;
        let mut complete_at = None;
        while now < start + Duration::from_secs(60) {
            while let Some(t) = a.poll_transmit() {
                assert_eq!(t.destination, sa(TURN_A));
                allocates += 1;
            }
            for e in events(&mut a) {
                if e == IceEvent::EndOfLocalCandidates {
                    complete_at.get_or_insert(now);
                }
            }
            if complete_at.is_some() {
                break;
            }
            let Some(t) = a.poll_timeout() else { break };
            now = t;
            a.handle_timeout(now);
        }
        let at = complete_at.expect("gathering completed") - start;
        assert!(allocates >= 2, "the Allocate was sent and retransmitted");
        assert!(
            at >= Duration::from_secs(5) && at < Duration::from_millis(5100),
            "completed after {at:?}"
        );
        assert_eq!(a.gathering_state(), IceGatheringState::Complete);
        assert_eq!(a.stats().turn_allocations_failed, 1);
        assert!(a.local_candidates().all(|c| c.kind == CandidateKind::Host));
    }

    fn is_send_or_channel_data(bytes: &[u8]) -> bool {
        if bytes.first().is_some_and(|b| (0x40..0x80).contains(b)) {
            return true;
        }
        Message::parse(bytes)
            .is_ok_and(|m| m.class() == Class::Indication && m.method() == method::SEND)
    }

    fn is_create_permission(bytes: &[u8]) -> bool {
        Message::parse(bytes)
            .is_ok_and(|m| m.class() == Class::Request && m.method() == method::CREATE_PERMISSION)
    }

    #[test]
    fn permission_is_installed_before_a_check_goes_through_the_relay() {
        let now = t0();
        let mut a = agent(&[TURN_A]);
        let mut s = server(TURN_A, now);
        a.gather(now, &[sa(HOST)]);
        let mut servers = [(sa(TURN_A), s)];
        exchange(now, &mut a, &mut servers);
        [(_, s)] = servers;
        let relay = relayed(&events(&mut a))[0].address;
        a.set_remote_credentials(
            now,
            Credentials {
                ufrag: "peer".into(),
                pwd: "peerpasswordpeerpassword".into(),
            },
        );
        a.add_remote_candidate(now, Candidate::host(sa(PEER), 65535));
        // Run checks; hold the server's answers to CreatePermission back.
        let mut t_now = now;
        let mut permission_requests = Vec::new();
        for _ in 0..50 {
            while let Some(t) = a.poll_transmit() {
                if t.destination != sa(TURN_A) {
                    continue; // the host candidate's own check
                }
                assert!(
                    !is_send_or_channel_data(&t.contents),
                    "relayed a datagram before the permission was installed"
                );
                if is_create_permission(&t.contents) {
                    permission_requests.push(t.contents);
                }
            }
            match a.poll_timeout() {
                Some(t) if t <= now + Duration::from_millis(400) => {
                    t_now = t;
                    a.handle_timeout(t);
                }
                _ => break,
            }
        }
        assert!(
            !permission_requests.is_empty(),
            "a CreatePermission was sent"
        );
        assert!(!a.relay_has_permission(relay, sa(PEER).ip()));
        // Now the server sees the (authenticated) CreatePermission: the
        // first relayed datagram follows its success, a check to the peer.
        let mut servers = [(sa(TURN_A), s)];
        for p in &permission_requests {
            servers[0]
                .1
                .handle_client(t_now, ClientTransport::Udp, sa(HOST), sa(TURN_A), p);
        }
        let mut to_peers = Vec::new();
        for _ in 0..5 {
            while let Some(t) = servers[0].1.poll_transmit() {
                if let Destination::Client(ft) = t.destination {
                    a.handle_datagram(t_now, ft.server, ft.client, &t.contents);
                }
            }
            to_peers.extend(exchange(t_now, &mut a, &mut servers));
        }
        assert!(a.relay_has_permission(relay, sa(PEER).ip()));
        let (from, to, bytes) = to_peers.first().expect("a check reached the peer");
        assert_eq!((*from, *to), (relay, sa(PEER)));
        let m = Message::parse(bytes).unwrap();
        assert_eq!((m.class(), m.method()), (Class::Request, method::BINDING));
        assert!(m.get(attr_type::USERNAME).is_some());
    }

    #[test]
    fn relayed_responses_and_data_are_unwrapped_and_close_deallocates() {
        let now = t0();
        let mut a = agent(&[TURN_A]);
        let mut servers = [(sa(TURN_A), server(TURN_A, now))];
        a.gather(now, &[sa(HOST)]);
        exchange(now, &mut a, &mut servers);
        let relay = relayed(&events(&mut a))[0].address;
        a.set_remote_credentials(
            now,
            Credentials {
                ufrag: "peer".into(),
                pwd: "peerpasswordpeerpassword".into(),
            },
        );
        a.add_remote_candidate(now, Candidate::host(sa(PEER), 65535));
        a.handle_timeout(now);
        let mut to_peers = exchange(now, &mut a, &mut servers);
        for _ in 0..10 {
            if !to_peers.is_empty() {
                break;
            }
            let t = a.poll_timeout().unwrap();
            a.handle_timeout(t);
            to_peers = exchange(t, &mut a, &mut servers);
        }
        let (_, _, check) = to_peers.first().expect("check relayed").clone();
        // The peer answers the check; it comes back through the relay.
        let req = Message::parse(&check).unwrap();
        let key = tern_stun::IntegrityKey::short_term("peerpasswordpeerpassword");
        let mut buf = Vec::new();
        let mut b = tern_stun::MessageBuilder::new(
            &mut buf,
            tern_stun::MessageType::new(Class::SuccessResponse, method::BINDING),
            req.transaction_id(),
        );
        b.add(&Attribute::XorMappedAddress(relay)).unwrap();
        b.add_message_integrity(&key).unwrap();
        b.add_fingerprint().unwrap();
        let resp = b.finish().to_vec();
        let s = &mut servers[0].1;
        s.handle_peer(now, relay, sa(PEER), &resp);
        s.handle_peer(now, relay, sa(PEER), b"\x17\xfe\xfddtls-ish payload");
        let mut got_data = false;
        while let Some(t) = s.poll_transmit() {
            let Destination::Client(ft) = t.destination else {
                continue;
            };
            match a.handle_datagram(now, ft.server, ft.client, &t.contents) {
                crate::Received::Relayed { from, to, data } => {
                    assert_eq!((from, to), (sa(PEER), relay));
                    assert_eq!(data, b"\x17\xfe\xfddtls-ish payload");
                    got_data = true;
                }
                crate::Received::Consumed => {}
                other => panic!("{other:?}"),
            }
        }
        assert!(got_data);
        let pair = a
            .pairs()
            .iter()
            .find(|p| p.local_addr == relay && p.remote_addr == sa(PEER))
            .unwrap();
        assert_eq!(pair.state, crate::PairState::Succeeded);
        // Application data on the relayed pair is wrapped for the server.
        let out = a
            .send_data(now, relay, sa(PEER), b"\x17app".to_vec())
            .expect("wrapped");
        assert_eq!((out.source, out.destination), (Some(sa(HOST)), sa(TURN_A)));
        assert!(is_send_or_channel_data(&out.contents));
        let before = servers[0].1.stats().client_to_peer_packets;
        servers[0].1.handle_client(
            now,
            ClientTransport::Udp,
            sa(HOST),
            sa(TURN_A),
            &out.contents,
        );
        assert_eq!(servers[0].1.stats().client_to_peer_packets, before + 1);
        // Not relayed: passed through untouched.
        let direct = a
            .send_data(now, sa(HOST), sa(PEER), b"\x17app".to_vec())
            .unwrap();
        assert_eq!(
            (direct.source, direct.destination, &direct.contents[..]),
            (Some(sa(HOST)), sa(PEER), &b"\x17app"[..])
        );
        // Garbage from the server's address is dropped, never a panic.
        for junk in [
            &[0x40u8, 0x00, 0xff, 0xff][..],
            &[0x01, 0x13, 0x00],
            &[0xff; 40],
        ] {
            let _ = a.handle_datagram(now, sa(TURN_A), sa(HOST), junk);
        }
        assert_eq!(servers[0].1.allocation_count(), 1);
        a.close(now);
        exchange(now, &mut a, &mut servers);
        assert_eq!(servers[0].1.allocation_count(), 0, "deallocated on close");
        assert_eq!(
            a.poll_timeout(),
            None,
            "nothing left to do once deallocated"
        );
    }
}
