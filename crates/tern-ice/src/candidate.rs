//! Candidates: kinds, priorities and foundations (RFC 8445 §5.1), and the
//! `candidate:` attribute grammar (RFC 8839 §5.1).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// What kind of candidate (RFC 8445 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CandidateKind {
    /// An address on a local interface.
    Host,
    /// Our address as a STUN server saw it.
    ServerReflexive,
    /// Our address as the peer saw it during checks.
    PeerReflexive,
    /// An address on a TURN server.
    Relayed,
}

impl CandidateKind {
    /// The recommended type preference (RFC 8445 §5.1.2.2).
    pub fn type_preference(self) -> u32 {
        match self {
            CandidateKind::Host => 126,
            CandidateKind::PeerReflexive => 110,
            CandidateKind::ServerReflexive => 100,
            CandidateKind::Relayed => 0,
        }
    }
    /// The `typ` token of the SDP grammar.
    pub fn sdp_name(self) -> &'static str {
        match self {
            CandidateKind::Host => "host",
            CandidateKind::ServerReflexive => "srflx",
            CandidateKind::PeerReflexive => "prflx",
            CandidateKind::Relayed => "relay",
        }
    }
}

/// RFC 8445 §5.1.2.1: `2^24·type + 2^8·local + (256 − component)`.
pub fn candidate_priority(kind: CandidateKind, local_preference: u16, component: u16) -> u32 {
    (kind.type_preference() << 24)
        + (u32::from(local_preference) << 8)
        + (256 - u32::from(component.clamp(1, 256)))
}

/// A candidate, local or remote.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// Foundation: equal for candidates of the same kind, base IP, server and transport.
    pub foundation: String,
    /// Component (1 = RTP/data; WebRTC with rtcp-mux uses only 1).
    pub component: u16,
    /// Transport; only "udp" is gathered today (kept as given for remote candidates).
    pub transport: String,
    /// Priority.
    pub priority: u32,
    /// Transport address.
    pub address: SocketAddr,
    /// Kind.
    pub kind: CandidateKind,
    /// Related address (raddr/rport) for reflexive and relayed candidates.
    pub related: Option<SocketAddr>,
    /// Extension attributes in order (e.g. `generation 0`, `ufrag …`, `network-id 1`),
    /// kept so they survive a round trip.
    pub extensions: Vec<(String, String)>,
}

impl Candidate {
    /// A host candidate with RFC priorities; `local_preference` ranks interfaces.
    pub fn host(address: SocketAddr, local_preference: u16) -> Self {
        Self::new(
            CandidateKind::Host,
            address,
            None,
            local_preference,
            &address.ip().to_string(),
        )
    }

    /// A candidate of `kind` with a foundation derived from `foundation_key`
    /// (kind, base IP and server, per RFC 8445 §5.1.1.3).
    pub fn new(
        kind: CandidateKind,
        address: SocketAddr,
        related: Option<SocketAddr>,
        local_preference: u16,
        foundation_key: &str,
    ) -> Self {
        Candidate {
            foundation: foundation(kind, foundation_key),
            component: 1,
            transport: "udp".into(),
            priority: candidate_priority(kind, local_preference, 1),
            address,
            kind,
            related,
            extensions: Vec::new(),
        }
    }

    /// The attribute value without the `a=` prefix:
    /// `candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host`.
    pub fn to_sdp_attribute(&self) -> String {
        self.to_string()
    }
}

/// A short foundation string: a stable hash of the candidate's kind and key.
fn foundation(kind: CandidateKind, key: &str) -> String {
    // FNV-1a: stable across runs and platforms, which matters for tests.
    let mut h: u32 = 0x811c_9dc5;
    for b in kind
        .sdp_name()
        .bytes()
        .chain(b"|".iter().copied())
        .chain(key.bytes())
    {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h.to_string()
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "candidate:{} {} {} {} {} {} typ {}",
            self.foundation,
            self.component,
            self.transport,
            self.priority,
            self.address.ip(),
            self.address.port(),
            self.kind.sdp_name()
        )?;
        if let Some(r) = self.related {
            write!(f, " raddr {} rport {}", r.ip(), r.port())?;
        }
        for (k, v) in &self.extensions {
            write!(f, " {k} {v}")?;
        }
        Ok(())
    }
}

/// Why a `candidate:` line was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateParseError(pub String);

impl fmt::Display for CandidateParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad ICE candidate: {}", self.0)
    }
}
impl std::error::Error for CandidateParseError {}

impl FromStr for Candidate {
    type Err = CandidateParseError;

