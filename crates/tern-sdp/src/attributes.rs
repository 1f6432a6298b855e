//! Typed views of the attributes WebRTC uses (RFC 8839 ICE, RFC 8122/8842
//! DTLS, RFC 8841 SCTP, RFC 9143 BUNDLE, RFC 8866/4585/8285/8830/5576/8851/
//! 8853 RTP), and the accessors that find them in a section.

use std::fmt;
use std::str::FromStr;

use crate::model::{Attribute, MediaDescription, SessionDescription};

/// An attribute with a typed form: its name, a parser and a writer.
pub trait TypedAttribute: FromStr + fmt::Display {
    /// The attribute name (`rtpmap`, `fingerprint`, …).
    const NAME: &'static str;
    /// As an [`Attribute`] ready to push into a section.
    fn to_attribute(&self) -> Attribute {
        Attribute::new(Self::NAME, self.to_string())
    }
}

/// Why a typed attribute did not parse.
type Invalid = String;

fn split2(v: &str) -> (&str, &str) {
    let v = v.trim();
    match v.split_once(' ') {
        Some((a, b)) => (a, b.trim_start()),
        None => (v, ""),
    }
}

/// `a=group` (RFC 5888, BUNDLE in RFC 9143).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `BUNDLE`, `LS`, …
    pub semantics: String,
    /// The mids in the group.
    pub mids: Vec<String>,
}

impl FromStr for Group {
    type Err = Invalid;
    fn from_str(v: &str) -> Result<Self, Invalid> {
        let mut f = v.split_whitespace();
        let semantics = f.next().ok_or("a=group without semantics")?.to_string();
        Ok(Group {
            semantics,
            mids: f.map(String::from).collect(),
        })
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.semantics)?;
        for m in &self.mids {
            write!(f, " {m}")?;
        }
        Ok(())
    }
}

impl TypedAttribute for Group {
    const NAME: &'static str = "group";
}

/// `a=fingerprint` (RFC 8122): hash function and certificate digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// Hash function, lower case (`sha-256`).
    pub algorithm: String,
    /// The digest.
    pub value: Vec<u8>,
}

fn digest_len(algorithm: &str) -> Option<usize> {
    Some(match algorithm {
        "sha-1" => 20,
        "sha-224" => 28,
        "sha-256" => 32,
        "sha-384" => 48,
        "sha-512" => 64,
        "md5" | "md2" => 16,
        _ => return None,
    })
}

impl FromStr for Fingerprint {
    type Err = Invalid;
    fn from_str(v: &str) -> Result<Self, Invalid> {
        let (alg, hex) = split2(v);
        if alg.is_empty() || hex.is_empty() || hex.contains(' ') {
            return Err(format!(
                "a=fingerprint needs `<hash> <XX:XX:...>`, got {v:?}"
            ));
        }
        let algorithm = alg.to_ascii_lowercase();
        if !algorithm
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-')
        {
            return Err(format!("a=fingerprint: bad hash name {alg:?}"));
        }
        let mut value = Vec::new();
        for pair in hex.split(':') {
            if pair.len() != 2 {
                return Err(format!("a=fingerprint: {pair:?} is not two hex digits"));
            }
            value.push(
                u8::from_str_radix(pair, 16)
                    .map_err(|_| format!("a=fingerprint: {pair:?} is not hex"))?,
            );
        }
        if let Some(n) = digest_len(&algorithm) {
            if value.len() != n {
                return Err(format!(
                    "a=fingerprint: {algorithm} digest has {} bytes, expected {n}",
                    value.len()
                ));
            }
        }
        Ok(Fingerprint { algorithm, value })
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.algorithm)?;
        for (i, b) in self.value.iter().enumerate() {
            write!(f, "{}{b:02X}", if i == 0 { ' ' } else { ':' })?;
        }
        Ok(())
    }
}

impl TypedAttribute for Fingerprint {
    const NAME: &'static str = "fingerprint";
}

/// `a=setup` (RFC 4145, RFC 8842): who starts DTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Setup {
    /// Either (offers).
    ActPass,
    /// We start the DTLS handshake (client).
    Active,
    /// We wait for it (server).
    Passive,
    /// Hold the connection (not used by WebRTC).
    HoldConn,
}

