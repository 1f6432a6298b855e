//! Cipher suites, SRTP protection profiles and signature schemes.

use tern_crypto::aead::AeadAlgorithm;
use tern_crypto::hmac::HmacAlgorithm;

/// A negotiated cipher suite (all ECDHE-ECDSA with AEAD, as WebRTC uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CipherSuite {
    /// TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (0xC02B), what browsers pick.
    EcdheEcdsaAes128GcmSha256,
    /// TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 (0xC02C).
    EcdheEcdsaAes256GcmSha384,
    /// TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 (0xCCA9, RFC 7905).
    EcdheEcdsaChaCha20Poly1305Sha256,
}

impl CipherSuite {
    /// All, in our order of preference.
    pub const ALL: [CipherSuite; 3] = [
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        CipherSuite::EcdheEcdsaAes256GcmSha384,
        CipherSuite::EcdheEcdsaChaCha20Poly1305Sha256,
    ];
    /// IANA code point.
    pub fn id(self) -> u16 {
        match self {
            CipherSuite::EcdheEcdsaAes128GcmSha256 => 0xc02b,
            CipherSuite::EcdheEcdsaAes256GcmSha384 => 0xc02c,
            CipherSuite::EcdheEcdsaChaCha20Poly1305Sha256 => 0xcca9,
        }
    }
    /// From a code point.
    pub fn from_id(id: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.id() == id)
    }
    /// OpenSSL's name for it.
    pub fn openssl_name(self) -> &'static str {
        match self {
            CipherSuite::EcdheEcdsaAes128GcmSha256 => "ECDHE-ECDSA-AES128-GCM-SHA256",
            CipherSuite::EcdheEcdsaAes256GcmSha384 => "ECDHE-ECDSA-AES256-GCM-SHA384",
            CipherSuite::EcdheEcdsaChaCha20Poly1305Sha256 => "ECDHE-ECDSA-CHACHA20-POLY1305",
        }
    }
    pub(crate) fn aead(self) -> AeadAlgorithm {
        match self {
            CipherSuite::EcdheEcdsaAes128GcmSha256 => AeadAlgorithm::Aes128Gcm,
            CipherSuite::EcdheEcdsaAes256GcmSha384 => AeadAlgorithm::Aes256Gcm,
            CipherSuite::EcdheEcdsaChaCha20Poly1305Sha256 => AeadAlgorithm::ChaCha20Poly1305,
        }
    }
    /// The PRF and transcript hash.
    pub(crate) fn prf_hash(self) -> HmacAlgorithm {
        match self {
            CipherSuite::EcdheEcdsaAes256GcmSha384 => HmacAlgorithm::Sha384,
            _ => HmacAlgorithm::Sha256,
        }
    }
    /// Key length, fixed IV length, and explicit nonce length on the wire.
    pub(crate) fn key_iv_explicit(self) -> (usize, usize, usize) {
        match self {
            CipherSuite::EcdheEcdsaAes128GcmSha256 => (16, 4, 8),
            CipherSuite::EcdheEcdsaAes256GcmSha384 => (32, 4, 8),
            CipherSuite::EcdheEcdsaChaCha20Poly1305Sha256 => (32, 12, 0),
        }
    }
}

/// An SRTP protection profile (RFC 5764 §4.1.2, RFC 7714 §14.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SrtpProfile {
    /// SRTP_AES128_CM_HMAC_SHA1_80 (0x0001).
    Aes128CmHmacSha1_80,
    /// SRTP_AEAD_AES_128_GCM (0x0007).
    AeadAes128Gcm,
    /// SRTP_AEAD_AES_256_GCM (0x0008).
    AeadAes256Gcm,
}

impl SrtpProfile {
    /// All, in our order of preference.
    pub const ALL: [SrtpProfile; 3] = [
        SrtpProfile::AeadAes128Gcm,
        SrtpProfile::AeadAes256Gcm,
        SrtpProfile::Aes128CmHmacSha1_80,
    ];
    /// IANA code point.
    pub fn id(self) -> u16 {
        match self {
            SrtpProfile::Aes128CmHmacSha1_80 => 0x0001,
            SrtpProfile::AeadAes128Gcm => 0x0007,
            SrtpProfile::AeadAes256Gcm => 0x0008,
        }
    }
    /// From a code point.
    pub fn from_id(id: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.id() == id)
    }
    /// OpenSSL's name for it.
    pub fn openssl_name(self) -> &'static str {
        match self {
            SrtpProfile::Aes128CmHmacSha1_80 => "SRTP_AES128_CM_SHA1_80",
            SrtpProfile::AeadAes128Gcm => "SRTP_AEAD_AES_128_GCM",
            SrtpProfile::AeadAes256Gcm => "SRTP_AEAD_AES_256_GCM",
        }
    }
    /// Bytes of keying material to export for this profile:
    /// 2 × (master key + master salt) (RFC 5764 §4.2).
    pub fn keying_material_len(self) -> usize {
        match self {
            SrtpProfile::Aes128CmHmacSha1_80 => 2 * (16 + 14),
            SrtpProfile::AeadAes128Gcm => 2 * (16 + 12),
            SrtpProfile::AeadAes256Gcm => 2 * (32 + 12),
        }
    }
}

/// ecdsa_secp256r1_sha256 (RFC 8446 §4.2.3; in TLS 1.2 terms hash=sha256(4), sig=ecdsa(3)).
pub const ECDSA_SECP256R1_SHA256: u16 = 0x0403;
