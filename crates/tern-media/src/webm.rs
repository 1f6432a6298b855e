//! A streaming WebM/Matroska writer for a recorded call: one video track and
//! one Opus audio track, SimpleBlocks in clusters of unknown size.
//!
//! Like browsers' MediaRecorder, the Segment and every Cluster are written
//! with the EBML "unknown size" (RFC 8794 §6.2), so nothing is ever rewritten
//! and a file cut short by a crash still plays up to its last block. There
//! are no Cues (players seek by scanning clusters, which start at video
//! keyframes); the Duration goes into a reserved Void when the output can
//! seek ([`WebmWriter::finish_seekable`]).
//!
//! Element IDs and semantics: the Matroska specification (RFC 9559) and the
//! WebM subset; codec mappings: Matroska codec specs for `V_VP8`, `V_VP9`,
//! `V_AV1`, `V_MPEG4/ISO/AVC` and `A_OPUS`.

use std::collections::VecDeque;
use std::io::{Seek, SeekFrom, Write};
use std::time::Duration;

use crate::av1::av1_configuration_from_temporal_unit;
use crate::avc::{annex_b_to_length_prefixed, avc_configuration_from_annex_b};
use crate::ebml::{put_bytes, put_float, put_id, put_master, put_uint, put_vint, UNKNOWN_SIZE};
use crate::error::{MediaError, Result};
use crate::io::MAX_FRAME_SIZE;
use crate::ogg::{opus_packet_duration, OpusHead, OPUS_GRANULE_RATE};

mod id {
    pub const EBML: u32 = 0x1A45_DFA3;
    pub const EBML_VERSION: u32 = 0x4286;
    pub const EBML_READ_VERSION: u32 = 0x42F7;
    pub const EBML_MAX_ID_LENGTH: u32 = 0x42F2;
    pub const EBML_MAX_SIZE_LENGTH: u32 = 0x42F3;
    pub const DOC_TYPE: u32 = 0x4282;
    pub const DOC_TYPE_VERSION: u32 = 0x4287;
    pub const DOC_TYPE_READ_VERSION: u32 = 0x4285;
    pub const SEGMENT: u32 = 0x1853_8067;
    pub const INFO: u32 = 0x1549_A966;
    pub const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
    pub const MUXING_APP: u32 = 0x4D80;
    pub const DURATION: u32 = 0x4489;
    pub const VOID: u32 = 0xEC;
    pub const WRITING_APP: u32 = 0x5741;
    pub const TRACKS: u32 = 0x1654_AE6B;
    pub const TRACK_ENTRY: u32 = 0xAE;
    pub const TRACK_NUMBER: u32 = 0xD7;
    pub const TRACK_UID: u32 = 0x73C5;
    pub const TRACK_TYPE: u32 = 0x83;
    pub const FLAG_LACING: u32 = 0x9C;
    pub const CODEC_ID: u32 = 0x86;
    pub const CODEC_PRIVATE: u32 = 0x63A2;
    pub const CODEC_DELAY: u32 = 0x56AA;
    pub const SEEK_PRE_ROLL: u32 = 0x56BB;
    pub const VIDEO: u32 = 0xE0;
    pub const PIXEL_WIDTH: u32 = 0xB0;
    pub const PIXEL_HEIGHT: u32 = 0xBA;
    pub const AUDIO: u32 = 0xE1;
    pub const SAMPLING_FREQUENCY: u32 = 0xB5;
    pub const CHANNELS: u32 = 0x9F;
    pub const CLUSTER: u32 = 0x1F43_B675;
    pub const TIMESTAMP: u32 = 0xE7;
    pub const SIMPLE_BLOCK: u32 = 0xA3;
}

