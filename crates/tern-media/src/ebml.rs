//! EBML (RFC 8794) element encoding: variable-size integers, element IDs
//! and the few value types a Matroska writer needs.

/// RFC 8794 §6.2: an 8-octet VINT with all value bits set means "unknown size".
pub(crate) const UNKNOWN_SIZE: [u8; 8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

/// Appends an element ID: IDs already carry their VINT marker (RFC 8794 §5),
/// so they are written as their big-endian bytes without leading zeros.
pub(crate) fn put_id(out: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = (id.leading_zeros() / 8).min(3) as usize;
    out.extend_from_slice(bytes.get(skip..).unwrap_or_default());
}

/// Appends `v` as the shortest VINT (RFC 8794 §4) that can hold it without
/// using the reserved all-ones value.
pub(crate) fn put_vint(out: &mut Vec<u8>, v: u64) {
    let mut len = 1u32;
    while len < 8 && v >= (1u64 << (7 * len)) - 1 {
        len += 1;
    }
    let marked = v | (1u64 << (7 * len));
    let bytes = marked.to_be_bytes();
    out.extend_from_slice(bytes.get(8 - len as usize..).unwrap_or_default());
}

/// Appends an element holding raw bytes (binary, string or a finished master body).
pub(crate) fn put_bytes(out: &mut Vec<u8>, id: u32, data: &[u8]) {
    put_id(out, id);
    put_vint(out, data.len() as u64);
    out.extend_from_slice(data);
}

/// Appends an unsigned integer element in its shortest big-endian form.
pub(crate) fn put_uint(out: &mut Vec<u8>, id: u32, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = ((v.leading_zeros() / 8) as usize).min(7);
    put_bytes(out, id, bytes.get(skip..).unwrap_or_default());
}

/// Appends an 8-octet float element.
pub(crate) fn put_float(out: &mut Vec<u8>, id: u32, v: f64) {
    put_bytes(out, id, &v.to_be_bytes());
}

/// Appends a master element whose children `body` writes.
pub(crate) fn put_master(out: &mut Vec<u8>, id: u32, body: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    body(&mut inner);
    put_bytes(out, id, &inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vints_use_the_shortest_length_and_avoid_all_ones() {
        let enc = |v| {
            let mut o = Vec::new();
            put_vint(&mut o, v);
            o
        };
        // RFC 8794 §4: an n-octet VINT holds 7n value bits after its marker;
        // the all-ones value of each length is reserved for unknown size (§6.2),
        // so 127 needs two octets.
        assert_eq!(enc(1), [0x81]);
        assert_eq!(enc(126), [0xFE]);
        assert_eq!(enc(127), [0x40, 0x7F]);
        assert_eq!(enc(16382), [0x7F, 0xFE]);
        assert_eq!(enc(16383), [0x20, 0x3F, 0xFF]);
    }

    #[test]
    fn ids_keep_their_marker_bytes() {
        let mut o = Vec::new();
        put_id(&mut o, 0x1A45_DFA3);
        put_id(&mut o, 0xA3);
        put_id(&mut o, 0x4286);
        assert_eq!(o, [0x1A, 0x45, 0xDF, 0xA3, 0xA3, 0x42, 0x86]);
        let mut u = Vec::new();
        put_uint(&mut u, 0xD7, 0);
        put_uint(&mut u, 0xD7, 0x1234);
        assert_eq!(u, [0xD7, 0x81, 0x00, 0xD7, 0x82, 0x12, 0x34]);
    }
}
