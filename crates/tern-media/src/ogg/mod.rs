//! Ogg (RFC 3533) pages and the Ogg Opus mapping (RFC 7845).

mod opus;
mod page;

pub use opus::{
    opus_packet_duration, OggOpusReader, OggOpusWriter, OpusHead, OpusPacket, OpusTags,
    DEFAULT_PAGE_DURATION, OPUS_GRANULE_RATE,
};
pub use page::{
    crc_update, OggPage, FLAG_BOS, FLAG_CONTINUED, FLAG_EOS, MAX_SEGMENTS, NO_GRANULE,
    PAGE_HEADER_LEN,
};
