//! The README's walk-through between two machines, with two network
//! namespaces standing in for them: "host A" (198.51.100.1) runs `tern serve`
//! and `tern send`, "host B" (198.51.100.2) runs `tern recv` against A's
//! server, across a veth link. Both namespaces are created here (nothing
//! touches the namespace the test runs in); it needs root, as the test
//! command has.
#![allow(clippy::disallowed_methods)] // processes and real time

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use tern_crypto::{OsRandom, Random};

mod common;
use common::{sha, text, Proc};

/// A fresh network namespace, held open by a sleeping process.
struct Host {
    holder: Proc,
}

impl Host {
    fn new() -> Host {
        let holder = Command::new("unshare")
            .args(["-n", "sleep", "300"])
            .spawn()
            .expect("unshare (util-linux)");
        let h = Host {
            holder: Proc(holder),
        };
        // Wait until the holder is in its own namespace.
        let mine = std::fs::read_link("/proc/self/ns/net").unwrap();
        for _ in 0..200 {
            let theirs = std::fs::read_link(format!("/proc/{}/ns/net", h.pid()));
            if theirs.is_ok_and(|t| t != mine) {
                return h;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("could not create a network namespace (the test needs root: run scripts/test)");
    }

    fn pid(&self) -> u32 {
        self.holder.0.id()
    }

    /// A command run inside this host's namespace.
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.args(["-t", &self.pid().to_string(), "-n", "--", program]);
        c
    }

    fn ip(&self, args: &[&str]) {
        let o = self.cmd("ip").args(args).output().expect("ip (iproute2)");
        assert!(
            o.status.success(),
            "ip {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn send_on_one_host_recv_on_another() {
    let (a, b) = (Host::new(), Host::new());
    a.ip(&[
        "link",
        "add",
        "tern-a",
        "type",
        "veth",
        "peer",
        "name",
        "tern-b",
        "netns",
        &b.pid().to_string(),
    ]);
    a.ip(&["addr", "add", "198.51.100.1/24", "dev", "tern-a"]);
    b.ip(&["addr", "add", "198.51.100.2/24", "dev", "tern-b"]);
    for (h, dev) in [(&a, "tern-a"), (&b, "tern-b")] {
        h.ip(&["link", "set", dev, "up"]);
        h.ip(&["link", "set", "lo", "up"]);
    }
    let tern = env!("CARGO_BIN_EXE_tern");
    // Host A: `tern serve` on its address, as the README says.
    let mut serve = Proc(
        a.cmd(tern)
            .args([
                "serve",
                "--listen",
                "198.51.100.1:8080",
                "--stun-listen",
                "198.51.100.1:3478",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(serve.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("198.51.100.1:8080"), "{line}");
    let server = "http://198.51.100.1:8080";
    let dir = std::env::temp_dir().join(format!("tern-two-hosts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let file = dir.join("report.bin");
    let mut data = vec![0u8; 32 << 20];
    OsRandom.fill(&mut data);
    std::fs::write(&file, &data).unwrap();
    // Host A sends; host B receives with the printed code.
    let send = Proc(
        a.cmd(tern)
            .args(["send", file.to_str().unwrap(), "--server", server])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut send = send;
    let mut code = String::new();
    BufReader::new(send.0.stdout.take().unwrap())
        .read_line(&mut code)
        .unwrap();
    let code = code
        .trim()
        .strip_prefix("code: ")
        .expect("code line")
        .to_string();
    let recv = b
        .cmd(tern)
        .args(["recv", &code, "--server", server, "--out"])
        .arg(dir.join("out"))
        .output()
        .unwrap();
    let status = send.0.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(send.0.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(
        recv.status.success(),
        "recv on B: {}\nsend on A: {err}",
        text(&recv)
    );
    assert!(status.success(), "send on A: {err}");
    println!("B: {}", text(&recv).lines().last().unwrap_or(""));
    assert_eq!(sha(&file), sha(&dir.join("out/report.bin")));
    let _ = std::fs::remove_dir_all(&dir);
}
