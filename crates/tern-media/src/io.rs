//! Small reading helpers shared by the readers: exact reads that tell a clean
//! end of input from a structure cut short, and bounded reads that grow their
//! buffer only as data arrives (a hostile size field cannot make us allocate).

use std::io::{ErrorKind, Read};

use crate::error::{MediaError, Result};

/// The largest frame, packet or NAL unit any reader accepts: 16 MiB.
pub const MAX_FRAME_SIZE: usize = 16 * 1024 * 1024;

/// Fills `buf` completely, or returns `Ok(false)` if the input ended before
/// the first byte. Ending after some bytes is [`MediaError::Truncated`].
pub(crate) fn read_exact_or_eof<R: Read>(
    r: &mut R,
    buf: &mut [u8],
    what: &'static str,
) -> Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = buf.get_mut(filled..).unwrap_or_default();
        match r.read(rest) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(MediaError::Truncated { what }),
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

/// Fills `buf` completely; any early end is [`MediaError::Truncated`].
pub(crate) fn read_exact<R: Read>(r: &mut R, buf: &mut [u8], what: &'static str) -> Result<()> {
    if buf.is_empty() || read_exact_or_eof(r, buf, what)? {
        Ok(())
    } else {
        Err(MediaError::Truncated { what })
    }
}

/// Appends exactly `len` bytes to `out`, growing it as bytes arrive rather
/// than trusting `len` up front.
pub(crate) fn read_append<R: Read>(
    r: &mut R,
    len: usize,
    out: &mut Vec<u8>,
    what: &'static str,
) -> Result<()> {
    let want = len as u64;
    let got = r.by_ref().take(want).read_to_end(out)? as u64;
    if got == want {
        Ok(())
    } else {
        Err(MediaError::Truncated { what })
    }
}
