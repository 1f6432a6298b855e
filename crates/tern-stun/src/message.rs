//! The zero-copy message view (RFC 8489 §5, §14).

use std::net::SocketAddr;

use crate::attribute::{attr_type, Attribute};
use crate::credentials::IntegrityKey;
use crate::types::{Class, MessageType, Method, TransactionId, MAGIC_COOKIE};
use crate::{StunError, HEADER_LEN};

// Header field offsets (RFC 8489 §5, figure 2).
const TYPE: usize = 0;
const LENGTH: usize = 2;
const COOKIE: usize = 4;
const TID: usize = 8;
/// The FINGERPRINT XOR constant, "STUN" in ASCII (RFC 8489 §14.7).
pub(crate) const FINGERPRINT_XOR: u32 = 0x5354_554e;

/// Which integrity attributes a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Integrity {
    /// MESSAGE-INTEGRITY (HMAC-SHA1).
    Sha1,
    /// MESSAGE-INTEGRITY-SHA256.
    Sha256,
}

/// A cheap test of whether a datagram is a STUN message: the first-byte range
/// of RFC 7983, the magic cookie and a consistent length. It does not look at
/// attributes.
pub fn is_stun(buf: &[u8]) -> bool {
    buf.len() >= HEADER_LEN
        && buf[0] & 0xc0 == 0
        && u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]) == MAGIC_COOKIE
        && HEADER_LEN + usize::from(u16::from_be_bytes([buf[2], buf[3]])) == buf.len()
}

/// A parsed STUN message borrowing its datagram.
///
/// [`Message::parse`] checks the header and every attribute's framing once;
/// lookups afterwards cannot run past the buffer. Attributes after
/// MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are
/// ignored, as RFC 8489 §14.5 requires, and only the first occurrence of a
/// repeated attribute is returned.
#[derive(Clone, Copy)]
pub struct Message<'a> {
    buf: &'a [u8],
    typ: MessageType,
    tid: TransactionId,
    lookup_end: usize,
    mi: Option<usize>,
    mi256: Option<usize>,
    fp: Option<usize>,
}

impl std::fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut l = f.debug_list();
        for a in self.attributes() {
            l.entry(&format_args!(
                "0x{:04x}({} bytes)",
                a.attr_type,
                a.value.len()
            ));
        }
        l.finish()?;
        write!(f, " {:?} {:?}", self.typ, self.tid)
    }
}

impl<'a> Message<'a> {
    /// Parses one message that fills `buf` exactly (a UDP datagram, or a TCP
    /// frame the caller has cut). Allocates nothing.
    pub fn parse(buf: &'a [u8]) -> Result<Self, StunError> {
        if buf.len() < HEADER_LEN {
            return Err(StunError::Truncated);
        }
        if buf[TYPE] & 0xc0 != 0
            || u32::from_be_bytes([
                buf[COOKIE],
                buf[COOKIE + 1],
                buf[COOKIE + 2],
                buf[COOKIE + 3],
            ]) != MAGIC_COOKIE
        {
            return Err(StunError::NotStun);
        }
        let len = usize::from(u16::from_be_bytes([buf[LENGTH], buf[LENGTH + 1]]));
        if len % 4 != 0 {
            return Err(StunError::NotStun);
        }
        let actual = buf.len() - HEADER_LEN;
        if len > actual {
            return Err(StunError::Truncated);
        }
        if len != actual {
            return Err(StunError::LengthMismatch {
                header: len,
                actual,
            });
        }
        let typ = MessageType::from_u16(u16::from_be_bytes([buf[TYPE], buf[TYPE + 1]]));
        let mut tid = [0u8; 12];
        tid.copy_from_slice(&buf[TID..HEADER_LEN]);

        let mut m = Message {
            buf,
            typ,
            tid: TransactionId(tid),
            lookup_end: buf.len(),
            mi: None,
            mi256: None,
            fp: None,
        };
        let mut pos = HEADER_LEN;
        while pos < buf.len() {
            if buf.len() - pos < 4 {
                return Err(StunError::Truncated);
            }
            let t = u16::from_be_bytes([buf[pos], buf[pos + 1]]);
            let vlen = usize::from(u16::from_be_bytes([buf[pos + 2], buf[pos + 3]]));
            let padded = (vlen + 3) & !3;
            if buf.len() - pos - 4 < padded {
                return Err(StunError::AttributeOverrun { attr_type: t });
            }
            if m.fp.is_some() {
                return Err(StunError::AttributeAfterFingerprint);
            }
            let bad = StunError::BadAttribute { attr_type: t };
            match t {
                attr_type::MESSAGE_INTEGRITY if m.mi.is_none() && m.mi256.is_none() => {
                    if vlen != 20 {
                        return Err(bad);
                    }
                    m.mi = Some(pos);
                    m.lookup_end = m.lookup_end.min(pos);
                }
                attr_type::MESSAGE_INTEGRITY_SHA256 if m.mi256.is_none() => {
                    if !(16..=32).contains(&vlen) || vlen % 4 != 0 {
                        return Err(bad);
                    }
                    m.mi256 = Some(pos);
                    m.lookup_end = m.lookup_end.min(pos);
                }
                attr_type::FINGERPRINT => {
                    if vlen != 4 {
                        return Err(bad);
                    }
                    m.fp = Some(pos);
                    m.lookup_end = m.lookup_end.min(pos);
                }
                _ => {}
            }
            pos += 4 + padded;
        }
        Ok(m)
    }

