//! A DTLS 1.2 endpoint over UDP, compatible with `openssl s_server` and
//! `openssl s_client`.
//!
//! ```text
//! dtls --listen 127.0.0.1:4433 [options]     # server: echoes application data
//! dtls --connect 127.0.0.1:4433 [options]    # client: sends stdin lines, prints replies
//!
//! --cert FILE --key FILE         PEM certificate and key (default: a fresh self-signed one)
//! --fingerprint AB:CD:…          the peer's SHA-256 fingerprint (default: accept any, with a warning)
//! --mtu N                        largest datagram (default 1200)
//! --cipher NAME[:NAME…]          OpenSSL suite names (default: all three)
//! --srtp-profiles NAME[:NAME…]   OpenSSL SRTP profile names (default: all three)
//! --export-keying-material LEN   print LEN bytes of EXTRACTOR-dtls_srtp in hex after the handshake
//! --once                         server: exit after the first peer closes
//! ```
#![allow(clippy::disallowed_methods)] // a driver: real sockets, real time

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use tern_crypto::cert::{Certificate, Fingerprint};
use tern_crypto::OsRandom;
use tern_dtls::{CipherSuite, Dtls, DtlsConfig, DtlsEvent, SrtpProfile};

struct Opts {
    listen: Option<SocketAddr>,
    connect: Option<SocketAddr>,
    config: DtlsConfig,
    fingerprint: Option<Fingerprint>,
    export: Option<usize>,
    once: bool,
}

fn parse_args() -> Result<Opts, String> {
    let mut args = std::env::args().skip(1);
    let (mut listen, mut connect, mut cert, mut key, mut fp) = (None, None, None, None, None);
    let (mut mtu, mut ciphers, mut profiles, mut export, mut once) =
        (None, None, None, None, false);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--listen" => {
                listen = Some(
                    val()?
                        .parse::<SocketAddr>()
                        .map_err(|e| format!("--listen: {e}"))?,
                )
            }
            "--connect" => {
                connect = Some(
                    val()?
                        .parse::<SocketAddr>()
                        .map_err(|e| format!("--connect: {e}"))?,
                )
            }
            "--cert" => cert = Some(val()?),
            "--key" => key = Some(val()?),
            "--fingerprint" => {
                fp = Some(
                    val()?
                        .parse::<Fingerprint>()
                        .map_err(|e| format!("--fingerprint: {e}"))?,
                )
            }
            "--mtu" => mtu = Some(val()?.parse::<usize>().map_err(|e| format!("--mtu: {e}"))?),
            "--cipher" => ciphers = Some(val()?),
            "--srtp-profiles" => profiles = Some(val()?),
            "--export-keying-material" => {
                export = Some(
                    val()?
                        .parse::<usize>()
                        .map_err(|e| format!("--export-keying-material: {e}"))?,
                )
            }
            "--once" => once = true,
            _ => return Err(format!("unknown option {a}")),
        }
    }
    if listen.is_some() == connect.is_some() {
        return Err("give exactly one of --listen ADDR or --connect ADDR".into());
    }
    let certificate = match (cert, key) {
        (Some(c), Some(k)) => {
            let c = std::fs::read_to_string(&c).map_err(|e| format!("cannot read {c}: {e}"))?;
            let k = std::fs::read_to_string(&k).map_err(|e| format!("cannot read {k}: {e}"))?;
            Certificate::from_pem(&c, &k).map_err(|e| e.to_string())?
        }
        (None, None) => {
            Certificate::generate_self_signed(&mut OsRandom).map_err(|e| e.to_string())?
        }
        _ => return Err("--cert and --key go together".into()),
    };
    eprintln!("our fingerprint: sha-256 {}", certificate.fingerprint());
    let mut config = DtlsConfig::new(Arc::new(certificate));
    if let Some(m) = mtu {
        config.mtu = m;
    }
    if let Some(c) = ciphers {
        config.cipher_suites = c
            .split(':')
            .map(|n| {
                CipherSuite::ALL
                    .into_iter()
                    .find(|s| s.openssl_name() == n)
                    .ok_or_else(|| format!("unknown cipher {n}"))
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(p) = profiles {
        config.srtp_profiles = p
            .split(':')
            .map(|n| {
                SrtpProfile::ALL
                    .into_iter()
                    .find(|s| s.openssl_name() == n)
                    .ok_or_else(|| format!("unknown SRTP profile {n}"))
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(Opts {
        listen,
        connect,
        config,
        fingerprint: fp,
        export,
        once,
    })
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}\n(see the top of examples/dtls.rs for usage)");
            return ExitCode::from(2);
        }
    };
    let result = if let Some(addr) = opts.connect {
        client(addr, &opts)
    } else {
        server(&opts)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Handles one endpoint's events; returns false once it is finished.
fn report(dtls: &mut Dtls, opts: &Opts, peer: SocketAddr, echo: bool) -> Result<bool, String> {
    if !dtls.has_remote_fingerprint() {
        if let Some(fp) = dtls.peer_certificate_fingerprint() {
            eprintln!("warning: not verifying {peer}: accepting its certificate sha-256 {fp}");
            dtls.set_remote_fingerprint(fp);
        }
    }
    while let Some(e) = dtls.poll_event() {
        match e {
            DtlsEvent::Connected {
                cipher_suite,
                srtp_profile,
                peer_fingerprint,
                ..
            } => {
                eprintln!(
                    "connected to {peer}: {} srtp {:?} peer sha-256 {peer_fingerprint}",
                    cipher_suite.openssl_name(),
                    srtp_profile.map(|p| p.openssl_name())
                );
                if let Some(len) = opts.export {
                    let km = dtls
                        .export_keying_material(b"EXTRACTOR-dtls_srtp", len)
                        .map_err(|e| e.to_string())?;
                    println!(
                        "Keying material: {}",
                        km.iter().map(|b| format!("{b:02X}")).collect::<String>()
                    );
                }
            }
            DtlsEvent::ApplicationData(d) => {
                if echo {
                    dtls.send_application_data(&d).map_err(|e| e.to_string())?;
                } else {
                    std::io::stdout().write_all(&d).map_err(|e| e.to_string())?;
                    std::io::stdout().flush().map_err(|e| e.to_string())?;
                }
            }
            DtlsEvent::Closed => {
                eprintln!("{peer} closed the connection");
                return Ok(false);
            }
            DtlsEvent::Failed(e) => return Err(format!("{peer}: {e}")),
            _ => {}
        }
    }
    Ok(true)
}

fn pump(socket: &UdpSocket, dtls: &mut Dtls, to: SocketAddr) {
    while let Some(d) = dtls.poll_transmit() {
        let _ = socket.send_to(&d, to);
    }
}

fn client(server: SocketAddr, opts: &Opts) -> Result<(), String> {
    let socket = UdpSocket::bind(if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    })
    .map_err(|e| e.to_string())?;
    let mut dtls = Dtls::new_client(
        opts.config.clone(),
        Box::new(OsRandom),
        opts.fingerprint,
        Instant::now(),
    );
    let (tx, rx) = mpsc::channel::<Option<Vec<u8>>>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(mut l) = line else { break };
            l.push('\n');
            if tx.send(Some(l.into_bytes())).is_err() {
                return;
            }
        }
        let _ = tx.send(None);
    });
    let mut buf = vec![0u8; 65536];
    let mut stdin_done = false;
    let mut close_at: Option<Instant> = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = Instant::now();
        if dtls.poll_timeout().is_some_and(|t| t <= now) {
            dtls.handle_timeout(now);
        }
        pump(&socket, &mut dtls, server);
        if !report(&mut dtls, opts, server, false)? {
            return Ok(());
        }
        if !dtls.is_connected() && now > deadline {
            return Err(format!(
                "no DTLS handshake with {server} within 30 s: is a server listening there?"
            ));
        }
        if dtls.is_connected() && !stdin_done {
            while let Ok(msg) = rx.try_recv() {
                match msg {
                    Some(m) => dtls.send_application_data(&m).map_err(|e| e.to_string())?,
                    None => {
                        stdin_done = true;
                        close_at = Some(now + Duration::from_millis(500)); // let the last echoes arrive
                    }
                }
            }
            pump(&socket, &mut dtls, server);
        }
        if close_at.is_some_and(|t| now >= t) {
            dtls.close();
            pump(&socket, &mut dtls, server);
            return Ok(());
        }
        socket
            .set_read_timeout(Some(Duration::from_millis(10)))
            .map_err(|e| e.to_string())?;
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            if from == server {
                dtls.handle_receive(Instant::now(), &buf[..n]);
            }
        }
    }
}

