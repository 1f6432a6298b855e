//! Rooms and members, and the relay between them. A member's outgoing
//! queue is bounded: a member that does not keep up is disconnected rather
//! than slowing anyone else down.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tern_crypto::{OsRandom, Random};

use crate::messages::{MemberInfo, ServerMessage};
use crate::metrics::Metrics;
use crate::outbox::Kick;

/// Limits that keep one client from hurting the others.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest message accepted, bytes.
    pub max_message: usize,
    /// Messages per second per connection (sustained).
    pub rate: u32,
    /// Messages allowed in a burst above the rate.
    pub burst: u32,
    /// Members per room.
    pub room_size: usize,
    /// Rooms in all.
    pub max_rooms: usize,
    /// A connection that sends nothing for this long is dropped (clients
    /// send `ping` every 10 s).
    pub heartbeat_timeout: Duration,
    /// A dropped member keeps its place this long, to rejoin with its secret.
    pub reconnect_grace: Duration,
    /// Messages queued to one member before it counts as not keeping up
    /// (and is disconnected).
    pub queue: usize,
    /// Bytes queued to one member before it counts as not keeping up (and
    /// is disconnected).
    pub queue_bytes: usize,
    /// A write to a member that does not complete in this time disconnects
    /// it.
    pub write_timeout: Duration,
    /// An HTTP request's headers (and a TLS handshake) must arrive within
    /// this time; an idle keep-alive connection is closed after it too.
    pub header_timeout: Duration,
    /// A WebSocket that has not joined a room within this time is closed.
    pub join_timeout: Duration,
    /// TCP connections open at once, in all (further ones are closed at
    /// accept); also kept below the process's file descriptor limit.
    pub max_connections: usize,
    /// TCP connections open at once from one IP address.
    pub connections_per_ip: usize,
    /// Rooms one IP address may have opened (that still exist).
    pub rooms_per_ip: usize,
    /// Members one IP address may have, counting those in their grace
    /// period.
    pub members_per_ip: usize,
    /// A connection over its message rate in this many one-second windows
    /// in a row (or by more than `burst` frames in one) is closed.
    pub flood_strikes: u32,
    /// STUN Binding requests answered per second per source address.
    pub stun_rate: u32,
    /// STUN Binding requests answered at once per source address.
    pub stun_burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message: 64 * 1024,
            rate: 50,
            burst: 200,
            room_size: 16,
            max_rooms: 10_000,
            heartbeat_timeout: Duration::from_secs(30),
            reconnect_grace: Duration::from_secs(15),
            queue: 1024,
            queue_bytes: 1024 * 1024,
            write_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            join_timeout: Duration::from_secs(10),
            max_connections: 16_384,
            connections_per_ip: 1024,
            rooms_per_ip: 128,
            members_per_ip: 1024,
            flood_strikes: 3,
            stun_rate: 20,
            stun_burst: 50,
        }
    }
}

pub(crate) use crate::outbox::Outbox;

struct Member {
    name: String,
    secret: String,
    /// `None` while its connection is gone (within the grace period).
    outbox: Option<Outbox>,
    /// Bumped on every (re)connection, so a stale expiry does nothing and
    /// a taken-over connection can no longer act as the member.
    generation: u64,
    /// The address it joined from: its place counts against that
    /// address's quota until it is gone for good.
    ip: IpAddr,
}

struct Room {
    members: HashMap<String, Member>,
    /// The address that opened it: the room counts against its quota.
    opener: IpAddr,
}

/// Rooms, and what each address holds.
#[derive(Default)]
struct State {
    rooms: HashMap<String, Room>,
    /// Members (present or in their grace period) per address; an address
    /// with none has no entry, so the table is bounded by the members.
    members_per_ip: HashMap<IpAddr, usize>,
    /// Rooms opened per address, likewise.
    rooms_per_ip: HashMap<IpAddr, usize>,
}

fn dec(map: &mut HashMap<IpAddr, usize>, ip: IpAddr) {
    if let Some(n) = map.get_mut(&ip) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(&ip);
        }
    }
}

impl State {
    fn remove_room(&mut self, room: &str) {
        if let Some(r) = self.rooms.remove(room) {
            dec(&mut self.rooms_per_ip, r.opener);
        }
    }
}

/// All rooms.
pub struct Hub {
    state: Mutex<State>,
    /// The limits.
    pub limits: Limits,
    pub(crate) metrics: Arc<Metrics>,
}

fn random_id(n: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut b = vec![0u8; n];
    OsRandom.fill(&mut b);
    b.iter()
        .map(|x| CHARS[usize::from(*x) % CHARS.len()] as char)
        .collect()
}

/// What a connection taken over by a rejoin gets when it tries to act as
/// the member.
fn replaced() -> ServerMessage {
    ServerMessage::error(
        "replaced",
        "your membership was taken over by a rejoin on another connection",
    )
}

