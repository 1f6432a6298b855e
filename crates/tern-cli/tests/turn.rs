//! `tern turn` as an operator runs it, driven by coturn's own test client
//! (`turnutils_uclient`, with `turnutils_peer` as the far end): channels and
//! Send indications over UDP, TCP and TLS with several clients, every
//! message back; clients relaying to each other; the default peer policy
//! refusing loopback; wrong passwords refused.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{serve_with, tern, Proc};

/// coturn's tools, or `None` (with a note) when they are not installed; the
/// test command installs them, so under CI their absence is a failure.
fn coturn_tools() -> Option<()> {
    let have = Command::new("turnutils_uclient")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !have {
        assert!(
            std::env::var_os("CI").is_none(),
            "turnutils_uclient missing under CI (scripts/test installs coturn)"
        );
        eprintln!("skipping: turnutils_uclient is not installed (apt-get install coturn)");
        return None;
    }
    Some(())
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tern-turn-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

struct Server {
    _proc: Proc,
    udp: SocketAddr,
    tcp: SocketAddr,
    tls: Option<SocketAddr>,
}

/// Parses `udp [a], tcp [b], tls [c]` from the start line.
fn listed(line: &str, what: &str) -> Option<SocketAddr> {
    let at = line.find(&format!("{what} ["))? + what.len() + 2;
    let end = line[at..].find(']')? + at;
    line[at..end].split(", ").next()?.parse().ok()
}

fn start(dir: &Path, relay_range: &str, extra: &[&str], tls: bool) -> Server {
    let cfg = dir.join("turn.toml");
    // uclient never deallocates; its allocations live out their lifetime.
    std::fs::write(
        &cfg,
        "max_allocations_per_user = 200\nmax_allocations_per_ip = 200\n",
    )
    .unwrap();
    let mut cmd = tern();
    cmd.args([
        "turn",
        "--listen",
        "127.0.0.1:0",
        "--tcp-listen",
        "127.0.0.1:0",
    ])
    .arg("--config")
    .arg(&cfg)
    .args([
        "--user",
        "u:p",
        "--realm",
        "test",
        "--relay-range",
        relay_range,
    ])
    .args(extra);
    if tls {
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let ok = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args(["-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success());
        cmd.args(["--tls-listen", "127.0.0.1:0", "--tls-cert"])
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key);
    }
    let mut c = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(c.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let proc = Proc(c);
    Server {
        udp: listed(&line, "udp").unwrap_or_else(|| panic!("{line}")),
        tcp: listed(&line, "tcp").unwrap_or_else(|| panic!("{line}")),
        tls: listed(&line, "tls"),
        _proc: proc,
    }
}

/// `turnutils_peer` on a free port: it echoes what reaches it.
fn peer() -> (Proc, u16) {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = Command::new("turnutils_peer")
        .args(["-L", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    (Proc(p), port)
}

/// Runs uclient; returns (success, sent, received, output).
fn uclient(
    flags: &[&str],
    server: SocketAddr,
    peer_port: u16,
    pass: &str,
) -> (bool, u64, u64, String) {
    let out = Command::new("timeout")
        .arg("60")
        .arg("turnutils_uclient")
        .args(flags)
        .args(["-m", "4", "-n", "50", "-l", "170", "-u", "u", "-w", pass])
        .args(["-e", "127.0.0.1", "-r", &peer_port.to_string()])
        .args(["-p", &server.port().to_string(), "127.0.0.1"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let num = |key: &str| -> u64 {
        text.lines()
            .rev()
            .find_map(|l| {
                let at = l.find(key)? + key.len();
                l[at..]
                    .split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or(0)
    };
    let (sent, got) = (num("tot_send_msgs="), num("tot_recv_msgs="));
    (out.status.success(), sent, got, text)
}

#[test]
fn coturns_client_relays_every_message_over_udp_tcp_and_tls() {
    let Some(()) = coturn_tools() else { return };
    let d = tmp("relay");
    let s = start(&d, "42000-42400", &["--allow-peer", "127.0.0.1/32"], true);
    let (_p, port) = peer();
    let tls = s.tls.expect("a TLS listener");
    for (flags, server) in [
        (&[][..], s.udp),
        (&["-s"][..], s.udp),
        (&["-t"][..], s.tcp),
        (&["-t", "-s"][..], s.tcp),
        (&["-t", "-S"][..], tls),
    ] {
        let (ok, sent, got, text) = uclient(flags, server, port, "p");
        assert!(ok, "{flags:?}: {text}");
        // 4 clients (each with RTP and RTCP allocations), 50 messages each.
        assert!(sent >= 200, "{flags:?}: {text}");
        assert_eq!(got, sent, "{flags:?}: every message back: {text}");
        assert!(text.contains("Total lost packets 0 "), "{flags:?}: {text}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn loopback_peers_are_denied_by_default_and_wrong_passwords_refused() {
    let Some(()) = coturn_tools() else { return };
    let d = tmp("deny");
    let s = start(&d, "42500-42600", &[], false);
    let (_p, port) = peer();
    let (ok, _, got, text) = uclient(&[], s.udp, port, "p");
    assert!(!ok && got == 0, "a loopback peer must be refused: {text}");
    assert!(text.contains("403"), "{text}");
    // Clients of this server reach each other relay to relay (-y) without
    // any allow-list: the relay range of its own address is open.
    let (ok, sent, got, text) = uclient(&["-y"], s.udp, port, "p");
    assert!(ok && sent >= 200 && got == sent, "relay to relay: {text}");
    let (ok, _, got, text) = uclient(&[], s.udp, port, "wrong");
    assert!(!ok && got == 0, "{text}");
    // uclient reports the failed credential retry as a failed allocation.
    assert!(
        text.contains("Cannot complete Allocation") || text.contains("401"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// `tern serve --turn`: the relay runs on the STUN address, `/config` hands
/// out `turn:` URLs over UDP and TCP with fresh time-limited credentials,
/// and those credentials relay (client to client, through coturn's client).
#[test]
fn serve_with_turn_hands_out_credentials_that_relay() {
    let Some(()) = coturn_tools() else { return };
    let (_server, url, line) = serve_with(&[
        "--stun-listen",
        "127.0.0.1:0",
        "--turn",
        "--relay-range",
        "42700-42800",
    ]);
    assert!(line.contains("STUN and TURN on udp"), "{line}");
    let http: SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    let r = get(http, "/config");
    let body = &r[r.find('{').unwrap()..=r.rfind('}').unwrap()];
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    let turn = v["iceServers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["username"].is_string())
        .unwrap_or_else(|| panic!("{v}"));
    let urls: Vec<&str> = turn["urls"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u.as_str())
        .collect();
    assert!(urls.iter().any(|u| u.ends_with("?transport=udp")), "{v}");
    assert!(urls.iter().any(|u| u.ends_with("?transport=tcp")), "{v}");
    let user = turn["username"].as_str().unwrap();
    let expiry: u64 = user.split(':').next().unwrap().parse().unwrap();
    #[allow(clippy::disallowed_methods)] // compares with the real clock the server used
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(expiry > now && expiry <= now + 24 * 3600, "{user}");
    let port: u16 = urls[0]
        .rsplit(':')
        .next()
        .and_then(|p| p.split('?').next())
        .and_then(|p| p.parse().ok())
        .unwrap();
    let out = Command::new("timeout")
        .arg("60")
        .arg("turnutils_uclient")
        .args(["-y", "-m", "2", "-n", "30", "-l", "170", "-u", user])
        .args(["-w", turn["credential"].as_str().unwrap()])
        .args(["-p", &port.to_string(), "127.0.0.1"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Total lost packets 0 "), "{text}");
    // What was relayed shows in /metrics.
    let metrics = get(http, "/metrics");
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} missing in {metrics}"))
    };
    assert!(
        value("tern_turn_allocations_created_total") >= 2,
        "{metrics}"
    );
    assert!(value("tern_turn_channels_bound_total") >= 2, "{metrics}");
    assert!(
        value("tern_turn_client_to_peer_packets_total") >= 60,
        "{metrics}"
    );
    assert_eq!(value("tern_turn_auth_failures_total"), 0, "{metrics}");
}

/// The body of an HTTP/1.1 GET.
fn get(addr: SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut r = String::new();
    s.read_to_string(&mut r).unwrap();
    r[r.find("\r\n\r\n").map_or(0, |i| i + 4)..].to_string()
}

/// `tern send`/`recv` take the ICE servers `tern serve --turn` hands out at
/// `/config`: both peers allocate on the relay with the fresh credentials
/// (on loopback the direct path still carries the transfer; the relay's
/// policy refuses loopback peers).
#[test]
fn send_and_recv_allocate_on_the_servers_relay() {
    let (_server, url, _) = serve_with(&[
        "--stun-listen",
        "127.0.0.1:0",
        "--turn",
        "--relay-range",
        "42900-42950",
    ]);
    let sender = tern()
        .args([
            "send",
            "--text",
            "through the relay's credentials",
            "--code",
            "5-turn-test",
        ])
        .args(["--wait", "1", "--server", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let r = tern()
        .args(["recv", "5-turn-test", "--server", &url, "--yes"])
        .output()
        .unwrap();
    let s = sender.wait_with_output().unwrap();
    assert!(
        r.status.success() && s.status.success(),
        "send: {}\nrecv: {}",
        String::from_utf8_lossy(&s.stderr),
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(String::from_utf8_lossy(&r.stdout).contains("through the relay's credentials"));
    let http: SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    let metrics = get(http, "/metrics");
    let allocations = metrics
        .lines()
        .find_map(|l| l.strip_prefix("tern_turn_allocations_created_total "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(allocations >= 2, "both peers allocated: {metrics}");
    let failures = metrics
        .lines()
        .find_map(|l| l.strip_prefix("tern_turn_auth_failures_total "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap();
    assert_eq!(failures, 0, "{metrics}");
}
