//! Frame assembly: a jitter buffer that reorders RTP payloads, finds
//! complete frames with the codec's rules and hands them out in order.

mod jitter;

pub use jitter::{
    FrameInfo, JitterBuffer, JitterConfig, JitterEvent, JitterStats, LossInfo, PushOutcome,
};

#[cfg(test)]
// Tests need an arbitrary origin for virtual time; only differences matter.
#[allow(clippy::disallowed_methods)]
mod tests;
