//! JSEP for audio and video m-sections (RFC 8829 §5.2.1, §5.3.1;
//! `m=audio|video 9 UDP/TLS/RTP/SAVPF …`): codecs with rtpmap, fmtp and
//! rtcp-fb, RTX (RFC 4588 `apt`), header extensions (RFC 8285), direction,
//! msid (RFC 8830), SSRCs with cname and the FID group, rtcp-mux and
//! rtcp-rsize (RFC 5506).

use tern_rtp::ExtensionKind;
use tern_sdp::{
    Attribute, ExtMap, Fmtp, HasAttributes, MediaDescription, Msid, RtcpFb, RtpMap, Ssrc,
    SsrcGroup, TypedAttribute,
};

use super::{push_transport_attributes, LocalParams, Mid};
use crate::error::PeerError;
use crate::media::codec::{fmtp_param, same_format, RtxPair};
use crate::media::{MediaKind, RtcpFeedback, RtpCodecParameters, RtpTransceiverDirection};

/// The protocol of audio and video sections (RFC 8829 §5.1.2).
pub(crate) const RTP_PROTOCOL: &str = "UDP/TLS/RTP/SAVPF";

/// The header extensions we offer (one id each across the BUNDLE group,
/// RFC 8843 §9.1.4) and accept in an offer: the mid for demultiplexing, the
/// transport-wide sequence number for congestion control, and rid and
/// repaired-rid for the streams of a simulcast sender.
pub(crate) const OFFERED_EXTENSIONS: [(u16, ExtensionKind); 2] = [
    (1, ExtensionKind::Mid),
    (3, ExtensionKind::TransportSequenceNumber),
];
const ACCEPTED_EXTENSIONS: [ExtensionKind; 4] = [
    ExtensionKind::Mid,
    ExtensionKind::TransportSequenceNumber,
    ExtensionKind::RtpStreamId,
    ExtensionKind::RepairedRtpStreamId,
];

/// The kind of an audio or video section with our protocol.
pub(crate) fn media_kind(m: &MediaDescription) -> Option<MediaKind> {
    let kind = match m.kind.as_str() {
        "audio" => MediaKind::Audio,
        "video" => MediaKind::Video,
        _ => return None,
    };
    // RFC 8829 §5.1.3: accept the older profiles a peer may still send.
    let p = m.protocol.to_ascii_uppercase();
    matches!(
        p.as_str(),
        "UDP/TLS/RTP/SAVPF" | "UDP/TLS/RTP/SAVP" | "TCP/TLS/RTP/SAVPF" | "RTP/SAVPF"
    )
    .then_some(kind)
}

/// An audio or video section, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MediaSection {
    pub kind: MediaKind,
    pub mid: Option<Mid>,
    pub rejected: bool,
    /// As written, from the writer's point of view.
    pub direction: RtpTransceiverDirection,
    /// Codecs in the section's order, RTX not among them.
    pub codecs: Vec<RtpCodecParameters>,
    pub rtx: Vec<RtxPair>,
    pub extmaps: Vec<(u16, String)>,
    /// (media SSRC, its RTX SSRC).
    pub ssrcs: Vec<(u32, Option<u32>)>,
    pub cname: Option<String>,
    /// (stream ids, track id).
    pub msid: Option<(Vec<String>, String)>,
    pub rtcp_rsize: bool,
    pub rids: Vec<String>,
}

/// Static payload types browsers may list without an `a=rtpmap`
/// (RFC 3551 §6).
fn static_rtpmap(pt: u8) -> Option<RtpMap> {
    let (name, rate) = match pt {
        0 => ("PCMU", 8_000),
        8 => ("PCMA", 8_000),
        9 => ("G722", 8_000),
        _ => return None,
    };
    Some(RtpMap {
        payload_type: pt,
        encoding: name.into(),
        clock_rate: rate,
        channels: None,
    })
}

