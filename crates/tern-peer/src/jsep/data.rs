//! JSEP for the data m-section (RFC 8841: `m=application UDP/DTLS/SCTP
//! webrtc-datachannel` with `a=sctp-port` and `a=max-message-size`).

use tern_sdp::{Attribute, HasAttributes, MediaDescription, SessionDescription};

use super::{push_transport_attributes, LocalParams};
use crate::error::PeerError;

/// The protocol of a data section.
pub(crate) const DATA_PROTOCOL: &str = "UDP/DTLS/SCTP";
/// Its one format.
pub(crate) const DATA_FORMAT: &str = "webrtc-datachannel";
/// The SCTP port we use and require (RFC 8841; every browser uses 5000).
pub(crate) const SCTP_PORT: u16 = 5000;

/// Whether `m` is a data section we use: `m=application` with our
/// protocol and format and a non-zero port.
pub(crate) fn is_data(m: &MediaDescription) -> bool {
    m.kind == "application"
        && m.port != 0
        && m.protocol.eq_ignore_ascii_case(DATA_PROTOCOL)
        && m.formats.iter().any(|f| f == DATA_FORMAT)
}

/// The index of the data section (the first one; others are rejected).
pub(crate) fn data_section(d: &SessionDescription) -> Option<usize> {
    d.media.iter().position(is_data)
}

/// The peer's `a=max-message-size` (RFC 8841 §6: absent means 64 KiB, 0
/// means any size), after checking its `a=sctp-port`.
pub(crate) fn remote_max_message_size(m: &MediaDescription) -> Result<usize, PeerError> {
    if let Some(port) = m.sctp_port() {
        if port != SCTP_PORT {
            return Err(PeerError::Unsupported(format!(
                "a=sctp-port:{port} (only {SCTP_PORT}, what browsers use)"
            )));
        }
    }
    Ok(match m.max_message_size() {
        None => 65_536,
        Some(0) => usize::MAX,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    })
}

/// The data section we send.
pub(crate) fn data_media(p: &LocalParams, mid: &str) -> MediaDescription {
    let mut m = MediaDescription::new("application", 9, DATA_PROTOCOL, &[DATA_FORMAT]);
    push_transport_attributes(p, &mut m);
    m.push_attribute(Attribute::new("mid", mid));
    m.push_attribute(Attribute::new("sctp-port", SCTP_PORT.to_string()));
    m.push_attribute(Attribute::new(
        "max-message-size",
        p.max_message_size.to_string(),
    ));
    m
}
