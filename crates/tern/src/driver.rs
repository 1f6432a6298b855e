//! The driver task: owns one sans-IO PeerConnection and its sockets; the
//! handles talk to it through bounded channels. Nothing here is unbounded:
//! commands wait for room, and when the application stops taking messages
//! the driver stops taking them from the connection (whose SCTP window then
//! closes), while still running the network and timers.
// The driver is where real time enters: it reads the clock and passes it down.
#![allow(clippy::disallowed_methods)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use tern_ice::{IceConnectionState, IceGatheringState};
use tern_peer::{
    ChannelId, ChannelInfo, DataChannelInit, DataChannelMessage, DataChannelState,
    IceCandidateInit, MediaKind, OfferOptions, PeerConnection as Core, PeerConnectionState,
    PeerEvent, PeerStats, RtcSessionDescription, RtpCodecParameters, RtpPacketReceived,
    RtpPacketToSend, RtpSendParameters, SignalingState, TransceiverId, TransceiverInit,
};
use tokio::sync::{mpsc, oneshot, watch};

use crate::channel::DataChannel;
use crate::socket::{readable, Socket};
use crate::track::{LocalTrack, RemoteTrack, TRACK_QUEUE};
use crate::Error;

/// Connections whose driver is running (for leak checks).
pub(crate) static LIVE: AtomicUsize = AtomicUsize::new(0);

pub(crate) type Reply<T> = oneshot::Sender<Result<T, Error>>;

/// What a handle asks of the driver.
pub(crate) enum Command {
    CreateOffer(OfferOptions, Reply<RtcSessionDescription>),
    CreateAnswer(Reply<RtcSessionDescription>),
    SetLocal(RtcSessionDescription, Reply<()>),
    SetRemote(RtcSessionDescription, Reply<()>),
    AddCandidate(Option<IceCandidateInit>, Reply<()>),
    LocalDescription(oneshot::Sender<Option<RtcSessionDescription>>),
    RemoteDescription(oneshot::Sender<Option<RtcSessionDescription>>),
    CreateChannel(String, DataChannelInit, Reply<DataChannel>),
    Send(ChannelId, Outgoing, Reply<()>),
    CloseChannel(ChannelId),
    ChannelInfo(ChannelId, oneshot::Sender<Option<ChannelInfo>>),
    BufferedAmount(ChannelId, oneshot::Sender<usize>),
    Stats(oneshot::Sender<PeerStats>),
    Close(oneshot::Sender<()>),
    AddTrack(MediaKind, Vec<String>, Reply<LocalTrack>),
    AddTransceiver(MediaKind, TransceiverInit, Reply<LocalTrack>),
    RemoveTrack(TransceiverId, Reply<()>),
    /// A sample at an RTP timestamp; replies with the codec's clock rate.
    WriteFrame(TransceiverId, u32, Bytes, Reply<u32>),
    WriteRtp(TransceiverId, Option<u8>, u32, bool, Bytes, Reply<()>),
    RequestKeyframe(TransceiverId),
    Codecs(TransceiverId, oneshot::Sender<Vec<RtpCodecParameters>>),
    GetParameters(TransceiverId, Reply<RtpSendParameters>),
    SetParameters(TransceiverId, RtpSendParameters, Reply<()>),
    ReplaceTrack(TransceiverId, Option<String>, Reply<()>),
    SetPacingRate(Option<u64>),
}

/// Sends a command made around a reply channel and waits for the reply.
pub(crate) async fn request<T>(
    commands: &mpsc::Sender<Command>,
    make: impl FnOnce(oneshot::Sender<T>) -> Command,
) -> Result<T, Error> {
    let (tx, rx) = oneshot::channel();
    commands.send(make(tx)).await.map_err(|_| Error::Closed)?;
    rx.await.map_err(|_| Error::Closed)
}

/// A message to send.
pub(crate) enum Outgoing {
    Text(String),
    Binary(Bytes),
}