/// Reads an audio or video section.
pub(crate) fn read_media(m: &MediaDescription) -> Result<MediaSection, PeerError> {
    let Some(kind) = media_kind(m) else {
        return Err(PeerError::InvalidDescription(format!(
            "m={} {} is not an audio or video section tern reads",
            m.kind, m.protocol
        )));
    };
    let rtpmaps = m.rtpmaps();
    let fmtps: Vec<Fmtp> = m.typed();
    let fbs = m.rtcp_fbs();
    let mut codecs = Vec::new();
    let mut rtx = Vec::new();
    for f in &m.formats {
        let Ok(pt) = f.parse::<u8>() else { continue };
        if pt > 127 {
            continue;
        }
        let Some(map) = rtpmaps
            .iter()
            .find(|r| r.payload_type == pt)
            .cloned()
            .or_else(|| static_rtpmap(pt))
        else {
            continue; // a dynamic type without rtpmap: unusable
        };
        let fmtp = fmtps
            .iter()
            .find(|x| x.format == f.as_str())
            .map(|x| x.params.clone())
            .unwrap_or_default();
        if map.encoding.eq_ignore_ascii_case("rtx") {
            if let Some(apt) = fmtp_param(&fmtp, "apt").and_then(|a| a.parse().ok()) {
                rtx.push(RtxPair { rtx: pt, apt });
            }
            continue;
        }
        let rtcp_feedback = fbs
            .iter()
            .filter(|fb| fb.format == f.as_str() || fb.format == "*")
            .map(|fb| RtcpFeedback {
                kind: fb.kind.clone(),
                parameter: fb.parameter.clone(),
            })
            .collect();
        codecs.push(RtpCodecParameters {
            payload_type: pt,
            mime_type: format!("{}/{}", kind.as_str(), map.encoding),
            clock_rate: map.clock_rate,
            channels: map.channels,
            sdp_fmtp_line: fmtp,
            rtcp_feedback,
        });
    }
    let ssrc_lines = m.ssrcs();
    let groups = m.ssrc_groups();
    let mut ssrcs: Vec<(u32, Option<u32>)> = Vec::new();
    for g in groups.iter().filter(|g| g.semantics == "FID") {
        if let [media, repair, ..] = g.ssrcs[..] {
            ssrcs.push((media, Some(repair)));
        }
    }
    let repairs: Vec<u32> = ssrcs.iter().filter_map(|s| s.1).collect();
    for s in &ssrc_lines {
        if !repairs.contains(&s.ssrc) && !ssrcs.iter().any(|x| x.0 == s.ssrc) {
            ssrcs.push((s.ssrc, None));
        }
    }
    let cname = ssrc_lines
        .iter()
        .find(|s| s.attribute == "cname")
        .and_then(|s| s.value.clone());
    // a=msid, else the older a=ssrc:… msid:stream track.
    let msid = m
        .msids()
        .into_iter()
        .next()
        .map(|x| (x.stream_id, x.track_id.unwrap_or_default()))
        .or_else(|| {
            let v = ssrc_lines
                .iter()
                .find(|s| s.attribute == "msid")?
                .value
                .as_ref()?;
            let (s, t) = v.split_once(' ').unwrap_or((v, ""));
            Some((s.to_string(), t.to_string()))
        })
        .map(|(s, t)| {
            let streams = if s == "-" { vec![] } else { vec![s] };
            (streams, t)
        });
    Ok(MediaSection {
        kind,
        mid: m.mid().map(Mid::new),
        rejected: m.port == 0,
        direction: RtpTransceiverDirection::from_sdp(m.direction()),
        codecs,
        rtx,
        extmaps: m.extmaps().into_iter().map(|e| (e.id, e.uri)).collect(),
        ssrcs,
        cname,
        msid,
        rtcp_rsize: m.has_attribute("rtcp-rsize"),
        rids: m.rids().into_iter().map(|r| r.id).collect(),
    })
}

/// What goes into one of our audio or video sections.
#[derive(Debug, Clone)]
pub(crate) struct LocalMedia<'a> {
    pub kind: MediaKind,
    pub mid: &'a Mid,
    pub direction: RtpTransceiverDirection,
    pub codecs: &'a [RtpCodecParameters],
    pub rtx: &'a [RtxPair],
    pub extmaps: &'a [(u16, String)],
    /// Our SSRC and RTX SSRC, written when we send.
    pub ssrc: Option<(u32, Option<u32>)>,
    pub cname: &'a str,
    pub stream_ids: &'a [String],
    pub track_id: &'a str,
}

