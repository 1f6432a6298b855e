//! The per-packet cryptographic transforms, given the session keys and the
//! packet index: AES-CM + HMAC-SHA1 (RFC 3711 §4.1.1, §4.2) and AES-GCM
//! (RFC 7714 §8, §9). Stateless: the contexts own index and replay state.

use tern_crypto::aead::{AeadAlgorithm, AeadKey, NONCE_LEN, TAG_LEN};
use tern_crypto::ctr::AesCtrKey;
use tern_crypto::hmac::HmacSha1Key;
use zeroize::Zeroize;

use crate::header::{be32, RTCP_HEADER_LEN};
use crate::kdf::{derive_session_key, KdfLabel};
use crate::{MasterKey, ProtectionProfile, SrtpError};

/// The E flag of the SRTCP trailer word (RFC 3711 §3.4).
const E_FLAG: u32 = 0x8000_0000;
/// Length of the E flag + SRTCP index word.
pub(crate) const SRTCP_INDEX_LEN: usize = 4;

/// What SRTCP carries in its trailer word (RFC 3711 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SrtcpTrailer {
    /// Whether the payload is encrypted.
    pub encrypted: bool,
    /// The 31-bit SRTCP index.
    pub index: u32,
}

/// One direction's session keys for either RTP or RTCP (RFC 3711 §4.3).
// The HMAC state makes `AesCm` much larger than `Gcm`; there are four of
// these per session, and boxing would add a pointer chase to every packet.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Transform {
    /// AES-128-CM + HMAC-SHA1 (RFC 3711 §4.1.1, §4.2.1).
    AesCm {
        enc: AesCtrKey,
        auth: HmacSha1Key,
        salt: [u8; 14],
        tag_len: usize,
    },
    /// AEAD_AES_128_GCM / AEAD_AES_256_GCM (RFC 7714).
    Gcm { key: AeadKey, salt: [u8; 12] },
}

impl Drop for Transform {
    fn drop(&mut self) {
        match self {
            Transform::AesCm { salt, .. } => salt.zeroize(),
            Transform::Gcm { salt, .. } => salt.zeroize(),
        }
    }
}

/// RFC 3711 §4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16).
fn aes_cm_iv(salt: &[u8; 14], ssrc: u32, index: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(salt);
    for (d, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
        *d ^= s;
    }
    for (d, s) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
        *d ^= s;
    }
    iv
}

/// RFC 7714 §8.1: IV = (00 00 || SSRC || ROC || SEQ) XOR salt, where
/// ROC || SEQ is the 48-bit packet index.
fn gcm_rtp_iv(salt: &[u8; 12], ssrc: u32, index: u64) -> [u8; NONCE_LEN] {
    let mut iv = *salt;
    for (d, s) in iv[2..6].iter_mut().zip(ssrc.to_be_bytes()) {
        *d ^= s;
    }
    for (d, s) in iv[6..12].iter_mut().zip(&index.to_be_bytes()[2..]) {
        *d ^= s;
    }
    iv
}

/// RFC 7714 §9.1: IV = (00 00 || SSRC || 00 00 || 0 || SRTCP index) XOR salt.
fn gcm_rtcp_iv(salt: &[u8; 12], ssrc: u32, index: u32) -> [u8; NONCE_LEN] {
    let mut iv = *salt;
    for (d, s) in iv[2..6].iter_mut().zip(ssrc.to_be_bytes()) {
        *d ^= s;
    }
    for (d, s) in iv[8..12].iter_mut().zip(index.to_be_bytes()) {
        *d ^= s;
    }
    iv
}

fn auth_failed(ssrc: u32) -> SrtpError {
    SrtpError::Authentication { ssrc }
}

fn truncated(need: usize, got: usize) -> SrtpError {
    SrtpError::Truncated {
        what: "SRTP packet",
        need,
        got,
    }
}

