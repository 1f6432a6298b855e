//! `tern ping`: offers to an endpoint that speaks the `tern echo` contract,
//! sends messages over one or more data channels, checks every echo byte for
//! byte, and reports setup time, round-trip percentiles and throughput.

use std::collections::HashMap;
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;
use tern::{DataChannel, DataChannelInit, DataChannelMessage, PeerConnection, RtcConfiguration};

use crate::signal;

/// Arguments of `tern ping`.
#[derive(clap::Args)]
pub struct Args {
    /// The echo endpoint (`http://host:port`; `/offer` is added).
    url: String,
    /// Messages to send.
    #[arg(long, default_value_t = 10)]
    count: u64,
    /// Bytes per message (0 sends empty messages).
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// Send this many bytes in all instead of --count messages.
    #[arg(long)]
    bytes: Option<u64>,
    /// Send text instead of binary.
    #[arg(long)]
    text: bool,
    /// Unordered channels.
    #[arg(long)]
    unordered: bool,
    /// Partially reliable: give up on a message after K retransmissions.
    #[arg(long)]
    max_retransmits: Option<u16>,
    /// Partially reliable: give up on a message after MS milliseconds.
    #[arg(long)]
    max_packet_life_time: Option<u64>,
    /// Channels to spread the messages over.
    #[arg(long, default_value_t = 1)]
    channels: usize,
    /// Negotiated (out-of-band) channels with stream ids ID, ID+1, … instead
    /// of DCEP; the echo must make the same ones.
    #[arg(long)]
    negotiated: Option<u16>,
    /// Print one JSON line instead of text.
    #[arg(long)]
    json: bool,
    /// Seconds to wait for the answer, the channels, and the last echoes.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Local IP addresses for our UDP sockets (default: loopback for a
    /// loopback URL, else every interface).
    #[arg(long)]
    bind: Vec<IpAddr>,
    /// Send this IVF file's video (VP8, VP9 or AV1) in real time and check
    /// what comes back, instead of data-channel messages.
    #[arg(long)]
    video: Option<std::path::PathBuf>,
    /// Send this Ogg Opus file's audio in real time and count what comes
    /// back.
    #[arg(long)]
    audio: Option<std::path::PathBuf>,
    /// Send at most this many seconds of the files.
    #[arg(long)]
    duration: Option<f64>,
    /// The echo decodes and re-encodes (a browser): count returned frames
    /// instead of checking them byte for byte.
    #[arg(long)]
    reencoded: bool,
}

