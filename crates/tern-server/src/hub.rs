//! Rooms and members, and the relay between them. A member's outgoing
//! queue is bounded: a member that does not keep up is disconnected rather
//! than slowing anyone else down.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tern_crypto::{OsRandom, Random};
use tokio::sync::mpsc;

use crate::messages::{MemberInfo, ServerMessage};
use crate::metrics::Metrics;

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
    /// Messages queued to one member before it counts as not keeping up.
    pub queue: usize,
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
        }
    }
}

/// Where a member's messages go (its connection, while it has one).
pub(crate) type Outbox = mpsc::Sender<ServerMessage>;

struct Member {
    name: String,
    secret: String,
    /// `None` while its connection is gone (within the grace period).
    outbox: Option<Outbox>,
    /// Bumped on every (re)connection, so a stale expiry does nothing.
    generation: u64,
}

#[derive(Default)]
struct Room {
    members: HashMap<String, Member>,
}

/// All rooms.
pub struct Hub {
    rooms: Mutex<HashMap<String, Room>>,
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

/// What `join` decided.
pub(crate) struct Joined {
    pub member: String,
    pub generation: u64,
}

impl Hub {
    /// An empty hub.
    pub fn new(limits: Limits, metrics: Arc<Metrics>) -> Self {
        Hub {
            rooms: Mutex::new(HashMap::new()),
            limits,
            metrics,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Room>> {
        // A panic elsewhere cannot leave the map half-changed (every change
        // is a single insert or remove), so a poisoned lock is still usable.
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, to: &Member, m: ServerMessage) -> bool {
        match &to.outbox {
            Some(o) => o.try_send(m).is_ok(),
            None => false,
        }
    }

    /// Joins (or rejoins, with the member's id and secret) a room.
    pub(crate) fn join(
        &self,
        room: &str,
        name: &str,
        resume: Option<(&str, &str)>,
        outbox: Outbox,
    ) -> Result<Joined, ServerMessage> {
        let mut rooms = self.lock();
        if !rooms.contains_key(room) && rooms.len() >= self.limits.max_rooms {
            return Err(ServerMessage::error(
                "busy",
                "too many rooms on this server; try later",
            ));
        }
        let r = rooms.entry(room.to_string()).or_default();
        if let Some((id, secret)) = resume {
            if let Some(m) = r.members.get_mut(id) {
                if tern_crypto::constant_time_eq(m.secret.as_bytes(), secret.as_bytes()) {
                    m.generation += 1;
                    m.outbox = Some(outbox.clone());
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
                    let _ = outbox.try_send(ServerMessage::Joined {
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
            // An expired or unknown membership: join afresh.
        }
        if r.members.len() >= self.limits.room_size {
            if r.members.is_empty() {
                rooms.remove(room);
            }
            return Err(ServerMessage::error(
                "room-full",
                format!("room {room} has {} members already", self.limits.room_size),
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
        for other in r.members.values() {
            self.send(other, ServerMessage::MemberJoined { member: me.clone() });
        }
        let _ = outbox.try_send(ServerMessage::Joined {
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
            },
        );
        self.metrics.members.fetch_add(1, Ordering::Relaxed);
        Ok(Joined {
            member: id,
            generation: 1,
        })
    }

    /// Relays `data` from `from` to `to` in `room`.
    pub(crate) fn relay(
        &self,
        room: &str,
        from: &str,
        to: &str,
        data: Value,
    ) -> Result<(), ServerMessage> {
        let rooms = self.lock();
        let target = rooms.get(room).and_then(|r| r.members.get(to));
        let Some(target) = target else {
            return Err(ServerMessage::error(
                "unknown-member",
                format!("no member {to} in room {room}"),
            ));
        };
        let Some(outbox) = &target.outbox else {
            return Err(ServerMessage::error(
                "unknown-member",
                format!("member {to} is reconnecting; try again"),
            ));
        };
        match outbox.try_send(ServerMessage::Signal {
            from: from.to_string(),
            data,
        }) {
            Ok(()) => {
                self.metrics.relayed.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(_) => Err(ServerMessage::error(
                "busy",
                format!("member {to} is not keeping up"),
            )),
        }
    }

    /// Leaves for good (or after the grace period ran out).
    pub(crate) fn leave(&self, room: &str, id: &str) {
        let mut rooms = self.lock();
        let Some(r) = rooms.get_mut(room) else { return };
        if r.members.remove(id).is_none() {
            return;
        }
        self.metrics.members.fetch_sub(1, Ordering::Relaxed);
        for other in r.members.values() {
            self.send(
                other,
                ServerMessage::MemberLeft {
                    member: id.to_string(),
                },
            );
        }
        if r.members.is_empty() {
            rooms.remove(room);
        }
    }

    /// The connection dropped: keep the place for the grace period.
    /// Returns whether the member is still there (and now away).
    pub(crate) fn disconnected(&self, room: &str, id: &str, generation: u64) -> bool {
        let mut rooms = self.lock();
        let Some(m) = rooms.get_mut(room).and_then(|r| r.members.get_mut(id)) else {
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
            .get(room)
            .and_then(|r| r.members.get(id))
            .is_some_and(|m| m.generation == generation && m.outbox.is_none());
        if still_away {
            self.leave(room, id);
        }
    }

    /// Rooms open now.
    pub fn rooms(&self) -> usize {
        self.lock().len()
    }
}