impl FromStr for Setup {
    type Err = Invalid;
    fn from_str(v: &str) -> Result<Self, Invalid> {
        Ok(match v.trim().to_ascii_lowercase().as_str() {
            "actpass" => Setup::ActPass,
            "active" => Setup::Active,
            "passive" => Setup::Passive,
            "holdconn" => Setup::HoldConn,
            _ => {
                return Err(format!(
                    "a=setup must be actpass, active, passive or holdconn, got {v:?}"
                ))
            }
        })
    }
}

impl fmt::Display for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Setup::ActPass => "actpass",
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::HoldConn => "holdconn",
        })
    }
}

impl TypedAttribute for Setup {
    const NAME: &'static str = "setup";
}

/// Media direction (`a=sendrecv` and friends, RFC 8866 §6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Direction {
    /// `sendrecv`.
    SendRecv,
    /// `sendonly`.
    SendOnly,
    /// `recvonly`.
    RecvOnly,
    /// `inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
    fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }
    /// The flag attribute for this direction.
    pub fn to_attribute(self) -> Attribute {
        Attribute::flag(self.as_str())
    }
}

/// `a=rtpmap` (RFC 8866 §6.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// Payload type.
    pub payload_type: u8,
    /// Encoding name (`opus`, `VP8`, `rtx`).
    pub encoding: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Channels (audio), if given.
    pub channels: Option<u16>,
}

impl FromStr for RtpMap {
    type Err = Invalid;
    fn from_str(v: &str) -> Result<Self, Invalid> {
        let bad = || format!("a=rtpmap needs `<pt> <encoding>/<clock>[/<channels>]`, got {v:?}");
        let (pt, rest) = split2(v);
        let payload_type: u8 = pt.parse().map_err(|_| bad())?;
        if payload_type > 127 {
            return Err(bad());
        }
        let mut f = rest.split('/');
        let encoding = f.next().filter(|e| !e.is_empty()).ok_or_else(bad)?;
        let clock_rate = f.next().and_then(|c| c.parse().ok()).ok_or_else(bad)?;
        let channels = match f.next() {
            Some(c) => Some(c.parse().map_err(|_| bad())?),
            None => None,
        };
        if f.next().is_some() {
            return Err(bad());
        }
        Ok(RtpMap {
            payload_type,
            encoding: encoding.into(),
            clock_rate,
            channels,
        })
    }
}

impl fmt::Display for RtpMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.payload_type, self.encoding, self.clock_rate
        )?;
        if let Some(c) = self.channels {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

impl TypedAttribute for RtpMap {
    const NAME: &'static str = "rtpmap";
}

/// `a=fmtp` (RFC 8866 §6.15): format parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fmtp {
    /// The format (payload type).
    pub format: String,
    /// The parameters as written (`apt=96`, `minptime=10;useinbandfec=1`).
    pub params: String,
}

impl Fmtp {
    /// The `;`-separated parameters as (name, value) pairs.
    pub fn parameters(&self) -> Vec<(&str, Option<&str>)> {
        self.params
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (p, None),
            })
            .collect()
    }
    /// One parameter's value.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters()
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v)
    }
}

impl FromStr for Fmtp {
    type Err = Invalid;
    fn from_str(v: &str) -> Result<Self, Invalid> {
        let (format, params) = split2(v);
        if format.is_empty() {
            return Err(format!("a=fmtp needs `<format> <params>`, got {v:?}"));
        }
        Ok(Fmtp {
            format: format.into(),
            params: params.into(),
        })
    }
}

impl fmt::Display for Fmtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.format, self.params)
    }
}

impl TypedAttribute for Fmtp {
    const NAME: &'static str = "fmtp";
}

/// `a=rtcp-fb` (RFC 4585 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpFb {
    /// Payload type or `*`.
    pub format: String,
    /// `nack`, `ccm`, `transport-cc`, `goog-remb`, …
    pub kind: String,
    /// `pli`, `fir`, … if given.
    pub parameter: Option<String>,
}

