//! Flow control: the sender pushes 256 MiB (FLOW_MIB) as fast as `send` lets it; `send`
//! waits whenever the channel's buffered amount is above the high-water
//! mark, so memory stays bounded. The receiver pauses for a second midway,
//! which closes the SCTP window and stalls the sender without losing data.
//!
//! `cargo run --release -p tern --example flow_control`
#![allow(clippy::disallowed_methods)] // an example program: real time

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use tern::{
    Bytes, DataChannelInit, DataChannelMessage, PeerConnection, PeerConnectionEvent,
    RtcConfiguration,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = RtcConfiguration {
        bind_addresses: Some(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]),
        send_high_water: 1 << 20,
        ..RtcConfiguration::default()
    };
    let a = PeerConnection::new(config.clone()).await?;
    let mut b = PeerConnection::new(config).await?;
    let tx = a
        .create_data_channel("flow", DataChannelInit::default())
        .await?;
    a.set_local_description(a.create_offer().await?).await?;
    a.gathering_complete().await?;
    b.set_remote_description(a.local_description().await?.ok_or("offer")?)
        .await?;
    b.set_local_description(b.create_answer().await?).await?;
    b.gathering_complete().await?;
    a.set_remote_description(b.local_description().await?.ok_or("answer")?)
        .await?;
    let mut rx = loop {
        if let Some(PeerConnectionEvent::DataChannel(c)) = b.next_event().await {
            break c;
        }
    };
    tx.wait_open().await?;

    let mib: usize = std::env::var("FLOW_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let total = mib << 20;
    let chunk = Bytes::from(vec![7u8; 64 * 1024]);
    let t0 = Instant::now();
    let sender = tx.sender();
    let send = tokio::spawn(async move {
        let mut max_buffered = 0;
        for _ in 0..total / chunk.len() {
            sender.send_binary(chunk.clone()).await?;
            max_buffered = max_buffered.max(tx.buffered_amount().await?);
        }
        Ok::<_, tern::Error>(max_buffered)
    });
    let mut got = 0;
    let mut paused = false;
    while got < total {
        match rx.recv().await {
            Some(DataChannelMessage::Binary(m)) => got += m.len(),
            Some(_) => return Err("unexpected text".into()),
            None => return Err("channel closed early".into()),
        }
        if !paused && got >= total / 2 {
            paused = true;
            println!("receiver: pausing for 1 s at {} MiB", got >> 20);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    let max_buffered = send.await??;
    println!(
        "received {} MiB in {:.2} s; the sender's buffered amount never went above {} KiB",
        got >> 20,
        t0.elapsed().as_secs_f64(),
        max_buffered >> 10
    );
    // The high-water mark (1 MiB) plus one message in flight to it.
    if max_buffered > (1 << 20) + 2 * 64 * 1024 {
        return Err("buffered amount exceeded the high-water mark".into());
    }
    a.close().await;
    b.close().await;
    Ok(())
}
