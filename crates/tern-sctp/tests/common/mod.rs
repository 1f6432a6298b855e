//! Two sans-IO SCTP endpoints in one thread with virtual time, joined by a
//! lossy, reordering link (seeded, so runs replay).
#![allow(dead_code)] // each test file uses part of it

use std::time::{Duration, Instant};

use tern_crypto::{Random, SeededRandom};
use tern_sctp::{Association, DataChannelEvent, SctpEvent, SctpTransport};

/// What the harness needs of an endpoint.
pub trait Node {
    /// Its event type.
    type Event;
    fn handle_receive(&mut self, now: Instant, p: &[u8]);
    fn handle_timeout(&mut self, now: Instant);
    fn poll_transmit(&mut self) -> Option<Vec<u8>>;
    fn poll_timeout(&self) -> Option<Instant>;
    fn poll_event(&mut self) -> Option<Self::Event>;
}

macro_rules! node {
    ($t:ty, $e:ty) => {
        impl Node for $t {
            type Event = $e;
            fn handle_receive(&mut self, now: Instant, p: &[u8]) {
                <$t>::handle_receive(self, now, p)
            }
            fn handle_timeout(&mut self, now: Instant) {
                <$t>::handle_timeout(self, now)
            }
            fn poll_transmit(&mut self) -> Option<Vec<u8>> {
                <$t>::poll_transmit(self)
            }
            fn poll_timeout(&self) -> Option<Instant> {
                <$t>::poll_timeout(self)
            }
            fn poll_event(&mut self) -> Option<$e> {
                <$t>::poll_event(self)
            }
        }
    };
}
node!(Association, SctpEvent);
node!(SctpTransport, DataChannelEvent);

pub struct Pair<T: Node> {
    pub a: T,
    pub b: T,
    pub now: Instant,
    pub rng: SeededRandom,
    pub loss: f64,
    pub reorder: f64,
    pub delay: Duration,
    /// (arrival, to_b, packet)
    pub in_flight: Vec<(Instant, bool, Vec<u8>)>,
    pub got_a: Vec<T::Event>,
    pub got_b: Vec<T::Event>,
    /// Packets carried each way (a→b, b→a).
    pub packets: (u64, u64),
    /// B's application stops reading its events (its receive window fills).
    pub hold_b: bool,
}

impl<T: Node> Pair<T> {
    pub fn new(
        a: T,
        b: T,
        now: Instant,
        seed: u64,
        loss: f64,
        reorder: f64,
        delay: Duration,
    ) -> Self {
        Pair {
            a,
            b,
            now,
            rng: SeededRandom::new(seed),
            loss,
            reorder,
            delay,
            in_flight: Vec::new(),
            got_a: Vec::new(),
            got_b: Vec::new(),
            packets: (0, 0),
            hold_b: false,
        }
    }

    pub fn collect(&mut self) {
        while let Some(p) = self.a.poll_transmit() {
            self.launch(true, p);
        }
        while let Some(p) = self.b.poll_transmit() {
            self.launch(false, p);
        }
        while let Some(e) = self.a.poll_event() {
            self.got_a.push(e);
        }
        while !self.hold_b {
            let Some(e) = self.b.poll_event() else { break };
            self.got_b.push(e);
        }
    }

    fn launch(&mut self, to_b: bool, p: Vec<u8>) {
        if to_b {
            self.packets.0 += 1;
        } else {
            self.packets.1 += 1;
        }
        if self.rng.unit_f64() < self.loss {
            return;
        }
        let mut at = self.now + self.delay;
        if self.rng.unit_f64() < self.reorder {
            at += self.delay;
        }
        self.in_flight.push((at, to_b, p));
    }

    /// Steps until `done` or `max` of virtual time.
    pub fn run(&mut self, max: Duration, mut done: impl FnMut(&Self) -> bool) -> bool {
        let limit = self.now + max;
        loop {
            self.collect();
            if done(self) {
                return true;
            }
            let next_packet = self.in_flight.iter().map(|p| p.0).min();
            let next = [next_packet, self.a.poll_timeout(), self.b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next else { return done(self) };
            if next > limit {
                self.now = limit;
                return done(self);
            }
            self.now = self.now.max(next);
            let now = self.now;
            let (due, rest): (Vec<_>, Vec<_>) = self.in_flight.drain(..).partition(|p| p.0 <= now);
            self.in_flight = rest;
            for (_, to_b, p) in due {
                if to_b {
                    self.b.handle_receive(now, &p);
                } else {
                    self.a.handle_receive(now, &p);
                }
            }
            if self.a.poll_timeout().is_some_and(|t| t <= now) {
                self.a.handle_timeout(now);
            }
            if self.b.poll_timeout().is_some_and(|t| t <= now) {
                self.b.handle_timeout(now);
            }
        }
    }
}