/// The states a handle can read without asking the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct States {
    pub connection: PeerConnectionState,
    pub ice_connection: IceConnectionState,
    pub ice_gathering: IceGatheringState,
    pub signaling: SignalingState,
    /// The bandwidth estimate's target, bits per second.
    pub target_bitrate: Option<u64>,
}

/// What the application hears about the connection (W3C events).
#[non_exhaustive]
pub enum PeerConnectionEvent {
    /// A local candidate to signal; `None` after the last one.
    IceCandidate(Option<IceCandidateInit>),
    /// `connectionstatechange`.
    ConnectionStateChange(PeerConnectionState),
    /// `iceconnectionstatechange`.
    IceConnectionStateChange(IceConnectionState),
    /// `icegatheringstatechange`.
    IceGatheringStateChange(IceGatheringState),
    /// `signalingstatechange`.
    SignalingStateChange(SignalingState),
    /// `negotiationneeded`.
    NegotiationNeeded,
    /// The peer opened a channel (`datachannel`).
    DataChannel(DataChannel),
    /// The peer sends media (`track`).
    Track(RemoteTrack),
}

impl std::fmt::Debug for PeerConnectionEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerConnectionEvent::IceCandidate(c) => write!(f, "IceCandidate({c:?})"),
            PeerConnectionEvent::ConnectionStateChange(s) => {
                write!(f, "ConnectionStateChange({s:?})")
            }
            PeerConnectionEvent::IceConnectionStateChange(s) => {
                write!(f, "IceConnectionStateChange({s:?})")
            }
            PeerConnectionEvent::IceGatheringStateChange(s) => {
                write!(f, "IceGatheringStateChange({s:?})")
            }
            PeerConnectionEvent::SignalingStateChange(s) => {
                write!(f, "SignalingStateChange({s:?})")
            }
            PeerConnectionEvent::NegotiationNeeded => write!(f, "NegotiationNeeded"),
            PeerConnectionEvent::DataChannel(c) => write!(f, "DataChannel({:?})", c.label()),
            PeerConnectionEvent::Track(t) => write!(f, "Track({} {})", t.kind(), t.mid()),
        }
    }
}

/// The driver's side of one channel.
pub(crate) struct Slot {
    pub msgs: mpsc::Sender<DataChannelMessage>,
    pub state: watch::Sender<DataChannelState>,
    /// Sends waiting for the buffered amount to fall.
    pub waiters: Vec<oneshot::Sender<Result<(), Error>>>,
}

/// Messages queued per channel for the application.
pub(crate) const CHANNEL_QUEUE: usize = 1024;

enum Stalled {
    Message(ChannelId, DataChannelMessage),
    Event(PeerConnectionEvent),
}

pub(crate) struct Driver {
    pub core: Core,
    pub sockets: Vec<Socket>,
    pub commands: mpsc::Receiver<Command>,
    pub weak_commands: mpsc::WeakSender<Command>,
    pub events: mpsc::Sender<PeerConnectionEvent>,
    pub states: watch::Sender<States>,
    pub slots: HashMap<ChannelId, Slot>,
    pub high_water: usize,
    stalled: Option<Stalled>,
    batch: Vec<u8>,
    /// Remote tracks' packet queues.
    tracks: HashMap<TransceiverId, mpsc::Sender<RtpPacketReceived>>,
    /// Keyframe requests per local track.
    keyframes: HashMap<TransceiverId, watch::Sender<u64>>,
    /// Packets dropped because a remote track's reader fell behind.
    pub dropped_track_packets: u64,
    target_bitrate: Option<u64>,
}

