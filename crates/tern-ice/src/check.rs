//! Outgoing connectivity checks and their responses (RFC 8445 §7.2), and
//! nomination (§8.1).

use std::net::SocketAddr;
use std::time::Instant;

use tern_stun::{
    error_code, method, Attribute, Class, IntegrityKey, Message, MessageBuilder, MessageType,
    TransactionId, Transmit,
};

use crate::agent::{CredSet, IceAgent, Selected, Transaction, TxKind};
use crate::candidate::{candidate_priority, Candidate, CandidateKind};
use crate::config::Credentials;
use crate::pair::PairState;
use crate::state::{IceEvent, Role};

impl IceAgent {
    /// Sends one new check if there is one to send: a pending nomination,
    /// then a triggered check, then the best waiting (or frozen) pair.
    /// Returns whether a check went out (pacing starts again from it).
    pub(crate) fn send_next_check(&mut self, now: Instant) -> bool {
        if self.remote_key.is_none() || self.config.lite || self.consent_expired {
            return false;
        }
        if let Some((l, r)) = self.nominating.take() {
            if let Some(i) = self.find_pair(l, r) {
                self.start_check(now, i, true);
                return true;
            }
        }
        while let Some((l, r)) = self.triggered.pop_front() {
            if let Some(i) = self.find_pair(l, r) {
                if self.pairs[i].state != PairState::Succeeded || self.pairs[i].nominate_on_success
                {
                    self.start_check(now, i, false);
                    return true;
                }
            }
        }
        if self.selected.as_ref().is_some_and(|s| s.current) {
            return false; // nominated: ordinary checks are over for this generation
        }
        let pick = |state: PairState, agent: &IceAgent| {
            agent
                .pairs
                .iter()
                .enumerate()
                .filter(|(_, p)| p.state == state)
                .max_by_key(|(_, p)| p.priority)
                .map(|(i, _)| i)
        };
        // RFC 8445 §6.1.4.2: the best Waiting pair, else unfreeze the best Frozen one.
        if let Some(i) = pick(PairState::Waiting, self).or_else(|| pick(PairState::Frozen, self)) {
            self.start_check(now, i, false);
            return true;
        }
        false
    }

    /// Builds and sends a Binding request on pair `i`.
    fn start_check(&mut self, now: Instant, i: usize, use_candidate: bool) {
        let (local, remote) = (self.pairs[i].local_addr, self.pairs[i].remote_addr);
        // Cancel an outstanding check on the same pair (RFC 8445 §7.3.1.4): it
        // may still be answered but no longer retransmits or fails the pair.
        for t in &mut self.transactions {
            if t.local == local && t.remote == remote && matches!(t.kind, TxKind::Check { .. }) {
                t.cancelled = true;
                t.retransmit_at = None;
            }
        }
        let local_pref = self.locals[self.pairs[i].local].local_preference;
        // PRIORITY: what a peer-reflexive candidate learnt from this check would get (§7.1.1).
        let prio = candidate_priority(CandidateKind::PeerReflexive, local_pref, 1);
        let (Some(remote_creds), Some(key)) = (self.remote_creds.clone(), self.remote_key.clone())
        else {
            return;
        };
        let tid = TransactionId::random(self.rng.as_mut());
        let request = self.build_check(
            tid,
            &remote_creds,
            &self.local_creds.clone(),
            &key,
            prio,
            use_candidate,
        );
        let p = &mut self.pairs[i];
        if p.state != PairState::Succeeded {
            p.state = PairState::InProgress;
        }
        p.stats.requests_sent += 1;
        let rto = &self.config.check_retransmit;
        let total: std::time::Duration =
            (1..=rto.max_transmissions).map(|n| rto.wait_after(n)).sum();
        self.transactions.push(Transaction {
            tid,
            kind: TxKind::Check { use_candidate },
            creds: CredSet::Current,
            local,
            remote,
            request: request.clone(),
            sent: 1,
            first_sent: now,
            retransmit_at: (rto.max_transmissions > 1).then(|| now + rto.wait_after(1)),
            expire_at: now + total,
            cancelled: false,
        });
        tracing::trace!(%local, %remote, use_candidate, "ice check");
        self.queue_transmit(Transmit {
            destination: remote,
            source: Some(local),
            contents: request,
        });
    }

    pub(crate) fn build_check(
        &mut self,
        tid: TransactionId,
        remote: &Credentials,
        local: &Credentials,
        key: &IntegrityKey,
        priority: u32,
        use_candidate: bool,
    ) -> Vec<u8> {
        let username = format!("{}:{}", remote.ufrag, local.ufrag);
        let mut b = MessageBuilder::new(
            &mut self.buf,
            MessageType::new(Class::Request, method::BINDING),
            tid,
        );
        // The values below are within every limit, so these cannot fail.
        let _ = b.add(&Attribute::Username(&username));
        let _ = b.add(&Attribute::Priority(priority));
        let _ = match self.role {
            Role::Controlling => b.add(&Attribute::IceControlling(self.tie_breaker)),
            Role::Controlled => b.add(&Attribute::IceControlled(self.tie_breaker)),
        };
        if use_candidate {
            let _ = b.add(&Attribute::UseCandidate);
        }
        let _ = b.add_message_integrity(key);
        let _ = b.add_fingerprint();
        b.finish().to_vec()
    }

