//! Codecs as SDP names them (`a=rtpmap`, `a=fmtp`, `a=rtcp-fb`), the ones we
//! offer by default, and the matching rules of offer/answer (RFC 8829 §5.3.1,
//! RFC 6184 §8.2.2 for H.264, RFC 9628 §6 for VP9).

use tern_rtp::Codec;

use super::MediaKind;

/// An RTCP feedback type a codec is used with (`a=rtcp-fb`, RFC 4585 §4.2):
/// `nack`, `nack pli`, `ccm fir`, `goog-remb`, `transport-cc`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtcpFeedback {
    /// The type (`nack`, `ccm`, `goog-remb`, `transport-cc`).
    pub kind: String,
    /// Its parameter (`pli` for `nack pli`, `fir` for `ccm fir`).
    pub parameter: Option<String>,
}

impl RtcpFeedback {
    /// A feedback type without parameter.
    pub fn new(kind: &str) -> Self {
        RtcpFeedback {
            kind: kind.into(),
            parameter: None,
        }
    }
    /// A feedback type with a parameter.
    pub fn with(kind: &str, parameter: &str) -> Self {
        RtcpFeedback {
            kind: kind.into(),
            parameter: Some(parameter.into()),
        }
    }
}

/// A codec with its SDP parameters (W3C `RTCRtpCodecParameters`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpCodecParameters {
    /// The payload type: ours in an offer, the offerer's once negotiated.
    pub payload_type: u8,
    /// `audio/opus`, `video/VP8`, …
    pub mime_type: String,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Audio channels (`a=rtpmap`'s third field); `None` for video.
    pub channels: Option<u16>,
    /// The `a=fmtp` parameters, as written (`minptime=10;useinbandfec=1`).
    pub sdp_fmtp_line: String,
    /// The feedback types used with it.
    pub rtcp_feedback: Vec<RtcpFeedback>,
}

impl RtpCodecParameters {
    /// The codec's SDP encoding name (`opus`, `VP8`).
    pub fn name(&self) -> &str {
        self.mime_type
            .split_once('/')
            .map_or(&self.mime_type[..], |(_, n)| n)
    }

    /// The payload format tern packetizes, if it has one.
    pub fn codec(&self) -> Option<Codec> {
        Codec::from_sdp_name(self.name())
    }

    /// The kind of media (from the MIME type's top level).
    pub fn kind(&self) -> MediaKind {
        if self.mime_type.starts_with("video/") {
            MediaKind::Video
        } else {
            MediaKind::Audio
        }
    }

    /// Whether it is used with `kind` feedback (with `parameter`).
    pub fn has_feedback(&self, kind: &str, parameter: Option<&str>) -> bool {
        self.rtcp_feedback
            .iter()
            .any(|f| f.kind.eq_ignore_ascii_case(kind) && f.parameter.as_deref() == parameter)
    }

    /// An `a=fmtp` parameter's value.
    pub fn fmtp(&self, name: &str) -> Option<&str> {
        fmtp_param(&self.sdp_fmtp_line, name)
    }

    fn new(kind: MediaKind, pt: u8, name: &str, rate: u32, ch: Option<u16>, fmtp: &str) -> Self {
        let top = match kind {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        };
        RtpCodecParameters {
            payload_type: pt,
            mime_type: format!("{top}/{name}"),
            clock_rate: rate,
            channels: ch,
            sdp_fmtp_line: fmtp.into(),
            rtcp_feedback: Vec::new(),
        }
    }
}

/// A parameter of an `a=fmtp` line (`name=value;…`), names compared
/// without case.
pub(crate) fn fmtp_param<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The feedback every video codec is offered with. `transport-cc` goes with
/// the transport-wide sequence number extension and the feedback tern
/// sends for it.
fn video_feedback() -> Vec<RtcpFeedback> {
    vec![
        RtcpFeedback::new("transport-cc"),
        RtcpFeedback::with("ccm", "fir"),
        RtcpFeedback::new("nack"),
        RtcpFeedback::with("nack", "pli"),
    ]
}

