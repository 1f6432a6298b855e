//! The HTTP signaling contract of `tern echo` / `tern ping`: `POST /offer`
//! with `{"type":"offer","sdp":"…"}` answers `{"type":"answer","sdp":"…"}`
//! with every candidate inside (no trickle).

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use tern::{RtcSessionDescription, SdpType};

/// The largest signaling body accepted either way.
pub const MAX_BODY: usize = 256 * 1024;

/// `RTCSessionDescriptionInit` as JSON.
#[derive(Debug, Serialize, Deserialize)]
pub struct Description {
    #[serde(rename = "type")]
    pub kind: String,
    pub sdp: String,
}

impl Description {
    pub fn from_rtc(d: &RtcSessionDescription) -> Self {
        Description {
            kind: d.sdp_type.as_str().to_string(),
            sdp: d.sdp.clone(),
        }
    }
    pub fn to_rtc(&self, want: SdpType) -> Result<RtcSessionDescription, String> {
        let kind: SdpType = self.kind.parse()?;
        if kind != want {
            return Err(format!("expected a description of type {want}, got {kind}"));
        }
        Ok(RtcSessionDescription {
            sdp_type: kind,
            sdp: self.sdp.clone(),
        })
    }
}

/// The `/offer` URL for what the user typed: a base URL gets `/offer` added.
pub fn offer_url(url: &str) -> Result<hyper::Uri, String> {
    let u: hyper::Uri = url
        .parse()
        .map_err(|e| format!("{url:?} is not a URL ({e}); try http://127.0.0.1:8080"))?;
    match u.scheme_str() {
        Some("http") => {}
        Some("https") => return Err(format!("{url}: https is not supported yet; use http://")),
        _ => {
            return Err(format!(
                "{url}: give a full http:// URL, e.g. http://127.0.0.1:8080"
            ))
        }
    }
    if u.path().ends_with("/offer") {
        return Ok(u);
    }
    let base = url.trim_end_matches('/');
    format!("{base}/offer")
        .parse()
        .map_err(|e| format!("{url}: {e}"))
}

/// POSTs our offer and returns the answer, within `timeout`.
pub async fn exchange(
    url: &hyper::Uri,
    offer: &RtcSessionDescription,
    timeout: Duration,
) -> Result<RtcSessionDescription, String> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let body = serde_json::to_vec(&Description::from_rtc(offer)).map_err(|e| e.to_string())?;
    let req = hyper::Request::post(url.clone())
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let res = tokio::time::timeout(timeout, client.request(req))
        .await
        .map_err(|_| format!("{url} did not answer within {} s", timeout.as_secs()))?
        .map_err(|e| format!("cannot reach {url}: {e} (is `tern echo` running there?)"))?;
    let status = res.status();
    let bytes = tokio::time::timeout(timeout, Limited::new(res.into_body(), MAX_BODY).collect())
        .await
        .map_err(|_| {
            format!(
                "{url}: the answer did not arrive within {} s",
                timeout.as_secs()
            )
        })?
        .map_err(|e| format!("{url}: reading the answer: {e}"))?
        .to_bytes();
    if !status.is_success() {
        let text = String::from_utf8_lossy(&bytes);
        return Err(format!("{url} refused the offer: {status} {}", text.trim()));
    }
    let d: Description = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{url} did not answer with {{\"type\":\"answer\",\"sdp\":…}}: {e}"))?;
    d.to_rtc(SdpType::Answer)
}

/// The ICE servers `tern serve` hands out at `/config` (its STUN server and,
/// with `--turn`, a relay with fresh credentials), keeping the URLs tern
/// peers can use (`stun:`, and `turn:` over UDP). A server that has no
/// `/config` or does not answer within `timeout` gives none: the peers then
/// use host candidates only.
pub async fn ice_servers(server: &str, timeout: Duration) -> Vec<tern::IceServer> {
    let Ok(url) = format!("{}/config", server.trim_end_matches('/')).parse::<hyper::Uri>() else {
        return Vec::new();
    };
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let fetch = async {
        let res = client.get(url.clone()).await.ok()?;
        if !res.status().is_success() {
            return None;
        }
        let body = Limited::new(res.into_body(), MAX_BODY)
            .collect()
            .await
            .ok()?;
        serde_json::from_slice::<serde_json::Value>(&body.to_bytes()).ok()
    };
    let Ok(Some(v)) = tokio::time::timeout(timeout, fetch).await else {
        tracing::debug!("{url}: no ICE servers (host candidates only)");
        return Vec::new();
    };
    let usable = |u: &str| {
        u.starts_with("stun:")
            || (u.starts_with("turn:") && (!u.contains('?') || u.ends_with("?transport=udp")))
    };
    v["iceServers"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|s| {
            let urls: Vec<String> = s["urls"]
                .as_array()?
                .iter()
                .filter_map(|u| u.as_str())
                .filter(|u| usable(u))
                .map(str::to_string)
                .collect();
            (!urls.is_empty()).then(|| tern::IceServer {
                urls,
                username: s["username"].as_str().map(str::to_string),
                credential: s["credential"].as_str().map(str::to_string),
            })
        })
        .collect()
}