impl Transform {
    /// Derives the SRTP (`rtcp == false`) or SRTCP session keys of `profile`
    /// from `master` (RFC 3711 §4.3, RFC 7714 §11).
    pub(crate) fn derive(
        profile: ProtectionProfile,
        master: &MasterKey,
        rtcp: bool,
    ) -> Result<Self, SrtpError> {
        if master.key().len() != profile.master_key_len()
            || master.salt().len() != profile.master_salt_len()
        {
            return Err(SrtpError::MasterKeyLength {
                profile,
                key: master.key().len(),
                salt: master.salt().len(),
            });
        }
        let (l_enc, l_auth, l_salt) = if rtcp {
            (
                KdfLabel::RtcpEncryption,
                KdfLabel::RtcpAuthentication,
                KdfLabel::RtcpSalt,
            )
        } else {
            (
                KdfLabel::RtpEncryption,
                KdfLabel::RtpAuthentication,
                KdfLabel::RtpSalt,
            )
        };
        let (mk, ms) = (master.key(), master.salt());
        let mut enc = [0u8; 32];
        let enc = &mut enc[..profile.master_key_len()];
        derive_session_key(mk, ms, l_enc, enc)?;
        let t = if profile.is_aead() {
            let mut salt = [0u8; 12];
            derive_session_key(mk, ms, l_salt, &mut salt)?;
            let alg = match profile {
                ProtectionProfile::AeadAes256Gcm => AeadAlgorithm::Aes256Gcm,
                _ => AeadAlgorithm::Aes128Gcm,
            };
            Self::gcm(alg, enc, salt)
        } else {
            let mut salt = [0u8; 14];
            let mut auth = [0u8; 20];
            derive_session_key(mk, ms, l_salt, &mut salt)?;
            derive_session_key(mk, ms, l_auth, &mut auth)?;
            let tag_len = if rtcp {
                profile.rtcp_tag_len()
            } else {
                profile.rtp_tag_len()
            };
            let t = Self::aes_cm(enc, &auth, salt, tag_len);
            auth.zeroize();
            t
        };
        enc.zeroize();
        t
    }

    /// AES-CM transform from session keys.
    pub(crate) fn aes_cm(
        enc: &[u8],
        auth: &[u8],
        salt: [u8; 14],
        tag_len: usize,
    ) -> Result<Self, SrtpError> {
        Ok(Transform::AesCm {
            enc: AesCtrKey::new(enc)?,
            auth: HmacSha1Key::new(auth),
            salt,
            tag_len,
        })
    }

    /// GCM transform from session keys.
    pub(crate) fn gcm(alg: AeadAlgorithm, enc: &[u8], salt: [u8; 12]) -> Result<Self, SrtpError> {
        Ok(Transform::Gcm {
            key: AeadKey::new(alg, enc)?,
            salt,
        })
    }

    /// Tag length of this transform.
    pub(crate) fn tag_len(&self) -> usize {
        match self {
            Transform::AesCm { tag_len, .. } => *tag_len,
            Transform::Gcm { .. } => TAG_LEN,
        }
    }

    /// Protects the RTP packet `buf[..len]` whose header is `header_len`
    /// bytes, appending the tag; the caller has checked that
    /// `len + tag_len() <= buf.len()`. Returns the protected length.
    pub(crate) fn protect_rtp(
        &self,
        buf: &mut [u8],
        header_len: usize,
        len: usize,
        ssrc: u32,
        index: u64,
    ) -> Result<usize, SrtpError> {
        let total = len + self.tag_len();
        let got = buf.len();
        let (packet, rest) = buf.split_at_mut_checked(len).ok_or(truncated(total, got))?;
        let tag_out = rest
            .get_mut(..self.tag_len())
            .ok_or(truncated(total, got))?;
        let (header, payload) = packet
            .split_at_mut_checked(header_len)
            .ok_or(truncated(header_len, len))?;
        match self {
            Transform::AesCm {
                enc, auth, salt, ..
            } => {
                enc.apply_keystream(aes_cm_iv(salt, ssrc, index), payload)?;
                // RFC 3711 §4.2: the authenticated portion, then the ROC.
                let roc = ((index >> 16) as u32).to_be_bytes();
                let tag = auth.sign(&[header, payload, &roc]);
                tag_out.copy_from_slice(tag.get(..tag_out.len()).unwrap_or(&[]));
            }
            Transform::Gcm { key, salt } => {
                // RFC 7714 §8.2: the AAD is the whole header, CSRCs and extension included.
                let tag = key.seal_in_place(gcm_rtp_iv(salt, ssrc, index), header, payload)?;
                tag_out.copy_from_slice(&tag);
            }
        }
        Ok(total)
    }

