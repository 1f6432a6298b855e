//! Incoming RTP streams of one transceiver: per SSRC, the RFC 3550
//! statistics its reception reports carry, the NACK generator, and the
//! counters `inbound-rtp` and `remote-outbound-rtp` carry.

use std::time::{Duration, Instant};

use tern_rtp::nack::{NackConfig, PacketOutcome};
use tern_rtp::{NackGenerator, ReceiveStats, RtpTimestamp, SeqNo, Ssrc};

/// Counters of `inbound-rtp`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboundCounters {
    /// `packetsReceived` (retransmissions included).
    pub packets_received: u64,
    /// `bytesReceived`: payload bytes.
    pub bytes_received: u64,
    /// `headerBytesReceived`.
    pub header_bytes_received: u64,
    /// `retransmittedPacketsReceived`.
    pub retransmitted_packets_received: u64,
    /// `packetsDuplicated`-like: copies of a packet already received.
    pub packets_duplicated: u64,
    /// `nackCount`: NACK packets sent.
    pub nack_count: u64,
    /// `pliCount`: PLIs sent.
    pub pli_count: u64,
    /// `firCount`: FIRs sent.
    pub fir_count: u64,
}

/// What the peer's sender reports say (`remote-outbound-rtp`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RemoteOutbound {
    /// `packetsSent`.
    pub packets_sent: u32,
    /// `bytesSent`.
    pub bytes_sent: u32,
    /// `remoteTimestamp`: the SR's NTP time.
    pub remote_ntp: u64,
    /// The SR's RTP timestamp (with `remote_ntp`, the NTP↔RTP mapping for
    /// lip sync).
    pub remote_rtp_timestamp: u32,
    /// `reportsSent`.
    pub reports_sent: u64,
}

pub(crate) struct RecvStream {
    pub ssrc: u32,
    pub rtx_ssrc: Option<u32>,
    pub rid: Option<String>,
    pub stats: ReceiveStats,
    pub nack: Option<NackGenerator>,
    pub counters: InboundCounters,
    pub remote: RemoteOutbound,
    pub last_packet: Option<Instant>,
}

impl RecvStream {
    pub fn new(ssrc: u32, clock_rate: u32, nack: bool) -> Self {
        RecvStream {
            ssrc,
            rtx_ssrc: None,
            rid: None,
            // Probation of 1: WebRTC streams are signalled, and a receiver
            // that waits for two in-order packets loses the first frame's.
            stats: ReceiveStats::with_probation(Ssrc(ssrc), clock_rate, 1),
            nack: nack.then(|| NackGenerator::new(NackConfig::default())),
            counters: InboundCounters::default(),
            remote: RemoteOutbound::default(),
            last_packet: None,
        }
    }

    /// Accounts a packet; false when it is a duplicate (dropped).
    pub fn on_packet(
        &mut self,
        now: Instant,
        seq: u16,
        ts: u32,
        payload_len: usize,
        header_len: usize,
        rtx: bool,
    ) -> bool {
        if let Some(n) = &mut self.nack {
            if n.on_packet(now, SeqNo(seq)) == PacketOutcome::Duplicate {
                self.counters.packets_duplicated += 1;
                return false;
            }
        }
        // Retransmissions are not counted for jitter (RFC 4588 §8.3).
        if !rtx {
            self.stats.on_packet(now, SeqNo(seq), RtpTimestamp(ts));
        }
        self.counters.packets_received += 1;
        self.counters.bytes_received += payload_len as u64;
        self.counters.header_bytes_received += header_len as u64;
        if rtx {
            self.counters.retransmitted_packets_received += 1;
        }
        self.last_packet = Some(now);
        true
    }

    pub fn set_rtt(&mut self, rtt: Duration) {
        if let Some(n) = &mut self.nack {
            n.set_rtt(rtt);
        }
    }
}