fn server(opts: &Opts) -> Result<(), String> {
    let addr = opts.listen.ok_or("no --listen")?;
    let socket = UdpSocket::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    eprintln!(
        "listening on {}",
        socket.local_addr().map_err(|e| e.to_string())?
    );
    let mut peers: HashMap<SocketAddr, Dtls> = HashMap::new();
    let mut buf = vec![0u8; 65536];
    loop {
        socket
            .set_read_timeout(Some(Duration::from_millis(10)))
            .map_err(|e| e.to_string())?;
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            if !peers.contains_key(&from) && peers.len() < 1024 {
                let d = Dtls::new_server(
                    opts.config.clone(),
                    Box::new(OsRandom),
                    opts.fingerprint,
                    from.to_string().as_bytes(),
                );
                peers.insert(from, d);
            }
            if let Some(d) = peers.get_mut(&from) {
                d.handle_receive(Instant::now(), &buf[..n]);
            }
        }
        let now = Instant::now();
        let mut finished = Vec::new();
        for (peer, d) in peers.iter_mut() {
            if d.poll_timeout().is_some_and(|t| t <= now) {
                d.handle_timeout(now);
            }
            match report(d, opts, *peer, true) {
                Ok(true) => {}
                Ok(false) => finished.push(*peer),
                Err(e) => {
                    eprintln!("error: {e}");
                    finished.push(*peer);
                }
            }
            pump(&socket, d, *peer);
        }
        for p in finished {
            peers.remove(&p);
            if opts.once {
                return Ok(());
            }
        }
    }
}
