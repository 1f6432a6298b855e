//! Wire formats (RFC 6347 §4.1, §4.2.2; RFC 5246 §7.4; RFC 8422; RFC 5764;
//! RFC 7627; RFC 5746). Pure codec: no handshake logic lives here.

use crate::DtlsError;

/// DTLS 1.2 on the wire (RFC 6347 §4.1: {254, 253}).
pub const DTLS1_2: u16 = 0xfefd;
/// DTLS 1.0, which some stacks put on the record of the first ClientHello.
pub const DTLS1_0: u16 = 0xfeff;
/// Record header length.
pub const RECORD_HEADER_LEN: usize = 13;
/// Handshake message header length.
pub const HANDSHAKE_HEADER_LEN: usize = 12;

/// Record content types (RFC 5246 §6.2.1).
pub mod content_type {
    /// change_cipher_spec.
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    /// alert.
    pub const ALERT: u8 = 21;
    /// handshake.
    pub const HANDSHAKE: u8 = 22;
    /// application_data.
    pub const APPLICATION_DATA: u8 = 23;
}

/// Handshake message types (RFC 5246 §7.4, RFC 6347 §4.3.2).
pub mod handshake_type {
    /// client_hello.
    pub const CLIENT_HELLO: u8 = 1;
    /// server_hello.
    pub const SERVER_HELLO: u8 = 2;
    /// hello_verify_request.
    pub const HELLO_VERIFY_REQUEST: u8 = 3;
    /// certificate.
    pub const CERTIFICATE: u8 = 11;
    /// server_key_exchange.
    pub const SERVER_KEY_EXCHANGE: u8 = 12;
    /// certificate_request.
    pub const CERTIFICATE_REQUEST: u8 = 13;
    /// server_hello_done.
    pub const SERVER_HELLO_DONE: u8 = 14;
    /// certificate_verify.
    pub const CERTIFICATE_VERIFY: u8 = 15;
    /// client_key_exchange.
    pub const CLIENT_KEY_EXCHANGE: u8 = 16;
    /// finished.
    pub const FINISHED: u8 = 20;
}

/// Extension code points.
pub mod extension_type {
    /// supported_groups (RFC 8422).
    pub const SUPPORTED_GROUPS: u16 = 10;
    /// ec_point_formats (RFC 8422).
    pub const EC_POINT_FORMATS: u16 = 11;
    /// signature_algorithms (RFC 5246).
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    /// use_srtp (RFC 5764).
    pub const USE_SRTP: u16 = 14;
    /// extended_master_secret (RFC 7627).
    pub const EXTENDED_MASTER_SECRET: u16 = 23;
    /// renegotiation_info (RFC 5746).
    pub const RENEGOTIATION_INFO: u16 = 0xff01;
}

/// A bounded cursor: every read checks the length first, so malformed input
/// is a [`DtlsError::Decode`], never a panic.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads from `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }
    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }
    /// Whether all was read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DtlsError> {
        if self.buf.len() < n {
            return Err(DtlsError::Decode(what));
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }
    /// One byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DtlsError> {
        Ok(self.take(1, what)?[0])
    }
    /// Big-endian u16.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DtlsError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    /// Big-endian u24.
    pub fn u24(&mut self, what: &'static str) -> Result<u32, DtlsError> {
        let b = self.take(3, what)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }
    /// Big-endian u48.
    pub fn u48(&mut self, what: &'static str) -> Result<u64, DtlsError> {
        let b = self.take(6, what)?;
        Ok(u64::from_be_bytes([
            0, 0, b[0], b[1], b[2], b[3], b[4], b[5],
        ]))
    }
    /// A vector with a one-byte length.
    pub fn vec8(&mut self, what: &'static str) -> Result<&'a [u8], DtlsError> {
        let n = usize::from(self.u8(what)?);
        self.take(n, what)
    }
    /// A vector with a two-byte length.
    pub fn vec16(&mut self, what: &'static str) -> Result<&'a [u8], DtlsError> {
        let n = usize::from(self.u16(what)?);
        self.take(n, what)
    }
    /// A vector with a three-byte length.
    pub fn vec24(&mut self, what: &'static str) -> Result<&'a [u8], DtlsError> {
        let n = self.u24(what)? as usize;
        self.take(n, what)
    }
    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }
    /// Fails unless everything was read.
    pub fn finish(&self, what: &'static str) -> Result<(), DtlsError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DtlsError::Decode(what))
        }
    }
}

