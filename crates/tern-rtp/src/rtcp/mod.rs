//! RTCP (RFC 3550 §6, RFC 4585, RFC 5104, RFC 3611, RFC 8888,
//! draft-holmer-rmcat-transport-wide-cc-extensions-01): zero-copy views of
//! every packet type WebRTC uses and writers that emit into caller buffers.
//!
//! Entry points: [`CompoundIter`] walks the packets of a received datagram
//! (compound per RFC 3550 §6.1 or reduced-size per RFC 5506) yielding
//! [`RtcpPacket`] views; [`CompoundWriter`] appends packets into one
//! `&mut [u8]`. Nothing here allocates.
//!
//! ```
//! use tern_rtp::rtcp::{CompoundIter, CompoundWriter, RtcpPacket};
//!
//! let mut buf = [0u8; 1200];
//! let mut w = CompoundWriter::new(&mut buf);
//! w.receiver_report(0x1111, &[])?.nack(0x1111, 0x2222, &[65535, 0, 3])?;
//! let datagram = w.finish();
//! for packet in CompoundIter::new(datagram) {
//!     if let RtcpPacket::Nack(nack) = packet? {
//!         assert_eq!(nack.lost().collect::<Vec<_>>(), [65535, 0, 3]);
//!     }
//! }
//! # Ok::<(), tern_rtp::rtcp::RtcpError>(())
//! ```

mod app;
mod bye;
mod ccfb;
mod compound;
mod error;
mod header;
mod interval;
mod nack;
mod ntp;
#[cfg(test)]
mod proptests;
mod psfb;
mod report;
mod sdes;
mod twcc;
mod writer;
mod xr;

/// An RTP synchronization source identifier (RFC 3550 §3). A plain alias so
/// the RTP module's newtype can replace it in one place.
pub type Ssrc = u32;
/// A 16-bit RTP (or transport-wide) sequence number (RFC 3550 §5.1).
pub type SeqNo = u16;

pub use app::{write_app, App};
pub use bye::{write_bye, Bye};
pub use ccfb::{
    write_ccfb, CcfbMetric, CcfbReportBlock, CcfbReportBlocks, CcfbStream, CongestionFeedback, Ecn,
    ATO_OVER_RANGE, ATO_UNAVAILABLE,
};
pub use compound::{CompoundIter, RtcpPacket};
pub use error::RtcpError;
pub use header::{packet_type, Header, HEADER_LEN};
pub use interval::{rtcp_interval, Membership, RtcpIntervalConfig, RtcpScheduler};
pub use nack::{nack_items, write_nack, Nack, NackItems, NackLost};
pub use ntp::{compact_to_duration, duration_to_compact, rtt_from_report, NtpTime};
pub use psfb::{write_fir, write_pli, write_remb, Fir, FirEntry, Pli, Remb};
pub use report::{
    write_rr, write_sr, ReceiverReport, ReportBlock, ReportBlocks, SenderInfo, SenderReport,
};
pub use sdes::{sdes_item, write_sdes, Sdes, SdesChunk, SdesChunkView, SdesChunks, SdesItem};
pub use twcc::{
    TransportFeedback, TwccArrival, TwccPackets, TwccWriter, TWCC_DELTA_TICK_US,
    TWCC_REFERENCE_TICK_US,
};
pub use writer::CompoundWriter;
pub use xr::{write_xr, DlrrItem, ExtendedReport, XrBlock, XrBlocks, XrWriteBlock};
