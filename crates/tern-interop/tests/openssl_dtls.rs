//! DTLS 1.2 interop with OpenSSL over UDP on 127.0.0.1, both roles, every
//! cipher suite and SRTP profile, client certificates both ways, and the
//! exported SRTP keying material compared with what OpenSSL prints.
#![allow(clippy::disallowed_methods)] // real sockets, real time

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tern_crypto::cert::Certificate;
use tern_crypto::ecdh::Group;
use tern_crypto::OsRandom;
use tern_dtls::{CipherSuite, Dtls, DtlsConfig, DtlsEvent, SrtpProfile};
use tern_interop::{drive_dtls, free_udp_port, require_binary, Peer};

struct Files {
    dir: std::path::PathBuf,
}

impl Files {
    fn new(tag: &str) -> Files {
        let dir = std::env::temp_dir().join(format!("tern-dtls-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Files { dir }
    }
    fn write_cert(&self, name: &str, c: &Certificate) -> (String, String) {
        let cert = self.dir.join(format!("{name}.pem"));
        let key = self.dir.join(format!("{name}.key"));
        std::fs::write(&cert, c.cert_pem()).unwrap();
        std::fs::write(&key, c.key_pem()).unwrap();
        (cert.display().to_string(), key.display().to_string())
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The hex after "Keying material: " in OpenSSL's output.
fn openssl_keying_material(out: &str) -> Option<Vec<u8>> {
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("Keying material:"))?;
    hex_decode(line.split(':').nth(1)?.trim())
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn connected_keys(
    events: &[DtlsEvent],
) -> Option<(CipherSuite, Option<SrtpProfile>, Option<Vec<u8>>)> {
    events.iter().find_map(|e| match e {
        DtlsEvent::Connected {
            cipher_suite,
            srtp_profile,
            srtp_keying_material,
            ..
        } => Some((*cipher_suite, *srtp_profile, srtp_keying_material.clone())),
        _ => None,
    })
}

/// OpenSSL's -groups list. P-256 is always there: OpenSSL insists that the
/// peer certificate's curve be among the groups it offers (RFC 8422 §5.1.1).
fn group_name(g: Group) -> &'static str {
    match g {
        Group::X25519 => "X25519:P-256",
        _ => "P-256",
    }
}

fn cases() -> Vec<(CipherSuite, SrtpProfile, Group)> {
    let mut v = Vec::new();
    for s in CipherSuite::ALL {
        for p in SrtpProfile::ALL {
            v.push((s, p, Group::X25519));
        }
    }
    v.push((
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        SrtpProfile::AeadAes128Gcm,
        Group::P256,
    ));
    v
}

#[test]
fn tern_client_against_openssl_s_server() {
    let openssl = require_binary("openssl", "openssl");
    let mut rng = OsRandom;
    let server_cert = Certificate::generate_self_signed(&mut rng).unwrap();
    let client_cert = Arc::new(Certificate::generate_self_signed(&mut rng).unwrap());
    let files = Files::new("s_server");
    let (cert, key) = files.write_cert("server", &server_cert);
    for (suite, profile, group) in cases() {
        let port = free_udp_port();
        let len = profile.keying_material_len();
        let args: Vec<String> = [
            "s_server",
            "-dtls1_2",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-cert",
            &cert,
            "-key",
            &key,
            "-cipher",
            suite.openssl_name(),
            "-groups",
            group_name(group),
            "-use_srtp",
            profile.openssl_name(),
            "-keymatexport",
            "EXTRACTOR-dtls_srtp",
            "-keymatexportlen",
            &len.to_string(),
            "-Verify",
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // s_server quits when its stdin closes: keep a pipe open.
        let server = Peer::start_with_stdin("s_server", &openssl, &args, Stdio::piped());
        assert!(
            server.wait_for("ACCEPT", Duration::from_secs(5)),
            "s_server did not start: {}",
            server.output()
        );

        let mut cfg = DtlsConfig::new(client_cert.clone());
        cfg.cipher_suites = vec![suite];
        cfg.srtp_profiles = vec![profile];
        cfg.groups = vec![group];
        let mut dtls = Dtls::new_client(
            cfg,
            Box::new(OsRandom),
            Some(server_cert.fingerprint()),
            Instant::now(),
        );
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut peer: Option<SocketAddr> = Some(format!("127.0.0.1:{port}").parse().unwrap());
        let events = drive_dtls(
            &socket,
            &mut peer,
            &mut dtls,
            Duration::from_secs(10),
            |e| connected_keys(e).is_some() || e.iter().any(|x| matches!(x, DtlsEvent::Failed(_))),
        );
        let (got_suite, got_profile, ours) = connected_keys(&events).unwrap_or_else(|| {
            panic!(
                "{suite:?}/{profile:?}/{group:?}: {events:?}\n{}",
                server.output()
            )
        });
        assert_eq!((got_suite, got_profile), (suite, Some(profile)));
        dtls.send_application_data(b"hello from tern\n").unwrap();
        drive_dtls(
            &socket,
            &mut peer,
            &mut dtls,
            Duration::from_millis(200),
            |_| false,
        );
        assert!(
            server.wait_for("hello from tern", Duration::from_secs(5)),
            "{}",
            server.output()
        );
        let theirs = openssl_keying_material(&server.output())
            .unwrap_or_else(|| panic!("no keying material in {}", server.output()));
        assert_eq!(
            ours.unwrap(),
            theirs,
            "{suite:?}/{profile:?}: exported SRTP keys differ from OpenSSL's"
        );
        dtls.close();
        drive_dtls(
            &socket,
            &mut peer,
            &mut dtls,
            Duration::from_millis(50),
            |_| false,
        );
    }
}

#[test]
fn openssl_s_client_against_tern_server() {
    let openssl = require_binary("openssl", "openssl");
    let mut rng = OsRandom;
    let server_cert = Arc::new(Certificate::generate_self_signed(&mut rng).unwrap());
    let client_cert = Certificate::generate_self_signed(&mut rng).unwrap();
    let files = Files::new("s_client");
    let (cert, key) = files.write_cert("client", &client_cert);
    for (suite, profile, group) in cases() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        let len = profile.keying_material_len();
        let args: Vec<String> = [
            "s_client",
            "-dtls1_2",
            "-connect",
            &addr.to_string(),
            "-cert",
            &cert,
            "-key",
            &key,
            "-cipher",
            suite.openssl_name(),
            "-groups",
            group_name(group),
            "-use_srtp",
            profile.openssl_name(),
            "-keymatexport",
            "EXTRACTOR-dtls_srtp",
            "-keymatexportlen",
            &len.to_string(),
            "-ign_eof",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut client = Peer::start_with_stdin("s_client", &openssl, &args, Stdio::piped());
        let mut cfg = DtlsConfig::new(server_cert.clone());
        cfg.srtp_profiles = vec![profile];
        let mut dtls = Dtls::new_server(
            cfg,
            Box::new(OsRandom),
            Some(client_cert.fingerprint()),
            addr.to_string().as_bytes(),
        );
        let mut peer = None;
        let events = drive_dtls(
            &socket,
            &mut peer,
            &mut dtls,
            Duration::from_secs(10),
            |e| connected_keys(e).is_some() || e.iter().any(|x| matches!(x, DtlsEvent::Failed(_))),
        );
        let (got_suite, got_profile, ours) = connected_keys(&events).unwrap_or_else(|| {
            panic!(
                "{suite:?}/{profile:?}/{group:?}: {events:?} {dtls:?}\n{}",
                client.output()
            )
        });
        assert_eq!((got_suite, got_profile), (suite, Some(profile)));
        // s_client sends its stdin lines; we echo them.
        client.stdin().write_all(b"ping from openssl\n").unwrap();
        let events = drive_dtls(&socket, &mut peer, &mut dtls, Duration::from_secs(5), |e| {
            e.iter().any(|x| matches!(x, DtlsEvent::ApplicationData(_)))
        });
        let data = events.iter().find_map(|e| match e {
            DtlsEvent::ApplicationData(d) => Some(d.clone()),
            _ => None,
        });
        assert_eq!(data.as_deref(), Some(&b"ping from openssl\n"[..]));
        dtls.send_application_data(b"echo from tern\n").unwrap();
        drive_dtls(
            &socket,
            &mut peer,
            &mut dtls,
            Duration::from_millis(100),
            |_| false,
        );
        assert!(
            client.wait_for("echo from tern", Duration::from_secs(5)),
            "{}",
            client.output()
        );
        let theirs = openssl_keying_material(&client.output())
            .unwrap_or_else(|| panic!("no keying material in {}", client.output()));
        assert_eq!(
            ours.unwrap(),
            theirs,
            "{suite:?}/{profile:?}: exported SRTP keys differ from OpenSSL's"
        );
    }
}