impl FromStr for RtcpFb {
    type Err = Invalid;
    fn from_str(v: &str) -> Result<Self, Invalid> {
        let (format, rest) = split2(v);
        let (kind, param) = split2(rest);
        if format.is_empty() || kind.is_empty() {
            return Err(format!(
                "a=rtcp-fb needs `<pt> <type> [<param>]`, got {v:?}"
            ));
        }
        Ok(RtcpFb {
            format: format.into(),
            kind: kind.into(),
            parameter: (!param.is_empty()).then(|| param.to_string()),
        })
    }
}

impl fmt::Display for RtcpFb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.format, self.kind)?;
        if let Some(p) = &self.parameter {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

impl TypedAttribute for RtcpFb {
    const NAME: &'static str = "rtcp-fb";
}

/// `a=extmap` (RFC 8285 §8): an RTP header extension and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtMap {
    /// Local identifier (1–14 one-byte, up to 255 two-byte).
    pub id: u16,
    /// Direction, if restricted.
    pub direction: Option<Direction>,
    /// The extension's URI.
    pub uri: String,
    /// Extension attributes, as written.
    pub attributes: Option<String>,
}

impl FromStr for ExtMap {
    type Err = Invalid;
    fn from_str(v: &str) -> Result<Self, Invalid> {
        let bad = || format!("a=extmap needs `<id>[/<direction>] <uri> [<attributes>]`, got {v:?}");
        let (idd, rest) = split2(v);
        let (id, direction) = match idd.split_once('/') {
            Some((id, d)) => (id, Some(Direction::from_name(d).ok_or_else(bad)?)),
            None => (idd, None),
        };
        let id: u16 = id.parse().map_err(|_| bad())?;
        let (uri, attrs) = split2(rest);
        if uri.is_empty() || id == 0 {
            return Err(bad());
        }
        Ok(ExtMap {
            id,
            direction,
            uri: uri.into(),
            attributes: (!attrs.is_empty()).then(|| attrs.to_string()),
        })
    }
}

impl fmt::Display for ExtMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)?;
        if let Some(d) = self.direction {
            write!(f, "/{}", d.as_str())?;
        }
        write!(f, " {}", self.uri)?;
        if let Some(a) = &self.attributes {
            write!(f, " {a}")?;
        }
        Ok(())
    }
}

impl TypedAttribute for ExtMap {
    const NAME: &'static str = "extmap";
}

/// `a=msid` (RFC 8830): the media stream and track a section belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msid {
    /// Stream id (`-` for none).
    pub stream_id: String,
    /// Track id, if given.
    pub track_id: Option<String>,
}

impl FromStr for Msid {
    type Err = Invalid;
    fn from_str(v: &str) -> Result<Self, Invalid> {
        let (s, t) = split2(v);
        if s.is_empty() || t.contains(' ') {
            return Err(format!("a=msid needs `<stream> [<track>]`, got {v:?}"));
        }
        Ok(Msid {
            stream_id: s.into(),
            track_id: (!t.is_empty()).then(|| t.to_string()),
        })
    }
}

impl fmt::Display for Msid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.stream_id)?;
        if let Some(t) = &self.track_id {
            write!(f, " {t}")?;
        }
        Ok(())
    }
}

impl TypedAttribute for Msid {
    const NAME: &'static str = "msid";
}

/// `a=ssrc` (RFC 5576 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ssrc {
    /// The SSRC.
    pub ssrc: u32,
    /// Source attribute name (`cname`, `msid`).
    pub attribute: String,
    /// Its value, if any.
    pub value: Option<String>,
}

impl FromStr for Ssrc {
    type Err = Invalid;
    fn from_str(v: &str) -> Result<Self, Invalid> {
        let (ssrc, rest) = split2(v);
        let ssrc = ssrc
            .parse()
            .map_err(|_| format!("a=ssrc needs `<ssrc> <attribute>[:<value>]`, got {v:?}"))?;
        let (attribute, value) = match rest.split_once(':') {
            Some((a, v)) => (a, Some(v.to_string())),
            None => (rest, None),
        };
        if attribute.is_empty() {
            return Err(format!("a=ssrc without a source attribute: {v:?}"));
        }
        Ok(Ssrc {
            ssrc,
            attribute: attribute.into(),
            value,
        })
    }
}

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.ssrc, self.attribute)?;
        if let Some(v) = &self.value {
            write!(f, ":{v}")?;
        }
        Ok(())
    }
}

