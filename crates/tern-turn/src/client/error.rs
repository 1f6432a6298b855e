//! What can go wrong for a TURN client, in words a user can act on.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Why an allocation, a permission, a channel or a send failed.
///
/// Server-reported failures map the ERROR-CODE of RFC 8656 §19 and RFC 8489
/// §14.8; the rest are local conditions (timeouts, bad input from the server,
/// calls made in the wrong state).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TurnError {
    /// 401 after a request that carried credentials, or 441 Wrong Credentials
    /// (RFC 8656 §19): the username or password is not accepted for `realm`.
    WrongCredentials {
        /// 401 or 441.
        code: u16,
        /// The realm the server asked for.
        realm: String,
    },
    /// The server's REALM is not the one the configuration names.
    RealmMismatch {
        /// The configured realm.
        expected: String,
        /// The realm in the server's 401.
        offered: String,
    },
    /// The server lists only PASSWORD-ALGORITHMS we do not implement
    /// (RFC 8489 §9.2.5: the client must not retry).
    UnsupportedPasswordAlgorithms,
    /// The nonce cookie announces PASSWORD-ALGORITHMS but the attribute is
    /// missing: a bid-down attack or a broken server (RFC 8489 §9.2.1, §9.2.5).
    BidDownDetected,
    /// 438 Stale Nonce (or a fresh 401 challenge) kept coming after
    /// `retries` fresh attempts.
    StaleNonceLoop {
        /// Attempts made.
        retries: u8,
    },
    /// 403 Forbidden on Allocate or Refresh.
    Forbidden {
        /// The server's reason phrase.
        reason: String,
    },
    /// 403 Forbidden on CreatePermission or ChannelBind: the server's policy
    /// does not let this allocation talk to `peer` (RFC 8656 §9.2, §11.2).
    ForbiddenPeer {
        /// The refused peer.
        peer: IpAddr,
    },
    /// 437 Allocation Mismatch (RFC 8656 §7.2, §8): the server has no
    /// allocation for this 5-tuple, or already has another one.
    AllocationMismatch,
    /// 440 Address Family not Supported (RFC 8656 §7.2).
    AddressFamilyNotSupported,
    /// 443 Peer Address Family Mismatch (RFC 8656 §9.2, §11.2).
    PeerAddressFamilyMismatch {
        /// The peer.
        peer: IpAddr,
    },
    /// 442 Unsupported Transport Protocol (RFC 8656 §7.2).
    UnsupportedTransport,
    /// 486 Allocation Quota Reached (RFC 8656 §7.2).
    QuotaReached,
    /// 508 Insufficient Capacity (RFC 8656 §7.2, §11.2).
    InsufficientCapacity,
    /// 300 Try Alternate with the ALTERNATE-SERVER, if given (RFC 8489 §10).
    TryAlternate {
        /// Where the server sends us.
        alternate: Option<SocketAddr>,
    },
    /// Any other error response.
    ServerError {
        /// ERROR-CODE.
        code: u16,
        /// Its reason phrase.
        reason: String,
    },
    /// No authentic answer within the transaction timeout (RFC 8489 §6.2.1:
    /// 39.5 s with the default schedule).
    ServerUnreachable {
        /// How long we waited.
        after: Duration,
    },
    /// Answers came but none carried a valid MESSAGE-INTEGRITY (RFC 8489
    /// §9.2.5: the layer signals an integrity violation, not a timeout).
    IntegrityViolation,
    /// A response we cannot use (missing or invalid attributes).
    MalformedResponse {
        /// What was wrong.
        what: &'static str,
    },
    /// The TCP/TLS byte stream does not frame as STUN or ChannelData
    /// (RFC 8656 §12.5); the connection has to be closed.
    StreamCorrupted,
    /// The allocation's lifetime ran out without a successful refresh.
    Expired,
    /// The call needs an allocation and there is none (yet).
    NotAllocated,
    /// `allocate` was called while an allocation exists or is being made.
    AlreadyAllocated,
    /// The peer's address family has no relayed address in this allocation.
    PeerFamilyNotRelayed {
        /// The peer.
        peer: IpAddr,
    },
    /// The per-allocation bound on permissions is reached.
    TooManyPermissions {
        /// The bound.
        limit: usize,
    },
    /// Every channel number (0x4000–0x4FFF) is bound or still in its
    /// reuse quarantine (RFC 8656 §12).
    ChannelsExhausted,
    /// The data does not fit a ChannelData message or Send indication.
    DataTooLong {
        /// Its length.
        len: usize,
    },
    /// The caller's buffer cannot hold the message.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
    },
    /// Too many datagrams wait in [`poll_transmit`](super::TurnClient::poll_transmit).
    QueueFull,
    /// The configuration cannot be encoded (e.g. a username over 512 bytes).
    InvalidConfig {
        /// What is wrong.
        what: &'static str,
    },
}

