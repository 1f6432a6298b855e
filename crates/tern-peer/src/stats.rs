//! Statistics named as in W3C `getStats()` (webrtc-stats): the
//! peer-connection, transport, candidate-pair and data-channel entries.

use std::time::Duration;

use tern_ice::{PairState, Role};
use tern_sctp::DataChannelState;

use crate::channels::ChannelCounters;
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
    /// RTP/RTCP received before media is supported: dropped.
    pub dropped_rtp: u64,
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

/// Everything `getStats()` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStats {
    /// `peer-connection`.
    pub peer_connection: PeerConnectionStats,
    /// `transport`.
    pub transport: TransportStats,
    /// `candidate-pair`, one per pair in the check list.
    pub candidate_pairs: Vec<CandidatePairStats>,
    /// `data-channel`, one per known channel.
    pub data_channels: Vec<DataChannelStats>,
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
        }
    }
}