impl Driver {
    pub fn new(
        core: Core,
        sockets: Vec<Socket>,
        commands: mpsc::Receiver<Command>,
        weak_commands: mpsc::WeakSender<Command>,
        events: mpsc::Sender<PeerConnectionEvent>,
        states: watch::Sender<States>,
        high_water: usize,
    ) -> Self {
        Driver {
            core,
            sockets,
            commands,
            weak_commands,
            events,
            states,
            slots: HashMap::new(),
            high_water,
            stalled: None,
            batch: Vec::with_capacity(64 * 1024),
            tracks: HashMap::new(),
            keyframes: HashMap::new(),
            dropped_track_packets: 0,
            target_bitrate: None,
        }
    }

    pub async fn run(mut self) {
        LIVE.fetch_add(1, Ordering::SeqCst);
        loop {
            self.flush().await;
            self.dispatch();
            self.publish_states();
            let deadline = self.core.poll_timeout();
            let wait_msgs = match &self.stalled {
                Some(Stalled::Message(ch, _)) => self.slots.get(ch).map(|s| s.msgs.clone()),
                _ => None,
            };
            let wait_events =
                matches!(self.stalled, Some(Stalled::Event(_))).then(|| self.events.clone());
            tokio::select! {
                cmd = self.commands.recv() => match cmd {
                    Some(Command::Close(done)) => {
                        self.shutdown().await;
                        let _ = done.send(());
                        break;
                    }
                    Some(c) => self.command(c),
                    None => {
                        // Every handle is gone: close and free everything.
                        self.shutdown().await;
                        break;
                    }
                },
                i = readable(&self.sockets) => self.receive(i),
                _ = tokio::time::sleep_until(deadline.map_or_else(tokio::time::Instant::now, Into::into)), if deadline.is_some() => {
                    self.core.handle_timeout(Instant::now());
                }
                _ = async { if let Some(tx) = &wait_msgs { let _ = tx.reserve().await; } }, if wait_msgs.is_some() => {}
                _ = async { if let Some(tx) = &wait_events { let _ = tx.reserve().await; } }, if wait_events.is_some() => {}
            }
        }
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }

    async fn shutdown(&mut self) {
        self.core.close(Instant::now());
        self.flush().await;
        for (_, s) in self.slots.drain() {
            let _ = s.state.send(DataChannelState::Closed);
            for w in s.waiters {
                let _ = w.send(Err(Error::ChannelClosed));
            }
        }
        self.publish_states();
    }

    fn receive(&mut self, i: usize) {
        let now = Instant::now();
        let Driver { core, sockets, .. } = self;
        let sock = &mut sockets[i];
        let local = sock.local;
        if let Err(e) = sock.recv_ready(|from, d| core.handle_receive(now, from, local, d)) {
            tracing::debug!("receive on {local}: {e}");
        }
    }

    fn socket_for(&self, source: Option<SocketAddr>) -> usize {
        source
            .and_then(|s| self.sockets.iter().position(|k| k.local == s))
            .unwrap_or(0)
    }

    /// Sends what the connection has: the core lays equal-sized datagrams
    /// to one destination end to end in our buffer, one GSO send each.
    async fn flush(&mut self) {
        loop {
            // The batch's socket is only known once the core picked the
            // datagrams, so the smallest segment limit of all is asked for.
            let max = self
                .sockets
                .iter()
                .map(|s| s.max_segments())
                .min()
                .unwrap_or(1);
            let Some(t) = self.core.poll_transmit_batch(&mut self.batch, max, 65_000) else {
                break;
            };
            let idx = self.socket_for(t.source);
            if let Err(e) = self.sockets[idx]
                .send(t.destination, &self.batch[..t.len], t.segment_size)
                .await
            {
                tracing::debug!("send to {}: {e}", t.destination);
            }
        }
    }

    fn local_track(&mut self, id: TransceiverId, kind: MediaKind) -> Result<LocalTrack, Error> {
        let (tx, rx) = watch::channel(0);
        self.keyframes.insert(id, tx);
        let cmd = self.weak_commands.upgrade().ok_or(Error::Closed)?;
        // RFC 3550 §5.1: a random initial timestamp.
        let first = rand_u32();
        Ok(LocalTrack::new(id, kind, cmd, rx, first))
    }