/// The audio codecs offered by default, in preference order: Opus, G.722,
/// PCMU, PCMA (what Chromium offers, without RED, whose redundancy tern
/// does not produce or understand, and without telephone-event and CN).
pub fn default_audio_codecs() -> Vec<RtpCodecParameters> {
    let a = MediaKind::Audio;
    let mut opus = RtpCodecParameters::new(
        a,
        111,
        "opus",
        48_000,
        Some(2),
        "minptime=10;useinbandfec=1",
    );
    opus.rtcp_feedback.push(RtcpFeedback::new("transport-cc"));
    vec![
        opus,
        RtpCodecParameters::new(a, 9, "G722", 8_000, None, ""),
        RtpCodecParameters::new(a, 0, "PCMU", 8_000, None, ""),
        RtpCodecParameters::new(a, 8, "PCMA", 8_000, None, ""),
    ]
}

/// The video codecs offered by default, in preference order: VP8, VP9
/// profile 0, H.264 constrained baseline (packetization mode 1 and 0), AV1,
/// each with RTX (RFC 4588). H.265 is implemented but only offered when
/// asked for: browsers differ in whether they decode it.
pub fn default_video_codecs() -> Vec<RtpCodecParameters> {
    let v = MediaKind::Video;
    let mut out = vec![
        RtpCodecParameters::new(v, 96, "VP8", 90_000, None, ""),
        RtpCodecParameters::new(v, 98, "VP9", 90_000, None, "profile-id=0"),
        RtpCodecParameters::new(
            v,
            102,
            "H264",
            90_000,
            None,
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
        ),
        RtpCodecParameters::new(
            v,
            104,
            "H264",
            90_000,
            None,
            "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f",
        ),
        RtpCodecParameters::new(v, 45, "AV1", 90_000, None, "level-idx=5;profile=0;tier=0"),
    ];
    for c in &mut out {
        c.rtcp_feedback = video_feedback();
    }
    out
}

/// H.265 with RTX, for [`crate::MediaConfig::video_codecs`] when the peer
/// is known to decode it.
pub fn h265_codec(payload_type: u8) -> RtpCodecParameters {
    let mut c = RtpCodecParameters::new(
        MediaKind::Video,
        payload_type,
        "H265",
        90_000,
        None,
        "level-id=93;profile-id=1;tier-flag=0;tx-mode=SRST",
    );
    c.rtcp_feedback = video_feedback();
    c
}

/// Whether two descriptions of a codec are the same format (RFC 8829
/// §5.3.1 and each payload format's rules for which fmtp parameters must
/// agree).
pub(crate) fn same_format(a: &RtpCodecParameters, b: &RtpCodecParameters) -> bool {
    if !a.name().eq_ignore_ascii_case(b.name()) || a.clock_rate != b.clock_rate {
        return false;
    }
    if a.kind() == MediaKind::Audio && a.channels.unwrap_or(1) != b.channels.unwrap_or(1) {
        return false;
    }
    let p = |c: &RtpCodecParameters, k: &str, d: &str| c.fmtp(k).unwrap_or(d).to_ascii_lowercase();
    match a.name().to_ascii_uppercase().as_str() {
        // RFC 6184 §8.2.2: packetization mode must match; the profile
        // (profile_idc and the constraint flags, the first four hex digits
        // of profile-level-id) must match; the level may differ when
        // level-asymmetry-allowed (and the answer echoes the offer's).
        "H264" => {
            p(a, "packetization-mode", "0") == p(b, "packetization-mode", "0")
                && h264_profile(&p(a, "profile-level-id", "42000a"))
                    == h264_profile(&p(b, "profile-level-id", "42000a"))
        }
        // RFC 9628 §6: profile-id, default 0.
        "VP9" => p(a, "profile-id", "0") == p(b, "profile-id", "0"),
        // AV1 RTP spec §7.2: profile, default 0.
        "AV1" => p(a, "profile", "0") == p(b, "profile", "0"),
        // RFC 7798 §7.1: profile-id, default 1.
        "H265" => p(a, "profile-id", "1") == p(b, "profile-id", "1"),
        _ => true,
    }
}

