//! The TLS 1.2 PRF (RFC 5246 §5), the key schedule with the extended master
//! secret (RFC 7627), the exporter (RFC 5705), and record protection
//! (RFC 6347 §4.1.2.1 with RFC 5288 GCM nonces, RFC 7905 for ChaCha20).

use tern_crypto::aead::{AeadKey, TAG_LEN};
use tern_crypto::hmac::{HmacAlgorithm, HmacKey};

use crate::codec::{RecordHeader, DTLS1_2};
use crate::suite::CipherSuite;
use crate::DtlsError;

/// PRF(secret, label, seed) = P_hash(secret, label + seed), `out.len()` bytes.
pub fn prf(alg: HmacAlgorithm, secret: &[u8], label: &[u8], seeds: &[&[u8]], out: &mut [u8]) {
    let key = HmacKey::new(alg, secret);
    let mut a = [0u8; 48];
    let mut parts: Vec<&[u8]> = vec![label];
    parts.extend_from_slice(seeds);
    // A(1) = HMAC(secret, label + seed)
    let mut a_len = key.sign_into(&parts, &mut a);
    let mut filled = 0;
    let mut block = [0u8; 48];
    while filled < out.len() {
        let mut p: Vec<&[u8]> = vec![&a[..a_len]];
        p.extend_from_slice(&parts);
        let n = key.sign_into(&p, &mut block);
        let take = n.min(out.len() - filled);
        out[filled..filled + take].copy_from_slice(&block[..take]);
        filled += take;
        let prev = a;
        a_len = key.sign_into(&[&prev[..a_len]], &mut a);
    }
}

/// Transcript hash with the suite's hash.
pub fn transcript_hash(alg: HmacAlgorithm, transcript: &[u8]) -> Vec<u8> {
    match alg {
        HmacAlgorithm::Sha384 => tern_crypto::digest::sha384_parts(&[transcript]).to_vec(),
        _ => tern_crypto::digest::sha256(transcript).to_vec(),
    }
}

/// One direction of record protection.
pub(crate) struct DirectionKeys {
    key: AeadKey,
    iv: [u8; 12],
    iv_len: usize,
    explicit: usize,
}

impl DirectionKeys {
    fn nonce(&self, epoch: u16, seq: u64) -> [u8; 12] {
        let mut seq_num = [0u8; 8];
        seq_num[..2].copy_from_slice(&epoch.to_be_bytes());
        seq_num[2..].copy_from_slice(&seq.to_be_bytes()[2..]);
        let mut nonce = [0u8; 12];
        if self.iv_len == 4 {
            // RFC 5288 §3: salt (4) || explicit nonce (8), the explicit part being epoch||seq.
            nonce[..4].copy_from_slice(&self.iv[..4]);
            nonce[4..].copy_from_slice(&seq_num);
        } else {
            // RFC 7905 §2: IV XOR the left-padded sequence number.
            nonce = self.iv;
            for (n, s) in nonce[4..].iter_mut().zip(seq_num) {
                *n ^= s;
            }
        }
        nonce
    }
}

fn aad(epoch: u16, seq: u64, content_type: u8, len: usize) -> [u8; 13] {
    let mut a = [0u8; 13];
    a[..2].copy_from_slice(&epoch.to_be_bytes());
    a[2..8].copy_from_slice(&seq.to_be_bytes()[2..]);
    a[8] = content_type;
    a[9..11].copy_from_slice(&DTLS1_2.to_be_bytes());
    a[11..13].copy_from_slice(&(len as u16).to_be_bytes());
    a
}

/// Keys for both directions after ChangeCipherSpec.
pub(crate) struct RecordKeys {
    pub write: DirectionKeys,
    pub read: DirectionKeys,
}

/// Bytes a protected record adds to its plaintext.
pub fn record_overhead(suite: CipherSuite) -> usize {
    suite.key_iv_explicit().2 + TAG_LEN
}