    fn publish_states(&self) {
        let s = States {
            connection: self.core.connection_state(),
            ice_connection: self.core.ice_connection_state(),
            ice_gathering: self.core.ice_gathering_state(),
            signaling: self.core.signaling_state(),
            target_bitrate: self.target_bitrate,
        };
        self.states.send_if_modified(|old| {
            let changed = *old != s;
            *old = s;
            changed
        });
    }

    fn new_slot(&mut self, ch: ChannelId, state: DataChannelState) -> Option<DataChannel> {
        let cmd = self.weak_commands.upgrade()?;
        let (msgs_tx, msgs_rx) = mpsc::channel(CHANNEL_QUEUE);
        let (state_tx, state_rx) = watch::channel(state);
        if let Some(mut c) = self.core.channel_mut(ch) {
            c.set_buffered_amount_low_threshold(self.high_water);
        }
        let label = self.core.channel(ch).map(|i| i.label).unwrap_or_default();
        self.slots.insert(
            ch,
            Slot {
                msgs: msgs_tx,
                state: state_tx,
                waiters: Vec::new(),
            },
        );
        Some(DataChannel::new(ch, label, cmd, msgs_rx, state_rx))
    }

    /// Hands events to the application until one finds no room.
    fn dispatch(&mut self) {
        loop {
            if let Some(s) = self.stalled.take() {
                if !self.deliver(s) {
                    return;
                }
            }
            let Some(e) = self.core.poll_event() else {
                return;
            };
            let next = match e {
                PeerEvent::ChannelMessage { channel, message } => {
                    Stalled::Message(channel, message)
                }
                PeerEvent::IceCandidate(c) => Stalled::Event(PeerConnectionEvent::IceCandidate(c)),
                PeerEvent::ConnectionStateChange(s) => {
                    Stalled::Event(PeerConnectionEvent::ConnectionStateChange(s))
                }
                PeerEvent::IceConnectionStateChange(s) => {
                    Stalled::Event(PeerConnectionEvent::IceConnectionStateChange(s))
                }
                PeerEvent::IceGatheringStateChange(s) => {
                    Stalled::Event(PeerConnectionEvent::IceGatheringStateChange(s))
                }
                PeerEvent::SignalingStateChange(s) => {
                    Stalled::Event(PeerConnectionEvent::SignalingStateChange(s))
                }
                PeerEvent::NegotiationNeeded => {
                    Stalled::Event(PeerConnectionEvent::NegotiationNeeded)
                }
                PeerEvent::DataChannel(ch) => match self.new_slot(ch, DataChannelState::Open) {
                    Some(dc) => Stalled::Event(PeerConnectionEvent::DataChannel(dc)),
                    None => continue,
                },
                PeerEvent::ChannelOpen(ch) => {
                    if let Some(s) = self.slots.get(&ch) {
                        let _ = s.state.send(DataChannelState::Open);
                    }
                    continue;
                }
                PeerEvent::ChannelClosing(ch) => {
                    if let Some(s) = self.slots.get(&ch) {
                        let _ = s.state.send(DataChannelState::Closing);
                    }
                    continue;
                }
                PeerEvent::ChannelClosed(ch) => {
                    if let Some(s) = self.slots.remove(&ch) {
                        let _ = s.state.send(DataChannelState::Closed);
                        for w in s.waiters {
                            let _ = w.send(Err(Error::ChannelClosed));
                        }
                    }
                    continue;
                }
                PeerEvent::ChannelBufferedAmountLow(ch) => {
                    if let Some(s) = self.slots.get_mut(&ch) {
                        for w in s.waiters.drain(..) {
                            let _ = w.send(Ok(()));
                        }
                    }
                    continue;
                }
                PeerEvent::Track {
                    transceiver,
                    mid,
                    kind,
                    stream_ids,
                    track_id,
                } => {
                    let (tx, rx) = mpsc::channel(TRACK_QUEUE);
                    self.tracks.insert(transceiver, tx);
                    let codecs = self
                        .core
                        .transceiver_mut(transceiver)
                        .map(|t| t.codecs())
                        .unwrap_or_default();
                    let Some(cmd) = self.weak_commands.upgrade() else {
                        continue;
                    };
                    Stalled::Event(PeerConnectionEvent::Track(RemoteTrack::new(
                        transceiver,
                        kind,
                        mid.to_string(),
                        stream_ids,
                        track_id,
                        codecs,
                        cmd,
                        rx,
                    )))
                }
                PeerEvent::Rtp {
                    transceiver,
                    packet,
                } => {
                    if let Some(tx) = self.tracks.get(&transceiver) {
                        if tx.try_send(packet).is_err() {
                            self.dropped_track_packets += 1;
                        }
                    }
                    continue;
                }
                PeerEvent::TrackEnded { transceiver } => {
                    // The reader's queue ends: read_rtp/read_frame give None.
                    self.tracks.remove(&transceiver);
                    continue;
                }
                PeerEvent::BandwidthEstimate { target_bitrate, .. } => {
                    self.target_bitrate = Some(target_bitrate);
                    self.publish_states();
                    continue;
                }
                PeerEvent::KeyframeRequest { transceiver, .. } => {
                    if let Some(w) = self.keyframes.get(&transceiver) {
                        w.send_modify(|n| *n += 1);
                    }
                    continue;
                }
                _ => continue, // abandoned messages: counted in stats
            };
            if !self.deliver(next) {
                return;
            }
        }
    }

