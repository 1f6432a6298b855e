//! The per-direction SRTP cryptographic contexts (RFC 3711 §3.2): a
//! [`Protector`] for what we send and an [`Unprotector`] for what we receive,
//! each holding per-SSRC index and replay state.

use rustc_hash::FxHashMap;

use crate::header::{RtcpHeader, RtpHeader};
use crate::replay::{estimate_index, Refusal, ReplayWindow, MAX_REPLAY_WINDOW, MIN_REPLAY_WINDOW};
use crate::transform::{Transform, SRTCP_INDEX_LEN};
use crate::{MasterKey, ProtectionProfile, SrtpError, SrtpKeys};

/// The SRTCP index is 31 bits (RFC 3711 §3.4).
const SRTCP_INDEX_LIMIT: u32 = 1 << 31;

/// Limits of a context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SrtpConfig {
    /// Most SSRCs a context keeps state for (RTP and RTCP of one SSRC count
    /// once). A packet of a new SSRC beyond it is refused with
    /// [`SrtpError::TooManyStreams`]; nothing is evicted, because forgetting
    /// a stream's replay list would let its old packets be replayed.
    /// Default 128.
    pub max_streams: usize,
    /// Replay window in packets, 128 to 1024, applied to SRTP and SRTCP
    /// separately (RFC 3711 §3.3.2). Default 1024, the window libwebrtc uses,
    /// since video bursts are reordered further than libsrtp's default 128.
    pub replay_window: usize,
}

impl Default for SrtpConfig {
    fn default() -> Self {
        SrtpConfig {
            max_streams: 128,
            replay_window: MAX_REPLAY_WINDOW,
        }
    }
}

impl SrtpConfig {
    fn validate(self) -> Result<Self, SrtpError> {
        if self.max_streams == 0 {
            return Err(SrtpError::Config("max_streams must be at least 1"));
        }
        if !(MIN_REPLAY_WINDOW..=MAX_REPLAY_WINDOW).contains(&self.replay_window) {
            return Err(SrtpError::Config("replay_window must be 128 to 1024"));
        }
        Ok(self)
    }
}

/// What a [`Protector`] has done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProtectStats {
    /// RTP packets protected.
    pub rtp_packets: u64,
    /// RTCP packets protected.
    pub rtcp_packets: u64,
    /// Packets refused (malformed, buffer too small, too many streams,
    /// index exhausted).
    pub errors: u64,
}

/// What an [`Unprotector`] has done. Each refused packet is counted once,
/// under the first check it failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnprotectStats {
    /// SRTP packets that authenticated and were decrypted.
    pub rtp_packets: u64,
    /// SRTCP packets that authenticated (and were decrypted if flagged).
    pub rtcp_packets: u64,
    /// Packets whose tag did not verify.
    pub auth_failures: u64,
    /// Packets whose index was already received.
    pub replays: u64,
    /// Packets behind the replay window.
    pub too_old: u64,
    /// Packets too short or not version 2.
    pub malformed: u64,
    /// Packets of a new SSRC refused because the context was full.
    pub rejected_streams: u64,
}

fn check_len(buf: &[u8], len: usize, overhead: usize) -> Result<(), SrtpError> {
    let need = len.saturating_add(overhead);
    if buf.len() < need {
        return Err(SrtpError::BufferTooSmall {
            need,
            got: buf.len(),
        });
    }
    Ok(())
}

#[derive(Debug, Default)]
struct SendStream {
    /// Highest SRTP index sent, `None` before the first packet.
    rtp_highest: Option<u64>,
    /// The next SRTCP index to send (RFC 3711 §3.4: starts at 0).
    rtcp_next: u32,
}

/// Outbound SRTP/SRTCP: protects what we send, in place.
///
/// RFC 3711 §3.3.1: the sender's ROC follows the sequence numbers it is
/// given (a wrap from 65535 to 0 increments it; a retransmission of an older
/// sequence number reuses its old index).
pub struct Protector {
    profile: ProtectionProfile,
    rtp: Transform,
    rtcp: Transform,
    config: SrtpConfig,
    streams: FxHashMap<u32, SendStream>,
    stats: ProtectStats,
}

impl Protector {
    /// A context that protects with `master` (our half of the DTLS exporter
    /// output, [`SrtpKeys::local`]).
    pub fn new(
        profile: ProtectionProfile,
        master: &MasterKey,
        config: SrtpConfig,
    ) -> Result<Self, SrtpError> {
        Ok(Self::from_transforms(
            profile,
            Transform::derive(profile, master, false)?,
            Transform::derive(profile, master, true)?,
            config.validate()?,
        ))
    }

