//! Published test vectors run through the contexts, each named by source.

use tern_crypto::aead::AeadAlgorithm;

use crate::transform::Transform;
use crate::{MasterKey, ProtectionProfile, Protector, SrtpConfig, SrtpError, Unprotector};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).unwrap()
}

// ---------------------------------------------------------------------------
// RFC 7714 §16 and §17: the vectors give session keys, not master keys, and
// use the same key and salt for SRTP and SRTCP.

const RFC7714_KEY_128: &str = "000102030405060708090a0b0c0d0e0f";
const RFC7714_KEY_256: &str = "000102030405060708090a0b0c0d0e0f
                               101112131415161718191a1b1c1d1e1f";
/// "Quid pro quo".
const RFC7714_SALT: &str = "517569642070726f2071756f";

/// RFC 7714 §16: the RTP packet every SRTP vector protects.
const RFC7714_RTP: &str = "8040f17b 8041f8d3 5501a0b2 47616c6c
                           69612065 7374206f 6d6e6973 20646976
                           69736120 696e2070 61727465 73207472
                           6573";

/// RFC 7714 §16.1.1 (encrypted and tagged packet, AEAD_AES_128_GCM).
const RFC7714_16_1_SRTP: &str = "8040f17b 8041f8d3 5501a0b2 f24de3a3
                                 fb34de6c acba861c 9d7e4bca be633bd5
                                 0d294e6f 42a5f47a 51c7d19b 36de3adf
                                 8833899d 7f27beb1 6a9152cf 765ee439
                                 0cce";

/// RFC 7714 §16.2.1 (encrypted and tagged packet, AEAD_AES_256_GCM).
const RFC7714_16_2_SRTP: &str = "8040f17b 8041f8d3 5501a0b2 32b1de78
                                 a822fe12 ef9f78fa 332e33aa b1801238
                                 9a58e2f3 b50b2a02 76ffae0f 1ba63799
                                 b87b7aa3 db36dfff d6b0f9bb 7878d7a7
                                 6c13";

/// RFC 7714 §17: the RTCP packet every SRTCP vector protects (SRTCP index 0x5d4).
const RFC7714_RTCP: &str = "81c8000d 4d617273 4e545031 4e545032
                            52545020 0000042a 0000e930 4c756e61
                            deadbeef deadbeef deadbeef deadbeef
                            deadbeef";
const RFC7714_SRTCP_INDEX: u32 = 0x5d4;

/// RFC 7714 §17.1 (SRTCP AEAD_AES_128_GCM encryption): header, ciphertext,
/// tag, E flag + SRTCP index.
const RFC7714_17_1_SRTCP: &str = "81c8000d 4d617273 63e94885 dcdab67c
                                  a727d766 2f6b7e99 7ff5c0f7 6c06f32d
                                  c676a5f1 730d6fda 4ce09b46 86303ded
                                  0bb9275b c84aa458 96cf4d2f c5abf872
                                  45d9eade 800005d4";

/// RFC 7714 §17.2 (SRTCP AEAD_AES_256_GCM).
const RFC7714_17_2_SRTCP: &str = "81c8000d 4d617273 d50ae4d1 f5ce5d30
                                  4ba297e4 7d470c28 2c3ece5d bffe0a50
                                  a2eaa5c1 110555be 8415f658 c61de047
                                  6f1b6fad 1d1eb30c 4446839f 57ff6f6c
                                  b26ac3be 800005d4";

/// RFC 7714 §17.3 / §17.4 (SRTCP tagged, not encrypted, E = 0): the RTCP
/// packet, then the tag, then E flag + index.
const RFC7714_17_3_TAG: &str = "841dd968 3dd78ec9 2ae58790 125f62b3";
const RFC7714_17_4_TAG: &str = "91db4afb feee5a97 8fab4393 ed2615fe";

