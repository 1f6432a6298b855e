//! Statistics named as in W3C `getStats()` (webrtc-stats): the
//! peer-connection, transport, candidate-pair and data-channel entries.

use std::time::Duration;

use tern_ice::{PairState, Role};
use tern_sctp::DataChannelState;

use crate::channels::ChannelCounters;
use crate::connection::MediaCounters;
use crate::media::recv::{InboundCounters, RemoteOutbound};
use crate::media::send::{OutboundCounters, RemoteInbound};
use crate::media::{MediaKind, RtpCodecParameters, TransceiverId};
use crate::state::{ChannelId, DtlsTransportState};
use crate::PeerConnection;

/// Datagram counters of the connection's one transport.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransportCounters {
    /// Datagrams sent (ICE, DTLS).
    pub packets_sent: u64,
    /// Datagrams received.
    pub packets_received: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Datagrams no protocol claims (RFC 7983): dropped.
    pub dropped_unknown: u64,
    /// DTLS that arrived before the remote description beyond what is kept
    /// for it: dropped (resent by the peer).
    pub dropped_early_dtls: u64,
    /// SCTP packets DTLS refused to send.
    pub dropped_sctp_out: u64,
    /// Remote candidates in the SDP that did not parse (mDNS names, say).
    pub bad_remote_candidates: u64,
}

/// `RTCPeerConnectionStats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerConnectionStats {
    /// Channels that reached `open` (ours and the peer's).
    pub data_channels_opened: u32,
    /// Channels that closed.
    pub data_channels_closed: u32,
}

/// `RTCTransportStats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportStats {
    /// Datagram counters.
    pub counters: TransportCounters,
    /// `iceRole`.
    pub ice_role: Option<Role>,
    /// `iceLocalUsernameFragment`.
    pub ice_local_username_fragment: Option<String>,
    /// `dtlsState`.
    pub dtls_state: DtlsTransportState,
    /// `dtlsCipher`.
    pub dtls_cipher: Option<String>,
    /// `srtpCipher`: the use_srtp profile DTLS negotiated (RFC 5764), named
    /// as libwebrtc reports it (`AES_CM_128_HMAC_SHA1_80`,
    /// `AEAD_AES_128_GCM`, `AEAD_AES_256_GCM`).
    pub srtp_cipher: Option<String>,
    /// `selectedCandidatePairId`: an index into `candidate_pairs`.
    pub selected_candidate_pair_id: Option<usize>,
    /// DTLS counters (dropped records, retransmitted flights).
    pub dtls: Option<tern_dtls::DtlsStats>,
}

/// `RTCIceCandidatePairStats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidatePairStats {
    /// `localCandidateId` (here the local address).
    pub local_address: std::net::SocketAddr,
    /// `remoteCandidateId` (here the remote address).
    pub remote_address: std::net::SocketAddr,
    /// `state`.
    pub state: PairState,
    /// `nominated`.
    pub nominated: bool,
    /// `bytesSent`.
    pub bytes_sent: u64,
    /// `bytesReceived`.
    pub bytes_received: u64,
    /// `currentRoundTripTime`.
    pub current_round_trip_time: Option<Duration>,
    /// `requestsSent`.
    pub requests_sent: u64,
    /// `responsesReceived`.
    pub responses_received: u64,
}

/// `RTCDataChannelStats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChannelStats {
    /// The handle.
    pub channel: ChannelId,
    /// `label`.
    pub label: String,
    /// `protocol`.
    pub protocol: String,
    /// `dataChannelIdentifier`.
    pub data_channel_identifier: Option<u16>,
    /// `state`.
    pub state: DataChannelState,
    /// `messagesSent`, `bytesSent`, `messagesReceived`, `bytesReceived`.
    pub counters: ChannelCounters,
}

