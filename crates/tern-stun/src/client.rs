//! A sans-IO Binding client transaction (RFC 8489 §6.2.1 retransmissions),
//! used to learn a server-reflexive address.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::attribute::Attribute;
use crate::builder::MessageBuilder;
use crate::message::Message;
use crate::server::Transmit;
use crate::types::{method, Class, MessageType, TransactionId};

/// A client retransmission schedule over an unreliable transport
/// (RFC 8489 §6.2.1): send at 0, RTO, 3·RTO, 7·RTO … (doubling, capped at
/// `max_rto`), `max_transmissions` (Rc) sends in all, then wait
/// `final_wait_factor` (Rm) × RTO for a last answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retransmit {
    /// Initial RTO.
    pub initial_rto: Duration,
    /// Cap on the doubled RTO.
    pub max_rto: Duration,
    /// Rc: total transmissions.
    pub max_transmissions: u32,
    /// Rm: the last wait is this many initial RTOs.
    pub final_wait_factor: u32,
}

impl Retransmit {
    /// The RFC 8489 defaults: RTO 500 ms, Rc 7, Rm 16 (a transaction gives up
    /// after 39.5 s).
    pub const RFC8489: Retransmit = Retransmit {
        initial_rto: Duration::from_millis(500),
        max_rto: Duration::from_secs(3600),
        max_transmissions: 7,
        final_wait_factor: 16,
    };

    /// How long to wait after the `n`-th transmission (1-based) before
    /// retransmitting or, after the last one, giving up.
    pub fn wait_after(&self, n: u32) -> Duration {
        if n >= self.max_transmissions {
            return self.initial_rto * self.final_wait_factor;
        }
        let shift = n.saturating_sub(1).min(16);
        (self.initial_rto * (1u32 << shift)).min(self.max_rto)
    }
}

impl Default for Retransmit {
    fn default() -> Self {
        Retransmit::RFC8489
    }
}

/// What a [`BindingClient`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BindingEvent {
    /// The server answered: our address as it saw it.
    Mapped {
        /// XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS).
        mapped: SocketAddr,
        /// Round-trip time of the transmission that was answered, when that
        /// is unambiguous (Karn: only if there was a single transmission).
        rtt: Option<Duration>,
    },
    /// The server answered with an error.
    Error {
        /// ERROR-CODE.
        code: u16,
        /// Its reason phrase.
        reason: String,
    },
    /// No answer after every retransmission.
    TimedOut,
}

/// One Binding request to one server, retransmitted until answered.
///
/// Drive it with [`handle_timeout`](Self::handle_timeout) and
/// [`handle_receive`](Self::handle_receive); collect datagrams with
/// [`poll_transmit`](Self::poll_transmit) and the outcome with
/// [`poll_event`](Self::poll_event).
#[derive(Debug)]
pub struct BindingClient {
    server: SocketAddr,
    source: Option<SocketAddr>,
    tid: TransactionId,
    request: Vec<u8>,
    schedule: Retransmit,
    sent: u32,
    first_sent: Option<Instant>,
    deadline: Option<Instant>,
    transmit_due: bool,
    event: Option<BindingEvent>,
    done: bool,
}

impl BindingClient {
    /// A transaction to `server` sent from `source` (the local address, if the
    /// caller routes by it), with id `tid`. The first request goes out on the
    /// first [`handle_timeout`](Self::handle_timeout).
    pub fn new(
        server: SocketAddr,
        source: Option<SocketAddr>,
        tid: TransactionId,
        schedule: Retransmit,
        software: Option<&str>,
    ) -> Self {
        let mut request = Vec::with_capacity(64);
        let mut b = MessageBuilder::new(
            &mut request,
            MessageType::new(Class::Request, method::BINDING),
            tid,
        );
        if let Some(s) = software {
            // A SOFTWARE over 763 bytes is dropped rather than failing the request.
            let _ = b.add(&Attribute::Software(s));
        }
        // Infallible: a FINGERPRINT always fits after at most one short attribute.
        let _ = b.add_fingerprint();
        BindingClient {
            server,
            source,
            tid,
            request,
            schedule,
            sent: 0,
            first_sent: None,
            deadline: None,
            transmit_due: false,
            event: None,
            done: false,
        }
    }

    /// The transaction id.
    pub fn transaction_id(&self) -> TransactionId {
        self.tid
    }
    /// The server this asks.
    pub fn server(&self) -> SocketAddr {
        self.server
    }
    /// Whether the transaction has ended.
    pub fn is_done(&self) -> bool {
        self.done
    }
    /// How many requests have gone out.
    pub fn transmissions(&self) -> u32 {
        self.sent
    }

