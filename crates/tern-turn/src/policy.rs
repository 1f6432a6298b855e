//! Which peers a TURN server may relay to (RFC 8656 §21.2.5 and §22: a relay
//! must not become a door into the operator's own network).
//!
//! The policy DENIES BY DEFAULT every address that is not a unicast host on
//! the public Internet: loopback, unspecified, private, shared (CGNAT),
//! link-local (the cloud metadata service lives at 169.254.169.254), unique
//! local, site-local, multicast, broadcast, reserved, Teredo, documentation
//! and benchmarking ranges, and the server's own addresses. Deliberate
//! exceptions go in an allow-list of CIDRs.
//!
//! Addresses are judged after canonicalisation ([`canonicalize`]): every IPv6
//! spelling of an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64 and 6to4)
//! is judged as that IPv4 address, so `::ffff:127.0.0.1` (coturn's
//! CVE-2026-27624) is loopback. Ranges are compared as integers under a
//! prefix mask, never as bytes of text.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::str::FromStr;

/// An address range `address/prefix`, IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

/// Why a [`Cidr`] could not be made or parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CidrError {
    /// The prefix is longer than the address (32 for IPv4, 128 for IPv6).
    PrefixTooLong(u8),
    /// The text is not `address` or `address/prefix`.
    Syntax(String),
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CidrError::PrefixTooLong(p) => write!(f, "CIDR prefix /{p} is longer than the address"),
            CidrError::Syntax(s) => {
                write!(
                    f,
                    "{s:?} is not an address or address/prefix (e.g. 203.0.113.0/24)"
                )
            }
        }
    }
}

impl std::error::Error for CidrError {}

fn v4_mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

fn v6_mask(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    }
}

impl Cidr {
    /// The range of `prefix` leading bits of `net` (host bits are cleared). The
    /// address is canonicalised first, so `::ffff:10.0.0.0/104` is `10.0.0.0/8`.
    pub fn new(net: IpAddr, prefix: u8) -> Result<Self, CidrError> {
        let (net, prefix) = match net {
            IpAddr::V6(v6) => match canonicalize(IpAddr::V6(v6)) {
                // An IPv6 spelling of IPv4 keeps the IPv4 part of its prefix.
                IpAddr::V4(v4) if prefix >= 96 => (IpAddr::V4(v4), prefix - 96),
                _ => (IpAddr::V6(v6), prefix),
            },
            v4 => (v4, prefix),
        };
        match net {
            IpAddr::V4(a) => {
                if prefix > 32 {
                    return Err(CidrError::PrefixTooLong(prefix));
                }
                let n = u32::from(a) & v4_mask(prefix);
                Ok(Cidr {
                    net: IpAddr::V4(Ipv4Addr::from(n)),
                    prefix,
                })
            }
            IpAddr::V6(a) => {
                if prefix > 128 {
                    return Err(CidrError::PrefixTooLong(prefix));
                }
                let n = u128::from(a) & v6_mask(prefix);
                Ok(Cidr {
                    net: IpAddr::V6(Ipv6Addr::from(n)),
                    prefix,
                })
            }
        }
    }

    /// Exactly one address.
    pub fn host(ip: IpAddr) -> Self {
        let canon = canonicalize(ip);
        let prefix = if canon.is_ipv4() { 32 } else { 128 };
        Cidr { net: canon, prefix }
    }

    /// Whether `ip` (canonicalised here) lies in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.contains_canonical(canonicalize(ip))
    }

    fn contains_canonical(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => u32::from(a) & v4_mask(self.prefix) == u32::from(n),
            (IpAddr::V6(n), IpAddr::V6(a)) => u128::from(a) & v6_mask(self.prefix) == u128::from(n),
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

impl FromStr for Cidr {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Self, CidrError> {
        let bad = || CidrError::Syntax(s.to_owned());
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let ip: IpAddr = addr.parse().map_err(|_| bad())?;
        let prefix = prefix.unwrap_or(if ip.is_ipv4() { 32 } else { 128 });
        Cidr::new(ip, prefix)
    }
}

/// The IPv4 address an IPv6 address stands for, if it is one of IPv4's IPv6
/// spellings; otherwise the address itself.
///
/// - IPv4-mapped `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2),
/// - IPv4-compatible `::a.b.c.d` (RFC 4291 §2.5.5.1, deprecated; `::` and
///   `::1` stay IPv6 and are judged as unspecified and loopback),
/// - NAT64 well-known prefix `64:ff9b::/96` (RFC 6052 §2.1),
/// - 6to4 `2002:AABB:CCDD::/48` (RFC 3056 §2), judged as `AA.BB.CC.DD`.
pub fn canonicalize(ip: IpAddr) -> IpAddr {
    let v6 = match ip {
        IpAddr::V4(_) => return ip,
        IpAddr::V6(v6) => v6,
    };
    let n = u128::from(v6);
    let low32 = Ipv4Addr::from((n & 0xffff_ffff) as u32);
    if n >> 32 == 0xffff {
        return IpAddr::V4(low32);
    }
    if n >> 32 == 0 && n > 1 {
        return IpAddr::V4(low32);
    }
    if n >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return IpAddr::V4(low32);
    }
    if n >> 112 == 0x2002 {
        return IpAddr::V4(Ipv4Addr::from(((n >> 80) & 0xffff_ffff) as u32));
    }
    ip
}