/// Our audio or video section.
pub(crate) fn write_media(p: &LocalParams, l: &LocalMedia<'_>) -> MediaDescription {
    let mut formats: Vec<String> = Vec::new();
    for c in l.codecs {
        formats.push(c.payload_type.to_string());
        if let Some(r) = l.rtx.iter().find(|r| r.apt == c.payload_type) {
            formats.push(r.rtx.to_string());
        }
    }
    let refs: Vec<&str> = formats.iter().map(String::as_str).collect();
    let mut m = MediaDescription::new(l.kind.as_str(), 9, RTP_PROTOCOL, &refs);
    push_transport_attributes(p, &mut m);
    m.push_attribute(Attribute::new("mid", l.mid.as_str()));
    for (id, uri) in l.extmaps {
        m.push_attribute(
            ExtMap {
                id: *id,
                direction: None,
                uri: uri.clone(),
                attributes: None,
            }
            .to_attribute(),
        );
    }
    m.push_attribute(l.direction.to_sdp().to_attribute());
    let stream = l.stream_ids.first().map_or("-", String::as_str);
    if l.direction.sends() {
        m.push_attribute(
            Msid {
                stream_id: stream.to_string(),
                track_id: Some(l.track_id.to_string()),
            }
            .to_attribute(),
        );
    }
    m.push_attribute(Attribute::flag("rtcp-mux"));
    m.push_attribute(Attribute::flag("rtcp-rsize"));
    for c in l.codecs {
        let pt = c.payload_type;
        m.push_attribute(
            RtpMap {
                payload_type: pt,
                encoding: c.name().to_string(),
                clock_rate: c.clock_rate,
                channels: c.channels,
            }
            .to_attribute(),
        );
        for fb in &c.rtcp_feedback {
            m.push_attribute(
                RtcpFb {
                    format: pt.to_string(),
                    kind: fb.kind.clone(),
                    parameter: fb.parameter.clone(),
                }
                .to_attribute(),
            );
        }
        if !c.sdp_fmtp_line.is_empty() {
            m.push_attribute(
                Fmtp {
                    format: pt.to_string(),
                    params: c.sdp_fmtp_line.clone(),
                }
                .to_attribute(),
            );
        }
        if let Some(r) = l.rtx.iter().find(|r| r.apt == pt) {
            m.push_attribute(
                RtpMap {
                    payload_type: r.rtx,
                    encoding: "rtx".into(),
                    clock_rate: c.clock_rate,
                    channels: None,
                }
                .to_attribute(),
            );
            m.push_attribute(
                Fmtp {
                    format: r.rtx.to_string(),
                    params: format!("apt={pt}"),
                }
                .to_attribute(),
            );
        }
    }
    if let (true, Some((ssrc, rtx))) = (l.direction.sends(), l.ssrc) {
        if let Some(rtx) = rtx {
            m.push_attribute(
                SsrcGroup {
                    semantics: "FID".into(),
                    ssrcs: vec![ssrc, rtx],
                }
                .to_attribute(),
            );
        }
        for s in std::iter::once(ssrc).chain(rtx) {
            m.push_attribute(
                Ssrc {
                    ssrc: s,
                    attribute: "cname".into(),
                    value: Some(l.cname.to_string()),
                }
                .to_attribute(),
            );
            m.push_attribute(
                Ssrc {
                    ssrc: s,
                    attribute: "msid".into(),
                    value: Some(format!("{stream} {}", l.track_id)),
                }
                .to_attribute(),
            );
        }
    }
    m
}

/// A rejected section in an answer or a stopped one in an offer (port 0,
/// RFC 8829 §5.2.2 / §5.3.1), keeping the kind, protocol and formats.
pub(crate) fn rejected(om: &MediaDescription) -> MediaDescription {
    let formats: Vec<&str> = om.formats.iter().map(String::as_str).collect();
    let formats = if formats.is_empty() {
        vec!["0"]
    } else {
        formats
    };
    let mut m = MediaDescription::new(&om.kind, 0, &om.protocol, &formats);
    m.connection = Some(tern_sdp::Connection {
        net_type: "IN".into(),
        addr_type: "IP4".into(),
        address: "0.0.0.0".into(),
    });
    if let Some(mid) = om.mid() {
        m.push_attribute(Attribute::new("mid", mid));
    }
    m.push_attribute(Attribute::flag("inactive"));
    m
}

