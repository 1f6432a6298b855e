//! The browser app's SPAKE2 (app/wormhole.js: noble-ed25519 points plus
//! WebCrypto) against tern-crypto's (the `spake2` crate), run under node:
//! the same code gives both the same key, another code different keys, and
//! a malformed message is refused. The CLI ↔ Chromium transfers in
//! wormhole_browser.rs depend on exactly this. Also the page's codes and
//! their rooms.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use tern_crypto::pake::Pake;
use tern_interop::require_binary;

/// Runs the JS side with `code`; hands it the Rust message built from
/// `rust_code`; returns (JS key or error text, Rust key or None).
fn exchange(js_code: &str, rust_code: &str, tamper: bool) -> (String, Option<[u8; 32]>) {
    let node = require_binary("node", "nodejs");
    let module = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tern-server/app/wormhole.js")
        .canonicalize()
        .expect("wormhole.js");
    let script = format!(
        "import {{spake2Start}} from 'file://{}';
         import {{createInterface}} from 'node:readline';
         const b64 = (b) => Buffer.from(b).toString('base64');
         const p = await spake2Start(new TextEncoder().encode(process.argv[1]));
         console.log(b64(p.message));
         const rl = createInterface({{input: process.stdin}});
         for await (const line of rl) {{
           try {{ console.log(b64(await p.finish(new Uint8Array(Buffer.from(line, 'base64'))))); }}
           catch (e) {{ console.log('error: ' + e.message); }}
           break;
         }}
         process.exit(0);",
        module.display()
    );
    let mut child = Command::new(node)
        .args(["--input-type=module", "-e", &script, js_code])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("JS message");
    let js_msg = B64.decode(line.trim()).expect("base64 from JS");
    assert_eq!(js_msg.len(), 33, "side byte + 32-byte point");
    assert_eq!(js_msg[0], b'S', "symmetric side");
    let (pake, mut rust_msg) = Pake::start(rust_code.as_bytes(), b"tern-wormhole-v1");
    if tamper {
        rust_msg[0] = b'A';
    }
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{}", B64.encode(&rust_msg)).expect("write");
    line.clear();
    out.read_line(&mut line).expect("JS key");
    let _ = child.wait();
    (line.trim().to_string(), pake.finish(&js_msg).ok())
}

#[test]
fn js_and_rust_spake2_agree_on_the_same_code() {
    for code in ["7-purple-sausage", "512-otter-walnut", "1-a-b"] {
        let (js, rust) = exchange(code, code, false);
        assert_eq!(js, B64.encode(rust.expect("rust key")), "code {code}");
    }
}

#[test]
fn js_and_rust_spake2_differ_on_another_code() {
    let (js, rust) = exchange("7-purple-sausage", "7-purple-sausages", false);
    assert!(!js.starts_with("error"), "{js}");
    assert_ne!(js, B64.encode(rust.expect("rust key")));
}

#[test]
fn js_spake2_refuses_a_message_for_another_side() {
    let (js, _) = exchange("7-purple-sausage", "7-purple-sausage", true);
    assert_eq!(js, "error: malformed SPAKE2 message");
}

/// The page's codes: numbers within the range asked for (the widening
/// schedule of a busy server goes up to 65535), words from the shared list,
/// and rooms the CLI would name the same way.
#[test]
fn js_codes_parse_and_name_their_rooms() {
    let node = require_binary("node", "nodejs");
    let module = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tern-server/app/wormhole.js")
        .canonicalize()
        .expect("wormhole.js");
    let script = format!(
        "import {{newCode, roomOf}} from 'file://{}';
         for (const max of [999, 9999, 65535]) for (let i = 0; i < 2000; i++) {{
           const c = newCode(max);
           const n = +c.split('-')[0];
           if (!(n >= 1 && n <= max) || c.split('-').length !== 3) throw new Error('bad code ' + c);
           if (roomOf(c) !== 'tern-wormhole-' + n) throw new Error('bad room for ' + c);
         }}
         for (const bad of ['purple-sausage', '7-purple', '70000-a-b', '7--x']) {{
           let threw = false;
           try {{ roomOf(bad); }} catch {{ threw = true; }}
           if (!threw) throw new Error('accepted ' + bad);
         }}
         console.log('ok');",
        module.display()
    );
    let out = Command::new(node)
        .args(["--input-type=module", "-e", &script])
        .output()
        .expect("node");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
