//! Media tracks over the async connection: a [`LocalTrack`] sends encoded
//! samples or ready RTP on its transceiver; a [`RemoteTrack`] hands out the
//! peer's RTP packets or whole frames assembled by a jitter buffer.
// The jitter buffer runs on real time here.
#![allow(clippy::disallowed_methods)]

use std::time::Duration;

pub use crate::frames::Frame;
use crate::frames::{Assembled, FrameAssembler};
use bytes::Bytes;
use tern_peer::{
    InboundRtpStats, MediaKind, MediaSourceStats, OutboundRtpStats, RtpCodecParameters,
    RtpPacketReceived, RtpSendParameters, TransceiverId,
};
use tokio::sync::{mpsc, watch};

use crate::driver::{request, Command};
use crate::Error;

/// RTP packets queued per remote track for the application; beyond this
/// the oldest are not kept (real-time media is dropped, not stalled, and
/// the drop is counted in `dropped_packets`).
pub(crate) const TRACK_QUEUE: usize = 2048;

/// A track we send (W3C `RTCRtpSender` with its track): encoded samples
/// are packetized with the negotiated codec, or RTP is sent as given.
#[derive(Debug)]
pub struct LocalTrack {
    pub(crate) id: TransceiverId,
    pub(crate) kind: MediaKind,
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) keyframes: watch::Receiver<u64>,
    /// The RTP timestamp of the next sample, and the clock it runs at.
    next_timestamp: u32,
    clock_rate: Option<u32>,
}

impl LocalTrack {
    pub(crate) fn new(
        id: TransceiverId,
        kind: MediaKind,
        commands: mpsc::Sender<Command>,
        keyframes: watch::Receiver<u64>,
        first_timestamp: u32,
    ) -> Self {
        LocalTrack {
            id,
            kind,
            commands,
            keyframes,
            next_timestamp: first_timestamp,
            clock_rate: None,
        }
    }

    /// The transceiver it sends on.
    pub fn transceiver(&self) -> TransceiverId {
        self.id
    }

    /// Audio or video.
    pub fn kind(&self) -> MediaKind {
        self.kind
    }

    /// Sends one encoded sample (an Opus packet, a VP8/VP9/AV1 frame, an
    /// H.264/H.265 access unit in Annex B) lasting `duration`: it is
    /// packetized with the first negotiated codec, stamped with the RTP
    /// timestamp the previous samples' durations add up to, and the last
    /// packet of a video frame gets the marker bit. The caller paces
    /// samples in real time (one per `duration`).
    pub async fn write_sample(&mut self, data: Bytes, duration: Duration) -> Result<(), Error> {
        let ts = self.next_timestamp;
        let id = self.id;
        let clock = request(&self.commands, |r| Command::WriteFrame(id, ts, data, r)).await??;
        self.clock_rate = Some(clock);
        let ticks = duration.as_nanos() * u128::from(clock) / 1_000_000_000;
        self.next_timestamp = ts.wrapping_add(ticks as u32);
        Ok(())
    }

    /// Sends one RTP packet's payload with the given header fields; tern
    /// fills in the SSRC, sequence number and header extensions, and keeps
    /// it for retransmission.
    pub async fn write_rtp(
        &self,
        payload_type: Option<u8>,
        timestamp: u32,
        marker: bool,
        payload: Bytes,
    ) -> Result<(), Error> {
        let id = self.id;
        request(&self.commands, |r| {
            Command::WriteRtp(id, payload_type, timestamp, marker, payload, r)
        })
        .await?
    }

    /// Waits for the peer's next keyframe request (PLI or FIR) and returns
    /// how many have come in all; `Err` once the connection is gone.
    pub async fn keyframe_requested(&mut self) -> Result<u64, Error> {
        self.keyframes.changed().await.map_err(|_| Error::Closed)?;
        Ok(*self.keyframes.borrow())
    }

    /// Keyframe requests so far (without waiting).
    pub fn keyframe_requests(&self) -> u64 {
        *self.keyframes.borrow()
    }

    /// The codecs negotiated, the one sent by default first.
    pub async fn codecs(&self) -> Result<Vec<RtpCodecParameters>, Error> {
        let id = self.id;
        request(&self.commands, |r| Command::Codecs(id, r)).await
    }

    /// W3C `sender.getParameters()`: edit `encodings[0].active` and
    /// `max_bitrate` and hand it to [`set_parameters`](Self::set_parameters).
    pub async fn get_parameters(&self) -> Result<RtpSendParameters, Error> {
        let id = self.id;
        request(&self.commands, |r| Command::GetParameters(id, r)).await?
    }

    /// W3C `sender.setParameters()`, without renegotiation: an inactive
    /// encoding sends nothing (samples written meanwhile are discarded
    /// and counted); `max_bitrate` paces the sender at that rate, and
    /// frames that cannot wait are discarded up to the next keyframe,
    /// which [`keyframe_requested`](Self::keyframe_requested) asks for.
    pub async fn set_parameters(&self, parameters: RtpSendParameters) -> Result<(), Error> {
        let id = self.id;
        request(&self.commands, |r| {
            Command::SetParameters(id, parameters, r)
        })
        .await?
    }

    /// W3C `sender.replaceTrack()`, without renegotiation: `None` stops
    /// sending (writes are refused until a track is attached again);
    /// `Some(track_id)` attaches another source, whose samples continue
    /// the same stream: the RTP timestamps of
    /// [`write_sample`](Self::write_sample) go on from where they were,
    /// and its first video sample should be a keyframe.
    pub async fn replace_track(&mut self, track_id: Option<String>) -> Result<(), Error> {
        let id = self.id;
        request(&self.commands, |r| Command::ReplaceTrack(id, track_id, r)).await?
    }

