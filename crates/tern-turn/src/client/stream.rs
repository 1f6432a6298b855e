//! Cutting a TCP/TLS byte stream into STUN and ChannelData frames
//! (RFC 8656 §12.5), holding at most one partial frame.

use crate::channel_data::{padded_len, stream_frame_len};

/// The largest frame: a STUN message with the maximal length field that is a
/// multiple of four (20 + 65,532), which exceeds the largest padded
/// ChannelData (4 + 65,535 + 1).
pub(crate) const MAX_FRAME: usize = 20 + 65_532;
/// Capacity kept after a large frame was reassembled, so thousands of idle
/// clients do not each hold 64 KiB.
const RETAINED_CAPACITY: usize = 2048;

/// Why the stream cannot be framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Corrupted;

/// The length of the frame starting at `buf`, if its header is complete.
fn frame_len(buf: &[u8]) -> Result<Option<usize>, Corrupted> {
    match stream_frame_len(buf) {
        Ok(Some(n)) => {
            // A STUN length that is not a multiple of four cannot be framed.
            if buf.first().is_some_and(|b| b >> 6 == 0) && (n - 20) % 4 != 0 {
                return Err(Corrupted);
            }
            debug_assert!(n <= MAX_FRAME.max(padded_len(usize::from(u16::MAX))));
            Ok(Some(n))
        }
        Ok(None) => Ok(None),
        Err(_) => Err(Corrupted),
    }
}

/// The partial frame carried between reads.
#[derive(Debug, Default)]
pub(crate) struct StreamBuffer {
    partial: Vec<u8>,
}

impl StreamBuffer {
    /// Bytes held.
    pub fn len(&self) -> usize {
        self.partial.len()
    }

    /// Feeds `input`, calling `frame` for every complete frame in order.
    /// Frames entirely inside `input` are passed without copying. On
    /// corruption the partial frame is discarded and nothing more is framed.
    pub fn feed(
        &mut self,
        mut input: &[u8],
        mut frame: impl FnMut(&[u8]),
    ) -> Result<(), Corrupted> {
        while !input.is_empty() {
            if self.partial.is_empty() {
                match frame_len(input)? {
                    Some(n) if input.len() >= n => {
                        frame(&input[..n]);
                        input = &input[n..];
                    }
                    _ => {
                        // Incomplete: at most one frame's worth is kept, as
                        // frame_len bounds n and input is shorter than n.
                        self.partial.extend_from_slice(input);
                        return Ok(());
                    }
                }
                continue;
            }
            if self.partial.len() < 4 {
                let take = (4 - self.partial.len()).min(input.len());
                self.partial.extend_from_slice(&input[..take]);
                input = &input[take..];
            }
            let Some(n) = frame_len(&self.partial).inspect_err(|_| self.partial.clear())? else {
                return Ok(());
            };
            let take = (n - self.partial.len()).min(input.len());
            self.partial.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.partial.len() < n {
                return Ok(());
            }
            frame(&self.partial);
            self.partial.clear();
            if self.partial.capacity() > RETAINED_CAPACITY {
                self.partial.shrink_to(RETAINED_CAPACITY);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_anywhere() {
        // A STUN header-only message (20 bytes) then ChannelData with 5 bytes padded to 12.
        let mut stream = vec![0u8, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42];
        stream.extend_from_slice(&[7; 12]);
        stream.extend_from_slice(&[0x40, 0x00, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0]);
        for cut in 0..=stream.len() {
            let mut sb = StreamBuffer::default();
            let mut frames = Vec::new();
            sb.feed(&stream[..cut], |f| frames.push(f.to_vec()))
                .unwrap();
            sb.feed(&stream[cut..], |f| frames.push(f.to_vec()))
                .unwrap();
            assert_eq!(frames.len(), 2, "cut at {cut}");
            assert_eq!(frames[0].len(), 20);
            assert_eq!(frames[1].len(), 12);
            assert_eq!(sb.len(), 0);
        }
    }

    #[test]
    fn garbage_is_corruption() {
        let mut sb = StreamBuffer::default();
        assert_eq!(sb.feed(&[0x80, 0, 0, 0], |_| {}), Err(Corrupted));
        let mut sb = StreamBuffer::default();
        sb.feed(&[0x00, 0x01], |_| {}).unwrap();
        assert_eq!(sb.feed(&[0x00, 0x03], |_| {}), Err(Corrupted));
        assert_eq!(sb.len(), 0);
    }
}