/// Why a peer address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DenyReason {
    /// One of the server's own addresses (a listener or a relayed address):
    /// relaying to itself would loop or reach its control plane.
    OwnAddress,
    /// In a range on the default deny list, named by the range.
    Range(&'static str),
    /// In a range the operator added with [`PeerPolicy::deny`].
    Configured(Cidr),
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::OwnAddress => f.write_str("peer is one of this server's own addresses"),
            DenyReason::Range(name) => write!(f, "peer is in a denied range ({name})"),
            DenyReason::Configured(c) => write!(f, "peer is in the configured deny range {c}"),
        }
    }
}

/// IPv4 ranges denied by default (IANA IPv4 Special-Purpose Address Registry,
/// RFC 6890), judged after canonicalisation.
const DENY_V4: &[([u8; 4], u8, &str)] = &[
    ([0, 0, 0, 0], 8, "this network 0.0.0.0/8"),
    ([10, 0, 0, 0], 8, "private 10/8"),
    (
        [100, 64, 0, 0],
        10,
        "shared address space (CGNAT) 100.64/10",
    ),
    ([127, 0, 0, 0], 8, "loopback 127/8"),
    ([169, 254, 0, 0], 16, "link-local 169.254/16"),
    ([172, 16, 0, 0], 12, "private 172.16/12"),
    ([192, 0, 0, 0], 24, "IETF protocol assignments 192.0.0.0/24"),
    ([192, 0, 2, 0], 24, "documentation 192.0.2.0/24"),
    ([192, 88, 99, 0], 24, "6to4 relay anycast 192.88.99.0/24"),
    ([192, 168, 0, 0], 16, "private 192.168/16"),
    ([198, 18, 0, 0], 15, "benchmarking 198.18/15"),
    ([198, 51, 100, 0], 24, "documentation 198.51.100.0/24"),
    ([203, 0, 113, 0], 24, "documentation 203.0.113.0/24"),
    ([224, 0, 0, 0], 4, "multicast 224/4"),
    ([240, 0, 0, 0], 4, "reserved 240/4 and broadcast"),
];

/// IPv6 ranges denied by default (IANA IPv6 Special-Purpose Address Registry).
const DENY_V6: &[(u128, u8, &str)] = &[
    (0, 128, "unspecified ::"),
    (1, 128, "loopback ::1"),
    // What remains of ::/96 after canonicalisation is nothing, but ::ffff:0:0/96
    // spelled with a prefix could still reach here through Cidr math.
    (0xffff_0000_0000, 96, "IPv4-mapped ::ffff:0:0/96"),
    (
        0x0064_ff9b_0001_0000_0000_0000_0000_0000,
        48,
        "local-use NAT64 64:ff9b:1::/48",
    ),
    (
        0x0100_0000_0000_0000_0000_0000_0000_0000,
        64,
        "discard-only 100::/64",
    ),
    (
        0x2001_0000_0000_0000_0000_0000_0000_0000,
        32,
        "Teredo 2001::/32",
    ),
    (
        0x2001_0002_0000_0000_0000_0000_0000_0000,
        48,
        "benchmarking 2001:2::/48",
    ),
    (
        0x2001_0010_0000_0000_0000_0000_0000_0000,
        28,
        "ORCHID 2001:10::/28",
    ),
    (
        0x2001_0020_0000_0000_0000_0000_0000_0000,
        28,
        "ORCHIDv2 2001:20::/28",
    ),
    (
        0x2001_0db8_0000_0000_0000_0000_0000_0000,
        32,
        "documentation 2001:db8::/32",
    ),
    (
        0x3fff_0000_0000_0000_0000_0000_0000_0000,
        20,
        "documentation 3fff::/20",
    ),
    (
        0xfc00_0000_0000_0000_0000_0000_0000_0000,
        7,
        "unique local fc00::/7",
    ),
    (
        0xfe80_0000_0000_0000_0000_0000_0000_0000,
        10,
        "link-local fe80::/10",
    ),
    (
        0xfec0_0000_0000_0000_0000_0000_0000_0000,
        10,
        "site-local fec0::/10",
    ),
    (
        0xff00_0000_0000_0000_0000_0000_0000_0000,
        8,
        "multicast ff00::/8",
    ),
];