/// Matroska TrackType values.
const TRACK_TYPE_VIDEO: u64 = 1;
const TRACK_TYPE_AUDIO: u64 = 2;
/// SimpleBlock flag: the frame is a keyframe.
const BLOCK_KEYFRAME: u8 = 0x80;
/// One millisecond per timestamp tick.
const TIMESTAMP_SCALE_NS: u64 = 1_000_000;
/// A new cluster starts at a video keyframe, or when a block is this far
/// (in ms) past the cluster's start; well inside the i16 block offset.
pub const MAX_CLUSTER_DURATION_MS: u64 = 5_000;
/// RFC 7845 §4.6 / Matroska A_OPUS: decoders need 80 ms of pre-roll after a seek.
const OPUS_SEEK_PRE_ROLL_NS: u64 = 80_000_000;
/// Audio held while waiting for the first video keyframe (about 40 s of 20 ms packets).
const MAX_HELD_AUDIO: usize = 2_000;

/// The video codecs the writer can record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WebmVideoCodec {
    /// VP8 (`V_VP8`), frames as in IVF or after RTP depacketisation.
    Vp8,
    /// VP9 (`V_VP9`).
    Vp9,
    /// AV1 (`V_AV1`): temporal units of low-overhead OBUs; temporal
    /// delimiters are stripped and `CodecPrivate` (av1C) is built from the
    /// first sequence header unless given.
    Av1,
    /// H.264 (`V_MPEG4/ISO/AVC`, Matroska doc type): frames are Annex B
    /// access units, stored length-prefixed; `CodecPrivate` (avcC) is built
    /// from the first keyframe's SPS and PPS unless given.
    H264,
}

impl WebmVideoCodec {
    fn codec_id(self) -> &'static str {
        match self {
            Self::Vp8 => "V_VP8",
            Self::Vp9 => "V_VP9",
            Self::Av1 => "V_AV1",
            Self::H264 => "V_MPEG4/ISO/AVC",
        }
    }

    /// Whether the codec belongs to WebM's subset of Matroska.
    fn is_webm(self) -> bool {
        !matches!(self, Self::H264)
    }
}

/// The video track to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoTrack {
    /// The codec.
    pub codec: WebmVideoCodec,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `CodecPrivate`, if the caller has it (avcC / av1C); otherwise derived
    /// from the first keyframe where the codec needs one.
    pub codec_private: Option<Vec<u8>>,
}

/// The Opus audio track to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioTrack {
    /// The identification header; it becomes `CodecPrivate` and its
    /// pre-skip becomes `CodecDelay`.
    pub head: OpusHead,
}

/// Counters of what the writer did not record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WebmStats {
    /// Video frames dropped because no usable keyframe (for H.264 one with
    /// SPS and PPS, for AV1 one with a sequence header) had been seen yet.
    pub video_before_keyframe: u64,
    /// Audio packets dropped while waiting for the first video keyframe.
    pub audio_overflow: u64,
    /// Blocks dropped because they were more than 32 s older than their cluster.
    pub too_late: u64,
    /// Blocks whose timestamp went backwards within their track and were
    /// moved up to the track's last timestamp.
    pub clamped: u64,
}

#[derive(Debug, Default)]
struct TrackState {
    number: u64,
    last_ms: Option<u64>,
}

/// Writes one call (video and/or Opus audio) as a live WebM/Matroska stream.
///
/// Timestamps are the time since the recording's origin in one clock shared
/// by both tracks (e.g. from RTCP sender reports mapping each RTP clock to
/// wall time); that shared clock is what keeps audio and video in sync.
#[derive(Debug)]
pub struct WebmWriter<W> {
    w: W,
    video: Option<VideoTrack>,
    audio: Option<AudioTrack>,
    video_state: TrackState,
    audio_state: TrackState,
    header_written: bool,
    held_audio: VecDeque<(u64, Vec<u8>)>,
    cluster_ms: Option<u64>,
    cluster_blocks: u64,
    stats: WebmStats,
    buf: Vec<u8>,
    /// Bytes written so far, to find the reserved Duration slot again.
    written: u64,
    /// Offset of the Void element reserved for Duration, once written.
    duration_slot: Option<u64>,
    /// The end of the latest block in ms (audio blocks count their length).
    end_ms: u64,
}

