//! Requests: encoding with credentials, the retransmission schedule
//! (RFC 8489 §6.2.1), the refresh timers, and the one deadline they yield.

use std::net::SocketAddr;
use std::time::Instant;

use tern_stun::{
    AddressFamily, Attribute, Class, MessageBuilder, MessageType, StunError, TransactionId,
};

use tracing::trace;

use super::peers::{CHANNEL_LIFETIME, CHANNEL_QUARANTINE};
use super::{
    encoding_error, Kind, Phase, RequestedFamily, Transaction, Transmit, TurnClient, TurnError,
    TRANSPORT_UDP,
};

impl TurnClient {
    /// Encodes `kind` as a request with id `tid` into `buf`, with the
    /// credentials and FINGERPRINT (RFC 8489 §9.2.3.2, §14.7).
    pub(super) fn encode_request(
        &self,
        buf: &mut Vec<u8>,
        kind: Kind,
        tid: TransactionId,
    ) -> Result<(), StunError> {
        let mut b = MessageBuilder::new(buf, MessageType::new(Class::Request, kind.method()), tid);
        match kind {
            Kind::Allocate => {
                b.add(&Attribute::RequestedTransport(TRANSPORT_UDP))?;
                match self.config.family {
                    RequestedFamily::Ipv6 => {
                        b.add(&Attribute::RequestedAddressFamily(AddressFamily::V6))?
                    }
                    RequestedFamily::Both => {
                        b.add(&Attribute::AdditionalAddressFamily(AddressFamily::V6))?
                    }
                    _ => {}
                }
                b.add(&Attribute::Lifetime(self.requested_lifetime()))?;
                if let Some(s) = &self.config.software {
                    b.add(&Attribute::Software(s))?;
                }
            }
            Kind::Refresh { lifetime } => b.add(&Attribute::Lifetime(lifetime))?,
            Kind::CreatePermission { peer } => {
                b.add(&Attribute::XorPeerAddress(SocketAddr::new(peer, 0)))?
            }
            Kind::ChannelBind { peer, channel } => {
                b.add(&Attribute::ChannelNumber(channel.get()))?;
                b.add(&Attribute::XorPeerAddress(peer))?;
            }
        }
        if let Some(c) = &self.credentials {
            c.add_attributes(&mut b, &self.config.username)?;
            c.sign(&mut b)?;
        }
        b.add_fingerprint()
    }

    /// Starts a transaction: encodes, queues the first transmission, arms its timer.
    pub(super) fn start(
        &mut self,
        now: Instant,
        kind: Kind,
        auth_retries: u8,
    ) -> Result<(), TurnError> {
        let tid = TransactionId::random(&mut *self.rng);
        let mut request = Vec::with_capacity(128);
        self.encode_request(&mut request, kind, tid)
            .map_err(encoding_error)?;
        let r = self.config.retransmit;
        let (sent, wait, bytes) = if self.config.transport.is_stream() {
            // RFC 8489 §6.2.2: no retransmissions over a reliable transport,
            // so the request need not be kept.
            let bytes = std::mem::take(&mut request);
            (r.max_transmissions, self.transaction_timeout(), bytes)
        } else {
            (1, r.wait_after(1), request.clone())
        };
        self.transmits.push_back(Transmit {
            to: self.config.server,
            bytes,
        });
        self.transactions.push(Transaction {
            tid,
            kind,
            request,
            sent,
            started: now,
            deadline: now + wait,
            auth_retries,
            had_credentials: self.credentials.is_some(),
            integrity_dropped: false,
        });
        Ok(())
    }

    pub(super) fn expire_transactions(&mut self, now: Instant) {
        let r = self.config.retransmit;
        let mut i = 0;
        while i < self.transactions.len() {
            let tx = &mut self.transactions[i];
            if tx.deadline > now {
                i += 1;
                continue;
            }
            if tx.sent < r.max_transmissions {
                tx.sent += 1;
                tx.deadline = now + r.wait_after(tx.sent);
                trace!(kind = ?tx.kind, transmission = tx.sent, "TURN retransmit");
                self.stats.retransmissions += 1;
                self.transmits.push_back(Transmit {
                    to: self.config.server,
                    bytes: tx.request.clone(),
                });
                i += 1;
                continue;
            }
            let tx = self.transactions.swap_remove(i);
            let error = if tx.integrity_dropped {
                TurnError::IntegrityViolation
            } else {
                TurnError::ServerUnreachable {
                    after: now.saturating_duration_since(tx.started),
                }
            };
            // This may clear the table (a lost allocation); the loop bound follows.
            self.fail(tx.kind, error);
        }
    }

    pub(super) fn refresh_permissions(&mut self, now: Instant) {
        if !matches!(self.phase, Phase::Allocated(_)) {
            return;
        }
        for i in 0..self.permissions.list.len() {
            let Some(p) = self.permissions.list.get_mut(i) else {
                break;
            };
            if p.in_flight || p.refresh_at.is_none_or(|t| t > now) {
                continue;
            }
            p.in_flight = true;
            p.refresh_at = None;
            let peer = p.ip;
            if let Err(e) = self.start(now, Kind::CreatePermission { peer }, 0) {
                self.fail(Kind::CreatePermission { peer }, e);
            }
        }
    }

    pub(super) fn refresh_channels(&mut self, now: Instant) {
        if !matches!(self.phase, Phase::Allocated(_)) {
            return;
        }
        let reusable_at = now + self.transaction_timeout() + CHANNEL_LIFETIME + CHANNEL_QUARANTINE;
        for i in 0..self.channels.list.len() {
            let Some(c) = self.channels.list.get_mut(i) else {
                break;
            };
            if c.in_flight || c.refresh_at.is_none_or(|t| t > now) {
                continue;
            }
            c.in_flight = true;
            c.refresh_at = None;
            c.reusable_at = c.reusable_at.max(reusable_at);
            let kind = Kind::ChannelBind {
                peer: c.peer,
                channel: c.number,
            };
            if let Err(e) = self.start(now, kind, 0) {
                self.fail(kind, e);
            }
        }
    }

    /// Recomputes the one deadline [`poll_timeout`](Self::poll_timeout)
    /// reports. Called after every change, so polling costs nothing.
    pub(super) fn rearm(&mut self) {
        let mut next = self.transactions.iter().map(|t| t.deadline).min();
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        if let Phase::Allocated(a) = &self.phase {
            consider(Some(a.expires_at));
            if !a.refreshing {
                consider(Some(a.refresh_at));
            }
            consider(self.permissions.next_deadline());
            consider(self.channels.next_deadline());
        }
        self.next_timeout = next;
    }
}
