//! Two ICE agents in two processes on 127.0.0.1 exchange candidates through
//! files, connect, and print the selected pair and its round-trip time.
//!
//! ```text
//! cargo run -p tern-ice --example ice              # spawns the answerer itself
//! cargo run -p tern-ice --example ice -- offer  DIR   # terminal 1
//! cargo run -p tern-ice --example ice -- answer DIR   # terminal 2
//! ```
//! Options: `--stun HOST:PORT` adds a STUN server for server-reflexive
//! candidates; `--bind ADDR` picks the local address (default 127.0.0.1:0).
#![allow(clippy::disallowed_methods)] // a driver: real sockets, real time

#[path = "../tests/udp_driver/mod.rs"]
mod udp_driver;

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use tern_crypto::OsRandom;
use tern_ice::{Candidate, Credentials, IceAgent, IceConfig, IceEvent};
use udp_driver::UdpDriver;

fn usage() -> ExitCode {
    eprintln!("usage: ice [offer DIR | answer DIR] [--stun HOST:PORT] [--bind ADDR]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut stun = Vec::new();
    let mut bind = "127.0.0.1:0".to_string();
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--stun" => match it.next().and_then(|s| s.parse::<SocketAddr>().ok()) {
                Some(s) => stun.push(s),
                None => return usage(),
            },
            "--bind" => match it.next() {
                Some(b) => bind = b.clone(),
                None => return usage(),
            },
            "-h" | "--help" => return usage(),
            _ => positional.push(a.clone()),
        }
    }
    let result = match positional.as_slice() {
        [] => pair(&stun, &bind),
        [role, dir] if role == "offer" || role == "answer" => {
            run(role == "offer", Path::new(dir), &stun, &bind)
        }
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the answerer as a child process and the offerer here.
fn pair(stun: &[SocketAddr], bind: &str) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("tern-ice-{}", std::process::id()));
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(exe);
    cmd.arg("answer").arg(&dir).arg("--bind").arg(bind);
    for s in stun {
        cmd.arg("--stun").arg(s.to_string());
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the answerer: {e}"))?;
    let result = run(true, &dir, stun, bind);
    let status = child.wait().map_err(|e| e.to_string())?;
    let _ = fs::remove_dir_all(&dir);
    result?;
    if !status.success() {
        return Err(format!("the answerer process failed ({status})"));
    }
    Ok(())
}

fn describe(creds: &Credentials, cands: &[Candidate]) -> String {
    let mut s = format!("ice-ufrag:{}\nice-pwd:{}\n", creds.ufrag, creds.pwd);
    for c in cands {
        s.push_str(&format!("{c}\n"));
    }
    s.push_str("end-of-candidates\n");
    s
}

fn parse(text: &str) -> Result<(Credentials, Vec<Candidate>), String> {
    let mut ufrag = None;
    let mut pwd = None;
    let mut cands = Vec::new();
    for line in text.lines() {
        if let Some(u) = line.strip_prefix("ice-ufrag:") {
            ufrag = Some(u.to_string());
        } else if let Some(p) = line.strip_prefix("ice-pwd:") {
            pwd = Some(p.to_string());
        } else if line.starts_with("candidate:") {
            cands.push(line.parse::<Candidate>().map_err(|e| e.to_string())?);
        }
    }
    let creds = Credentials {
        ufrag: ufrag.ok_or("no ice-ufrag line")?,
        pwd: pwd.ok_or("no ice-pwd line")?,
    };
    creds.validate()?;
    Ok((creds, cands))
}

/// Waits for `path` to hold a complete description (ends with end-of-candidates).
fn wait_for(path: &Path, max: Duration) -> Result<String, String> {
    let deadline = Instant::now() + max;
    loop {
        if let Ok(text) = fs::read_to_string(path) {
            if text.ends_with("end-of-candidates\n") {
                return Ok(text);
            }
        }
        if Instant::now() > deadline {
            return Err(format!(
                "nothing arrived in {} within {max:?}: is the other side running?",
                path.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn write_atomically(path: &PathBuf, text: &str) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text)
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn run(offer: bool, dir: &Path, stun: &[SocketAddr], bind: &str) -> Result<(), String> {
    let name = if offer { "offerer" } else { "answerer" };
    let config = IceConfig {
        controlling: offer,
        stun_servers: stun.to_vec(),
        ..IceConfig::default()
    };
    let agent = IceAgent::new(config, Box::new(OsRandom));
    let mut d = UdpDriver::bind(bind, agent).map_err(|e| format!("cannot bind {bind}: {e}"))?;
    let local = d.local;
    d.agent.gather(Instant::now(), &[local]);
    d.run_until(Duration::from_secs(30), |d| {
        d.events.contains(&IceEvent::EndOfLocalCandidates)
    })
    .map_err(|e| e.to_string())?;
    let ours: Vec<Candidate> = d.agent.local_candidates().cloned().collect();
    let (mine, theirs) = if offer {
        ("offer", "answer")
    } else {
        ("answer", "offer")
    };
    write_atomically(
        &dir.join(mine),
        &describe(d.agent.local_credentials(), &ours),
    )?;
    let (creds, cands) = parse(&wait_for(&dir.join(theirs), Duration::from_secs(30))?)?;
    let now = Instant::now();
    d.agent.set_remote_credentials(now, creds);
    for c in cands {
        d.agent.add_remote_candidate(now, c);
    }
    d.agent.set_remote_end_of_candidates(now);
    let t0 = Instant::now();
    let ok = d
        .run_until(Duration::from_secs(10), |d| d.connected())
        .map_err(|e| e.to_string())?;
    if !ok {
        return Err(format!(
            "{name}: ICE did not connect within 10 s (state {:?})",
            d.agent.connection_state()
        ));
    }
    let setup = t0.elapsed();
    // Let a consent check or two measure the round trip on the selected pair.
    d.run_until(Duration::from_millis(2500), |_| false)
        .map_err(|e| e.to_string())?;
    let (l, r) = d.agent.selected_pair().ok_or("lost the selected pair")?;
    let stats = d.agent.selected_pair_stats().unwrap_or_default();
    let rtt = stats
        .current_round_trip_time
        .map_or("unmeasured".to_string(), |r| {
            format!("{:.3} ms", r.as_secs_f64() * 1e3)
        });
    println!(
        "{name}: selected pair {l} -> {r}, rtt {rtt}, connected {:.1} ms after candidates arrived",
        setup.as_secs_f64() * 1e3
    );
    Ok(())
}