impl TypedAttribute for Ssrc {
    const NAME: &'static str = "ssrc";
}

/// `a=ssrc-group` (RFC 5576 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsrcGroup {
    /// `FID` (RTX), `SIM`, `FEC-FR`, …
    pub semantics: String,
    /// The SSRCs.
    pub ssrcs: Vec<u32>,
}

impl FromStr for SsrcGroup {
    type Err = Invalid;
    fn from_str(v: &str) -> Result<Self, Invalid> {
        let mut f = v.split_whitespace();
        let semantics = f
            .next()
            .ok_or_else(|| format!("a=ssrc-group without semantics: {v:?}"))?;
        let ssrcs = f
            .map(|s| {
                s.parse()
                    .map_err(|_| format!("a=ssrc-group: {s:?} is not an SSRC"))
            })
            .collect::<Result<_, _>>()?;
        Ok(SsrcGroup {
            semantics: semantics.into(),
            ssrcs,
        })
    }
}

impl fmt::Display for SsrcGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.semantics)?;
        for s in &self.ssrcs {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

impl TypedAttribute for SsrcGroup {
    const NAME: &'static str = "ssrc-group";
}

/// Direction of an `a=rid` (RFC 8851).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RidDirection {
    /// `send`.
    Send,
    /// `recv`.
    Recv,
}

/// `a=rid` (RFC 8851): an RTP stream identifier and its restrictions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rid {
    /// The rid.
    pub id: String,
    /// Send or receive.
    pub direction: RidDirection,
    /// `pt=` and restrictions, as written.
    pub params: Option<String>,
}

impl FromStr for Rid {
    type Err = Invalid;
    fn from_str(v: &str) -> Result<Self, Invalid> {
        let bad = || format!("a=rid needs `<id> send|recv [<params>]`, got {v:?}");
        let (id, rest) = split2(v);
        let (dir, params) = split2(rest);
        let direction = match dir {
            "send" => RidDirection::Send,
            "recv" => RidDirection::Recv,
            _ => return Err(bad()),
        };
        if id.is_empty() {
            return Err(bad());
        }
        Ok(Rid {
            id: id.into(),
            direction,
            params: (!params.is_empty()).then(|| params.to_string()),
        })
    }
}

impl fmt::Display for Rid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = match self.direction {
            RidDirection::Send => "send",
            RidDirection::Recv => "recv",
        };
        write!(f, "{} {d}", self.id)?;
        if let Some(p) = &self.params {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

impl TypedAttribute for Rid {
    const NAME: &'static str = "rid";
}

/// One stream in an `a=simulcast` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulcastStream {
    /// The rid.
    pub rid: String,
    /// Starts paused (`~`).
    pub paused: bool,
}

/// `a=simulcast` (RFC 8853): streams to send and receive, each a list of
/// alternatives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Simulcast {
    /// Streams we send: each entry is one stream's alternatives.
    pub send: Vec<Vec<SimulcastStream>>,
    /// Streams we receive.
    pub recv: Vec<Vec<SimulcastStream>>,
}

fn sim_list(v: &str) -> Result<Vec<Vec<SimulcastStream>>, Invalid> {
    v.split(';')
        .map(|alts| {
            alts.split(',')
                .map(|s| {
                    let (paused, rid) = match s.strip_prefix('~') {
                        Some(r) => (true, r),
                        None => (false, s),
                    };
                    if rid.is_empty() {
                        return Err(format!("a=simulcast: empty rid in {v:?}"));
                    }
                    Ok(SimulcastStream {
                        rid: rid.into(),
                        paused,
                    })
                })
                .collect()
        })
        .collect()
}

