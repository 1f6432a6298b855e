//! Attribute types and their values (RFC 8489 §14, RFC 8656 §18, RFC 8445 §16.1,
//! RFC 6062 §6.2).
//!
//! [`Attribute`] borrows from the datagram: strings and byte values are slices
//! of it, so decoding allocates nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::types::{TransactionId, MAGIC_COOKIE};
use crate::StunError;

/// Attribute type code points.
pub mod attr_type {
    /// MAPPED-ADDRESS (RFC 8489 §14.1).
    pub const MAPPED_ADDRESS: u16 = 0x0001;
    /// USERNAME (RFC 8489 §14.3).
    pub const USERNAME: u16 = 0x0006;
    /// MESSAGE-INTEGRITY (RFC 8489 §14.5).
    pub const MESSAGE_INTEGRITY: u16 = 0x0008;
    /// ERROR-CODE (RFC 8489 §14.8).
    pub const ERROR_CODE: u16 = 0x0009;
    /// UNKNOWN-ATTRIBUTES (RFC 8489 §14.9).
    pub const UNKNOWN_ATTRIBUTES: u16 = 0x000A;
    /// CHANNEL-NUMBER (RFC 8656 §18.1).
    pub const CHANNEL_NUMBER: u16 = 0x000C;
    /// LIFETIME (RFC 8656 §18.2).
    pub const LIFETIME: u16 = 0x000D;
    /// XOR-PEER-ADDRESS (RFC 8656 §18.3).
    pub const XOR_PEER_ADDRESS: u16 = 0x0012;
    /// DATA (RFC 8656 §18.4).
    pub const DATA: u16 = 0x0013;
    /// REALM (RFC 8489 §14.9).
    pub const REALM: u16 = 0x0014;
    /// NONCE (RFC 8489 §14.10).
    pub const NONCE: u16 = 0x0015;
    /// XOR-RELAYED-ADDRESS (RFC 8656 §18.5).
    pub const XOR_RELAYED_ADDRESS: u16 = 0x0016;
    /// REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.6).
    pub const REQUESTED_ADDRESS_FAMILY: u16 = 0x0017;
    /// EVEN-PORT (RFC 8656 §18.7).
    pub const EVEN_PORT: u16 = 0x0018;
    /// REQUESTED-TRANSPORT (RFC 8656 §18.8).
    pub const REQUESTED_TRANSPORT: u16 = 0x0019;
    /// DONT-FRAGMENT (RFC 8656 §18.9).
    pub const DONT_FRAGMENT: u16 = 0x001A;
    /// MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6).
    pub const MESSAGE_INTEGRITY_SHA256: u16 = 0x001C;
    /// PASSWORD-ALGORITHM (RFC 8489 §14.12).
    pub const PASSWORD_ALGORITHM: u16 = 0x001D;
    /// USERHASH (RFC 8489 §14.4).
    pub const USERHASH: u16 = 0x001E;
    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2).
    pub const XOR_MAPPED_ADDRESS: u16 = 0x0020;
    /// RESERVATION-TOKEN (RFC 8656 §18.10).
    pub const RESERVATION_TOKEN: u16 = 0x0022;
    /// PRIORITY (RFC 8445 §16.1).
    pub const PRIORITY: u16 = 0x0024;
    /// USE-CANDIDATE (RFC 8445 §16.1).
    pub const USE_CANDIDATE: u16 = 0x0025;
    /// CONNECTION-ID (RFC 6062 §6.2.1).
    pub const CONNECTION_ID: u16 = 0x002A;
    /// ADDITIONAL-ADDRESS-FAMILY (RFC 8656 §18.11).
    pub const ADDITIONAL_ADDRESS_FAMILY: u16 = 0x8000;
    /// ADDRESS-ERROR-CODE (RFC 8656 §18.13).
    pub const ADDRESS_ERROR_CODE: u16 = 0x8001;
    /// PASSWORD-ALGORITHMS (RFC 8489 §14.11).
    pub const PASSWORD_ALGORITHMS: u16 = 0x8002;
    /// ALTERNATE-DOMAIN (RFC 8489 §14.16).
    pub const ALTERNATE_DOMAIN: u16 = 0x8003;
    /// ICMP (RFC 8656 §18.12).
    pub const ICMP: u16 = 0x8004;
    /// SOFTWARE (RFC 8489 §14.14).
    pub const SOFTWARE: u16 = 0x8022;
    /// ALTERNATE-SERVER (RFC 8489 §14.15).
    pub const ALTERNATE_SERVER: u16 = 0x8023;
    /// FINGERPRINT (RFC 8489 §14.7).
    pub const FINGERPRINT: u16 = 0x8028;
    /// ICE-CONTROLLED (RFC 8445 §16.1).
    pub const ICE_CONTROLLED: u16 = 0x8029;
    /// ICE-CONTROLLING (RFC 8445 §16.1).
    pub const ICE_CONTROLLING: u16 = 0x802A;

    /// Types 0x0000–0x7FFF must be understood by the receiver (RFC 8489 §14).
    pub fn is_comprehension_required(t: u16) -> bool {
        t < 0x8000
    }

    /// Whether this crate decodes `t`.
    pub fn is_known(t: u16) -> bool {
        matches!(
            t,
            MAPPED_ADDRESS
                | USERNAME
                | MESSAGE_INTEGRITY
                | ERROR_CODE
                | UNKNOWN_ATTRIBUTES
                | CHANNEL_NUMBER
                | LIFETIME
                | XOR_PEER_ADDRESS
                | DATA
                | REALM
                | NONCE
                | XOR_RELAYED_ADDRESS
                | REQUESTED_ADDRESS_FAMILY
                | EVEN_PORT
                | REQUESTED_TRANSPORT
                | DONT_FRAGMENT
                | MESSAGE_INTEGRITY_SHA256
                | PASSWORD_ALGORITHM
                | USERHASH
                | XOR_MAPPED_ADDRESS
                | RESERVATION_TOKEN
                | PRIORITY
                | USE_CANDIDATE
                | CONNECTION_ID
                | ADDITIONAL_ADDRESS_FAMILY
                | ADDRESS_ERROR_CODE
                | PASSWORD_ALGORITHMS
                | ALTERNATE_DOMAIN
                | ICMP
                | SOFTWARE
                | ALTERNATE_SERVER
                | FINGERPRINT
                | ICE_CONTROLLED
                | ICE_CONTROLLING
        )
    }
}

