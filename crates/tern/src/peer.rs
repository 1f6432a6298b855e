//! The async PeerConnection handle.

use std::net::SocketAddr;

use tern_ice::{IceConnectionState, IceGatheringState};
use tern_peer::{
    DataChannelInit, IceCandidateInit, MediaKind, OfferOptions, PeerConfig, PeerConnectionState,
    PeerStats, RtcSessionDescription, SignalingState, TransceiverInit,
};
use tokio::sync::{mpsc, oneshot, watch};

use crate::channel::DataChannel;
use crate::config::RtcConfiguration;
use crate::driver::{Command, Driver, PeerConnectionEvent, States};
use crate::socket::{local_addresses, Socket};
use crate::track::LocalTrack;
use crate::Error;

/// A WebRTC peer connection (W3C `RTCPeerConnection`) driven by a tokio
/// task. Dropping it (and every [`DataChannel`] of it) closes the
/// connection and frees its sockets.
pub struct PeerConnection {
    commands: mpsc::Sender<Command>,
    events: mpsc::Receiver<PeerConnectionEvent>,
    states: watch::Receiver<States>,
    local_addresses: Vec<SocketAddr>,
}

impl std::fmt::Debug for PeerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConnection")
            .field("states", &*self.states.borrow())
            .field("local_addresses", &self.local_addresses)
            .finish_non_exhaustive()
    }
}

/// Resolves `stun:host[:port]` and `turn:host[:port][?transport=udp]`
/// URLs (RFC 7064, RFC 7065) into STUN and TURN servers.
async fn ice_servers(
    config: &RtcConfiguration,
) -> Result<(Vec<SocketAddr>, Vec<tern_ice::TurnServerConfig>), Error> {
    let mut out = Vec::new();
    let mut turn = Vec::new();
    for server in &config.ice_servers {
        for url in &server.urls {
            let (is_turn, rest) = if let Some(r) = url.strip_prefix("stun:") {
                (false, r)
            } else if let Some(r) = url.strip_prefix("turn:") {
                (true, r)
            } else {
                return Err(Error::IceServer(format!(
                    "{url}: stun: and turn: URLs are supported (turns: and TCP to the TURN server are not yet)"
                )));
            };
            let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
            if is_turn && !query.is_empty() && query != "transport=udp" {
                return Err(Error::IceServer(format!(
                    "{url}: only UDP to the TURN server is supported so far"
                )));
            }
            let hostport = if rest
                .rsplit_once(':')
                .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            {
                rest.to_string()
            } else {
                format!("{rest}:3478")
            };
            let addrs = tokio::net::lookup_host(hostport.as_str())
                .await
                .map_err(|e| Error::IceServer(format!("{url}: {e}")))?;
            if is_turn {
                let (Some(user), Some(cred)) = (&server.username, &server.credential) else {
                    return Err(Error::IceServer(format!(
                        "{url}: a TURN server needs username and credential"
                    )));
                };
                for a in addrs {
                    turn.push(tern_ice::TurnServerConfig::udp(a, user, cred));
                }
            } else {
                out.extend(addrs);
            }
        }
    }
    Ok((out, turn))
}

