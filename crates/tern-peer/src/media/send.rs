//! One outgoing RTP stream: its SSRC and RTX SSRC, sequence numbers, the
//! history that answers NACKs, and the counters its sender reports and
//! `outbound-rtp` carry.

use std::time::{Duration, Instant};

use tern_rtp::nack::HistoryConfig;
use tern_rtp::rtcp::{NtpTime, SenderInfo};
use tern_rtp::{PacketHistory, PayloadType, RtpHeader, RtpWriter, SeqNo, Ssrc};

/// The ids of the header extensions a section negotiated that the sender
/// writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SendExtensions {
    pub mid: Option<u8>,
    pub transport_cc: Option<u8>,
}

/// Counters of `outbound-rtp`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboundCounters {
    /// `packetsSent` (retransmissions included, as W3C counts them).
    pub packets_sent: u64,
    /// `bytesSent`: payload bytes.
    pub bytes_sent: u64,
    /// `headerBytesSent`.
    pub header_bytes_sent: u64,
    /// `retransmittedPacketsSent`.
    pub retransmitted_packets_sent: u64,
    /// `retransmittedBytesSent`.
    pub retransmitted_bytes_sent: u64,
    /// `nackCount`: NACK packets received.
    pub nack_count: u64,
    /// `pliCount`: PLIs received.
    pub pli_count: u64,
    /// `firCount`: FIRs received.
    pub fir_count: u64,
    /// NACKed packets that were no longer (or not yet again) resendable.
    pub nack_unanswered: u64,
    /// Frames handed to the packetizer (`framesSent`).
    pub frames_sent: u64,
    /// Packets written while the encoding was inactive: not sent.
    pub packets_discarded_inactive: u64,
    /// Frames written while the encoding was inactive: not sent.
    pub frames_discarded_inactive: u64,
    /// Frames discarded because they would have waited too long in the
    /// pacer (the encoding's `max_bitrate` or the pacing rate is below
    /// what is written), with the video frames after them up to the next
    /// keyframe.
    pub frames_discarded_on_send: u64,
    /// Padding-only packets sent for bandwidth probes.
    pub padding_packets_sent: u64,
    /// Their bytes.
    pub padding_bytes_sent: u64,
}

/// What the peer's reception reports say about this stream
/// (`remote-inbound-rtp`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RemoteInbound {
    /// `packetsLost` (cumulative, may be negative with duplicates).
    pub packets_lost: i64,
    /// `fractionLost` of the last report, 0..1.
    pub fraction_lost: f64,
    /// `jitter` in seconds.
    pub jitter: f64,
    /// `roundTripTime` of the last report that measured one.
    pub round_trip_time: Option<Duration>,
    /// `totalRoundTripTime` over `roundTripTimeMeasurements`.
    pub total_round_trip_time: Duration,
    /// `roundTripTimeMeasurements`.
    pub round_trip_time_measurements: u64,
    /// `reportsReceived`.
    pub reports_received: u64,
}

pub(crate) struct RtpSender {
    pub ssrc: u32,
    pub rtx_ssrc: Option<u32>,
    seq: u16,
    rtx_seq: u16,
    history: PacketHistory,
    pub counters: OutboundCounters,
    /// The last packet's RTP timestamp and when it went, for the SR's
    /// extrapolated timestamp.
    last: Option<(u32, Instant)>,
    pub remote: RemoteInbound,
    /// Whether anything was sent since the last report (RFC 3550 §6.4: a
    /// source that stopped sending reports with RR).
    pub sent_since_report: bool,
    /// Frames are discarded until a keyframe (after the pacer discarded
    /// one).
    pub awaiting_keyframe: bool,
}

impl RtpSender {
    pub fn new(ssrc: u32, rtx_ssrc: Option<u32>, first_seq: u16, history: usize) -> Self {
        RtpSender {
            ssrc,
            rtx_ssrc,
            seq: first_seq,
            rtx_seq: first_seq ^ 0x5555,
            history: PacketHistory::new(HistoryConfig {
                capacity: history.max(1),
                initial_rtt: Duration::from_millis(75),
                ..HistoryConfig::default()
            }),
            counters: OutboundCounters::default(),
            last: None,
            remote: RemoteInbound::default(),
            sent_since_report: false,
            awaiting_keyframe: false,
        }
    }

    /// Writes the next packet into `out` (which must hold it with room for
    /// the SRTP tag) and returns its length; keeps it for NACKs.
    #[allow(clippy::too_many_arguments)]
    pub fn write(
        &mut self,
        now: Instant,
        pt: u8,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
        ext: SendExtensions,
        mid: &str,
        twcc_seq: Option<u16>,
        out: &mut [u8],
    ) -> Result<usize, tern_rtp::RtpError> {
        let header = RtpHeader {
            marker,
            ..RtpHeader::new(
                PayloadType::new(pt).ok_or(tern_rtp::RtpError::BadPayloadType(pt))?,
                SeqNo(self.seq),
                tern_rtp::RtpTimestamp(timestamp),
                Ssrc(self.ssrc),
            )
        };
        let mut w = RtpWriter::new(out, &header)?;
        if let Some(id) = ext.mid {
            w.add_extension(id, mid.as_bytes())?;
        }
        if let (Some(id), Some(s)) = (ext.transport_cc, twcc_seq) {
            w.add_extension(id, &s.to_be_bytes())?;
        }
        let n = w.finish(payload, 0)?;
        self.seq = self.seq.wrapping_add(1);
        let _ = self.history.insert(now, &out[..n]);
        self.counters.packets_sent += 1;
        self.counters.bytes_sent += payload.len() as u64;
        self.counters.header_bytes_sent += (n - payload.len()) as u64;
        self.last = Some((timestamp, now));
        self.sent_since_report = true;
        Ok(n)
    }