    /// This sender's `outbound-rtp` (with `remote-inbound-rtp`) and
    /// `media-source` stats; `None` before it was negotiated.
    pub async fn stats(
        &self,
    ) -> Result<(Option<OutboundRtpStats>, Option<MediaSourceStats>), Error> {
        let s = request(&self.commands, Command::Stats).await?;
        let out = s
            .outbound_rtp
            .into_iter()
            .find(|o| o.transceiver == self.id);
        let src = s
            .media_sources
            .into_iter()
            .find(|m| m.transceiver == self.id);
        Ok((out, src))
    }
}

/// A track the peer sends (W3C `RTCRtpReceiver` with its track).
pub struct RemoteTrack {
    pub(crate) id: TransceiverId,
    pub(crate) kind: MediaKind,
    pub(crate) mid: String,
    pub(crate) stream_ids: Vec<String>,
    pub(crate) track_id: String,
    pub(crate) codecs: Vec<RtpCodecParameters>,
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) packets: mpsc::Receiver<RtpPacketReceived>,
    frames: FrameAssembler,
}

impl std::fmt::Debug for RemoteTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteTrack")
            .field("kind", &self.kind)
            .field("mid", &self.mid)
            .field("track_id", &self.track_id)
            .finish_non_exhaustive()
    }
}

impl RemoteTrack {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: TransceiverId,
        kind: MediaKind,
        mid: String,
        stream_ids: Vec<String>,
        track_id: String,
        codecs: Vec<RtpCodecParameters>,
        commands: mpsc::Sender<Command>,
        packets: mpsc::Receiver<RtpPacketReceived>,
    ) -> Self {
        RemoteTrack {
            id,
            kind,
            mid,
            stream_ids,
            track_id,
            frames: FrameAssembler::new(codecs.clone()),
            codecs,
            commands,
            packets,
        }
    }

    /// The transceiver receiving it.
    pub fn transceiver(&self) -> TransceiverId {
        self.id
    }
    /// Audio or video.
    pub fn kind(&self) -> MediaKind {
        self.kind
    }
    /// Its section's mid.
    pub fn mid(&self) -> &str {
        &self.mid
    }
    /// The peer's msid stream ids.
    pub fn stream_ids(&self) -> &[String] {
        &self.stream_ids
    }
    /// The peer's track id.
    pub fn id(&self) -> &str {
        &self.track_id
    }
    /// The codecs negotiated for it (asked of the connection: a track can
    /// be announced by the peer's offer before the answer fixes them).
    pub async fn codecs(&mut self) -> Result<Vec<RtpCodecParameters>, Error> {
        let id = self.id;
        self.codecs = request(&self.commands, |r| Command::Codecs(id, r)).await?;
        self.frames.set_codecs(self.codecs.clone());
        Ok(self.codecs.clone())
    }

    /// This receiver's `inbound-rtp` stats (with `remote-outbound-rtp`),
    /// one per stream it receives (several with simulcast).
    pub async fn stats(&self) -> Result<Vec<InboundRtpStats>, Error> {
        let s = request(&self.commands, Command::Stats).await?;
        Ok(s.inbound_rtp
            .into_iter()
            .filter(|i| i.transceiver == self.id)
            .collect())
    }

    /// The next RTP packet (RTX unwrapped, duplicates dropped); `None` once
    /// the peer stopped sending or the connection is gone.
    pub async fn read_rtp(&mut self) -> Option<RtpPacketReceived> {
        self.packets.recv().await
    }

    /// The next complete frame, in order, from a jitter buffer that
    /// reorders, waits for retransmissions and skips what cannot be
    /// completed (asking the peer for a keyframe then); `None` once the
    /// track ended. Payload types tern has no depacketizer for are skipped.
    pub async fn read_frame(&mut self) -> Option<Frame> {
        loop {
            let now = std::time::Instant::now();
            while let Some(a) = self.frames.poll(now) {
                match a {
                    Assembled::Frame(f) => return Some(f),
                    Assembled::Lost { need_keyframe } => {
                        if need_keyframe {
                            let _ = self.commands.try_send(Command::RequestKeyframe(self.id));
                        }
                    }
                }
            }
            let packet = match self.frames.poll_timeout() {
                Some(d) => {
                    let d = tokio::time::Instant::from_std(d);
                    match tokio::time::timeout_at(d, self.packets.recv()).await {
                        Ok(p) => p,
                        Err(_) => continue,
                    }
                }
                None => self.packets.recv().await,
            };
            let p = packet?;
            if !self.frames.knows(p.payload_type) {
                let _ = self.codecs().await;
            }
            self.frames.push(&p);
        }
    }

    /// Frames given up (a gap that was not repaired in time).
    pub fn lost_frames(&self) -> u64 {
        self.frames.lost_frames
    }

    /// `requestKeyframe`: a PLI to the peer (rate-limited). The future
    /// does not borrow the track, so it can be awaited while the track is
    /// read elsewhere.
    pub fn request_keyframe(
        &self,
    ) -> impl std::future::Future<Output = Result<(), Error>> + Send + 'static {
        let tx = self.commands.clone();
        let id = self.id;
        async move {
            tx.send(Command::RequestKeyframe(id))
                .await
                .map_err(|_| Error::Closed)
        }
    }
}