impl<W: Write> WebmWriter<W> {
    /// A writer for the given tracks (at least one). Nothing is written until
    /// the first frame: the header waits for the first video keyframe when
    /// `CodecPrivate` must be derived from it.
    pub fn new(w: W, video: Option<VideoTrack>, audio: Option<AudioTrack>) -> Result<Self> {
        if video.is_none() && audio.is_none() {
            return Err(MediaError::Invalid {
                what: "a WebM recording needs a track",
            });
        }
        let video_state = TrackState {
            number: 1,
            last_ms: None,
        };
        let audio_state = TrackState {
            number: if video.is_some() { 2 } else { 1 },
            last_ms: None,
        };
        Ok(Self {
            w,
            video,
            audio,
            video_state,
            audio_state,
            header_written: false,
            held_audio: VecDeque::new(),
            cluster_ms: None,
            cluster_blocks: 0,
            stats: WebmStats::default(),
            buf: Vec::new(),
            written: 0,
            duration_slot: None,
            end_ms: 0,
        })
    }

    /// What was dropped or adjusted so far.
    pub fn stats(&self) -> WebmStats {
        self.stats
    }

    /// Records one video frame (for H.264 an Annex B access unit) at
    /// `timestamp` since the recording's origin.
    pub fn write_video(&mut self, timestamp: Duration, keyframe: bool, frame: &[u8]) -> Result<()> {
        let track = self.video.as_ref().ok_or(MediaError::Invalid {
            what: "video frame for a recording without a video track",
        })?;
        check_size(frame)?;
        let codec = track.codec;
        let ms = to_ms(timestamp);
        if !self.header_written {
            if !keyframe {
                self.stats.video_before_keyframe += 1;
                return Ok(());
            }
            self.derive_codec_private(frame);
            let needs_private = matches!(codec, WebmVideoCodec::H264 | WebmVideoCodec::Av1);
            if needs_private
                && self
                    .video
                    .as_ref()
                    .is_some_and(|v| v.codec_private.is_none())
            {
                // Without SPS/PPS (or a sequence header) the track could not be
                // decoded: wait for a keyframe that carries them.
                self.stats.video_before_keyframe += 1;
                return Ok(());
            }
            self.write_header()?;
        }
        let mut data = std::mem::take(&mut self.buf);
        data.clear();
        match codec {
            WebmVideoCodec::H264 => annex_b_to_length_prefixed(frame, &mut data),
            WebmVideoCodec::Av1 => crate::av1::strip_temporal_delimiters(frame, &mut data),
            _ => data.extend_from_slice(frame),
        }
        let result = self.write_block(true, ms, keyframe, &data);
        self.buf = data;
        result
    }

    /// Records one Opus packet at `timestamp` since the recording's origin
    /// (the time of its first sample, before pre-skip is applied).
    pub fn write_audio(&mut self, timestamp: Duration, packet: &[u8]) -> Result<()> {
        if self.audio.is_none() {
            return Err(MediaError::Invalid {
                what: "audio packet for a recording without an audio track",
            });
        }
        check_size(packet)?;
        let ms = to_ms(timestamp);
        if !self.header_written {
            if self.video.is_some() {
                if self.held_audio.len() == MAX_HELD_AUDIO {
                    self.held_audio.pop_front();
                    self.stats.audio_overflow += 1;
                }
                self.held_audio.push_back((ms, packet.to_vec()));
                return Ok(());
            }
            self.write_header()?;
        }
        self.write_block(false, ms, true, packet)
    }

    /// Writes the header if no frame did, and any held audio, then flushes
    /// and returns the writer. The file is complete without further fix-ups.
    pub fn finish(mut self) -> Result<W> {
        self.finish_header()?;
        self.w.flush()?;
        Ok(self.w)
    }

    fn finish_header(&mut self) -> Result<()> {
        if !self.header_written {
            self.write_header()?;
        }
        Ok(())
    }

    fn derive_codec_private(&mut self, keyframe: &[u8]) {
        if let Some(v) = self.video.as_mut() {
            if v.codec_private.is_none() {
                v.codec_private = match v.codec {
                    WebmVideoCodec::H264 => avc_configuration_from_annex_b(keyframe),
                    WebmVideoCodec::Av1 => av1_configuration_from_temporal_unit(keyframe),
                    _ => None,
                };
            }
        }
    }

