//! `tern send` / `tern recv` against the browser app of `tern serve` in
//! headless Chromium: the CLI sends a directory and a file to a page, the
//! page sends two files (one in a subdirectory) to the CLI and to another
//! page, and a page with a wrong code gets a clear error while no byte
//! reaches it. The server wants tokens: every side passes one. Both sides run
//! SPAKE2 (Rust `spake2` crate ↔ the page's wormhole.js) and check the MACs
//! on offer and answer, so this proves the two implementations agree.
#![allow(clippy::disallowed_methods)] // real processes, real time

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tern_crypto::digest::Sha256;
use tern_crypto::{OsRandom, Random};
use tern_interop::browser::{start_chromium, start_serve, tern_binary, tern_token, Harness};
use tern_interop::Peer;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sha256_file(p: &Path) -> String {
    let mut h = Sha256::new();
    h.update(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())));
    hex(&h.finish())
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tern-whb-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn random_file(p: &Path, len: usize) {
    let mut b = vec![0u8; len];
    OsRandom.fill(&mut b);
    std::fs::write(p, b).expect("write");
}

/// What the page logged, and Chromium's errors, for failure messages.
fn browser_log(browser: &Peer) -> String {
    browser
        .output()
        .lines()
        .filter(|l| l.contains("[tern]") || l.contains("ERROR"))
        .collect::<Vec<_>>()
        .join("\n")
}

struct Setup {
    serve: Peer,
    url: String,
    harness: Harness,
    /// The server wants tokens; this one (`tern token --room
    /// 'tern-wormhole-*'`) admits every rendezvous, for pages and the CLI.
    token: String,
}

impl Setup {
    fn start() -> Setup {
        let (serve, url) = start_serve("wormhole-test-secret");
        Setup {
            serve,
            url,
            harness: Harness::start(),
            token: tern_token("wormhole-test-secret", "tern-wormhole-*"),
        }
    }

    fn page(&self, query: &str) -> Peer {
        start_chromium(&format!(
            "{}/?{query}&token={}&report={}/result",
            self.url, self.token, self.harness.url
        ))
    }

    fn tern(&self, name: &str, args: &[&str]) -> Peer {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend([
            "--server".to_string(),
            self.url.clone(),
            "--token".to_string(),
            self.token.clone(),
        ]);
        Peer::start(name, &tern_binary(), &all)
    }

