//! RTX retransmission packets (RFC 4588 §4).

use super::packet::{RtpPacket, P_BIT};
use super::{PayloadType, RtpError, SeqNo, Ssrc};

/// Bytes of the original sequence number (OSN) at the start of an RTX payload.
pub const OSN_LEN: usize = 2;

/// RFC 4588 §4: writes the retransmission of `original` into `out` and
/// returns its length. The header is the original's (timestamp, marker,
/// CSRCs, header extensions) with the RTX stream's SSRC, sequence number
/// and payload type; the payload is the original sequence number (2 bytes)
/// followed by the original payload. The original's padding is not
/// carried.
pub fn write_rtx<T: AsRef<[u8]>>(
    original: &RtpPacket<T>,
    rtx_ssrc: Ssrc,
    rtx_seq: SeqNo,
    rtx_pt: PayloadType,
    out: &mut [u8],
) -> Result<usize, RtpError> {
    let header = &original.as_bytes()[..original.header_len()];
    let payload = original.payload();
    let len = header.len() + OSN_LEN + payload.len();
    let available = out.len();
    let Some(out) = out.get_mut(..len) else {
        return Err(RtpError::BufferTooSmall {
            needed: len,
            available,
        });
    };
    let (h, rest) = out.split_at_mut(header.len());
    h.copy_from_slice(header);
    let (osn, p) = rest.split_at_mut(OSN_LEN);
    osn.copy_from_slice(&original.sequence_number().0.to_be_bytes());
    p.copy_from_slice(payload);
    // `h` is a copy of a checked header, so the view's checks pass again;
    // go through it to patch the fields by their named offsets.
    h[0] &= !P_BIT;
    let mut view = RtpPacket::new_checked(&mut *out)?;
    view.set_ssrc(rtx_ssrc);
    view.set_sequence_number(rtx_seq);
    view.set_payload_type(rtx_pt);
    Ok(len)
}

/// RFC 4588 §4: the original sequence number and payload carried by an RTX
/// packet's payload. An empty RTX payload (RFC 4588 §8.2 allows padding-only
/// RTX packets for probing) has neither and is an error here.
pub fn rtx_original(rtx_payload: &[u8]) -> Result<(SeqNo, &[u8]), RtpError> {
    let Some((osn, payload)) = rtx_payload.split_first_chunk::<OSN_LEN>() else {
        return Err(RtpError::Truncated {
            needed: OSN_LEN,
            actual: rtx_payload.len(),
        });
    };
    Ok((SeqNo(u16::from_be_bytes(*osn)), payload))
}