pub(crate) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}
pub(crate) fn put_u24(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes()[1..]);
}
pub(crate) fn put_u48(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes()[2..]);
}
pub(crate) fn put_vec8(out: &mut Vec<u8>, v: &[u8]) {
    out.push(v.len().min(255) as u8);
    out.extend_from_slice(&v[..v.len().min(255)]);
}
pub(crate) fn put_vec16(out: &mut Vec<u8>, v: &[u8]) {
    put_u16(out, v.len().min(0xffff) as u16);
    out.extend_from_slice(&v[..v.len().min(0xffff)]);
}
pub(crate) fn put_vec24(out: &mut Vec<u8>, v: &[u8]) {
    put_u24(out, v.len().min(0xff_ffff) as u32);
    out.extend_from_slice(&v[..v.len().min(0xff_ffff)]);
}

/// A record header (RFC 6347 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Content type.
    pub content_type: u8,
    /// Protocol version.
    pub version: u16,
    /// Epoch.
    pub epoch: u16,
    /// 48-bit sequence number.
    pub sequence: u64,
    /// Fragment length.
    pub length: u16,
}

impl RecordHeader {
    /// Appends the 13-byte header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.content_type);
        put_u16(out, self.version);
        put_u16(out, self.epoch);
        put_u48(out, self.sequence);
        put_u16(out, self.length);
    }
}

/// Splits a datagram into records: (header, fragment). Stops at the first
/// malformed record (RFC 6347 §4.1.2.7: the rest of the datagram is dropped).
pub fn records(datagram: &[u8]) -> impl Iterator<Item = Result<(RecordHeader, &[u8]), DtlsError>> {
    let mut r = Reader::new(datagram);
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || r.is_empty() {
            return None;
        }
        let item = (|| {
            let content_type = r.u8("record type")?;
            let version = r.u16("record version")?;
            let epoch = r.u16("record epoch")?;
            let sequence = r.u48("record sequence")?;
            let length = r.u16("record length")?;
            let fragment = r.take(usize::from(length), "record fragment")?;
            if !(20..=23).contains(&content_type) || (version != DTLS1_2 && version != DTLS1_0) {
                return Err(DtlsError::Decode("record header"));
            }
            Ok((
                RecordHeader {
                    content_type,
                    version,
                    epoch,
                    sequence,
                    length,
                },
                fragment,
            ))
        })();
        failed = item.is_err();
        Some(item)
    })
}

/// A handshake message header (RFC 6347 §4.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeHeader {
    /// Message type.
    pub msg_type: u8,
    /// Length of the whole message body.
    pub length: u32,
    /// Message sequence number.
    pub message_seq: u16,
    /// Offset of this fragment.
    pub fragment_offset: u32,
    /// Length of this fragment.
    pub fragment_length: u32,
}

impl HandshakeHeader {
    /// Parses a header and returns it with the fragment that follows.
    pub fn parse(r: &mut Reader<'_>) -> Result<Self, DtlsError> {
        let h = HandshakeHeader {
            msg_type: r.u8("handshake type")?,
            length: r.u24("handshake length")?,
            message_seq: r.u16("message_seq")?,
            fragment_offset: r.u24("fragment_offset")?,
            fragment_length: r.u24("fragment_length")?,
        };
        if u64::from(h.fragment_offset) + u64::from(h.fragment_length) > u64::from(h.length) {
            return Err(DtlsError::Decode("fragment beyond message length"));
        }
        Ok(h)
    }
    /// Appends the 12-byte header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.msg_type);
        put_u24(out, self.length);
        put_u16(out, self.message_seq);
        put_u24(out, self.fragment_offset);
        put_u24(out, self.fragment_length);
    }
}

/// The use_srtp extension (RFC 5764 §4.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UseSrtp {
    /// Protection profiles, in preference order.
    pub profiles: Vec<u16>,
    /// The MKI (empty in WebRTC).
    pub mki: Vec<u8>,
}

/// Hello extensions this implementation understands, plus the rest kept raw.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extensions {
    /// supported_groups.
    pub supported_groups: Option<Vec<u16>>,
    /// ec_point_formats.
    pub ec_point_formats: Option<Vec<u8>>,
    /// signature_algorithms.
    pub signature_algorithms: Option<Vec<u16>>,
    /// use_srtp.
    pub use_srtp: Option<UseSrtp>,
    /// extended_master_secret present.
    pub extended_master_secret: bool,
    /// renegotiation_info (its renegotiated_connection field).
    pub renegotiation_info: Option<Vec<u8>>,
    /// Anything else, in order.
    pub unknown: Vec<(u16, Vec<u8>)>,
}