/// `RTCOutboundRtpStreamStats`, with the peer's view of the stream
/// (`RTCRemoteInboundRtpStreamStats`) from its reception reports.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundRtpStats {
    /// The transceiver.
    pub transceiver: TransceiverId,
    /// `mid`.
    pub mid: Option<String>,
    /// `kind`.
    pub kind: MediaKind,
    /// `ssrc`.
    pub ssrc: u32,
    /// `rtxSsrc`.
    pub rtx_ssrc: Option<u32>,
    /// `codecId`'s codec: the first negotiated.
    pub codec: Option<RtpCodecParameters>,
    /// Packet, byte, retransmission and feedback counters.
    pub counters: OutboundCounters,
    /// `remote-inbound-rtp`.
    pub remote_inbound: RemoteInbound,
    /// `active`: whether the encoding is sent (`set_parameters`).
    pub active: bool,
    /// The encoding's `maxBitrate`, if capped.
    pub max_bitrate: Option<u64>,
}

/// `RTCInboundRtpStreamStats`, with the peer's view of its stream
/// (`RTCRemoteOutboundRtpStreamStats`) from its sender reports.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundRtpStats {
    /// The transceiver.
    pub transceiver: TransceiverId,
    /// `mid`.
    pub mid: Option<String>,
    /// `kind`.
    pub kind: MediaKind,
    /// `ssrc`.
    pub ssrc: u32,
    /// `rid`, for a simulcast stream.
    pub rid: Option<String>,
    /// Packet, byte and feedback counters.
    pub counters: InboundCounters,
    /// `packetsLost` (RFC 3550 cumulative loss; negative with duplicates).
    pub packets_lost: i64,
    /// `jitter` in seconds.
    pub jitter: f64,
    /// NACK generator counters: packets recovered by retransmission and
    /// given up.
    pub nack: Option<tern_rtp::nack::NackStats>,
    /// `remote-outbound-rtp`.
    pub remote_outbound: RemoteOutbound,
}

/// `RTCMediaSourceStats` (`media-source`): the track a sender sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSourceStats {
    /// The transceiver whose sender it feeds.
    pub transceiver: TransceiverId,
    /// `trackIdentifier`.
    pub track_identifier: String,
    /// `kind`.
    pub kind: MediaKind,
    /// `frames` (video) or samples (audio) the application wrote, sent
    /// or discarded.
    pub frames: u64,
}

/// Everything `getStats()` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerStats {
    /// `peer-connection`.
    pub peer_connection: PeerConnectionStats,
    /// `transport`.
    pub transport: TransportStats,
    /// `candidate-pair`, one per pair in the check list.
    pub candidate_pairs: Vec<CandidatePairStats>,
    /// `data-channel`, one per known channel.
    pub data_channels: Vec<DataChannelStats>,
    /// `outbound-rtp` (with `remote-inbound-rtp`), one per sender that
    /// was negotiated.
    pub outbound_rtp: Vec<OutboundRtpStats>,
    /// `inbound-rtp` (with `remote-outbound-rtp`), one per stream received.
    pub inbound_rtp: Vec<InboundRtpStats>,
    /// `codec`: what each transceiver negotiated.
    pub codecs: Vec<(TransceiverId, RtpCodecParameters)>,
    /// `media-source`, one per sender with a track attached.
    pub media_sources: Vec<MediaSourceStats>,
    /// The send-side bandwidth estimate, once packets went with
    /// transport-wide sequence numbers.
    pub bandwidth: Option<crate::connection::BandwidthStats>,
    /// Media drop and feedback counters.
    pub media: MediaCounters,
}

