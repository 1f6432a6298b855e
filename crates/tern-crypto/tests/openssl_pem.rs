//! Certificates and keys written by OpenSSL load, and our fingerprint equals
//! the one `openssl x509 -fingerprint -sha256` printed when the fixture was made.

use tern_crypto::cert::{Certificate, Fingerprint};

#[test]
fn loads_openssl_sec1_key_and_matches_its_fingerprint() {
    let cert = include_str!("fixtures/openssl-cert.pem");
    let key = include_str!("fixtures/openssl-ec-key.pem");
    let expected: Fingerprint = include_str!("fixtures/openssl-cert.sha256")
        .parse()
        .unwrap();
    let c = Certificate::from_pem(cert, key).unwrap();
    assert_eq!(c.fingerprint(), expected);
}

#[test]
fn public_key_of_an_openssl_certificate() {
    let cert = include_str!("fixtures/openssl-cert.pem");
    let key = include_str!("fixtures/openssl-ec-key.pem");
    let c = Certificate::from_pem(cert, key).unwrap();
    let pk = tern_crypto::cert::p256_public_key_from_der(c.der()).unwrap();
    assert_eq!(pk, c.signing_key().public_key());
}
