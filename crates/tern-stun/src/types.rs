//! Message header types: class, method, transaction id (RFC 8489 §5).

use std::fmt;

/// The fixed magic cookie of RFC 5389 and later (RFC 8489 §5).
pub const MAGIC_COOKIE: u32 = 0x2112_A442;

/// A message class (RFC 8489 §5): the two class bits of the message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Class {
    /// A request, expecting a response.
    Request,
    /// An indication, expecting nothing.
    Indication,
    /// A success response.
    SuccessResponse,
    /// An error response (with ERROR-CODE).
    ErrorResponse,
}

impl Class {
    fn bits(self) -> u16 {
        match self {
            Class::Request => 0b00,
            Class::Indication => 0b01,
            Class::SuccessResponse => 0b10,
            Class::ErrorResponse => 0b11,
        }
    }
    fn from_bits(b: u16) -> Class {
        match b & 0b11 {
            0b00 => Class::Request,
            0b01 => Class::Indication,
            0b10 => Class::SuccessResponse,
            _ => Class::ErrorResponse,
        }
    }
}

/// A 12-bit STUN method.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Method(pub u16);

/// Registered methods (RFC 8489 §18.2, RFC 8656 §17, RFC 6062 §6.1).
pub mod method {
    use super::Method;
    /// Binding.
    pub const BINDING: Method = Method(0x001);
    /// TURN Allocate.
    pub const ALLOCATE: Method = Method(0x003);
    /// TURN Refresh.
    pub const REFRESH: Method = Method(0x004);
    /// TURN Send (indication).
    pub const SEND: Method = Method(0x006);
    /// TURN Data (indication).
    pub const DATA: Method = Method(0x007);
    /// TURN CreatePermission.
    pub const CREATE_PERMISSION: Method = Method(0x008);
    /// TURN ChannelBind.
    pub const CHANNEL_BIND: Method = Method(0x009);
    /// TURN-TCP Connect (RFC 6062).
    pub const CONNECT: Method = Method(0x00a);
    /// TURN-TCP ConnectionBind (RFC 6062).
    pub const CONNECTION_BIND: Method = Method(0x00b);
    /// TURN-TCP ConnectionAttempt (RFC 6062).
    pub const CONNECTION_ATTEMPT: Method = Method(0x00c);
}

impl fmt::Debug for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            method::BINDING => "Binding",
            method::ALLOCATE => "Allocate",
            method::REFRESH => "Refresh",
            method::SEND => "Send",
            method::DATA => "Data",
            method::CREATE_PERMISSION => "CreatePermission",
            method::CHANNEL_BIND => "ChannelBind",
            method::CONNECT => "Connect",
            method::CONNECTION_BIND => "ConnectionBind",
            method::CONNECTION_ATTEMPT => "ConnectionAttempt",
            _ => return write!(f, "Method(0x{:03x})", self.0),
        };
        f.write_str(name)
    }
}

/// Class and method together: the 14-bit message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageType {
    /// The class.
    pub class: Class,
    /// The method.
    pub method: Method,
}

impl MessageType {
    /// A message type from its parts.
    pub const fn new(class: Class, method: Method) -> Self {
        MessageType { class, method }
    }

    /// The wire encoding: method bits M11..M0 interleaved with class bits C1 C0
    /// as `M11..M7 C1 M6..M4 C0 M3..M0` (RFC 8489 §5, figure 3).
    pub fn to_u16(self) -> u16 {
        let m = self.method.0 & 0x0fff;
        let c = self.class.bits();
        (m & 0x000f)
            | ((c & 0b01) << 4)
            | ((m & 0x0070) << 1)
            | ((c & 0b10) << 7)
            | ((m & 0x0f80) << 2)
    }

    /// Decodes the 14-bit type (the top two bits must already be known zero).
    pub fn from_u16(t: u16) -> Self {
        let m = (t & 0x000f) | ((t >> 1) & 0x0070) | ((t >> 2) & 0x0f80);
        let c = ((t >> 4) & 0b01) | ((t >> 7) & 0b10);
        MessageType {
            class: Class::from_bits(c),
            method: Method(m),
        }
    }
}

/// The 96-bit transaction id (RFC 8489 §5).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(pub [u8; 12]);

impl TransactionId {
    /// A fresh random id from `rng` (RFC 8489 §5: uniformly random).
    pub fn random(rng: &mut dyn tern_crypto::Random) -> Self {
        let mut b = [0u8; 12];
        rng.fill(&mut b);
        TransactionId(b)
    }
}

