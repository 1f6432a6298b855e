//! Frame assembly: a jitter buffer that reorders RTP payloads, finds
//! complete frames with the codec's rules and hands them out in order.

mod jitter;

pub use jitter::{FrameInfo, JitterBuffer, JitterConfig, JitterEvent, JitterStats, LossInfo, PushOutcome};

#[cfg(test)]
mod tests;
