//! NAT boxes with the mapping and filtering behaviours of RFC 4787.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// How a NAT decides whether two flows share a mapping (RFC 4787 §4.1), or
/// which inbound packets a mapping admits (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Behavior {
    /// Endpoint-independent.
    EndpointIndependent,
    /// Address-dependent.
    AddressDependent,
    /// Address-and-port-dependent.
    AddressAndPortDependent,
}

/// A NAT's behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatConfig {
    /// Mapping behaviour (RFC 4787 §4.1).
    pub mapping: Behavior,
    /// Filtering behaviour (RFC 4787 §5).
    pub filtering: Behavior,
    /// Idle time after which a mapping is forgotten (refreshed by outbound packets, REQ-6).
    pub mapping_timeout: Duration,
    /// Whether hosts behind the NAT can reach each other through its public address (§6).
    pub hairpinning: bool,
    /// First external port handed out.
    pub first_port: u16,
}

impl NatConfig {
    fn new(mapping: Behavior, filtering: Behavior) -> Self {
        NatConfig {
            mapping,
            filtering,
            mapping_timeout: Duration::from_secs(120),
            hairpinning: false,
            first_port: 40_000,
        }
    }
    /// "Full cone": endpoint-independent mapping and filtering.
    pub fn full_cone() -> Self {
        Self::new(Behavior::EndpointIndependent, Behavior::EndpointIndependent)
    }
    /// "Restricted cone": endpoint-independent mapping, address-dependent filtering.
    pub fn restricted() -> Self {
        Self::new(Behavior::EndpointIndependent, Behavior::AddressDependent)
    }
    /// "Port-restricted cone": endpoint-independent mapping, address-and-port-dependent filtering.
    pub fn port_restricted() -> Self {
        Self::new(
            Behavior::EndpointIndependent,
            Behavior::AddressAndPortDependent,
        )
    }
    /// "Symmetric": address-and-port-dependent mapping and filtering.
    pub fn symmetric() -> Self {
        Self::new(
            Behavior::AddressAndPortDependent,
            Behavior::AddressAndPortDependent,
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MappingKey {
    internal: SocketAddr,
    remote_ip: Option<IpAddr>,
    remote_port: Option<u16>,
}

#[derive(Debug)]
struct Mapping {
    internal: SocketAddr,
    last_outbound: Instant,
    /// Remote endpoints this mapping has sent to (the filter's memory).
    contacted: HashSet<SocketAddr>,
}

/// A NAT's state.
#[derive(Debug)]
pub(crate) struct Nat {
    pub config: NatConfig,
    pub public_ip: IpAddr,
    by_key: HashMap<MappingKey, u16>,
    by_port: HashMap<u16, (MappingKey, Mapping)>,
    next_port: u16,
}

impl Nat {
    pub fn new(config: NatConfig, public_ip: IpAddr) -> Self {
        let next_port = config.first_port;
        Nat {
            config,
            public_ip,
            by_key: HashMap::new(),
            by_port: HashMap::new(),
            next_port,
        }
    }

    fn expired(&self, m: &Mapping, now: Instant) -> bool {
        now.saturating_duration_since(m.last_outbound) > self.config.mapping_timeout
    }

    /// Translates an outbound packet's source, creating or refreshing a mapping.
    /// Returns the external source address, or `None` if the port space is full.
    pub fn outbound(
        &mut self,
        now: Instant,
        internal: SocketAddr,
        remote: SocketAddr,
    ) -> Option<SocketAddr> {
        let key = MappingKey {
            internal,
            remote_ip: (self.config.mapping != Behavior::EndpointIndependent)
                .then_some(remote.ip()),
            remote_port: (self.config.mapping == Behavior::AddressAndPortDependent)
                .then_some(remote.port()),
        };
        let existing = self.by_key.get(&key).copied();
        let port = match existing {
            Some(p)
                if self
                    .by_port
                    .get(&p)
                    .is_some_and(|(_, m)| !self.expired(m, now)) =>
            {
                p
            }
            stale => {
                if let Some(p) = stale {
                    self.by_port.remove(&p);
                    self.by_key.remove(&key);
                }
                let p = self.allocate_port(now)?;
                self.by_key.insert(key.clone(), p);
                self.by_port.insert(
                    p,
                    (
                        key,
                        Mapping {
                            internal,
                            last_outbound: now,
                            contacted: HashSet::new(),
                        },
                    ),
                );
                p
            }
        };
        let (_, m) = self.by_port.get_mut(&port)?;
        m.last_outbound = now;
        m.contacted.insert(remote);
        Some(SocketAddr::new(self.public_ip, port))
    }

    fn allocate_port(&mut self, now: Instant) -> Option<u16> {
        for _ in 0..=u16::MAX {
            let p = self.next_port;
            self.next_port = if p == u16::MAX {
                self.config.first_port.max(1024)
            } else {
                p + 1
            };
            match self.by_port.get(&p) {
                None => return Some(p),
                Some((_, m)) if self.expired(m, now) => {
                    let (key, _) = self.by_port.remove(&p)?;
                    self.by_key.remove(&key);
                    return Some(p);
                }
                Some(_) => {}
            }
        }
        None
    }

    /// Translates an inbound packet to `external_port` from `remote`; returns
    /// the internal destination if a live mapping exists and its filter admits `remote`.
    pub fn inbound(
        &self,
        now: Instant,
        external_port: u16,
        remote: SocketAddr,
    ) -> Option<SocketAddr> {
        let (_, m) = self.by_port.get(&external_port)?;
        if self.expired(m, now) {
            return None;
        }
        let admitted = match self.config.filtering {
            Behavior::EndpointIndependent => true,
            Behavior::AddressDependent => m.contacted.iter().any(|c| c.ip() == remote.ip()),
            Behavior::AddressAndPortDependent => m.contacted.contains(&remote),
        };
        admitted.then_some(m.internal)
    }

    /// Live mappings (for tests and traces).
    pub fn mapping_count(&self, now: Instant) -> usize {
        self.by_port
            .values()
            .filter(|(_, m)| !self.expired(m, now))
            .count()
    }
}

#[cfg(test)]
// Tests need an arbitrary origin for virtual time; only differences matter.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn endpoint_independent_mapping_reuses_port() {
        let mut n = Nat::new(NatConfig::port_restricted(), "203.0.113.1".parse().unwrap());
        let t = Instant::now();
        let e1 = n
            .outbound(t, a("192.0.2.2:5000"), a("198.51.100.1:3478"))
            .unwrap();
        let e2 = n
            .outbound(t, a("192.0.2.2:5000"), a("198.51.100.9:9"))
            .unwrap();
        assert_eq!(e1, e2);
        // Port-restricted filtering: only contacted ip:port pairs get in.
        assert_eq!(
            n.inbound(t, e1.port(), a("198.51.100.1:3478")),
            Some(a("192.0.2.2:5000"))
        );
        assert_eq!(n.inbound(t, e1.port(), a("198.51.100.1:3479")), None);
        assert_eq!(n.inbound(t, e1.port(), a("198.51.100.7:3478")), None);
    }

    #[test]
    fn symmetric_mapping_differs_per_destination() {
        let mut n = Nat::new(NatConfig::symmetric(), "203.0.113.1".parse().unwrap());
        let t = Instant::now();
        let e1 = n
            .outbound(t, a("192.0.2.2:5000"), a("198.51.100.1:3478"))
            .unwrap();
        let e2 = n
            .outbound(t, a("192.0.2.2:5000"), a("198.51.100.1:3479"))
            .unwrap();
        assert_ne!(e1, e2);
    }

    #[test]
    fn restricted_and_full_cone_filters() {
        let t = Instant::now();
        let mut r = Nat::new(NatConfig::restricted(), "203.0.113.1".parse().unwrap());
        let e = r
            .outbound(t, a("192.0.2.2:5000"), a("198.51.100.1:3478"))
            .unwrap();
        assert!(r.inbound(t, e.port(), a("198.51.100.1:1")).is_some());
        assert!(r.inbound(t, e.port(), a("198.51.100.2:3478")).is_none());
        let mut f = Nat::new(NatConfig::full_cone(), "203.0.113.1".parse().unwrap());
        let e = f
            .outbound(t, a("192.0.2.2:5000"), a("198.51.100.1:3478"))
            .unwrap();
        assert!(f.inbound(t, e.port(), a("198.51.100.99:1")).is_some());
    }

    #[test]
    fn mappings_expire_without_outbound_traffic() {
        let mut n = Nat::new(NatConfig::full_cone(), "203.0.113.1".parse().unwrap());
        let t = Instant::now();
        let e = n
            .outbound(t, a("192.0.2.2:5000"), a("198.51.100.1:3478"))
            .unwrap();
        let later = t + Duration::from_secs(121);
        assert!(n.inbound(later, e.port(), a("198.51.100.1:3478")).is_none());
        assert_eq!(n.mapping_count(later), 0);
        let e2 = n
            .outbound(later, a("192.0.2.2:5000"), a("198.51.100.1:3478"))
            .unwrap();
        assert_ne!(e.port(), e2.port(), "a fresh mapping after expiry");
    }
}