impl PeerConnection {
    /// W3C `getStats()`.
    pub fn stats(&self) -> PeerStats {
        let ice = self.transport.ice.as_ref();
        let pairs = ice.map(|i| i.pairs()).unwrap_or(&[]);
        let selected = ice.and_then(|i| i.selected_pair());
        PeerStats {
            peer_connection: PeerConnectionStats {
                data_channels_opened: self.channels.opened,
                data_channels_closed: self.channels.closed,
            },
            transport: TransportStats {
                counters: self.transport.counters,
                ice_role: ice.map(|i| i.role()),
                ice_local_username_fragment: ice.map(|i| i.local_credentials().ufrag.clone()),
                dtls_state: self.transport.dtls_state,
                dtls_cipher: self
                    .transport
                    .dtls
                    .as_ref()
                    .and_then(|d| d.cipher_suite())
                    .map(|s| format!("{s:?}")),
                srtp_cipher: self.transport.srtp_profile.map(|p| {
                    match p {
                        tern_dtls::SrtpProfile::Aes128CmHmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
                        tern_dtls::SrtpProfile::AeadAes128Gcm => "AEAD_AES_128_GCM",
                        tern_dtls::SrtpProfile::AeadAes256Gcm => "AEAD_AES_256_GCM",
                        _ => "unknown",
                    }
                    .to_string()
                }),
                dtls: self.transport.dtls.as_ref().map(|d| d.stats()),
                selected_candidate_pair_id: selected.and_then(|(l, r)| {
                    pairs
                        .iter()
                        .position(|p| p.local_addr == l && p.remote_addr == r)
                }),
            },
            candidate_pairs: pairs
                .iter()
                .map(|p| CandidatePairStats {
                    local_address: p.local_addr,
                    remote_address: p.remote_addr,
                    state: p.state,
                    nominated: p.nominated,
                    bytes_sent: p.stats.bytes_sent,
                    bytes_received: p.stats.bytes_received,
                    current_round_trip_time: p.stats.current_round_trip_time,
                    requests_sent: p.stats.requests_sent,
                    responses_received: p.stats.responses_received,
                })
                .collect(),
            data_channels: self
                .channels
                .map
                .iter()
                .map(|(id, c)| {
                    let info = self.channel(*id);
                    DataChannelStats {
                        channel: *id,
                        label: c.label.clone(),
                        protocol: c.init.protocol.clone(),
                        data_channel_identifier: c.stream,
                        state: info.map_or(DataChannelState::Closed, |i| i.ready_state),
                        counters: c.counters,
                    }
                })
                .collect(),
            outbound_rtp: self
                .media
                .transceivers
                .iter()
                .filter(|t| t.negotiated.is_some())
                .map(|t| OutboundRtpStats {
                    transceiver: t.id,
                    mid: t.mid.as_ref().map(|m| m.to_string()),
                    kind: t.kind,
                    ssrc: t.sender.ssrc,
                    rtx_ssrc: t.sender.rtx_ssrc,
                    codec: t
                        .negotiated
                        .as_ref()
                        .and_then(|n| n.codecs.first().cloned()),
                    counters: t.sender.counters,
                    remote_inbound: t.sender.remote,
                    active: t.active(),
                    max_bitrate: t.encodings.first().and_then(|e| e.max_bitrate),
                })
                .collect(),
            bandwidth: self.media.bandwidth_stats(),
            media_sources: self
                .media
                .transceivers
                .iter()
                .filter(|t| t.has_track && !t.detached && !t.stopped)
                .map(|t| {
                    let c = &t.sender.counters;
                    MediaSourceStats {
                        transceiver: t.id,
                        track_identifier: t.source_track_id.clone(),
                        kind: t.kind,
                        frames: c.frames_sent
                            + c.frames_discarded_inactive
                            + c.frames_discarded_on_send,
                    }
                })
                .collect(),
            inbound_rtp: self
                .media
                .transceivers
                .iter()
                .flat_map(|t| {
                    t.streams.iter().map(move |s| {
                        let clock = t
                            .negotiated
                            .as_ref()
                            .and_then(|n| n.codecs.first())
                            .map_or(90_000, |c| c.clock_rate);
                        InboundRtpStats {
                            transceiver: t.id,
                            mid: t.mid.as_ref().map(|m| m.to_string()),
                            kind: t.kind,
                            ssrc: s.ssrc,
                            rid: s.rid.clone(),
                            counters: s.counters,
                            packets_lost: s.stats.cumulative_lost(),
                            jitter: f64::from(s.stats.jitter()) / f64::from(clock.max(1)),
                            nack: s.nack.as_ref().map(|n| n.stats()),
                            remote_outbound: s.remote,
                        }
                    })
                })
                .collect(),
            codecs: self
                .media
                .transceivers
                .iter()
                .flat_map(|t| {
                    t.negotiated
                        .iter()
                        .flat_map(|n| n.codecs.iter())
                        .map(move |c| (t.id, c.clone()))
                })
                .collect(),
            media: self.media.counters,
        }
    }
}