/// What `join` decided.
pub(crate) struct Joined {
    pub member: String,
    pub generation: u64,
}

impl Hub {
    /// An empty hub.
    pub fn new(limits: Limits, metrics: Arc<Metrics>) -> Self {
        Hub {
            state: Mutex::new(State::default()),
            limits,
            metrics,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the maps half-changed (every change
        // is a single insert, remove or count), so a poisoned lock is still
        // usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, to: &Member, m: &ServerMessage) -> bool {
        match &to.outbox {
            Some(o) => o.try_send(m).is_ok(),
            None => false,
        }
    }

    /// Joins (or rejoins, with the member's id and secret) a room, from
    /// `ip`. A rejoin takes the membership over: the connection that held
    /// it is kicked and can no longer act as the member.
    pub(crate) fn join(
        &self,
        room: &str,
        name: &str,
        resume: Option<(&str, &str)>,
        outbox: Outbox,
        ip: IpAddr,
    ) -> Result<Joined, ServerMessage> {
        let mut state = self.lock();
        let state = &mut *state;
        if let Some((id, secret)) = resume {
            if let Some(r) = state.rooms.get_mut(room) {
                if let Some(m) = r.members.get_mut(id) {
                    if tern_crypto::constant_time_eq(m.secret.as_bytes(), secret.as_bytes()) {
                        m.generation += 1;
                        if let Some(old) = m.outbox.replace(outbox.clone()) {
                            if !old.same(&outbox) {
                                old.kick(Kick::Replaced);
                            }
                        }
                        let generation = m.generation;
                        let members = r
                            .members
                            .iter()
                            .filter(|(k, _)| *k != id)
                            .map(|(k, m)| MemberInfo {
                                id: k.clone(),
                                name: m.name.clone(),
                            })
                            .collect();
                        let _ = outbox.try_send(&ServerMessage::Joined {
                            room: room.to_string(),
                            member: id.to_string(),
                            secret: secret.to_string(),
                            members,
                        });
                        return Ok(Joined {
                            member: id.to_string(),
                            generation,
                        });
                    }
                }
            }
            // An expired or unknown membership: join afresh.
        }
        let l = &self.limits;
        if state.members_per_ip.get(&ip).copied().unwrap_or(0) >= l.members_per_ip {
            return Err(ServerMessage::error(
                "quota",
                format!(
                    "your address has {} members on this server already; leave some first",
                    l.members_per_ip
                ),
            ));
        }
        if !state.rooms.contains_key(room) {
            if state.rooms.len() >= l.max_rooms {
                return Err(ServerMessage::error(
                    "busy",
                    "too many rooms on this server; try later",
                ));
            }
            if state.rooms_per_ip.get(&ip).copied().unwrap_or(0) >= l.rooms_per_ip {
                return Err(ServerMessage::error(
                    "quota",
                    format!(
                        "your address opened {} rooms on this server already; leave some first",
                        l.rooms_per_ip
                    ),
                ));
            }
            state.rooms.insert(
                room.to_string(),
                Room {
                    members: HashMap::new(),
                    opener: ip,
                },
            );
            *state.rooms_per_ip.entry(ip).or_default() += 1;
        }
        let Some(r) = state.rooms.get_mut(room) else {
            // Inserted just above, under the same lock.
            return Err(ServerMessage::error("busy", "try again"));
        };
        if r.members.len() >= l.room_size {
            if r.members.is_empty() {
                state.remove_room(room); // room_size 0: never keep it open
            }
            return Err(ServerMessage::error(
                "room-full",
                format!("the room has {} members already", l.room_size),
            ));
        }
        let id = loop {
            let id = random_id(8);
            if !r.members.contains_key(&id) {
                break id;
            }
        };
        let secret = random_id(24);
        let members: Vec<MemberInfo> = r
            .members
            .iter()
            .map(|(k, m)| MemberInfo {
                id: k.clone(),
                name: m.name.clone(),
            })
            .collect();
        let me = MemberInfo {
            id: id.clone(),
            name: name.to_string(),
        };
        let announce = ServerMessage::MemberJoined { member: me };
        for other in r.members.values() {
            self.send(other, &announce);
        }
        let _ = outbox.try_send(&ServerMessage::Joined {
            room: room.to_string(),
            member: id.clone(),
            secret: secret.clone(),
            members,
        });
        r.members.insert(
            id.clone(),
            Member {
                name: name.to_string(),
                secret,
                outbox: Some(outbox),
                generation: 1,
                ip,
            },
        );
        *state.members_per_ip.entry(ip).or_default() += 1;
        self.metrics.members.fetch_add(1, Ordering::Relaxed);
        Ok(Joined {
            member: id,
            generation: 1,
        })
    }

    /// Relays `data` from `from` (on its connection `generation`) to `to`
    /// in `room`.
    pub(crate) fn relay(
        &self,
        room: &str,
        from: &str,
        generation: u64,
        to: &str,
        data: Value,
    ) -> Result<(), ServerMessage> {
        let state = self.lock();
        let Some(r) = state.rooms.get(room) else {
            return Err(replaced());
        };
        if r.members.get(from).map(|m| m.generation) != Some(generation) {
            return Err(replaced());
        }
        let Some(target) = r.members.get(to) else {
            // The id is not quoted back: it is whatever the client sent.
            return Err(ServerMessage::error(
                "unknown-member",
                "no such member in your room",
            ));
        };
        let Some(outbox) = &target.outbox else {
            return Err(ServerMessage::error(
                "unknown-member",
                "that member is reconnecting; try again",
            ));
        };
        match outbox.try_send(&ServerMessage::Signal {
            from: from.to_string(),
            data,
        }) {
            Ok(()) => {
                self.metrics.relayed.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            // Its queue is full: it has been told to go.
            Err(_) => Err(ServerMessage::error(
                "busy",
                "that member is not keeping up and is being disconnected",
            )),
        }
    }

    /// Leaves for good (or after the grace period ran out), if `generation`
    /// is still the member's (`None`: whatever it is).
    pub(crate) fn leave(&self, room: &str, id: &str, generation: Option<u64>) {
        let mut state = self.lock();
        let state = &mut *state;
        let Some(r) = state.rooms.get_mut(room) else {
            return;
        };
        if generation.is_some_and(|g| r.members.get(id).map(|m| m.generation) != Some(g)) {
            return;
        }
        let Some(gone) = r.members.remove(id) else {
            return;
        };
        dec(&mut state.members_per_ip, gone.ip);
        self.metrics.members.fetch_sub(1, Ordering::Relaxed);
        let left = ServerMessage::MemberLeft {
            member: id.to_string(),
        };
        for other in r.members.values() {
            self.send(other, &left);
        }
        if r.members.is_empty() {
            state.remove_room(room);
        }
    }

    /// The connection dropped: keep the place for the grace period.
    /// Returns whether the member is still there (and now away).
    pub(crate) fn disconnected(&self, room: &str, id: &str, generation: u64) -> bool {
        let mut state = self.lock();
        let Some(m) = state
            .rooms
            .get_mut(room)
            .and_then(|r| r.members.get_mut(id))
        else {
            return false;
        };
        if m.generation != generation {
            return false; // already rejoined on a newer connection
        }
        m.outbox = None;
        true
    }

    /// The grace period ended: remove the member unless it rejoined.
    pub(crate) fn expire(&self, room: &str, id: &str, generation: u64) {
        let still_away = self
            .lock()
            .rooms
            .get(room)
            .and_then(|r| r.members.get(id))
            .is_some_and(|m| m.generation == generation && m.outbox.is_none());
        if still_away {
            self.leave(room, id, Some(generation));
        }
    }

    /// Rooms open now.
    pub fn rooms(&self) -> usize {
        self.lock().rooms.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::outbox;

    fn hub(limits: Limits) -> Hub {
        Hub::new(limits, Arc::new(Metrics::default()))
    }

    /// Issue 13: 10,050 join-and-abort connections from one address used to
    /// fill the 10,000-room cap (each member held its room through its
    /// grace period) and lock everyone out; 5,000 joins from one address
    /// all succeeded.
    #[test]
    fn one_address_cannot_fill_the_server() {
        let h = hub(Limits::default());
        let attacker: IpAddr = "192.0.2.66".parse().unwrap();
        let mut opened = 0;
        for i in 0..10_050 {
            let (tx, _inbox, _k) = outbox(1 << 20, 1024, h.metrics.clone());
            let room = format!("r{i}");
            if let Ok(j) = h.join(&room, "x", None, tx, attacker) {
                opened += 1;
                assert!(h.disconnected(&room, &j.member, j.generation)); // in its grace period
            }
        }
        assert_eq!(opened, Limits::default().rooms_per_ip);
        let (tx, _inbox, _k) = outbox(1 << 20, 1024, h.metrics.clone());
        assert!(h
            .join("mine", "ada", None, tx, "198.51.100.1".parse().unwrap())
            .is_ok());
        // Members: one big room, joined 500 times from one address (each
        // join tells every member, so the test keeps the quota small).
        let h = hub(Limits {
            room_size: 100_000,
            members_per_ip: 100,
            ..Limits::default()
        });
        let mut keep = Vec::new();
        let mut joined = 0;
        for _ in 0..500 {
            let (tx, inbox, k) = outbox(1 << 20, 1024, h.metrics.clone());
            match h.join("big", "x", None, tx, attacker) {
                Ok(_) => joined += 1,
                Err(ServerMessage::Error { code, .. }) => assert_eq!(code, "quota"),
                Err(e) => panic!("{e:?}"),
            }
            keep.push((inbox, k));
        }
        assert_eq!(joined, 100);
    }
}