fn default_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(a) => {
            let a = u32::from(a);
            DENY_V4
                .iter()
                .find(|(net, p, _)| a & v4_mask(*p) == u32::from_be_bytes(*net))
                .map(|(_, _, name)| *name)
        }
        IpAddr::V6(a) => {
            let a = u128::from(a);
            DENY_V6
                .iter()
                .find(|(net, p, _)| a & v6_mask(*p) == *net)
                .map(|(_, _, name)| *name)
        }
    }
}

/// The peer address policy (RFC 8656 §21.2.5): deny by default, open
/// deliberately. Applied to CreatePermission, ChannelBind, Send indications
/// and RFC 6062 Connect.
#[derive(Debug, Clone, Default)]
pub struct PeerPolicy {
    allow: Vec<Cidr>,
    deny: Vec<Cidr>,
    own_ips: Vec<IpAddr>,
    own_sockets: Vec<SocketAddr>,
    relay_ports: Option<RangeInclusive<u16>>,
}

impl PeerPolicy {
    /// The default policy: the built-in deny list, nothing allowed beyond
    /// public unicast, no own addresses known yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens `range` even if the deny list covers it (checked after
    /// canonicalisation, so allowing `127.0.0.1/32` also allows
    /// `::ffff:127.0.0.1`, the same destination). An own address stays
    /// denied on its listener ports and relay port range.
    pub fn allow(&mut self, range: Cidr) -> &mut Self {
        self.allow.push(range);
        self
    }

    /// Denies `range` in addition to the built-in list (beats the allow-list).
    pub fn deny(&mut self, range: Cidr) -> &mut Self {
        self.deny.push(range);
        self
    }

    /// Registers one of the server's listening sockets: its address is never
    /// a peer.
    pub fn add_listener(&mut self, addr: SocketAddr) -> &mut Self {
        let ip = canonicalize(addr.ip());
        self.own_sockets.push(SocketAddr::new(ip, addr.port()));
        if !self.own_ips.contains(&ip) {
            self.own_ips.push(ip);
        }
        self
    }

    /// Registers an address relayed sockets are bound on, and the port range
    /// they use.
    pub fn add_relay_ip(&mut self, ip: IpAddr, ports: RangeInclusive<u16>) -> &mut Self {
        let ip = canonicalize(ip);
        if !self.own_ips.contains(&ip) {
            self.own_ips.push(ip);
        }
        self.relay_ports = Some(ports);
        self
    }

