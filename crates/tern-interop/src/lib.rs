//! Helpers for interop tests against real peers: finding their binaries,
//! starting them on loopback, and stopping them (by the PID we started).
//!
//! The tests fail with a clear message when a peer is missing: run
//! `scripts/test`, which installs them, rather than skipping silently.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Interop tests drive real processes and sockets in real time.
#![allow(clippy::disallowed_methods)]

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod browser;

/// Finds `name` on PATH or panics with what to do.
pub fn require_binary(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("`{name}` is not installed: run scripts/test (it installs the Debian package `{package}`), or apt-get install {package}");
}

/// A free UDP port on 127.0.0.1 (free when asked; good enough for tests).
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// A child process that is killed (by its PID, which we started) when dropped.
pub struct Peer {
    child: Child,
    /// What it is, for messages.
    pub name: String,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
}

impl Peer {
    /// Starts `program` with `args`, output to a log file in the temp dir.
    pub fn start(name: &str, program: &PathBuf, args: &[String]) -> Peer {
        Self::start_with_stdin(name, program, args, Stdio::null())
    }

    /// Starts it with the given standard input.
    pub fn start_with_stdin(name: &str, program: &PathBuf, args: &[String], stdin: Stdio) -> Peer {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = std::env::temp_dir().join(format!(
            "tern-interop-{name}-{}-{n}.log",
            std::process::id()
        ));
        let out = std::fs::File::create(&log).expect("create log file");
        let child = Command::new(program)
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::from(out.try_clone().expect("dup log")))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        Peer {
            child,
            name: name.to_string(),
            log,
        }
    }

    /// Everything it has printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits up to `max` for its output to contain `needle`.
    pub fn wait_for(&self, needle: &str, max: Duration) -> bool {
        let deadline = Instant::now() + max;
        while Instant::now() < deadline {
            if self.output().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// Its standard input (when started with a piped one).
    pub fn stdin(&mut self) -> &mut std::process::ChildStdin {
        self.child
            .stdin
            .as_mut()
            .expect("started with a piped stdin")
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `max` for it to exit; its status, or `None` if it still runs.
    pub fn wait_exit(&mut self, max: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + max;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Drives a DTLS endpoint over a UDP socket until `done` holds or `max`
/// passes. `peer` is where to send; `None` (a server) learns it from the
/// first datagram. Returns every event seen.
pub fn drive_dtls(
    socket: &UdpSocket,
    peer: &mut Option<SocketAddr>,
    dtls: &mut tern_dtls::Dtls,
    max: Duration,
    mut done: impl FnMut(&[tern_dtls::DtlsEvent]) -> bool,
) -> Vec<tern_dtls::DtlsEvent> {
    let deadline = Instant::now() + max;
    let mut events = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        if let Some(p) = *peer {
            while let Some(d) = dtls.poll_transmit() {
                let _ = socket.send_to(&d, p);
            }
        }
        while let Some(e) = dtls.poll_event() {
            events.push(e);
        }
        if done(&events) || Instant::now() >= deadline {
            return events;
        }
        let now = Instant::now();
        let wake = dtls.poll_timeout().unwrap_or(deadline).min(deadline);
        let wait = wake
            .saturating_duration_since(now)
            .clamp(Duration::from_millis(1), Duration::from_millis(20));
        socket
            .set_read_timeout(Some(wait))
            .expect("set_read_timeout");
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            if peer.is_none() {
                *peer = Some(from);
            }
            if Some(from) == *peer {
                dtls.handle_receive(Instant::now(), &buf[..n]);
            }
        }
        let now = Instant::now();
        if dtls.poll_timeout().is_some_and(|t| t <= now) {
            dtls.handle_timeout(now);
        }
    }
}

/// Starts coturn on 127.0.0.1:`port` with the loopback recipe from the
/// interop guide (long-term credentials u:p, realm "test").
pub fn start_coturn(port: u16) -> Peer {
    let bin = require_binary("turnserver", "coturn");
    let args: Vec<String> = [
        "-n",
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        &format!("--listening-port={port}"),
        "--min-port=49152",
        "--max-port=49200",
        "--user=u:p",
        "--realm=test",
        "--lt-cred-mech",
        "--no-tls",
        "--no-dtls",
        "--allow-loopback-peers",
        "--no-cli",
        "--log-file=stdout",
        "--simple-log",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    Peer::start("coturn", &bin, &args)
}

/// Sends one datagram to `server` and waits up to `wait` for a reply,
/// retrying until `total` passes (servers take a moment to start).
pub fn request(
    socket: &UdpSocket,
    server: SocketAddr,
    data: &[u8],
    wait: Duration,
    total: Duration,
) -> Option<Vec<u8>> {
    let deadline = Instant::now() + total;
    let mut buf = vec![0u8; 2048];
    socket.set_read_timeout(Some(wait)).ok()?;
    while Instant::now() < deadline {
        socket.send_to(data, server).ok()?;
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            if from == server {
                return Some(buf[..n].to_vec());
            }
        }
    }
    None
}
