//! A member's outgoing queue, bounded by bytes and by messages, and the
//! signal that tells its connection to stop (queue full, membership taken
//! over by a rejoin).
//!
//! Messages are serialized when queued, so the queue knows their size: a
//! member that stops reading costs at most `queue_bytes`, then is
//! disconnected rather than slowing anyone else down.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};

use crate::messages::ServerMessage;
use crate::metrics::Metrics;

/// Why a connection was told to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kick {
    /// Its queue filled up: it does not read what it is sent.
    TooSlow,
    /// A rejoin with its member id and secret took the membership over.
    Replaced,
}

#[derive(Debug, Default)]
struct Queued {
    bytes: usize,
    messages: usize,
    closed: bool,
}

struct Shared {
    queued: Mutex<Queued>,
    max_bytes: usize,
    max_messages: usize,
    kick: watch::Sender<Option<Kick>>,
    metrics: Arc<Metrics>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queued> {
        // Every change under the lock is a few integer updates that cannot
        // panic, so a poisoned lock still holds consistent numbers.
        self.queued.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where a member's messages go (its connection, while it has one).
#[derive(Clone)]
pub(crate) struct Outbox {
    tx: mpsc::UnboundedSender<String>,
    shared: Arc<Shared>,
}

/// The queue is full (the connection has been told to stop) or closed.
#[derive(Debug)]
pub(crate) struct Full;

impl Outbox {
    /// Queues `m`; a full queue kicks the connection.
    pub(crate) fn try_send(&self, m: &ServerMessage) -> Result<(), Full> {
        let Ok(text) = serde_json::to_string(m) else {
            return Err(Full);
        };
        let s = &self.shared;
        let mut q = s.lock();
        if q.closed {
            return Err(Full);
        }
        if q.bytes + text.len() > s.max_bytes || q.messages >= s.max_messages {
            drop(q);
            self.kick(Kick::TooSlow);
            return Err(Full);
        }
        let n = text.len();
        if self.tx.send(text).is_err() {
            return Err(Full);
        }
        q.bytes += n;
        q.messages += 1;
        s.metrics
            .queued_bytes
            .fetch_add(n as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Tells the connection to stop (the first reason sticks).
    pub(crate) fn kick(&self, why: Kick) {
        self.shared.kick.send_if_modified(|k| {
            if k.is_none() {
                *k = Some(why);
                true
            } else {
                false
            }
        });
    }

    /// Whether `other` is the same queue.
    pub(crate) fn same(&self, other: &Outbox) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

/// The connection's end of its queue.
pub(crate) struct Inbox {
    rx: mpsc::UnboundedReceiver<String>,
    shared: Arc<Shared>,
}

impl Inbox {
    /// The next message to write; `None` once every sender is gone.
    pub(crate) async fn recv(&mut self) -> Option<String> {
        self.rx.recv().await
    }

    /// A message of `bytes` has been written: it no longer counts.
    pub(crate) fn written(&self, bytes: usize) {
        let mut q = self.shared.lock();
        q.bytes = q.bytes.saturating_sub(bytes);
        q.messages = q.messages.saturating_sub(1);
        self.shared
            .metrics
            .queued_bytes
            .fetch_sub(bytes as u64, Ordering::Relaxed);
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        // Whatever was never written is freed with the receiver; later
        // sends fail.
        let mut q = self.shared.lock();
        q.closed = true;
        self.shared
            .metrics
            .queued_bytes
            .fetch_sub(q.bytes as u64, Ordering::Relaxed);
        q.bytes = 0;
        q.messages = 0;
        self.rx.close();
    }
}

/// A queue of at most `max_bytes` and `max_messages`, and the receiver of
/// its kick signal.
pub(crate) fn outbox(
    max_bytes: usize,
    max_messages: usize,
    metrics: Arc<Metrics>,
) -> (Outbox, Inbox, watch::Receiver<Option<Kick>>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (kick, kicked) = watch::channel(None);
    let shared = Arc::new(Shared {
        queued: Mutex::new(Queued::default()),
        max_bytes,
        max_messages,
        kick,
        metrics,
    });
    (
        Outbox {
            tx,
            shared: shared.clone(),
        },
        Inbox { rx, shared },
        kicked,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_refuses_and_kicks_and_a_dropped_inbox_frees_all() {
        let metrics = Arc::new(Metrics::default());
        let (tx, mut inbox, kicked) = outbox(1100, 100, metrics.clone());
        let big = ServerMessage::error("x", "y".repeat(300));
        let n = serde_json::to_string(&big).unwrap().len();
        assert!(tx.try_send(&big).is_ok());
        assert!(tx.try_send(&big).is_ok());
        assert!(tx.try_send(&big).is_ok());
        assert_eq!(*kicked.borrow(), None);
        assert!(tx.try_send(&big).is_err(), "the fourth exceeds 1100 bytes");
        assert_eq!(*kicked.borrow(), Some(Kick::TooSlow));
        assert_eq!(metrics.queued_bytes.load(Ordering::Relaxed), 3 * n as u64);
        let m = inbox.rx.try_recv().unwrap();
        inbox.written(m.len());
        assert_eq!(metrics.queued_bytes.load(Ordering::Relaxed), 2 * n as u64);
        tx.kick(Kick::Replaced);
        assert_eq!(*kicked.borrow(), Some(Kick::TooSlow), "first reason sticks");
        drop(inbox);
        assert_eq!(metrics.queued_bytes.load(Ordering::Relaxed), 0);
        assert!(tx.try_send(&ServerMessage::Pong).is_err());
    }

    #[test]
    fn the_message_count_is_bounded_too() {
        let metrics = Arc::new(Metrics::default());
        let (tx, _inbox, _kicked) = outbox(1 << 20, 3, metrics);
        for _ in 0..3 {
            assert!(tx.try_send(&ServerMessage::Pong).is_ok());
        }
        assert!(tx.try_send(&ServerMessage::Pong).is_err());
    }
}