/// The codecs and RTX of our offer from `prefs` (payload types kept,
/// RTX types taken from the free ones) .
pub(crate) fn offer_codecs(
    prefs: &[RtpCodecParameters],
    rtx: bool,
) -> (Vec<RtpCodecParameters>, Vec<RtxPair>) {
    let codecs = prefs.to_vec();
    let mut pairs = Vec::new();
    if rtx {
        let used: Vec<u8> = codecs.iter().map(|c| c.payload_type).collect();
        let mut free = crate::media::codec::free_payload_types(&used);
        for c in codecs.iter().filter(|c| c.kind() == MediaKind::Video) {
            if let Some(r) = free.next() {
                pairs.push(RtxPair {
                    rtx: r,
                    apt: c.payload_type,
                });
            }
        }
    }
    (codecs, pairs)
}

/// What we accept of an offered section's codecs (RFC 8829 §5.3.1): in
/// the offer's order and with its payload types and fmtp lines, each one
/// we support, with the feedback both list; RTX for what is accepted.
pub(crate) fn answer_codecs(
    prefs: &[RtpCodecParameters],
    offered: &MediaSection,
    rtx: bool,
) -> (Vec<RtpCodecParameters>, Vec<RtxPair>) {
    let mut out = Vec::new();
    for o in &offered.codecs {
        let Some(ours) = prefs.iter().find(|p| same_format(p, o)) else {
            continue;
        };
        let mut c = o.clone();
        c.rtcp_feedback.retain(|f| ours.rtcp_feedback.contains(f));
        out.push(c);
    }
    let pairs = if rtx {
        offered
            .rtx
            .iter()
            .filter(|r| out.iter().any(|c| c.payload_type == r.apt))
            .copied()
            .collect()
    } else {
        Vec::new()
    };
    (out, pairs)
}

/// The header extensions of our offer.
pub(crate) fn offer_extmaps() -> Vec<(u16, String)> {
    OFFERED_EXTENSIONS
        .iter()
        .map(|(id, k)| (*id, k.uri().to_string()))
        .collect()
}