    /// Writes a padding-only packet (RFC 3550 §5.1: no payload, `padding`
    /// bytes of padding) for a bandwidth probe into `out`: on the RTX
    /// stream with `rtx_pt` when there is one (receivers discard it there
    /// without touching the media's sequence numbers), else on the media
    /// stream with `media_pt`. Not kept for retransmission.
    #[allow(clippy::too_many_arguments)]
    pub fn write_padding(
        &mut self,
        rtx_pt: Option<u8>,
        media_pt: u8,
        ext: SendExtensions,
        mid: &str,
        padding: u8,
        out: &mut [u8],
    ) -> Result<usize, tern_rtp::RtpError> {
        let (ssrc, seq, pt) = match (rtx_pt, self.rtx_ssrc) {
            (Some(pt), Some(ssrc)) => (ssrc, &mut self.rtx_seq, pt),
            _ => (self.ssrc, &mut self.seq, media_pt),
        };
        let ts = self.last.map_or(0, |(ts, _)| ts);
        let header = RtpHeader::new(
            PayloadType::new(pt).ok_or(tern_rtp::RtpError::BadPayloadType(pt))?,
            SeqNo(*seq),
            tern_rtp::RtpTimestamp(ts),
            Ssrc(ssrc),
        );
        let mut w = RtpWriter::new(out, &header)?;
        if let Some(id) = ext.mid {
            w.add_extension(id, mid.as_bytes())?;
        }
        if let Some(id) = ext.transport_cc {
            w.add_extension(id, &[0, 0])?;
        }
        let n = w.finish(&[], padding)?;
        *seq = seq.wrapping_add(1);
        self.counters.padding_packets_sent += 1;
        self.counters.padding_bytes_sent += n as u64;
        Ok(n)
    }

    /// Writes a retransmission of `seq` into `out` (as RTX when `rtx_pt`
    /// and an RTX SSRC exist); `None` if it is not resendable now.
    pub fn resend(
        &mut self,
        now: Instant,
        seq: u16,
        rtx_pt: Option<u8>,
        out: &mut [u8],
    ) -> Option<usize> {
        let n = match (rtx_pt, self.rtx_ssrc) {
            (Some(pt), Some(rtx_ssrc)) => {
                let n = self
                    .history
                    .resend_rtx(
                        now,
                        SeqNo(seq),
                        Ssrc(rtx_ssrc),
                        SeqNo(self.rtx_seq),
                        PayloadType::new(pt)?,
                        out,
                    )
                    .ok()?;
                self.rtx_seq = self.rtx_seq.wrapping_add(1);
                n
            }
            _ => {
                let p = self.history.resend(now, SeqNo(seq)).ok()?;
                let dst = out.get_mut(..p.len())?;
                dst.copy_from_slice(p);
                p.len()
            }
        };
        self.counters.packets_sent += 1;
        self.counters.retransmitted_packets_sent += 1;
        self.counters.retransmitted_bytes_sent += n as u64;
        Some(n)
    }

    /// The payload type of stored packet `seq`, if it is still kept.
    pub fn stored_payload_type(&self, now: Instant, seq: u16) -> Option<u8> {
        let p = self.history.get(now, SeqNo(seq)).ok()?;
        tern_rtp::RtpPacket::new_checked(p)
            .ok()
            .map(|p| p.payload_type().get())
    }

    /// A receiver retrying a NACK after the RTT it measures asks again
    /// about one RTT after the first request, give or take jitter: the
    /// history refuses a resend only within ¾ of the RTT, so such a retry
    /// is answered.
    pub fn set_rtt(&mut self, rtt: Duration) {
        self.history.set_rtt(rtt * 3 / 4);
    }

    /// The sender info of an SR at `now` (RFC 3550 §6.4.1): the RTP
    /// timestamp extrapolated from the last packet with `clock_rate`.
    pub fn sender_info(&self, ntp: NtpTime, now: Instant, clock_rate: u32) -> SenderInfo {
        let rtp_timestamp = match self.last {
            Some((ts, at)) => {
                let d = now.saturating_duration_since(at);
                let ticks = d.as_nanos() * u128::from(clock_rate) / 1_000_000_000;
                ts.wrapping_add(ticks as u32)
            }
            None => 0,
        };
        SenderInfo {
            ntp,
            rtp_timestamp,
            packet_count: self.counters.packets_sent as u32,
            octet_count: self.counters.bytes_sent as u32,
        }
    }
}
