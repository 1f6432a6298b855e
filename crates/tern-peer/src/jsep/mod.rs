//! JSEP (RFC 8829): the descriptions we write and what we take from the
//! peer's. This module holds what every m-section shares (the transport of a
//! BUNDLE group: ICE credentials, candidates, DTLS fingerprint and role) and
//! the session level; each m-section kind has its own module (`data` for
//! `m=application UDP/DTLS/SCTP webrtc-datachannel`, `media` for audio and
//! video). Sections of other kinds or profiles are answered with port 0
//! (rejected). Every accepted section is bundled on one transport.

mod data;
pub(crate) mod media;

pub(crate) use data::{data_media, data_section, SCTP_PORT};

use tern_ice::Credentials;
use tern_sdp::{
    Attribute, Connection, Group, HasAttributes, MediaDescription, SessionDescription, Setup,
    TypedAttribute,
};

use crate::error::PeerError;

/// A media section's identifier (`a=mid`, RFC 9143 §4): the key of a
/// section through renegotiations and of a transceiver (W3C `mid`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mid(String);

impl Mid {
    /// A mid as written in SDP.
    pub fn new(mid: impl Into<String>) -> Self {
        Mid(mid.into())
    }

    /// The mid as written in SDP.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Mid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What we take from the peer's description.
#[derive(Debug, Clone)]
pub(crate) struct RemoteTransport {
    pub creds: Credentials,
    pub lite: bool,
    pub fingerprint: [u8; 32],
    pub setup: Setup,
    pub candidates: Vec<String>,
    pub end_of_candidates: bool,
    /// The peer's a=max-message-size (absent: 64 KiB, RFC 8841 §6.1; 0: any).
    pub max_message_size: usize,
}

/// What goes into our descriptions.
#[derive(Debug, Clone)]
pub(crate) struct LocalParams {
    pub session_id: u64,
    pub session_version: u64,
    pub creds: Credentials,
    pub fingerprint: [u8; 32],
    pub setup: Setup,
    pub max_message_size: usize,
    pub candidates: Vec<String>,
    pub end_of_candidates: bool,
}

/// An attribute from the section, else from the session level.
fn either<'a>(d: &'a SessionDescription, m: &'a MediaDescription, name: &str) -> Option<&'a str> {
    m.attribute(name).or_else(|| d.attribute(name))
}

/// The section carrying the BUNDLE group's transport: the first mid of the
/// group that is not rejected (RFC 8843 §7.2.1, the "offerer tagged"
/// section), else the first section we can use.
pub(crate) fn transport_section(d: &SessionDescription) -> Option<usize> {
    let usable =
        |m: &MediaDescription| m.port != 0 && (data::is_data(m) || media::media_kind(m).is_some());
    if let Some(g) = d.groups().into_iter().find(|g| g.semantics == "BUNDLE") {
        for mid in &g.mids {
            if let Some(i) = d
                .media
                .iter()
                .position(|m| m.mid() == Some(mid.as_str()) && usable(m))
            {
                return Some(i);
            }
        }
    }
    d.media.iter().position(usable)
}

/// Reads and checks the peer's transport (from section `idx`) and its
/// data section's limits (`data_idx`).
pub(crate) fn remote_transport(
    d: &SessionDescription,
    idx: usize,
    data_idx: Option<usize>,
) -> Result<RemoteTransport, PeerError> {
    let m = &d.media[idx];
    let bad = |s: &str| Err(PeerError::InvalidDescription(s.to_string()));
    let (Some(ufrag), Some(pwd)) = (either(d, m, "ice-ufrag"), either(d, m, "ice-pwd")) else {
        return bad("the BUNDLE section has no a=ice-ufrag and a=ice-pwd");
    };
    let mut fps = m.fingerprints();
    if fps.is_empty() {
        fps = d.fingerprints();
    }
    if fps.is_empty() {
        return bad("no a=fingerprint: the peer's DTLS certificate could not be checked");
    }
    let Some(fp) = fps.iter().find(|f| f.algorithm == "sha-256") else {
        return bad("no sha-256 a=fingerprint (the only hash we check certificates with)");
    };
    let mut fingerprint = [0u8; 32];
    fingerprint.copy_from_slice(&fp.value);
    let setup = match either(d, m, "setup") {
        Some(v) => v.parse::<Setup>().map_err(PeerError::InvalidDescription)?,
        None => return bad("the BUNDLE section has no a=setup"),
    };
    let max_message_size = match data_idx {
        Some(i) => data::remote_max_message_size(&d.media[i])?,
        None => 65_536,
    };
    Ok(RemoteTransport {
        creds: Credentials {
            ufrag: ufrag.to_string(),
            pwd: pwd.to_string(),
        },
        lite: d.ice_lite() || m.ice_lite(),
        fingerprint,
        setup,
        candidates: m.candidates().into_iter().map(String::from).collect(),
        end_of_candidates: m.end_of_candidates(),
        max_message_size,
    })
}

fn fingerprint_attribute(fp: &[u8; 32]) -> Attribute {
    tern_sdp::Fingerprint {
        algorithm: "sha-256".into(),
        value: fp.to_vec(),
    }
    .to_attribute()
}

/// The attributes of the BUNDLE group's transport, which every m-section
/// we write carries (RFC 8843 §7.1.1 lets a BUNDLE-only section omit them,
/// but browsers accept them everywhere and older peers need them).
pub(crate) fn push_transport_attributes(p: &LocalParams, m: &mut MediaDescription) {
    m.connection = Some(Connection {
        net_type: "IN".into(),
        addr_type: "IP4".into(),
        address: "0.0.0.0".into(),
    });
    for c in &p.candidates {
        m.push_attribute(Attribute::new("candidate", c.clone()));
    }
    if p.end_of_candidates {
        m.push_attribute(Attribute::flag("end-of-candidates"));
    }
    m.push_attribute(Attribute::new("ice-ufrag", p.creds.ufrag.clone()));
    m.push_attribute(Attribute::new("ice-pwd", p.creds.pwd.clone()));
    m.push_attribute(Attribute::new("ice-options", "trickle"));
    m.push_attribute(fingerprint_attribute(&p.fingerprint));
    m.push_attribute(p.setup.to_attribute());
}

/// A description: the session level, the BUNDLE group of `bundle` (when
/// not empty) and the sections in order.
pub(crate) fn session_with(
    p: &LocalParams,
    bundle: Vec<String>,
    sections: Vec<MediaDescription>,
) -> SessionDescription {
    let mut d = SessionDescription::new(p.session_id, p.session_version);
    if !bundle.is_empty() {
        d.push_attribute(
            Group {
                semantics: "BUNDLE".into(),
                mids: bundle,
            }
            .to_attribute(),
        );
    }
    d.push_attribute(Attribute::new("msid-semantic", " WMS"));
    d.media = sections;
    d
}

/// Our `a=setup` in an answer to the peer's (RFC 8842 §5.2: browsers
/// answer actpass with active).
pub(crate) fn answer_setup(remote: Setup) -> Result<Setup, PeerError> {
    match remote {
        Setup::ActPass | Setup::Passive => Ok(Setup::Active),
        Setup::Active => Ok(Setup::Passive),
        _ => Err(PeerError::InvalidDescription(format!(
            "a=setup:{remote} leaves no DTLS role for us"
        ))),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Parameters for writing sections in tests.
    pub(crate) fn params() -> LocalParams {
        LocalParams {
            session_id: 1,
            session_version: 2,
            creds: Credentials {
                ufrag: "abcd".into(),
                pwd: "0123456789012345678901".into(),
            },
            fingerprint: [7; 32],
            setup: Setup::ActPass,
            max_message_size: 262_144,
            candidates: vec![],
            end_of_candidates: false,
        }
    }
}