    /// Verifies and decrypts the SRTP packet `packet` in place; returns the
    /// RTP packet length. The caller has checked `header_len + tag_len() <=
    /// packet.len()`.
    pub(crate) fn unprotect_rtp(
        &self,
        packet: &mut [u8],
        header_len: usize,
        ssrc: u32,
        index: u64,
    ) -> Result<usize, SrtpError> {
        let len = packet.len();
        let need = header_len + self.tag_len();
        if len < need {
            return Err(truncated(need, len));
        }
        let (header, body) = packet
            .split_at_mut_checked(header_len)
            .ok_or(truncated(need, len))?;
        match self {
            Transform::AesCm {
                enc,
                auth,
                salt,
                tag_len,
            } => {
                let (payload, tag) = body
                    .split_at_mut_checked(body.len() - tag_len)
                    .ok_or(truncated(need, len))?;
                let roc = ((index >> 16) as u32).to_be_bytes();
                if !auth.verify(&[header, payload, &roc], tag) {
                    return Err(auth_failed(ssrc));
                }
                enc.apply_keystream(aes_cm_iv(salt, ssrc, index), payload)?;
                Ok(len - tag_len)
            }
            Transform::Gcm { key, salt } => {
                let plain = key
                    .open_in_place(gcm_rtp_iv(salt, ssrc, index), header, body)
                    .map_err(|_| auth_failed(ssrc))?;
                Ok(header_len + plain)
            }
        }
    }

    /// Protects the RTCP packet `buf[..len]` with SRTCP index `index`,
    /// setting the E flag; the caller has checked the header and that
    /// `len + 4 + tag_len() <= buf.len()`. Returns the protected length.
    ///
    /// Layouts: AES-CM `header | ciphertext | E+index | tag` (RFC 3711 §3.4);
    /// GCM `header | ciphertext | tag | E+index` (RFC 7714 §9.2, §17).
    pub(crate) fn protect_rtcp(
        &self,
        buf: &mut [u8],
        len: usize,
        ssrc: u32,
        index: u32,
    ) -> Result<usize, SrtpError> {
        let total = len + SRTCP_INDEX_LEN + self.tag_len();
        let got = buf.len();
        let word = (E_FLAG | index).to_be_bytes();
        let (packet, rest) = buf.split_at_mut_checked(len).ok_or(truncated(total, got))?;
        let (header, payload) = packet
            .split_at_mut_checked(RTCP_HEADER_LEN)
            .ok_or(truncated(RTCP_HEADER_LEN, len))?;
        let trailer = rest
            .get_mut(..SRTCP_INDEX_LEN + self.tag_len())
            .ok_or(truncated(total, got))?;
        match self {
            Transform::AesCm {
                enc,
                auth,
                salt,
                tag_len,
            } => {
                enc.apply_keystream(aes_cm_iv(salt, ssrc, u64::from(index)), payload)?;
                let (w, tag_out) = trailer.split_at_mut(SRTCP_INDEX_LEN);
                w.copy_from_slice(&word);
                // RFC 3711 §3.4: the authenticated portion ends with E || index.
                let tag = auth.sign(&[header, payload, &word]);
                tag_out.copy_from_slice(tag.get(..*tag_len).unwrap_or(&[]));
            }
            Transform::Gcm { key, salt } => {
                let mut aad = [0u8; RTCP_HEADER_LEN + SRTCP_INDEX_LEN];
                aad[..RTCP_HEADER_LEN].copy_from_slice(header);
                aad[RTCP_HEADER_LEN..].copy_from_slice(&word);
                let tag = key.seal_in_place(gcm_rtcp_iv(salt, ssrc, index), &aad, payload)?;
                let (tag_out, w) = trailer.split_at_mut(TAG_LEN);
                tag_out.copy_from_slice(&tag);
                w.copy_from_slice(&word);
            }
        }
        Ok(total)
    }

