//! DTLS-SRTP protection profiles (RFC 5764 §4.1.2, RFC 7714 §14.2).

/// An SRTP protection profile as negotiated by the DTLS `use_srtp` extension.
///
/// RFC 5764 §4.1.2 defines the AES-CM profiles, RFC 7714 §14.2 the AEAD ones.
/// The key derivation rate is 0 for all of them (RFC 5764 §4.1.2), and no MKI
/// is used with DTLS-SRTP in WebRTC (RFC 8827 §6.5), so none is supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtectionProfile {
    /// SRTP_AES128_CM_HMAC_SHA1_80 = {0x00, 0x01}: AES-128 counter mode,
    /// HMAC-SHA1 with an 80-bit tag on SRTP and SRTCP.
    Aes128CmHmacSha1_80,
    /// SRTP_AES128_CM_HMAC_SHA1_32 = {0x00, 0x02}: as `_80`, but a 32-bit tag
    /// on SRTP; SRTCP keeps the 80-bit tag (RFC 5764 §4.1.2).
    Aes128CmHmacSha1_32,
    /// SRTP_AEAD_AES_128_GCM = {0x00, 0x07}: AES-128-GCM, 96-bit salt,
    /// 16-byte tag (RFC 7714 §14.2).
    AeadAes128Gcm,
    /// SRTP_AEAD_AES_256_GCM = {0x00, 0x08}: AES-256-GCM, 96-bit salt,
    /// 16-byte tag (RFC 7714 §14.2).
    AeadAes256Gcm,
}

impl ProtectionProfile {
    /// Every profile this crate implements, in the order a client should
    /// offer them (AEAD first).
    pub const ALL: [ProtectionProfile; 4] = [
        ProtectionProfile::AeadAes128Gcm,
        ProtectionProfile::AeadAes256Gcm,
        ProtectionProfile::Aes128CmHmacSha1_80,
        ProtectionProfile::Aes128CmHmacSha1_32,
    ];

    /// The two-byte SRTPProtectionProfile value of the `use_srtp` extension
    /// (RFC 5764 §4.1.2, RFC 7714 §14.2).
    pub const fn id(self) -> u16 {
        match self {
            ProtectionProfile::Aes128CmHmacSha1_80 => 0x0001,
            ProtectionProfile::Aes128CmHmacSha1_32 => 0x0002,
            ProtectionProfile::AeadAes128Gcm => 0x0007,
            ProtectionProfile::AeadAes256Gcm => 0x0008,
        }
    }

    /// The profile with this `use_srtp` value, if this crate implements it.
    pub const fn from_id(id: u16) -> Option<Self> {
        match id {
            0x0001 => Some(ProtectionProfile::Aes128CmHmacSha1_80),
            0x0002 => Some(ProtectionProfile::Aes128CmHmacSha1_32),
            0x0007 => Some(ProtectionProfile::AeadAes128Gcm),
            0x0008 => Some(ProtectionProfile::AeadAes256Gcm),
            _ => None,
        }
    }

