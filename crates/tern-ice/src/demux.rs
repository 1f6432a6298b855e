//! Many agents on one socket (RFC 8445 §5.1.1.1 allows sharing a base across
//! sessions when checks carry distinct ufrags): incoming requests are routed
//! by the ufrag in USERNAME, everything else by the 5-tuple an agent has
//! already used.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::SocketAddr;

use tern_stun::{Class, Message};

/// Counters of what the demultiplexer could not route.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemuxStats {
    /// Requests naming a ufrag no agent has.
    pub unknown_ufrag: u64,
    /// Other datagrams from a 5-tuple no agent has used.
    pub unknown_tuple: u64,
    /// STUN that did not parse.
    pub malformed: u64,
}

/// Routes datagrams arriving on a shared socket to agents identified by `K`.
#[derive(Debug)]
pub struct UfragDemux<K> {
    by_ufrag: HashMap<String, K>,
    by_tuple: HashMap<(SocketAddr, SocketAddr), K>,
    stats: DemuxStats,
    max_tuples: usize,
}

impl<K: Clone + Eq + Hash> UfragDemux<K> {
    /// A demultiplexer remembering at most `max_tuples` 5-tuples.
    pub fn new(max_tuples: usize) -> Self {
        UfragDemux {
            by_ufrag: HashMap::new(),
            by_tuple: HashMap::new(),
            stats: DemuxStats::default(),
            max_tuples,
        }
    }

    /// Routes requests with local ufrag `ufrag` to `key` (call again after a restart).
    pub fn register_ufrag(&mut self, ufrag: &str, key: K) {
        self.by_ufrag.insert(ufrag.to_owned(), key);
    }

    /// Forgets everything about `key` (the agent is gone).
    pub fn remove(&mut self, key: &K) {
        self.by_ufrag.retain(|_, k| k != key);
        self.by_tuple.retain(|_, k| k != key);
    }

    /// Notes that `key` sent from `local` to `remote`, so replies route back to it.
    pub fn note_transmit(&mut self, key: &K, local: SocketAddr, remote: SocketAddr) {
        if self.by_tuple.len() < self.max_tuples || self.by_tuple.contains_key(&(local, remote)) {
            self.by_tuple.insert((local, remote), key.clone());
        }
    }

    /// Which agent a datagram from `from` to `local` belongs to.
    pub fn route(&mut self, from: SocketAddr, local: SocketAddr, data: &[u8]) -> Option<K> {
        if tern_stun::is_stun(data) {
            match Message::parse(data) {
                Ok(m) if m.class() == Class::Request => {
                    let key = m
                        .username()
                        .and_then(|u| u.split(':').next())
                        .and_then(|ufrag| self.by_ufrag.get(ufrag).cloned());
                    if key.is_none() {
                        self.stats.unknown_ufrag += 1;
                    }
                    return key;
                }
                Ok(_) => {}
                Err(_) => {
                    self.stats.malformed += 1;
                    return None;
                }
            }
        }
        let key = self.by_tuple.get(&(local, from)).cloned();
        if key.is_none() {
            self.stats.unknown_tuple += 1;
        }
        key
    }

    /// Counters.
    pub fn stats(&self) -> DemuxStats {
        self.stats
    }
}