/// An address family as TURN's REQUESTED-ADDRESS-FAMILY and friends write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressFamily {
    /// 0x01.
    V4,
    /// 0x02.
    V6,
}

impl AddressFamily {
    fn to_u8(self) -> u8 {
        match self {
            AddressFamily::V4 => 1,
            AddressFamily::V6 => 2,
        }
    }
    fn from_u8(b: u8, t: u16) -> Result<Self, StunError> {
        match b {
            1 => Ok(AddressFamily::V4),
            2 => Ok(AddressFamily::V6),
            _ => Err(StunError::BadAttribute { attr_type: t }),
        }
    }
}

/// One entry of PASSWORD-ALGORITHMS, or the PASSWORD-ALGORITHM attribute
/// (RFC 8489 §14.11–14.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordAlgorithm<'a> {
    /// 0x0001 MD5, 0x0002 SHA-256.
    pub algorithm: u16,
    /// Algorithm parameters (empty for both registered algorithms).
    pub params: &'a [u8],
}

/// The attribute types listed in UNKNOWN-ATTRIBUTES, borrowed from the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownAttributes<'a>(&'a [u8]);

impl<'a> UnknownAttributes<'a> {
    /// The listed types.
    pub fn iter(&self) -> impl Iterator<Item = u16> + 'a {
        self.0
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
    }
    /// Wraps an encoded list (pairs of big-endian bytes).
    pub fn from_encoded(b: &'a [u8]) -> Self {
        UnknownAttributes(&b[..b.len() & !1])
    }
}

