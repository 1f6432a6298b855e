//! `tern send` and `tern recv`: files and directories peer to peer over a
//! data channel, after the code-authenticated rendezvous (see wormhole.rs).
//!
//! On the channel: the sender's header (`{"files":[{"path","size"}]}`), the
//! receiver's `{"accept":true}` or `{"error":…}`, then per file its bytes in
//! binary messages and `{"sha256":…}`; the receiver ends with `{"done":true}`.

use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use tern::{
    DataChannel, DataChannelInit, DataChannelMessage, PeerConnection, PeerConnectionEvent,
    RtcConfiguration,
};
use tern_crypto::digest::Sha256;

use crate::wormhole::{JoinError, Joined, Role};

const CHUNK: usize = 64 * 1024;
/// The longest `--text` (one data-channel message, which every browser takes).
const MAX_TEXT: usize = 64 * 1024;
/// Bytes read from disk at a time, and how many such blocks the reader may
/// be ahead of the network (the writer likewise behind it).
const BLOCK: usize = 1 << 20;
const READ_AHEAD: usize = 8;
const WRITE_BEHIND: usize = 128; // messages of up to CHUNK bytes
const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";
/// The most files one transfer may announce (the list is checked and kept
/// in memory before anything is accepted).
const MAX_FILES: usize = 100_000;

/// Arguments of `tern send`.
#[derive(clap::Args)]
pub struct SendArgs {
    /// Files and directories to send.
    #[arg(required_unless_present = "text")]
    paths: Vec<PathBuf>,
    /// Send this text instead of files (`-`: read it from standard input);
    /// `tern recv` prints it.
    #[arg(long, conflicts_with = "paths")]
    text: Option<String>,
    /// Where `tern serve` runs.
    #[arg(long, env = "TERN_SERVER", default_value = DEFAULT_SERVER)]
    server: String,
    /// A token, for a server started with --token-secret (from `tern token
    /// --room 'tern-wormhole-*'` there).
    #[arg(long, env = "TERN_TOKEN")]
    token: Option<String>,
    /// Use this code instead of a random one.
    #[arg(long)]
    code: Option<String>,
    /// Minutes to wait for the receiver.
    #[arg(long, default_value_t = 10)]
    wait: u64,
}

