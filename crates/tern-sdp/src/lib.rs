//! SDP (RFC 8866) for WebRTC: a model of session and media descriptions, a
//! parser and a writer, with typed views of the attributes JSEP and RTP use.
//!
//! Attributes are kept as written, in order, so whatever a browser sends
//! (including attributes this crate does not know) round-trips unchanged.
//! Typed accessors parse them on demand: leniently for media details (an
//! unparsable `a=rtpmap` is skipped), strictly where security depends on
//! them — a malformed `a=fingerprint`, `a=ice-ufrag`, `a=ice-pwd` or
//! `a=setup` makes the whole description fail to parse.
//!
//! ```
//! use tern_sdp::{HasAttributes, SessionDescription, Setup};
//!
//! let sdp: SessionDescription = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
//!     m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
//!     a=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\n".parse()?;
//! let m = &sdp.media[0];
//! assert_eq!(m.mid(), Some("0"));
//! assert_eq!(m.setup(), Some(Setup::ActPass));
//! assert_eq!(m.sctp_port(), Some(5000));
//! assert!(sdp.to_string().ends_with("a=sctp-port:5000\r\n"));
//! # Ok::<(), tern_sdp::SdpError>(())
//! ```
#![forbid(unsafe_code)]

mod attributes;
mod error;
mod model;
mod parse;

pub use attributes::{
    Direction, ExtMap, Fingerprint, Fmtp, Group, HasAttributes, Msid, Rid, RidDirection, RtcpFb,
    RtpMap, Setup, Simulcast, SimulcastStream, Ssrc, SsrcGroup, TypedAttribute,
};
pub use error::SdpError;
pub use model::{
    Attribute, Bandwidth, Connection, MediaDescription, Origin, SessionDescription, Timing,
};
pub use parse::{MAX_LINE_LEN, MAX_MEDIA_SECTIONS, MAX_SDP_LEN};