    fn write_header(&mut self) -> Result<()> {
        let webm = self.video.as_ref().is_none_or(|v| v.codec.is_webm());
        let mut out = Vec::new();
        put_master(&mut out, id::EBML, |e| {
            put_uint(e, id::EBML_VERSION, 1);
            put_uint(e, id::EBML_READ_VERSION, 1);
            put_uint(e, id::EBML_MAX_ID_LENGTH, 4);
            put_uint(e, id::EBML_MAX_SIZE_LENGTH, 8);
            put_bytes(e, id::DOC_TYPE, if webm { b"webm" } else { b"matroska" });
            put_uint(e, id::DOC_TYPE_VERSION, 4);
            put_uint(e, id::DOC_TYPE_READ_VERSION, 2);
        });
        put_id(&mut out, id::SEGMENT);
        out.extend_from_slice(&UNKNOWN_SIZE);
        // Room for a Duration that only a seekable finish can know: an EBML
        // Void (RFC 8794 §11.3.2) of the same 11 bytes (1 ID, 1 size, 9 zeros).
        let mut info = Vec::new();
        put_uint(&mut info, id::TIMESTAMP_SCALE, TIMESTAMP_SCALE_NS);
        let slot_in_info = info.len();
        put_bytes(&mut info, id::VOID, &[0; 9]);
        put_bytes(&mut info, id::MUXING_APP, b"tern-media");
        put_bytes(&mut info, id::WRITING_APP, b"tern");
        put_bytes(&mut out, id::INFO, &info);
        let slot = out.len() - info.len() + slot_in_info;
        let (video, audio) = (self.video.as_ref(), self.audio.as_ref());
        let (vnum, anum) = (self.video_state.number, self.audio_state.number);
        put_master(&mut out, id::TRACKS, |t| {
            if let Some(v) = video {
                put_master(t, id::TRACK_ENTRY, |e| {
                    put_uint(e, id::TRACK_NUMBER, vnum);
                    put_uint(e, id::TRACK_UID, vnum);
                    put_uint(e, id::TRACK_TYPE, TRACK_TYPE_VIDEO);
                    put_uint(e, id::FLAG_LACING, 0);
                    put_bytes(e, id::CODEC_ID, v.codec.codec_id().as_bytes());
                    if let Some(p) = &v.codec_private {
                        put_bytes(e, id::CODEC_PRIVATE, p);
                    }
                    put_master(e, id::VIDEO, |x| {
                        put_uint(x, id::PIXEL_WIDTH, u64::from(v.width));
                        put_uint(x, id::PIXEL_HEIGHT, u64::from(v.height));
                    });
                });
            }
            if let Some(a) = audio {
                put_master(t, id::TRACK_ENTRY, |e| {
                    put_uint(e, id::TRACK_NUMBER, anum);
                    put_uint(e, id::TRACK_UID, anum);
                    put_uint(e, id::TRACK_TYPE, TRACK_TYPE_AUDIO);
                    put_uint(e, id::FLAG_LACING, 0);
                    put_bytes(e, id::CODEC_ID, b"A_OPUS");
                    put_bytes(e, id::CODEC_PRIVATE, &a.head.emit());
                    let delay_ns =
                        u64::from(a.head.pre_skip) * 1_000_000_000 / u64::from(OPUS_GRANULE_RATE);
                    put_uint(e, id::CODEC_DELAY, delay_ns);
                    put_uint(e, id::SEEK_PRE_ROLL, OPUS_SEEK_PRE_ROLL_NS);
                    put_master(e, id::AUDIO, |x| {
                        put_float(x, id::SAMPLING_FREQUENCY, f64::from(OPUS_GRANULE_RATE));
                        put_uint(x, id::CHANNELS, u64::from(a.head.channels));
                    });
                });
            }
        });
        self.duration_slot = Some(self.written + slot as u64);
        self.put(&out)?;
        self.header_written = true;
        for (ms, p) in std::mem::take(&mut self.held_audio) {
            self.write_block(false, ms, true, &p)?;
        }
        Ok(())
    }