/// A decoded attribute. Borrowed values point into the message buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attribute<'a> {
    /// MAPPED-ADDRESS.
    MappedAddress(SocketAddr),
    /// XOR-MAPPED-ADDRESS.
    XorMappedAddress(SocketAddr),
    /// XOR-PEER-ADDRESS.
    XorPeerAddress(SocketAddr),
    /// XOR-RELAYED-ADDRESS.
    XorRelayedAddress(SocketAddr),
    /// ALTERNATE-SERVER.
    AlternateServer(SocketAddr),
    /// USERNAME (UTF-8, under 513 bytes).
    Username(&'a str),
    /// USERHASH (32 bytes).
    UserHash(&'a [u8; 32]),
    /// REALM (UTF-8, under 763 bytes).
    Realm(&'a str),
    /// NONCE (under 763 bytes).
    Nonce(&'a str),
    /// SOFTWARE (UTF-8, under 763 bytes).
    Software(&'a str),
    /// ALTERNATE-DOMAIN.
    AlternateDomain(&'a str),
    /// MESSAGE-INTEGRITY (20 bytes).
    MessageIntegrity(&'a [u8; 20]),
    /// MESSAGE-INTEGRITY-SHA256 (16 to 32 bytes, a multiple of 4).
    MessageIntegritySha256(&'a [u8]),
    /// FINGERPRINT value.
    Fingerprint(u32),
    /// ERROR-CODE.
    ErrorCode {
        /// 300–699.
        code: u16,
        /// Reason phrase (UTF-8, under 763 bytes).
        reason: &'a str,
    },
    /// UNKNOWN-ATTRIBUTES.
    UnknownAttributes(UnknownAttributes<'a>),
    /// PASSWORD-ALGORITHMS, as the raw list (iterate with [`Attribute::password_algorithms`]).
    PasswordAlgorithms(&'a [u8]),
    /// PASSWORD-ALGORITHM.
    PasswordAlgorithm(PasswordAlgorithm<'a>),
    /// PRIORITY.
    Priority(u32),
    /// USE-CANDIDATE.
    UseCandidate,
    /// ICE-CONTROLLED tie-breaker.
    IceControlled(u64),
    /// ICE-CONTROLLING tie-breaker.
    IceControlling(u64),
    /// CHANNEL-NUMBER.
    ChannelNumber(u16),
    /// LIFETIME in seconds.
    Lifetime(u32),
    /// DATA.
    Data(&'a [u8]),
    /// REQUESTED-ADDRESS-FAMILY.
    RequestedAddressFamily(AddressFamily),
    /// ADDITIONAL-ADDRESS-FAMILY.
    AdditionalAddressFamily(AddressFamily),
    /// EVEN-PORT with its R (reserve next port) bit.
    EvenPort(bool),
    /// REQUESTED-TRANSPORT protocol number (17 = UDP, 6 = TCP).
    RequestedTransport(u8),
    /// DONT-FRAGMENT.
    DontFragment,
    /// RESERVATION-TOKEN.
    ReservationToken([u8; 8]),
    /// ADDRESS-ERROR-CODE.
    AddressErrorCode {
        /// The family the error is about.
        family: AddressFamily,
        /// 300–699.
        code: u16,
        /// Reason phrase.
        reason: &'a str,
    },
    /// ICMP.
    Icmp {
        /// ICMP type (9 bits).
        icmp_type: u16,
        /// ICMP code (7 bits).
        code: u8,
        /// Error data.
        data: u32,
    },
    /// CONNECTION-ID.
    ConnectionId(u32),
    /// Any other attribute, kept raw.
    Unknown {
        /// Its type.
        attr_type: u16,
        /// Its value.
        value: &'a [u8],
    },
}

const MAX_USERNAME: usize = 512;
const MAX_TEXT: usize = 762;

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}
fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn text(t: u16, v: &[u8], max: usize) -> Result<&str, StunError> {
    if v.len() > max {
        return Err(StunError::BadAttribute { attr_type: t });
    }
    std::str::from_utf8(v).map_err(|_| StunError::BadAttribute { attr_type: t })
}

fn fixed<const N: usize>(t: u16, v: &[u8]) -> Result<&[u8; N], StunError> {
    v.try_into()
        .map_err(|_| StunError::BadAttribute { attr_type: t })
}

fn decode_address(t: u16, v: &[u8], xor: Option<&TransactionId>) -> Result<SocketAddr, StunError> {
    let bad = StunError::BadAttribute { attr_type: t };
    if v.len() < 4 {
        return Err(bad);
    }
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let mut port = be16(&v[2..4]);
    if xor.is_some() {
        port ^= (MAGIC_COOKIE >> 16) as u16;
    }
    match (v[1], v.len()) {
        (0x01, 8) => {
            let mut a = [v[4], v[5], v[6], v[7]];
            if xor.is_some() {
                for (x, k) in a.iter_mut().zip(cookie) {
                    *x ^= k;
                }
            }
            Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), port))
        }
        (0x02, 20) => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&v[4..20]);
            if let Some(tid) = xor {
                let key = cookie.iter().chain(tid.0.iter());
                for (x, k) in a.iter_mut().zip(key) {
                    *x ^= k;
                }
            }
            Ok(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(a)), port))
        }
        _ => Err(bad),
    }
}

fn encode_address(out: &mut Vec<u8>, addr: &SocketAddr, xor: Option<&TransactionId>) {
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let mut port = addr.port();
    if xor.is_some() {
        port ^= (MAGIC_COOKIE >> 16) as u16;
    }
    match addr.ip() {
        IpAddr::V4(ip) => {
            out.extend_from_slice(&[0, 0x01]);
            out.extend_from_slice(&port.to_be_bytes());
            let mut a = ip.octets();
            if xor.is_some() {
                for (x, k) in a.iter_mut().zip(cookie) {
                    *x ^= k;
                }
            }
            out.extend_from_slice(&a);
        }
        IpAddr::V6(ip) => {
            out.extend_from_slice(&[0, 0x02]);
            out.extend_from_slice(&port.to_be_bytes());
            let mut a = ip.octets();
            if let Some(tid) = xor {
                for (x, k) in a.iter_mut().zip(cookie.iter().chain(tid.0.iter())) {
                    *x ^= k;
                }
            }
            out.extend_from_slice(&a);
        }
    }
}

fn decode_error_code(t: u16, v: &[u8]) -> Result<(u16, &str), StunError> {
    if v.len() < 4 {
        return Err(StunError::BadAttribute { attr_type: t });
    }
    let class = u16::from(v[2] & 0x07);
    let number = u16::from(v[3]);
    if !(3..=6).contains(&class) || number > 99 {
        return Err(StunError::BadAttribute { attr_type: t });
    }
    Ok((class * 100 + number, text(t, &v[4..], MAX_TEXT)?))
}

impl<'a> Attribute<'a> {
    /// Decodes the value of an attribute of type `t`. `tid` is the message's
    /// transaction id (needed for the XOR address attributes).
    pub fn decode(t: u16, v: &'a [u8], tid: &TransactionId) -> Result<Self, StunError> {
        use attr_type as at;
        let bad = StunError::BadAttribute { attr_type: t };
        Ok(match t {
            at::MAPPED_ADDRESS => Attribute::MappedAddress(decode_address(t, v, None)?),
            at::ALTERNATE_SERVER => Attribute::AlternateServer(decode_address(t, v, None)?),
            at::XOR_MAPPED_ADDRESS => Attribute::XorMappedAddress(decode_address(t, v, Some(tid))?),
            at::XOR_PEER_ADDRESS => Attribute::XorPeerAddress(decode_address(t, v, Some(tid))?),
            at::XOR_RELAYED_ADDRESS => {
                Attribute::XorRelayedAddress(decode_address(t, v, Some(tid))?)
            }
            at::USERNAME => Attribute::Username(text(t, v, MAX_USERNAME)?),
            at::USERHASH => Attribute::UserHash(fixed::<32>(t, v)?),
            at::REALM => Attribute::Realm(text(t, v, MAX_TEXT)?),
            at::NONCE => Attribute::Nonce(text(t, v, MAX_TEXT)?),
            at::SOFTWARE => Attribute::Software(text(t, v, MAX_TEXT)?),
            at::ALTERNATE_DOMAIN => Attribute::AlternateDomain(text(t, v, 255)?),
            at::MESSAGE_INTEGRITY => Attribute::MessageIntegrity(fixed::<20>(t, v)?),
            at::MESSAGE_INTEGRITY_SHA256 => {
                if v.len() < 16 || v.len() > 32 || v.len() % 4 != 0 {
                    return Err(bad);
                }
                Attribute::MessageIntegritySha256(v)
            }
            at::FINGERPRINT => Attribute::Fingerprint(be32(fixed::<4>(t, v)?)),
            at::ERROR_CODE => {
                let (code, reason) = decode_error_code(t, v)?;
                Attribute::ErrorCode { code, reason }
            }
            at::UNKNOWN_ATTRIBUTES => {
                if v.len() % 2 != 0 {
                    return Err(bad);
                }
                Attribute::UnknownAttributes(UnknownAttributes(v))
            }
            at::PASSWORD_ALGORITHMS => {
                // Validate the whole list once so iteration cannot fail later.
                let mut rest = v;
                while !rest.is_empty() {
                    let (_, next) = split_password_algorithm(t, rest)?;
                    rest = next;
                }
                Attribute::PasswordAlgorithms(v)
            }
            at::PASSWORD_ALGORITHM => {
                let (alg, rest) = split_password_algorithm(t, v)?;
                if !rest.is_empty() {
                    return Err(bad);
                }
                Attribute::PasswordAlgorithm(alg)
            }
            at::PRIORITY => Attribute::Priority(be32(fixed::<4>(t, v)?)),
            at::USE_CANDIDATE if v.is_empty() => Attribute::UseCandidate,
            at::ICE_CONTROLLED => Attribute::IceControlled(u64::from_be_bytes(*fixed::<8>(t, v)?)),
            at::ICE_CONTROLLING => {
                Attribute::IceControlling(u64::from_be_bytes(*fixed::<8>(t, v)?))
            }
            at::CHANNEL_NUMBER => Attribute::ChannelNumber(be16(fixed::<4>(t, v)?)),
            at::LIFETIME => Attribute::Lifetime(be32(fixed::<4>(t, v)?)),
            at::DATA => Attribute::Data(v),
            at::REQUESTED_ADDRESS_FAMILY => {
                Attribute::RequestedAddressFamily(AddressFamily::from_u8(fixed::<4>(t, v)?[0], t)?)
            }
            at::ADDITIONAL_ADDRESS_FAMILY => {
                Attribute::AdditionalAddressFamily(AddressFamily::from_u8(fixed::<4>(t, v)?[0], t)?)
            }
            at::EVEN_PORT => Attribute::EvenPort(fixed::<1>(t, v)?[0] & 0x80 != 0),
            at::REQUESTED_TRANSPORT => Attribute::RequestedTransport(fixed::<4>(t, v)?[0]),
            at::DONT_FRAGMENT if v.is_empty() => Attribute::DontFragment,
            at::RESERVATION_TOKEN => Attribute::ReservationToken(*fixed::<8>(t, v)?),
            at::ADDRESS_ERROR_CODE => {
                if v.len() < 4 {
                    return Err(bad);
                }
                let family = AddressFamily::from_u8(v[0], t)?;
                let (code, reason) = decode_error_code(t, v)?;
                Attribute::AddressErrorCode {
                    family,
                    code,
                    reason,
                }
            }
            at::ICMP => {
                let v = fixed::<8>(t, v)?;
                let tc = be16(&v[2..4]);
                Attribute::Icmp {
                    icmp_type: tc >> 7,
                    code: (tc & 0x7f) as u8,
                    data: be32(&v[4..8]),
                }
            }
            at::CONNECTION_ID => Attribute::ConnectionId(be32(fixed::<4>(t, v)?)),
            at::USE_CANDIDATE | at::DONT_FRAGMENT => return Err(bad),
            _ => Attribute::Unknown {
                attr_type: t,
                value: v,
            },
        })
    }

    /// The attribute's type code.
    pub fn attr_type(&self) -> u16 {
        use attr_type as at;
        match self {
            Attribute::MappedAddress(_) => at::MAPPED_ADDRESS,
            Attribute::XorMappedAddress(_) => at::XOR_MAPPED_ADDRESS,
            Attribute::XorPeerAddress(_) => at::XOR_PEER_ADDRESS,
            Attribute::XorRelayedAddress(_) => at::XOR_RELAYED_ADDRESS,
            Attribute::AlternateServer(_) => at::ALTERNATE_SERVER,
            Attribute::Username(_) => at::USERNAME,
            Attribute::UserHash(_) => at::USERHASH,
            Attribute::Realm(_) => at::REALM,
            Attribute::Nonce(_) => at::NONCE,
            Attribute::Software(_) => at::SOFTWARE,
            Attribute::AlternateDomain(_) => at::ALTERNATE_DOMAIN,
            Attribute::MessageIntegrity(_) => at::MESSAGE_INTEGRITY,
            Attribute::MessageIntegritySha256(_) => at::MESSAGE_INTEGRITY_SHA256,
            Attribute::Fingerprint(_) => at::FINGERPRINT,
            Attribute::ErrorCode { .. } => at::ERROR_CODE,
            Attribute::UnknownAttributes(_) => at::UNKNOWN_ATTRIBUTES,
            Attribute::PasswordAlgorithms(_) => at::PASSWORD_ALGORITHMS,
            Attribute::PasswordAlgorithm(_) => at::PASSWORD_ALGORITHM,
            Attribute::Priority(_) => at::PRIORITY,
            Attribute::UseCandidate => at::USE_CANDIDATE,
            Attribute::IceControlled(_) => at::ICE_CONTROLLED,
            Attribute::IceControlling(_) => at::ICE_CONTROLLING,
            Attribute::ChannelNumber(_) => at::CHANNEL_NUMBER,
            Attribute::Lifetime(_) => at::LIFETIME,
            Attribute::Data(_) => at::DATA,
            Attribute::RequestedAddressFamily(_) => at::REQUESTED_ADDRESS_FAMILY,
            Attribute::AdditionalAddressFamily(_) => at::ADDITIONAL_ADDRESS_FAMILY,
            Attribute::EvenPort(_) => at::EVEN_PORT,
            Attribute::RequestedTransport(_) => at::REQUESTED_TRANSPORT,
            Attribute::DontFragment => at::DONT_FRAGMENT,
            Attribute::ReservationToken(_) => at::RESERVATION_TOKEN,
            Attribute::AddressErrorCode { .. } => at::ADDRESS_ERROR_CODE,
            Attribute::Icmp { .. } => at::ICMP,
            Attribute::ConnectionId(_) => at::CONNECTION_ID,
            Attribute::Unknown { attr_type, .. } => *attr_type,
        }
    }

    /// Appends the value (without the type/length header or padding) to `out`.
    /// Fails if the value breaks the RFC's limits, so we never send what we
    /// would refuse to receive.
    pub fn encode_value(&self, out: &mut Vec<u8>, tid: &TransactionId) -> Result<(), StunError> {
        let t = self.attr_type();
        let too_long = StunError::ValueTooLong { attr_type: t };
        let check = |s: &str, max: usize| if s.len() > max { Err(too_long) } else { Ok(()) };
        match self {
            Attribute::MappedAddress(a) | Attribute::AlternateServer(a) => {
                encode_address(out, a, None)
            }
            Attribute::XorMappedAddress(a)
            | Attribute::XorPeerAddress(a)
            | Attribute::XorRelayedAddress(a) => encode_address(out, a, Some(tid)),
            Attribute::Username(s) => {
                check(s, MAX_USERNAME)?;
                out.extend_from_slice(s.as_bytes())
            }
            Attribute::Realm(s) | Attribute::Nonce(s) | Attribute::Software(s) => {
                check(s, MAX_TEXT)?;
                out.extend_from_slice(s.as_bytes())
            }
            Attribute::AlternateDomain(s) => {
                check(s, 255)?;
                out.extend_from_slice(s.as_bytes())
            }
            Attribute::UserHash(h) => out.extend_from_slice(&h[..]),
            Attribute::MessageIntegrity(h) => out.extend_from_slice(&h[..]),
            Attribute::MessageIntegritySha256(h) => {
                if h.len() < 16 || h.len() > 32 || h.len() % 4 != 0 {
                    return Err(StunError::BadAttribute { attr_type: t });
                }
                out.extend_from_slice(h)
            }
            Attribute::Fingerprint(v) | Attribute::Priority(v) | Attribute::Lifetime(v) => {
                out.extend_from_slice(&v.to_be_bytes())
            }
            Attribute::ConnectionId(v) => out.extend_from_slice(&v.to_be_bytes()),
            Attribute::ErrorCode { code, reason } => {
                check(reason, MAX_TEXT)?;
                if !(300..700).contains(code) {
                    return Err(StunError::BadAttribute { attr_type: t });
                }
                out.extend_from_slice(&[0, 0, (code / 100) as u8, (code % 100) as u8]);
                out.extend_from_slice(reason.as_bytes());
            }
            Attribute::AddressErrorCode {
                family,
                code,
                reason,
            } => {
                check(reason, MAX_TEXT)?;
                if !(300..700).contains(code) {
                    return Err(StunError::BadAttribute { attr_type: t });
                }
                out.extend_from_slice(&[family.to_u8(), 0, (code / 100) as u8, (code % 100) as u8]);
                out.extend_from_slice(reason.as_bytes());
            }
            Attribute::UnknownAttributes(u) => out.extend_from_slice(u.0),
            Attribute::PasswordAlgorithms(raw) => out.extend_from_slice(raw),
            Attribute::PasswordAlgorithm(p) => encode_password_algorithm(out, p, t)?,
            Attribute::UseCandidate | Attribute::DontFragment => {}
            Attribute::IceControlled(v) | Attribute::IceControlling(v) => {
                out.extend_from_slice(&v.to_be_bytes())
            }
            Attribute::ChannelNumber(c) => {
                out.extend_from_slice(&c.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
            }
            Attribute::Data(d) => {
                if d.len() > usize::from(u16::MAX) {
                    return Err(too_long);
                }
                out.extend_from_slice(d)
            }
            Attribute::RequestedAddressFamily(f) | Attribute::AdditionalAddressFamily(f) => {
                out.extend_from_slice(&[f.to_u8(), 0, 0, 0])
            }
            Attribute::EvenPort(r) => out.push(if *r { 0x80 } else { 0 }),
            Attribute::RequestedTransport(p) => out.extend_from_slice(&[*p, 0, 0, 0]),
            Attribute::ReservationToken(t) => out.extend_from_slice(t),
            Attribute::Icmp {
                icmp_type,
                code,
                data,
            } => {
                if *icmp_type > 0x1ff || *code > 0x7f {
                    return Err(StunError::BadAttribute { attr_type: t });
                }
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&((icmp_type << 7) | u16::from(*code)).to_be_bytes());
                out.extend_from_slice(&data.to_be_bytes());
            }
            Attribute::Unknown { value, .. } => {
                if value.len() > usize::from(u16::MAX) {
                    return Err(too_long);
                }
                out.extend_from_slice(value)
            }
        }
        Ok(())
    }

    /// For [`Attribute::PasswordAlgorithms`], the listed algorithms.
    pub fn password_algorithms(&self) -> impl Iterator<Item = PasswordAlgorithm<'a>> + 'a {
        let mut rest: &'a [u8] = match self {
            Attribute::PasswordAlgorithms(raw) => raw,
            _ => &[],
        };
        std::iter::from_fn(move || {
            let (alg, next) =
                split_password_algorithm(attr_type::PASSWORD_ALGORITHMS, rest).ok()?;
            rest = next;
            Some(alg)
        })
    }
}

fn split_password_algorithm(t: u16, v: &[u8]) -> Result<(PasswordAlgorithm<'_>, &[u8]), StunError> {
    let bad = StunError::BadAttribute { attr_type: t };
    if v.len() < 4 {
        return Err(bad);
    }
    let algorithm = be16(&v[0..2]);
    let plen = usize::from(be16(&v[2..4]));
    let padded = (plen + 3) & !3;
    if v.len() < 4 + padded {
        return Err(bad);
    }
    Ok((
        PasswordAlgorithm {
            algorithm,
            params: &v[4..4 + plen],
        },
        &v[4 + padded..],
    ))
}

fn encode_password_algorithm(
    out: &mut Vec<u8>,
    p: &PasswordAlgorithm<'_>,
    t: u16,
) -> Result<(), StunError> {
    let plen =
        u16::try_from(p.params.len()).map_err(|_| StunError::ValueTooLong { attr_type: t })?;
    out.extend_from_slice(&p.algorithm.to_be_bytes());
    out.extend_from_slice(&plen.to_be_bytes());
    out.extend_from_slice(p.params);
    while out.len() % 4 != 0 {
        out.push(0);
    }
    Ok(())
}

/// Encodes a list of password algorithms as the value of PASSWORD-ALGORITHMS.
pub fn encode_password_algorithms(list: &[PasswordAlgorithm<'_>]) -> Result<Vec<u8>, StunError> {
    let mut v = Vec::new();
    for p in list {
        encode_password_algorithm(&mut v, p, attr_type::PASSWORD_ALGORITHMS)?;
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(a: Attribute<'_>) {
        let tid = TransactionId([9; 12]);
        let mut v = Vec::new();
        a.encode_value(&mut v, &tid).unwrap();
        assert_eq!(Attribute::decode(a.attr_type(), &v, &tid).unwrap(), a);
    }

    #[test]
    fn every_typed_attribute_round_trips() {
        let v4: SocketAddr = "192.0.2.1:32853".parse().unwrap();
        let v6: SocketAddr = "[2001:db8::1]:9".parse().unwrap();
        let hash = [7u8; 32];
        let mi = [3u8; 20];
        let algs = encode_password_algorithms(&[
            PasswordAlgorithm {
                algorithm: 2,
                params: &[],
            },
            PasswordAlgorithm {
                algorithm: 1,
                params: &[1, 2, 3],
            },
        ])
        .unwrap();
        for a in [
            Attribute::MappedAddress(v4),
            Attribute::MappedAddress(v6),
            Attribute::XorMappedAddress(v4),
            Attribute::XorMappedAddress(v6),
            Attribute::XorPeerAddress(v6),
            Attribute::XorRelayedAddress(v4),
            Attribute::AlternateServer(v4),
            Attribute::Username("user:frag"),
            Attribute::UserHash(&hash),
            Attribute::Realm("example.org"),
            Attribute::Nonce("abc"),
            Attribute::Software("tern"),
            Attribute::AlternateDomain("turn.example.org"),
            Attribute::MessageIntegrity(&mi),
            Attribute::MessageIntegritySha256(&hash[..16]),
            Attribute::Fingerprint(0xdeadbeef),
            Attribute::ErrorCode {
                code: 487,
                reason: "Role Conflict",
            },
            Attribute::UnknownAttributes(UnknownAttributes(&[0, 1, 0x7f, 0xff])),
            Attribute::PasswordAlgorithms(&algs),
            Attribute::PasswordAlgorithm(PasswordAlgorithm {
                algorithm: 2,
                params: &[],
            }),
            Attribute::Priority(0x6e0001ff),
            Attribute::UseCandidate,
            Attribute::IceControlled(0x932ff9b151263b36),
            Attribute::IceControlling(1),
            Attribute::ChannelNumber(0x4000),
            Attribute::Lifetime(600),
            Attribute::Data(b"payload"),
            Attribute::RequestedAddressFamily(AddressFamily::V6),
            Attribute::AdditionalAddressFamily(AddressFamily::V6),
            Attribute::EvenPort(true),
            Attribute::EvenPort(false),
            Attribute::RequestedTransport(17),
            Attribute::DontFragment,
            Attribute::ReservationToken([1, 2, 3, 4, 5, 6, 7, 8]),
            Attribute::AddressErrorCode {
                family: AddressFamily::V4,
                code: 440,
                reason: "nope",
            },
            Attribute::Icmp {
                icmp_type: 3,
                code: 4,
                data: 1400,
            },
            Attribute::ConnectionId(77),
            Attribute::Unknown {
                attr_type: 0xC057,
                value: &[0, 1],
            },
        ] {
            roundtrip(a);
        }
        let list: Vec<_> = Attribute::PasswordAlgorithms(&algs)
            .password_algorithms()
            .collect();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].params, &[1, 2, 3]);
    }

    #[test]
    fn malformed_values_are_errors() {
        let tid = TransactionId([0; 12]);
        use attr_type as at;
        for (t, v) in [
            (at::XOR_MAPPED_ADDRESS, &[0u8, 1, 0, 0][..]),
            (at::XOR_MAPPED_ADDRESS, &[0, 3, 0, 0, 1, 2, 3, 4][..]),
            (at::MAPPED_ADDRESS, &[0, 2, 0, 0, 1, 2, 3, 4][..]),
            (at::USERNAME, &[0xff, 0xfe][..]),
            (at::ERROR_CODE, &[0, 0, 2, 0][..]),
            (at::ERROR_CODE, &[0, 0, 4, 100][..]),
            (at::ERROR_CODE, &[0, 0][..]),
            (at::MESSAGE_INTEGRITY, &[0; 19][..]),
            (at::MESSAGE_INTEGRITY_SHA256, &[0; 15][..]),
            (at::MESSAGE_INTEGRITY_SHA256, &[0; 18][..]),
            (at::PRIORITY, &[0; 3][..]),
            (at::USE_CANDIDATE, &[0][..]),
            (at::UNKNOWN_ATTRIBUTES, &[0; 3][..]),
            (at::PASSWORD_ALGORITHMS, &[0, 1, 0, 9, 0][..]),
            (at::REQUESTED_ADDRESS_FAMILY, &[3, 0, 0, 0][..]),
            (at::ICMP, &[0; 7][..]),
        ] {
            assert!(
                Attribute::decode(t, v, &tid).is_err(),
                "type {t:#x} value {v:?}"
            );
        }
        let long = "x".repeat(513);
        let mut out = Vec::new();
        assert!(Attribute::Username(&long)
            .encode_value(&mut out, &tid)
            .is_err());
    }

    #[test]
    fn comprehension_ranges() {
        assert!(attr_type::is_comprehension_required(attr_type::USERNAME));
        assert!(!attr_type::is_comprehension_required(attr_type::SOFTWARE));
        assert!(attr_type::is_known(attr_type::ICE_CONTROLLING));
        assert!(!attr_type::is_known(0x7777));
    }
}
