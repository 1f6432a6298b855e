//! The table from local extension ids to what they mean, built from SDP
//! `a=extmap` lines (RFC 8285 §5).

use super::ExtensionError;

/// A header extension this crate knows by URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExtensionKind {
    /// RFC 8843 §15.2: `urn:ietf:params:rtp-hdrext:sdes:mid`.
    Mid,
    /// RFC 8852 §4.3: `urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id`.
    RtpStreamId,
    /// RFC 8852 §4.4: `urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id`.
    RepairedRtpStreamId,
    /// `http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time`.
    AbsSendTime,
    /// `http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01`.
    TransportSequenceNumber,
    /// RFC 6464: `urn:ietf:params:rtp-hdrext:ssrc-audio-level`.
    AudioLevel,
    /// `http://www.webrtc.org/experiments/rtp-hdrext/playout-delay`.
    PlayoutDelay,
    /// 3GPP TS 26.114 §7.4.5: `urn:3gpp:video-orientation`.
    VideoOrientation,
    /// `http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time`.
    AbsCaptureTime,
    /// RFC 5450: `urn:ietf:params:rtp-hdrext:toffset`.
    TransmissionOffset,
}

impl ExtensionKind {
    /// Every kind, in declaration order.
    pub const ALL: [ExtensionKind; 10] = [
        ExtensionKind::Mid,
        ExtensionKind::RtpStreamId,
        ExtensionKind::RepairedRtpStreamId,
        ExtensionKind::AbsSendTime,
        ExtensionKind::TransportSequenceNumber,
        ExtensionKind::AudioLevel,
        ExtensionKind::PlayoutDelay,
        ExtensionKind::VideoOrientation,
        ExtensionKind::AbsCaptureTime,
        ExtensionKind::TransmissionOffset,
    ];

    /// The URI an SDP `a=extmap` line names this extension by.
    pub fn uri(self) -> &'static str {
        match self {
            ExtensionKind::Mid => "urn:ietf:params:rtp-hdrext:sdes:mid",
            ExtensionKind::RtpStreamId => "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
            ExtensionKind::RepairedRtpStreamId => {
                "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
            }
            ExtensionKind::AbsSendTime => {
                "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
            }
            ExtensionKind::TransportSequenceNumber => {
                "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
            }
            ExtensionKind::AudioLevel => "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
            ExtensionKind::PlayoutDelay => {
                "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
            }
            ExtensionKind::VideoOrientation => "urn:3gpp:video-orientation",
            ExtensionKind::AbsCaptureTime => {
                "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time"
            }
            ExtensionKind::TransmissionOffset => "urn:ietf:params:rtp-hdrext:toffset",
        }
    }

    /// The kind an extmap URI names, if this crate knows it. URIs compare
    /// exactly, as RFC 8285 §5 has them.
    pub fn from_uri(uri: &str) -> Option<ExtensionKind> {
        ExtensionKind::ALL.into_iter().find(|k| k.uri() == uri)
    }

    fn index(self) -> usize {
        // The discriminants are 0..ALL.len() in declaration order.
        self as usize
    }
}

/// Local id (1..=255) to [`ExtensionKind`], both ways, for one RTP session
/// (RFC 8285 §5). Fixed-size, no allocation; ids with URIs this crate does
/// not know are simply not in the table.
#[derive(Clone, PartialEq, Eq)]
pub struct ExtensionMap {
    by_id: [Option<ExtensionKind>; 256],
    by_kind: [u8; ExtensionKind::ALL.len()],
}

impl Default for ExtensionMap {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ExtensionMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl ExtensionMap {
    /// An empty map.
    pub const fn new() -> Self {
        Self {
            by_id: [None; 256],
            by_kind: [0; ExtensionKind::ALL.len()],
        }
    }

    /// A map from `(id, uri)` pairs as SDP `a=extmap` lines carry them.
    /// Unknown URIs are skipped; a bad id is an error.
    pub fn from_extmaps<'u>(
        extmaps: impl IntoIterator<Item = (u16, &'u str)>,
    ) -> Result<Self, ExtensionError> {
        let mut m = Self::new();
        for (id, uri) in extmaps {
            m.insert_uri(id, uri)?;
        }
        Ok(m)
    }

    /// Maps `id` to `kind`, replacing what either had before.
    pub fn insert(&mut self, id: u8, kind: ExtensionKind) -> Result<(), ExtensionError> {
        if id == 0 {
            return Err(ExtensionError::BadMapId(0));
        }
        if let Some(old) = self.by_id[usize::from(id)] {
            self.by_kind[old.index()] = 0;
        }
        let old_id = self.by_kind[kind.index()];
        if old_id != 0 {
            self.by_id[usize::from(old_id)] = None;
        }
        self.by_id[usize::from(id)] = Some(kind);
        self.by_kind[kind.index()] = id;
        Ok(())
    }

    /// Maps `id` to the extension `uri` names. Returns whether the URI was
    /// known (an unknown one is ignored, as RFC 8285 §5 lets a receiver do).
    pub fn insert_uri(&mut self, id: u16, uri: &str) -> Result<bool, ExtensionError> {
        let id = u8::try_from(id)
            .ok()
            .filter(|&i| i != 0)
            .ok_or(ExtensionError::BadMapId(id))?;
        match ExtensionKind::from_uri(uri) {
            Some(kind) => {
                self.insert(id, kind)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Removes whatever `id` maps to.
    pub fn remove(&mut self, id: u8) {
        if let Some(old) = self.by_id[usize::from(id)].take() {
            self.by_kind[old.index()] = 0;
        }
    }

    /// What `id` means.
    pub fn kind(&self, id: u8) -> Option<ExtensionKind> {
        self.by_id[usize::from(id)]
    }

    /// The id `kind` has in this session.
    pub fn id_of(&self, kind: ExtensionKind) -> Option<u8> {
        Some(self.by_kind[kind.index()]).filter(|&i| i != 0)
    }

    /// `(id, kind)` pairs in id order.
    pub fn iter(&self) -> impl Iterator<Item = (u8, ExtensionKind)> + '_ {
        (1..=255u8).filter_map(|id| self.kind(id).map(|k| (id, k)))
    }
}