/// Arguments of `tern recv`.
#[derive(clap::Args)]
pub struct RecvArgs {
    /// The code `tern send` printed.
    code: String,
    /// Where `tern serve` runs.
    #[arg(long, env = "TERN_SERVER", default_value = DEFAULT_SERVER)]
    server: String,
    /// A token, for a server started with --token-secret (from `tern token
    /// --room 'tern-wormhole-*'` there).
    #[arg(long, env = "TERN_TOKEN")]
    token: Option<String>,
    /// Directory to write into.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Replace files that exist.
    #[arg(long)]
    overwrite: bool,
    /// Accept without asking (on a terminal, `tern recv` first shows what
    /// comes and asks; otherwise it accepts).
    #[arg(long, short = 'y')]
    yes: bool,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
struct Entry {
    path: String,
    size: u64,
}

#[derive(Serialize, Deserialize, Debug, Default)]
#[serde(default)]
struct Control {
    /// A text message instead of files.
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<Vec<Entry>>,
    /// Directories with no file under them, so they arrive too.
    #[serde(skip_serializing_if = "Option::is_none")]
    dirs: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    accept: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    done: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Every file under `paths`, with the relative path it gets on the other
/// side, and what was skipped (said to the user, never dropped silently).
/// Symbolic links are followed (a loop is cut where it closes); special
/// files and broken links inside a directory are skipped with a warning; two
/// files that would arrive under the same path are an error.
fn collect(paths: &[PathBuf]) -> Result<Collected, String> {
    let mut out = Vec::new();
    let mut dirs: Vec<String> = Vec::new();
    let mut skipped = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        // `.` and `..` are named after the directory they are.
        let named = if p.file_name().is_some() {
            p.clone()
        } else {
            p.canonicalize()
                .map_err(|e| format!("{}: {e}", p.display()))?
        };
        let base = named
            .file_name()
            .ok_or_else(|| format!("{}: give a file or directory name", p.display()))?
            .to_string_lossy()
            .to_string();
        if meta.is_file() {
            out.push((
                p.clone(),
                Entry {
                    path: base,
                    size: meta.len(),
                },
            ));
            continue;
        }
        if !meta.is_dir() {
            return Err(format!(
                "{}: not a regular file or directory (send a file or a directory)",
                p.display()
            ));
        }
        let mut visited = std::collections::HashSet::new();
        let mut stack = vec![(p.clone(), base)];
        while let Some((dir, rel)) = stack.pop() {
            if let Ok(real) = dir.canonicalize() {
                if !visited.insert(real) {
                    skipped.push(format!(
                        "{}: a link back into the tree (loop)",
                        dir.display()
                    ));
                    continue;
                }
            }
            dirs.push(rel.clone());
            let mut entries = Vec::new();
            for e in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
                match e {
                    Ok(e) => entries.push(e),
                    Err(e) => skipped.push(format!("{}: {e}", dir.display())),
                }
            }
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                let name = e.file_name().to_string_lossy().to_string();
                let path = e.path();
                match std::fs::metadata(&path) {
                    Ok(m) if m.is_dir() => stack.push((path, format!("{rel}/{name}"))),
                    Ok(m) if m.is_file() => out.push((
                        path,
                        Entry {
                            path: format!("{rel}/{name}"),
                            size: m.len(),
                        },
                    )),
                    Ok(_) => skipped.push(format!("{}: not a regular file", path.display())),
                    Err(err) => skipped.push(format!("{}: {err}", path.display())),
                }
            }
        }
    }
    let mut seen = std::collections::HashMap::new();
    for (path, e) in &out {
        if let Some(first) = seen.insert(e.path.as_str(), path) {
            return Err(format!(
                "{} and {} would both arrive as {}: send their directories, or rename one",
                first.display(),
                path.display(),
                e.path
            ));
        }
    }
    // A directory is empty on arrival unless some file's path lies under it.
    // Only the deepest ones are listed: creating those creates the rest.
    let under = |d: &str, p: &str| {
        p.len() > d.len() + 1 && p.starts_with(d) && p.as_bytes()[d.len()] == b'/'
    };
    let mut empty_dirs: Vec<String> = dirs
        .iter()
        .filter(|d| !out.iter().any(|(_, e)| under(d, &e.path)))
        .filter(|d| !dirs.iter().any(|o| under(d, o)))
        .cloned()
        .collect();
    empty_dirs.sort();
    Ok(Collected {
        files: out,
        empty_dirs,
        skipped,
    })
}

/// What `collect` found: each file (where it is, what it is called on the
/// other side) and why anything was left out.
struct Collected {
    files: Vec<(PathBuf, Entry)>,
    /// Directories with nothing to send under them (relative paths).
    empty_dirs: Vec<String>,
    skipped: Vec<String>,
}

/// `s` as a terminal may show it: control characters (escape sequences
/// that could rewrite the screen or the prompt, newlines in a file name)
/// are written as `\u{..}` escapes instead of being interpreted.
fn for_terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// The sum of the announced sizes, unless it overflows.
fn total_size(files: &[Entry]) -> Option<u64> {
    files.iter().try_fold(0u64, |t, e| t.checked_add(e.size))
}

/// Hidden files (a component starting with a dot), which a person at the
/// prompt should know about: `.bashrc`, `.ssh/…`.
fn hidden_count(files: &[Entry]) -> usize {
    files
        .iter()
        .filter(|e| e.path.split('/').any(|c| c.starts_with('.')))
        .count()
}

/// Shows what comes and asks the person at the terminal; `true` unless
/// they answer no (or standard input ends).
async fn ask(files: &[Entry], total: u64, out: &Path) -> bool {
    let mut list: Vec<String> = files
        .iter()
        .take(5)
        .map(|e| for_terminal(&e.path))
        .collect();
    let more = files.len().saturating_sub(list.len());
    if more > 0 {
        list.push(format!("… and {more} more"));
    }
    let hidden = match hidden_count(files) {
        0 => String::new(),
        n => format!(" ({n} of them hidden: names starting with a dot)"),
    };
    eprint!(
        "Receive {} file(s){hidden}, {:.1} MB, into {}?\n  {}\n[Y/n] ",
        files.len(),
        total as f64 / 1e6,
        out.display(),
        list.join("\n  ")
    );
    let answer = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|n| (n, line))
    })
    .await;
    match answer {
        Ok(Ok((0, _))) | Ok(Err(_)) | Err(_) => false,
        Ok(Ok((_, line))) => !line.trim().to_lowercase().starts_with('n'),
    }
}

