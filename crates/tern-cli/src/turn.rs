//! `tern turn`: a standalone TURN server (RFC 8656) over UDP, TCP and TLS,
//! configured by flags or a TOML file.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use tern_server::turn::{Turn, TurnOptions};
use tern_turn::Cidr;

/// Arguments of `tern turn`. Flags override the config file.
#[derive(clap::Args)]
pub struct Args {
    /// A TOML file with any of: listen, tcp_listen, tls_listen, tls_cert,
    /// tls_key, realm, users (["name:pass", …]), secret, relay_ip, public_ip,
    /// relay_range ("49152-65535"), allow_peers (["192.0.2.0/24", …]),
    /// max_allocations, max_allocations_per_user, max_allocations_per_ip,
    /// bandwidth_bytes_per_sec.
    #[arg(long)]
    config: Option<PathBuf>,
    /// UDP listener [default: 0.0.0.0:3478]; repeat for more, `off` for none.
    #[arg(long)]
    listen: Vec<String>,
    /// TCP listener (STUN and ChannelData framed on the stream); repeatable.
    #[arg(long)]
    tcp_listen: Vec<SocketAddr>,
    /// TLS listener (TURN over TLS, e.g. on 443 for corporate networks);
    /// needs --tls-cert and --tls-key; repeatable.
    #[arg(long)]
    tls_listen: Vec<SocketAddr>,
    /// Certificate chain for TLS (PEM).
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(long)]
    tls_key: Option<PathBuf>,
    /// Ports for relayed addresses, LOW-HIGH [default: 49152-65535].
    #[arg(long)]
    relay_range: Option<String>,
    /// REALM [default: tern].
    #[arg(long)]
    realm: Option<String>,
    /// A user, NAME:PASS; repeatable.
    #[arg(long = "user")]
    users: Vec<String>,
    /// Shared secret for time-limited REST credentials (`expiry:user`
    /// usernames, base64 HMAC-SHA1 passwords, as coturn's use-auth-secret).
    #[arg(long, env = "TERN_TURN_SECRET")]
    secret: Option<String>,
    /// The address relayed sockets bind on [default: 0.0.0.0].
    #[arg(long)]
    relay_ip: Option<IpAddr>,
    /// The public address clients are given for their relays, when the
    /// server sits behind a 1:1 NAT (a cloud instance's elastic IP).
    #[arg(long)]
    public_ip: Option<IpAddr>,
    /// Open a peer range the default policy denies (loopback, private,
    /// link-local, …), e.g. 10.0.0.0/8 for a private deployment; repeatable.
    #[arg(long = "allow-peer")]
    allow_peers: Vec<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<Vec<String>>,
    tcp_listen: Option<Vec<SocketAddr>>,
    tls_listen: Option<Vec<SocketAddr>>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    realm: Option<String>,
    users: Option<Vec<String>>,
    secret: Option<String>,
    relay_ip: Option<IpAddr>,
    public_ip: Option<IpAddr>,
    relay_range: Option<String>,
    allow_peers: Option<Vec<String>>,
    max_allocations: Option<usize>,
    max_allocations_per_user: Option<usize>,
    max_allocations_per_ip: Option<usize>,
    bandwidth_bytes_per_sec: Option<u64>,
}

/// `LOW-HIGH` as a port range.
pub fn parse_range(s: &str) -> Result<std::ops::RangeInclusive<u16>, String> {
    let bad = || format!("relay range {s:?}: give LOW-HIGH, e.g. 49152-65535");
    let (lo, hi) = s.split_once('-').ok_or_else(bad)?;
    let lo: u16 = lo.trim().parse().map_err(|_| bad())?;
    let hi: u16 = hi.trim().parse().map_err(|_| bad())?;
    if lo == 0 || lo > hi {
        return Err(bad());
    }
    Ok(lo..=hi)
}