#[derive(Serialize)]
struct Report {
    ok: bool,
    sent: u64,
    received: u64,
    corrupted: u64,
    bytes: u64,
    setup_ms: f64,
    rtt_ms_p50: f64,
    rtt_ms_p99: f64,
    #[serde(rename = "throughput_MBps")]
    throughput_mbps: f64,
    /// Channels that closed cleanly on both sides at the end.
    channels_closed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Header in front of a message big enough for it: sequence number and
/// send time, so echoes are matched and timed without shared state.
const BIN_HEADER: usize = 16;
const TEXT_HEADER: usize = 32;

fn pattern_byte(seq: u64, k: usize) -> u8 {
    (seq.wrapping_mul(31).wrapping_add(k as u64) % 251) as u8
}

fn pattern_char(seq: u64, k: usize) -> char {
    (b'a' + (seq.wrapping_add(k as u64) % 26) as u8) as char
}

/// Message `seq` sent `ns` nanoseconds after the start.
fn make(seq: u64, ns: u64, size: usize, text: bool) -> DataChannelMessage {
    if text {
        let mut s = String::with_capacity(size);
        if size >= TEXT_HEADER {
            s.push_str(&format!("{seq:016x}{ns:016x}"));
        }
        let start = s.len();
        s.extend((start..size).map(|k| pattern_char(seq, k)));
        DataChannelMessage::Text(s)
    } else {
        let mut b = Vec::with_capacity(size);
        if size >= BIN_HEADER {
            b.extend_from_slice(&seq.to_be_bytes());
            b.extend_from_slice(&ns.to_be_bytes());
        }
        let start = b.len();
        b.extend((start..size).map(|k| pattern_byte(seq, k)));
        DataChannelMessage::Binary(b)
    }
}

/// For a message with a header: (seq, send time ns) if the rest is intact.
fn check(m: &DataChannelMessage, size: usize, text: bool) -> Option<(u64, u64)> {
    match (m, text) {
        (DataChannelMessage::Text(s), true) if s.len() == size && size >= TEXT_HEADER => {
            let seq = u64::from_str_radix(s.get(..16)?, 16).ok()?;
            let ns = u64::from_str_radix(s.get(16..32)?, 16).ok()?;
            s.chars()
                .enumerate()
                .skip(TEXT_HEADER)
                .all(|(k, c)| c == pattern_char(seq, k))
                .then_some((seq, ns))
        }
        (DataChannelMessage::Binary(b), false) if b.len() == size && size >= BIN_HEADER => {
            let seq = u64::from_be_bytes(b[..8].try_into().ok()?);
            let ns = u64::from_be_bytes(b[8..16].try_into().ok()?);
            b.iter()
                .enumerate()
                .skip(BIN_HEADER)
                .all(|(k, &x)| x == pattern_byte(seq, k))
                .then_some((seq, ns))
        }
        _ => None,
    }
}

struct ChannelResult {
    closed: bool,
    received: u64,
    corrupted: u64,
    rtts: Vec<f64>,
    last: Option<Instant>,
}

/// Collects the echoes on one channel.
async fn receive(
    mut dc: DataChannel,
    expected: Vec<u64>,
    size: usize,
    text: bool,
    t0: Instant,
    partial: bool,
    wait: Duration,
) -> ChannelResult {
    let headed = size >= if text { TEXT_HEADER } else { BIN_HEADER };
    let mut outstanding: HashMap<u64, ()> = expected.iter().map(|&s| (s, ())).collect();
    // Messages too small for a header are matched by content.
    let mut small: HashMap<Vec<u8>, u64> = HashMap::new();
    if !headed {
        for &s in &expected {
            let key = match make(s, 0, size, text) {
                DataChannelMessage::Text(t) => [b"t".as_slice(), t.as_bytes()].concat(),
                DataChannelMessage::Binary(b) => [b"b".as_slice(), &b].concat(),
                _ => Vec::new(),
            };
            *small.entry(key).or_default() += 1;
        }
    }
    let mut r = ChannelResult {
        closed: false,
        received: 0,
        corrupted: 0,
        rtts: Vec::new(),
        last: None,
    };
    let total = expected.len() as u64;
    while r.received + r.corrupted < total {
        // Reliable: wait up to `wait` for each; partial: 2 s of silence ends it.
        let idle = if partial {
            Duration::from_secs(2).min(wait)
        } else {
            wait
        };
        let Ok(Some(m)) = tokio::time::timeout(idle, dc.recv()).await else {
            break;
        };
        let now = Instant::now();
        let good = if headed {
            match check(&m, size, text) {
                Some((seq, ns)) if outstanding.remove(&seq).is_some() => {
                    let sent = t0 + Duration::from_nanos(ns);
                    r.rtts
                        .push(now.saturating_duration_since(sent).as_secs_f64() * 1e3);
                    true
                }
                _ => false,
            }
        } else {
            let key = match &m {
                DataChannelMessage::Text(t) if text => [b"t".as_slice(), t.as_bytes()].concat(),
                DataChannelMessage::Binary(b) if !text => [b"b".as_slice(), b].concat(),
                _ => Vec::new(),
            };
            match small.get_mut(&key) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    true
                }
                _ => false,
            }
        };
        if good {
            r.received += 1;
            r.last = Some(now);
        } else {
            r.corrupted += 1;
        }
    }
    // Close our end and wait (briefly) for the peer to close its end too.
    if dc.close().await.is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(2), dc.wait_closed()).await;
    }
    r.closed = dc.ready_state() == tern::DataChannelState::Closed;
    r
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    (sorted[i.min(sorted.len() - 1)] * 1000.0).round() / 1000.0
}