/// Bytes an unprivileged writer may still use on the file system `dir` is
/// (or would be created) on; `None` if that cannot be told.
fn free_space(dir: &Path) -> Option<u64> {
    let existing = dir
        .ancestors()
        .find(|a| a.exists() && !a.as_os_str().is_empty());
    let st = rustix::fs::statvfs(existing.unwrap_or(Path::new("."))).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Where a received path goes, refusing anything that would escape `out`.
fn safe_path(out: &Path, rel: &str) -> Result<PathBuf, String> {
    let p = Path::new(rel);
    if rel.is_empty() || p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(format!(
            "refusing the path {rel:?} (it would leave the output directory)"
        ));
    }
    Ok(out.join(p))
}

/// Creates the directories of `target` below `out` one component at a
/// time, refusing to pass through a symbolic link: a link that already
/// sits inside `out` (say `out/docs -> /etc`) must not let a sender write
/// outside it. `target` comes from [`safe_path`], so it is `out` joined
/// with normal components only.
fn create_dirs_below(out: &Path, target: &Path) -> Result<(), String> {
    let rel = target.strip_prefix(out).map_err(|_| {
        format!(
            "refusing {} (not inside the output directory)",
            target.display()
        )
    })?;
    // `out` itself is the person's choice, links and all; below it only
    // what we create ourselves is trusted.
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut at = out.to_path_buf();
    let parents: Vec<Component> = rel.components().collect();
    for c in parents.iter().take(parents.len().saturating_sub(1)) {
        at.push(c);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!(
                    "refusing to write through the symbolic link {} (it may point outside the output directory)",
                    at.display()
                ))
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(format!("{} exists and is not a directory", at.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir(&at).map_err(|e| format!("{}: {e}", at.display()))?
            }
            Err(e) => return Err(format!("{}: {e}", at.display())),
        }
    }
    Ok(())
}

