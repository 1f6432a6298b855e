//! The description model and its writer (RFC 8866 §5 line order, CRLF).

use std::fmt;

use crate::attributes::HasAttributes;

/// `o=` (RFC 8866 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// User name (`-` when none).
    pub username: String,
    /// Session id.
    pub session_id: u64,
    /// Session version, increased with each new description (JSEP).
    pub session_version: u64,
    /// Network type (`IN`).
    pub net_type: String,
    /// Address type (`IP4`, `IP6`).
    pub addr_type: String,
    /// Unicast address.
    pub address: String,
}

/// `c=` (RFC 8866 §5.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Network type (`IN`).
    pub net_type: String,
    /// Address type (`IP4`, `IP6`).
    pub addr_type: String,
    /// Address, with `/ttl` or `/count` if given.
    pub address: String,
}

/// `b=` (RFC 8866 §5.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// `AS`, `CT`, `TIAS`, …
    pub kind: String,
    /// Kilobits per second (bits per second for TIAS).
    pub value: u64,
}

/// `t=` with its `r=` lines (RFC 8866 §5.9, §5.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// Start time (NTP seconds; 0 for WebRTC).
    pub start: u64,
    /// Stop time.
    pub stop: u64,
    /// `r=` values, as written.
    pub repeats: Vec<String>,
}

/// `a=name` or `a=name:value`, kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The name (before the first `:`).
    pub name: String,
    /// The value after the `:` exactly as written; `None` for a flag.
    pub value: Option<String>,
}

impl Attribute {
    /// A flag attribute (`a=rtcp-mux`).
    pub fn flag(name: impl Into<String>) -> Self {
        Attribute {
            name: name.into(),
            value: None,
        }
    }
    /// A valued attribute (`a=mid:0`).
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Attribute {
            name: name.into(),
            value: Some(value.into()),
        }
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "a={}:{v}\r\n", self.name),
            None => write!(f, "a={}\r\n", self.name),
        }
    }
}

/// One `m=` section with what follows it (RFC 8866 §5.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// `audio`, `video`, `application`, …
    pub kind: String,
    /// Port (9 when candidates carry the real ones; 0 rejects the section).
    pub port: u16,
    /// Number of ports (`m=video 9/2 …`), rarely used.
    pub port_count: Option<u16>,
    /// `UDP/TLS/RTP/SAVPF`, `UDP/DTLS/SCTP`, …
    pub protocol: String,
    /// Payload types, or `webrtc-datachannel`.
    pub formats: Vec<String>,
    /// `i=`.
    pub title: Option<String>,
    /// `c=`.
    pub connection: Option<Connection>,
    /// `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `k=` (obsolete; kept).
    pub key: Option<String>,
    /// `a=` lines, in order.
    pub attributes: Vec<Attribute>,
}

impl MediaDescription {
    /// A section with no attributes yet.
    pub fn new(kind: &str, port: u16, protocol: &str, formats: &[&str]) -> Self {
        MediaDescription {
            kind: kind.into(),
            port,
            port_count: None,
            protocol: protocol.into(),
            formats: formats.iter().map(|f| f.to_string()).collect(),
            title: None,
            connection: None,
            bandwidths: Vec::new(),
            key: None,
            attributes: Vec::new(),
        }
    }
}

/// A whole description (RFC 8866 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `v=` (always 0).
    pub version: u32,
    /// `o=`.
    pub origin: Origin,
    /// `s=` (`-` in WebRTC).
    pub session_name: String,
    /// `i=`.
    pub session_info: Option<String>,
    /// `u=`.
    pub uri: Option<String>,
    /// `e=` lines.
    pub emails: Vec<String>,
    /// `p=` lines.
    pub phones: Vec<String>,
    /// Session-level `c=`.
    pub connection: Option<Connection>,
    /// Session-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `t=` lines (at least one).
    pub timing: Vec<Timing>,
    /// `z=`, as written.
    pub time_zones: Option<String>,
    /// Session-level `k=`.
    pub key: Option<String>,
    /// Session-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// The `m=` sections.
    pub media: Vec<MediaDescription>,
}

impl SessionDescription {
    /// An empty description as JSEP starts one: `v=0`, `o=- id version IN
    /// IP4 127.0.0.1`, `s=-`, `t=0 0`.
    pub fn new(session_id: u64, session_version: u64) -> Self {
        SessionDescription {
            version: 0,
            origin: Origin {
                username: "-".into(),
                session_id,
                session_version,
                net_type: "IN".into(),
                addr_type: "IP4".into(),
                address: "127.0.0.1".into(),
            },
            session_name: "-".into(),
            session_info: None,
            uri: None,
            emails: Vec::new(),
            phones: Vec::new(),
            connection: None,
            bandwidths: Vec::new(),
            timing: vec![Timing {
                start: 0,
                stop: 0,
                repeats: Vec::new(),
            }],
            time_zones: None,
            key: None,
            attributes: Vec::new(),
            media: Vec::new(),
        }
    }

    /// The media section with this `a=mid`.
    pub fn media_by_mid(&self, mid: &str) -> Option<&MediaDescription> {
        self.media.iter().find(|m| m.mid() == Some(mid))
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.net_type, self.addr_type, self.address)
    }
}

fn opt(f: &mut fmt::Formatter<'_>, t: char, v: &Option<String>) -> fmt::Result {
    match v {
        Some(v) => write!(f, "{t}={v}\r\n"),
        None => Ok(()),
    }
}

impl fmt::Display for MediaDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.kind, self.port)?;
        if let Some(n) = self.port_count {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", self.protocol)?;
        for fmt in &self.formats {
            write!(f, " {fmt}")?;
        }
        f.write_str("\r\n")?;
        opt(f, 'i', &self.title)?;
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        for b in &self.bandwidths {
            write!(f, "b={}:{}\r\n", b.kind, b.value)?;
        }
        opt(f, 'k', &self.key)?;
        for a in &self.attributes {
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

impl fmt::Display for SessionDescription {
    /// The description as sent: RFC 8866 line order, CRLF line ends.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(
            f,
            "v={}\r\no={} {} {} {} {} {}\r\ns={}\r\n",
            self.version,
            o.username,
            o.session_id,
            o.session_version,
            o.net_type,
            o.addr_type,
            o.address,
            self.session_name
        )?;
        opt(f, 'i', &self.session_info)?;
        opt(f, 'u', &self.uri)?;
        for e in &self.emails {
            write!(f, "e={e}\r\n")?;
        }
        for p in &self.phones {
            write!(f, "p={p}\r\n")?;
        }
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        for b in &self.bandwidths {
            write!(f, "b={}:{}\r\n", b.kind, b.value)?;
        }
        for t in &self.timing {
            write!(f, "t={} {}\r\n", t.start, t.stop)?;
            for r in &t.repeats {
                write!(f, "r={r}\r\n")?;
            }
        }
        opt(f, 'z', &self.time_zones)?;
        opt(f, 'k', &self.key)?;
        for a in &self.attributes {
            write!(f, "{a}")?;
        }
        for m in &self.media {
            write!(f, "{m}")?;
        }
        Ok(())
    }
}
