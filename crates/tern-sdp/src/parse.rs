//! The parser: lenient about line endings, blank lines and attribute order,
//! strict about structure and about the attributes security depends on.

use std::str::FromStr;

use crate::attributes::{validate_security_attribute, HasAttributes};
use crate::error::SdpError;
use crate::model::{
    Attribute, Bandwidth, Connection, MediaDescription, Origin, SessionDescription, Timing,
};

/// Largest description accepted, in bytes.
pub const MAX_SDP_LEN: usize = 512 * 1024;
/// Longest line accepted, in bytes.
pub const MAX_LINE_LEN: usize = 16 * 1024;
/// Most `m=` sections accepted.
pub const MAX_MEDIA_SECTIONS: usize = 1024;

impl FromStr for SessionDescription {
    type Err = SdpError;
    fn from_str(s: &str) -> Result<Self, SdpError> {
        SessionDescription::parse(s)
    }
}

fn number<T: FromStr>(line: usize, what: &str, v: &str) -> Result<T, SdpError> {
    v.parse()
        .map_err(|_| SdpError::at(line, format!("{what} is not a number: {v:?}")))
}

fn connection(line: usize, v: &str) -> Result<Connection, SdpError> {
    let f: Vec<&str> = v.split(' ').collect();
    if f.len() != 3 || f.iter().any(|x| x.is_empty()) {
        return Err(SdpError::at(
            line,
            format!("c= needs `<nettype> <addrtype> <address>`, got {v:?}"),
        ));
    }
    Ok(Connection {
        net_type: f[0].into(),
        addr_type: f[1].into(),
        address: f[2].into(),
    })
}

fn bandwidth(line: usize, v: &str) -> Result<Bandwidth, SdpError> {
    let (kind, value) = v
        .split_once(':')
        .ok_or_else(|| SdpError::at(line, format!("b= needs `<type>:<value>`, got {v:?}")))?;
    Ok(Bandwidth {
        kind: kind.into(),
        value: number(line, "bandwidth", value)?,
    })
}

fn attribute(line: usize, v: &str) -> Result<Attribute, SdpError> {
    let a = match v.split_once(':') {
        Some((name, value)) => Attribute::new(name, value),
        None => Attribute::flag(v),
    };
    if a.name.is_empty() || a.name.contains(' ') {
        return Err(SdpError::at(line, format!("bad attribute name in a={v}")));
    }
    validate_security_attribute(&a).map_err(|e| SdpError::at(line, e))?;
    Ok(a)
}

fn media_line(line: usize, v: &str) -> Result<MediaDescription, SdpError> {
    let mut f = v.split(' ');
    let (Some(kind), Some(port), Some(protocol)) = (f.next(), f.next(), f.next()) else {
        return Err(SdpError::at(
            line,
            format!("m= needs `<media> <port> <proto> <fmt> ...`, got {v:?}"),
        ));
    };
    if kind.is_empty() || protocol.is_empty() {
        return Err(SdpError::at(line, format!("m= has empty fields: {v:?}")));
    }
    let (port, count) = match port.split_once('/') {
        Some((p, n)) => (p, Some(number(line, "port count", n)?)),
        None => (port, None),
    };
    let mut m = MediaDescription::new(kind, number(line, "port", port)?, protocol, &[]);
    m.port_count = count;
    m.formats = f.filter(|x| !x.is_empty()).map(String::from).collect();
    Ok(m)
}

fn once<T>(slot: &mut Option<T>, v: T, line: usize, what: &str) -> Result<(), SdpError> {
    if slot.is_some() {
        return Err(SdpError::at(line, format!("more than one {what} line")));
    }
    *slot = Some(v);
    Ok(())
}