impl fmt::Debug for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tid(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// ERROR-CODE values used by STUN, TURN and ICE.
pub mod error_code {
    /// 300 Try Alternate.
    pub const TRY_ALTERNATE: u16 = 300;
    /// 400 Bad Request.
    pub const BAD_REQUEST: u16 = 400;
    /// 401 Unauthenticated.
    pub const UNAUTHENTICATED: u16 = 401;
    /// 403 Forbidden.
    pub const FORBIDDEN: u16 = 403;
    /// 420 Unknown Attribute.
    pub const UNKNOWN_ATTRIBUTE: u16 = 420;
    /// 437 Allocation Mismatch (TURN).
    pub const ALLOCATION_MISMATCH: u16 = 437;
    /// 438 Stale Nonce.
    pub const STALE_NONCE: u16 = 438;
    /// 440 Address Family not Supported (TURN).
    pub const ADDRESS_FAMILY_NOT_SUPPORTED: u16 = 440;
    /// 441 Wrong Credentials (TURN).
    pub const WRONG_CREDENTIALS: u16 = 441;
    /// 442 Unsupported Transport Protocol (TURN).
    pub const UNSUPPORTED_TRANSPORT_PROTOCOL: u16 = 442;
    /// 443 Peer Address Family Mismatch (TURN).
    pub const PEER_ADDRESS_FAMILY_MISMATCH: u16 = 443;
    /// 486 Allocation Quota Reached (TURN).
    pub const ALLOCATION_QUOTA_REACHED: u16 = 486;
    /// 487 Role Conflict (ICE, RFC 8445 §7.3.1.1).
    pub const ROLE_CONFLICT: u16 = 487;
    /// 500 Server Error.
    pub const SERVER_ERROR: u16 = 500;
    /// 508 Insufficient Capacity (TURN).
    pub const INSUFFICIENT_CAPACITY: u16 = 508;

    /// The RFC's reason phrase for a code, or "" for an unknown one.
    pub fn reason(code: u16) -> &'static str {
        match code {
            TRY_ALTERNATE => "Try Alternate",
            BAD_REQUEST => "Bad Request",
            UNAUTHENTICATED => "Unauthenticated",
            FORBIDDEN => "Forbidden",
            UNKNOWN_ATTRIBUTE => "Unknown Attribute",
            ALLOCATION_MISMATCH => "Allocation Mismatch",
            STALE_NONCE => "Stale Nonce",
            ADDRESS_FAMILY_NOT_SUPPORTED => "Address Family not Supported",
            WRONG_CREDENTIALS => "Wrong Credentials",
            UNSUPPORTED_TRANSPORT_PROTOCOL => "Unsupported Transport Protocol",
            PEER_ADDRESS_FAMILY_MISMATCH => "Peer Address Family Mismatch",
            ALLOCATION_QUOTA_REACHED => "Allocation Quota Reached",
            ROLE_CONFLICT => "Role Conflict",
            SERVER_ERROR => "Server Error",
            INSUFFICIENT_CAPACITY => "Insufficient Capacity",
            _ => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_type_encoding_matches_rfc_examples() {
        // RFC 8489 §5: Binding request 0x0001, success 0x0101, error 0x0111, indication 0x0011.
        let cases = [
            (Class::Request, 0x0001),
            (Class::SuccessResponse, 0x0101),
            (Class::ErrorResponse, 0x0111),
            (Class::Indication, 0x0011),
        ];
        for (class, wire) in cases {
            let t = MessageType::new(class, method::BINDING);
            assert_eq!(t.to_u16(), wire);
            assert_eq!(MessageType::from_u16(wire), t);
        }
        // TURN: Allocate request 0x0003, Data indication 0x0017, ChannelBind success 0x0109.
        assert_eq!(
            MessageType::new(Class::Request, method::ALLOCATE).to_u16(),
            0x0003
        );
        assert_eq!(
            MessageType::new(Class::Indication, method::DATA).to_u16(),
            0x0017
        );
        assert_eq!(
            MessageType::new(Class::SuccessResponse, method::CHANNEL_BIND).to_u16(),
            0x0109
        );
    }

    #[test]
    fn every_type_round_trips() {
        for t in 0u16..0x4000 {
            assert_eq!(MessageType::from_u16(t).to_u16(), t);
        }
    }
}