/// A new file that is not a link: `create_new` (O_CREAT|O_EXCL) neither
/// follows a symbolic link nor reuses a file someone put there.
fn create_part(part: &Path) -> std::io::Result<std::fs::File> {
    match std::fs::symlink_metadata(part) {
        // A stale part file of ours from an interrupted transfer goes; a
        // link or anything else in its place is left alone and refused.
        Ok(m) if m.is_file() => std::fs::remove_file(part)?,
        _ => {}
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(part)
}

fn bar(total: u64) -> ProgressBar {
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

fn control(m: &Control) -> String {
    serde_json::to_string(m).unwrap_or_default()
}

async fn next_control(dc: &mut DataChannel, wait: Duration) -> Result<Control, String> {
    match tokio::time::timeout(wait, dc.recv()).await {
        Err(_) => Err("the other side stopped responding".into()),
        Ok(None) => Err("the other side went away (channel closed)".into()),
        Ok(Some(DataChannelMessage::Text(t))) => {
            serde_json::from_str(&t).map_err(|e| format!("the other side sent {t:?}: {e}"))
        }
        Ok(Some(_)) => Err("the other side sent data out of turn".into()),
    }
}

/// A peer with the server's STUN and TURN servers (from its `/config`).
async fn peer(server: &str) -> Result<PeerConnection, String> {
    let bind_loopback = loopback_server(server);
    let ice_servers = crate::signal::ice_servers(server, Duration::from_secs(5)).await;
    PeerConnection::new(RtcConfiguration {
        bind_addresses: bind_loopback.then(|| vec![std::net::IpAddr::from([127, 0, 0, 1])]),
        ice_servers,
        ..RtcConfiguration::default()
    })
    .await
    .map_err(|e| e.to_string())
}

/// Loopback only when the server is on loopback (so tests and local use
/// stay local); otherwise every interface.
fn loopback_server(server: &str) -> bool {
    server.contains("127.0.0.1") || server.contains("localhost") || server.contains("[::1]")
}

/// Why the receiver stopped us mid-transfer: its error message if one came
/// before the channel closed, else `fallback`.
async fn why_stopped(dc: &mut DataChannel, fallback: String) -> String {
    loop {
        match tokio::time::timeout(Duration::from_secs(2), dc.recv()).await {
            Ok(Some(DataChannelMessage::Text(t))) => {
                if let Some(e) = serde_json::from_str::<Control>(&t)
                    .ok()
                    .and_then(|c| c.error)
                {
                    return format!("the receiver failed: {e}");
                }
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return fallback,
        }
    }
}

/// What the reader thread hands the sending task.
enum Piece {
    /// The next block of the current file (and that file's name).
    Data(Bytes, String),
    /// The current file is done: its SHA-256.
    End(String),
    /// Reading failed; the transfer stops with this message.
    Failed(String),
}

/// Reads and hashes every file in blocks, on a blocking thread.
fn read_files(files: &[(PathBuf, Entry)], out: &tokio::sync::mpsc::Sender<Piece>) {
    use std::io::Read;
    for (path, entry) in files {
        let mut f = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => {
                let _ = out.blocking_send(Piece::Failed(format!("{}: {e}", path.display())));
                return;
            }
        };
        let mut hash = Sha256::new();
        let mut left = entry.size;
        while left > 0 {
            let mut block = vec![0u8; BLOCK.min(usize::try_from(left).unwrap_or(BLOCK))];
            if let Err(e) = f.read_exact(&mut block) {
                let why = format!("{}: {e} (did it change while sending?)", path.display());
                let _ = out.blocking_send(Piece::Failed(why));
                return;
            }
            hash.update(&block);
            left -= block.len() as u64;
            if out
                .blocking_send(Piece::Data(Bytes::from(block), entry.path.clone()))
                .is_err()
            {
                return; // the sending task gave up
            }
        }
        if out.blocking_send(Piece::End(hex(&hash.finish()))).is_err() {
            return;
        }
    }
}

/// Writes and hashes one received file on a blocking thread; returns its
/// SHA-256 once the channel closes, or the write error.
fn write_file(
    f: std::fs::File,
    mut pieces: tokio::sync::mpsc::Receiver<Vec<u8>>,
) -> std::io::Result<String> {
    use std::io::Write;
    let mut w = std::io::BufWriter::with_capacity(BLOCK, f);
    let mut hash = Sha256::new();
    while let Some(b) = pieces.blocking_recv() {
        hash.update(&b);
        w.write_all(&b)?;
    }
    // On disk before the sender is told the transfer succeeded.
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(hex(&hash.finish()))
}

pub async fn send(args: SendArgs) -> Result<ExitCode, String> {
    let text = match args.text.as_deref() {
        Some("-") => {
            let mut t = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut t)
                .map_err(|e| format!("reading the text from standard input: {e}"))?;
            Some(t)
        }
        t => t.map(str::to_string),
    };
    if text.as_ref().is_some_and(|t| t.len() > MAX_TEXT) {
        return Err(format!(
            "the text is over {MAX_TEXT} bytes: put it in a file and send that"
        ));
    }
    let Collected {
        files,
        empty_dirs,
        skipped,
    } = collect(&args.paths)?;
    for why in &skipped {
        eprintln!("skipping {why}");
    }
    let total: u64 = files.iter().map(|(_, e)| e.size).sum();
    let token = args.token.as_deref();
    let joined = match &args.code {
        Some(code) => match Joined::join(&args.server, token, code, Role::Sender).await {
            Ok(j) => j,
            Err(JoinError::Busy(e) | JoinError::Other(e)) => return Err(e),
        },
        None => Joined::join_random(&args.server, token).await?,
    };
    let code = joined.code().to_string();
    let what = match &text {
        Some(t) => format!("a text of {} bytes", t.len()),
        None => format!("{} file(s), {total} bytes", files.len()),
    };
    eprintln!(
        "Sending {what}. On the other machine run:\n\n    tern recv {code}{}{}\n",
        if args.server == DEFAULT_SERVER {
            String::new()
        } else {
            format!(" --server {}", args.server)
        },
        // The token is a secret of its own: name the flag, not the value.
        if args.token.is_some() {
            " --token <a tern-wormhole-* token>"
        } else {
            ""
        }
    );
    println!("code: {code}");
    let wait = Duration::from_secs(args.wait * 60);
    let mut rv = joined.meet(wait).await?;
    let pc = peer(&args.server).await?;
    let mut dc = pc
        .create_data_channel("tern-transfer", DataChannelInit::default())
        .await
        .map_err(|e| e.to_string())?;
    let offer = async {
        pc.set_local_description(pc.create_offer().await?).await?;
        pc.gathering_complete().await?;
        pc.local_description().await
    }
    .await
    .map_err(|e| e.to_string())?
    .ok_or("no offer")?;
    rv.send_description(&offer).await?;
    let answer = rv.recv_description(Duration::from_secs(60)).await?;
    pc.set_remote_description(answer)
        .await
        .map_err(|e| e.to_string())?;
    tokio::time::timeout(Duration::from_secs(30), dc.wait_open())
        .await
        .map_err(|_| {
            "could not connect to the other side (no data channel after 30 s)".to_string()
        })?
        .map_err(|_| "the data channel closed before it opened".to_string())?;
    rv.close().await; // signaling is done: the code's number is free again
    if let Some(text) = text {
        dc.send_text(control(&Control {
            text: Some(text),
            ..Control::default()
        }))
        .await
        .map_err(|e| e.to_string())?;
        let end = next_control(&mut dc, Duration::from_secs(60)).await?;
        if let Some(e) = end.error {
            return Err(format!("the receiver refused: {e}"));
        }
        if end.done != Some(true) {
            return Err("the receiver did not confirm the text".into());
        }
        eprintln!("text sent");
        let _ = dc.close().await;
        pc.close().await;
        return Ok(ExitCode::SUCCESS);
    }
    let header = Control {
        files: Some(files.iter().map(|(_, e)| e.clone()).collect()),
        dirs: (!empty_dirs.is_empty()).then_some(empty_dirs),
        ..Control::default()
    };
    dc.send_text(control(&header))
        .await
        .map_err(|e| e.to_string())?;
    // The receiver may be asking its person first.
    let reply = next_control(&mut dc, wait.max(Duration::from_secs(60))).await?;
    if let Some(e) = reply.error {
        return Err(format!("the receiver refused: {e}"));
    }
    let pb = bar(total);
    let t0 = Instant::now();
    let tx = dc.sender();
    // A reader thread reads and hashes ahead while this task sends.
    let (pieces, mut next) = tokio::sync::mpsc::channel(READ_AHEAD);
    let reader = {
        let files = files.clone();
        tokio::task::spawn_blocking(move || read_files(&files, &pieces))
    };
    while let Some(piece) = next.recv().await {
        match piece {
            Piece::Data(block, name) => {
                let mut off = 0;
                while off < block.len() {
                    let chunk = block.slice(off..(off + CHUNK).min(block.len()));
                    off += chunk.len();
                    pb.inc(chunk.len() as u64);
                    if let Err(e) = tx.send_binary(chunk).await {
                        return Err(why_stopped(
                            &mut dc,
                            format!("sending {name}: {e} (the other side went away?)"),
                        )
                        .await);
                    }
                }
            }
            Piece::End(sha256) => {
                let done = Control {
                    sha256: Some(sha256),
                    ..Control::default()
                };
                tx.send_text(control(&done))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Piece::Failed(why) => return Err(why),
        }
    }
    let _ = reader.await;
    let end = next_control(&mut dc, Duration::from_secs(120)).await?;
    pb.finish_and_clear();
    if let Some(e) = end.error {
        return Err(format!("the receiver failed: {e}"));
    }
    let secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "sent {} file(s), {total} bytes in {secs:.2} s ({:.1} MB/s), checksums verified by the receiver",
        files.len(),
        total as f64 / 1e6 / secs.max(1e-9)
    );
    let _ = dc.close().await;
    pc.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn recv(args: RecvArgs) -> Result<ExitCode, String> {
    let joined = Joined::join(
        &args.server,
        args.token.as_deref(),
        &args.code,
        Role::Receiver,
    )
    .await
    .map_err(|(JoinError::Busy(e) | JoinError::Other(e))| e)?;
    let mut rv = joined.meet(Duration::from_secs(60)).await?;
    let mut pc = peer(&args.server).await?;
    let offer = rv.recv_description(Duration::from_secs(60)).await?;
    pc.set_remote_description(offer)
        .await
        .map_err(|e| e.to_string())?;
    let answer = async {
        pc.set_local_description(pc.create_answer().await?).await?;
        pc.gathering_complete().await?;
        pc.local_description().await
    }
    .await
    .map_err(|e| e.to_string())?
    .ok_or("no answer")?;
    rv.send_description(&answer).await?;
    let mut dc = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match pc.next_event().await {
                Some(PeerConnectionEvent::DataChannel(dc)) => return Ok(dc),
                Some(_) => continue,
                None => return Err("the connection closed".to_string()),
            }
        }
    })
    .await
    .map_err(|_| "could not connect to the sender (no data channel after 30 s)".to_string())??;
    rv.close().await;
    let result = receive_files(&mut dc, &args).await;
    if result.is_err() {
        // Let our error reach the sender: a graceful close sends what is
        // queued first.
        let _ = dc.close().await;
        let _ = tokio::time::timeout(Duration::from_secs(3), dc.wait_closed()).await;
    } else {
        // Let the "done" reach the sender before closing.
        let _ = tokio::time::timeout(Duration::from_secs(5), dc.wait_closed()).await;
    }
    pc.close().await;
    result
}