impl RecordKeys {
    /// Derives the key block (RFC 5246 §6.3) for `is_client`.
    pub fn derive(
        suite: CipherSuite,
        master: &[u8; 48],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        is_client: bool,
    ) -> Result<Self, DtlsError> {
        let (key_len, iv_len, explicit) = suite.key_iv_explicit();
        let mut block = vec![0u8; 2 * (key_len + iv_len)];
        prf(
            suite.prf_hash(),
            master,
            b"key expansion",
            &[server_random, client_random],
            &mut block,
        );
        let (ck, rest) = block.split_at(key_len);
        let (sk, rest) = rest.split_at(key_len);
        let (civ, siv) = rest.split_at(iv_len);
        let dir = |k: &[u8], iv: &[u8]| -> Result<DirectionKeys, DtlsError> {
            let mut ivb = [0u8; 12];
            ivb[..iv.len()].copy_from_slice(iv);
            Ok(DirectionKeys {
                key: AeadKey::new(suite.aead(), k)?,
                iv: ivb,
                iv_len,
                explicit,
            })
        };
        let (client, server) = (dir(ck, civ)?, dir(sk, siv)?);
        Ok(if is_client {
            RecordKeys {
                write: client,
                read: server,
            }
        } else {
            RecordKeys {
                write: server,
                read: client,
            }
        })
    }

    /// Appends a protected record of `content_type` carrying `plaintext`.
    pub fn seal(
        &self,
        out: &mut Vec<u8>,
        content_type: u8,
        epoch: u16,
        seq: u64,
        plaintext: &[u8],
    ) -> Result<(), DtlsError> {
        let w = &self.write;
        let len = w.explicit + plaintext.len() + TAG_LEN;
        if len > usize::from(u16::MAX) {
            return Err(DtlsError::TooLarge(plaintext.len()));
        }
        RecordHeader {
            content_type,
            version: DTLS1_2,
            epoch,
            sequence: seq,
            length: len as u16,
        }
        .encode(out);
        if w.explicit == 8 {
            out.extend_from_slice(&epoch.to_be_bytes());
            out.extend_from_slice(&seq.to_be_bytes()[2..]);
        }
        let start = out.len();
        out.extend_from_slice(plaintext);
        let tag = w.key.seal_in_place(
            w.nonce(epoch, seq),
            &aad(epoch, seq, content_type, plaintext.len()),
            &mut out[start..],
        )?;
        out.extend_from_slice(&tag);
        Ok(())
    }

    /// Opens a protected record in place; returns the plaintext range within `fragment`.
    pub fn open(
        &self,
        h: &RecordHeader,
        fragment: &mut [u8],
    ) -> Result<std::ops::Range<usize>, DtlsError> {
        let r = &self.read;
        if fragment.len() < r.explicit + TAG_LEN {
            return Err(DtlsError::DecryptError("record too short"));
        }
        let plain_len = fragment.len() - r.explicit - TAG_LEN;
        let a = aad(h.epoch, h.sequence, h.content_type, plain_len);
        let nonce = if r.explicit == 8 {
            // RFC 5288 §3: the explicit part is whatever the sender put in the record.
            let mut n = [0u8; 12];
            n[..4].copy_from_slice(&r.iv[..4]);
            n[4..].copy_from_slice(&fragment[..8]);
            n
        } else {
            r.nonce(h.epoch, h.sequence)
        };
        let n = r
            .key
            .open_in_place(nonce, &a, &mut fragment[r.explicit..])
            .map_err(|_| DtlsError::DecryptError("bad record MAC"))?;
        Ok(r.explicit..r.explicit + n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The TLS 1.2 PRF-SHA256 test vector circulated on the IETF TLS list
    /// (secret, seed and "test label" as below; first 100 bytes).
    #[test]
    fn prf_sha256_vector() {
        let secret = hex::decode("9bbe436ba940f017b17652849a71db35").unwrap();
        let seed = hex::decode("a0ba9f936cda311827a6f796ffd5198c").unwrap();
        let mut out = [0u8; 100];
        prf(
            HmacAlgorithm::Sha256,
            &secret,
            b"test label",
            &[&seed],
            &mut out,
        );
        assert_eq!(
            hex::encode(out),
            "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66"
        );
    }

    /// The matching PRF-SHA384 vector from the same source.
    #[test]
    fn prf_sha384_vector() {
        let secret = hex::decode("b80b733d6ceefcdc71566ea48e5567df").unwrap();
        let seed = hex::decode("cd665cf6a8447dd6ff8b27555edb7465").unwrap();
        let mut out = [0u8; 148];
        prf(
            HmacAlgorithm::Sha384,
            &secret,
            b"test label",
            &[&seed],
            &mut out,
        );
        assert_eq!(
            hex::encode(&out[..32]),
            "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd"
        );
    }
}