fn u16_list(v: &[u8], what: &'static str) -> Result<Vec<u16>, DtlsError> {
    if v.len() % 2 != 0 {
        return Err(DtlsError::Decode(what));
    }
    Ok(v.chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect())
}

fn put_u16_list(out: &mut Vec<u8>, list: &[u16]) {
    put_u16(out, (list.len() * 2) as u16);
    for v in list {
        put_u16(out, *v);
    }
}

impl Extensions {
    /// Parses the extensions block (with its two-byte length). Absent block: empty.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DtlsError> {
        let mut e = Extensions::default();
        if r.is_empty() {
            return Ok(e);
        }
        let mut block = Reader::new(r.vec16("extensions")?);
        let mut seen: Vec<u16> = Vec::new();
        while !block.is_empty() {
            let t = block.u16("extension type")?;
            let data = block.vec16("extension data")?;
            if seen.contains(&t) {
                return Err(DtlsError::Decode("duplicate extension"));
            }
            seen.push(t);
            let mut d = Reader::new(data);
            match t {
                extension_type::SUPPORTED_GROUPS => {
                    e.supported_groups =
                        Some(u16_list(d.vec16("supported_groups")?, "supported_groups")?);
                    d.finish("supported_groups")?;
                }
                extension_type::EC_POINT_FORMATS => {
                    e.ec_point_formats = Some(d.vec8("ec_point_formats")?.to_vec());
                    d.finish("ec_point_formats")?;
                }
                extension_type::SIGNATURE_ALGORITHMS => {
                    e.signature_algorithms = Some(u16_list(
                        d.vec16("signature_algorithms")?,
                        "signature_algorithms",
                    )?);
                    d.finish("signature_algorithms")?;
                }
                extension_type::USE_SRTP => {
                    let profiles = u16_list(d.vec16("use_srtp")?, "use_srtp")?;
                    let mki = d.vec8("use_srtp mki")?.to_vec();
                    d.finish("use_srtp")?;
                    e.use_srtp = Some(UseSrtp { profiles, mki });
                }
                extension_type::EXTENDED_MASTER_SECRET => {
                    d.finish("extended_master_secret")?;
                    e.extended_master_secret = true;
                }
                extension_type::RENEGOTIATION_INFO => {
                    e.renegotiation_info = Some(d.vec8("renegotiation_info")?.to_vec());
                    d.finish("renegotiation_info")?;
                }
                _ => e.unknown.push((t, data.to_vec())),
            }
        }
        Ok(e)
    }

    /// Appends the extensions block with its length (nothing if empty).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut b = Vec::new();
        let mut ext = |t: u16, body: Vec<u8>| {
            put_u16(&mut b, t);
            put_vec16(&mut b, &body);
        };
        if let Some(g) = &self.supported_groups {
            let mut v = Vec::new();
            put_u16_list(&mut v, g);
            ext(extension_type::SUPPORTED_GROUPS, v);
        }
        if let Some(f) = &self.ec_point_formats {
            let mut v = Vec::new();
            put_vec8(&mut v, f);
            ext(extension_type::EC_POINT_FORMATS, v);
        }
        if let Some(s) = &self.signature_algorithms {
            let mut v = Vec::new();
            put_u16_list(&mut v, s);
            ext(extension_type::SIGNATURE_ALGORITHMS, v);
        }
        if let Some(u) = &self.use_srtp {
            let mut v = Vec::new();
            put_u16_list(&mut v, &u.profiles);
            put_vec8(&mut v, &u.mki);
            ext(extension_type::USE_SRTP, v);
        }
        if self.extended_master_secret {
            ext(extension_type::EXTENDED_MASTER_SECRET, Vec::new());
        }
        if let Some(r) = &self.renegotiation_info {
            let mut v = Vec::new();
            put_vec8(&mut v, r);
            ext(extension_type::RENEGOTIATION_INFO, v);
        }
        for (t, d) in &self.unknown {
            ext(*t, d.clone());
        }
        if !b.is_empty() {
            put_vec16(out, &b);
        }
    }
}

/// ClientHello (RFC 6347 §4.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// client_version.
    pub version: u16,
    /// random.
    pub random: [u8; 32],
    /// session_id.
    pub session_id: Vec<u8>,
    /// cookie.
    pub cookie: Vec<u8>,
    /// cipher_suites.
    pub cipher_suites: Vec<u16>,
    /// compression_methods.
    pub compression_methods: Vec<u8>,
    /// extensions.
    pub extensions: Extensions,
}

