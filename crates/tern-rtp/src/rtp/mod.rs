//! RTP packets (RFC 3550 §5.1): the zero-copy view with in-place setters,
//! the writer, the field newtypes and RTX (RFC 4588 §4).

mod error;
mod packet;
mod rtx;
mod types;
mod writer;

pub use error::RtpError;
pub use packet::{Csrcs, RtpPacket, EXTENSION_HEADER_LEN, FIXED_HEADER_LEN, RTP_VERSION};
pub use rtx::{rtx_original, write_rtx, OSN_LEN};
pub use types::{ExtendedSeqNo, PayloadType, RtpTimestamp, SeqNo, SeqNoUnwrapper, Ssrc};
pub use writer::{RtpHeader, RtpWriter, MAX_CSRCS};

#[cfg(test)]
mod tests;