    /// Retransmits due transactions and gives up on expired ones.
    pub(crate) fn retransmit(&mut self, now: Instant) {
        let mut resend = Vec::new();
        let mut expired = Vec::new();
        let rto = self.config.check_retransmit;
        for (idx, t) in self.transactions.iter_mut().enumerate() {
            if now >= t.expire_at {
                expired.push(idx);
                continue;
            }
            if let Some(at) = t.retransmit_at {
                if now >= at && t.sent < rto.max_transmissions {
                    t.sent += 1;
                    t.retransmit_at =
                        (t.sent < rto.max_transmissions).then(|| now + rto.wait_after(t.sent));
                    resend.push(Transmit {
                        destination: t.remote,
                        source: Some(t.local),
                        contents: t.request.clone(),
                    });
                    if let TxKind::Check { .. } = t.kind {
                        if let Some(p) = self
                            .pairs
                            .iter_mut()
                            .find(|p| p.local_addr == t.local && p.remote_addr == t.remote)
                        {
                            p.stats.requests_sent += 1;
                        }
                    }
                }
            }
        }
        for t in resend {
            self.queue_transmit(t);
        }
        for idx in expired.into_iter().rev() {
            let t = self.transactions.swap_remove(idx);
            if let (TxKind::Check { .. }, false) = (t.kind, t.cancelled) {
                if let Some(i) = self.find_pair(t.local, t.remote) {
                    let p = &mut self.pairs[i];
                    if p.state == PairState::InProgress {
                        tracing::debug!(local = %t.local, remote = %t.remote, "ice check timed out");
                        p.state = PairState::Failed;
                    }
                }
            }
        }
    }

    /// A success or error response arrived.
    pub(crate) fn on_response(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        msg: &Message<'_>,
    ) {
        let tid = msg.transaction_id();
        let Some(idx) = self.transactions.iter().position(|t| t.tid == tid) else {
            self.stats.unmatched_responses += 1;
            return;
        };
        let key = match self.transactions[idx].creds {
            CredSet::Current => self.remote_key.clone(),
            CredSet::Selected => self.selected.as_ref().map(|s| s.remote_key.clone()),
        };
        let Some(key) = key else { return };
        if msg.verify_integrity(&key).is_err() {
            self.stats.integrity_failures += 1;
            return;
        }
        let t = self.transactions.swap_remove(idx);
        let rtt = (t.sent == 1).then(|| now.saturating_duration_since(t.first_sent));
        // RFC 8445 §7.2.5.2.1: a response from or to other addresses fails the check.
        let symmetric = from == t.remote && to == t.local;

        if t.kind == TxKind::Consent {
            if let (Some(sel), true, Class::SuccessResponse) =
                (&mut self.selected, symmetric, msg.class())
            {
                if sel.pair.local_addr == t.local && sel.pair.remote_addr == t.remote {
                    sel.last_alive = now;
                    sel.pair.last_response = Some(now);
                    sel.pair.stats.responses_received += 1;
                    if let Some(rtt) = rtt {
                        sel.pair.record_rtt(rtt);
                    }
                }
            }
            return;
        }
        let TxKind::Check { use_candidate } = t.kind else {
            return;
        };
        let Some(i) = self.find_pair(t.local, t.remote) else {
            return;
        };
        if msg.class() == Class::ErrorResponse {
            if msg.error_code().map(|(c, _)| c) == Some(error_code::ROLE_CONFLICT) {
                // RFC 8445 §7.2.5.1: switch role and check the pair again.
                self.stats.role_conflicts += 1;
                let flip = if self.role == Role::Controlling {
                    Role::Controlled
                } else {
                    Role::Controlling
                };
                self.set_role(flip);
                self.pairs[i].state = PairState::Waiting;
                self.enqueue_triggered(t.local, t.remote);
            } else if !t.cancelled {
                self.pairs[i].state = PairState::Failed;
            }
            return;
        }
        if !symmetric {
            self.pairs[i].state = PairState::Failed;
            return;
        }
        if msg.unknown_comprehension_required().next().is_some() {
            self.pairs[i].state = PairState::Failed;
            return;
        }
        if let Some(mapped) = msg.mapped_address() {
            self.learn_peer_reflexive_local(t.local, mapped);
        }
        let p = &mut self.pairs[i];
        p.state = PairState::Succeeded;
        p.last_response = Some(now);
        p.stats.responses_received += 1;
        if let Some(rtt) = rtt {
            p.record_rtt(rtt);
        }
        // RFC 8445 §7.2.5.3.3: unfreeze pairs sharing the foundation.
        let foundation = p.foundation.clone();
        for q in &mut self.pairs {
            if q.state == PairState::Frozen && q.foundation == foundation {
                q.state = PairState::Waiting;
            }
        }
        let nominate_on_success = std::mem::take(&mut self.pairs[i].nominate_on_success);
        if (use_candidate && self.role == Role::Controlling)
            || (nominate_on_success && self.role == Role::Controlled)
        {
            self.select(now, i);
        } else if self.role == Role::Controlling
            && !self.selected.as_ref().is_some_and(|s| s.current)
        {
            self.consider_nomination(now, i);
        }
    }