impl ClientHello {
    /// Parses the body.
    pub fn decode(body: &[u8]) -> Result<Self, DtlsError> {
        let mut r = Reader::new(body);
        let version = r.u16("client_version")?;
        let random = r
            .take(32, "random")?
            .try_into()
            .map_err(|_| DtlsError::Decode("random"))?;
        let session_id = r.vec8("session_id")?.to_vec();
        let cookie = r.vec8("cookie")?.to_vec();
        let cipher_suites = u16_list(r.vec16("cipher_suites")?, "cipher_suites")?;
        let compression_methods = r.vec8("compression_methods")?.to_vec();
        let extensions = Extensions::decode(&mut r)?;
        r.finish("client_hello")?;
        if session_id.len() > 32 || cookie.len() > 255 {
            return Err(DtlsError::Decode("client_hello lengths"));
        }
        Ok(ClientHello {
            version,
            random,
            session_id,
            cookie,
            cipher_suites,
            compression_methods,
            extensions,
        })
    }
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, self.version);
        out.extend_from_slice(&self.random);
        put_vec8(out, &self.session_id);
        put_vec8(out, &self.cookie);
        put_u16_list(out, &self.cipher_suites);
        put_vec8(out, &self.compression_methods);
        self.extensions.encode(out);
    }
}

/// ServerHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// server_version.
    pub version: u16,
    /// random.
    pub random: [u8; 32],
    /// session_id.
    pub session_id: Vec<u8>,
    /// The chosen suite.
    pub cipher_suite: u16,
    /// The chosen compression (must be 0).
    pub compression_method: u8,
    /// extensions.
    pub extensions: Extensions,
}

impl ServerHello {
    /// Parses the body.
    pub fn decode(body: &[u8]) -> Result<Self, DtlsError> {
        let mut r = Reader::new(body);
        let version = r.u16("server_version")?;
        let random = r
            .take(32, "random")?
            .try_into()
            .map_err(|_| DtlsError::Decode("random"))?;
        let session_id = r.vec8("session_id")?.to_vec();
        let cipher_suite = r.u16("cipher_suite")?;
        let compression_method = r.u8("compression_method")?;
        let extensions = Extensions::decode(&mut r)?;
        r.finish("server_hello")?;
        Ok(ServerHello {
            version,
            random,
            session_id,
            cipher_suite,
            compression_method,
            extensions,
        })
    }
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, self.version);
        out.extend_from_slice(&self.random);
        put_vec8(out, &self.session_id);
        put_u16(out, self.cipher_suite);
        out.push(self.compression_method);
        self.extensions.encode(out);
    }
}

/// HelloVerifyRequest (RFC 6347 §4.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloVerifyRequest {
    /// server_version.
    pub version: u16,
    /// The cookie.
    pub cookie: Vec<u8>,
}

impl HelloVerifyRequest {
    /// Parses the body.
    pub fn decode(body: &[u8]) -> Result<Self, DtlsError> {
        let mut r = Reader::new(body);
        let version = r.u16("server_version")?;
        let cookie = r.vec8("cookie")?.to_vec();
        r.finish("hello_verify_request")?;
        Ok(HelloVerifyRequest { version, cookie })
    }
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, self.version);
        put_vec8(out, &self.cookie);
    }
}

/// Certificate: the DER chain, leaf first.
pub fn decode_certificate(body: &[u8]) -> Result<Vec<&[u8]>, DtlsError> {
    let mut r = Reader::new(body);
    let mut list = Reader::new(r.vec24("certificate_list")?);
    r.finish("certificate")?;
    let mut certs = Vec::new();
    while !list.is_empty() {
        certs.push(list.vec24("certificate")?);
    }
    Ok(certs)
}

/// Appends a Certificate body.
pub fn encode_certificate(out: &mut Vec<u8>, certs: &[&[u8]]) {
    let mut list = Vec::new();
    for c in certs {
        put_vec24(&mut list, c);
    }
    put_vec24(out, &list);
}

/// ServerKeyExchange for ECDHE (RFC 8422 §5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerKeyExchange {
    /// named_curve.
    pub group: u16,
    /// The server's ephemeral public key.
    pub public: Vec<u8>,
    /// SignatureAndHashAlgorithm.
    pub signature_scheme: u16,
    /// The signature.
    pub signature: Vec<u8>,
}

