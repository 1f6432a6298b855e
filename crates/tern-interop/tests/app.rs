//! The browser app of `tern serve` in two headless Chromium pages: they join
//! one room, chat both ways, send a 3 MiB file page to page with equal
//! checksums, and start a video call whose frames decode on both sides. The
//! server wants tokens; the pages' links carry one.
#![allow(clippy::disallowed_methods)] // real processes, real time

use std::time::Duration;

use tern_interop::browser::{start_chromium, start_serve, tern_token, Harness};

#[test]
fn two_pages_chat_send_a_file_and_call() {
    let (serve, url) = start_serve("app-test-secret");
    // The server wants tokens: the pages' links carry one for their room.
    let token = tern_token("app-test-secret", "browsers");
    let harness = Harness::start();
    let page = |role: &str| {
        format!(
            "{url}/?room=browsers&name={role}&autotest={role}&token={token}&report={}/result",
            harness.url
        )
    };
    let a_browser = start_chromium(&page("a"));
    let b_browser = start_chromium(&page("b"));
    let results = harness.wait_results(2, Duration::from_secs(120));
    if std::env::var_os("TERN_APP_DEBUG").is_some() {
        for (n, b) in [("a", &a_browser), ("b", &b_browser)] {
            for l in b.output().lines().filter(|l| l.contains("[tern]")) {
                println!("{n}: {l}");
            }
        }
    }
    assert_eq!(
        results.len(),
        2,
        "both pages reported: {results:?}\nserve: {}",
        serve.output()
    );
    let by = |r: &str| results.iter().find(|v| v["role"] == r).cloned().unwrap();
    let (a, b) = (by("a"), by("b"));
    println!("a: {a}\nb: {b}");
    assert!(
        a["error"].is_null() && b["error"].is_null(),
        "a: {a}\nb: {b}"
    );
    assert_eq!(a["chat"], "hello from b");
    assert_eq!(b["chat"], "hello from a");
    assert_eq!(a["file"]["ok"], true);
    assert_eq!(b["file"]["ok"], true);
    assert_eq!(b["file"]["size"], 3 << 20);
    assert_eq!(b["file"]["sha256"], a["fileSha256"], "equal checksums");
    assert!(a["framesDecoded"].as_u64().unwrap() > 0, "{a}");
    assert!(b["framesDecoded"].as_u64().unwrap() > 0, "{b}");
}