    fn write_block(&mut self, video: bool, ms: u64, keyframe: bool, data: &[u8]) -> Result<()> {
        let state = if video {
            &mut self.video_state
        } else {
            &mut self.audio_state
        };
        let ms = match state.last_ms {
            Some(last) if ms < last => {
                self.stats.clamped += 1;
                last
            }
            _ => ms,
        };
        state.last_ms = Some(ms);
        let track = state.number;

        let new_cluster = match self.cluster_ms {
            None => true,
            Some(c) => {
                (video && keyframe && self.cluster_blocks > 0)
                    || ms.saturating_sub(c) >= MAX_CLUSTER_DURATION_MS
            }
        };
        if new_cluster {
            // Cluster timestamps never go backwards, even when a track lags.
            let start = self.cluster_ms.map_or(ms, |c| c.max(ms));
            let mut out = Vec::with_capacity(20);
            put_id(&mut out, id::CLUSTER);
            out.extend_from_slice(&UNKNOWN_SIZE);
            put_uint(&mut out, id::TIMESTAMP, start);
            self.put(&out)?;
            self.cluster_ms = Some(start);
            self.cluster_blocks = 0;
        }
        let cluster = self.cluster_ms.unwrap_or(ms);
        let Ok(rel) = i16::try_from(i128::from(ms) - i128::from(cluster)) else {
            self.stats.too_late += 1;
            return Ok(());
        };
        let mut head = Vec::with_capacity(16);
        put_id(&mut head, id::SIMPLE_BLOCK);
        // Track number VINT (1 byte for tracks 1..126) + i16 offset + flags.
        put_vint(&mut head, data.len() as u64 + 4);
        put_vint(&mut head, track);
        head.extend_from_slice(&rel.to_be_bytes());
        head.push(if keyframe { BLOCK_KEYFRAME } else { 0 });
        self.put(&head)?;
        self.put(data)?;
        self.cluster_blocks += 1;
        let len_ms = if video {
            0
        } else {
            opus_packet_duration(data)
                .map_or(0, |d| u64::from(d) * 1000 / u64::from(OPUS_GRANULE_RATE))
        };
        self.end_ms = self.end_ms.max(ms.saturating_add(len_ms));
        Ok(())
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.w.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }
}

impl<W: Write + Seek> WebmWriter<W> {
    /// Like [`WebmWriter::finish`], then writes the recording's Duration
    /// into the slot reserved for it in Info, so players show the length
    /// without scanning. The writer must not have been moved since the
    /// recording began (offsets count from where it stood then).
    pub fn finish_seekable(mut self) -> Result<W> {
        self.finish_header()?;
        let end = self.w.stream_position()?;
        let start = end.checked_sub(self.written).ok_or(MediaError::Invalid {
            what: "WebM writer's output was moved before finishing",
        })?;
        if let Some(slot) = self.duration_slot {
            let mut d = Vec::with_capacity(11);
            // Milliseconds in TimestampScale units (1 ms), as Matroska's float Duration.
            put_float(&mut d, id::DURATION, self.end_ms as f64);
            self.w.seek(SeekFrom::Start(start + slot))?;
            self.w.write_all(&d)?;
            self.w.seek(SeekFrom::Start(end))?;
        }
        self.w.flush()?;
        Ok(self.w)
    }
}

fn to_ms(t: Duration) -> u64 {
    u64::try_from(t.as_millis()).unwrap_or(u64::MAX)
}