fn write_sim(f: &mut fmt::Formatter<'_>, l: &[Vec<SimulcastStream>]) -> fmt::Result {
    for (i, alts) in l.iter().enumerate() {
        if i > 0 {
            f.write_str(";")?;
        }
        for (j, s) in alts.iter().enumerate() {
            if j > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}{}", if s.paused { "~" } else { "" }, s.rid)?;
        }
    }
    Ok(())
}

impl FromStr for Simulcast {
    type Err = Invalid;
    fn from_str(v: &str) -> Result<Self, Invalid> {
        let mut s = Simulcast::default();
        let mut f = v.split_whitespace();
        while let Some(dir) = f.next() {
            let list = f
                .next()
                .ok_or_else(|| format!("a=simulcast: {dir} without streams"))?;
            match dir {
                "send" if s.send.is_empty() => s.send = sim_list(list)?,
                "recv" if s.recv.is_empty() => s.recv = sim_list(list)?,
                _ => return Err(format!("a=simulcast: unexpected {dir:?} in {v:?}")),
            }
        }
        if s.send.is_empty() && s.recv.is_empty() {
            return Err(format!("a=simulcast without streams: {v:?}"));
        }
        Ok(s)
    }
}

impl fmt::Display for Simulcast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.send.is_empty() {
            f.write_str("send ")?;
            write_sim(f, &self.send)?;
        }
        if !self.recv.is_empty() {
            if !self.send.is_empty() {
                f.write_str(" ")?;
            }
            f.write_str("recv ")?;
            write_sim(f, &self.recv)?;
        }
        Ok(())
    }
}

impl TypedAttribute for Simulcast {
    const NAME: &'static str = "simulcast";
}

