//! `tern echo`: answers offers posted over HTTP and echoes every message on
//! every data channel back, unchanged (text stays text, binary binary,
//! empty empty), and reflects every audio and video track the peer sends
//! back on the same transceiver with its payloads unchanged, passing the
//! peer's keyframe requests upstream to it (Pion's reflect). Many peers at
//! once; CORS for pages from other origins. With `--record DIR` every call
//! is also written to a file in DIR (see `record.rs` for the naming).

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tern::{
    DataChannel, DataChannelInit, LocalTrack, MediaKind, PeerConnection, PeerConnectionEvent,
    PeerConnectionState, RemoteTrack, RtcConfiguration, SdpType, TransceiverId,
};

use crate::record::{Recorder, Tap, Tapped};
use crate::signal::{Description, MAX_BODY};

/// Arguments of `tern echo`.
#[derive(clap::Args)]
pub struct Args {
    /// Where to serve HTTP (POST /offer, GET / for a browser test page).
    #[arg(long, default_value = "127.0.0.1:8080")]
    http: SocketAddr,
    /// Local IP addresses for the peers' UDP sockets (repeatable). Default:
    /// the HTTP address's IP when it is a specific one, else every interface.
    #[arg(long)]
    bind: Vec<IpAddr>,
    /// Most peers served at once; more get 503.
    #[arg(long, default_value_t = 1000)]
    max_peers: usize,
    /// Drop a peer that has not connected this many seconds after its offer.
    #[arg(long, default_value_t = 30)]
    connect_timeout: u64,
    /// Also echo on a negotiated (out-of-band) channel with this stream id,
    /// made for every peer (repeatable).
    #[arg(long)]
    negotiated: Vec<u16>,
    /// Also record every call into this directory (which must exist): one
    /// file per call, `call-YYYYMMDDTHHMMSSZ-N.webm` (`.mkv` for H.264),
    /// with the call's first video and first audio track in sync.
    #[arg(long, value_name = "DIR")]
    record: Option<std::path::PathBuf>,
}

struct Echo {
    bind: Option<Vec<IpAddr>>,
    negotiated: Vec<u16>,
    peers: AtomicUsize,
    max_peers: usize,
    connect_timeout: Duration,
    recorder: Option<Recorder>,
}

const PAGE: &str = include_str!("page.html");

pub async fn run(args: Args) -> Result<ExitCode, String> {
    let bind = if !args.bind.is_empty() {
        Some(args.bind.clone())
    } else if args.http.ip().is_unspecified() {
        None
    } else {
        Some(vec![args.http.ip()])
    };
    let recorder = args.record.as_deref().map(Recorder::new).transpose()?;
    let state = Arc::new(Echo {
        bind,
        negotiated: args.negotiated.clone(),
        peers: AtomicUsize::new(0),
        max_peers: args.max_peers,
        connect_timeout: Duration::from_secs(args.connect_timeout),
        recorder,
    });
    let app = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/offer", axum::routing::post(offer).options(preflight))
        .fallback(not_found)
        .layer(axum::middleware::map_response(cors))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind(args.http)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {}: {e} (pick another address with --http)",
                args.http
            )
        })?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!(
        "tern echo: listening on http://{addr} (POST /offer; open http://{addr}/ in a browser)"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| format!("HTTP server: {e}"))?;
    if let Some(r) = &state.recorder {
        r.stop().await;
    }
    Ok(ExitCode::SUCCESS)
}

async fn cors(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    r
}

async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn not_found(method: Method) -> impl IntoResponse {
    if method == Method::OPTIONS {
        return (StatusCode::NO_CONTENT, String::new());
    }
    (
        StatusCode::NOT_FOUND,
        "not found: POST an offer to /offer, or GET / for the test page\n".to_string(),
    )
}

fn bad(status: StatusCode, msg: impl Into<String>) -> Response {
    let mut m = msg.into();
    m.push('\n');
    (status, m).into_response()
}

