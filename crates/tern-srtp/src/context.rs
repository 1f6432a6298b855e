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
    /// Packets too short or not version 2 (and the few otherwise unusable:
    /// an exhausted index space, a backend refusal).
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

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ProtectionProfile; 4] = ProtectionProfile::ALL;

    fn pair(profile: ProtectionProfile, config: SrtpConfig) -> (Protector, Unprotector) {
        let n = profile.keying_material_len();
        let material: Vec<u8> = (0..n as u8).map(|b| b.wrapping_mul(37)).collect();
        let a = SrtpKeys::from_exporter(profile, &material, crate::DtlsRole::Client).unwrap();
        let b = SrtpKeys::from_exporter(profile, &material, crate::DtlsRole::Server).unwrap();
        (a.contexts(config).unwrap().0, b.contexts(config).unwrap().1)
    }

    fn rtp(ssrc: u32, seq: u16, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, 96];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0x10, 0]);
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    fn rtcp(ssrc: u32) -> Vec<u8> {
        let mut p = vec![0x80, 201, 0, 1];
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(b"report!!");
        p
    }

    fn protect(tx: &mut Protector, plain: &[u8]) -> Vec<u8> {
        let mut buf = plain.to_vec();
        buf.resize(plain.len() + 16, 0);
        let n = tx.protect_rtp(&mut buf, plain.len()).unwrap();
        buf.truncate(n);
        buf
    }

    fn protect_c(tx: &mut Protector, plain: &[u8]) -> Vec<u8> {
        let mut buf = plain.to_vec();
        buf.resize(plain.len() + 20, 0);
        let n = tx.protect_rtcp(&mut buf, plain.len()).unwrap();
        buf.truncate(n);
        buf
    }

    fn open(rx: &mut Unprotector, wire: &[u8]) -> Result<Vec<u8>, SrtpError> {
        let mut b = wire.to_vec();
        let n = rx.unprotect_rtp(&mut b)?;
        b.truncate(n);
        Ok(b)
    }

    fn open_c(rx: &mut Unprotector, wire: &[u8]) -> Result<Vec<u8>, SrtpError> {
        let mut b = wire.to_vec();
        let n = rx.unprotect_rtcp(&mut b)?;
        b.truncate(n);
        Ok(b)
    }

    #[test]
    fn wrap_with_reordering_either_side_keeps_decrypting() {
        for p in ALL {
            let (mut tx, mut rx) = pair(p, SrtpConfig::default());
            let seqs: Vec<u16> = (65_500u16..=65_535).chain(0..40).collect();
            let wire: Vec<Vec<u8>> = seqs
                .iter()
                .map(|&s| protect(&mut tx, &rtp(7, s, &s.to_be_bytes())))
                .collect();
            assert_eq!(tx.roc(7), Some(1), "{p}");
            // Deliver with packets from after the wrap arriving before ones
            // from before it, and vice versa.
            let mut order: Vec<usize> = (0..wire.len()).collect();
            order.swap(30, 38); // 65530 <-> 2
            order.swap(35, 36); // 65535 <-> 0
            order.swap(20, 45); // 65520 <-> 9
            for i in order {
                let plain = open(&mut rx, &wire[i]).unwrap_or_else(|e| panic!("{p} {i}: {e}"));
                assert_eq!(plain, rtp(7, seqs[i], &seqs[i].to_be_bytes()));
            }
            assert_eq!(rx.roc(7), Some(1));
            for w in &wire {
                assert!(matches!(open(&mut rx, w), Err(SrtpError::Replay { .. })));
            }
            let s = rx.stats();
            assert_eq!(
                (s.rtp_packets, s.replays),
                (wire.len() as u64, wire.len() as u64)
            );
        }
    }

    #[test]
    fn forged_packets_create_no_state_and_move_nothing() {
        for p in ALL {
            let (mut tx, mut rx) = pair(p, SrtpConfig::default());
            // A forged packet of an unknown SSRC: no stream appears.
            let mut forged = protect(&mut tx, &rtp(1, 10, b"abc"));
            let last = forged.len() - 1;
            forged[last] ^= 1;
            assert_eq!(
                open(&mut rx, &forged),
                Err(SrtpError::Authentication { ssrc: 1 })
            );
            assert_eq!(rx.stream_count(), 0);
            assert_eq!(rx.roc(1), None);
            // Establish the stream, then forge a packet that would move the ROC.
            let good = protect(&mut tx, &rtp(11, 65_000, b"x"));
            open(&mut rx, &good).unwrap();
            let mut ahead = protect(&mut tx, &rtp(11, 100, b"y")); // ROC 1
            ahead[13] ^= 0x40;
            assert!(matches!(
                open(&mut rx, &ahead),
                Err(SrtpError::Authentication { .. })
            ));
            assert_eq!(rx.roc(11), Some(0), "{p}: ROC moved by a forged packet");
            ahead[13] ^= 0x40;
            open(&mut rx, &ahead).unwrap();
            assert_eq!(rx.roc(11), Some(1));
            // Forged SRTCP: no RTCP state for a new SSRC either.
            let mut c = protect_c(&mut tx, &rtcp(2));
            c[9] ^= 1;
            assert!(matches!(
                open_c(&mut rx, &c),
                Err(SrtpError::Authentication { .. })
            ));
            assert_eq!(rx.stream_count(), 1);
            assert_eq!(rx.stats().auth_failures, 3);
        }
    }

    #[test]
    fn replay_window_edges() {
        let cfg = SrtpConfig {
            replay_window: 128,
            ..SrtpConfig::default()
        };
        let (mut tx, mut rx) = pair(ProtectionProfile::Aes128CmHmacSha1_80, cfg);
        let wire: Vec<Vec<u8>> = (0..300u16)
            .map(|s| protect(&mut tx, &rtp(9, s, b"p")))
            .collect();
        open(&mut rx, &wire[299]).unwrap();
        assert_eq!(
            open(&mut rx, &wire[171]),
            Err(SrtpError::TooOld {
                ssrc: 9,
                index: 171
            })
        );
        open(&mut rx, &wire[172]).unwrap();
        assert_eq!(
            open(&mut rx, &wire[172]),
            Err(SrtpError::Replay {
                ssrc: 9,
                index: 172
            })
        );
        open(&mut rx, &wire[250]).unwrap();
        let s = rx.stats();
        assert_eq!((s.too_old, s.replays, s.rtp_packets), (1, 1, 3));
    }

    #[test]
    fn srtcp_index_counts_from_zero_and_is_replay_checked() {
        for p in ALL {
            let (mut tx, mut rx) = pair(p, SrtpConfig::default());
            let a = protect_c(&mut tx, &rtcp(5));
            let b = protect_c(&mut tx, &rtcp(5));
            let word = |w: &[u8], at: usize| u32::from_be_bytes(w[at..at + 4].try_into().unwrap());
            let at = if p.is_aead() {
                a.len() - 4
            } else {
                a.len() - 14
            };
            assert_eq!(
                (word(&a, at), word(&b, at)),
                (0x8000_0000, 0x8000_0001),
                "{p}"
            );
            assert_eq!(a.len(), rtcp(5).len() + p.rtcp_overhead());
            assert_eq!(open_c(&mut rx, &b).unwrap(), rtcp(5));
            assert_eq!(open_c(&mut rx, &a).unwrap(), rtcp(5));
            assert_eq!(
                open_c(&mut rx, &a),
                Err(SrtpError::Replay { ssrc: 5, index: 0 })
            );
            tx.set_next_srtcp_index(5, (1 << 31) - 1);
            let last = protect_c(&mut tx, &rtcp(5));
            open_c(&mut rx, &last).unwrap();
            let mut buf = rtcp(5);
            buf.resize(40, 0);
            assert_eq!(
                tx.protect_rtcp(&mut buf, 16),
                Err(SrtpError::IndexExhausted { ssrc: 5 })
            );
            // Far behind the window now.
            assert!(matches!(open_c(&mut rx, &b), Err(SrtpError::TooOld { .. })));
        }
    }

    #[test]
    fn hmac_sha1_32_uses_a_4_byte_srtp_tag_and_10_byte_srtcp_tag() {
        let (mut tx, mut rx) = pair(
            ProtectionProfile::Aes128CmHmacSha1_32,
            SrtpConfig::default(),
        );
        let plain = rtp(3, 1, b"0123456789");
        let w = protect(&mut tx, &plain);
        assert_eq!(w.len(), plain.len() + 4);
        assert_eq!(open(&mut rx, &w).unwrap(), plain);
        let c = protect_c(&mut tx, &rtcp(3));
        assert_eq!(c.len(), rtcp(3).len() + 4 + 10);
        assert_eq!(open_c(&mut rx, &c).unwrap(), rtcp(3));
    }

    #[test]
    fn stream_limit_is_an_error_and_remove_frees_a_slot() {
        let cfg = SrtpConfig {
            max_streams: 2,
            ..SrtpConfig::default()
        };
        let (mut tx, mut rx) = pair(ProtectionProfile::AeadAes128Gcm, cfg);
        let w1 = protect(&mut tx, &rtp(1, 1, b"a"));
        let w2 = protect(&mut tx, &rtp(2, 1, b"a"));
        let mut buf = rtp(3, 1, b"a");
        buf.resize(64, 0);
        assert_eq!(
            tx.protect_rtp(&mut buf, 13),
            Err(SrtpError::TooManyStreams { max: 2 })
        );
        assert_eq!(tx.stats().errors, 1);
        assert!(tx.remove_ssrc(1));
        assert!(!tx.remove_ssrc(1));
        let w3 = protect(&mut tx, &rtp(3, 1, b"a"));
        open(&mut rx, &w1).unwrap();
        open(&mut rx, &w2).unwrap();
        assert_eq!(
            open(&mut rx, &w3),
            Err(SrtpError::TooManyStreams { max: 2 })
        );
        // RTCP of a known SSRC shares its slot; of a new one, does not fit.
        open_c(&mut rx, &protect_c(&mut tx, &rtcp(2))).unwrap();
        assert_eq!(
            open_c(&mut rx, &protect_c(&mut tx, &rtcp(3))),
            Err(SrtpError::TooManyStreams { max: 2 })
        );
        assert_eq!(rx.stats().rejected_streams, 2);
        assert!(rx.remove_ssrc(1));
        open(&mut rx, &w3).unwrap();
        assert_eq!(rx.stream_count(), 2);
    }

    #[test]
    fn malformed_input_is_an_error() {
        for p in ALL {
            let (mut tx, mut rx) = pair(p, SrtpConfig::default());
            let plain = rtp(1, 1, b"payload");
            // No room for the tag, or len beyond the buffer.
            let mut buf = plain.clone();
            assert!(matches!(
                tx.protect_rtp(&mut buf, plain.len()),
                Err(SrtpError::BufferTooSmall { .. })
            ));
            assert!(matches!(
                tx.protect_rtp(&mut buf, usize::MAX),
                Err(SrtpError::BufferTooSmall { .. })
            ));
            buf.resize(100, 0);
            assert!(matches!(
                tx.protect_rtp(&mut buf, 11),
                Err(SrtpError::Truncated { .. })
            ));
            assert!(matches!(
                tx.protect_rtcp(&mut buf, 7),
                Err(SrtpError::Truncated { .. })
            ));
            buf[0] = 0x00;
            assert_eq!(
                tx.protect_rtp(&mut buf, 20),
                Err(SrtpError::BadVersion { version: 0 })
            );
            assert_eq!(tx.stats().errors, 5);
            // Receive side: every prefix of a valid packet fails cleanly.
            let w = protect(&mut tx, &plain);
            for n in 0..w.len() {
                assert!(open(&mut rx, &w[..n]).is_err(), "{p} {n}");
            }
            let c = protect_c(&mut tx, &rtcp(1));
            for n in 0..c.len() {
                assert!(open_c(&mut rx, &c[..n]).is_err(), "{p} {n}");
            }
            assert_eq!(rx.stream_count(), 0);
            assert_eq!(open(&mut rx, &w).unwrap(), plain);
            assert_eq!(open_c(&mut rx, &c).unwrap(), rtcp(1));
        }
    }

    #[test]
    fn csrcs_and_extension_stay_clear_and_authenticated() {
        for p in ALL {
            let (mut tx, mut rx) = pair(p, SrtpConfig::default());
            let mut plain = vec![0x91, 96, 0, 9, 0, 0, 0, 0, 0, 0, 0, 4];
            plain.extend_from_slice(&[0xaa; 4]); // one CSRC
            plain.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0x55, 0, 0]); // extension
            plain.extend_from_slice(b"media");
            let w = protect(&mut tx, &plain);
            assert_eq!(&w[..24], &plain[..24]);
            assert_ne!(&w[24..29], b"media");
            let mut bad = w.clone();
            bad[21] ^= 1; // inside the extension
            assert!(matches!(
                open(&mut rx, &bad),
                Err(SrtpError::Authentication { .. })
            ));
            assert_eq!(open(&mut rx, &w).unwrap(), plain);
        }
    }

    #[test]
    fn sender_reuses_the_index_of_a_retransmission() {
        let (mut tx, _) = pair(ProtectionProfile::AeadAes128Gcm, SrtpConfig::default());
        let first = protect(&mut tx, &rtp(4, 65_535, b"z"));
        let _ = protect(&mut tx, &rtp(4, 3, b"z"));
        assert_eq!(tx.roc(4), Some(1));
        // 65535 again is the packet of ROC 0, not ROC 1: same bytes.
        assert_eq!(protect(&mut tx, &rtp(4, 65_535, b"z")), first);
        let mut buf = rtp(4, 40_000, b"z");
        buf.resize(64, 0);
        // Half the sequence space behind the first packet: before index 0.
        let (mut tx, _) = pair(ProtectionProfile::AeadAes128Gcm, SrtpConfig::default());
        let _ = protect(&mut tx, &rtp(4, 5, b"z"));
        assert!(matches!(
            tx.protect_rtp(&mut buf, 13),
            Err(SrtpError::TooOld { .. })
        ));
    }

    #[test]
    fn only_the_peers_direction_decrypts() {
        let p = ProtectionProfile::Aes128CmHmacSha1_80;
        let m: Vec<u8> = (0..60u8).collect();
        let client = SrtpKeys::from_exporter(p, &m, crate::DtlsRole::Client).unwrap();
        let server = SrtpKeys::from_exporter(p, &m, crate::DtlsRole::Server).unwrap();
        let (mut ctx, mut crx) = client.contexts(SrtpConfig::default()).unwrap();
        let (mut stx, mut srx) = server.contexts(SrtpConfig::default()).unwrap();
        let c = protect(&mut ctx, &rtp(1, 1, b"from client"));
        let s = protect(&mut stx, &rtp(1, 1, b"from server"));
        // Our own packets do not decrypt with our inbound keys.
        assert!(matches!(
            open(&mut crx, &c),
            Err(SrtpError::Authentication { .. })
        ));
        assert!(matches!(
            open(&mut srx, &s),
            Err(SrtpError::Authentication { .. })
        ));
        assert_eq!(open(&mut srx, &c).unwrap(), rtp(1, 1, b"from client"));
        assert_eq!(open(&mut crx, &s).unwrap(), rtp(1, 1, b"from server"));
    }

    #[test]
    fn config_is_validated() {
        let k = MasterKey::new(ProtectionProfile::AeadAes128Gcm, &[0; 16], &[0; 12]).unwrap();
        for (max_streams, replay_window) in [(0, 1024), (1, 127), (1, 1025)] {
            let c = SrtpConfig {
                max_streams,
                replay_window,
            };
            assert!(matches!(
                Unprotector::new(ProtectionProfile::AeadAes128Gcm, &k, c),
                Err(SrtpError::Config(_))
            ));
        }
        assert!(matches!(
            Protector::new(ProtectionProfile::AeadAes256Gcm, &k, SrtpConfig::default()),
            Err(SrtpError::MasterKeyLength { .. })
        ));
    }
}
