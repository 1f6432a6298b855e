//! Incoming Binding requests (RFC 8445 §7.3): authentication, role
//! conflicts, peer-reflexive candidates, triggered checks, nomination.

use std::net::SocketAddr;
use std::time::Instant;

use tern_stun::{
    error_code, method, Attribute, Class, IntegrityKey, Message, MessageBuilder, MessageType,
    Transmit, UnknownAttributes,
};

use crate::agent::IceAgent;
use crate::candidate::{Candidate, CandidateKind};
use crate::pair::PairState;
use crate::state::Role;

/// Which credentials an incoming request authenticated with.
enum Generation {
    Current,
    /// The selected pair's (older) generation, still answered during a restart.
    Selected,
}

impl IceAgent {
    pub(crate) fn on_request(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        msg: &Message<'_>,
    ) {
        if self.consent_expired {
            return; // RFC 7675 §5.1: silent until restarted
        }
        if msg.method() != method::BINDING {
            self.respond_error(msg, from, to, error_code::BAD_REQUEST, "only Binding", None);
            return;
        }
        // ICE requires FINGERPRINT on checks (RFC 8445 §7.2.2).
        if !msg.has_fingerprint() {
            self.stats.malformed += 1;
            return;
        }
        let Some(username) = msg.username() else {
            self.respond_error(
                msg,
                from,
                to,
                error_code::BAD_REQUEST,
                "USERNAME required",
                None,
            );
            return;
        };
        let ours = username.split(':').next().unwrap_or_default();
        let generation = if ours == self.local_creds.ufrag {
            Generation::Current
        } else if self
            .selected
            .as_ref()
            .is_some_and(|s| !s.current && s.local_creds.ufrag == ours)
        {
            Generation::Selected
        } else {
            // Not ours: a stale generation or someone else's agent. Dropped
            // without an answer so a flood cannot use us as a reflector.
            self.stats.unknown_ufrag += 1;
            return;
        };
        let key = match generation {
            Generation::Current => self.local_key.clone(),
            Generation::Selected => match &self.selected {
                Some(s) => s.local_key.clone(),
                None => return,
            },
        };
        if msg.verify_integrity(&key).is_err() {
            self.stats.integrity_failures += 1;
            self.respond_error(
                msg,
                from,
                to,
                error_code::UNAUTHENTICATED,
                "bad MESSAGE-INTEGRITY",
                None,
            );
            return;
        }
        let unknown: Vec<u16> = msg.unknown_comprehension_required().collect();
        if !unknown.is_empty() {
            self.respond_error(
                msg,
                from,
                to,
                error_code::UNKNOWN_ATTRIBUTE,
                "",
                Some((&unknown, &key)),
            );
            return;
        }
        if let Generation::Selected = generation {
            // An old-generation check on the selected pair: answer, keep it alive, no state change.
            self.respond_success(msg, from, to, &key);
            if let Some(s) = &mut self.selected {
                if s.pair.remote_addr == from && s.pair.local_addr == to {
                    s.pair.stats.requests_received += 1;
                    s.pair.stats.responses_sent += 1;
                    if self.config.lite {
                        s.last_alive = now;
                    }
                }
            }
            return;
        }
        if !self.resolve_role_conflict(msg, from, to, &key) {
            return;
        }
        self.respond_success(msg, from, to, &key);

        // The source is a remote candidate; learn it as peer-reflexive if new (§7.3.1.3).
        let r = match self.remotes.iter().position(|c| c.address == from) {
            Some(r) => r,
            None => {
                if self.remotes.len() >= self.config.max_remote_candidates {
                    self.stats.remote_candidates_refused += 1;
                    return;
                }
                let prio = msg.priority().unwrap_or(0);
                let mut c = Candidate::new(
                    CandidateKind::PeerReflexive,
                    from,
                    None,
                    0,
                    &from.to_string(),
                );
                c.priority = prio;
                self.remotes.push(c);
                self.remotes.len() - 1
            }
        };
        let Some(l) = self.locals.iter().position(|c| {
            c.base == to && matches!(c.cand.kind, CandidateKind::Host | CandidateKind::Relayed)
        }) else {
            return; // arrived on an address we did not gather
        };
        let use_candidate = msg.use_candidate() && self.role == Role::Controlled;

        if self.config.lite {
            // Lite (RFC 8445 §2.5): no checks of our own; a nominating check selects the pair.
            self.lite_request(now, l, r, use_candidate);
            return;
        }
        let Some(i) = self.add_pair(l, r) else { return };
        self.pairs[i].stats.requests_received += 1;
        self.pairs[i].stats.responses_sent += 1;
        if let Some(s) = &mut self.selected {
            if s.current && s.pair.local_addr == to && s.pair.remote_addr == from {
                s.pair.stats.requests_received += 1;
                s.pair.stats.responses_sent += 1;
            }
        }
        match self.pairs[i].state {
            PairState::Succeeded => {
                if use_candidate {
                    self.select(now, i);
                }
            }
            PairState::InProgress => {
                // §7.3.1.4: cancel and re-check right away (start_check cancels).
                if use_candidate {
                    self.pairs[i].nominate_on_success = true;
                }
                self.enqueue_triggered(to, from);
            }
            _ => {
                if use_candidate {
                    self.pairs[i].nominate_on_success = true;
                }
                self.pairs[i].state = PairState::Waiting;
                self.enqueue_triggered(to, from);
            }
        }
        if self.next_check_at.is_some_and(|t| t > now + self.config.ta) {
            self.next_check_at = Some(now);
        }
    }

