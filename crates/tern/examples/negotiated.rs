//! Negotiated (out-of-band) data channels: both sides create the channel
//! with the same id, so no DATA_CHANNEL_OPEN is exchanged and the channel is
//! usable as soon as the connection is up.
//!
//! `cargo run -p tern --example negotiated`
#![allow(clippy::disallowed_methods)] // an example program: real time

use std::net::{IpAddr, Ipv4Addr};

use tern::{DataChannelInit, DataChannelMessage, PeerConnection, RtcConfiguration};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = RtcConfiguration {
        bind_addresses: Some(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]),
        ..RtcConfiguration::default()
    };
    let init = DataChannelInit {
        negotiated: true,
        id: Some(42),
        ordered: true,
        ..DataChannelInit::default()
    };
    let a = PeerConnection::new(config.clone()).await?;
    let b = PeerConnection::new(config).await?;
    let mut ca = a.create_data_channel("telemetry", init.clone()).await?;
    let mut cb = b.create_data_channel("telemetry", init).await?;
    a.set_local_description(a.create_offer().await?).await?;
    a.gathering_complete().await?;
    b.set_remote_description(a.local_description().await?.ok_or("offer")?)
        .await?;
    b.set_local_description(b.create_answer().await?).await?;
    b.gathering_complete().await?;
    a.set_remote_description(b.local_description().await?.ok_or("answer")?)
        .await?;
    ca.wait_open().await?;
    cb.wait_open().await?;
    ca.send_text("ping over channel 42").await?;
    let got = cb.recv().await;
    println!("b received: {got:?}");
    cb.send_binary(vec![4u8, 2]).await?;
    let back = ca.recv().await;
    println!("a received: {back:?}");
    if got != Some(DataChannelMessage::Text("ping over channel 42".into()))
        || back != Some(DataChannelMessage::Binary(vec![4, 2]))
    {
        return Err("messages did not arrive intact".into());
    }
    a.close().await;
    b.close().await;
    Ok(())
}
