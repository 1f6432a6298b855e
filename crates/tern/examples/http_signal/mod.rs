//! The browser-facing examples' signaling: a tiny HTTP/1.1 server on tokio
//! that serves a page and takes SDP offers as POSTed text, answering with
//! the answer's SDP. One request per connection, bodies up to 1 MiB; enough
//! for a page on the same machine, not a web server.
#![allow(dead_code)] // each example uses its part

use std::future::Future;
use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const MAX_BODY: usize = 1 << 20;

/// One request: method, path and body.
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: Vec<u8>,
}

/// A response: status, content type and body.
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Response {
    pub fn html(page: &str) -> Self {
        Self::with(200, "text/html; charset=utf-8", page)
    }
    pub fn text(s: impl Into<String>) -> Self {
        Self::with(200, "text/plain; charset=utf-8", s.into())
    }
    pub fn error(status: u16, s: impl Into<String>) -> Self {
        Self::with(status, "text/plain; charset=utf-8", s.into())
    }
    fn with(status: u16, content_type: &'static str, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type,
            body: body.into().into_bytes(),
        }
    }
}

/// `--http ADDR` from the command line (default 127.0.0.1:8080).
pub fn http_address(args: &[String]) -> Result<SocketAddr, String> {
    match args.iter().position(|a| a == "--http") {
        Some(i) => args
            .get(i + 1)
            .ok_or("--http needs an address")?
            .parse()
            .map_err(|e| format!("--http: {e}")),
        None => Ok("127.0.0.1:8080".parse().expect("a valid address")),
    }
}

/// The addresses to gather candidates on: the HTTP address's IP when it is
/// a specific one (127.0.0.1 keeps everything on loopback), else all.
pub fn bind_addresses(http: &SocketAddr) -> Option<Vec<IpAddr>> {
    (!http.ip().is_unspecified()).then(|| vec![http.ip()])
}

/// Binds `addr` and prints `LABEL: listening on http://…/` (the first line
/// of output, which the tests read).
pub async fn listen(label: &str, addr: SocketAddr) -> std::io::Result<TcpListener> {
    let l = TcpListener::bind(addr).await?;
    println!("{label}: listening on http://{}/", l.local_addr()?);
    Ok(l)
}

/// Serves requests from `listener` with `handler`, each connection in its
/// own task, until the process ends.
pub async fn serve<F, Fut>(listener: TcpListener, handler: F)
where
    F: Fn(Request) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Response> + Send,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let (r, mut w) = stream.into_split();
            let response = match read_request(BufReader::new(r)).await {
                Ok(req) => handler(req).await,
                Err(e) => Response::error(400, e),
            };
            let head = format!(
                "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                response.status,
                if response.status == 200 { "OK" } else { "Error" },
                response.content_type,
                response.body.len()
            );
            let _ = w.write_all(head.as_bytes()).await;
            let _ = w.write_all(&response.body).await;
            let _ = w.shutdown().await;
        });
    }
}

async fn read_request<R: tokio::io::AsyncRead + Unpin>(
    mut r: BufReader<R>,
) -> Result<Request, String> {
    let mut line = String::new();
    r.read_line(&mut line).await.map_err(|e| e.to_string())?;
    let mut parts = line.split_whitespace();
    let method = parts.next().ok_or("no request line")?.to_string();
    let path = parts.next().ok_or("no path")?.to_string();
    let mut len = 0usize;
    loop {
        line.clear();
        if r.read_line(&mut line).await.map_err(|e| e.to_string())? == 0 {
            return Err("the request ended in its headers".into());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().map_err(|_| "bad Content-Length")?;
            }
        }
    }
    if len > MAX_BODY {
        return Err("body too large".into());
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).await.map_err(|e| e.to_string())?;
    Ok(Request { method, path, body })
}

/// Applies the browser's offer to `pc` and returns the answer's SDP with
/// every candidate inside (no trickle).
pub async fn answer(pc: &tern::PeerConnection, offer: &[u8]) -> Result<String, String> {
    let sdp = String::from_utf8(offer.to_vec()).map_err(|_| "the offer is not UTF-8")?;
    pc.set_remote_description(tern::RtcSessionDescription::offer(sdp))
        .await
        .map_err(|e| format!("bad offer: {e}"))?;
    answer_local(pc).await
}

/// Creates and applies the answer to the offer already set on `pc`.
pub async fn answer_local(pc: &tern::PeerConnection) -> Result<String, String> {
    let a = async {
        pc.set_local_description(pc.create_answer().await?).await?;
        pc.gathering_complete().await?;
        pc.local_description().await
    }
    .await
    .map_err(|e| format!("cannot answer: {e}"))?;
    Ok(a.ok_or("no local description")?.sdp)
}

/// `--NAME VALUE` from the command line.
pub fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).map(String::as_str)
}
