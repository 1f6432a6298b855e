//! `Server::start` raises the open file limit (soft to hard), so a server
//! started from a shell with the usual soft limit of 1,024 does not run out
//! of descriptors long before its connection cap. Its own test binary: it
//! changes the process's limit.
#![allow(clippy::disallowed_methods)] // a real server

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
use tern_server::{ServeConfig, Server};

#[tokio::test]
async fn the_soft_file_limit_is_raised_to_the_hard_one() {
    let l = getrlimit(Resource::Nofile);
    let hard = l.maximum.expect("a finite hard limit");
    if hard <= 256 {
        return; // nothing to show on such a machine
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(256),
            maximum: Some(hard),
        },
    )
    .unwrap();
    let _s = Server::start(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServeConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(getrlimit(Resource::Nofile).current, Some(hard));
}