/// What we accept of an offer's header extensions, with its ids.
pub(crate) fn answer_extmaps(offered: &MediaSection) -> Vec<(u16, String)> {
    offered
        .extmaps
        .iter()
        .filter(|(_, uri)| {
            ExtensionKind::from_uri(uri).is_some_and(|k| ACCEPTED_EXTENSIONS.contains(&k))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{default_audio_codecs, default_video_codecs};

    /// Chromium's video section (M120 offer, trimmed to what matters).
    const CHROME_VIDEO: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 45 46 98 99 35 36 114\r\n\
c=IN IP4 0.0.0.0\r\n\
a=mid:1\r\n\
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n\
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n\
a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n\
a=sendrecv\r\n\
a=msid:stream1 track1\r\n\
a=rtcp-mux\r\na=rtcp-rsize\r\n\
a=rtpmap:96 VP8/90000\r\n\
a=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 transport-cc\r\na=rtcp-fb:96 ccm fir\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n\
a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n\
a=rtpmap:102 H264/90000\r\n\
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n\
a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\n\
a=rtpmap:45 AV1/90000\r\na=rtcp-fb:45 nack\r\n\
a=rtpmap:46 rtx/90000\r\na=fmtp:46 apt=45\r\n\
a=rtpmap:98 VP9/90000\r\na=fmtp:98 profile-id=0\r\n\
a=rtpmap:99 rtx/90000\r\na=fmtp:99 apt=98\r\n\
a=rtpmap:35 VP9/90000\r\na=fmtp:35 profile-id=2\r\n\
a=rtpmap:36 rtx/90000\r\na=fmtp:36 apt=35\r\n\
a=rtpmap:114 red/90000\r\n\
a=ssrc-group:FID 1111 2222\r\n\
a=ssrc:1111 cname:abc\r\na=ssrc:1111 msid:stream1 track1\r\n\
a=ssrc:2222 cname:abc\r\n";

    fn chrome() -> MediaSection {
        let d: tern_sdp::SessionDescription = CHROME_VIDEO.parse().unwrap();
        read_media(&d.media[0]).unwrap()
    }

    #[test]
    fn reads_chromes_video_section() {
        let s = chrome();
        assert_eq!(s.kind, MediaKind::Video);
        assert_eq!(s.mid, Some(Mid::new("1")));
        assert_eq!(s.direction, RtpTransceiverDirection::SendRecv);
        let pts: Vec<u8> = s.codecs.iter().map(|c| c.payload_type).collect();
        assert_eq!(pts, [96, 102, 45, 98, 35, 114]);
        assert_eq!(s.rtx.len(), 5);
        assert!(s.codecs[0].has_feedback("nack", Some("pli")));
        assert_eq!(s.ssrcs, vec![(1111, Some(2222))]);
        assert_eq!(s.cname.as_deref(), Some("abc"));
        assert_eq!(s.msid, Some((vec!["stream1".into()], "track1".into())));
        assert!(s.rtcp_rsize);
    }

    #[test]
    fn answer_keeps_offer_order_and_payload_types() {
        let s = chrome();
        let (codecs, rtx) = answer_codecs(&default_video_codecs(), &s, true);
        let pts: Vec<u8> = codecs.iter().map(|c| c.payload_type).collect();
        // VP8, AV1 and VP9 profile 0; H.264 baseline (42001f) is not the
        // constrained baseline we offer; VP9 profile 2 and RED are not ours.
        assert_eq!(pts, [96, 45, 98]);
        assert_eq!(rtx.len(), 3);
        // goog-remb is not ours: dropped.
        assert!(!codecs[0].has_feedback("goog-remb", None));
        assert!(codecs[0].has_feedback("nack", None));
        let (_, none) = answer_codecs(&default_video_codecs(), &s, false);
        assert!(none.is_empty());
        let ext = answer_extmaps(&s);
        let ids: Vec<u16> = ext.iter().map(|e| e.0).collect();
        assert_eq!(ids, [4, 3, 10], "abs-send-time is not accepted");
    }

    #[test]
    fn written_section_reads_back() {
        let p = crate::jsep::tests::params();
        let (codecs, rtx) = offer_codecs(&default_video_codecs(), true);
        let ext = offer_extmaps();
        let mid = Mid::new("v");
        let l = LocalMedia {
            kind: MediaKind::Video,
            mid: &mid,
            direction: RtpTransceiverDirection::SendOnly,
            codecs: &codecs,
            rtx: &rtx,
            extmaps: &ext,
            ssrc: Some((5, Some(6))),
            cname: "me",
            stream_ids: &["s".to_string()],
            track_id: "t",
        };
        let m = write_media(&p, &l);
        let text = m.to_string();
        let mut d = tern_sdp::SessionDescription::new(1, 1);
        d.media.push(m);
        let d: tern_sdp::SessionDescription = d.to_string().parse().unwrap();
        let back = read_media(&d.media[0]).unwrap();
        assert_eq!(back.codecs, codecs, "{text}");
        assert_eq!(back.rtx, rtx);
        assert_eq!(back.extmaps, ext);
        assert_eq!(back.direction, RtpTransceiverDirection::SendOnly);
        assert_eq!(back.ssrcs, vec![(5, Some(6))]);
        assert_eq!(back.msid, Some((vec!["s".into()], "t".into())));
        assert_eq!(back.cname.as_deref(), Some("me"));
    }

    #[test]
    fn audio_without_rtpmap_for_static_types() {
        let sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0 8 101\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\n";
        let d: tern_sdp::SessionDescription = sdp.parse().unwrap();
        let s = read_media(&d.media[0]).unwrap();
        let names: Vec<&str> = s.codecs.iter().map(|c| c.name()).collect();
        assert_eq!(names, ["PCMU", "PCMA"], "101 has no rtpmap");
        let (ok, _) = answer_codecs(&default_audio_codecs(), &s, true);
        assert_eq!(ok.len(), 2);
        assert_eq!(s.direction, RtpTransceiverDirection::RecvOnly);
    }

    #[test]
    fn other_protocols_are_not_media() {
        let sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n";
        let d: tern_sdp::SessionDescription = sdp.parse().unwrap();
        assert!(media_kind(&d.media[0]).is_none());
        assert!(read_media(&d.media[0]).is_err());
    }
}