    /// Gives one event to the application; false (and kept) when its queue is full.
    fn deliver(&mut self, s: Stalled) -> bool {
        match s {
            Stalled::Message(ch, m) => {
                let Some(slot) = self.slots.get(&ch) else {
                    return true;
                };
                match slot.msgs.try_send(m) {
                    Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => true,
                    Err(mpsc::error::TrySendError::Full(m)) => {
                        self.stalled = Some(Stalled::Message(ch, m));
                        false
                    }
                }
            }
            Stalled::Event(e) => match self.events.try_send(e) {
                Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => true,
                Err(mpsc::error::TrySendError::Full(e)) => {
                    self.stalled = Some(Stalled::Event(e));
                    false
                }
            },
        }
    }

    fn command(&mut self, c: Command) {
        let now = Instant::now();
        let core = &mut self.core;
        match c {
            Command::CreateOffer(o, r) => {
                let _ = r.send(core.create_offer(now, o).map_err(Into::into));
            }
            Command::CreateAnswer(r) => {
                let _ = r.send(core.create_answer(now).map_err(Into::into));
            }
            Command::SetLocal(d, r) => {
                let _ = r.send(core.set_local_description(now, d).map_err(Into::into));
            }
            Command::SetRemote(d, r) => {
                let _ = r.send(core.set_remote_description(now, d).map_err(Into::into));
            }
            Command::AddCandidate(c, r) => {
                let _ = r.send(core.add_ice_candidate(now, c).map_err(Into::into));
            }
            Command::LocalDescription(r) => {
                let _ = r.send(core.local_description());
            }
            Command::RemoteDescription(r) => {
                let _ = r.send(core.remote_description());
            }
            Command::CreateChannel(label, init, r) => {
                let res = match core.create_data_channel(now, &label, init) {
                    Ok(ch) => {
                        let state = core
                            .channel(ch)
                            .map_or(DataChannelState::Connecting, |i| i.ready_state);
                        self.new_slot(ch, state).ok_or(Error::Closed)
                    }
                    Err(e) => Err(e.into()),
                };
                let _ = r.send(res);
            }
            Command::Send(ch, m, r) => {
                let res = match (core.channel_mut(ch), m) {
                    (None, _) => Err(tern_peer::PeerError::UnknownChannel(ch)),
                    (Some(mut c), Outgoing::Text(t)) => c.send_text(now, &t),
                    (Some(mut c), Outgoing::Binary(b)) => c.send_binary_bytes(now, b),
                };
                match res {
                    Err(e) => {
                        let _ = r.send(Err(e.into()));
                    }
                    Ok(_) if core.buffered_amount(ch) > self.high_water => {
                        match self.slots.get_mut(&ch) {
                            Some(s) => s.waiters.push(r),
                            None => {
                                let _ = r.send(Ok(()));
                            }
                        }
                    }
                    Ok(_) => {
                        let _ = r.send(Ok(()));
                    }
                }
            }
            Command::CloseChannel(ch) => {
                if let Some(mut c) = core.channel_mut(ch) {
                    let _ = c.close(now);
                }
            }
            Command::ChannelInfo(ch, r) => {
                let _ = r.send(core.channel(ch));
            }
            Command::BufferedAmount(ch, r) => {
                let _ = r.send(core.buffered_amount(ch));
            }
            Command::Stats(r) => {
                let _ = r.send(core.stats());
            }
            Command::AddTrack(kind, streams, r) => {
                let res = core
                    .add_track(kind, streams, None)
                    .map_err(Error::from)
                    .and_then(|id| self.local_track(id, kind));
                let _ = r.send(res);
            }
            Command::AddTransceiver(kind, init, r) => {
                let res = core
                    .add_transceiver(kind, init)
                    .map_err(Error::from)
                    .and_then(|id| self.local_track(id, kind));
                let _ = r.send(res);
            }
            Command::RemoveTrack(id, r) => {
                let _ = r.send(core.remove_track(id).map_err(Into::into));
            }
            Command::WriteFrame(id, ts, data, r) => {
                let res = match core.transceiver_mut(id) {
                    None => Err(Error::Closed),
                    Some(mut t) => {
                        let clock = t.codecs().first().map_or(90_000, |c| c.clock_rate);
                        t.write_frame(now, None, ts, &data)
                            .map(|()| clock)
                            .map_err(Into::into)
                    }
                };
                let _ = r.send(res);
            }
            Command::WriteRtp(id, pt, ts, marker, payload, r) => {
                let res = match core.transceiver_mut(id) {
                    None => Err(Error::Closed),
                    Some(mut t) => t
                        .write_rtp(
                            now,
                            &RtpPacketToSend {
                                payload_type: pt,
                                timestamp: ts,
                                marker,
                                payload: &payload,
                            },
                        )
                        .map_err(Into::into),
                };
                let _ = r.send(res);
            }
            Command::RequestKeyframe(id) => {
                if let Some(mut t) = core.transceiver_mut(id) {
                    t.request_keyframe(now);
                }
            }
            Command::GetParameters(id, r) => {
                let res = core
                    .transceiver_mut(id)
                    .map(|mut t| t.get_parameters())
                    .ok_or(Error::Closed);
                let _ = r.send(res);
            }
            Command::SetParameters(id, p, r) => {
                let res = match core.transceiver_mut(id) {
                    None => Err(Error::Closed),
                    Some(mut t) => t.set_parameters(p).map_err(Into::into),
                };
                let _ = r.send(res);
            }
            Command::ReplaceTrack(id, track, r) => {
                let res = match core.transceiver_mut(id) {
                    None => Err(Error::Closed),
                    Some(mut t) => t.replace_track(track).map_err(Into::into),
                };
                let _ = r.send(res);
            }
            Command::SetPacingRate(rate) => core.set_pacing_rate(rate),
            Command::Codecs(id, r) => {
                let _ = r.send(
                    core.transceiver_mut(id)
                        .map(|t| t.codecs())
                        .unwrap_or_default(),
                );
            }
            // `run` closes before it gets here; a stray one just answers.
            Command::Close(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// A random u32 from the OS (initial RTP timestamps).
fn rand_u32() -> u32 {
    use tern_crypto::Random;
    tern_crypto::OsRandom.next_u32()
}
