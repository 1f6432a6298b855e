//! The signaling-state machine of JSEP (RFC 8829 §3.2, W3C
//! `setLocalDescription`/`setRemoteDescription`) as one pure function, so
//! both `set_*_description` paths check transitions the same way.

use crate::description::SdpType;
use crate::error::PeerError;
use crate::state::SignalingState;

/// Which description is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// `setLocalDescription`.
    Local,
    /// `setRemoteDescription`.
    Remote,
}

/// The state after applying a description of `sdp_type` from `side` in
/// `state`, or why it cannot be applied. Provisional answers are not
/// supported (no browser sends them in WebRTC's common flows).
///
/// An offer from the peer while ours is outstanding is glare: the caller
/// must roll back first (the W3C "perfect negotiation" pattern does that
/// explicitly).
pub(crate) fn next_state(
    state: SignalingState,
    side: Side,
    sdp_type: SdpType,
) -> Result<SignalingState, PeerError> {
    use SdpType as T;
    use Side::{Local, Remote};
    use SignalingState as S;
    if state == S::Closed {
        return Err(PeerError::Closed);
    }
    let next = match (side, sdp_type, state) {
        (_, T::Pranswer, _) => {
            return Err(PeerError::Unsupported(
                "provisional answers (pranswer)".into(),
            ))
        }
        (Local, T::Offer, S::Stable | S::HaveLocalOffer) => S::HaveLocalOffer,
        (Local, T::Answer, S::HaveRemoteOffer) => S::Stable,
        (Local, T::Rollback, S::HaveLocalOffer) => S::Stable,
        (Remote, T::Offer, S::Stable | S::HaveRemoteOffer) => S::HaveRemoteOffer,
        (Remote, T::Answer, S::HaveLocalOffer) => S::Stable,
        (Remote, T::Rollback, S::HaveRemoteOffer) => S::Stable,
        (Local, T::Offer, s) => {
            return Err(PeerError::InvalidState(format!(
                "set_local_description(offer) in {s:?}: answer the peer's offer first"
            )))
        }
        (Local, T::Answer, s) => {
            return Err(PeerError::InvalidState(format!(
                "set_local_description(answer) in {s:?}: there is no remote offer"
            )))
        }
        (Local, T::Rollback, s) => {
            return Err(PeerError::InvalidState(format!(
                "nothing local to roll back in {s:?}"
            )))
        }
        (Remote, T::Offer, s) => {
            return Err(PeerError::InvalidState(format!(
                "set_remote_description(offer) in {s:?}: roll back our offer first (glare)"
            )))
        }
        (Remote, T::Answer, s) => {
            return Err(PeerError::InvalidState(format!(
                "set_remote_description(answer) in {s:?}: we made no offer"
            )))
        }
        (Remote, T::Rollback, s) => {
            return Err(PeerError::InvalidState(format!(
                "nothing remote to roll back in {s:?}"
            )))
        }
    };
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use SdpType as T;
    use SignalingState as S;

    /// Every (state, side, type) combination against the RFC 8829 §3.2
    /// state diagram (without pranswer).
    #[test]
    fn exhaustive_transition_table() {
        let states = [S::Stable, S::HaveLocalOffer, S::HaveRemoteOffer, S::Closed];
        let types = [T::Offer, T::Answer, T::Pranswer, T::Rollback];
        let expected = |st: S, side: Side, t: T| -> Option<S> {
            match (side, t, st) {
                (Side::Local, T::Offer, S::Stable) => Some(S::HaveLocalOffer),
                (Side::Local, T::Offer, S::HaveLocalOffer) => Some(S::HaveLocalOffer),
                (Side::Local, T::Answer, S::HaveRemoteOffer) => Some(S::Stable),
                (Side::Local, T::Rollback, S::HaveLocalOffer) => Some(S::Stable),
                (Side::Remote, T::Offer, S::Stable) => Some(S::HaveRemoteOffer),
                (Side::Remote, T::Offer, S::HaveRemoteOffer) => Some(S::HaveRemoteOffer),
                (Side::Remote, T::Answer, S::HaveLocalOffer) => Some(S::Stable),
                (Side::Remote, T::Rollback, S::HaveRemoteOffer) => Some(S::Stable),
                _ => None,
            }
        };
        let mut allowed = 0;
        for st in states {
            for side in [Side::Local, Side::Remote] {
                for t in types {
                    let got = next_state(st, side, t);
                    match expected(st, side, t) {
                        Some(want) => {
                            assert_eq!(got.ok(), Some(want), "{st:?} {side:?} {t:?}");
                            allowed += 1;
                        }
                        None => {
                            let e = got.expect_err("must be refused");
                            match (st, t) {
                                (S::Closed, _) => assert!(matches!(e, PeerError::Closed)),
                                (_, T::Pranswer) => {
                                    assert!(matches!(e, PeerError::Unsupported(_)))
                                }
                                _ => assert!(matches!(e, PeerError::InvalidState(_)), "{e}"),
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(allowed, 8);
    }

    #[test]
    fn glare_error_says_what_to_do() {
        let e = next_state(S::HaveLocalOffer, Side::Remote, T::Offer).unwrap_err();
        assert!(e.to_string().contains("roll back"), "{e}");
    }
}