    /// Judges `peer`. `Ok(())` means the server may relay to it.
    ///
    /// On the server's own addresses, the relay port range is open: that is
    /// another allocation of this server, and two clients of one TURN
    /// server reaching each other relay to relay is the common case (both
    /// behind symmetric NATs, both told of this server). The listeners are
    /// never peers; other ports are open only if the address is
    /// allow-listed.
    pub fn check(&self, peer: SocketAddr) -> Result<(), DenyReason> {
        let ip = canonicalize(peer.ip());
        let allowed = self.allow.iter().any(|c| c.contains_canonical(ip));
        if self.own_ips.contains(&ip) {
            if self.own_sockets.contains(&SocketAddr::new(ip, peer.port())) {
                return Err(DenyReason::OwnAddress);
            }
            let relay = self
                .relay_ports
                .as_ref()
                .is_some_and(|r| r.contains(&peer.port()));
            if relay {
                return Ok(());
            }
            if !allowed {
                return Err(DenyReason::OwnAddress);
            }
        }
        if let Some(c) = self.deny.iter().find(|c| c.contains_canonical(ip)) {
            return Err(DenyReason::Configured(*c));
        }
        if allowed {
            return Ok(());
        }
        match default_range(ip) {
            Some(name) => Err(DenyReason::Range(name)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn denied(p: &PeerPolicy, s: &str) -> bool {
        p.check(sa(s)).is_err()
    }

    #[test]
    fn canonical_forms_of_ipv4() {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        for s in [
            "::ffff:127.0.0.1",
            "::ffff:7f00:1",
            "::127.0.0.1",
            "64:ff9b::127.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "2002:7f00:0001:ffff::1",
        ] {
            let ip: IpAddr = s.parse().unwrap();
            assert_eq!(canonicalize(ip), lo, "{s}");
        }
        let v6: IpAddr = "2606:4700::1".parse().unwrap();
        assert_eq!(canonicalize(v6), v6);
        assert_eq!(
            canonicalize("::".parse().unwrap()),
            "::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            canonicalize("::1".parse().unwrap()),
            "::1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn default_denies_every_special_range() {
        let p = PeerPolicy::new();
        for s in [
            "127.0.0.1:80",
            "127.255.255.254:80",
            "0.0.0.0:80",
            "0.1.2.3:80",
            "10.1.2.3:80",
            "172.16.0.1:80",
            "172.31.255.255:80",
            "192.168.1.1:80",
            "169.254.169.254:80",
            "100.64.0.1:80",
            "100.127.255.255:80",
            "224.0.0.1:80",
            "239.255.255.250:1900",
            "255.255.255.255:80",
            "240.0.0.1:80",
            "192.0.2.1:80",
            "198.51.100.1:80",
            "203.0.113.1:80",
            "198.18.0.1:80",
            "198.19.255.255:80",
            "192.0.0.170:80",
            "[::1]:80",
            "[::]:80",
            "[fe80::1]:80",
            "[febf::1]:80",
            "[fc00::1]:80",
            "[fdff::1]:80",
            "[fec0::1]:80",
            "[ff02::1]:80",
            "[2001::1]:80",
            "[2001:0:ffff::1]:80",
            "[2001:db8::1]:80",
            "[2001:2::1]:80",
            "[64:ff9b:1::a00:1]:80",
            "[64:ff9b:1:ffff::8.8.8.8]:80",
            "[::ffff:127.0.0.1]:80",
            "[::ffff:10.0.0.1]:80",
            "[::ffff:169.254.169.254]:80",
            "[::ffff:0.0.0.0]:80",
            "[::127.0.0.1]:80",
            "[::10.0.0.1]:80",
            "[64:ff9b::127.0.0.1]:80",
            "[64:ff9b::a9fe:a9fe]:80",
            "[64:ff9b::192.168.0.1]:80",
            "[2002:7f00:1::]:80",
            "[2002:a9fe:a9fe::1]:80",
            "[2002:c0a8:0101::]:80",
            "[2002:0a00:0001:1234:5678::]:80",
        ] {
            assert!(denied(&p, s), "{s} must be denied");
        }
    }

    #[test]
    fn public_unicast_is_allowed() {
        let p = PeerPolicy::new();
        for s in [
            "8.8.8.8:53",
            "1.1.1.1:443",
            "172.32.0.1:80",
            "172.15.255.255:80",
            "100.128.0.1:80",
            "169.253.255.255:80",
            "[2606:4700::1111]:443",
            "[::ffff:8.8.8.8]:53",
            "[64:ff9b::8.8.8.8]:53",
            "[2002:0808:0808::1]:53",
            "[2001:4860::8888]:53",
        ] {
            assert!(!denied(&p, s), "{s} must be allowed");
        }
    }

    #[test]
    fn ipv6_ranges_compare_as_integers_not_bytes() {
        // coturn compared IPv6 ranges byte by byte; a prefix that ends inside a
        // byte (fe80::/10 covers fe80..febf) must be honoured bit for bit.
        let p = PeerPolicy::new();
        assert!(denied(&p, "[febf:ffff::1]:80"));
        assert!(!denied(&p, "[fe7f:ffff::1]:80"));
        assert!(!denied(&p, "[fbff::1]:80"));
        assert!(denied(&p, "[fc00::]:80"));
        // Text spellings of the same address are the same address.
        assert!(denied(&p, "[0:0:0:0:0:0:0:1]:80"));
        assert!(denied(&p, "[0000:0000:0000:0000:0000:ffff:7f00:0001]:80"));
    }

    #[test]
    fn allow_list_opens_ranges_after_canonicalisation() {
        let mut p = PeerPolicy::new();
        p.allow("192.0.2.0/24".parse().unwrap())
            .allow("127.0.0.1".parse().unwrap());
        assert!(!denied(&p, "192.0.2.77:9"));
        assert!(!denied(&p, "127.0.0.1:9"));
        assert!(!denied(&p, "[::ffff:127.0.0.1]:9"));
        assert!(denied(&p, "127.0.0.2:9"));
        assert!(denied(&p, "198.51.100.1:9"));
        // An IPv6 spelling in the allow list means the IPv4 address.
        let mut q = PeerPolicy::new();
        q.allow("::ffff:198.51.100.0/120".parse().unwrap());
        assert!(!denied(&q, "198.51.100.3:9"));
    }

    #[test]
    fn own_addresses_are_denied_but_other_relays_are_peers() {
        let mut p = PeerPolicy::new();
        p.add_listener(sa("8.8.4.4:3478"))
            .add_relay_ip("8.8.4.4".parse().unwrap(), 49152..=65535);
        assert!(denied(&p, "8.8.4.4:3478"));
        assert!(denied(&p, "[::ffff:8.8.4.4]:3478"));
        assert!(denied(&p, "8.8.4.4:80"));
        // Another allocation of this server: relay to relay is allowed.
        assert!(!denied(&p, "8.8.4.4:50000"));
        assert!(!denied(&p, "[::ffff:8.8.4.4]:50000"));
        // Allow-listing an own IP opens its other ports, never a listener.
        let mut q = PeerPolicy::new();
        q.allow("127.0.0.1".parse().unwrap())
            .add_listener(sa("127.0.0.1:3478"))
            .add_relay_ip("127.0.0.1".parse().unwrap(), 50000..=50100);
        assert!(denied(&q, "127.0.0.1:3478"));
        assert!(!denied(&q, "127.0.0.1:50050"));
        assert!(!denied(&q, "127.0.0.1:9000"));
        // Loopback stays denied without the allow-list, but for the relays.
        let mut r = PeerPolicy::new();
        r.add_listener(sa("127.0.0.1:3478"))
            .add_relay_ip("127.0.0.1".parse().unwrap(), 50000..=50100);
        assert!(denied(&r, "127.0.0.1:9000"));
        assert!(denied(&r, "127.0.0.1:3478"));
        assert!(!denied(&r, "127.0.0.1:50050"));
    }

    #[test]
    fn configured_deny_beats_allow() {
        let mut p = PeerPolicy::new();
        p.allow("203.0.113.0/24".parse().unwrap())
            .deny("203.0.113.128/25".parse().unwrap())
            .deny("8.8.8.8".parse().unwrap());
        assert!(!denied(&p, "203.0.113.1:1"));
        assert!(denied(&p, "203.0.113.200:1"));
        assert!(denied(&p, "[::ffff:8.8.8.8]:1"));
    }

    #[test]
    fn cidr_parsing() {
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("::/129".parse::<Cidr>().is_err());
        assert!("10.0.0.0/x".parse::<Cidr>().is_err());
        assert!("banana".parse::<Cidr>().is_err());
        let c: Cidr = "10.1.2.3/8".parse().unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/8");
        assert!(c.contains("10.200.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:10.200.0.1".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("1.2.3.4".parse().unwrap()));
        assert!(!all.contains("2606:4700::1".parse().unwrap()));
    }

    proptest::proptest! {
        #[test]
        fn every_ipv6_spelling_of_ipv4_is_judged_as_the_ipv4(a: u32, port: u16) {
            let mut p = PeerPolicy::new();
            p.allow("192.0.2.0/24".parse().unwrap());
            let v4 = Ipv4Addr::from(a);
            let expect = p.check(SocketAddr::new(IpAddr::V4(v4), port)).is_ok();
            let mapped = v4.to_ipv6_mapped();
            let nat64 = Ipv6Addr::from(0x0064_ff9b_u128 << 96 | u128::from(a));
            let six_to_four = Ipv6Addr::from((0x2002_u128 << 112) | (u128::from(a) << 80) | 7);
            for v6 in [mapped, nat64, six_to_four] {
                proptest::prop_assert_eq!(p.check(SocketAddr::new(IpAddr::V6(v6), port)).is_ok(), expect, "{}", v6);
            }
            if a > 1 {
                let compat = Ipv6Addr::from(u128::from(a));
                proptest::prop_assert_eq!(p.check(SocketAddr::new(IpAddr::V6(compat), port)).is_ok(), expect);
            }
        }
    }
}
