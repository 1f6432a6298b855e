//! The data plane: Send and Data indications (RFC 8656 §10) and ChannelData
//! (§12.4-12.6) both ways. No allocation per packet once buffers are
//! recycled: lookups are two hash probes, the payload is copied once.

use std::net::SocketAddr;
use std::time::Instant;

use tern_stun::{attr_type, method, Attribute, Class, MessageBuilder, MessageType, TransactionId};

use super::{ClientTransport, Destination, FiveTuple, RelayTransport, Req, TurnServer};
use crate::channel_data::{padded_len, write_channel_data, ChannelData, HEADER_LEN};

impl TurnServer {
    /// RFC 8656 §12.6: ChannelData from a client goes to the channel's peer.
    pub(crate) fn client_channel_data(&mut self, now: Instant, ft: FiveTuple, bytes: &[u8]) {
        let Ok(cd) = ChannelData::new_checked(bytes) else {
            self.stats.malformed_dropped += 1;
            return;
        };
        let Some(a) = self.allocs.get_mut(&ft) else {
            self.stats.no_allocation_dropped += 1;
            return;
        };
        let target = a
            .channels
            .get(&cd.channel())
            .filter(|(_, d)| d.alive(now))
            .map(|(p, _)| *p)
            .filter(|p| a.has_permission(p.ip(), now))
            .and_then(|p| Some((a.relay_for(p)?, p)));
        let Some((relay, peer)) = target else {
            self.stats.no_permission_dropped += 1;
            return;
        };
        let data = cd.data();
        if !a.within_bandwidth(now, data.len()) {
            self.stats.bandwidth_dropped += 1;
            return;
        }
        self.relay_to_peer(relay, peer, data, false);
    }

    /// RFC 8656 §10.2: a Send indication's DATA goes to XOR-PEER-ADDRESS if
    /// the policy and a permission allow it; otherwise it is dropped.
    pub(crate) fn send_indication(&mut self, now: Instant, req: &Req<'_>) {
        let m = &req.msg;
        let peer = match m.get(attr_type::XOR_PEER_ADDRESS) {
            Some(Ok(Attribute::XorPeerAddress(p))) => p,
            _ => {
                self.stats.malformed_dropped += 1;
                return;
            }
        };
        let Some(data) = m.raw(attr_type::DATA) else {
            self.stats.malformed_dropped += 1;
            return;
        };
        let dont_fragment = m.raw(attr_type::DONT_FRAGMENT).is_some();
        if !self.allocs.contains_key(&req.ft) {
            self.stats.no_allocation_dropped += 1;
            return;
        }
        if self.cfg.policy.check(peer).is_err() {
            self.stats.denied_peers += 1;
            return;
        }
        let Some(a) = self.allocs.get_mut(&req.ft) else {
            return;
        };
        let relay = a
            .relay_for(peer)
            .filter(|_| a.transport == RelayTransport::Udp);
        let Some(relay) = relay.filter(|_| a.has_permission(peer.ip(), now)) else {
            self.stats.no_permission_dropped += 1;
            return;
        };
        if !a.within_bandwidth(now, data.len()) {
            self.stats.bandwidth_dropped += 1;
            return;
        }
        self.relay_to_peer(relay, peer, data, dont_fragment);
    }

    fn relay_to_peer(
        &mut self,
        relay: SocketAddr,
        peer: SocketAddr,
        data: &[u8],
        dont_fragment: bool,
    ) {
        let mut buf = self.buffer();
        buf.extend_from_slice(data);
        let dest = Destination::Peer {
            relay,
            peer,
            dont_fragment,
        };
        if self.push_transmit(dest, buf) {
            self.stats.client_to_peer_packets += 1;
            self.stats.client_to_peer_bytes += data.len() as u64;
        }
    }

    /// A UDP datagram from `peer` arrived on relayed address `relay`
    /// (RFC 8656 §10.3, §12.7): to the client as ChannelData if a channel is
    /// bound to the peer, else as a Data indication; dropped without a
    /// permission.
    pub fn handle_peer(&mut self, now: Instant, relay: SocketAddr, peer: SocketAddr, bytes: &[u8]) {
        let Some(ft) = self.by_relay.get(&relay).copied() else {
            self.stats.no_allocation_dropped += 1;
            return;
        };
        let Some(a) = self.allocs.get_mut(&ft) else {
            self.stats.no_allocation_dropped += 1;
            return;
        };
        if a.transport != RelayTransport::Udp || !a.has_permission(peer.ip(), now) {
            self.stats.no_permission_dropped += 1;
            return;
        }
        if !a.within_bandwidth(now, bytes.len()) {
            self.stats.bandwidth_dropped += 1;
            return;
        }
        let channel = a
            .by_peer
            .get(&peer)
            .copied()
            .filter(|c| a.channels.get(c).is_some_and(|(_, d)| d.alive(now)));
        let mut buf = self.buffer();
        let ok = match channel {
            Some(ch) => {
                // RFC 8656 §12.5: over TCP and TLS, ChannelData is padded to 4 bytes.
                let pad = ft.transport != ClientTransport::Udp;
                let len = if pad {
                    padded_len(bytes.len())
                } else {
                    HEADER_LEN + bytes.len()
                };
                buf.resize(len, 0);
                write_channel_data(&mut buf, ch, bytes, pad).is_some()
            }
            None => {
                let mut tid = [0u8; 12];
                self.rng.fill(&mut tid);
                let typ = MessageType::new(Class::Indication, method::DATA);
                let mut b = MessageBuilder::new(&mut buf, typ, TransactionId(tid));
                b.add(&Attribute::XorPeerAddress(peer)).is_ok()
                    && b.add(&Attribute::Data(bytes)).is_ok()
            }
        };
        if !ok {
            self.stats.malformed_dropped += 1;
            self.recycle(buf);
            return;
        }
        if self.push_transmit(Destination::Client(ft), buf) {
            self.stats.peer_to_client_packets += 1;
            self.stats.peer_to_client_bytes += bytes.len() as u64;
        }
    }
}
