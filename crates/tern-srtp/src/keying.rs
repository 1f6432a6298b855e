//! Master keys from the DTLS exporter (RFC 5764 §4.2).

use zeroize::Zeroize;

use crate::{ProtectionProfile, SrtpError};

/// The exporter label for DTLS-SRTP keying material (RFC 5764 §4.2).
pub const EXPORTER_LABEL: &str = "EXTRACTOR-dtls_srtp";

const MAX_KEY: usize = 32;
const MAX_SALT: usize = 14;

/// Our role in the DTLS handshake that keyed SRTP: it decides which half of
/// the exporter output protects what we send (RFC 5764 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DtlsRole {
    /// We sent the ClientHello: we send with `client_write_SRTP_master_key`.
    Client,
    /// We answered it: we send with `server_write_SRTP_master_key`.
    Server,
}

/// One SRTP master key and master salt (RFC 3711 §3.2.1), the input of the
/// key derivation of §4.3. Zeroed when dropped; `Debug` does not show it;
/// deliberately not `PartialEq` (a non-constant-time comparison of secrets).
#[derive(Clone)]
pub struct MasterKey {
    key: [u8; MAX_KEY],
    key_len: usize,
    salt: [u8; MAX_SALT],
    salt_len: usize,
}

impl MasterKey {
    /// A master key and salt of the lengths `profile` needs
    /// ([`ProtectionProfile::master_key_len`], [`ProtectionProfile::master_salt_len`]).
    pub fn new(profile: ProtectionProfile, key: &[u8], salt: &[u8]) -> Result<Self, SrtpError> {
        if key.len() != profile.master_key_len() || salt.len() != profile.master_salt_len() {
            return Err(SrtpError::MasterKeyLength {
                profile,
                key: key.len(),
                salt: salt.len(),
            });
        }
        let mut k = [0u8; MAX_KEY];
        let mut s = [0u8; MAX_SALT];
        // Lengths were checked against the profile, whose maxima are MAX_KEY and MAX_SALT.
        k[..key.len()].copy_from_slice(key);
        s[..salt.len()].copy_from_slice(salt);
        Ok(MasterKey {
            key: k,
            key_len: key.len(),
            salt: s,
            salt_len: salt.len(),
        })
    }

    /// The master key bytes.
    pub fn key(&self) -> &[u8] {
        self.key.get(..self.key_len).unwrap_or(&[])
    }

    /// The master salt bytes.
    pub fn salt(&self) -> &[u8] {
        self.salt.get(..self.salt_len).unwrap_or(&[])
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.key.zeroize();
        self.salt.zeroize();
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({}+{} bytes)", self.key_len, self.salt_len)
    }
}

/// Both directions' master keys for one DTLS-SRTP session.
#[derive(Debug, Clone)]
pub struct SrtpKeys {
    /// The negotiated profile.
    pub profile: ProtectionProfile,
    /// Protects what we send (outbound).
    pub local: MasterKey,
    /// Unprotects what the peer sends (inbound).
    pub remote: MasterKey,
}

impl SrtpKeys {
    /// RFC 5764 §4.2: splits the exporter output for label
    /// [`EXPORTER_LABEL`] (no context, length
    /// [`ProtectionProfile::keying_material_len`]) laid out as
    /// `client_write_key | server_write_key | client_write_salt | server_write_salt`,
    /// and assigns the halves by our DTLS `role`.
    pub fn from_exporter(
        profile: ProtectionProfile,
        material: &[u8],
        role: DtlsRole,
    ) -> Result<Self, SrtpError> {
        let expected = profile.keying_material_len();
        if material.len() != expected {
            return Err(SrtpError::KeyingMaterialLength {
                profile,
                expected,
                got: material.len(),
            });
        }
        let k = profile.master_key_len();
        let s = profile.master_salt_len();
        let part = |at: usize, n: usize| material.get(at..at + n).unwrap_or(&[]);
        let client = MasterKey::new(profile, part(0, k), part(2 * k, s))?;
        let server = MasterKey::new(profile, part(k, k), part(2 * k + s, s))?;
        let (local, remote) = match role {
            DtlsRole::Client => (client, server),
            DtlsRole::Server => (server, client),
        };
        Ok(SrtpKeys {
            profile,
            local,
            remote,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exporter_halves_go_to_the_right_direction() {
        let p = ProtectionProfile::Aes128CmHmacSha1_80;
        // 16 bytes of 0x01 (client key), 16 of 0x02 (server key),
        // 14 of 0x03 (client salt), 14 of 0x04 (server salt).
        let mut m = Vec::new();
        for (b, n) in [(1u8, 16), (2, 16), (3, 14), (4, 14)] {
            m.extend(std::iter::repeat_n(b, n));
        }
        let c = SrtpKeys::from_exporter(p, &m, DtlsRole::Client).unwrap();
        assert_eq!(c.local.key(), &[1; 16]);
        assert_eq!(c.local.salt(), &[3; 14]);
        assert_eq!(c.remote.key(), &[2; 16]);
        assert_eq!(c.remote.salt(), &[4; 14]);
        let s = SrtpKeys::from_exporter(p, &m, DtlsRole::Server).unwrap();
        assert_eq!(s.local.key(), c.remote.key());
        assert_eq!(s.local.salt(), c.remote.salt());
        assert_eq!(s.remote.key(), c.local.key());
        assert_eq!(s.remote.salt(), c.local.salt());
        assert_eq!(format!("{:?}", c.local), "MasterKey(16+14 bytes)");
    }

    #[test]
    fn gcm_256_layout() {
        let p = ProtectionProfile::AeadAes256Gcm;
        let m: Vec<u8> = (0..88u8).collect();
        let c = SrtpKeys::from_exporter(p, &m, DtlsRole::Client).unwrap();
        assert_eq!(c.local.key(), &m[0..32]);
        assert_eq!(c.remote.key(), &m[32..64]);
        assert_eq!(c.local.salt(), &m[64..76]);
        assert_eq!(c.remote.salt(), &m[76..88]);
    }

    #[test]
    fn wrong_lengths_are_errors() {
        let p = ProtectionProfile::AeadAes128Gcm;
        assert_eq!(
            SrtpKeys::from_exporter(p, &[0; 60], DtlsRole::Client).unwrap_err(),
            SrtpError::KeyingMaterialLength {
                profile: p,
                expected: 56,
                got: 60
            }
        );
        assert!(matches!(
            MasterKey::new(p, &[0; 16], &[0; 14]),
            Err(SrtpError::MasterKeyLength { .. })
        ));
    }
}
