//! A sans-IO STUN Binding server (RFC 8489 §6.3): answers Binding requests
//! with XOR-MAPPED-ADDRESS, refuses what it must, and drops the rest.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use crate::attribute::{Attribute, UnknownAttributes};
use crate::builder::MessageBuilder;
use crate::message::Message;
use crate::types::{error_code, method, Class, MessageType};

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub destination: SocketAddr,
    /// From which local address, when the caller has several.
    pub source: Option<SocketAddr>,
    /// The bytes.
    pub contents: Vec<u8>,
}

/// Counters a Binding server keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BindingServerStats {
    /// Binding requests answered with success.
    pub success_responses: u64,
    /// Requests answered with an error (400, 420).
    pub error_responses: u64,
    /// Datagrams that were not STUN, were malformed, or failed FINGERPRINT.
    pub malformed_dropped: u64,
    /// Well-formed STUN that needs no answer (indications, responses).
    pub ignored: u64,
    /// Answers dropped because the transmit queue was full.
    pub queue_full_dropped: u64,
}

/// The Binding server.
#[derive(Debug)]
pub struct BindingServer {
    software: Option<String>,
    queue: VecDeque<Transmit>,
    max_queue: usize,
    stats: BindingServerStats,
}

impl BindingServer {
    /// A server that names itself in SOFTWARE if `software` is given. At most
    /// `max_queue` answers wait for [`poll_transmit`](Self::poll_transmit);
    /// beyond that, requests are dropped and counted (a flood cannot grow memory).
    pub fn new(software: Option<&str>, max_queue: usize) -> Self {
        BindingServer {
            software: software.map(str::to_owned),
            queue: VecDeque::new(),
            max_queue: max_queue.max(1),
            stats: BindingServerStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> BindingServerStats {
        self.stats
    }

    /// Handles one datagram received on local address `local` from `from`.
    /// Returns false if it was not STUN at all (the caller may demultiplex it
    /// elsewhere).
    pub fn handle_receive(
        &mut self,
        _now: Instant,
        from: SocketAddr,
        local: SocketAddr,
        data: &[u8],
    ) -> bool {
        let msg = match Message::parse(data) {
            Ok(m) => m,
            Err(_) => {
                self.stats.malformed_dropped += 1;
                return false;
            }
        };
        if msg.has_fingerprint() && msg.verify_fingerprint().is_err() {
            self.stats.malformed_dropped += 1;
            return true;
        }
        if msg.class() != Class::Request {
            self.stats.ignored += 1;
            return true;
        }
        if self.queue.len() >= self.max_queue {
            self.stats.queue_full_dropped += 1;
            return true;
        }
        let tid = msg.transaction_id();
        let mut out = Vec::with_capacity(64);
        let unknown: Vec<u8> = msg
            .unknown_comprehension_required()
            .flat_map(u16::to_be_bytes)
            .collect();
        let mut b;
        if !unknown.is_empty() {
            b = MessageBuilder::new(
                &mut out,
                MessageType::new(Class::ErrorResponse, msg.method()),
                tid,
            );
            let _ = b.add(&Attribute::ErrorCode {
                code: error_code::UNKNOWN_ATTRIBUTE,
                reason: error_code::reason(error_code::UNKNOWN_ATTRIBUTE),
            });
            let _ = b.add(&Attribute::UnknownAttributes(
                UnknownAttributes::from_encoded(&unknown),
            ));
            self.stats.error_responses += 1;
        } else if msg.method() != method::BINDING {
            b = MessageBuilder::new(
                &mut out,
                MessageType::new(Class::ErrorResponse, msg.method()),
                tid,
            );
            let _ = b.add(&Attribute::ErrorCode {
                code: error_code::BAD_REQUEST,
                reason: "only Binding is served here",
            });
            self.stats.error_responses += 1;
        } else {
            b = MessageBuilder::new(
                &mut out,
                MessageType::new(Class::SuccessResponse, method::BINDING),
                tid,
            );
            let _ = b.add(&Attribute::XorMappedAddress(from));
            self.stats.success_responses += 1;
        }
        if let Some(s) = &self.software {
            let _ = b.add(&Attribute::Software(s));
        }
        let _ = b.add_fingerprint();
        self.queue.push_back(Transmit {
            destination: from,
            source: Some(local),
            contents: out,
        });
        true
    }

    /// The next answer to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.queue.pop_front()
    }
}

#[cfg(test)]
// Tests need an arbitrary origin for virtual time; only differences matter.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use crate::client::{BindingClient, BindingEvent, Retransmit};
    use crate::types::TransactionId;

    #[test]
    fn client_and_server_agree() {
        let server_addr: SocketAddr = "192.0.2.1:3478".parse().unwrap();
        let client_addr: SocketAddr = "198.51.100.7:40000".parse().unwrap();
        let mut s = BindingServer::new(Some("tern test"), 16);
        let mut c = BindingClient::new(
            server_addr,
            None,
            TransactionId([5; 12]),
            Retransmit::RFC8489,
            Some("c"),
        );
        let now = Instant::now();
        c.handle_timeout(now);
        let req = c.poll_transmit().unwrap();
        assert!(s.handle_receive(now, client_addr, server_addr, &req.contents));
        let resp = s.poll_transmit().unwrap();
        assert_eq!(resp.destination, client_addr);
        assert!(c.handle_receive(now, server_addr, &resp.contents));
        assert_eq!(
            c.poll_event(),
            Some(BindingEvent::Mapped {
                mapped: client_addr,
                rtt: Some(std::time::Duration::ZERO)
            })
        );
        assert_eq!(s.stats().success_responses, 1);
    }

    #[test]
    fn unknown_comprehension_required_gets_420() {
        let mut buf = Vec::new();
        let mut b = MessageBuilder::new(
            &mut buf,
            MessageType::new(Class::Request, method::BINDING),
            TransactionId([1; 12]),
        );
        b.add(&Attribute::Unknown {
            attr_type: 0x7777,
            value: b"x",
        })
        .unwrap();
        b.add_fingerprint().unwrap();
        let mut s = BindingServer::new(None, 4);
        let a: SocketAddr = "192.0.2.2:1".parse().unwrap();
        s.handle_receive(Instant::now(), a, a, &buf);
        let resp = s.poll_transmit().unwrap();
        let m = Message::parse(&resp.contents).unwrap();
        assert_eq!(m.class(), Class::ErrorResponse);
        assert_eq!(m.error_code().unwrap().0, 420);
        match m
            .get(crate::attr_type::UNKNOWN_ATTRIBUTES)
            .unwrap()
            .unwrap()
        {
            Attribute::UnknownAttributes(u) => {
                assert_eq!(u.iter().collect::<Vec<_>>(), vec![0x7777])
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_and_floods_are_bounded() {
        let mut s = BindingServer::new(None, 8);
        let a: SocketAddr = "192.0.2.2:1".parse().unwrap();
        assert!(!s.handle_receive(Instant::now(), a, a, b"hello, not stun"));
        let mut buf = Vec::new();
        MessageBuilder::new(
            &mut buf,
            MessageType::new(Class::Request, method::BINDING),
            TransactionId([1; 12]),
        );
        for _ in 0..100 {
            s.handle_receive(Instant::now(), a, a, &buf);
        }
        assert_eq!(s.stats().success_responses, 8);
        assert_eq!(s.stats().queue_full_dropped, 92);
        assert_eq!(s.stats().malformed_dropped, 1);
    }
}