impl SessionDescription {
    /// Parses a description. Lines may end in CRLF or LF; blank lines are
    /// skipped. See the crate docs for what is checked strictly.
    pub fn parse(s: &str) -> Result<Self, SdpError> {
        if s.len() > MAX_SDP_LEN {
            return Err(SdpError::TooLarge("more than 512 KiB"));
        }
        let mut version = None;
        let mut origin = None;
        let mut name = None;
        let mut d = SessionDescription::new(0, 0);
        d.timing.clear();
        d.session_name.clear();
        for (i, raw) in s.split('\n').enumerate() {
            let line = i + 1;
            let l = raw.strip_suffix('\r').unwrap_or(raw);
            if l.is_empty() {
                continue;
            }
            if l.len() > MAX_LINE_LEN {
                return Err(SdpError::TooLarge("a line longer than 16 KiB"));
            }
            let b = l.as_bytes();
            if b.len() < 2 || b[1] != b'=' || !b[0].is_ascii_lowercase() {
                return Err(SdpError::at(
                    line,
                    format!("not an SDP line (`<letter>=<value>`): {:?}", trunc(l)),
                ));
            }
            let (t, v) = (b[0] as char, &l[2..]);
            if version.is_none() && t != 'v' {
                return Err(SdpError::at(line, "an SDP starts with v=0"));
            }
            if let Some(m) = d.media.last_mut() {
                match t {
                    'i' => once(&mut m.title, v.into(), line, "i=")?,
                    'c' => once(&mut m.connection, connection(line, v)?, line, "c=")?,
                    'b' => m.bandwidths.push(bandwidth(line, v)?),
                    'k' => once(&mut m.key, v.into(), line, "k=")?,
                    'a' => m.attributes.push(attribute(line, v)?),
                    'm' => {
                        if d.media.len() >= MAX_MEDIA_SECTIONS {
                            return Err(SdpError::TooLarge("more than 1024 m= sections"));
                        }
                        d.media.push(media_line(line, v)?);
                    }
                    _ => {
                        return Err(SdpError::at(
                            line,
                            format!("{t}= is not allowed in a media section"),
                        ))
                    }
                }
                continue;
            }
            match t {
                'v' => {
                    if v != "0" {
                        return Err(SdpError::at(line, format!("unsupported version v={v}")));
                    }
                    once(&mut version, 0, line, "v=")?;
                }
                'o' => {
                    let f: Vec<&str> = v.split(' ').collect();
                    if f.len() != 6 || f.iter().any(|x| x.is_empty()) {
                        return Err(SdpError::at(
                            line,
                            format!("o= needs 6 fields, got {:?}", trunc(v)),
                        ));
                    }
                    let o = Origin {
                        username: f[0].into(),
                        session_id: number(line, "session id", f[1])?,
                        session_version: number(line, "session version", f[2])?,
                        net_type: f[3].into(),
                        addr_type: f[4].into(),
                        address: f[5].into(),
                    };
                    once(&mut origin, o, line, "o=")?;
                }
                's' => once(&mut name, v.to_string(), line, "s=")?,
                'i' => once(&mut d.session_info, v.into(), line, "i=")?,
                'u' => once(&mut d.uri, v.into(), line, "u=")?,
                'e' => d.emails.push(v.into()),
                'p' => d.phones.push(v.into()),
                'c' => once(&mut d.connection, connection(line, v)?, line, "c=")?,
                'b' => d.bandwidths.push(bandwidth(line, v)?),
                't' => {
                    let (start, stop) = v.split_once(' ').ok_or_else(|| {
                        SdpError::at(line, format!("t= needs `<start> <stop>`, got {v:?}"))
                    })?;
                    d.timing.push(Timing {
                        start: number(line, "start time", start)?,
                        stop: number(line, "stop time", stop)?,
                        repeats: Vec::new(),
                    });
                }
                'r' => match d.timing.last_mut() {
                    Some(t) => t.repeats.push(v.into()),
                    None => return Err(SdpError::at(line, "r= before any t=")),
                },
                'z' => once(&mut d.time_zones, v.into(), line, "z=")?,
                'k' => once(&mut d.key, v.into(), line, "k=")?,
                'a' => d.attributes.push(attribute(line, v)?),
                'm' => {
                    if origin.is_none() || name.is_none() {
                        return Err(SdpError::at(line, "m= before o= and s="));
                    }
                    d.media.push(media_line(line, v)?);
                }
                _ => {
                    return Err(SdpError::at(
                        line,
                        format!("unknown line type {t}= (RFC 8866 §5: not extensible)"),
                    ))
                }
            }
        }
        d.origin = origin.ok_or(SdpError::Missing("o="))?;
        d.session_name = name.ok_or(SdpError::Missing("s="))?;
        if version.is_none() {
            return Err(SdpError::Missing("v="));
        }
        // Section-level credentials are checked one by one above; a section
        // must not carry two different ones.
        for m in &d.media {
            for name in ["ice-ufrag", "ice-pwd", "setup"] {
                let mut v = m.values(name);
                if let Some(first) = v.next() {
                    if v.any(|x| x != first) {
                        return Err(SdpError::Invalid(format!(
                            "media section {} has conflicting a={name} lines",
                            m.mid().unwrap_or("without a=mid")
                        )));
                    }
                }
            }
        }
        Ok(d)
    }
}

fn trunc(s: &str) -> &str {
    let mut end = s.len().min(60);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