fn rfc7714_contexts(profile: ProtectionProfile) -> (Protector, Unprotector) {
    let (alg, key) = match profile {
        ProtectionProfile::AeadAes128Gcm => (AeadAlgorithm::Aes128Gcm, h(RFC7714_KEY_128)),
        _ => (AeadAlgorithm::Aes256Gcm, h(RFC7714_KEY_256)),
    };
    let salt: [u8; 12] = h(RFC7714_SALT).try_into().unwrap();
    let t = || Transform::gcm(alg, &key, salt).unwrap();
    let c = SrtpConfig::default();
    (
        Protector::from_transforms(profile, t(), t(), c),
        Unprotector::from_transforms(profile, t(), t(), c),
    )
}

fn check_rtp(profile: ProtectionProfile, expected: &str) {
    let (mut tx, mut rx) = rfc7714_contexts(profile);
    let plain = h(RFC7714_RTP);
    let expected = h(expected);
    let mut buf = vec![0u8; 200];
    buf[..plain.len()].copy_from_slice(&plain);
    let n = tx.protect_rtp(&mut buf, plain.len()).unwrap();
    assert_eq!(&buf[..n], &expected[..], "{profile} protect");
    let mut wire = expected.clone();
    let m = rx.unprotect_rtp(&mut wire).unwrap();
    assert_eq!(&wire[..m], &plain[..], "{profile} unprotect");
    assert_eq!(rx.roc(0x5501a0b2), Some(0));
}

fn check_rtcp(profile: ProtectionProfile, expected: &str) {
    let (mut tx, mut rx) = rfc7714_contexts(profile);
    let plain = h(RFC7714_RTCP);
    let expected = h(expected);
    tx.set_next_srtcp_index(0x4d617273, RFC7714_SRTCP_INDEX);
    let mut buf = vec![0u8; 200];
    buf[..plain.len()].copy_from_slice(&plain);
    let n = tx.protect_rtcp(&mut buf, plain.len()).unwrap();
    assert_eq!(&buf[..n], &expected[..], "{profile} protect");
    let mut wire = expected.clone();
    let m = rx.unprotect_rtcp(&mut wire).unwrap();
    assert_eq!(&wire[..m], &plain[..], "{profile} unprotect");
    // The index is now in the replay list.
    let mut again = expected.clone();
    assert_eq!(
        rx.unprotect_rtcp(&mut again),
        Err(SrtpError::Replay {
            ssrc: 0x4d617273,
            index: 0x5d4
        })
    );
}

fn check_rtcp_tag_only(profile: ProtectionProfile, tag: &str) {
    let (_, mut rx) = rfc7714_contexts(profile);
    let plain = h(RFC7714_RTCP);
    let mut wire = plain.clone();
    wire.extend_from_slice(&h(tag));
    wire.extend_from_slice(&RFC7714_SRTCP_INDEX.to_be_bytes()); // E = 0
    let mut forged = wire.clone();
    let m = rx.unprotect_rtcp(&mut wire).unwrap();
    assert_eq!(&wire[..m], &plain[..], "{profile}");
    // Setting the E flag changes the AAD: the tag no longer verifies.
    let at = forged.len() - 4;
    forged[at] |= 0x80;
    let (_, mut fresh) = rfc7714_contexts(profile);
    assert!(matches!(
        fresh.unprotect_rtcp(&mut forged),
        Err(SrtpError::Authentication { .. })
    ));
}

#[test]
fn rfc7714_16_1_aead_aes_128_gcm_srtp() {
    check_rtp(ProtectionProfile::AeadAes128Gcm, RFC7714_16_1_SRTP);
}

#[test]
fn rfc7714_16_2_aead_aes_256_gcm_srtp() {
    check_rtp(ProtectionProfile::AeadAes256Gcm, RFC7714_16_2_SRTP);
}

#[test]
fn rfc7714_17_1_aead_aes_128_gcm_srtcp() {
    check_rtcp(ProtectionProfile::AeadAes128Gcm, RFC7714_17_1_SRTCP);
}

#[test]
fn rfc7714_17_2_aead_aes_256_gcm_srtcp() {
    check_rtcp(ProtectionProfile::AeadAes256Gcm, RFC7714_17_2_SRTCP);
}

#[test]
fn rfc7714_17_3_and_17_4_srtcp_tagged_not_encrypted() {
    check_rtcp_tag_only(ProtectionProfile::AeadAes128Gcm, RFC7714_17_3_TAG);
    check_rtcp_tag_only(ProtectionProfile::AeadAes256Gcm, RFC7714_17_4_TAG);
}

