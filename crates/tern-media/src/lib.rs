//! Media files for tern: what a WebRTC call sends and receives, on disk.
//!
//! - [`IvfReader`] / [`IvfWriter`]: IVF files of VP8, VP9 or AV1 frames.
//! - [`OggOpusReader`] / [`OggOpusWriter`]: Ogg Opus (RFC 7845) with page
//!   CRCs (RFC 3533) checked and granule positions at 48 kHz.
//! - [`AnnexBReader`] / [`AnnexBWriter`]: H.264 and H.265 Annex B byte
//!   streams split into NAL units and access units with keyframe flags.
//! - [`WebmWriter`]: a received call (one video track, one Opus track) as a
//!   streaming WebM/Matroska file, in sync by timestamps the caller passes
//!   in one shared clock.
//!
//! These are pure file formats: readers take any [`std::io::Read`], writers
//! any [`std::io::Write`]; where a file is opened and when it is flushed is
//! the caller's policy. Input never panics the readers, and no size field
//! makes them allocate more than [`MAX_FRAME_SIZE`] per frame or packet;
//! every malformed input is a [`MediaError`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod annexb;
mod av1;
mod avc;
mod ebml;
mod error;
mod io;
mod ivf;
mod ogg;
mod webm;

pub use annexb::{
    h264_nal, h265_nal, split_nal_units, AccessUnit, AnnexBReader, AnnexBWriter, NalUnits,
    VideoCodec, MAX_NALS_PER_ACCESS_UNIT,
};
pub use av1::av1_configuration_from_temporal_unit;
pub use avc::{
    annex_b_to_length_prefixed, avc_configuration_from_annex_b, avc_decoder_configuration,
    AVC_LENGTH_SIZE,
};
pub use error::{MediaError, Result};
pub use io::MAX_FRAME_SIZE;
pub use ivf::{
    FourCc, IvfFrame, IvfHeader, IvfReader, IvfWriter, IVF_FRAME_HEADER_LEN, IVF_HEADER_LEN,
};
pub use ogg::{
    crc_update, opus_packet_duration, OggOpusReader, OggOpusWriter, OggPage, OpusHead, OpusPacket,
    OpusTags, DEFAULT_PAGE_DURATION, FLAG_BOS, FLAG_CONTINUED, FLAG_EOS, MAX_SEGMENTS, NO_GRANULE,
    OPUS_GRANULE_RATE, PAGE_HEADER_LEN,
};
pub use webm::{
    AudioTrack, VideoTrack, WebmStats, WebmVideoCodec, WebmWriter, MAX_CLUSTER_DURATION_MS,
};