    /// The code a sending page picked, once it holds the code's room.
    fn joined_code(&self, browser: &Peer) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(e) = self.harness.events().iter().find(|e| e["joined"] == true) {
                self.harness.clear_events();
                let code = e["code"].as_str().expect("the code").to_string();
                assert!(code.split('-').count() == 3, "number-word-word: {code}");
                return code;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the sending page never joined\n{}",
                browser_log(browser)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn result(&self, browser: &Peer) -> Value {
        let r = self.harness.wait_result(Duration::from_secs(90));
        r.unwrap_or_else(|| {
            panic!(
                "the page reported nothing\nbrowser: {}\nserve: {}",
                browser_log(browser),
                self.serve.output()
            )
        })
    }
}

#[test]
fn cli_and_browser_send_both_ways_and_a_wrong_code_gets_nothing() {
    let s = Setup::start();

    // CLI -> page: a directory with a file in a subdirectory, and a file.
    let src = tmp("src");
    std::fs::create_dir_all(src.join("photos/2026")).unwrap();
    // Over 64 MiB, so the page folds what it received into a Blob on the way.
    random_file(&src.join("photos/2026/big.bin"), 72 << 20);
    random_file(&src.join("photos/list.txt"), 1000);
    random_file(&src.join("single.bin"), 300_000);
    let code = "41-otter-walnut";
    let photos = src.join("photos").display().to_string();
    let single = src.join("single.bin").display().to_string();
    let mut send = s.tern("send", &["send", &photos, &single, "--code", code]);
    assert!(
        send.wait_for("code:", Duration::from_secs(10)),
        "{}",
        send.output()
    );
    // The page hashes the big file piece by piece (it would hash files up
    // to 256 MiB in one go): both paths of wormhole.js are exercised.
    let browser = s.page(&format!(
        "wormhole=recv&code={code}&hashInMemory={}",
        1 << 20
    ));
    let r = s.result(&browser);
    println!(
        "page received: {r} ({:.1} MB/s)",
        (72 << 20) as f64 / 1e6 / r["dataSecs"].as_f64().unwrap_or(f64::NAN)
    );
    assert!(
        r["error"].is_null(),
        "{r}\nsend: {}\nbrowser: {}",
        send.output(),
        browser_log(&browser)
    );
    // What the person sees: the command-line sender's files with save
    // links, and the rate once done.
    let seen = r["log"].as_str().unwrap_or_default();
    assert!(
        seen.contains("save photos/2026/big.bin") && seen.contains("MB/s); SHA-256 verified"),
        "{seen}"
    );
    let files = r["files"].as_array().expect("files");
    let mut got: Vec<(String, u64, String)> = files
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["size"].as_u64().unwrap(),
                f["sha256"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, u64, String)> = [
        ("photos/2026/big.bin", "photos/2026/big.bin"),
        ("photos/list.txt", "photos/list.txt"),
        ("single.bin", "single.bin"),
    ]
    .iter()
    .map(|(rel, path)| {
        let p = src.join(path);
        (
            rel.to_string(),
            std::fs::metadata(&p).unwrap().len(),
            sha256_file(&p),
        )
    })
    .collect();
    want.sort();
    assert_eq!(got, want, "paths, sizes and checksums as sent");
    let status = send.wait_exit(Duration::from_secs(30));
    assert!(
        status.is_some_and(|st| st.success()),
        "tern send: {status:?}\n{}",
        send.output()
    );
    assert!(send.output().contains("checksums verified by the receiver"));
    println!(
        "tern send to the page: {}",
        send.output().lines().last().unwrap_or("")
    );
    drop(browser);

    // page -> CLI: the page sends browser/random.bin (24 MiB) and note.txt.
    // The page picks its own code (a free number), as a person's would.
    let browser = s.page(&format!("wormhole=send&size={}", 24 << 20));
    let code = s.joined_code(&browser);
    let code = code.as_str();
    let out = tmp("out");
    let out_s = out.display().to_string();
    let mut recv = s.tern("recv", &["recv", code, "--out", &out_s]);
    assert!(
        recv.wait_for("received 2 file(s)", Duration::from_secs(60)),
        "{}",
        recv.output()
    );
    // After its "done", tern recv waits (up to 5 s) for the channel to end.
    // The page closes its whole connection (RTCPeerConnection.close(), no
    // channel close first): whatever Chromium sends for that must end the
    // channel on our side at once, not after a timeout.
    let t0 = std::time::Instant::now();
    let status = recv.wait_exit(Duration::from_secs(60));
    let ended = t0.elapsed();
    println!("tern recv ended {ended:?} after its last file");
    assert!(
        ended < Duration::from_secs(3),
        "tern recv noticed the page's close only after {ended:?}"
    );
    let r = s.result(&browser);
    println!("page sent: {r}");
    assert!(
        status.is_some_and(|st| st.success()),
        "tern recv: {status:?}\n{}\npage: {r}\nbrowser: {}",
        recv.output(),
        browser_log(&browser)
    );
    assert!(r["error"].is_null() && r["sent"] == true, "{r}");
    println!(
        "tern recv from the page: {}",
        recv.output().lines().last().unwrap_or("")
    );
    for (rel, size) in [("browser/random.bin", 24 << 20), ("note.txt", 20)] {
        let p = out.join(rel);
        assert_eq!(std::fs::metadata(&p).unwrap().len(), size, "{rel}");
        assert_eq!(sha256_file(&p), r["sha256"][rel], "{rel}");
    }
    drop(browser);

    // page -> page with a code (browser to browser, no CLI).
    let sender = s.page(&format!("wormhole=send&size={}", 4 << 20));
    let code = s.joined_code(&sender);
    let before = s.harness.wait_results(0, Duration::ZERO).len();
    let receiver = s.page(&format!("wormhole=recv&code={code}"));
    // Both pages report at about the same time: count them, do not take
    // turns on the latest-result slot.
    let all = s.harness.wait_results(before + 2, Duration::from_secs(90));
    assert_eq!(
        all.len(),
        before + 2,
        "both pages reported: {all:?}\nsender log: {}\nreceiver log: {}",
        browser_log(&sender),
        browser_log(&receiver)
    );
    let _ = s.harness.wait_result(Duration::ZERO); // clear the latest slot
    let (r1, r2) = (all[before].clone(), all[before + 1].clone());
    let (sent, got) = if r1["mode"] == "send" {
        (r1, r2)
    } else {
        (r2, r1)
    };
    println!("page to page: {got}");
    assert!(
        sent["error"].is_null() && got["error"].is_null(),
        "sender: {sent}\nreceiver: {got}\nsender log: {}\nreceiver log: {}",
        browser_log(&sender),
        browser_log(&receiver)
    );
    let by_path = |p: &str| {
        got["files"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["path"] == p))
            .cloned()
            .unwrap_or_default()
    };
    for p in ["browser/random.bin", "note.txt"] {
        assert_eq!(by_path(p)["sha256"], sent["sha256"][p], "{p}");
    }
    drop((sender, receiver));

    // `tern send --text` to a page: shown as text, never as markup.
    let message = "<b>not bold</b> & the code is 1234 ✓";
    let mut send = s.tern(
        "send-text",
        &["send", "--text", message, "--code", "46-otter-walnut"],
    );
    assert!(send.wait_for("code:", Duration::from_secs(10)));
    let browser = s.page("wormhole=recv&code=46-otter-walnut");
    let r = s.result(&browser);
    assert_eq!(r["text"], message, "{r}");
    assert!(
        r["log"].as_str().unwrap_or_default().contains(message),
        "the page shows the text as text: {r}"
    );
    let status = send.wait_exit(Duration::from_secs(30));
    assert!(status.is_some_and(|st| st.success()), "{}", send.output());
    drop(browser);

    // A wrong code: the page fails with a clear message and gets no file;
    // the CLI says so too.
    let code = "45-otter-walnut";
    let mut send = s.tern("send", &["send", &single, "--code", code]);
    assert!(send.wait_for("code:", Duration::from_secs(10)));
    let browser = s.page("wormhole=recv&code=45-otter-walnot");
    let r = s.result(&browser);
    println!("page with a wrong code: {r}");
    assert!(
        r["error"].as_str().unwrap_or("").contains("wrong code"),
        "{r}"
    );
    assert!(r["files"].is_null(), "{r}");
    let status = send.wait_exit(Duration::from_secs(30));
    assert!(status.is_some_and(|st| !st.success()), "{status:?}");
    assert!(send.output().contains("wrong code"), "{}", send.output());

    let _ = std::fs::remove_dir_all(&src);
    let _ = std::fs::remove_dir_all(&out);
}
