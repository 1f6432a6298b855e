//! Handling what the server sends: ChannelData, Data indications, and
//! responses to our transactions (RFC 8656 §7.3-12.6, RFC 8489 §9.2.5).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tern_stun::{attr_type, error_code, method, Attribute, Class, Message};

use tracing::{debug, trace};

use super::credentials::Credentials;
use super::peers::{Standing, CHANNEL_REFRESH, PERMISSION_REFRESH};
use super::{
    refresh_interval, Allocation, Kind, Phase, Received, Transaction, TurnClient, TurnError,
    TurnEvent, MAX_AUTH_RETRIES,
};
use crate::channel_data::{ChannelData, HEADER_LEN as CD_HEADER_LEN};

impl TurnClient {
    pub(super) fn on_message<'a>(&mut self, now: Instant, bytes: &'a [u8]) -> Received<'a> {
        match bytes.first().map(|b| b >> 6) {
            Some(0b01) => self.on_channel_data(bytes),
            Some(0b00) => self.on_stun(now, bytes),
            _ => Received::NotForClient,
        }
    }

    /// RFC 8656 §12.6: ChannelData on a channel we bound (or are binding)
    /// is data from its peer; any other channel is dropped and counted.
    pub(super) fn on_channel_data<'a>(&mut self, bytes: &'a [u8]) -> Received<'a> {
        let Ok(cd) = ChannelData::new_checked(bytes) else {
            self.stats.malformed_dropped += 1;
            return Received::Dropped;
        };
        let len = cd.data().len();
        let peer = match &self.phase {
            Phase::Allocated(_) => self.channels.by_number(cd.channel().get()).map(|c| c.peer),
            _ => None,
        };
        let (Some(peer), Some(data)) = (peer, bytes.get(CD_HEADER_LEN..CD_HEADER_LEN + len)) else {
            self.stats.unknown_channel_dropped += 1;
            return Received::Dropped;
        };
        self.stats.data_received += 1;
        Received::Data { peer, data }
    }

    pub(super) fn on_stun<'a>(&mut self, now: Instant, bytes: &'a [u8]) -> Received<'a> {
        let Ok(msg) = Message::parse(bytes) else {
            self.stats.malformed_dropped += 1;
            return Received::Dropped;
        };
        if msg.has_fingerprint() && msg.verify_fingerprint().is_err() {
            self.stats.malformed_dropped += 1;
            return Received::Dropped;
        }
        match msg.class() {
            Class::Indication if msg.method() == method::DATA => self.on_data_indication(&msg),
            Class::SuccessResponse | Class::ErrorResponse => self.on_response(now, &msg),
            _ => Received::NotForClient,
        }
    }

    /// RFC 8656 §10.4: a Data indication carries XOR-PEER-ADDRESS and DATA.
    pub(super) fn on_data_indication<'a>(&mut self, msg: &Message<'a>) -> Received<'a> {
        let peer = match msg.get(attr_type::XOR_PEER_ADDRESS) {
            Some(Ok(Attribute::XorPeerAddress(p))) => p,
            _ => {
                self.stats.malformed_dropped += 1;
                return Received::Dropped;
            }
        };
        let (Phase::Allocated(_), Some(data)) = (&self.phase, msg.raw(attr_type::DATA)) else {
            self.stats.malformed_dropped += 1;
            return Received::Dropped;
        };
        self.stats.data_received += 1;
        Received::Data { peer, data }
    }

    pub(super) fn on_response<'a>(&mut self, now: Instant, msg: &Message<'_>) -> Received<'a> {
        let tid = msg.transaction_id();
        let Some(i) = self.transactions.iter().position(|t| t.tid == tid) else {
            trace!(?tid, "response to no transaction of ours");
            self.stats.unmatched_responses += 1;
            return Received::NotForClient;
        };
        let tx = &self.transactions[i];
        if tx.kind.method() != msg.method() {
            self.stats.malformed_dropped += 1;
            return Received::Dropped;
        }
        let authentic = match (&self.credentials, tx.had_credentials) {
            (Some(c), true) => c.verify(msg),
            // A server that asked for no credentials gave us no key to check with.
            (_, false) => true,
            (None, true) => false,
        };
        let is_challenge = msg.class() == Class::ErrorResponse
            && matches!(
                msg.error_code(),
                Some((error_code::UNAUTHENTICATED | error_code::STALE_NONCE, _))
            );
        // RFC 8489 §9.2.5: success responses must authenticate; an error
        // response with integrity must verify; a 400 without it to a signed
        // request is discarded. Challenges cannot be signed with a key we lack.
        let discard = !authentic
            && !is_challenge
            && (msg.class() == Class::SuccessResponse
                || msg.integrity().is_some()
                || (tx.had_credentials
                    && matches!(msg.error_code(), Some((error_code::BAD_REQUEST, _)))));
        if discard {
            debug!(kind = ?tx.kind, "TURN response failed MESSAGE-INTEGRITY, discarded");
            self.stats.integrity_dropped += 1;
            if self.config.transport.is_stream() {
                // RFC 8489 §9.2.5: over a reliable transport the transaction ends at once.
                let tx = self.transactions.swap_remove(i);
                self.fail(tx.kind, TurnError::IntegrityViolation);
                return Received::Handled;
            }
            if let Some(tx) = self.transactions.get_mut(i) {
                tx.integrity_dropped = true;
            }
            return Received::Dropped;
        }
        let tx = self.transactions.swap_remove(i);
        if msg.class() == Class::SuccessResponse {
            self.on_success(tx, msg);
            return Received::Handled;
        }
        let Some((code, reason)) = msg.error_code() else {
            self.fail(
                tx.kind,
                TurnError::MalformedResponse {
                    what: "error response without a valid ERROR-CODE",
                },
            );
            return Received::Handled;
        };
        if is_challenge {
            self.on_challenge(now, tx, code, msg);
        } else {
            let error = self.map_error(tx.kind, code, reason, msg);
            self.fail(tx.kind, error);
        }
        Received::Handled
    }

    /// RFC 8489 §9.2.5: a 401 or 438 supplies (new) realm and nonce; retry
    /// with a new transaction, a bounded number of times. A 401 to a request
    /// that already carried our credentials for the same realm means they are wrong.
    pub(super) fn on_challenge(
        &mut self,
        now: Instant,
        tx: Transaction,
        code: u16,
        msg: &Message<'_>,
    ) {
        if tx.auth_retries >= MAX_AUTH_RETRIES {
            self.fail(
                tx.kind,
                TurnError::StaleNonceLoop {
                    retries: tx.auth_retries,
                },
            );
            return;
        }
        if code == error_code::UNAUTHENTICATED && tx.had_credentials {
            let offered = match msg.get(attr_type::REALM) {
                Some(Ok(Attribute::Realm(r))) => Some(r),
                _ => None,
            };
            let current = self.credentials.as_ref().map(|c| c.realm.as_str());
            if offered.is_none() || offered == current {
                let realm = current.unwrap_or_default().to_owned();
                self.fail(tx.kind, TurnError::WrongCredentials { code, realm });
                return;
            }
        }
        match Credentials::from_challenge(
            msg,
            &self.config.username,
            &self.config.password,
            self.config.realm.as_deref(),
            self.credentials.as_deref(),
        ) {
            Ok(c) => {
                debug!(code, kind = ?tx.kind, realm = %c.realm, "TURN challenge, retrying with credentials");
                self.credentials = Some(Box::new(c));
                if let Err(e) = self.start(now, tx.kind, tx.auth_retries + 1) {
                    self.fail(tx.kind, e);
                }
            }
            Err(e) => self.fail(tx.kind, e),
        }
    }

    /// Maps an ERROR-CODE to what the user can act on (RFC 8656 §19).
    pub(super) fn map_error(
        &self,
        kind: Kind,
        code: u16,
        reason: &str,
        msg: &Message<'_>,
    ) -> TurnError {
        let peer = match kind {
            Kind::CreatePermission { peer } => Some(peer),
            Kind::ChannelBind { peer, .. } => Some(peer.ip()),
            _ => None,
        };
        match code {
            error_code::TRY_ALTERNATE => TurnError::TryAlternate {
                alternate: match msg.get(attr_type::ALTERNATE_SERVER) {
                    Some(Ok(Attribute::AlternateServer(a))) => Some(a),
                    _ => None,
                },
            },
            error_code::FORBIDDEN => match peer {
                Some(peer) => TurnError::ForbiddenPeer { peer },
                None => TurnError::Forbidden {
                    reason: reason.to_owned(),
                },
            },
            error_code::ALLOCATION_MISMATCH => TurnError::AllocationMismatch,
            error_code::ADDRESS_FAMILY_NOT_SUPPORTED => TurnError::AddressFamilyNotSupported,
            error_code::WRONG_CREDENTIALS => TurnError::WrongCredentials {
                code,
                realm: self
                    .credentials
                    .as_ref()
                    .map(|c| c.realm.clone())
                    .unwrap_or_default(),
            },
            error_code::UNSUPPORTED_TRANSPORT_PROTOCOL => TurnError::UnsupportedTransport,
            error_code::PEER_ADDRESS_FAMILY_MISMATCH if peer.is_some() => {
                TurnError::PeerAddressFamilyMismatch {
                    peer: peer.unwrap_or(IpAddr::from([0, 0, 0, 0])),
                }
            }
            error_code::ALLOCATION_QUOTA_REACHED => TurnError::QuotaReached,
            error_code::INSUFFICIENT_CAPACITY => TurnError::InsufficientCapacity,
            _ => TurnError::ServerError {
                code,
                reason: reason.to_owned(),
            },
        }
    }

    pub(super) fn on_success(&mut self, tx: Transaction, msg: &Message<'_>) {
        let lifetime = match msg.get(attr_type::LIFETIME) {
            Some(Ok(Attribute::Lifetime(s))) => Some(Duration::from_secs(u64::from(s))),
            _ => None,
        };
        match tx.kind {
            Kind::Allocate => self.on_allocated(tx, msg, lifetime),
            Kind::Refresh { lifetime: 0 } => {
                if matches!(self.phase, Phase::Closing) {
                    self.finish_close();
                }
            }
            Kind::Refresh { .. } => {
                let Phase::Allocated(a) = &mut self.phase else {
                    return;
                };
                let lifetime = lifetime.unwrap_or(self.config.lifetime);
                if lifetime.is_zero() {
                    self.lose_allocation(TurnError::Expired);
                    return;
                }
                a.refreshing = false;
                a.refresh_at = tx.started + refresh_interval(lifetime);
                a.expires_at = tx.started + lifetime;
                self.events.push_back(TurnEvent::Refreshed { lifetime });
            }
            Kind::CreatePermission { peer } => {
                let Some(p) = self.permissions.get_mut(peer) else {
                    return;
                };
                p.in_flight = false;
                if p.standing == Standing::Released {
                    self.permissions.list.retain(|p| p.ip != peer);
                    return;
                }
                p.refresh_at = Some(tx.started + PERMISSION_REFRESH);
                if p.standing != Standing::Installed {
                    p.standing = Standing::Installed;
                    self.events.push_back(TurnEvent::PermissionCreated(peer));
                }
            }
            Kind::ChannelBind { peer, channel } => {
                let Some(c) = self.channels.by_number_mut(channel) else {
                    return;
                };
                c.in_flight = false;
                if c.standing == Standing::Released {
                    return;
                }
                c.refresh_at = Some(tx.started + CHANNEL_REFRESH);
                if c.standing != Standing::Installed {
                    c.standing = Standing::Installed;
                    self.events
                        .push_back(TurnEvent::ChannelBound { peer, channel });
                }
            }
        }
    }

    /// RFC 8656 §7.3: XOR-RELAYED-ADDRESS (one per family), XOR-MAPPED-ADDRESS,
    /// LIFETIME; ADDRESS-ERROR-CODE for a refused family of a dual request.
    pub(super) fn on_allocated(
        &mut self,
        tx: Transaction,
        msg: &Message<'_>,
        lifetime: Option<Duration>,
    ) {
        if !matches!(self.phase, Phase::Allocating) {
            return;
        }
        if msg.unknown_comprehension_required().next().is_some() {
            self.fail_allocate(TurnError::MalformedResponse {
                what: "unknown comprehension-required attribute in Allocate success",
            });
            return;
        }
        let tid = msg.transaction_id();
        let relayed: Vec<SocketAddr> = msg
            .attributes()
            .filter(|a| a.attr_type == attr_type::XOR_RELAYED_ADDRESS)
            .filter_map(|a| match Attribute::decode(a.attr_type, a.value, &tid) {
                Ok(Attribute::XorRelayedAddress(r)) => Some(r),
                _ => None,
            })
            .take(2)
            .collect();
        if relayed.is_empty() {
            self.fail_allocate(TurnError::MalformedResponse {
                what: "Allocate success without XOR-RELAYED-ADDRESS",
            });
            return;
        }
        let mapped = match msg.get(attr_type::XOR_MAPPED_ADDRESS) {
            Some(Ok(Attribute::XorMappedAddress(m))) => m,
            _ => {
                self.fail_allocate(TurnError::MalformedResponse {
                    what: "Allocate success without XOR-MAPPED-ADDRESS",
                });
                return;
            }
        };
        let lifetime = lifetime.unwrap_or(self.config.lifetime);
        if lifetime.is_zero() {
            self.fail_allocate(TurnError::MalformedResponse {
                what: "Allocate success with LIFETIME 0",
            });
            return;
        }
        if let Some(Ok(Attribute::AddressErrorCode {
            family,
            code,
            reason,
        })) = msg.get(attr_type::ADDRESS_ERROR_CODE)
        {
            self.events.push_back(TurnEvent::FamilyNotAllocated {
                family,
                code,
                reason: reason.to_owned(),
            });
        }
        debug!(?relayed, %mapped, lifetime_s = lifetime.as_secs(), "TURN allocated");
        self.events.push_back(TurnEvent::Allocated {
            relayed: relayed.clone(),
            mapped,
            lifetime,
        });
        self.phase = Phase::Allocated(Allocation {
            relayed,
            mapped,
            refresh_at: tx.started + refresh_interval(lifetime),
            expires_at: tx.started + lifetime,
            refreshing: false,
        });
    }
}