    /// Reads the E flag and SRTCP index from an SRTCP packet, checking that
    /// it is long enough for header, trailer and tag.
    pub(crate) fn srtcp_trailer(&self, packet: &[u8]) -> Result<SrtcpTrailer, SrtpError> {
        let len = packet.len();
        let need = RTCP_HEADER_LEN + SRTCP_INDEX_LEN + self.tag_len();
        if len < need {
            return Err(SrtpError::Truncated {
                what: "SRTCP packet",
                need,
                got: len,
            });
        }
        let at = match self {
            Transform::AesCm { tag_len, .. } => len - tag_len - SRTCP_INDEX_LEN,
            Transform::Gcm { .. } => len - SRTCP_INDEX_LEN,
        };
        let word = be32(packet, at);
        Ok(SrtcpTrailer {
            encrypted: word & E_FLAG != 0,
            index: word & !E_FLAG,
        })
    }

    /// Verifies and (if the E flag is set) decrypts the SRTCP packet in
    /// place; returns the RTCP packet length. `trailer` comes from
    /// [`srtcp_trailer`](Self::srtcp_trailer) on the same packet.
    pub(crate) fn unprotect_rtcp(
        &self,
        packet: &mut [u8],
        ssrc: u32,
        trailer: SrtcpTrailer,
    ) -> Result<usize, SrtpError> {
        let len = packet.len();
        let need = RTCP_HEADER_LEN + SRTCP_INDEX_LEN + self.tag_len();
        if len < need {
            return Err(truncated(need, len));
        }
        let word = (if trailer.encrypted { E_FLAG } else { 0 } | trailer.index).to_be_bytes();
        match self {
            Transform::AesCm {
                enc,
                auth,
                salt,
                tag_len,
            } => {
                let (authenticated, tag) = packet
                    .split_at_mut_checked(len - tag_len)
                    .ok_or(truncated(need, len))?;
                if !auth.verify(&[authenticated], tag) {
                    return Err(auth_failed(ssrc));
                }
                let rtcp_len = len - tag_len - SRTCP_INDEX_LEN;
                if trailer.encrypted {
                    let payload = authenticated
                        .get_mut(RTCP_HEADER_LEN..rtcp_len)
                        .ok_or(truncated(need, len))?;
                    let iv = aes_cm_iv(salt, ssrc, u64::from(trailer.index));
                    enc.apply_keystream(iv, payload)?;
                }
                Ok(rtcp_len)
            }
            Transform::Gcm { key, salt } => {
                let iv = gcm_rtcp_iv(salt, ssrc, trailer.index);
                if trailer.encrypted {
                    // RFC 7714 §9.2: AAD = header (8 bytes) || E || SRTCP index.
                    let (header, rest) = packet
                        .split_at_mut_checked(RTCP_HEADER_LEN)
                        .ok_or(truncated(need, len))?;
                    let mut aad = [0u8; RTCP_HEADER_LEN + SRTCP_INDEX_LEN];
                    aad[..RTCP_HEADER_LEN].copy_from_slice(header);
                    aad[RTCP_HEADER_LEN..].copy_from_slice(&word);
                    let sealed = rest
                        .get_mut(..rest.len() - SRTCP_INDEX_LEN)
                        .ok_or(truncated(need, len))?;
                    let plain = key
                        .open_in_place(iv, &aad, sealed)
                        .map_err(|_| auth_failed(ssrc))?;
                    Ok(RTCP_HEADER_LEN + plain)
                } else {
                    // RFC 7714 §9.3: not encrypted; the AAD is the whole RTCP
                    // packet followed by E || index, which sits after the tag
                    // on the wire. Move the word next to the packet (over the
                    // tag, kept aside) so the AAD is one contiguous slice.
                    let rtcp_len = len - TAG_LEN - SRTCP_INDEX_LEN;
                    let mut tag = [0u8; TAG_LEN];
                    tag.copy_from_slice(
                        packet
                            .get(rtcp_len..rtcp_len + TAG_LEN)
                            .ok_or(truncated(need, len))?,
                    );
                    packet
                        .get_mut(rtcp_len..rtcp_len + SRTCP_INDEX_LEN)
                        .ok_or(truncated(need, len))?
                        .copy_from_slice(&word);
                    let aad = packet
                        .get(..rtcp_len + SRTCP_INDEX_LEN)
                        .ok_or(truncated(need, len))?;
                    key.open_in_place(iv, aad, &mut tag)
                        .map_err(|_| auth_failed(ssrc))?;
                    Ok(rtcp_len)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    // RFC 3711 Appendix B.2 (AES-CM Test Vectors): session salt
    // F0F1F2F3F4F5F6F7F8F9FAFBFCFD ("already shifted"), SSRC 0, ROC 0, SEQ 0,
    // so the §4.1.1 IV is F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000.
    #[test]
    fn rfc3711_b2_aes_cm_iv_and_keystream() {
        let salt: [u8; 14] = h("F0F1F2F3F4F5F6F7F8F9FAFBFCFD").try_into().unwrap();
        let iv = aes_cm_iv(&salt, 0, 0);
        assert_eq!(iv.to_vec(), h("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"));
        let key = AesCtrKey::new(&h("2B7E151628AED2A6ABF7158809CF4F3C")).unwrap();
        // Keystream segment length: 1044512 octets (65282 AES blocks).
        let mut ks = vec![0u8; 1_044_512];
        key.apply_keystream(iv, &mut ks).unwrap();
        assert_eq!(
            ks[..48].to_vec(),
            h("E03EAD0935C95E80E166B16DD92B4EB4
               D23513162B02D0F72A43A2FE4A5F97AB
               41E95B3BB0A2E8DD477901E4FCA894C0")
        );
        assert_eq!(
            ks[ks.len() - 48..].to_vec(),
            h("EC8CDF7398607CB0F2D21675EA9EA1E4
               362B7C3C6773516318A077D7FC5073AE
               6A2CC3787889374FBEB4C81B17BA6C44")
        );
    }

    #[test]
    fn aes_cm_iv_layout() {
        let iv = aes_cm_iv(&[0; 14], 0x0102_0304, 0x5566_7788_99aa);
        assert_eq!(iv.to_vec(), h("00000000 01020304 5566778899aa 0000"));
    }

    // RFC 7714 §16 (RTP, SSRC 0x5501a0b2, ROC 0, SEQ 0xf17b) and §17
    // (SRTCP, SSRC 0x4d617273, index 0x5d4) IVs, salt "Quid pro quo".
    #[test]
    fn rfc7714_ivs() {
        let salt: [u8; 12] = h("517569642070726f2071756f").try_into().unwrap();
        assert_eq!(
            gcm_rtp_iv(&salt, 0x5501_a0b2, 0xf17b).to_vec(),
            h("51753c6580c2726f20718414")
        );
        assert_eq!(
            gcm_rtcp_iv(&salt, 0x4d61_7273, 0x5d4).to_vec(),
            h("517524055203726f207170bb")
        );
    }
}