    /// The IANA name (RFC 5764 §9, RFC 7714 §14.2).
    pub const fn name(self) -> &'static str {
        match self {
            ProtectionProfile::Aes128CmHmacSha1_80 => "SRTP_AES128_CM_HMAC_SHA1_80",
            ProtectionProfile::Aes128CmHmacSha1_32 => "SRTP_AES128_CM_HMAC_SHA1_32",
            ProtectionProfile::AeadAes128Gcm => "SRTP_AEAD_AES_128_GCM",
            ProtectionProfile::AeadAes256Gcm => "SRTP_AEAD_AES_256_GCM",
        }
    }

    /// Whether the profile is an AEAD (GCM) one, RFC 7714.
    pub const fn is_aead(self) -> bool {
        matches!(
            self,
            ProtectionProfile::AeadAes128Gcm | ProtectionProfile::AeadAes256Gcm
        )
    }

    /// Master key length in bytes (= session encryption key length):
    /// cipher_key_length of RFC 5764 §4.1.2 / RFC 7714 §14.2.
    pub const fn master_key_len(self) -> usize {
        match self {
            ProtectionProfile::AeadAes256Gcm => 32,
            _ => 16,
        }
    }

    /// Master salt length in bytes (= session salt length): 112 bits for
    /// AES-CM (RFC 5764 §4.1.2), 96 bits for GCM (RFC 7714 §14.2).
    pub const fn master_salt_len(self) -> usize {
        if self.is_aead() {
            12
        } else {
            14
        }
    }

    /// Session authentication key length: 160 bits for HMAC-SHA1
    /// (RFC 5764 §4.1.2); GCM needs none.
    pub const fn auth_key_len(self) -> usize {
        if self.is_aead() {
            0
        } else {
            20
        }
    }

    /// Bytes of tag appended to an SRTP packet.
    pub const fn rtp_tag_len(self) -> usize {
        match self {
            ProtectionProfile::Aes128CmHmacSha1_80 => 10,
            ProtectionProfile::Aes128CmHmacSha1_32 => 4,
            ProtectionProfile::AeadAes128Gcm | ProtectionProfile::AeadAes256Gcm => 16,
        }
    }

    /// Bytes of tag appended to an SRTCP packet: 80 bits for both AES-CM
    /// profiles (RFC 5764 §4.1.2), 16 bytes for GCM.
    pub const fn rtcp_tag_len(self) -> usize {
        if self.is_aead() {
            16
        } else {
            10
        }
    }

    /// How many bytes [`protect_rtp`](crate::Protector::protect_rtp) adds.
    pub const fn rtp_overhead(self) -> usize {
        self.rtp_tag_len()
    }

    /// How many bytes [`protect_rtcp`](crate::Protector::protect_rtcp) adds:
    /// the 4-byte E flag and SRTCP index plus the tag (RFC 3711 §3.4).
    pub const fn rtcp_overhead(self) -> usize {
        4 + self.rtcp_tag_len()
    }

    /// Length of the DTLS exporter output to request with label
    /// [`EXPORTER_LABEL`](crate::EXPORTER_LABEL): two master keys and two
    /// master salts (RFC 5764 §4.2).
    pub const fn keying_material_len(self) -> usize {
        2 * (self.master_key_len() + self.master_salt_len())
    }
}

impl std::fmt::Display for ProtectionProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_match_the_registry() {
        // RFC 5764 §4.1.2 and RFC 7714 §14.2.
        let ids: Vec<u16> = ProtectionProfile::ALL.iter().map(|p| p.id()).collect();
        assert_eq!(ids, [0x0007, 0x0008, 0x0001, 0x0002]);
        for p in ProtectionProfile::ALL {
            assert_eq!(ProtectionProfile::from_id(p.id()), Some(p));
        }
        assert_eq!(ProtectionProfile::from_id(0x0003), None);
        assert_eq!(ProtectionProfile::from_id(0x0005), None);
    }

    #[test]
    fn lengths_are_the_rfc_parameters() {
        use ProtectionProfile::*;
        // (key, salt, rtp tag, rtcp tag, exporter) per RFC 5764 §4.1.2 / RFC 7714 §14.2.
        let table = [
            (Aes128CmHmacSha1_80, 16, 14, 10, 10, 60),
            (Aes128CmHmacSha1_32, 16, 14, 4, 10, 60),
            (AeadAes128Gcm, 16, 12, 16, 16, 56),
            (AeadAes256Gcm, 32, 12, 16, 16, 88),
        ];
        for (p, k, s, t, tc, x) in table {
            assert_eq!(p.master_key_len(), k, "{p}");
            assert_eq!(p.master_salt_len(), s, "{p}");
            assert_eq!(p.rtp_tag_len(), t, "{p}");
            assert_eq!(p.rtcp_tag_len(), tc, "{p}");
            assert_eq!(p.keying_material_len(), x, "{p}");
            assert_eq!(p.rtcp_overhead(), tc + 4, "{p}");
        }
        assert_eq!(AeadAes256Gcm.to_string(), "SRTP_AEAD_AES_256_GCM");
    }
}