impl ServerKeyExchange {
    /// Parses the body.
    pub fn decode(body: &[u8]) -> Result<Self, DtlsError> {
        let mut r = Reader::new(body);
        if r.u8("curve_type")? != 3 {
            return Err(DtlsError::Decode("only named_curve is supported"));
        }
        let group = r.u16("named_curve")?;
        let public = r.vec8("ecdh public")?.to_vec();
        let signature_scheme = r.u16("signature algorithm")?;
        let signature = r.vec16("signature")?.to_vec();
        r.finish("server_key_exchange")?;
        Ok(ServerKeyExchange {
            group,
            public,
            signature_scheme,
            signature,
        })
    }
    /// The ServerECDHParams bytes the signature covers.
    pub fn params(group: u16, public: &[u8]) -> Vec<u8> {
        let mut v = vec![3];
        put_u16(&mut v, group);
        put_vec8(&mut v, public);
        v
    }
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&Self::params(self.group, &self.public));
        put_u16(out, self.signature_scheme);
        put_vec16(out, &self.signature);
    }
}

/// CertificateRequest (RFC 5246 §7.4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    /// certificate_types.
    pub certificate_types: Vec<u8>,
    /// supported_signature_algorithms.
    pub signature_schemes: Vec<u16>,
    /// certificate_authorities, raw.
    pub authorities: Vec<u8>,
}

impl CertificateRequest {
    /// Parses the body.
    pub fn decode(body: &[u8]) -> Result<Self, DtlsError> {
        let mut r = Reader::new(body);
        let certificate_types = r.vec8("certificate_types")?.to_vec();
        let signature_schemes = u16_list(r.vec16("signature_algorithms")?, "signature_algorithms")?;
        let authorities = r.vec16("certificate_authorities")?.to_vec();
        r.finish("certificate_request")?;
        Ok(CertificateRequest {
            certificate_types,
            signature_schemes,
            authorities,
        })
    }
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_vec8(out, &self.certificate_types);
        put_u16_list(out, &self.signature_schemes);
        put_vec16(out, &self.authorities);
    }
}

/// A digitally-signed element: CertificateVerify's body (RFC 5246 §7.4.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitallySigned {
    /// SignatureAndHashAlgorithm.
    pub signature_scheme: u16,
    /// The signature.
    pub signature: Vec<u8>,
}

impl DigitallySigned {
    /// Parses the body.
    pub fn decode(body: &[u8]) -> Result<Self, DtlsError> {
        let mut r = Reader::new(body);
        let signature_scheme = r.u16("signature algorithm")?;
        let signature = r.vec16("signature")?.to_vec();
        r.finish("certificate_verify")?;
        Ok(DigitallySigned {
            signature_scheme,
            signature,
        })
    }
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, self.signature_scheme);
        put_vec16(out, &self.signature);
    }
}

/// ClientKeyExchange for ECDHE: the client's public key.
pub fn decode_client_key_exchange(body: &[u8]) -> Result<&[u8], DtlsError> {
    let mut r = Reader::new(body);
    let p = r.vec8("ecdh public")?;
    r.finish("client_key_exchange")?;
    Ok(p)
}

/// Appends a ClientKeyExchange body.
pub fn encode_client_key_exchange(out: &mut Vec<u8>, public: &[u8]) {
    put_vec8(out, public);
}

/// An alert (RFC 5246 §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alert {
    /// 1 warning, 2 fatal.
    pub level: u8,
    /// The description code.
    pub description: u8,
}

/// Alert descriptions used here.
pub mod alert {
    /// close_notify.
    pub const CLOSE_NOTIFY: u8 = 0;
    /// unexpected_message.
    pub const UNEXPECTED_MESSAGE: u8 = 10;
    /// bad_record_mac.
    pub const BAD_RECORD_MAC: u8 = 20;
    /// handshake_failure.
    pub const HANDSHAKE_FAILURE: u8 = 40;
    /// bad_certificate.
    pub const BAD_CERTIFICATE: u8 = 42;
    /// illegal_parameter.
    pub const ILLEGAL_PARAMETER: u8 = 47;
    /// decode_error.
    pub const DECODE_ERROR: u8 = 50;
    /// decrypt_error.
    pub const DECRYPT_ERROR: u8 = 51;
    /// protocol_version.
    pub const PROTOCOL_VERSION: u8 = 70;
    /// insufficient_security.
    pub const INSUFFICIENT_SECURITY: u8 = 71;
    /// internal_error.
    pub const INTERNAL_ERROR: u8 = 80;
    /// no_renegotiation.
    pub const NO_RENEGOTIATION: u8 = 100;
}

impl Alert {
    /// Parses an alert.
    pub fn decode(body: &[u8]) -> Result<Self, DtlsError> {
        match body {
            [level, description] => Ok(Alert {
                level: *level,
                description: *description,
            }),
            _ => Err(DtlsError::Decode("alert")),
        }
    }
}