    fn lite_request(&mut self, now: Instant, l: usize, r: usize, use_candidate: bool) {
        let local = self.locals[l].base;
        let remote = self.remotes[r].address;
        if let Some(s) = &mut self.selected {
            if s.pair.local_addr == local && s.pair.remote_addr == remote {
                s.last_alive = now;
                s.pair.stats.requests_received += 1;
                s.pair.stats.responses_sent += 1;
                return;
            }
        }
        if !use_candidate {
            return;
        }
        if self.remote_key.is_none() {
            return;
        }
        let priority =
            crate::pair::pair_priority(self.remotes[r].priority, self.locals[l].cand.priority);
        let pair = crate::pair::CandidatePair {
            local: l,
            remote: r,
            local_addr: local,
            remote_addr: remote,
            foundation: String::new(),
            state: PairState::Succeeded,
            priority,
            nominated: true,
            nominate_on_success: false,
            last_response: Some(now),
            stats: Default::default(),
        };
        self.install_selected(now, pair);
    }

    /// RFC 8445 §7.3.1.1. Returns false if we answered 487 and the request
    /// must not be processed further.
    fn resolve_role_conflict(
        &mut self,
        msg: &Message<'_>,
        from: SocketAddr,
        to: SocketAddr,
        key: &IntegrityKey,
    ) -> bool {
        if self.config.lite {
            return true;
        }
        // The agent with the larger tie-breaker is controlling. On a conflict
        // we either keep our role and answer 487, or take the other role.
        let (keep_ours, other) = match (self.role, msg.ice_controlling(), msg.ice_controlled()) {
            (Role::Controlling, Some(theirs), _) => (self.tie_breaker >= theirs, Role::Controlled),
            (Role::Controlled, _, Some(theirs)) => (self.tie_breaker < theirs, Role::Controlling),
            _ => return true,
        };
        self.stats.role_conflicts += 1;
        if keep_ours {
            let auth = Some((&[][..], key));
            self.respond_error(
                msg,
                from,
                to,
                error_code::ROLE_CONFLICT,
                "Role Conflict",
                auth,
            );
            return false;
        }
        self.set_role(other);
        true
    }

    fn respond_success(
        &mut self,
        msg: &Message<'_>,
        from: SocketAddr,
        to: SocketAddr,
        key: &IntegrityKey,
    ) {
        let mut b = MessageBuilder::new(
            &mut self.buf,
            MessageType::new(Class::SuccessResponse, method::BINDING),
            msg.transaction_id(),
        );
        let _ = b.add(&Attribute::XorMappedAddress(from));
        let _ = b.add_message_integrity(key);
        let _ = b.add_fingerprint();
        let contents = b.finish().to_vec();
        self.queue_transmit(Transmit {
            destination: from,
            source: Some(to),
            contents,
        });
    }

    /// An error response; authenticated (with `key`) when the request was,
    /// listing `unknown` attributes for 420.
    fn respond_error(
        &mut self,
        msg: &Message<'_>,
        from: SocketAddr,
        to: SocketAddr,
        code: u16,
        reason: &str,
        auth: Option<(&[u16], &IntegrityKey)>,
    ) {
        let mut b = MessageBuilder::new(
            &mut self.buf,
            MessageType::new(Class::ErrorResponse, msg.method()),
            msg.transaction_id(),
        );
        let reason = if reason.is_empty() {
            error_code::reason(code)
        } else {
            reason
        };
        let _ = b.add(&Attribute::ErrorCode { code, reason });
        if let Some((unknown, key)) = auth {
            if !unknown.is_empty() {
                let list: Vec<u8> = unknown.iter().flat_map(|t| t.to_be_bytes()).collect();
                let _ = b.add(&Attribute::UnknownAttributes(
                    UnknownAttributes::from_encoded(&list),
                ));
            }
            let _ = b.add_message_integrity(key);
        }
        let _ = b.add_fingerprint();
        let contents = b.finish().to_vec();
        self.queue_transmit(Transmit {
            destination: from,
            source: Some(to),
            contents,
        });
    }
}