    pub(crate) fn from_transforms(
        profile: ProtectionProfile,
        rtp: Transform,
        rtcp: Transform,
        config: SrtpConfig,
    ) -> Self {
        Protector {
            profile,
            rtp,
            rtcp,
            config,
            streams: FxHashMap::default(),
            stats: ProtectStats::default(),
        }
    }

    /// The profile this context protects with.
    pub fn profile(&self) -> ProtectionProfile {
        self.profile
    }

    /// Counters.
    pub fn stats(&self) -> ProtectStats {
        self.stats
    }

    /// How many SSRCs this context keeps state for.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// Forgets an SSRC (its stream ended); returns whether it was known.
    /// Sending on it again restarts at ROC 0 and SRTCP index 0, which
    /// reuses keystream: only do this for an SSRC that will not be used
    /// again under this key.
    pub fn remove_ssrc(&mut self, ssrc: u32) -> bool {
        self.streams.remove(&ssrc).is_some()
    }

    /// The rollover counter of an SSRC we send (RFC 3711 §3.3.1).
    pub fn roc(&self, ssrc: u32) -> Option<u32> {
        let h = self.streams.get(&ssrc)?.rtp_highest?;
        Some((h >> 16) as u32)
    }

    fn stream(&mut self, ssrc: u32) -> Result<&mut SendStream, SrtpError> {
        let full = self.streams.len() >= self.config.max_streams;
        match self.streams.entry(ssrc) {
            std::collections::hash_map::Entry::Occupied(e) => Ok(e.into_mut()),
            std::collections::hash_map::Entry::Vacant(_) if full => {
                Err(SrtpError::TooManyStreams {
                    max: self.config.max_streams,
                })
            }
            std::collections::hash_map::Entry::Vacant(e) => Ok(e.insert(SendStream::default())),
        }
    }

    /// RFC 3711 §3.3: protects the RTP packet `buf[..len]` in place and
    /// appends its tag; `buf` must have [`ProtectionProfile::rtp_overhead`]
    /// bytes of room after `len`. Returns the SRTP packet length.
    ///
    /// The header (with CSRCs and extension) stays in the clear and is
    /// authenticated; the payload (padding included) is encrypted.
    pub fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        let r = self.protect_rtp_inner(buf, len);
        match r {
            Ok(_) => self.stats.rtp_packets += 1,
            Err(_) => self.stats.errors += 1,
        }
        r
    }

    fn protect_rtp_inner(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        check_len(buf, len, self.rtp.tag_len())?;
        let header = RtpHeader::new_checked(buf.get(..len).unwrap_or(&[]))?;
        let (header_len, seq, ssrc) =
            (header.header_len(), header.sequence_number(), header.ssrc());
        let stream = self.stream(ssrc)?;
        let index = match stream.rtp_highest {
            None => u64::from(seq),
            Some(h) => estimate_index(h, seq).map_err(|r| match r {
                Refusal::Exhausted => SrtpError::IndexExhausted { ssrc },
                _ => SrtpError::TooOld {
                    ssrc,
                    index: u64::from(seq),
                },
            })?,
        };
        if stream.rtp_highest.is_none_or(|h| index > h) {
            stream.rtp_highest = Some(index);
        }
        self.rtp.protect_rtp(buf, header_len, len, ssrc, index)
    }

    /// RFC 3711 §3.4: protects the RTCP (compound) packet `buf[..len]` in
    /// place: encrypts all but the first 8 bytes, appends E flag + SRTCP
    /// index and the tag; `buf` must have [`ProtectionProfile::rtcp_overhead`]
    /// bytes of room after `len`. Returns the SRTCP packet length.
    pub fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        let r = self.protect_rtcp_inner(buf, len);
        match r {
            Ok(_) => self.stats.rtcp_packets += 1,
            Err(_) => self.stats.errors += 1,
        }
        r
    }

    fn protect_rtcp_inner(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        check_len(buf, len, SRTCP_INDEX_LEN + self.rtcp.tag_len())?;
        let ssrc = RtcpHeader::new_checked(buf.get(..len).unwrap_or(&[]))?.ssrc();
        let stream = self.stream(ssrc)?;
        let index = stream.rtcp_next;
        if index >= SRTCP_INDEX_LIMIT {
            return Err(SrtpError::IndexExhausted { ssrc });
        }
        stream.rtcp_next = index + 1;
        self.rtcp.protect_rtcp(buf, len, ssrc, index)
    }

    #[cfg(test)]
    pub(crate) fn set_next_srtcp_index(&mut self, ssrc: u32, index: u32) {
        self.streams.entry(ssrc).or_default().rtcp_next = index;
    }
}