async fn offer(State(echo): State<Arc<Echo>>, body: Bytes) -> Response {
    let d: Description = match serde_json::from_slice(&body) {
        Ok(d) => d,
        Err(e) => {
            return bad(
                StatusCode::BAD_REQUEST,
                format!("expected JSON {{\"type\":\"offer\",\"sdp\":\"…\"}}: {e}"),
            )
        }
    };
    let offer = match d.to_rtc(SdpType::Offer) {
        Ok(o) => o,
        Err(e) => return bad(StatusCode::BAD_REQUEST, e),
    };
    if echo.peers.fetch_add(1, Ordering::SeqCst) >= echo.max_peers {
        echo.peers.fetch_sub(1, Ordering::SeqCst);
        return bad(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("busy: {} peers already", echo.max_peers),
        );
    }
    let guard = PeerGuard(echo.clone());
    let config = RtcConfiguration {
        bind_addresses: echo.bind.clone(),
        ..RtcConfiguration::default()
    };
    let mut pc = match PeerConnection::new(config).await {
        Ok(pc) => pc,
        Err(e) => {
            return bad(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot make a peer: {e}"),
            )
        }
    };
    let sends = sending_sections(&offer.sdp);
    if let Err(e) = pc.set_remote_description(offer).await {
        return bad(StatusCode::BAD_REQUEST, format!("bad offer: {e}"));
    }
    // A track back on each section the peer sends on: addTrack takes the
    // offer's transceivers of its kind in order.
    let mut locals = std::collections::HashMap::new();
    for &kind in &sends {
        match pc.add_track(kind, &["echo"]).await {
            Ok(t) => {
                locals.insert(t.transceiver(), t);
            }
            Err(e) => {
                return bad(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("cannot add a {kind} track: {e}"),
                )
            }
        }
    }
    for &id in &echo.negotiated {
        let init = DataChannelInit {
            negotiated: true,
            id: Some(id),
            ..DataChannelInit::default()
        };
        match pc
            .create_data_channel(&format!("negotiated-{id}"), init)
            .await
        {
            Ok(dc) => {
                tokio::spawn(echo_channel(dc));
            }
            Err(e) => {
                return bad(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("negotiated channel {id}: {e}"),
                )
            }
        }
    }
    let answer = async {
        pc.set_local_description(pc.create_answer().await?).await?;
        tokio::time::timeout(Duration::from_secs(10), pc.gathering_complete())
            .await
            .map_err(|_| tern::Error::Closed)??;
        pc.local_description().await
    }
    .await;
    let answer = match answer {
        Ok(Some(a)) => a,
        Ok(None) => return bad(StatusCode::INTERNAL_SERVER_ERROR, "no local description"),
        Err(e) => return bad(StatusCode::BAD_REQUEST, format!("cannot answer: {e}")),
    };
    let timeout = echo.connect_timeout;
    let taps = match &echo.recorder {
        Some(r) => r.start_call(
            sends.contains(&MediaKind::Video),
            sends.contains(&MediaKind::Audio),
        ),
        None => (None, None),
    };
    tokio::spawn(async move {
        serve_peer(&mut pc, timeout, locals, taps).await;
        pc.close().await;
        drop(guard);
    });
    let body = serde_json::to_string(&Description::from_rtc(&answer)).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Frees the peer's slot when its task ends (or the request fails).
struct PeerGuard(Arc<Echo>);

impl Drop for PeerGuard {
    fn drop(&mut self) {
        self.0.peers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The kinds of the offer's audio and video sections the peer sends on
/// (sendrecv or sendonly, port not 0), in order.
fn sending_sections(sdp: &str) -> Vec<MediaKind> {
    let Ok(d) = sdp.parse::<tern_sdp::SessionDescription>() else {
        return Vec::new();
    };
    use tern_sdp::HasAttributes as _;
    d.media
        .iter()
        .filter(|m| m.port != 0)
        .filter(|m| {
            !matches!(
                m.direction(),
                Some(tern_sdp::Direction::RecvOnly | tern_sdp::Direction::Inactive)
            )
        })
        .filter_map(|m| match m.kind.as_str() {
            "audio" => Some(MediaKind::Audio),
            "video" => Some(MediaKind::Video),
            _ => None,
        })
        .collect()
}

async fn serve_peer(
    pc: &mut PeerConnection,
    connect_timeout: Duration,
    mut locals: std::collections::HashMap<TransceiverId, LocalTrack>,
    (mut video_tap, mut audio_tap): (Option<Tap>, Option<Tap>),
) {
    let deadline = tokio::time::Instant::now() + connect_timeout;
    let mut connected = false;
    loop {
        let event = if connected {
            pc.next_event().await
        } else {
            match tokio::time::timeout_at(deadline, pc.next_event()).await {
                Ok(e) => e,
                Err(_) => {
                    tracing::info!("peer did not connect within {connect_timeout:?}; dropped");
                    return;
                }
            }
        };
        match event {
            Some(PeerConnectionEvent::DataChannel(dc)) => {
                tokio::spawn(echo_channel(dc));
            }
            Some(PeerConnectionEvent::Track(remote)) => {
                if let Some(local) = locals.remove(&remote.transceiver()) {
                    // The first track of each kind is recorded.
                    let tap = match remote.kind() {
                        MediaKind::Video => video_tap.take(),
                        _ => audio_tap.take(),
                    };
                    tokio::spawn(reflect(remote, local, tap));
                }
            }
            Some(PeerConnectionEvent::ConnectionStateChange(s)) => match s {
                PeerConnectionState::Connected => connected = true,
                PeerConnectionState::Failed | PeerConnectionState::Closed => return,
                _ => {}
            },
            Some(_) => {}
            None => return,
        }
    }
}

async fn echo_channel(mut dc: DataChannel) {
    let tx = dc.sender();
    while let Some(m) = dc.recv().await {
        if tx.send(m).await.is_err() {
            break;
        }
    }
}

/// Sends every RTP packet of `remote` back on `local` (same payload type,
/// timestamp, marker and payload; tern's own SSRC and sequence numbers), and
/// passes the peer's keyframe requests for `local` on to `remote`'s sender.
/// With a `tap`, a copy of every packet goes to the call's recorder, whose
/// keyframe requests go upstream too.
async fn reflect(mut remote: RemoteTrack, mut local: LocalTrack, mut tap: Option<Tap>) {
    if let Some(t) = &mut tap {
        if let Ok(c) = remote.codecs().await {
            t.send(Tapped::Codecs(c));
        }
    }
    loop {
        tokio::select! {
            p = remote.read_rtp() => {
                let Some(p) = p else { return };
                if let Some(t) = &mut tap {
                    t.send(Tapped::Packet(p.clone()));
                }
                if let Err(e) = local
                    .write_rtp(Some(p.payload_type), p.timestamp, p.marker, p.payload)
                    .await
                {
                    tracing::debug!("reflect: {e}");
                    if matches!(e, tern::Error::Closed) {
                        return;
                    }
                }
            }
            k = local.keyframe_requested() => {
                if k.is_err() || remote.request_keyframe().await.is_err() {
                    return;
                }
            }
            Some(()) = recorder_wants_keyframe(&mut tap) => {
                if remote.request_keyframe().await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn recorder_wants_keyframe(tap: &mut Option<Tap>) -> Option<()> {
    match tap {
        Some(t) => t.keyframe_wanted.recv().await,
        None => std::future::pending().await,
    }
}
