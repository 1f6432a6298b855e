//! Consent freshness (RFC 7675) on the selected pair; it doubles as the
//! keepalive that holds NAT bindings open (RFC 8445 §11).

use std::time::{Duration, Instant};

use tern_stun::{TransactionId, Transmit};

use crate::agent::{CredSet, IceAgent, Transaction, TxKind};
use crate::candidate::{candidate_priority, CandidateKind};

impl IceAgent {
    pub(crate) fn consent(&mut self, now: Instant) {
        if self.config.lite {
            return;
        }
        let Some(sel) = &self.selected else { return };
        if now < sel.next_consent {
            return;
        }
        let (local, remote) = (sel.pair.local_addr, sel.pair.remote_addr);
        let creds = if sel.current {
            CredSet::Current
        } else {
            CredSet::Selected
        };
        let (remote_creds, local_creds, key) = (
            sel.remote_creds.clone(),
            sel.local_creds.clone(),
            sel.remote_key.clone(),
        );
        let quiet = now.saturating_duration_since(sel.last_alive);
        let pref = self
            .locals
            .iter()
            .find(|l| l.base == local)
            .map_or(0, |l| l.local_preference);
        let tid = TransactionId::random(self.rng.as_mut());
        let request = self.build_check(
            tid,
            &remote_creds,
            &local_creds,
            &key,
            candidate_priority(CandidateKind::PeerReflexive, pref, 1),
            false,
        );
        // Each consent request is its own transaction, answered or not; while
        // responses are missing we ask more often to notice recovery quickly.
        let interval = if quiet > self.config.consent_interval {
            Duration::from_millis(500)
        } else {
            self.random_between(self.config.consent_interval, 0.8, 1.2)
        };
        if let Some(sel) = &mut self.selected {
            sel.next_consent = now + interval;
            sel.pair.stats.consent_requests_sent += 1;
            sel.pair.stats.requests_sent += 1;
        }
        self.transactions.push(Transaction {
            tid,
            kind: TxKind::Consent,
            creds,
            local,
            remote,
            request: request.clone(),
            sent: 1,
            first_sent: now,
            retransmit_at: None,
            expire_at: now + self.config.consent_interval.max(Duration::from_secs(1)) * 2,
            cancelled: false,
        });
        self.queue_transmit(Transmit {
            destination: remote,
            source: Some(local),
            contents: request,
        });
    }
}