/// The H.264 profile of a `profile-level-id`: libwebrtc's classes
/// (constrained baseline is 42e0, 4240, 4280 or 42c0 with constraint_set1;
/// baseline 4200 …). Compared by profile_idc and whether constraint_set1
/// (bit 0x40) or constraint_set3 makes it constrained.
fn h264_profile(plid: &str) -> Option<(u8, bool)> {
    let b = u32::from_str_radix(plid.get(..6)?, 16).ok()?;
    let idc = (b >> 16) as u8;
    let iop = (b >> 8) as u8;
    let constrained = match idc {
        0x42 | 0x4d | 0x58 => iop & 0x40 != 0,
        0x64 => iop & 0x0c == 0x0c,
        _ => false,
    };
    Some((idc, constrained))
}

/// The payload type and apt of RTX for a codec (`a=fmtp:97 apt=96`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RtxPair {
    pub rtx: u8,
    pub apt: u8,
}

/// Payload types 96–127 not in `used`, for RTX entries of our offer.
pub(crate) fn free_payload_types(used: &[u8]) -> impl Iterator<Item = u8> + '_ {
    (96u8..=127)
        .chain(35..=63)
        .filter(move |p| !used.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h264(plid: &str, mode: &str) -> RtpCodecParameters {
        RtpCodecParameters::new(
            MediaKind::Video,
            100,
            "H264",
            90_000,
            None,
            &format!("profile-level-id={plid};packetization-mode={mode}"),
        )
    }

    #[test]
    fn h264_matches_profile_and_mode_not_level() {
        assert!(same_format(&h264("42e01f", "1"), &h264("42e034", "1")));
        // 42c0 and 42e0 are both constrained baseline (constraint_set1).
        assert!(same_format(&h264("42c01f", "1"), &h264("42e01f", "1")));
        assert!(!same_format(&h264("42e01f", "1"), &h264("42e01f", "0")));
        assert!(!same_format(&h264("42e01f", "1"), &h264("42001f", "1")));
        assert!(!same_format(&h264("42e01f", "1"), &h264("640c1f", "1")));
        assert!(same_format(&h264("640c1f", "1"), &h264("640c34", "1")));
    }

    #[test]
    fn names_rates_and_channels_must_agree() {
        let opus = &default_audio_codecs()[0];
        let mut mono = opus.clone();
        mono.channels = Some(1);
        assert!(!same_format(opus, &mono));
        let mut upper = opus.clone();
        upper.mime_type = "audio/OPUS".into();
        assert!(same_format(opus, &upper));
        let pcmu = &default_audio_codecs()[2];
        let mut pcmu1 = pcmu.clone();
        pcmu1.channels = Some(1);
        assert!(same_format(pcmu, &pcmu1), "absent channels mean one");
    }

    #[test]
    fn vp9_profiles_differ() {
        let v = &default_video_codecs()[1];
        let mut p2 = v.clone();
        p2.sdp_fmtp_line = "profile-id=2".into();
        assert!(!same_format(v, &p2));
        let mut none = v.clone();
        none.sdp_fmtp_line.clear();
        assert!(same_format(v, &none), "absent profile-id is 0");
    }

    #[test]
    fn fmtp_params_parse() {
        assert_eq!(fmtp_param("apt=96", "apt"), Some("96"));
        assert_eq!(fmtp_param("a=1; B=2", "b"), Some("2"));
        assert_eq!(fmtp_param("", "apt"), None);
    }
}
