//! One publisher's tracks forwarded to any number of viewers, in Pion's
//! spirit (its broadcast): no SFU, just RTP read from each of the
//! publisher's `RemoteTrack`s and written to a `LocalTrack` on every
//! viewer's connection, with the viewers' keyframe requests passed
//! upstream to the publisher.
//!
//! ```sh
//! cargo run -p tern --example broadcast -- --http 127.0.0.1:8080
//! ```
//!
//! Signaling is SDP over HTTP, every candidate inside the descriptions:
//! `POST /publish` with an offer that sends audio and/or video (one
//! publisher at a time) answers with the SDP to apply; `POST /view` with an
//! offer that receives them (e.g. recvonly transceivers) answers with the
//! publisher's tracks on it. A viewer that comes before the publisher's
//! tracks gets 503: try again.
//!
//! Payloads, timestamps and marker bits pass unchanged; each viewer's
//! connection has its own SSRC, sequence numbers and payload types (mapped
//! by codec name), retransmission history and congestion feedback. A new
//! viewer asks the publisher for a keyframe so it can start decoding.
#![allow(clippy::disallowed_methods)] // an example program: real time

mod http_signal;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use http_signal::{Request, Response};
use tern::{
    LocalTrack, MediaKind, PeerConnection, PeerConnectionEvent, PeerConnectionState, RemoteTrack,
    RtcConfiguration, RtpCodecParameters, RtpPacketReceived,
};
use tokio::sync::{broadcast, mpsc};

/// Packets a slow viewer may fall behind before it skips ahead (and asks
/// for a keyframe to recover).
const VIEWER_QUEUE: usize = 1024;

/// One of the publisher's tracks, as viewers subscribe to it.
#[derive(Clone)]
struct Published {
    kind: MediaKind,
    codecs: Vec<RtpCodecParameters>,
    packets: broadcast::Sender<RtpPacketReceived>,
    keyframe_requests: mpsc::Sender<()>,
}

struct Hub {
    http: SocketAddr,
    /// The current publisher's tracks and its connection's number.
    tracks: Mutex<(u64, Vec<Published>)>,
    publishers: Mutex<u64>,
}

