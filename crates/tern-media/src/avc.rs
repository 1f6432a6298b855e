//! The AVC decoder configuration record (ISO/IEC 14496-15 §5.3.3.1,
//! "avcC"): Matroska's `CodecPrivate` for `V_MPEG4/ISO/AVC`, and the
//! length-prefixed NAL unit framing that goes with it.

use crate::annexb::{h264_nal, split_nal_units, VideoCodec};
use crate::error::{MediaError, Result};

/// Bytes of each NAL unit length prefix this crate writes (lengthSizeMinusOne = 3).
pub const AVC_LENGTH_SIZE: usize = 4;

/// Builds an avcC record from SPS and PPS NAL units (with their NAL headers).
///
/// The profile, compatibility and level bytes are copied from the first SPS.
/// The High-profile extension fields (chroma format, bit depths) are not
/// written; decoders take them from the SPS itself.
pub fn avc_decoder_configuration(sps: &[&[u8]], pps: &[&[u8]]) -> Result<Vec<u8>> {
    let first = sps.first().ok_or(MediaError::Invalid {
        what: "avcC needs an SPS",
    })?;
    let profile = first
        .get(1..4)
        .ok_or(MediaError::Truncated { what: "H.264 SPS" })?;
    if pps.is_empty() || sps.len() > 31 || pps.len() > 255 {
        return Err(MediaError::Invalid {
            what: "avcC needs 1..=31 SPS and 1..=255 PPS",
        });
    }
    let mut v = vec![1];
    v.extend_from_slice(profile);
    v.push(0xFC | (AVC_LENGTH_SIZE as u8 - 1));
    v.push(0xE0 | sps.len() as u8);
    for s in sps {
        put_u16_prefixed(&mut v, s)?;
    }
    v.push(pps.len() as u8);
    for p in pps {
        put_u16_prefixed(&mut v, p)?;
    }
    Ok(v)
}

fn put_u16_prefixed(v: &mut Vec<u8>, nal: &[u8]) -> Result<()> {
    let len = u16::try_from(nal.len()).map_err(|_| MediaError::TooLarge {
        what: "H.264 parameter set",
        size: nal.len() as u64,
        max: u64::from(u16::MAX),
    })?;
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(nal);
    Ok(())
}

/// Builds an avcC record from the SPS and PPS found in an Annex B access unit,
/// or `None` if it lacks either.
pub fn avc_configuration_from_annex_b(access_unit: &[u8]) -> Option<Vec<u8>> {
    let nals: Vec<&[u8]> = split_nal_units(access_unit).collect();
    let of = |t| -> Vec<&[u8]> {
        nals.iter()
            .copied()
            .filter(|n| VideoCodec::H264.nal_type(n) == t)
            .take(31)
            .collect()
    };
    let (sps, pps) = (of(h264_nal::SPS), of(h264_nal::PPS));
    avc_decoder_configuration(&sps, &pps).ok()
}

/// Rewrites an Annex B access unit as 4-byte length-prefixed NAL units
/// (appended to `out`), dropping access unit delimiters, which Matroska omits.
pub fn annex_b_to_length_prefixed(access_unit: &[u8], out: &mut Vec<u8>) {
    for nal in split_nal_units(access_unit) {
        if VideoCodec::H264.nal_type(nal) == h264_nal::AUD {
            continue;
        }
        // NAL units from split_nal_units are bounded by the input slice, which
        // the WebM writer caps far below 4 GiB.
        out.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        out.extend_from_slice(nal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avcc_layout() {
        let sps = [0x67, 0x42, 0xC0, 0x1E, 0xAA];
        let pps = [0x68, 0xCE];
        let au = [
            0, 0, 0, 1, 0x09, 0xF0, 0, 0, 0, 1, 0x67, 0x42, 0xC0, 0x1E, 0xAA, 0, 0, 1, 0x68, 0xCE,
            0, 0, 1, 0x65, 0x88,
        ];
        let c = avc_configuration_from_annex_b(&au).unwrap();
        assert_eq!(c, avc_decoder_configuration(&[&sps], &[&pps]).unwrap());
        assert_eq!(
            c,
            [
                1, 0x42, 0xC0, 0x1E, 0xFF, 0xE1, 0, 5, 0x67, 0x42, 0xC0, 0x1E, 0xAA, 1, 0, 2, 0x68,
                0xCE
            ]
        );
        let mut out = Vec::new();
        annex_b_to_length_prefixed(&au, &mut out);
        assert_eq!(
            out,
            [
                0, 0, 0, 5, 0x67, 0x42, 0xC0, 0x1E, 0xAA, 0, 0, 0, 2, 0x68, 0xCE, 0, 0, 0, 2, 0x65,
                0x88
            ]
        );
        assert!(avc_configuration_from_annex_b(&[0, 0, 1, 0x65, 0x88]).is_none());
    }
}
