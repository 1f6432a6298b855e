//! Heap held by an idle, connected agent, measured with dhat's counting
//! allocator. The bound makes the test fail if the agent grows fat.

mod memory_pair;

use std::net::SocketAddr;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[test]
#[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
fn idle_connected_agent_memory() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let start = std::time::Instant::now();
    let n = 100;
    let before = dhat::HeapStats::get();
    let mut agents = Vec::new();
    for i in 0..n {
        let a: SocketAddr = format!("192.0.2.{}:{}", 1 + i % 200, 5000 + i)
            .parse()
            .unwrap();
        let b: SocketAddr = format!("198.51.100.{}:{}", 1 + i % 200, 6000 + i)
            .parse()
            .unwrap();
        let (x, y, _) = memory_pair::connected_pair(i as u64, a, b, start);
        agents.push(x);
        agents.push(y);
    }
    let after = dhat::HeapStats::get();
    let per_agent = (after.curr_bytes - before.curr_bytes) / agents.len();
    let size_of = std::mem::size_of::<tern_ice::IceAgent>();
    println!("idle connected agent: {per_agent} heap bytes + {size_of} inline bytes ({} agents measured)", agents.len());
    assert!(
        per_agent + size_of < 32 * 1024,
        "an idle agent holds {per_agent} heap bytes"
    );
}