impl Hub {
    fn config(&self) -> RtcConfiguration {
        RtcConfiguration {
            bind_addresses: http_signal::bind_addresses(&self.http),
            ..RtcConfiguration::default()
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let http = http_signal::http_address(&args)?;
    let listener = http_signal::listen("broadcast", http).await?;
    let hub = Arc::new(Hub {
        http,
        tracks: Mutex::new((0, Vec::new())),
        publishers: Mutex::new(0),
    });
    http_signal::serve(listener, move |req: Request| {
        let hub = hub.clone();
        async move {
            let r = match (req.method.as_str(), req.path.as_str()) {
                ("POST", "/publish") => publish(hub, &req.body).await,
                ("POST", "/view") => view(hub, &req.body).await,
                _ => Err((404, "POST an offer to /publish or /view".into())),
            };
            r.unwrap_or_else(|(status, e)| Response::error(status, e))
        }
    })
    .await;
    Ok(())
}

type Reply = Result<Response, (u16, String)>;

async fn publish(hub: Arc<Hub>, offer: &[u8]) -> Reply {
    let mut pc = PeerConnection::new(hub.config())
        .await
        .map_err(|e| (500, e.to_string()))?;
    let answer = http_signal::answer(&pc, offer)
        .await
        .map_err(|e| (400, e))?;
    let number = {
        let mut n = hub
            .publishers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *n += 1;
        *n
    };
    *hub.tracks.lock().unwrap_or_else(PoisonError::into_inner) = (number, Vec::new());
    eprintln!("broadcast: publisher {number} offered");
    tokio::spawn(async move {
        while let Some(e) = pc.next_event().await {
            match e {
                PeerConnectionEvent::Track(t) => {
                    let (packets, _) = broadcast::channel(VIEWER_QUEUE);
                    let (keyframe_requests, kr) = mpsc::channel(1);
                    let mut t = t;
                    let published = Published {
                        kind: t.kind(),
                        codecs: t.codecs().await.unwrap_or_default(),
                        packets: packets.clone(),
                        keyframe_requests,
                    };
                    eprintln!("broadcast: publisher {number} sends {}", published.kind);
                    {
                        let mut tracks = hub.tracks.lock().unwrap_or_else(PoisonError::into_inner);
                        if tracks.0 == number {
                            tracks.1.push(published);
                        }
                    }
                    tokio::spawn(forward(t, packets, kr));
                }
                PeerConnectionEvent::ConnectionStateChange(
                    PeerConnectionState::Failed | PeerConnectionState::Closed,
                ) => break,
                _ => {}
            }
        }
        {
            let mut tracks = hub.tracks.lock().unwrap_or_else(PoisonError::into_inner);
            if tracks.0 == number {
                tracks.1.clear();
            }
        }
        eprintln!("broadcast: publisher {number} left");
        pc.close().await;
    });
    Ok(Response::text(answer))
}

/// The publisher's packets to every subscribed viewer; the viewers'
/// keyframe requests to the publisher.
async fn forward(
    mut t: RemoteTrack,
    packets: broadcast::Sender<RtpPacketReceived>,
    mut keyframe_requests: mpsc::Receiver<()>,
) {
    loop {
        tokio::select! {
            p = t.read_rtp() => match p {
                // No viewer yet is not an error: the packet is just not needed.
                Some(p) => { let _ = packets.send(p); }
                None => return,
            },
            Some(()) = keyframe_requests.recv() => {
                if t.request_keyframe().await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn view(hub: Arc<Hub>, offer: &[u8]) -> Reply {
    let published = hub
        .tracks
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .1
        .clone();
    if published.is_empty() {
        return Err((503, "no publisher yet: try again".into()));
    }
    let mut pc = PeerConnection::new(hub.config())
        .await
        .map_err(|e| (500, e.to_string()))?;
    let sdp = String::from_utf8(offer.to_vec()).map_err(|_| (400, "not UTF-8".to_string()))?;
    pc.set_remote_description(tern::RtcSessionDescription::offer(sdp))
        .await
        .map_err(|e| (400, format!("bad offer: {e}")))?;
    // Each track takes the next of the offer's transceivers of its kind.
    let mut relays = Vec::new();
    for p in published {
        let local = pc
            .add_track(p.kind, &["broadcast"])
            .await
            .map_err(|e| (500, format!("cannot add a {} track: {e}", p.kind)))?;
        relays.push((local, p));
    }
    let answer = http_signal::answer_local(&pc).await.map_err(|e| (400, e))?;
    for (local, p) in relays {
        tokio::spawn(relay(local, p));
    }
    tokio::spawn(async move {
        while let Some(e) = pc.next_event().await {
            if let PeerConnectionEvent::ConnectionStateChange(
                PeerConnectionState::Failed | PeerConnectionState::Closed,
            ) = e
            {
                break;
            }
        }
        pc.close().await;
    });
    Ok(Response::text(answer))
}

/// One published track to one viewer.
async fn relay(mut local: LocalTrack, p: Published) {
    let mut packets = p.packets.subscribe();
    let ours = local.codecs().await.unwrap_or_default();
    // The publisher's payload type → the viewer's, by codec name and clock.
    let map = |pt: u8| {
        let c = p.codecs.iter().find(|c| c.payload_type == pt)?;
        ours.iter()
            .find(|o| {
                o.mime_type.eq_ignore_ascii_case(&c.mime_type) && o.clock_rate == c.clock_rate
            })
            .map(|o| o.payload_type)
    };
    // A viewer can only start decoding video at a keyframe.
    let _ = p.keyframe_requests.try_send(());
    loop {
        tokio::select! {
            r = packets.recv() => match r {
                Ok(pkt) => {
                    let Some(pt) = map(pkt.payload_type) else { continue };
                    if let Err(e) = local.write_rtp(Some(pt), pkt.timestamp, pkt.marker, pkt.payload).await {
                        if matches!(e, tern::Error::Closed) {
                            return;
                        }
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    eprintln!("broadcast: a viewer fell {n} packets behind");
                    let _ = p.keyframe_requests.try_send(());
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            k = local.keyframe_requested() => {
                if k.is_err() {
                    return;
                }
                let _ = p.keyframe_requests.try_send(());
            }
        }
    }
}
