//! The Data Channel Establishment Protocol (RFC 8832): DATA_CHANNEL_OPEN and
//! DATA_CHANNEL_ACK, and the payload protocol identifiers of RFC 8831 §8.

use std::time::Duration;

/// PPIDs (RFC 8831 §8, RFC 8832 §8.1).
pub mod ppid {
    /// DCEP control messages.
    pub const DCEP: u32 = 50;
    /// UTF-8 text.
    pub const STRING: u32 = 51;
    /// Deprecated partial binary.
    pub const BINARY_PARTIAL: u32 = 52;
    /// Binary.
    pub const BINARY: u32 = 53;
    /// Deprecated partial text.
    pub const STRING_PARTIAL: u32 = 54;
    /// An empty text message (sent as one byte).
    pub const STRING_EMPTY: u32 = 56;
    /// An empty binary message (sent as one byte).
    pub const BINARY_EMPTY: u32 = 57;
}

const OPEN: u8 = 0x03;
const ACK: u8 = 0x02;

/// How a channel retransmits (RFC 8832 §5.1 channel types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelReliability {
    /// Fully reliable.
    Reliable,
    /// At most this many retransmissions (PARTIAL_RELIABLE_REXMIT).
    MaxRetransmits(u32),
    /// Retransmit for at most this long (PARTIAL_RELIABLE_TIMED).
    MaxPacketLifeTime(Duration),
}

/// DATA_CHANNEL_OPEN (RFC 8832 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenMessage {
    /// Ordered delivery.
    pub ordered: bool,
    /// Retransmission policy.
    pub reliability: ChannelReliability,
    /// Priority (RFC 8831 §6.4 values: 128, 256, 512, 1024).
    pub priority: u16,
    /// Label.
    pub label: String,
    /// Subprotocol.
    pub protocol: String,
}

/// A DCEP message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DcepMessage {
    /// DATA_CHANNEL_OPEN.
    Open(OpenMessage),
    /// DATA_CHANNEL_ACK.
    Ack,
}

/// Why a DCEP message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DcepError(pub &'static str);

impl std::fmt::Display for DcepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed DCEP message: {}", self.0)
    }
}
impl std::error::Error for DcepError {}

impl DcepMessage {
    /// Parses a message carried with PPID 50.
    pub fn parse(b: &[u8]) -> Result<DcepMessage, DcepError> {
        match b.first() {
            Some(&ACK) => Ok(DcepMessage::Ack),
            Some(&OPEN) => {
                if b.len() < 12 {
                    return Err(DcepError("DATA_CHANNEL_OPEN too short"));
                }
                let channel_type = b[1];
                let priority = u16::from_be_bytes([b[2], b[3]]);
                let param = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
                let label_len = usize::from(u16::from_be_bytes([b[8], b[9]]));
                let protocol_len = usize::from(u16::from_be_bytes([b[10], b[11]]));
                if b.len() != 12 + label_len + protocol_len {
                    return Err(DcepError("DATA_CHANNEL_OPEN lengths"));
                }
                let label = std::str::from_utf8(&b[12..12 + label_len])
                    .map_err(|_| DcepError("label is not UTF-8"))?;
                let protocol = std::str::from_utf8(&b[12 + label_len..])
                    .map_err(|_| DcepError("protocol is not UTF-8"))?;
                let reliability = match channel_type & 0x7f {
                    0x00 => ChannelReliability::Reliable,
                    0x01 => ChannelReliability::MaxRetransmits(param),
                    0x02 => ChannelReliability::MaxPacketLifeTime(Duration::from_millis(
                        u64::from(param),
                    )),
                    _ => return Err(DcepError("unknown channel type")),
                };
                Ok(DcepMessage::Open(OpenMessage {
                    ordered: channel_type & 0x80 == 0,
                    reliability,
                    priority,
                    label: label.to_owned(),
                    protocol: protocol.to_owned(),
                }))
            }
            Some(_) => Err(DcepError("unknown message type")),
            None => Err(DcepError("empty")),
        }
    }

    /// Encodes the message. Label and protocol are cut at 65,535 bytes
    /// (callers refuse longer ones first).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            DcepMessage::Ack => vec![ACK],
            DcepMessage::Open(o) => {
                let (kind, param) = match o.reliability {
                    ChannelReliability::Reliable => (0x00, 0),
                    ChannelReliability::MaxRetransmits(n) => (0x01, n),
                    ChannelReliability::MaxPacketLifeTime(d) => {
                        (0x02, d.as_millis().min(u128::from(u32::MAX)) as u32)
                    }
                };
                let channel_type = kind | if o.ordered { 0 } else { 0x80 };
                let label = &o.label.as_bytes()[..o.label.len().min(65535)];
                let protocol = &o.protocol.as_bytes()[..o.protocol.len().min(65535)];
                let mut b = Vec::with_capacity(12 + label.len() + protocol.len());
                b.push(OPEN);
                b.push(channel_type);
                b.extend_from_slice(&o.priority.to_be_bytes());
                b.extend_from_slice(&param.to_be_bytes());
                b.extend_from_slice(&(label.len() as u16).to_be_bytes());
                b.extend_from_slice(&(protocol.len() as u16).to_be_bytes());
                b.extend_from_slice(label);
                b.extend_from_slice(protocol);
                b
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_matches_rfc_8832_layout_and_round_trips() {
        let o = DcepMessage::Open(OpenMessage {
            ordered: false,
            reliability: ChannelReliability::MaxRetransmits(3),
            priority: 256,
            label: "chat".into(),
            protocol: "x".into(),
        });
        let b = o.encode();
        // Type 0x03, channel type PARTIAL_RELIABLE_REXMIT_UNORDERED (0x81),
        // priority, reliability parameter, label and protocol lengths.
        assert_eq!(
            b,
            [3, 0x81, 1, 0, 0, 0, 0, 3, 0, 4, 0, 1, b'c', b'h', b'a', b't', b'x']
        );
        assert_eq!(DcepMessage::parse(&b).unwrap(), o);
        let timed = DcepMessage::Open(OpenMessage {
            ordered: true,
            reliability: ChannelReliability::MaxPacketLifeTime(Duration::from_millis(1500)),
            priority: 1024,
            label: String::new(),
            protocol: String::new(),
        });
        assert_eq!(timed.encode()[1], 0x02);
        assert_eq!(DcepMessage::parse(&timed.encode()).unwrap(), timed);
        assert_eq!(DcepMessage::parse(&[2]).unwrap(), DcepMessage::Ack);
    }

    #[test]
    fn malformed_messages_are_errors() {
        assert!(DcepMessage::parse(&[]).is_err());
        assert!(DcepMessage::parse(&[9]).is_err());
        assert!(DcepMessage::parse(&[3, 0, 0, 0]).is_err());
        // Label length past the end.
        assert!(DcepMessage::parse(&[3, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, b'a']).is_err());
        // Label not UTF-8.
        assert!(DcepMessage::parse(&[3, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff]).is_err());
        // Unknown channel type.
        assert!(DcepMessage::parse(&[3, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }
}
