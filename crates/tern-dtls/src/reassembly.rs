//! Handshake message reassembly (RFC 6347 §4.2.3): fragments may arrive
//! out of order, overlap, or repeat. Memory is bounded: only a few message
//! sequence numbers ahead are buffered, each up to a maximum size.

use std::collections::BTreeMap;

use crate::codec::HandshakeHeader;
use crate::DtlsError;

struct Partial {
    msg_type: u8,
    body: Vec<u8>,
    /// Received byte ranges, merged.
    have: Vec<(usize, usize)>,
}

impl Partial {
    fn complete(&self) -> bool {
        self.have.len() == 1 && self.have[0] == (0, self.body.len())
    }
    fn add(&mut self, off: usize, data: &[u8]) {
        self.body[off..off + data.len()].copy_from_slice(data);
        self.have.push((off, off + data.len()));
        self.have.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(self.have.len());
        for (s, e) in self.have.drain(..) {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.have = merged;
    }
}

/// A complete handshake message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Type.
    pub msg_type: u8,
    /// message_seq.
    pub message_seq: u16,
    /// Body.
    pub body: Vec<u8>,
}

/// Buffers fragments and hands out complete messages in sequence order.
pub struct Reassembler {
    next_seq: u16,
    partial: BTreeMap<u16, Partial>,
    max_message: usize,
    window: u16,
}

impl Reassembler {
    /// Expects `first_seq` next; refuses messages larger than `max_message`.
    pub fn new(first_seq: u16, max_message: usize) -> Self {
        Reassembler {
            next_seq: first_seq,
            partial: BTreeMap::new(),
            max_message,
            window: 8,
        }
    }

    /// The next message_seq expected.
    pub fn next_seq(&self) -> u16 {
        self.next_seq
    }

    /// Adds a fragment. Returns `Ok(true)` if it belongs to a message
    /// already delivered (a retransmission by the peer).
    pub fn add(&mut self, h: &HandshakeHeader, fragment: &[u8]) -> Result<bool, DtlsError> {
        if h.message_seq < self.next_seq {
            return Ok(true);
        }
        if h.message_seq >= self.next_seq.saturating_add(self.window) {
            return Ok(false); // too far ahead: drop, the peer will retransmit
        }
        let len = h.length as usize;
        if len > self.max_message {
            return Err(DtlsError::Decode("handshake message too large"));
        }
        if fragment.len() != h.fragment_length as usize {
            return Err(DtlsError::Decode("fragment length"));
        }
        let p = self
            .partial
            .entry(h.message_seq)
            .or_insert_with(|| Partial {
                msg_type: h.msg_type,
                body: vec![0; len],
                have: Vec::new(),
            });
        if p.msg_type != h.msg_type || p.body.len() != len {
            return Err(DtlsError::Decode("fragments disagree on type or length"));
        }
        p.add(h.fragment_offset as usize, fragment);
        Ok(false)
    }

    /// The next complete message, in order.
    pub fn pop(&mut self) -> Option<Message> {
        let p = self.partial.get(&self.next_seq)?;
        if !p.complete() && !p.body.is_empty() {
            return None;
        }
        let p = self.partial.remove(&self.next_seq)?;
        let m = Message {
            msg_type: p.msg_type,
            message_seq: self.next_seq,
            body: p.body,
        };
        self.next_seq = self.next_seq.wrapping_add(1);
        Some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(seq: u16, len: u32, off: u32, flen: u32) -> HandshakeHeader {
        HandshakeHeader {
            msg_type: 11,
            length: len,
            message_seq: seq,
            fragment_offset: off,
            fragment_length: flen,
        }
    }

    #[test]
    fn out_of_order_overlapping_fragments_reassemble() {
        let body: Vec<u8> = (0..100u8).collect();
        let mut r = Reassembler::new(0, 1000);
        r.add(&hdr(0, 100, 60, 40), &body[60..]).unwrap();
        assert!(r.pop().is_none());
        r.add(&hdr(0, 100, 0, 30), &body[..30]).unwrap();
        r.add(&hdr(0, 100, 20, 50), &body[20..70]).unwrap();
        let m = r.pop().unwrap();
        assert_eq!(m.body, body);
        assert!(
            r.add(&hdr(0, 100, 0, 30), &body[..30]).unwrap(),
            "a retransmission is recognised"
        );
    }

    #[test]
    fn bounds_are_enforced() {
        let mut r = Reassembler::new(0, 50);
        assert!(r.add(&hdr(0, 100, 0, 10), &[0; 10]).is_err());
        assert!(r.add(&hdr(0, 10, 0, 5), &[0; 4]).is_err());
        assert!(!r.add(&hdr(500, 10, 0, 10), &[0; 10]).unwrap());
        assert!(r.partial.is_empty(), "far-future messages are not buffered");
        r.add(&hdr(0, 10, 0, 5), &[0; 5]).unwrap();
        assert!(r.add(&hdr(0, 12, 0, 5), &[0; 5]).is_err());
    }
}
