//! Chromium as an interop peer: a small HTTP harness serving the test pages,
//! relaying offers from `tern ping` to an answering page, and collecting
//! what the pages report.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::{oneshot, Notify};

use crate::{require_binary, Peer};

const OFFERER: &str = include_str!("../pages/offerer.html");
const ANSWERER: &str = include_str!("../pages/answerer.html");
const MEDIA_OFFERER: &str = include_str!("../pages/media_offerer.html");
const MEDIA_ANSWERER: &str = include_str!("../pages/media_answerer.html");

#[derive(Default)]
struct Inner {
    result: Option<Value>,
    results: Vec<Value>,
    events: Vec<Value>,
    offers: VecDeque<(u64, String)>,
    answers: HashMap<u64, oneshot::Sender<Value>>,
    next: u64,
    negotiated: Vec<u16>,
}

#[derive(Default)]
struct Shared {
    inner: Mutex<Inner>,
    offer_ready: Notify,
    result_ready: Notify,
}

/// The harness's HTTP server, on its own runtime.
pub struct Harness {
    /// Its base URL (`http://127.0.0.1:port`).
    pub url: String,
    shared: Arc<Shared>,
    rt: tokio::runtime::Runtime,
}

impl Harness {
    /// Starts it on a free loopback port.
    pub fn start() -> Harness {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/offerer.html", get(|| async { Html(OFFERER) }))
            .route("/answerer.html", get(|| async { Html(ANSWERER) }))
            .route("/media_offerer.html", get(|| async { Html(MEDIA_OFFERER) }))
            .route(
                "/media_answerer.html",
                get(|| async { Html(MEDIA_ANSWERER) }),
            )
            .route("/result", post(result))
            .route("/event", post(event))
            .route("/offer", post(offer))
            .route("/next-offer", get(next_offer))
            .route("/answer", post(answer))
            .with_state(shared.clone());
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind harness");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Harness { url, shared, rt }
    }

    /// Waits for the page's `/result` post.
    pub fn wait_result(&self, max: Duration) -> Option<Value> {
        let shared = self.shared.clone();
        self.rt.block_on(async move {
            let deadline = tokio::time::Instant::now() + max;
            loop {
                let notified = shared.result_ready.notified();
                if let Some(r) = shared.inner.lock().expect("lock").result.take() {
                    return Some(r);
                }
                if tokio::time::timeout_at(deadline, notified).await.is_err() {
                    return None;
                }
            }
        })
    }

    /// Waits until `n` pages have posted to `/result`; returns them all.
    pub fn wait_results(&self, n: usize, max: Duration) -> Vec<Value> {
        let shared = self.shared.clone();
        self.rt.block_on(async move {
            let deadline = tokio::time::Instant::now() + max;
            loop {
                let notified = shared.result_ready.notified();
                {
                    let i = shared.inner.lock().expect("lock");
                    if i.results.len() >= n {
                        return i.results.clone();
                    }
                }
                if tokio::time::timeout_at(deadline, notified).await.is_err() {
                    return shared.inner.lock().expect("lock").results.clone();
                }
            }
        })
    }

    /// Events the answering page reported (channel open/close).
    pub fn events(&self) -> Vec<Value> {
        self.shared.inner.lock().expect("lock").events.clone()
    }

    /// Forgets the events seen so far.
    pub fn clear_events(&self) {
        self.shared.inner.lock().expect("lock").events.clear();
    }

    /// Waits for an offer a page posted to `/offer` (the page waits for
    /// its answer, given with [`Harness::answer`]); its id and SDP.
    pub fn take_offer(&self, max: Duration) -> Option<(u64, String)> {
        let shared = self.shared.clone();
        self.rt.block_on(async move {
            let deadline = tokio::time::Instant::now() + max;
            loop {
                let notified = shared.offer_ready.notified();
                if let Some(o) = shared.inner.lock().expect("lock").offers.pop_front() {
                    return Some(o);
                }
                if tokio::time::timeout_at(deadline, notified).await.is_err() {
                    return None;
                }
            }
        })
    }

    /// Answers the offer `id` from [`Harness::take_offer`]; false if that
    /// page stopped waiting.
    pub fn answer(&self, id: u64, sdp: &str) -> bool {
        let tx = self.shared.inner.lock().expect("lock").answers.remove(&id);
        tx.is_some_and(|tx| tx.send(json!({"type": "answer", "sdp": sdp})).is_ok())
    }

    /// Hands `sdp` (an offer) to the answering page polling `/next-offer`
    /// and waits up to `max` for its answer (the JSON it posted).
    pub async fn relay_offer(&self, sdp: &str, max: Duration) -> Option<Value> {
        let (tx, rx) = oneshot::channel();
        {
            let mut i = self.shared.inner.lock().expect("lock");
            let id = i.next;
            i.next += 1;
            i.offers.push_back((id, sdp.to_string()));
            i.answers.insert(id, tx);
        }
        self.shared.offer_ready.notify_waiters();
        tokio::time::timeout(max, rx).await.ok()?.ok()
    }