    /// A mapped address unknown to us is a peer-reflexive local candidate
    /// (RFC 8445 §7.2.5.3.1). It is not signalled; we keep sending from its base.
    fn learn_peer_reflexive_local(&mut self, base: SocketAddr, mapped: SocketAddr) {
        if self.locals.iter().any(|l| l.cand.address == mapped) {
            return;
        }
        let pref = self
            .locals
            .iter()
            .find(|l| l.base == base)
            .map_or(0, |l| l.local_preference);
        let cand = Candidate::new(
            CandidateKind::PeerReflexive,
            mapped,
            Some(base),
            pref,
            &base.ip().to_string(),
        );
        self.locals.push(crate::agent::LocalCandidate {
            cand,
            base,
            local_preference: pref,
        });
    }

    pub(crate) fn enqueue_triggered(&mut self, local: SocketAddr, remote: SocketAddr) {
        if !self.triggered.contains(&(local, remote)) {
            self.triggered.push_back((local, remote));
        }
    }

    /// Controlling side: nominate at once if no better pair can still
    /// succeed, else wait `nomination_delay` for one (`relay_nomination_delay`
    /// when this pair is relayed at either end, as Pion does: a direct path
    /// through a peer-reflexive candidate often succeeds a little later, and
    /// regular nomination cannot move off a relay once it is chosen).
    fn consider_nomination(&mut self, now: Instant, i: usize) {
        let prio = self.pairs[i].priority;
        let better_pending = self.pairs.iter().any(|p| {
            p.priority > prio
                && matches!(
                    p.state,
                    PairState::Waiting | PairState::InProgress | PairState::Frozen
                )
        });
        let relayed = self.locals[self.pairs[i].local].cand.kind == CandidateKind::Relayed
            || self.remotes[self.pairs[i].remote].kind == CandidateKind::Relayed;
        let delay = if relayed {
            self.config
                .relay_nomination_delay
                .max(self.config.nomination_delay)
        } else {
            self.config.nomination_delay
        };
        if !better_pending {
            self.nominate(i);
        } else {
            let at = now + delay;
            self.nomination_deadline = Some(self.nomination_deadline.map_or(at, |d| d.min(at)));
        }
    }

    pub(crate) fn nominate_best(&mut self, _now: Instant) {
        if self.role != Role::Controlling || self.selected.as_ref().is_some_and(|s| s.current) {
            return;
        }
        let best = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == PairState::Succeeded)
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, _)| i);
        if let Some(i) = best {
            self.nominate(i);
        }
    }

    fn nominate(&mut self, i: usize) {
        if self.nominating.is_none() {
            tracing::debug!(local = %self.pairs[i].local_addr, remote = %self.pairs[i].remote_addr, "ice nominating");
            self.nominating = Some((self.pairs[i].local_addr, self.pairs[i].remote_addr));
            self.nomination_deadline = None;
            // Send it now rather than after the next pacing slot.
            self.next_check_at = None;
        }
    }

    /// Makes pair `i` the selected pair of the current generation.
    pub(crate) fn select(&mut self, now: Instant, i: usize) {
        if self.remote_key.is_none() {
            return;
        }
        if let Some(s) = &self.selected {
            // Within a generation only a better nominated pair replaces the selection.
            if s.current
                && (s.pair.local_addr, s.pair.remote_addr)
                    == (self.pairs[i].local_addr, self.pairs[i].remote_addr)
            {
                return;
            }
            if s.current && s.pair.priority >= self.pairs[i].priority {
                return;
            }
        }
        self.pairs[i].nominated = true;
        let pair = self.pairs[i].clone();
        self.install_selected(now, pair);
        self.nominating = None;
        self.nomination_deadline = None;
    }

    /// Makes `pair` the selected pair under the current credentials.
    pub(crate) fn install_selected(&mut self, now: Instant, mut pair: crate::pair::CandidatePair) {
        let (Some(remote_creds), Some(remote_key)) =
            (self.remote_creds.clone(), self.remote_key.clone())
        else {
            return;
        };
        pair.nominated = true;
        let (local, remote) = (pair.local_addr, pair.remote_addr);
        let jitter = self.random_between(self.config.consent_interval, 0.8, 1.2);
        self.selected = Some(Selected {
            pair,
            local_creds: self.local_creds.clone(),
            remote_creds,
            local_key: self.local_key.clone(),
            remote_key,
            next_consent: now + jitter,
            last_alive: now,
            current: true,
        });
        tracing::debug!(%local, %remote, "ice selected pair");
        self.bind_selected_channel(now, local, remote);
        self.events
            .push_back(IceEvent::SelectedPairChange { local, remote });
    }
}
