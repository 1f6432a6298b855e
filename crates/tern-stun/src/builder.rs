//! Writing messages into a reusable buffer.

use crate::attribute::{attr_type, Attribute};
use crate::credentials::IntegrityKey;
use crate::message::FINGERPRINT_XOR;
use crate::types::{MessageType, TransactionId, MAGIC_COOKIE};
use crate::{StunError, HEADER_LEN};

/// Writes one message into a caller-owned `Vec<u8>` (cleared first, so one
/// buffer can serve every message). The header length is kept current after
/// each attribute, which is what the integrity and fingerprint computations
/// need. Order: attributes, then optionally MESSAGE-INTEGRITY,
/// MESSAGE-INTEGRITY-SHA256, then optionally FINGERPRINT.
#[derive(Debug)]
pub struct MessageBuilder<'b> {
    buf: &'b mut Vec<u8>,
    tid: TransactionId,
}

impl<'b> MessageBuilder<'b> {
    /// Starts a message of type `typ` with transaction `tid` in `buf`.
    pub fn new(buf: &'b mut Vec<u8>, typ: MessageType, tid: TransactionId) -> Self {
        buf.clear();
        buf.extend_from_slice(&typ.to_u16().to_be_bytes());
        buf.extend_from_slice(&[0, 0]);
        buf.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        buf.extend_from_slice(&tid.0);
        MessageBuilder { buf, tid }
    }

    fn set_length(&mut self) -> Result<(), StunError> {
        let len = u16::try_from(self.buf.len() - HEADER_LEN)
            .map_err(|_| StunError::ValueTooLong { attr_type: 0 })?;
        self.buf[2..4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }

    /// Appends `attr` with its header and zero padding. On error (a value over
    /// the RFC's limit, or a message over 64 KiB) the message is unchanged.
    pub fn add(&mut self, attr: &Attribute<'_>) -> Result<(), StunError> {
        let start = self.buf.len();
        self.buf.extend_from_slice(&attr.attr_type().to_be_bytes());
        self.buf.extend_from_slice(&[0, 0]);
        let result = attr.encode_value(self.buf, &self.tid).and_then(|()| {
            let vlen =
                u16::try_from(self.buf.len() - start - 4).map_err(|_| StunError::ValueTooLong {
                    attr_type: attr.attr_type(),
                })?;
            self.buf[start + 2..start + 4].copy_from_slice(&vlen.to_be_bytes());
            while self.buf.len() % 4 != 0 {
                self.buf.push(0);
            }
            self.set_length()
        });
        if result.is_err() {
            self.buf.truncate(start);
            // The length field still describes the message before this attribute.
            let _ = self.set_length();
        }
        result
    }

    /// Appends MESSAGE-INTEGRITY (HMAC-SHA1 over everything so far, RFC 8489 §14.5).
    pub fn add_message_integrity(&mut self, key: &IntegrityKey) -> Result<(), StunError> {
        let start = self.buf.len();
        self.buf
            .extend_from_slice(&attr_type::MESSAGE_INTEGRITY.to_be_bytes());
        self.buf.extend_from_slice(&20u16.to_be_bytes());
        self.buf.extend_from_slice(&[0; 20]);
        self.set_length()?;
        let tag = key.sha1().sign(&[&self.buf[..start]]);
        self.buf[start + 4..start + 24].copy_from_slice(&tag);
        Ok(())
    }

    /// Appends MESSAGE-INTEGRITY-SHA256 with the full 32-byte tag (RFC 8489 §14.6).
    pub fn add_message_integrity_sha256(&mut self, key: &IntegrityKey) -> Result<(), StunError> {
        let start = self.buf.len();
        self.buf
            .extend_from_slice(&attr_type::MESSAGE_INTEGRITY_SHA256.to_be_bytes());
        self.buf.extend_from_slice(&32u16.to_be_bytes());
        self.buf.extend_from_slice(&[0; 32]);
        self.set_length()?;
        let tag = key.sha256().sign(&[&self.buf[..start]]);
        self.buf[start + 4..start + 36].copy_from_slice(&tag);
        Ok(())
    }

    /// Appends FINGERPRINT (CRC-32 of everything so far XOR 0x5354554e, RFC 8489 §14.7).
    pub fn add_fingerprint(&mut self) -> Result<(), StunError> {
        let start = self.buf.len();
        self.buf
            .extend_from_slice(&attr_type::FINGERPRINT.to_be_bytes());
        self.buf.extend_from_slice(&4u16.to_be_bytes());
        self.buf.extend_from_slice(&[0; 4]);
        self.set_length()?;
        let crc = crc32fast::hash(&self.buf[..start]) ^ FINGERPRINT_XOR;
        self.buf[start + 4..start + 8].copy_from_slice(&crc.to_be_bytes());
        Ok(())
    }

    /// The finished message.
    pub fn finish(self) -> &'b [u8] {
        self.buf
    }
}