    /// The whole message as received.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }
    /// Class and method.
    pub fn message_type(&self) -> MessageType {
        self.typ
    }
    /// The class.
    pub fn class(&self) -> Class {
        self.typ.class
    }
    /// The method.
    pub fn method(&self) -> Method {
        self.typ.method
    }
    /// The transaction id.
    pub fn transaction_id(&self) -> TransactionId {
        self.tid
    }

    /// The attributes that count (those before MESSAGE-INTEGRITY, -SHA256 and
    /// FINGERPRINT), in order.
    pub fn attributes(&self) -> RawAttributes<'a> {
        RawAttributes {
            buf: &self.buf[..self.lookup_end],
            pos: HEADER_LEN,
        }
    }

    /// The value of the first attribute of type `t`, undecoded.
    pub fn raw(&self, t: u16) -> Option<&'a [u8]> {
        self.attributes()
            .find(|a| a.attr_type == t)
            .map(|a| a.value)
    }

    /// The first attribute of type `t`, decoded; `None` if absent.
    pub fn get(&self, t: u16) -> Option<Result<Attribute<'a>, StunError>> {
        let v = self.raw(t)?;
        Some(Attribute::decode(t, v, &self.tid))
    }

    /// Comprehension-required attribute types (0x0000–0x7FFF) this crate does
    /// not know: a server answers a request carrying any with 420 and
    /// UNKNOWN-ATTRIBUTES; a client treats such a response as failed
    /// (RFC 8489 §6.3.1, §6.3.4).
    pub fn unknown_comprehension_required(&self) -> impl Iterator<Item = u16> + 'a {
        self.attributes()
            .map(|a| a.attr_type)
            .filter(|t| attr_type::is_comprehension_required(*t) && !attr_type::is_known(*t))
    }

    /// USERNAME, if present and valid.
    pub fn username(&self) -> Option<&'a str> {
        match self.get(attr_type::USERNAME)? {
            Ok(Attribute::Username(u)) => Some(u),
            _ => None,
        }
    }
    /// PRIORITY, if present and valid.
    pub fn priority(&self) -> Option<u32> {
        match self.get(attr_type::PRIORITY)? {
            Ok(Attribute::Priority(p)) => Some(p),
            _ => None,
        }
    }
    /// Whether USE-CANDIDATE is present.
    pub fn use_candidate(&self) -> bool {
        self.raw(attr_type::USE_CANDIDATE).is_some()
    }
    /// The ICE-CONTROLLING tie-breaker, if present.
    pub fn ice_controlling(&self) -> Option<u64> {
        match self.get(attr_type::ICE_CONTROLLING)? {
            Ok(Attribute::IceControlling(v)) => Some(v),
            _ => None,
        }
    }
    /// The ICE-CONTROLLED tie-breaker, if present.
    pub fn ice_controlled(&self) -> Option<u64> {
        match self.get(attr_type::ICE_CONTROLLED)? {
            Ok(Attribute::IceControlled(v)) => Some(v),
            _ => None,
        }
    }
    /// The reflexive address: XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS from an
    /// old server that only sends that.
    pub fn mapped_address(&self) -> Option<SocketAddr> {
        if let Some(Ok(Attribute::XorMappedAddress(a))) = self.get(attr_type::XOR_MAPPED_ADDRESS) {
            return Some(a);
        }
        match self.get(attr_type::MAPPED_ADDRESS)? {
            Ok(Attribute::MappedAddress(a)) => Some(a),
            _ => None,
        }
    }
    /// ERROR-CODE as (code, reason), if present and valid.
    pub fn error_code(&self) -> Option<(u16, &'a str)> {
        match self.get(attr_type::ERROR_CODE)? {
            Ok(Attribute::ErrorCode { code, reason }) => Some((code, reason)),
            _ => None,
        }
    }

    /// Which integrity attributes are present (SHA-256 preferred).
    pub fn integrity(&self) -> Option<Integrity> {
        if self.mi256.is_some() {
            Some(Integrity::Sha256)
        } else if self.mi.is_some() {
            Some(Integrity::Sha1)
        } else {
            None
        }
    }

    /// Whether FINGERPRINT is present.
    pub fn has_fingerprint(&self) -> bool {
        self.fp.is_some()
    }

    /// The header with its length field rewritten to end just after the
    /// attribute at `attr_pos` of value length `vlen` (RFC 8489 §14.5–14.7).
    fn header_upto(&self, attr_pos: usize, vlen: usize) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h.copy_from_slice(&self.buf[..HEADER_LEN]);
        let len = (attr_pos + 4 + vlen - HEADER_LEN) as u16;
        h[LENGTH..LENGTH + 2].copy_from_slice(&len.to_be_bytes());
        h
    }

    /// Verifies MESSAGE-INTEGRITY-SHA256 if present, else MESSAGE-INTEGRITY,
    /// with `key`, in constant time. Allocates nothing.
    pub fn verify_integrity(&self, key: &IntegrityKey) -> Result<Integrity, StunError> {
        if let Some(pos) = self.mi256 {
            let vlen = usize::from(u16::from_be_bytes([self.buf[pos + 2], self.buf[pos + 3]]));
            let hdr = self.header_upto(pos, vlen);
            let tag = &self.buf[pos + 4..pos + 4 + vlen];
            return if key
                .sha256()
                .verify(&[&hdr, &self.buf[HEADER_LEN..pos]], tag)
            {
                Ok(Integrity::Sha256)
            } else {
                Err(StunError::IntegrityMismatch)
            };
        }
        if let Some(pos) = self.mi {
            let hdr = self.header_upto(pos, 20);
            let tag = &self.buf[pos + 4..pos + 24];
            return if key.sha1().verify(&[&hdr, &self.buf[HEADER_LEN..pos]], tag) {
                Ok(Integrity::Sha1)
            } else {
                Err(StunError::IntegrityMismatch)
            };
        }
        Err(StunError::NoIntegrity)
    }

    /// Checks FINGERPRINT (RFC 8489 §14.7).
    pub fn verify_fingerprint(&self) -> Result<(), StunError> {
        let pos = self.fp.ok_or(StunError::NoFingerprint)?;
        let hdr = self.header_upto(pos, 4);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&hdr);
        crc.update(&self.buf[HEADER_LEN..pos]);
        let expected = crc.finalize() ^ FINGERPRINT_XOR;
        let got = u32::from_be_bytes([
            self.buf[pos + 4],
            self.buf[pos + 5],
            self.buf[pos + 6],
            self.buf[pos + 7],
        ]);
        if expected == got {
            Ok(())
        } else {
            Err(StunError::FingerprintMismatch)
        }
    }
}

/// One attribute, undecoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawAttribute<'a> {
    /// Its type.
    pub attr_type: u16,
    /// Its value, without padding.
    pub value: &'a [u8],
}

/// Iterator over a message's attributes (framing already validated).
#[derive(Debug, Clone)]
pub struct RawAttributes<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for RawAttributes<'a> {
    type Item = RawAttribute<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        let hdr = self.buf.get(self.pos..self.pos + 4)?;
        let t = u16::from_be_bytes([hdr[0], hdr[1]]);
        let vlen = usize::from(u16::from_be_bytes([hdr[2], hdr[3]]));
        let value = self.buf.get(self.pos + 4..self.pos + 4 + vlen)?;
        self.pos += 4 + ((vlen + 3) & !3);
        Some(RawAttribute {
            attr_type: t,
            value,
        })
    }
}