impl std::fmt::Debug for Protector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Protector")
            .field("profile", &self.profile)
            .field("streams", &self.streams.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct RecvStream {
    rtp: Option<ReplayWindow>,
    rtcp: Option<ReplayWindow>,
}

/// Inbound SRTP/SRTCP: authenticates, replay-checks and decrypts what the
/// peer sends, in place.
///
/// Per-SSRC state (ROC, highest index, replay list) is created by the first
/// packet of an SSRC that authenticates and changes only when a packet
/// authenticates, so forged packets neither grow memory nor move the window.
pub struct Unprotector {
    profile: ProtectionProfile,
    rtp: Transform,
    rtcp: Transform,
    config: SrtpConfig,
    streams: FxHashMap<u32, RecvStream>,
    stats: UnprotectStats,
}

impl Unprotector {
    /// A context that unprotects with `master` (the peer's half of the DTLS
    /// exporter output, [`SrtpKeys::remote`]).
    pub fn new(
        profile: ProtectionProfile,
        master: &MasterKey,
        config: SrtpConfig,
    ) -> Result<Self, SrtpError> {
        Ok(Self::from_transforms(
            profile,
            Transform::derive(profile, master, false)?,
            Transform::derive(profile, master, true)?,
            config.validate()?,
        ))
    }

    pub(crate) fn from_transforms(
        profile: ProtectionProfile,
        rtp: Transform,
        rtcp: Transform,
        config: SrtpConfig,
    ) -> Self {
        Unprotector {
            profile,
            rtp,
            rtcp,
            config,
            streams: FxHashMap::default(),
            stats: UnprotectStats::default(),
        }
    }

    /// The profile this context unprotects with.
    pub fn profile(&self) -> ProtectionProfile {
        self.profile
    }

    /// Counters.
    pub fn stats(&self) -> UnprotectStats {
        self.stats
    }

    /// How many SSRCs this context keeps state for.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// Forgets an SSRC (its stream ended, e.g. RTCP BYE), freeing its slot.
    /// Its replay list goes with it: old packets of that SSRC would be
    /// accepted again, so only remove SSRCs the peer will not reuse.
    pub fn remove_ssrc(&mut self, ssrc: u32) -> bool {
        self.streams.remove(&ssrc).is_some()
    }

    /// The estimated rollover counter of an SSRC we receive (RFC 3711 §3.3.1).
    pub fn roc(&self, ssrc: u32) -> Option<u32> {
        let w = self.streams.get(&ssrc)?.rtp.as_ref()?;
        Some((w.highest() >> 16) as u32)
    }

    fn count<T>(&mut self, r: &Result<T, SrtpError>) {
        let s = &mut self.stats;
        match r {
            Ok(_) => {}
            Err(SrtpError::Authentication { .. }) => s.auth_failures += 1,
            Err(SrtpError::Replay { .. }) => s.replays += 1,
            Err(SrtpError::TooOld { .. }) => s.too_old += 1,
            Err(SrtpError::TooManyStreams { .. }) => s.rejected_streams += 1,
            Err(_) => s.malformed += 1,
        }
    }

    /// RFC 3711 §3.3: authenticates and decrypts the SRTP packet `packet`
    /// in place. Returns the length of the RTP packet now at the front of
    /// `packet` (the tag is stripped). On error the packet must be dropped;
    /// the context is unchanged.
    pub fn unprotect_rtp(&mut self, packet: &mut [u8]) -> Result<usize, SrtpError> {
        let r = self.unprotect_rtp_inner(packet);
        if r.is_ok() {
            self.stats.rtp_packets += 1;
        }
        self.count(&r);
        r
    }

    fn unprotect_rtp_inner(&mut self, packet: &mut [u8]) -> Result<usize, SrtpError> {
        let header = RtpHeader::new_checked(&*packet)?;
        let (header_len, seq, ssrc) =
            (header.header_len(), header.sequence_number(), header.ssrc());
        let need = header_len + self.rtp.tag_len();
        if packet.len() < need {
            return Err(SrtpError::Truncated {
                what: "SRTP packet",
                need,
                got: packet.len(),
            });
        }
        let full = self.streams.len() >= self.config.max_streams;
        let window = self.config.replay_window;
        let stream = self.streams.get_mut(&ssrc);
        let index = match stream.as_ref().and_then(|s| s.rtp.as_ref()) {
            Some(w) => {
                let index = estimate_index(w.highest(), seq).map_err(|r| refusal(r, ssrc, seq))?;
                w.check(index, window)
                    .map_err(|r| refusal_at(r, ssrc, index))?;
                index
            }
            // RFC 3711 §3.3.1: a new stream starts with ROC 0.
            None if stream.is_none() && full => {
                return Err(SrtpError::TooManyStreams {
                    max: self.config.max_streams,
                })
            }
            None => u64::from(seq),
        };
        let n = self.rtp.unprotect_rtp(packet, header_len, ssrc, index)?;
        // Authenticated: only now does the stream's state move.
        match stream {
            Some(RecvStream { rtp: Some(w), .. }) => w.accept(index),
            Some(s) => s.rtp = Some(ReplayWindow::new(index)),
            None => {
                self.streams.insert(
                    ssrc,
                    RecvStream {
                        rtp: Some(ReplayWindow::new(index)),
                        rtcp: None,
                    },
                );
            }
        }
        Ok(n)
    }

    /// RFC 3711 §3.4: authenticates the SRTCP packet `packet`, checks its
    /// SRTCP index against the replay list and, if the E flag is set,
    /// decrypts it in place. Returns the length of the RTCP packet now at
    /// the front of `packet` (index and tag stripped). On error the packet
    /// must be dropped; the context is unchanged.
    pub fn unprotect_rtcp(&mut self, packet: &mut [u8]) -> Result<usize, SrtpError> {
        let r = self.unprotect_rtcp_inner(packet);
        if r.is_ok() {
            self.stats.rtcp_packets += 1;
        }
        self.count(&r);
        r
    }

    fn unprotect_rtcp_inner(&mut self, packet: &mut [u8]) -> Result<usize, SrtpError> {
        let ssrc = RtcpHeader::new_checked(&*packet)?.ssrc();
        let trailer = self.rtcp.srtcp_trailer(packet)?;
        let index = u64::from(trailer.index);
        let full = self.streams.len() >= self.config.max_streams;
        let window = self.config.replay_window;
        let stream = self.streams.get_mut(&ssrc);
        match stream.as_ref().and_then(|s| s.rtcp.as_ref()) {
            Some(w) => w
                .check(index, window)
                .map_err(|r| refusal_at(r, ssrc, index))?,
            None if stream.is_none() && full => {
                return Err(SrtpError::TooManyStreams {
                    max: self.config.max_streams,
                })
            }
            None => {}
        }
        let n = self.rtcp.unprotect_rtcp(packet, ssrc, trailer)?;
        match stream {
            Some(RecvStream { rtcp: Some(w), .. }) => w.accept(index),
            Some(s) => s.rtcp = Some(ReplayWindow::new(index)),
            None => {
                self.streams.insert(
                    ssrc,
                    RecvStream {
                        rtp: None,
                        rtcp: Some(ReplayWindow::new(index)),
                    },
                );
            }
        }
        Ok(n)
    }
}

impl std::fmt::Debug for Unprotector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unprotector")
            .field("profile", &self.profile)
            .field("streams", &self.streams.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

fn refusal(r: Refusal, ssrc: u32, seq: u16) -> SrtpError {
    refusal_at(r, ssrc, u64::from(seq))
}

fn refusal_at(r: Refusal, ssrc: u32, index: u64) -> SrtpError {
    match r {
        Refusal::Replay => SrtpError::Replay { ssrc, index },
        Refusal::TooOld => SrtpError::TooOld { ssrc, index },
        Refusal::Exhausted => SrtpError::IndexExhausted { ssrc },
    }
}

impl SrtpKeys {
    /// Both contexts of a session: a [`Protector`] keyed with
    /// [`local`](SrtpKeys::local) and an [`Unprotector`] keyed with
    /// [`remote`](SrtpKeys::remote).
    pub fn contexts(&self, config: SrtpConfig) -> Result<(Protector, Unprotector), SrtpError> {
        Ok((
            Protector::new(self.profile, &self.local, config)?,
            Unprotector::new(self.profile, &self.remote, config)?,
        ))
    }
}