    /// Negotiated channel ids the answering page makes for the next offers.
    pub fn set_negotiated(&self, ids: Vec<u16>) {
        self.shared.inner.lock().expect("lock").negotiated = ids;
    }
}

async fn result(State(s): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    {
        let mut i = s.inner.lock().expect("lock");
        i.results.push(v.clone());
        i.result = Some(v);
    }
    s.result_ready.notify_waiters();
    StatusCode::OK
}

async fn event(State(s): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
    s.inner.lock().expect("lock").events.push(v);
    StatusCode::OK
}

/// From `tern ping`: hand the offer to the page and wait for its answer.
async fn offer(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "bad JSON").into_response();
    };
    let sdp = v["sdp"].as_str().unwrap_or_default().to_string();
    let (tx, rx) = oneshot::channel();
    {
        let mut i = s.inner.lock().expect("lock");
        let id = i.next;
        i.next += 1;
        i.offers.push_back((id, sdp));
        i.answers.insert(id, tx);
    }
    s.offer_ready.notify_waiters();
    match tokio::time::timeout(Duration::from_secs(30), rx).await {
        Ok(Ok(a)) if a.get("error").is_none() => {
            ([("content-type", "application/json")], a.to_string()).into_response()
        }
        Ok(Ok(a)) => (StatusCode::INTERNAL_SERVER_ERROR, a.to_string()).into_response(),
        _ => (StatusCode::GATEWAY_TIMEOUT, "the page did not answer").into_response(),
    }
}

/// The page's long poll for the next offer.
async fn next_offer(State(s): State<Arc<Shared>>) -> Response {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let notified = s.offer_ready.notified();
        {
            let mut i = s.inner.lock().expect("lock");
            if let Some((id, sdp)) = i.offers.pop_front() {
                let body = json!({"id": id, "sdp": sdp, "negotiated": i.negotiated});
                return ([("content-type", "application/json")], body.to_string()).into_response();
            }
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return StatusCode::NO_CONTENT.into_response();
        }
    }
}

async fn answer(
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, u64>>,
    body: Bytes,
) -> StatusCode {
    let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let tx = q
        .get("id")
        .and_then(|id| s.inner.lock().expect("lock").answers.remove(id));
    match tx {
        Some(tx) => {
            let _ = tx.send(v);
            StatusCode::OK
        }
        None => StatusCode::NOT_FOUND,
    }
}

/// Headless Chromium on `url` (loopback only; flags from the interop guide).
pub fn start_chromium(url: &str) -> Peer {
    start_chromium_with(url, &[])
}

/// [`start_chromium`] with `extra` flags.
pub fn start_chromium_with(url: &str, extra: &[&str]) -> Peer {
    let chromium = PathBuf::from("/usr/lib/chromium/chromium");
    if !chromium.is_file() {
        require_binary("chromium", "chromium");
    }
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let profile = std::env::temp_dir().join(format!(
        "tern-chromium-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&profile);
    let args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        "--allow-loopback-in-peer-connection",
        "--enable-logging=stderr",
        "--v=0",
    ]
    .iter()
    .chain(extra)
    .map(|s| s.to_string())
    .chain([
        format!("--user-data-dir={}", profile.display()),
        url.to_string(),
    ])
    .collect();
    Peer::start("chromium", &chromium, &args)
}

/// `tern serve` on free loopback ports (HTTP and STUN) wanting tokens
/// signed with `token_secret`; returns it and its `http://` URL.
pub fn start_serve(token_secret: &str) -> (Peer, String) {
    let serve = Peer::start(
        "tern-serve",
        &tern_binary(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--stun-listen",
            "127.0.0.1:0",
            "--token-secret",
            token_secret,
        ]
        .map(String::from),
    );
    assert!(
        serve.wait_for("open http://", Duration::from_secs(10)),
        "{}",
        serve.output()
    );
    let url = serve
        .output()
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("URL")
        .trim_end_matches('/')
        .to_string();
    (serve, url)
}

/// A token for `room` (a name, `*`, or `prefix*`) from `tern token`.
pub fn tern_token(secret: &str, room: &str) -> String {
    let out = std::process::Command::new(tern_binary())
        .args(["token", "--secret", secret, "--room", room])
        .output()
        .expect("tern token");
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(token.split('.').count() == 3, "a JWT: {token}");
    token
}

/// The `tern` binary built next to the running test.
pub fn tern_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>/deps");
    let tern = dir.join("tern");
    assert!(
        tern.is_file(),
        "{} is missing: build it with `cargo build -p tern-cli` (scripts/test does)",
        tern.display()
    );
    tern
}