fn options(args: Args) -> Result<TurnOptions, String> {
    let file: FileConfig = match &args.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            toml::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => FileConfig::default(),
    };
    let pick = |a: Vec<String>, f: Option<Vec<String>>| {
        if a.is_empty() {
            f.unwrap_or_default()
        } else {
            a
        }
    };
    let mut o = TurnOptions::new(&args.realm.or(file.realm).unwrap_or_else(|| "tern".into()));
    let listen = pick(args.listen, file.listen);
    for l in if listen.is_empty() {
        vec!["0.0.0.0:3478".to_string()]
    } else {
        listen
    } {
        if l == "off" {
            continue;
        }
        o.udp
            .push(l.parse().map_err(|e| {
                format!("--listen {l}: {e} (an address like 0.0.0.0:3478, or off)")
            })?);
    }
    o.tcp = if args.tcp_listen.is_empty() {
        file.tcp_listen.unwrap_or_default()
    } else {
        args.tcp_listen
    };
    o.tls = if args.tls_listen.is_empty() {
        file.tls_listen.unwrap_or_default()
    } else {
        args.tls_listen
    };
    o.tls_cert = args.tls_cert.or(file.tls_cert);
    o.tls_key = args.tls_key.or(file.tls_key);
    for u in pick(args.users, file.users) {
        let (name, pass) = u
            .split_once(':')
            .filter(|(n, p)| !n.is_empty() && !p.is_empty())
            .ok_or_else(|| format!("--user {u:?}: give NAME:PASS"))?;
        o.users.push((name.to_string(), pass.to_string()));
    }
    o.secret = args.secret.or(file.secret);
    if let Some(ip) = args.relay_ip.or(file.relay_ip) {
        o.relay_bind = ip;
    }
    o.public_ip = args.public_ip.or(file.public_ip);
    if o.public_ip.is_none() && o.relay_bind.is_unspecified() {
        // Clients must be told a reachable relay address: the listener's,
        // when there is exactly one specific one.
        o.public_ip = o
            .udp
            .iter()
            .chain(&o.tcp)
            .chain(&o.tls)
            .map(|a| a.ip())
            .find(|ip| !ip.is_unspecified());
        if o.public_ip.is_none() {
            return Err("relayed addresses need an address clients can reach: give --public-ip (or --relay-ip, or a listener on a specific address)".into());
        }
    }
    if let Some(r) = args.relay_range.or(file.relay_range) {
        o.relay_range = parse_range(&r)?;
    }
    for c in pick(args.allow_peers, file.allow_peers) {
        o.allow_peers.push(
            c.parse::<Cidr>()
                .map_err(|e| format!("--allow-peer {c}: {e}"))?,
        );
    }
    if let Some(n) = file.max_allocations {
        o.max_allocations = n;
    }
    if let Some(n) = file.max_allocations_per_user {
        o.max_allocations_per_user = n;
    }
    if let Some(n) = file.max_allocations_per_ip {
        o.max_allocations_per_ip = n;
    }
    o.bandwidth_bytes_per_sec = file.bandwidth_bytes_per_sec;
    Ok(o)
}

pub async fn run(args: Args) -> Result<ExitCode, String> {
    let o = options(args)?;
    let turn = Turn::start(o.clone())
        .await
        .map_err(|e| format!("cannot start the TURN server: {e}"))?;
    let list = |v: &[SocketAddr]| {
        v.iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "tern turn: realm {}, udp [{}], tcp [{}], tls [{}], relays on {} ports {}-{}",
        o.realm,
        list(&turn.udp),
        list(&turn.tcp),
        list(&turn.tls),
        o.public_ip.unwrap_or(o.relay_bind),
        o.relay_range.start(),
        o.relay_range.end(),
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("waiting for Ctrl-C: {e}"))?;
    drop(turn);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_say_what_is_wrong() {
        assert_eq!(parse_range("49152-65535").unwrap(), 49152..=65535);
        assert_eq!(parse_range(" 5000 - 5010 ").unwrap(), 5000..=5010);
        for bad in ["", "5000", "6000-5000", "0-10", "a-b", "1-70000"] {
            assert!(parse_range(bad).unwrap_err().contains("LOW-HIGH"), "{bad}");
        }
    }
}