// ---------------------------------------------------------------------------
// libsrtp test/srtp_driver.c, srtp_validate() and srtp_validate_gcm(): whole
// packets protected from a master key through the KDF, SSRC 0xcafebabe.
// libsrtp sends its first SRTCP packet with index 1.

/// srtp_validate(): master key || master salt (the RFC 3711 B.3 ones).
const LIBSRTP_KEY: &str = "e1f97a0d3e018be0d64fa32c06de4139 0ec675ad498afeebb6960b3aabe6";
const LIBSRTP_RTP: &str = "800f1234decafbad cafebabe abababababababababababababababab";
const LIBSRTP_SRTP_CM80: &str = "800f1234decafbad cafebabe
                                 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb";
const LIBSRTP_RTCP: &str = "81c8000bcafebabe abababababababababababababababab";
const LIBSRTP_SRTCP_CM80: &str = "81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8
                                  80000001 993e08cd54d6c1230798";

/// srtp_validate_gcm(): AES-128-GCM, 16-byte tag, master key || 12-byte salt.
const LIBSRTP_KEY_GCM: &str = "000102030405060708090a0b0c0d0e0f a0a1a2a3a4a5a6a7a8a9aaab";
const LIBSRTP_SRTP_GCM: &str = "800f1234decafbad cafebabe
                                c5002ede04cfdd2eb91159e0880aa06e d2976826f796b201df3131a127e8a392";
const LIBSRTP_SRTCP_GCM: &str = "81c8000bcafebabe c98b8b5df0392a55852b6c21ac8e7025
                                 c52c6fbea2b3b446ea31123ba88ce61e 80000001";

fn libsrtp(profile: ProtectionProfile, key: &str, srtp: &str, srtcp: &str) {
    let k = h(key);
    let n = profile.master_key_len();
    let master = MasterKey::new(profile, &k[..n], &k[n..]).unwrap();
    let c = SrtpConfig::default();
    let mut tx = Protector::new(profile, &master, c).unwrap();
    let mut rx = Unprotector::new(profile, &master, c).unwrap();

    let (plain, expected) = (h(LIBSRTP_RTP), h(srtp));
    let mut buf = vec![0u8; 100];
    buf[..plain.len()].copy_from_slice(&plain);
    let len = tx.protect_rtp(&mut buf, plain.len()).unwrap();
    assert_eq!(&buf[..len], &expected[..], "{profile} SRTP protect");
    let mut wire = expected.clone();
    let len = rx.unprotect_rtp(&mut wire).unwrap();
    assert_eq!(&wire[..len], &plain[..], "{profile} SRTP unprotect");

    let (plain, expected) = (h(LIBSRTP_RTCP), h(srtcp));
    tx.set_next_srtcp_index(0xcafebabe, 1);
    let mut buf = vec![0u8; 100];
    buf[..plain.len()].copy_from_slice(&plain);
    let len = tx.protect_rtcp(&mut buf, plain.len()).unwrap();
    assert_eq!(&buf[..len], &expected[..], "{profile} SRTCP protect");
    let mut wire = expected.clone();
    let len = rx.unprotect_rtcp(&mut wire).unwrap();
    assert_eq!(&wire[..len], &plain[..], "{profile} SRTCP unprotect");
    let s = rx.stats();
    assert_eq!((s.rtp_packets, s.rtcp_packets, s.auth_failures), (1, 1, 0));
}

#[test]
fn libsrtp_srtp_validate_aes_cm_128_hmac_sha1_80() {
    libsrtp(
        ProtectionProfile::Aes128CmHmacSha1_80,
        LIBSRTP_KEY,
        LIBSRTP_SRTP_CM80,
        LIBSRTP_SRTCP_CM80,
    );
}

#[test]
fn libsrtp_srtp_validate_gcm_aes_128_gcm() {
    libsrtp(
        ProtectionProfile::AeadAes128Gcm,
        LIBSRTP_KEY_GCM,
        LIBSRTP_SRTP_GCM,
        LIBSRTP_SRTCP_GCM,
    );
}