/// The receiving half once the channel is open: header, files, verdict.
async fn receive_files(dc: &mut DataChannel, args: &RecvArgs) -> Result<ExitCode, String> {
    let header = next_control(dc, Duration::from_secs(60)).await?;
    if let Some(text) = header.text {
        // The text on standard output, alone (scripts take it from there);
        // on a terminal its control characters are shown, not obeyed.
        if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            let lines: Vec<String> = text.split('\n').map(for_terminal).collect();
            println!("{}", lines.join("\n"));
        } else {
            println!("{text}");
        }
        dc.send_text(control(&Control {
            done: Some(true),
            ..Control::default()
        }))
        .await
        .map_err(|e| e.to_string())?;
        return Ok(ExitCode::SUCCESS);
    }
    let files = header.files.ok_or("the sender sent no file list")?;
    let dirs = header.dirs.unwrap_or_default();
    let tx = dc.sender();
    let refuse = |why: String| async {
        let _ = tx
            .send_text(control(&Control {
                error: Some(why.clone()),
                ..Control::default()
            }))
            .await;
        Err::<ExitCode, String>(why)
    };
    if files.len() > MAX_FILES {
        return refuse(format!(
            "the sender listed {} files; at most {MAX_FILES} are taken at once",
            files.len()
        ))
        .await;
    }
    let mut targets = Vec::with_capacity(files.len());
    let mut seen = std::collections::HashSet::with_capacity(files.len());
    for e in &files {
        let p = match safe_path(&args.out, &e.path) {
            Ok(p) => p,
            Err(why) => return refuse(why).await,
        };
        if p.exists() && !args.overwrite {
            return refuse(format!(
                "{} exists (use --overwrite or another --out)",
                p.display()
            ))
            .await;
        }
        if !seen.insert(p.clone()) {
            return refuse(format!("the sender listed {} twice", for_terminal(&e.path))).await;
        }
        targets.push(p);
    }
    let mut empty_dirs = Vec::new();
    for d in &dirs {
        match safe_path(&args.out, d) {
            Ok(p) => empty_dirs.push(p),
            Err(why) => return refuse(why).await,
        }
    }
    // Checked: sizes of 2^64-1 and 1 must not wrap to 0 and slip past the
    // free-space check and the prompt.
    let Some(total) = total_size(&files) else {
        return refuse("the sender's file sizes add up to more than 2^64 bytes".into()).await;
    };
    if let Some(free) = free_space(&args.out) {
        if total > free {
            return refuse(format!(
                "{total} bytes do not fit in {}: {free} bytes are free there (choose another --out)",
                args.out.display()
            ))
            .await;
        }
    }
    if !args.yes
        && std::io::IsTerminal::is_terminal(&std::io::stdin())
        && !ask(&files, total, &args.out).await
    {
        return refuse("the receiver declined".into()).await;
    }
    tx.send_text(control(&Control {
        accept: Some(true),
        ..Control::default()
    }))
    .await
    .map_err(|e| e.to_string())?;
    let pb = bar(total);
    let t0 = Instant::now();
    for (e, target) in files.iter().zip(&targets) {
        if let Err(why) = create_dirs_below(&args.out, target) {
            return refuse(why).await;
        }
        let part = target.with_extension(format!(
            "{}tern-part",
            target
                .extension()
                .map(|x| format!("{}.", x.to_string_lossy()))
                .unwrap_or_default()
        ));
        let file = match create_part(&part) {
            Ok(f) => f,
            Err(err) => return refuse(format!("{}: {err}", part.display())).await,
        };
        let (to_writer, pieces) = tokio::sync::mpsc::channel(WRITE_BEHIND);
        let writer = tokio::task::spawn_blocking(move || write_file(file, pieces));
        let write_failed = |writer: tokio::task::JoinHandle<std::io::Result<String>>| async {
            let err = match writer.await {
                Ok(Err(err)) => err.to_string(),
                Ok(Ok(_)) => "the writer stopped early".to_string(),
                Err(err) => err.to_string(),
            };
            let _ = tokio::fs::remove_file(&part).await;
            format!("writing {}: {err} (disk full?)", target.display())
        };
        let mut got = 0u64;
        while got < e.size {
            match tokio::time::timeout(Duration::from_secs(60), dc.recv()).await {
                Ok(Some(DataChannelMessage::Binary(b))) => {
                    got += b.len() as u64;
                    pb.inc(b.len() as u64);
                    if to_writer.send(b).await.is_err() {
                        return refuse(write_failed(writer).await).await;
                    }
                }
                // The file stops short: let the writer finish, then drop
                // what it wrote.
                other => {
                    drop(to_writer);
                    let _ = writer.await;
                    let _ = tokio::fs::remove_file(&part).await;
                    return match other {
                        Ok(Some(_)) => {
                            refuse(format!("{}: the sender's data was cut short", e.path)).await
                        }
                        Ok(None) => {
                            Err("the sender went away in the middle of the transfer".into())
                        }
                        Err(_) => refuse("no data for 60 s".into()).await,
                    };
                }
            }
        }
        drop(to_writer);
        let mine = match writer.await {
            Ok(Ok(h)) => h,
            Ok(Err(err)) => {
                let _ = tokio::fs::remove_file(&part).await;
                return refuse(format!("writing {}: {err} (disk full?)", target.display())).await;
            }
            Err(err) => return refuse(err.to_string()).await,
        };
        if got != e.size {
            let _ = tokio::fs::remove_file(&part).await;
            return refuse(format!("{}: got {got} bytes, expected {}", e.path, e.size)).await;
        }
        let end = match next_control(dc, Duration::from_secs(60)).await {
            Ok(end) => end,
            Err(why) => {
                let _ = tokio::fs::remove_file(&part).await;
                return Err(why);
            }
        };
        if end.sha256.as_deref() != Some(mine.as_str()) {
            let _ = tokio::fs::remove_file(&part).await;
            return refuse(format!("{}: checksum mismatch, file discarded", e.path)).await;
        }
        if let Err(err) = tokio::fs::rename(&part, target).await {
            return refuse(format!("{}: {err}", target.display())).await;
        }
    }
    for d in &empty_dirs {
        // The directory itself too: its last component is a directory.
        if let Err(why) = create_dirs_below(&args.out, &d.join("x")) {
            return refuse(why).await;
        }
    }
    pb.finish_and_clear();
    tx.send_text(control(&Control {
        done: Some(true),
        ..Control::default()
    }))
    .await
    .map_err(|e| e.to_string())?;
    let secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "received {} file(s), {total} bytes in {secs:.2} s ({:.1} MB/s) into {}; SHA-256 verified",
        files.len(),
        total as f64 / 1e6 / secs.max(1e-9),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tern-collect-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn paths(files: &[(PathBuf, Entry)]) -> Vec<&str> {
        files.iter().map(|(_, e)| e.path.as_str()).collect()
    }

    /// Links are followed, loops cut, and what is skipped is said.
    #[test]
    fn directories_follow_links_and_say_what_they_skip() {
        let d = tmp("links");
        let tree = d.join("tree");
        std::fs::create_dir_all(tree.join("sub")).unwrap();
        std::fs::write(tree.join("a.txt"), b"a").unwrap();
        std::fs::write(d.join("outside.txt"), b"outside").unwrap();
        std::os::unix::fs::symlink(d.join("outside.txt"), tree.join("link.txt")).unwrap();
        std::os::unix::fs::symlink(d.join("missing"), tree.join("broken")).unwrap();
        std::os::unix::fs::symlink(&tree, tree.join("sub/loop")).unwrap();
        std::fs::create_dir_all(tree.join("empty/deeper")).unwrap();
        let Collected {
            files,
            empty_dirs,
            skipped,
        } = collect(std::slice::from_ref(&tree)).unwrap();
        // sub holds only the loop, which is skipped: it arrives empty.
        assert_eq!(empty_dirs, ["tree/empty/deeper", "tree/sub"]);
        assert_eq!(paths(&files), ["tree/a.txt", "tree/link.txt"]);
        assert_eq!(files[1].1.size, 7, "the link's target");
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(skipped.iter().any(|s| s.contains("broken")), "{skipped:?}");
        assert!(skipped.iter().any(|s| s.contains("loop")), "{skipped:?}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn dot_is_the_directory_and_same_names_are_an_error() {
        let d = tmp("names");
        std::fs::create_dir_all(d.join("x")).unwrap();
        std::fs::create_dir_all(d.join("y")).unwrap();
        std::fs::write(d.join("x/same.txt"), b"1").unwrap();
        std::fs::write(d.join("y/same.txt"), b"2").unwrap();
        let files = collect(&[d.join("x/.")]).unwrap().files;
        assert_eq!(paths(&files), ["x/same.txt"]);
        let e = collect(&[d.join("x/same.txt"), d.join("y/same.txt")])
            .err()
            .unwrap();
        assert!(e.contains("would both arrive as same.txt"), "{e}");
        let files = collect(&[d.join("x"), d.join("y")]).unwrap().files;
        assert_eq!(paths(&files), ["x/same.txt", "y/same.txt"]);
        let e = collect(&[PathBuf::from("/dev/null")]).err().unwrap();
        assert!(e.contains("not a regular file or directory"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    fn entry(path: &str, size: u64) -> Entry {
        Entry {
            path: path.into(),
            size,
        }
    }

    #[test]
    fn sizes_that_would_wrap_are_refused() {
        assert_eq!(total_size(&[entry("a", u64::MAX), entry("b", 1)]), None);
        assert_eq!(total_size(&[entry("a", 5), entry("b", 7)]), Some(12));
    }

    #[test]
    fn names_and_texts_show_escape_codes_instead_of_obeying_them() {
        assert_eq!(for_terminal("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(for_terminal("two\nlines"), "two\\u{a}lines");
        assert_eq!(for_terminal("fine ✓.txt"), "fine ✓.txt");
        assert_eq!(
            hidden_count(&[entry(".bashrc", 1), entry("a/.ssh/id", 1), entry("b", 1)]),
            2
        );
    }

    #[test]
    fn directories_are_never_made_through_a_link() {
        let d = tmp("no-escape");
        let out = d.join("out");
        let outside = d.join("outside");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, out.join("docs")).unwrap();
        let target = safe_path(&out, "docs/deep/passwd").unwrap();
        let e = create_dirs_below(&out, &target).unwrap_err();
        assert!(e.contains("symbolic link"), "{e}");
        assert!(std::fs::read_dir(&outside).unwrap().next().is_none());
        // Normal nesting is made.
        let target = safe_path(&out, "a/b/c.txt").unwrap();
        create_dirs_below(&out, &target).unwrap();
        assert!(out.join("a/b").is_dir());
        // A link where the part file goes is not followed or replaced.
        std::fs::write(outside.join("victim"), b"keep").unwrap();
        let part = out.join("a/b/c.txt.tern-part");
        std::os::unix::fs::symlink(outside.join("victim"), &part).unwrap();
        assert!(create_part(&part).is_err());
        assert_eq!(std::fs::read(outside.join("victim")).unwrap(), b"keep");
        let _ = std::fs::remove_dir_all(&d);
    }
}