impl fmt::Display for TurnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TurnError::*;
        match self {
            WrongCredentials { code, realm } => write!(
                f,
                "TURN server refused the credentials ({code}) for realm \"{realm}\": check the username and password (time-limited credentials may have expired)"
            ),
            RealmMismatch { expected, offered } => write!(
                f,
                "TURN server offers realm \"{offered}\" but the configuration expects \"{expected}\": fix the configured realm or leave it unset"
            ),
            UnsupportedPasswordAlgorithms => f.write_str(
                "TURN server offers no password algorithm we support (MD5, SHA-256): use another server",
            ),
            BidDownDetected => f.write_str(
                "TURN server's nonce announces password algorithms but the list is missing: possible downgrade attack, try again or use TLS",
            ),
            StaleNonceLoop { retries } => write!(
                f,
                "TURN server rejected the nonce {retries} times in a row: the server's clock or nonce handling is broken, try again later"
            ),
            Forbidden { reason } => write!(
                f,
                "TURN server forbids this allocation ({reason}): the account may not be allowed to relay"
            ),
            ForbiddenPeer { peer } => write!(
                f,
                "TURN server forbids relaying to {peer} (403): its policy blocks this peer address"
            ),
            AllocationMismatch => f.write_str(
                "TURN server has no matching allocation for this connection (437): allocate again, from a new local port if the old allocation is still alive",
            ),
            AddressFamilyNotSupported => f.write_str(
                "TURN server cannot relay the requested address family (440): request IPv4 or the other family",
            ),
            PeerAddressFamilyMismatch { peer } => write!(
                f,
                "peer {peer} is of an address family this allocation does not relay (443)"
            ),
            UnsupportedTransport => f.write_str(
                "TURN server does not relay UDP for this client (442): the server is misconfigured",
            ),
            QuotaReached => f.write_str(
                "TURN server allocation quota reached for this user (486): close other sessions or wait for them to expire",
            ),
            InsufficientCapacity => f.write_str(
                "TURN server is out of capacity (508): try again later or use another server",
            ),
            TryAlternate { alternate: Some(a) } => {
                write!(f, "TURN server redirects to {a} (300): use that server")
            }
            TryAlternate { alternate: None } => f.write_str(
                "TURN server redirects elsewhere (300) without saying where: use another server",
            ),
            ServerError { code, reason } => {
                write!(f, "TURN server answered error {code} \"{reason}\"")
            }
            ServerUnreachable { after } => write!(
                f,
                "TURN server did not answer within {:.1} s: check the address, port, transport and firewall",
                after.as_secs_f64()
            ),
            IntegrityViolation => f.write_str(
                "TURN server's answers failed MESSAGE-INTEGRITY: wrong password, or someone is tampering with the traffic",
            ),
            MalformedResponse { what } => {
                write!(f, "TURN server sent an unusable response: {what}")
            }
            StreamCorrupted => f.write_str(
                "TURN TCP/TLS stream is not STUN or ChannelData framed: close the connection and reconnect",
            ),
            Expired => f.write_str(
                "TURN allocation expired before it could be refreshed: allocate again",
            ),
            NotAllocated => f.write_str("no TURN allocation: wait for Allocated first"),
            AlreadyAllocated => {
                f.write_str("a TURN allocation exists or is in progress: close it first")
            }
            PeerFamilyNotRelayed { peer } => write!(
                f,
                "the allocation has no relayed address of {peer}'s family: request IPv4 and IPv6 (RequestedFamily::Both)"
            ),
            TooManyPermissions { limit } => write!(
                f,
                "at most {limit} peers per TURN allocation: remove unused permissions"
            ),
            ChannelsExhausted => f.write_str(
                "all 4096 TURN channel numbers are bound or quarantined: unbind channels and wait 15 minutes, or use Send indications",
            ),
            DataTooLong { len } => {
                write!(f, "{len} bytes do not fit one TURN message (max 65,535)")
            }
            BufferTooSmall { needed } => {
                write!(f, "buffer too small for the TURN message: {needed} bytes needed")
            }
            QueueFull => f.write_str(
                "TURN transmit queue is full: drain poll_transmit before sending more",
            ),
            InvalidConfig { what } => write!(f, "invalid TURN client configuration: {what}"),
        }
    }
}

impl std::error::Error for TurnError {}