fn ice_chars(v: &str) -> bool {
    v.bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

/// The strict checks run while parsing: credentials and DTLS parameters
/// must be well formed, or the description is refused.
pub(crate) fn validate_security_attribute(a: &Attribute) -> Result<(), String> {
    let v = a.value.as_deref();
    match (a.name.as_str(), v) {
        ("fingerprint", Some(v)) => v.parse::<Fingerprint>().map(drop),
        ("setup", Some(v)) => v.parse::<Setup>().map(drop),
        // RFC 8839 §5.4: ice-char, 4–256 (ufrag) and 22–256 (pwd) characters.
        ("ice-ufrag", Some(v)) if (4..=256).contains(&v.len()) && ice_chars(v) => Ok(()),
        ("ice-pwd", Some(v)) if (22..=256).contains(&v.len()) && ice_chars(v) => Ok(()),
        ("ice-ufrag", _) => Err("a=ice-ufrag must be 4 to 256 characters of [A-Za-z0-9+/]".into()),
        ("ice-pwd", _) => Err("a=ice-pwd must be 22 to 256 characters of [A-Za-z0-9+/]".into()),
        ("fingerprint" | "setup", None) => Err(format!("a={} needs a value", a.name)),
        _ => Ok(()),
    }
}

/// Accessors shared by session and media sections.
pub trait HasAttributes {
    /// The `a=` lines, in order.
    fn attributes(&self) -> &[Attribute];
    /// The `a=` lines, to change.
    fn attributes_mut(&mut self) -> &mut Vec<Attribute>;

    /// Whether an attribute with this name is present.
    fn has_attribute(&self, name: &str) -> bool {
        self.attributes().iter().any(|a| a.name == name)
    }
    /// The first value of `name` (`""` for a flag).
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes()
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_deref().unwrap_or(""))
    }
    /// Every value of `name`, in order (`""` for flags).
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.attributes()
            .iter()
            .filter(move |a| a.name == name)
            .map(|a| a.value.as_deref().unwrap_or(""))
    }
    /// Every attribute of type `T` that parses; the rest are skipped.
    fn typed<T: TypedAttribute>(&self) -> Vec<T> {
        self.values(T::NAME)
            .filter_map(|v| v.parse().ok())
            .collect()
    }
    /// Appends an attribute.
    fn push_attribute(&mut self, a: Attribute) {
        self.attributes_mut().push(a);
    }
    /// Removes every attribute called `name`.
    fn remove_attributes(&mut self, name: &str) {
        self.attributes_mut().retain(|a| a.name != name);
    }

    /// `a=mid`.
    fn mid(&self) -> Option<&str> {
        self.attribute("mid")
    }
    /// `a=ice-ufrag`.
    fn ice_ufrag(&self) -> Option<&str> {
        self.attribute("ice-ufrag")
    }
    /// `a=ice-pwd`.
    fn ice_pwd(&self) -> Option<&str> {
        self.attribute("ice-pwd")
    }
    /// `a=ice-options` tokens (`trickle`, `ice2`, …).
    fn ice_options(&self) -> Vec<&str> {
        self.values("ice-options")
            .flat_map(|v| v.split_whitespace())
            .collect()
    }
    /// `a=ice-lite`.
    fn ice_lite(&self) -> bool {
        self.has_attribute("ice-lite")
    }
    /// `a=fingerprint` lines (validated when parsed).
    fn fingerprints(&self) -> Vec<Fingerprint> {
        self.typed()
    }
    /// `a=setup`.
    fn setup(&self) -> Option<Setup> {
        self.attribute("setup").and_then(|v| v.parse().ok())
    }
    /// `a=candidate` values (after `candidate:`), for the ICE agent to parse.
    fn candidates(&self) -> Vec<&str> {
        self.values("candidate").collect()
    }
    /// `a=end-of-candidates`.
    fn end_of_candidates(&self) -> bool {
        self.has_attribute("end-of-candidates")
    }
    /// `a=group` lines.
    fn groups(&self) -> Vec<Group> {
        self.typed()
    }
    /// `a=sctp-port` (RFC 8841).
    fn sctp_port(&self) -> Option<u16> {
        self.attribute("sctp-port")?.trim().parse().ok()
    }
    /// `a=max-message-size` (RFC 8841; 0 means no limit).
    fn max_message_size(&self) -> Option<u64> {
        self.attribute("max-message-size")?.trim().parse().ok()
    }
    /// `a=rtcp-mux`.
    fn rtcp_mux(&self) -> bool {
        self.has_attribute("rtcp-mux")
    }
    /// `a=rtcp-mux-only` (RFC 8858).
    fn rtcp_mux_only(&self) -> bool {
        self.has_attribute("rtcp-mux-only")
    }
    /// The direction attribute, if present (the last one wins).
    fn direction(&self) -> Option<Direction> {
        self.attributes().iter().rev().find_map(|a| {
            a.value
                .is_none()
                .then(|| Direction::from_name(&a.name))
                .flatten()
        })
    }
    /// `a=rtpmap` lines.
    fn rtpmaps(&self) -> Vec<RtpMap> {
        self.typed()
    }
    /// `a=fmtp` lines.
    fn fmtps(&self) -> Vec<Fmtp> {
        self.typed()
    }
    /// `a=rtcp-fb` lines.
    fn rtcp_fbs(&self) -> Vec<RtcpFb> {
        self.typed()
    }
    /// `a=extmap` lines.
    fn extmaps(&self) -> Vec<ExtMap> {
        self.typed()
    }
    /// `a=msid` lines.
    fn msids(&self) -> Vec<Msid> {
        self.typed()
    }
    /// `a=ssrc` lines.
    fn ssrcs(&self) -> Vec<Ssrc> {
        self.typed()
    }
    /// `a=ssrc-group` lines.
    fn ssrc_groups(&self) -> Vec<SsrcGroup> {
        self.typed()
    }
    /// `a=rid` lines.
    fn rids(&self) -> Vec<Rid> {
        self.typed()
    }
    /// `a=simulcast`.
    fn simulcast(&self) -> Option<Simulcast> {
        self.typed().into_iter().next()
    }
}

impl HasAttributes for SessionDescription {
    fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }
    fn attributes_mut(&mut self) -> &mut Vec<Attribute> {
        &mut self.attributes
    }
}

impl HasAttributes for MediaDescription {
    fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }
    fn attributes_mut(&mut self) -> &mut Vec<Attribute> {
        &mut self.attributes
    }
}