pub async fn run(args: Args) -> Result<ExitCode, String> {
    let url = signal::offer_url(&args.url)?;
    if args.channels == 0 {
        return Err("--channels must be at least 1".into());
    }
    if args.max_retransmits.is_some() && args.max_packet_life_time.is_some() {
        return Err("give --max-retransmits or --max-packet-life-time, not both".into());
    }
    let count = match args.bytes {
        Some(total) if args.size == 0 => {
            return Err(format!("--bytes {total} needs a --size above 0"));
        }
        Some(total) => total.div_ceil(args.size as u64),
        None => args.count,
    };
    let timeout = Duration::from_secs(args.timeout);
    let bind = bind_for(&args, &url);
    if args.video.is_some() || args.audio.is_some() {
        return crate::ping_media::run(crate::ping_media::MediaArgs {
            url,
            video: args.video.clone(),
            audio: args.audio.clone(),
            duration: args.duration,
            reencoded: args.reencoded,
            json: args.json,
            timeout,
            bind,
        })
        .await;
    }
    let pc = PeerConnection::new(RtcConfiguration {
        bind_addresses: bind,
        ..RtcConfiguration::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    data_ping(args, url, count, timeout, pc).await
}

/// Our sockets' addresses: as given, or loopback for a loopback URL.
fn bind_for(args: &Args, url: &hyper::Uri) -> Option<Vec<IpAddr>> {
    if !args.bind.is_empty() {
        Some(args.bind.clone())
    } else {
        let host = url
            .host()
            .unwrap_or("")
            .trim_matches(|c| c == '[' || c == ']');
        match host.parse::<IpAddr>() {
            Ok(ip) if ip.is_loopback() => Some(vec![ip]),
            _ if host == "localhost" => Some(vec![IpAddr::from([127, 0, 0, 1])]),
            _ => None,
        }
    }
}

async fn data_ping(
    args: Args,
    url: hyper::Uri,
    count: u64,
    timeout: Duration,
    pc: PeerConnection,
) -> Result<ExitCode, String> {
    let partial = args.max_retransmits.is_some() || args.max_packet_life_time.is_some();
    let init = DataChannelInit {
        ordered: !args.unordered,
        max_retransmits: args.max_retransmits,
        max_packet_life_time: args.max_packet_life_time.map(Duration::from_millis),
        ..DataChannelInit::default()
    };
    let t_setup = Instant::now();
    let mut channels = Vec::new();
    for k in 0..args.channels {
        let mut init = init.clone();
        if let Some(first) = args.negotiated {
            init.negotiated = true;
            init.id = Some(
                u16::try_from(usize::from(first) + k)
                    .map_err(|_| "--negotiated id + --channels passes 65535".to_string())?,
            );
        }
        channels.push(
            pc.create_data_channel(&format!("ping-{k}"), init)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    let offer = async {
        pc.set_local_description(pc.create_offer().await?).await?;
        pc.gathering_complete().await?;
        pc.local_description().await
    };
    let offer = tokio::time::timeout(timeout, offer)
        .await
        .map_err(|_| "gathering our candidates timed out".to_string())?
        .map_err(|e| e.to_string())?
        .ok_or("no local description")?;
    let answer = signal::exchange(&url, &offer, timeout).await?;
    pc.set_remote_description(answer)
        .await
        .map_err(|e| format!("the answer from {url} is unusable: {e}"))?;
    for dc in &channels {
        if tokio::time::timeout(timeout, dc.wait_open()).await.is_err() {
            let s = pc.stats().await.map_err(|e| e.to_string())?;
            let pairs: Vec<String> = s
                .candidate_pairs
                .iter()
                .map(|p| format!("{}->{} {:?}", p.local_address, p.remote_address, p.state))
                .collect();
            return Err(format!(
                "no data channel opened within {} s (connection {:?}, ICE {:?}, DTLS {:?}, pairs [{}]): is the echo reachable over UDP?",
                args.timeout,
                pc.connection_state(),
                pc.ice_connection_state(),
                s.transport.dtls_state,
                pairs.join(", ")
            ));
        }
        dc.wait_open().await.map_err(|_| {
            format!(
                "the data channel closed before it opened (connection {:?})",
                pc.connection_state()
            )
        })?;
    }
    let setup_ms = t_setup.elapsed().as_secs_f64() * 1e3;
    if !args.json {
        println!(
            "tern ping: connected to {url} in {setup_ms:.1} ms; sending {count} message(s) of {} bytes over {} channel(s)",
            args.size, args.channels
        );
    }

    // Receivers first, then send round-robin (each send waits on backpressure).
    let t0 = Instant::now();
    let senders: Vec<_> = channels.iter().map(|c| c.sender()).collect();
    let n = args.channels as u64;
    let mut tasks = Vec::new();
    for (k, dc) in channels.into_iter().enumerate() {
        let expected: Vec<u64> = (0..count).filter(|s| s % n == k as u64).collect();
        tasks.push(tokio::spawn(receive(
            dc, expected, args.size, args.text, t0, partial, timeout,
        )));
    }
    let mut send_error = None;
    for seq in 0..count {
        let ns = t0.elapsed().as_nanos() as u64;
        let m = make(seq, ns, args.size, args.text);
        let tx = &senders[(seq % n) as usize];
        let send = async {
            match m {
                DataChannelMessage::Binary(b) => tx.send_binary(Bytes::from(b)).await,
                m => tx.send(m).await,
            }
        };
        // A send waits while the peer acknowledges nothing (backpressure):
        // bounded by --timeout, so a vanished peer is reported promptly.
        match tokio::time::timeout(timeout, send).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                send_error = Some(format!("sending message {seq} failed: {e}"));
                break;
            }
            Err(_) => {
                send_error = Some(format!(
                    "sending stalled for {} s at message {seq}: the peer stopped acknowledging",
                    args.timeout
                ));
                break;
            }
        }
    }
    let mut received = 0;
    let mut corrupted = 0;
    let mut rtts = Vec::new();
    let mut last = None;
    let mut channels_closed = 0;
    for t in tasks {
        let r = t.await.map_err(|e| e.to_string())?;
        channels_closed += u64::from(r.closed);
        received += r.received;
        corrupted += r.corrupted;
        rtts.extend(r.rtts);
        last = last.max(r.last);
    }
    rtts.sort_by(|a, b| a.total_cmp(b));
    let bytes = count * args.size as u64;
    let secs = last.map_or(0.0, |l| l.duration_since(t0).as_secs_f64());
    let throughput = if secs > 0.0 {
        bytes as f64 / 1e6 / secs
    } else {
        0.0
    };
    let error = if let Some(e) = send_error {
        Some(e)
    } else if corrupted > 0 {
        Some(format!("{corrupted} echo(es) differed from what was sent"))
    } else if !partial && received < count {
        Some(format!(
            "only {received} of {count} messages came back on a reliable channel within {} s",
            args.timeout
        ))
    } else {
        None
    };
    let report = Report {
        ok: error.is_none(),
        sent: count,
        received,
        corrupted,
        bytes,
        setup_ms: (setup_ms * 1000.0).round() / 1000.0,
        rtt_ms_p50: percentile(&rtts, 0.5),
        rtt_ms_p99: percentile(&rtts, 0.99),
        throughput_mbps: (throughput * 1000.0).round() / 1000.0,
        channels_closed,
        error: error.clone(),
    };
    pc.close().await;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| e.to_string())?
        );
    } else {
        println!(
            "{received}/{count} echoed intact; rtt p50 {:.3} ms, p99 {:.3} ms; {throughput:.1} MB/s",
            report.rtt_ms_p50, report.rtt_ms_p99
        );
    }
    match error {
        None => Ok(ExitCode::SUCCESS),
        Some(e) => {
            eprintln!("tern ping: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