impl PeerConnection {
    /// Binds a socket per local address and starts the connection's driver.
    pub async fn new(config: RtcConfiguration) -> Result<Self, Error> {
        let ips = match &config.bind_addresses {
            Some(a) => a.clone(),
            None => local_addresses()?,
        };
        let mut sockets = Vec::new();
        for ip in ips {
            match Socket::bind(SocketAddr::new(ip, 0)) {
                Ok(s) => sockets.push(s),
                Err(e) => tracing::debug!("cannot bind {ip}: {e}"),
            }
        }
        if sockets.is_empty() {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::AddrNotAvailable,
                "no local address to bind a UDP socket on (check bind_addresses)",
            )));
        }
        let local_addresses: Vec<SocketAddr> = sockets.iter().map(|s| s.local).collect();
        let (stun, turn) = ice_servers(&config).await?;
        let relay_only = config.ice_transport_policy == crate::IceTransportPolicy::Relay;
        if relay_only && turn.is_empty() {
            return Err(Error::IceServer(
                "ice_transport_policy Relay needs a turn: server in ice_servers".into(),
            ));
        }
        let ice = tern_ice::IceConfig {
            turn_servers: turn,
            relay_only,
            ..Default::default()
        };
        let mut core = tern_peer::PeerConnection::new(PeerConfig {
            host_addresses: local_addresses.clone(),
            stun_servers: stun,
            ice,
            media: config.media.clone(),
            certificate: config.certificate.clone(),
            sctp: config.sctp.clone(),
            random: config.random,
        })?;
        // The driver side: real time enters here.
        #[allow(clippy::disallowed_methods)]
        if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            core.set_wall_clock(std::time::Instant::now(), d);
        }
        let (cmd_tx, cmd_rx) = mpsc::channel(256);
        let (ev_tx, ev_rx) = mpsc::channel(256);
        let (st_tx, st_rx) = watch::channel(States {
            connection: core.connection_state(),
            ice_connection: core.ice_connection_state(),
            ice_gathering: core.ice_gathering_state(),
            signaling: core.signaling_state(),
            target_bitrate: None,
        });
        let driver = Driver::new(
            core,
            sockets,
            cmd_rx,
            cmd_tx.downgrade(),
            ev_tx,
            st_tx,
            config.send_high_water,
        );
        tokio::spawn(driver.run());
        Ok(PeerConnection {
            commands: cmd_tx,
            events: ev_rx,
            states: st_rx,
            local_addresses,
        })
    }

    async fn request<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, Error> {
        crate::driver::request(&self.commands, make).await
    }

    /// W3C `createOffer`.
    pub async fn create_offer(&self) -> Result<RtcSessionDescription, Error> {
        self.create_offer_with(OfferOptions::default()).await
    }
    /// `createOffer` with options (ICE restart).
    pub async fn create_offer_with(&self, o: OfferOptions) -> Result<RtcSessionDescription, Error> {
        self.request(|r| Command::CreateOffer(o, r)).await?
    }
    /// W3C `createAnswer`.
    pub async fn create_answer(&self) -> Result<RtcSessionDescription, Error> {
        self.request(Command::CreateAnswer).await?
    }
    /// W3C `setLocalDescription` (an empty `sdp` creates the offer or answer).
    pub async fn set_local_description(&self, d: RtcSessionDescription) -> Result<(), Error> {
        self.request(|r| Command::SetLocal(d, r)).await?
    }
    /// W3C `setRemoteDescription`.
    pub async fn set_remote_description(&self, d: RtcSessionDescription) -> Result<(), Error> {
        self.request(|r| Command::SetRemote(d, r)).await?
    }
    /// W3C `addIceCandidate` (`None`: end-of-candidates).
    pub async fn add_ice_candidate(&self, c: Option<IceCandidateInit>) -> Result<(), Error> {
        self.request(|r| Command::AddCandidate(c, r)).await?
    }
    /// W3C `localDescription`, with the candidates gathered so far.
    pub async fn local_description(&self) -> Result<Option<RtcSessionDescription>, Error> {
        self.request(Command::LocalDescription).await
    }
    /// W3C `remoteDescription`.
    pub async fn remote_description(&self) -> Result<Option<RtcSessionDescription>, Error> {
        self.request(Command::RemoteDescription).await
    }
    /// W3C `createDataChannel`.
    pub async fn create_data_channel(
        &self,
        label: &str,
        init: DataChannelInit,
    ) -> Result<DataChannel, Error> {
        let label = label.to_string();
        self.request(|r| Command::CreateChannel(label, init, r))
            .await?
    }
    /// W3C `addTrack(track, ...streams)`: a track of `kind` to send, on a
    /// transceiver the peer's offer made or a new sendrecv one.
    pub async fn add_track(
        &self,
        kind: MediaKind,
        stream_ids: &[&str],
    ) -> Result<LocalTrack, Error> {
        let s = stream_ids.iter().map(|s| s.to_string()).collect();
        self.request(|r| Command::AddTrack(kind, s, r)).await?
    }
    /// W3C `addTransceiver(kind, init)`; the handle sends when the
    /// direction includes send.
    pub async fn add_transceiver(
        &self,
        kind: MediaKind,
        init: TransceiverInit,
    ) -> Result<LocalTrack, Error> {
        self.request(|r| Command::AddTransceiver(kind, init, r))
            .await?
    }
    /// Paces all outgoing RTP at `bits_per_second` (audio first, then
    /// retransmissions, then video); `None`, the default, lets packets go
    /// as they are written (encodings' `max_bitrate` still pace theirs).
    pub async fn set_pacing_rate(&self, bits_per_second: Option<u64>) -> Result<(), Error> {
        self.commands
            .send(Command::SetPacingRate(bits_per_second))
            .await
            .map_err(|_| Error::Closed)
    }

    /// W3C `removeTrack`: stop sending the track (after renegotiation).
    pub async fn remove_track(&self, track: &LocalTrack) -> Result<(), Error> {
        let id = track.transceiver();
        self.request(|r| Command::RemoveTrack(id, r)).await?
    }
    /// W3C `getStats`.
    pub async fn stats(&self) -> Result<PeerStats, Error> {
        self.request(Command::Stats).await
    }
    /// W3C `close`: closes everything at once.
    pub async fn close(&self) {
        let _ = self.request(Command::Close).await;
    }

    /// The next event (candidates, state changes, incoming channels);
    /// `None` once the connection is gone.
    pub async fn next_event(&mut self) -> Option<PeerConnectionEvent> {
        self.events.recv().await
    }

    /// The sockets' addresses (one host candidate each).
    pub fn local_addresses(&self) -> &[SocketAddr] {
        &self.local_addresses
    }
    /// W3C `connectionState`.
    pub fn connection_state(&self) -> PeerConnectionState {
        self.states.borrow().connection
    }
    /// W3C `iceConnectionState`.
    pub fn ice_connection_state(&self) -> IceConnectionState {
        self.states.borrow().ice_connection
    }
    /// W3C `iceGatheringState`.
    pub fn ice_gathering_state(&self) -> IceGatheringState {
        self.states.borrow().ice_gathering
    }
    /// W3C `signalingState`.
    pub fn signaling_state(&self) -> SignalingState {
        self.states.borrow().signaling
    }

    /// The send-side bandwidth estimate: what all local tracks together
    /// should send, in bits per second (`None` until the peer's
    /// transport-wide feedback gave one). Encoders follow it; a sender of
    /// pre-encoded media switches what it sends.
    pub fn target_bitrate(&self) -> Option<u64> {
        self.states.borrow().target_bitrate
    }

    /// Waits until the estimate moves (by 5%, or at all after a second)
    /// and returns it.
    pub async fn target_bitrate_changed(&self) -> Result<u64, Error> {
        let mut s = self.states.clone();
        let now = s.borrow_and_update().target_bitrate;
        let st = s
            .wait_for(|s| s.target_bitrate.is_some() && s.target_bitrate != now)
            .await
            .map_err(|_| Error::Closed)?;
        st.target_bitrate.ok_or(Error::Closed)
    }

    /// Waits until ICE gathering is complete (for signaling without trickle).
    pub async fn gathering_complete(&self) -> Result<(), Error> {
        let mut s = self.states.clone();
        s.wait_for(|s| s.ice_gathering == IceGatheringState::Complete)
            .await
            .map(drop)
            .map_err(|_| Error::Closed)
    }

    /// Waits until the connection is `connected`; fails if it fails or closes.
    pub async fn connected(&self) -> Result<(), Error> {
        let mut s = self.states.clone();
        let r = s
            .wait_for(|s| {
                matches!(
                    s.connection,
                    PeerConnectionState::Connected
                        | PeerConnectionState::Failed
                        | PeerConnectionState::Closed
                )
            })
            .await
            .map_err(|_| Error::Closed)?;
        if r.connection == PeerConnectionState::Connected {
            Ok(())
        } else {
            Err(Error::Closed)
        }
    }
}