    /// Parses RFC 8839 §5.1 `candidate-attribute`, with or without the leading
    /// `a=` / `candidate:`. Unknown extensions are kept; a hostname connection
    /// address (mDNS `….local`) is refused with a clear message, since it
    /// needs resolving first.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |m: &str| CandidateParseError(format!("{m} in {s:?}"));
        // ASCII whitespace only, as the tokens are split: trimming Unicode
        // spaces too would strip them from a value that is last only after
        // reordering (found by the fuzzer).
        let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
        let s = s.strip_prefix("a=").unwrap_or(s);
        let s = s.strip_prefix("candidate:").unwrap_or(s);
        let mut it = s.split_ascii_whitespace();
        let mut next = |what: &str| it.next().ok_or_else(|| err(&format!("missing {what}")));
        let foundation = next("foundation")?.to_owned();
        if foundation.is_empty() || foundation.len() > 32 {
            return Err(err("foundation length"));
        }
        let component: u16 = next("component")?
            .parse()
            .map_err(|_| err("bad component"))?;
        if component == 0 || component > 256 {
            return Err(err("component out of range"));
        }
        let transport = next("transport")?.to_ascii_lowercase();
        let priority: u32 = next("priority")?.parse().map_err(|_| err("bad priority"))?;
        let host = next("connection address")?;
        let port: u16 = next("port")?.parse().map_err(|_| err("bad port"))?;
        let ip: IpAddr = host.parse().map_err(|_| {
            if host.ends_with(".local") {
                err("mDNS hostname candidates must be resolved before use")
            } else {
                err("connection address is not an IP address")
            }
        })?;
        if next("typ")? != "typ" {
            return Err(err("expected 'typ'"));
        }
        let kind = match next("candidate type")? {
            "host" => CandidateKind::Host,
            "srflx" => CandidateKind::ServerReflexive,
            "prflx" => CandidateKind::PeerReflexive,
            "relay" => CandidateKind::Relayed,
            _ => return Err(err("unknown candidate type")),
        };
        let mut raddr: Option<IpAddr> = None;
        let mut rport: Option<u16> = None;
        let mut extensions = Vec::new();
        let rest: Vec<&str> = it.collect();
        let mut i = 0;
        while i < rest.len() {
            let key = rest[i];
            let Some(val) = rest.get(i + 1) else {
                return Err(err("extension without value"));
            };
            match key {
                "raddr" => raddr = Some(val.parse().map_err(|_| err("bad raddr"))?),
                "rport" => rport = Some(val.parse().map_err(|_| err("bad rport"))?),
                _ => extensions.push((key.to_owned(), (*val).to_owned())),
            }
            i += 2;
        }
        let related = match (raddr, rport) {
            (Some(a), Some(p)) => Some(SocketAddr::new(a, p)),
            _ => None,
        };
        Ok(Candidate {
            foundation,
            component,
            transport,
            priority,
            address: SocketAddr::new(ip, port),
            kind,
            related,
            extensions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_follow_rfc_8445_formula() {
        assert_eq!(
            candidate_priority(CandidateKind::Host, 65535, 1),
            2_130_706_431
        );
        assert_eq!(
            candidate_priority(CandidateKind::ServerReflexive, 65535, 1),
            1_694_498_815
        );
        assert_eq!(
            candidate_priority(CandidateKind::Relayed, 65535, 1),
            16_777_215
        );
        assert!(
            candidate_priority(CandidateKind::PeerReflexive, 0, 1)
                > candidate_priority(CandidateKind::ServerReflexive, 65535, 1)
        );
    }

    #[test]
    fn chromium_and_aiortc_lines_parse_and_round_trip() {
        for line in [
            "candidate:1467250027 1 udp 2122260223 192.0.2.5 46243 typ host generation 0 ufrag Xy9a network-id 1",
            "a=candidate:842163049 1 udp 1677729535 203.0.113.7 61665 typ srflx raddr 192.0.2.5 rport 46243 generation 0 network-cost 999",
            "candidate:2 1 UDP 16777215 198.51.100.3 3478 typ relay raddr 203.0.113.7 rport 61665",
            "candidate:9 1 udp 1845501695 2001:db8::1 9 typ prflx",
        ] {
            let c: Candidate = line.parse().unwrap();
            let again: Candidate = c.to_string().parse().unwrap();
            assert_eq!(c, again);
        }
        // raddr/rport move before the extensions when printed; a value
        // ending in a Unicode space must survive being last.
        let c: Candidate =
            "candidate:1 1 udp 1 192.0.2.1 9 typ srflx k v\u{a0} raddr 192.0.2.2 rport 9"
                .parse()
                .unwrap();
        assert_eq!(c.extensions, vec![("k".into(), "v\u{a0}".into())]);
        assert_eq!(c.to_string().parse::<Candidate>().unwrap(), c);
        let c: Candidate = "candidate:842163049 1 udp 1677729535 203.0.113.7 61665 typ srflx raddr 192.0.2.5 rport 46243 generation 0".parse().unwrap();
        assert_eq!(c.kind, CandidateKind::ServerReflexive);
        assert_eq!(c.related, Some("192.0.2.5:46243".parse().unwrap()));
        assert_eq!(c.extensions, vec![("generation".into(), "0".into())]);
    }

    #[test]
    fn bad_lines_are_clear_errors() {
        for (line, needle) in [
            ("candidate:1 1 udp 1 abcd.local 5000 typ host", "mDNS"),
            (
                "candidate:1 1 udp 1 192.0.2.1 5000 typ nope",
                "unknown candidate type",
            ),
            ("candidate:1 1 udp 1 192.0.2.1", "missing port"),
            ("candidate:1 0 udp 1 192.0.2.1 1 typ host", "component"),
            ("candidate:1 1 udp x 192.0.2.1 1 typ host", "priority"),
            (
                "candidate:1 1 udp 1 192.0.2.1 1 typ host generation",
                "extension",
            ),
            ("", "missing foundation"),
        ] {
            let e = line.parse::<Candidate>().unwrap_err();
            assert!(e.to_string().contains(needle), "{line:?}: {e}");
        }
    }

    #[test]
    fn foundations_group_by_kind_and_key() {
        let a = Candidate::new(
            CandidateKind::ServerReflexive,
            "203.0.113.1:1".parse().unwrap(),
            None,
            1,
            "192.0.2.1|stun",
        );
        let b = Candidate::new(
            CandidateKind::ServerReflexive,
            "203.0.113.1:2".parse().unwrap(),
            None,
            1,
            "192.0.2.1|stun",
        );
        let c = Candidate::new(
            CandidateKind::Host,
            "203.0.113.1:2".parse().unwrap(),
            None,
            1,
            "192.0.2.1|stun",
        );
        assert_eq!(a.foundation, b.foundation);
        assert_ne!(a.foundation, c.foundation);
    }
}
