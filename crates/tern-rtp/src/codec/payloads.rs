/// A reusable arena of RTP payloads for one frame: one byte buffer and the
/// end offset and marker bit of each payload. Clearing keeps the capacity, so
/// packetizing frame after frame into the same `Payloads` does not allocate
/// once it has grown to the largest frame.
#[derive(Debug, Default, Clone)]
pub struct Payloads {
    buf: Vec<u8>,
    /// (end offset in `buf`, marker) per payload.
    ends: Vec<(usize, bool)>,
}

impl Payloads {
    /// An empty arena.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forget the payloads, keeping the capacity.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
    }

    /// How many payloads are held.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether no payload is held.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Total bytes of all payloads.
    pub fn total_len(&self) -> usize {
        self.buf.len()
    }

    /// Payload `i` and its marker bit.
    pub fn get(&self, i: usize) -> Option<(&[u8], bool)> {
        let &(end, marker) = self.ends.get(i)?;
        let start = match i.checked_sub(1) {
            Some(p) => self.ends.get(p).map_or(0, |e| e.0),
            None => 0,
        };
        self.buf.get(start..end).map(|p| (p, marker))
    }

    /// The payloads in order, each with its marker bit.
    pub fn iter(&self) -> PayloadsIter<'_> {
        PayloadsIter {
            payloads: self,
            next: 0,
        }
    }

    /// Append one payload made of `parts` concatenated.
    pub(crate) fn push(&mut self, parts: &[&[u8]], marker: bool) {
        for p in parts {
            self.buf.extend_from_slice(p);
        }
        self.ends.push((self.buf.len(), marker));
    }

    /// Start a payload written piecewise with [`Payloads::extend`] and ended
    /// by [`Payloads::finish`].
    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes written since the last finished payload.
    pub(crate) fn open_len(&self) -> usize {
        self.buf.len() - self.ends.last().map_or(0, |e| e.0)
    }

    /// End the payload being written piecewise.
    pub(crate) fn finish(&mut self, marker: bool) {
        self.ends.push((self.buf.len(), marker));
    }

    /// Shorten the open payload to `len` bytes.
    pub(crate) fn truncate_open(&mut self, len: usize) {
        let start = self.ends.last().map_or(0, |e| e.0);
        self.buf.truncate(start + len);
    }

    /// Set the marker bit of the last payload.
    pub(crate) fn mark_last(&mut self) {
        if let Some(e) = self.ends.last_mut() {
            e.1 = true;
        }
    }

    /// The last payload, mutably (for fixing up a header written before its
    /// contents were known).
    pub(crate) fn open_bytes_mut(&mut self) -> &mut [u8] {
        let start = self.ends.last().map_or(0, |e| e.0);
        // `start` is an offset this arena wrote, never past `buf.len()`.
        &mut self.buf[start..]
    }
}

/// Iterator over [`Payloads`]: `(payload, marker)`.
#[derive(Debug, Clone)]
pub struct PayloadsIter<'a> {
    payloads: &'a Payloads,
    next: usize,
}

impl<'a> Iterator for PayloadsIter<'a> {
    type Item = (&'a [u8], bool);
    fn next(&mut self) -> Option<Self::Item> {
        let item = self.payloads.get(self.next)?;
        self.next += 1;
        Some(item)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.payloads.len().saturating_sub(self.next);
        (n, Some(n))
    }
}

impl ExactSizeIterator for PayloadsIter<'_> {}

impl<'a> IntoIterator for &'a Payloads {
    type Item = (&'a [u8], bool);
    type IntoIter = PayloadsIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