fn check_size(frame: &[u8]) -> Result<()> {
    if frame.len() > MAX_FRAME_SIZE {
        return Err(MediaError::TooLarge {
            what: "WebM frame",
            size: frame.len() as u64,
            max: MAX_FRAME_SIZE as u64,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(codec: WebmVideoCodec) -> WebmWriter<Vec<u8>> {
        let video = VideoTrack {
            codec,
            width: 2,
            height: 2,
            codec_private: None,
        };
        let audio = AudioTrack {
            head: OpusHead::new(1, 312),
        };
        WebmWriter::new(Vec::new(), Some(video), Some(audio)).unwrap()
    }

    fn count(hay: &[u8], needle: &[u8]) -> usize {
        hay.windows(needle.len()).filter(|w| *w == needle).count()
    }

    const CLUSTER: [u8; 4] = [0x1F, 0x43, 0xB6, 0x75];

    #[test]
    fn header_waits_for_a_keyframe_and_audio_is_held_not_lost() {
        let mut w = writer(WebmVideoCodec::Vp8);
        w.write_audio(Duration::from_millis(0), &[0xFC, 1]).unwrap();
        w.write_video(Duration::from_millis(10), false, &[1, 2, 3])
            .unwrap();
        assert!(w.w.is_empty());
        w.write_video(Duration::from_millis(40), true, &[0x10, 2, 3])
            .unwrap();
        assert_eq!(w.stats().video_before_keyframe, 1);
        let out = w.finish().unwrap();
        assert_eq!(count(&out, b"V_VP8"), 1);
        assert_eq!(count(&out, b"A_OPUS"), 1);
        // The held audio opens a cluster at 0 ms; the keyframe opens one at 40 ms.
        assert_eq!(count(&out, &CLUSTER), 2);
        assert_eq!(count(&out, &[0xE7, 0x81, 40]), 1);
        let audio_block = [0xA3, 0x86, 0x82, 0x00, 0x00, 0x80, 0xFC, 1];
        let video_block = [0xA3, 0x87, 0x81, 0x00, 0x00, 0x80, 0x10, 2, 3];
        assert_eq!(count(&out, &audio_block), 1);
        assert_eq!(count(&out, &video_block), 1);
    }

    #[test]
    fn h264_waits_for_parameter_sets() {
        let mut w = writer(WebmVideoCodec::H264);
        w.write_video(Duration::ZERO, true, &[0, 0, 1, 0x65, 0x88])
            .unwrap();
        assert!(w.w.is_empty());
        let key = [
            0, 0, 1, 0x67, 0x42, 0xC0, 0x1E, 0, 0, 1, 0x68, 0xCE, 0, 0, 1, 0x65, 0x88,
        ];
        w.write_video(Duration::from_millis(33), true, &key)
            .unwrap();
        assert_eq!(w.stats().video_before_keyframe, 1);
        let out = w.finish().unwrap();
        assert_eq!(count(&out, b"matroska"), 1);
        // Two CodecPrivates: avcC and OpusHead.
        assert_eq!(count(&out, &[0x63, 0xA2]), 2);
    }

    #[test]
    fn clusters_start_at_keyframes_and_every_five_seconds() {
        let mut w = writer(WebmVideoCodec::Vp8);
        w.write_video(Duration::ZERO, true, &[0x10]).unwrap();
        for i in 1..300u64 {
            // 30 s of audio-only after the keyframe: 6 clusters of 5 s.
            w.write_audio(Duration::from_millis(i * 100), &[0xFC])
                .unwrap();
        }
        w.write_video(Duration::from_millis(30_050), true, &[0x10])
            .unwrap();
        // Time going backwards within a track is clamped, not written as-is.
        w.write_video(Duration::from_millis(30_000), false, &[0x11])
            .unwrap();
        assert_eq!(w.stats().clamped, 1);
        let out = w.finish().unwrap();
        assert_eq!(count(&out, &CLUSTER), 7);
    }

    #[test]
    fn seekable_finish_fills_the_duration_slot() {
        let video = VideoTrack {
            codec: WebmVideoCodec::Vp8,
            width: 2,
            height: 2,
            codec_private: None,
        };
        let audio = AudioTrack {
            head: OpusHead::new(1, 0),
        };
        let mut cursor = std::io::Cursor::new(vec![0xAB; 3]);
        cursor.set_position(3); // the recording need not start at offset 0
        let mut w = WebmWriter::new(cursor, Some(video), Some(audio)).unwrap();
        w.write_video(Duration::ZERO, true, &[0x10]).unwrap();
        w.write_audio(Duration::from_millis(1_500), &[0xFC])
            .unwrap();
        let out = w.finish_seekable().unwrap().into_inner();
        assert_eq!(&out[..3], &[0xAB; 3]);
        let mut want = vec![0x44, 0x89, 0x88];
        // The last block ends 20 ms after 1.5 s.
        want.extend_from_slice(&1520f64.to_be_bytes());
        assert_eq!(count(&out, &want), 1);
        assert_eq!(count(&out, &[0xEC, 0x89]), 0, "the Void was replaced");
    }
}
