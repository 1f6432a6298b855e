//! Offer/answer between two processes by copy and paste, in Pion's spirit.
//!
//! Terminal 1: `cargo run -p tern --example copy_paste -- offer`
//! Terminal 2: `cargo run -p tern --example copy_paste -- answer`
//! Paste the offer line from 1 into 2, then the answer line from 2 into 1.
//! Each side then sends a few messages and prints what it receives.
//! Add `--loopback` to both to use 127.0.0.1 only.
#![allow(clippy::disallowed_methods)] // an example program: real time

use std::io::BufRead;
use std::net::{IpAddr, Ipv4Addr};

use tern::{
    DataChannelInit, DataChannelMessage, PeerConnection, PeerConnectionEvent, RtcConfiguration,
    RtcSessionDescription, SdpType,
};

/// One line per description: the SDP with its line ends escaped.
fn encode(d: &RtcSessionDescription) -> String {
    format!("{} {}", d.sdp_type, d.sdp.replace("\r\n", "\\n"))
}

fn decode(line: &str) -> Result<RtcSessionDescription, String> {
    let (t, sdp) = line.trim().split_once(' ').ok_or("paste the whole line")?;
    Ok(RtcSessionDescription {
        sdp_type: t.parse::<SdpType>()?,
        sdp: sdp.replace("\\n", "\r\n"),
    })
}

fn read_line(prompt: &str) -> String {
    eprintln!("{prompt}");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).unwrap_or(0);
    line
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let role = args.first().map(String::as_str).unwrap_or("");
    let config = RtcConfiguration {
        bind_addresses: args
            .iter()
            .any(|a| a == "--loopback")
            .then(|| vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]),
        ..RtcConfiguration::default()
    };
    let mut pc = PeerConnection::new(config).await?;
    let mut channel = match role {
        "offer" => {
            let dc = pc
                .create_data_channel("copy-paste", DataChannelInit::default())
                .await?;
            pc.set_local_description(pc.create_offer().await?).await?;
            pc.gathering_complete().await?;
            println!(
                "{}",
                encode(&pc.local_description().await?.ok_or("no offer")?)
            );
            let answer = decode(&read_line("paste the answer:"))?;
            pc.set_remote_description(answer).await?;
            dc
        }
        "answer" => {
            let offer = decode(&read_line("paste the offer:"))?;
            pc.set_remote_description(offer).await?;
            pc.set_local_description(pc.create_answer().await?).await?;
            pc.gathering_complete().await?;
            println!(
                "{}",
                encode(&pc.local_description().await?.ok_or("no answer")?)
            );
            loop {
                match pc.next_event().await {
                    Some(PeerConnectionEvent::DataChannel(dc)) => break dc,
                    Some(_) => continue,
                    None => return Err("the connection closed".into()),
                }
            }
        }
        _ => return Err("usage: copy_paste offer|answer [--loopback]".into()),
    };
    channel.wait_open().await?;
    for i in 0..3 {
        channel
            .send_text(format!("message {i} from the {role}er"))
            .await?;
    }
    for _ in 0..3 {
        match channel.recv().await {
            Some(DataChannelMessage::Text(t)) => println!("received: {t}"),
            Some(m) => println!("received: {m:?}"),
            None => break,
        }
    }
    pc.close().await;
    Ok(())
}