    /// Sends or retransmits when due; gives up after the final wait.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.done {
            return;
        }
        match self.deadline {
            Some(d) if now < d => {}
            _ if self.sent >= self.schedule.max_transmissions => {
                self.done = true;
                self.deadline = None;
                self.event = Some(BindingEvent::TimedOut);
            }
            _ => {
                self.sent += 1;
                self.first_sent.get_or_insert(now);
                self.transmit_due = true;
                self.deadline = Some(now + self.schedule.wait_after(self.sent));
            }
        }
    }

    /// Offers a received datagram. Returns true if it was the response to this
    /// transaction (then the outcome is ready in [`poll_event`](Self::poll_event)).
    /// Responses from another address, with another transaction id, with a
    /// bad fingerprint, or otherwise malformed are ignored (false).
    pub fn handle_receive(&mut self, now: Instant, from: SocketAddr, data: &[u8]) -> bool {
        if self.done || from != self.server {
            return false;
        }
        let Ok(msg) = Message::parse(data) else {
            return false;
        };
        if msg.transaction_id() != self.tid || msg.method() != method::BINDING {
            return false;
        }
        if msg.has_fingerprint() && msg.verify_fingerprint().is_err() {
            return false;
        }
        let event = match msg.class() {
            Class::SuccessResponse => {
                if msg.unknown_comprehension_required().next().is_some() {
                    BindingEvent::Error {
                        code: 0,
                        reason: "unknown comprehension-required attribute in response".into(),
                    }
                } else {
                    match msg.mapped_address() {
                        Some(mapped) => BindingEvent::Mapped {
                            mapped,
                            rtt: (self.sent == 1)
                                .then(|| self.first_sent.map(|t| now.saturating_duration_since(t)))
                                .flatten(),
                        },
                        None => return false,
                    }
                }
            }
            Class::ErrorResponse => {
                let (code, reason) = msg.error_code().unwrap_or((0, "malformed ERROR-CODE"));
                BindingEvent::Error {
                    code,
                    reason: reason.to_owned(),
                }
            }
            _ => return false,
        };
        self.done = true;
        self.deadline = None;
        self.event = Some(event);
        true
    }

    /// The next datagram to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if !std::mem::take(&mut self.transmit_due) {
            return None;
        }
        Some(Transmit {
            destination: self.server,
            source: self.source,
            contents: self.request.clone(),
        })
    }

    /// The outcome, once.
    pub fn poll_event(&mut self) -> Option<BindingEvent> {
        self.event.take()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next. Before the
    /// first transmission this is "now" (any instant in the past works).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.done {
            None
        } else {
            self.deadline.or(self.first_sent)
        }
    }

    /// Whether the first request has not been sent yet.
    pub fn is_unsent(&self) -> bool {
        self.sent == 0 && !self.done
    }
}

#[cfg(test)]
// Tests need an arbitrary origin for virtual time; only differences matter.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn rfc8489_schedule_totals_39_5_seconds() {
        let r = Retransmit::RFC8489;
        let total: Duration = (1..=7).map(|n| r.wait_after(n)).sum();
        assert_eq!(total, Duration::from_millis(39_500));
        assert_eq!(r.wait_after(1), Duration::from_millis(500));
        assert_eq!(r.wait_after(2), Duration::from_millis(1000));
        assert_eq!(r.wait_after(7), Duration::from_millis(8000));
    }

    #[test]
    fn retransmits_then_times_out() {
        let server: SocketAddr = "192.0.2.10:3478".parse().unwrap();
        let mut c = BindingClient::new(
            server,
            None,
            TransactionId([1; 12]),
            Retransmit::RFC8489,
            None,
        );
        let t0 = Instant::now();
        let mut now = t0;
        let mut sends = 0;
        while !c.is_done() {
            c.handle_timeout(now);
            while let Some(t) = c.poll_transmit() {
                assert_eq!(t.destination, server);
                assert!(Message::parse(&t.contents)
                    .unwrap()
                    .verify_fingerprint()
                    .is_ok());
                sends += 1;
            }
            match c.poll_timeout() {
                Some(d) => now = d.max(now),
                None => break,
            }
        }
        assert_eq!(sends, 7);
        assert_eq!(now - t0, Duration::from_millis(39_500));
        assert_eq!(c.poll_event(), Some(BindingEvent::TimedOut));
    }
}
