//! The SRTP key derivation function, RFC 3711 §4.3 (AES-CM PRF, §4.3.3),
//! with key_derivation_rate 0 as DTLS-SRTP requires (RFC 5764 §4.1.2). The
//! AEAD profiles use the same KDF (RFC 7714 §11).

use tern_crypto::ctr::AesCtrKey;

use crate::SrtpError;

/// The `<label>` of RFC 3711 §4.3.1 / §4.3.2: which session key to derive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KdfLabel {
    /// 0x00: SRTP encryption key.
    RtpEncryption,
    /// 0x01: SRTP authentication key.
    RtpAuthentication,
    /// 0x02: SRTP salting key.
    RtpSalt,
    /// 0x03: SRTCP encryption key.
    RtcpEncryption,
    /// 0x04: SRTCP authentication key.
    RtcpAuthentication,
    /// 0x05: SRTCP salting key.
    RtcpSalt,
}

impl KdfLabel {
    /// The label byte.
    pub const fn value(self) -> u8 {
        match self {
            KdfLabel::RtpEncryption => 0x00,
            KdfLabel::RtpAuthentication => 0x01,
            KdfLabel::RtpSalt => 0x02,
            KdfLabel::RtcpEncryption => 0x03,
            KdfLabel::RtcpAuthentication => 0x04,
            KdfLabel::RtcpSalt => 0x05,
        }
    }
}

/// RFC 3711 §4.3.1 with kdr = 0: fills `out` with
/// `PRF_n(k_master, x)` where `x = (label || r) XOR k_salt` and r = 0, and
/// the PRF is AES in counter mode keyed by the master key (§4.3.3), run from
/// the IV `x * 2^16`.
///
/// `master_key` is 16 or 32 bytes (AES-128 or AES-256 PRF, RFC 6188 §7);
/// `master_salt` is at most 14 bytes. A shorter salt (GCM's 96 bits,
/// RFC 7714 §11) is the high-order part of the 112-bit value, padded with
/// zeros on the right, as libsrtp and other implementations interoperate.
pub fn derive_session_key(
    master_key: &[u8],
    master_salt: &[u8],
    label: KdfLabel,
    out: &mut [u8],
) -> Result<(), SrtpError> {
    if master_salt.len() > 14 {
        return Err(SrtpError::Config("master salt longer than 112 bits"));
    }
    let prf = AesCtrKey::new(master_key)?;
    let mut iv = [0u8; 16];
    // The salt is at most 14 bytes (checked above).
    iv[..master_salt.len()].copy_from_slice(master_salt);
    // key_id = label || r (r = 48 zero bits) aligned to the low end of the
    // 112-bit salt: the label lands on byte 7.
    iv[7] ^= label.value();
    out.fill(0);
    prf.apply_keystream(iv, out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    // RFC 3711 Appendix B.3 (Key Derivation Test Vectors).
    #[test]
    fn rfc3711_b3_key_derivation() {
        let master_key = h("E1F97A0D3E018BE0D64FA32C06DE4139");
        let master_salt = h("0EC675AD498AFEEBB6960B3AABE6");

        let mut cipher_key = [0u8; 16];
        derive_session_key(
            &master_key,
            &master_salt,
            KdfLabel::RtpEncryption,
            &mut cipher_key,
        )
        .unwrap();
        assert_eq!(cipher_key.to_vec(), h("C61E7A93744F39EE10734AFE3FF7A087"));

        let mut cipher_salt = [0u8; 14];
        derive_session_key(
            &master_key,
            &master_salt,
            KdfLabel::RtpSalt,
            &mut cipher_salt,
        )
        .unwrap();
        assert_eq!(cipher_salt.to_vec(), h("30CBBC08863D8C85D49DB34A9AE1"));

        // B.3 derives a 94-octet auth key to show several PRF blocks.
        let mut auth_key = [0u8; 94];
        derive_session_key(
            &master_key,
            &master_salt,
            KdfLabel::RtpAuthentication,
            &mut auth_key,
        )
        .unwrap();
        assert_eq!(
            auth_key.to_vec(),
            h("CEBE321F6FF7716B6FD4AB49AF256A15
               6D38BAA48F0A0ACF3C34E2359E6CDBCE
               E049646C43D9327AD175578EF7227098
               6371C10C9A369AC2F94A8C5FBCDDDC25
               6D6E919A48B610EF17C2041E47403576
               6B68642C59BBFC2F34DB60DBDFB2")
        );
    }

    #[test]
    fn labels_give_different_keys_and_salt_is_bounded() {
        let k = [9u8; 16];
        let s = [3u8; 14];
        let mut a = [0u8; 16];
        let mut b = [0u8; 16];
        derive_session_key(&k, &s, KdfLabel::RtpEncryption, &mut a).unwrap();
        derive_session_key(&k, &s, KdfLabel::RtcpEncryption, &mut b).unwrap();
        assert_ne!(a, b);
        assert!(derive_session_key(&k, &[0; 15], KdfLabel::RtpSalt, &mut a).is_err());
        assert!(derive_session_key(&[0; 24], &s, KdfLabel::RtpSalt, &mut a).is_err());
    }
}
