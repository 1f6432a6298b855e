//! SCTP packets and chunks (RFC 9260 §3, RFC 3758 §3.2, RFC 9653, RFC 6525 §3).
//! Pure codec: parsing never panics; a malformed packet is an error.

use bytes::Bytes;

use crate::tsn::Tsn;

/// Why a packet or chunk did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChunkError {
    /// Shorter than a header, or a length past the end.
    Truncated,
    /// The CRC32c does not match.
    BadChecksum,
    /// A chunk value violates its definition.
    Malformed(&'static str),
}

impl std::fmt::Display for ChunkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChunkError::Truncated => write!(f, "SCTP packet truncated"),
            ChunkError::BadChecksum => write!(f, "SCTP checksum mismatch"),
            ChunkError::Malformed(w) => write!(f, "malformed SCTP {w}"),
        }
    }
}
impl std::error::Error for ChunkError {}

/// Chunk type codes.
pub mod chunk_type {
    /// DATA.
    pub const DATA: u8 = 0;
    /// INIT.
    pub const INIT: u8 = 1;
    /// INIT ACK.
    pub const INIT_ACK: u8 = 2;
    /// SACK.
    pub const SACK: u8 = 3;
    /// HEARTBEAT.
    pub const HEARTBEAT: u8 = 4;
    /// HEARTBEAT ACK.
    pub const HEARTBEAT_ACK: u8 = 5;
    /// ABORT.
    pub const ABORT: u8 = 6;
    /// SHUTDOWN.
    pub const SHUTDOWN: u8 = 7;
    /// SHUTDOWN ACK.
    pub const SHUTDOWN_ACK: u8 = 8;
    /// ERROR.
    pub const ERROR: u8 = 9;
    /// COOKIE ECHO.
    pub const COOKIE_ECHO: u8 = 10;
    /// COOKIE ACK.
    pub const COOKIE_ACK: u8 = 11;
    /// SHUTDOWN COMPLETE.
    pub const SHUTDOWN_COMPLETE: u8 = 14;
    /// RE-CONFIG (RFC 6525).
    pub const RE_CONFIG: u8 = 130;
    /// FORWARD TSN (RFC 3758).
    pub const FORWARD_TSN: u8 = 192;
}

/// INIT/INIT ACK parameter types.
pub mod param_type {
    /// State Cookie.
    pub const STATE_COOKIE: u16 = 7;
    /// Zero Checksum Acceptable (RFC 9653).
    pub const ZERO_CHECKSUM_ACCEPTABLE: u16 = 0x8001;
    /// Supported Extensions (RFC 5061).
    pub const SUPPORTED_EXTENSIONS: u16 = 0x8008;
    /// Forward-TSN-Supported (RFC 3758).
    pub const FORWARD_TSN_SUPPORTED: u16 = 0xc000;
}

/// The common header (RFC 9260 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommonHeader {
    /// Source port.
    pub source_port: u16,
    /// Destination port.
    pub destination_port: u16,
    /// Verification tag.
    pub verification_tag: u32,
}

/// INIT and INIT ACK (RFC 9260 §3.3.2–3.3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Init {
    /// Initiate Tag: what the peer must put in our packets' verification tag.
    pub initiate_tag: u32,
    /// Advertised receiver window credit.
    pub a_rwnd: u32,
    /// Outbound streams.
    pub outbound_streams: u16,
    /// Maximum inbound streams.
    pub inbound_streams: u16,
    /// Initial TSN.
    pub initial_tsn: Tsn,
    /// State Cookie (INIT ACK only).
    pub cookie: Option<Vec<u8>>,
    /// Forward-TSN-Supported.
    pub forward_tsn: bool,
    /// Zero Checksum Acceptable with the DTLS method (RFC 9653).
    pub zero_checksum: bool,
    /// Supported Extensions chunk types.
    pub extensions: Vec<u8>,
}

/// One DATA chunk (RFC 9260 §3.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data {
    /// TSN.
    pub tsn: Tsn,
    /// Stream identifier.
    pub stream: u16,
    /// Stream sequence number.
    pub ssn: u16,
    /// Payload protocol identifier.
    pub ppid: u32,
    /// Unordered (U bit).
    pub unordered: bool,
    /// First fragment (B bit).
    pub begin: bool,
    /// Last fragment (E bit).
    pub end: bool,
    /// Immediate SACK requested (I bit, RFC 7053).
    pub immediate: bool,
    /// User data (non-empty): a slice of the received packet, or of the
    /// message being sent, never a copy.
    pub payload: Bytes,
}

/// SACK (RFC 9260 §3.3.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sack {
    /// Cumulative TSN ack.
    pub cumulative_tsn: u32,
    /// Advertised receiver window.
    pub a_rwnd: u32,
    /// Gap ack blocks as offsets from the cumulative TSN (start, end), inclusive.
    pub gaps: Vec<(u16, u16)>,
    /// Duplicate TSNs received.
    pub duplicates: Vec<u32>,
}

/// RE-CONFIG parameter types (RFC 6525 §4).
pub mod reconfig_type {
    /// Outgoing SSN Reset Request.
    pub const OUTGOING_RESET: u16 = 13;
    /// Incoming SSN Reset Request.
    pub const INCOMING_RESET: u16 = 14;
    /// Re-configuration Response.
    pub const RESPONSE: u16 = 16;
}

/// Re-configuration Response results (RFC 6525 §4.4).
pub mod reconfig_result {
    /// Success - Nothing to do.
    pub const NOTHING_TO_DO: u32 = 0;
    /// Success - Performed.
    pub const PERFORMED: u32 = 1;
    /// Denied.
    pub const DENIED: u32 = 2;
    /// Error - Bad Sequence Number.
    pub const BAD_SEQUENCE: u32 = 5;
    /// In progress.
    pub const IN_PROGRESS: u32 = 6;
}

/// One RE-CONFIG parameter (RFC 6525 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReconfigParam {
    /// Outgoing SSN Reset Request: the sender resets these outgoing streams
    /// after `last_tsn` (all streams when the list is empty).
    OutgoingReset {
        /// Re-configuration Request Sequence Number.
        request_seq: u32,
        /// Re-configuration Response Sequence Number.
        response_seq: u32,
        /// Sender's last assigned TSN.
        last_tsn: Tsn,
        /// Streams.
        streams: Vec<u16>,
    },
    /// Incoming SSN Reset Request: asks the receiver to reset its outgoing streams.
    IncomingReset {
        /// Re-configuration Request Sequence Number.
        request_seq: u32,
        /// Streams.
        streams: Vec<u16>,
    },
    /// Re-configuration Response.
    Response {
        /// The request answered.
        response_seq: u32,
        /// One of [`reconfig_result`].
        result: u32,
    },
    /// Any other parameter (SSN/TSN reset, add streams), kept raw.
    Other {
        /// Parameter type.
        param_type: u16,
        /// Value.
        value: Vec<u8>,
    },
}

fn decode_reconfig(v: &[u8]) -> Result<Vec<ReconfigParam>, ChunkError> {
    let mut params = Vec::new();
    let mut p = 0;
    while p < v.len() {
        if v.len() - p < 4 {
            return Err(ChunkError::Malformed("RE-CONFIG parameter"));
        }
        let t = be16(v, p);
        let len = usize::from(be16(v, p + 2));
        if len < 4 || p + len > v.len() {
            return Err(ChunkError::Malformed("RE-CONFIG parameter length"));
        }
        let val = &v[p + 4..p + len];
        let streams = |from: usize| -> Result<Vec<u16>, ChunkError> {
            if val.len() < from || (val.len() - from) % 2 != 0 {
                return Err(ChunkError::Malformed("RE-CONFIG stream list"));
            }
            Ok((from..val.len()).step_by(2).map(|i| be16(val, i)).collect())
        };
        params.push(match t {
            reconfig_type::OUTGOING_RESET => {
                if val.len() < 12 {
                    return Err(ChunkError::Malformed("Outgoing SSN Reset Request"));
                }
                ReconfigParam::OutgoingReset {
                    request_seq: be32(val, 0),
                    response_seq: be32(val, 4),
                    last_tsn: Tsn(be32(val, 8)),
                    streams: streams(12)?,
                }
            }
            reconfig_type::INCOMING_RESET => {
                if val.len() < 4 {
                    return Err(ChunkError::Malformed("Incoming SSN Reset Request"));
                }
                ReconfigParam::IncomingReset {
                    request_seq: be32(val, 0),
                    streams: streams(4)?,
                }
            }
            reconfig_type::RESPONSE => {
                if val.len() != 8 && val.len() != 16 {
                    return Err(ChunkError::Malformed("Re-configuration Response"));
                }
                ReconfigParam::Response {
                    response_seq: be32(val, 0),
                    result: be32(val, 4),
                }
            }
            _ => ReconfigParam::Other {
                param_type: t,
                value: val.to_vec(),
            },
        });
        p += (len + 3) & !3;
    }
    if params.is_empty() || params.len() > 2 {
        return Err(ChunkError::Malformed("RE-CONFIG parameter count"));
    }
    Ok(params)
}

fn encode_reconfig(v: &mut Vec<u8>, params: &[ReconfigParam]) {
    for param in params {
        let start = v.len();
        v.extend_from_slice(&[0; 4]);
        let t = match param {
            ReconfigParam::OutgoingReset {
                request_seq,
                response_seq,
                last_tsn,
                streams,
            } => {
                v.extend_from_slice(&request_seq.to_be_bytes());
                v.extend_from_slice(&response_seq.to_be_bytes());
                v.extend_from_slice(&last_tsn.0.to_be_bytes());
                for s in streams {
                    v.extend_from_slice(&s.to_be_bytes());
                }
                reconfig_type::OUTGOING_RESET
            }
            ReconfigParam::IncomingReset {
                request_seq,
                streams,
            } => {
                v.extend_from_slice(&request_seq.to_be_bytes());
                for s in streams {
                    v.extend_from_slice(&s.to_be_bytes());
                }
                reconfig_type::INCOMING_RESET
            }
            ReconfigParam::Response {
                response_seq,
                result,
            } => {
                v.extend_from_slice(&response_seq.to_be_bytes());
                v.extend_from_slice(&result.to_be_bytes());
                reconfig_type::RESPONSE
            }
            ReconfigParam::Other { param_type, value } => {
                v.extend_from_slice(value);
                *param_type
            }
        };
        let len = (v.len() - start) as u16;
        v[start..start + 2].copy_from_slice(&t.to_be_bytes());
        v[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
        pad(v);
    }
}

/// A chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Chunk {
    /// DATA.
    Data(Data),
    /// INIT.
    Init(Init),
    /// INIT ACK.
    InitAck(Init),
    /// SACK.
    Sack(Sack),
    /// HEARTBEAT with its opaque info.
    Heartbeat(Vec<u8>),
    /// HEARTBEAT ACK echoing the info.
    HeartbeatAck(Vec<u8>),
    /// ABORT with its cause bytes.
    Abort {
        /// T bit: the tag is reflected.
        reflected: bool,
        /// Error causes, raw.
        causes: Vec<u8>,
    },
    /// SHUTDOWN with the cumulative TSN ack.
    Shutdown(u32),
    /// SHUTDOWN ACK.
    ShutdownAck,
    /// SHUTDOWN COMPLETE.
    ShutdownComplete {
        /// T bit.
        reflected: bool,
    },
    /// ERROR, raw causes.
    Error(Vec<u8>),
    /// COOKIE ECHO.
    CookieEcho(Vec<u8>),
    /// COOKIE ACK.
    CookieAck,
    /// FORWARD TSN: new cumulative TSN and (stream, ssn) pairs.
    ForwardTsn {
        /// New cumulative TSN.
        new_cumulative_tsn: u32,
        /// Streams whose sequence advanced.
        streams: Vec<(u16, u16)>,
    },
    /// RE-CONFIG (RFC 6525 §3.1): one or two parameters.
    ReConfig(Vec<ReconfigParam>),
    /// Any other chunk, kept raw.
    Unknown {
        /// Type.
        chunk_type: u8,
        /// Flags.
        flags: u8,
        /// Value.
        value: Vec<u8>,
    },
}

fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}
fn be32(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Parses a packet: checks the CRC32c (unless `zero_checksum_ok` and the
/// field is zero, RFC 9653) and returns the header and chunks.
pub fn parse_packet(
    buf: &[u8],
    zero_checksum_ok: bool,
) -> Result<(CommonHeader, Vec<Chunk>), ChunkError> {
    let mut chunks = Vec::new();
    let h = parse_packet_into(&Bytes::copy_from_slice(buf), zero_checksum_ok, &mut chunks)?;
    Ok((h, chunks))
}

/// Parses a packet into `chunks` (cleared first); DATA payloads are
/// slices of `buf`.
pub fn parse_packet_into(
    buf: &Bytes,
    zero_checksum_ok: bool,
    chunks: &mut Vec<Chunk>,
) -> Result<CommonHeader, ChunkError> {
    chunks.clear();
    if buf.len() < 12 {
        return Err(ChunkError::Truncated);
    }
    let stored = u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]);
    if !(zero_checksum_ok && stored == 0) {
        let mut c = crc32c::crc32c(&buf[..8]);
        c = crc32c::crc32c_append(c, &[0; 4]);
        c = crc32c::crc32c_append(c, &buf[12..]);
        if c != stored {
            return Err(ChunkError::BadChecksum);
        }
    }
    let header = CommonHeader {
        source_port: be16(buf, 0),
        destination_port: be16(buf, 2),
        verification_tag: be32(buf, 4),
    };
    let mut pos = 12;
    while pos < buf.len() {
        if buf.len() - pos < 4 {
            return Err(ChunkError::Truncated);
        }
        let t = buf[pos];
        let flags = buf[pos + 1];
        let len = usize::from(be16(buf, pos + 2));
        if len < 4 || pos + len > buf.len() {
            return Err(ChunkError::Truncated);
        }
        let v = &buf[pos + 4..pos + len];
        chunks.push(if t == chunk_type::DATA {
            decode_data(flags, v, || buf.slice(pos + 16..pos + len))?
        } else {
            decode_chunk(t, flags, v)?
        });
        pos += (len + 3) & !3;
    }
    Ok(header)
}

fn decode_init(v: &[u8], ack: bool) -> Result<Init, ChunkError> {
    if v.len() < 16 {
        return Err(ChunkError::Malformed("INIT"));
    }
    let mut init = Init {
        initiate_tag: be32(v, 0),
        a_rwnd: be32(v, 4),
        outbound_streams: be16(v, 8),
        inbound_streams: be16(v, 10),
        initial_tsn: Tsn(be32(v, 12)),
        cookie: None,
        forward_tsn: false,
        zero_checksum: false,
        extensions: Vec::new(),
    };
    if init.initiate_tag == 0 || init.outbound_streams == 0 || init.inbound_streams == 0 {
        return Err(ChunkError::Malformed("INIT tags or stream counts"));
    }
    let mut p = 16;
    while p + 4 <= v.len() {
        let t = be16(v, p);
        let len = usize::from(be16(v, p + 2));
        if len < 4 || p + len > v.len() {
            return Err(ChunkError::Malformed("INIT parameter length"));
        }
        let val = &v[p + 4..p + len];
        match t {
            param_type::STATE_COOKIE if ack => init.cookie = Some(val.to_vec()),
            param_type::FORWARD_TSN_SUPPORTED => init.forward_tsn = true,
            param_type::ZERO_CHECKSUM_ACCEPTABLE => {
                init.zero_checksum = val.len() == 4 && be32(val, 0) == 1
            }
            param_type::SUPPORTED_EXTENSIONS => init.extensions = val.to_vec(),
            _ => {} // unrecognised optional parameters are skipped (high bits 10/11)
        }
        p += (len + 3) & !3;
    }
    if ack && init.cookie.is_none() {
        return Err(ChunkError::Malformed("INIT ACK without State Cookie"));
    }
    Ok(init)
}

fn decode_data(flags: u8, v: &[u8], payload: impl FnOnce() -> Bytes) -> Result<Chunk, ChunkError> {
    if v.len() <= 12 {
        return Err(ChunkError::Malformed("DATA without payload"));
    }
    Ok(Chunk::Data(Data {
        tsn: Tsn(be32(v, 0)),
        stream: be16(v, 4),
        ssn: be16(v, 6),
        ppid: be32(v, 8),
        unordered: flags & 0x04 != 0,
        begin: flags & 0x02 != 0,
        end: flags & 0x01 != 0,
        immediate: flags & 0x08 != 0,
        payload: payload(),
    }))
}

fn decode_chunk(t: u8, flags: u8, v: &[u8]) -> Result<Chunk, ChunkError> {
    use chunk_type as ct;
    Ok(match t {
        ct::DATA => decode_data(flags, v, || Bytes::copy_from_slice(&v[12..]))?,
        ct::INIT => Chunk::Init(decode_init(v, false)?),
        ct::INIT_ACK => Chunk::InitAck(decode_init(v, true)?),
        ct::SACK => {
            if v.len() < 12 {
                return Err(ChunkError::Malformed("SACK"));
            }
            let ngaps = usize::from(be16(v, 8));
            let ndups = usize::from(be16(v, 10));
            if v.len() != 12 + 4 * ngaps + 4 * ndups {
                return Err(ChunkError::Malformed("SACK lengths"));
            }
            let gaps = (0..ngaps)
                .map(|i| (be16(v, 12 + 4 * i), be16(v, 14 + 4 * i)))
                .collect();
            let base = 12 + 4 * ngaps;
            let duplicates = (0..ndups).map(|i| be32(v, base + 4 * i)).collect();
            Chunk::Sack(Sack {
                cumulative_tsn: be32(v, 0),
                a_rwnd: be32(v, 4),
                gaps,
                duplicates,
            })
        }
        ct::HEARTBEAT => Chunk::Heartbeat(v.to_vec()),
        ct::HEARTBEAT_ACK => Chunk::HeartbeatAck(v.to_vec()),
        ct::ABORT => Chunk::Abort {
            reflected: flags & 1 != 0,
            causes: v.to_vec(),
        },
        ct::SHUTDOWN => {
            if v.len() != 4 {
                return Err(ChunkError::Malformed("SHUTDOWN"));
            }
            Chunk::Shutdown(be32(v, 0))
        }
        ct::SHUTDOWN_ACK => Chunk::ShutdownAck,
        ct::SHUTDOWN_COMPLETE => Chunk::ShutdownComplete {
            reflected: flags & 1 != 0,
        },
        ct::ERROR => Chunk::Error(v.to_vec()),
        ct::COOKIE_ECHO => Chunk::CookieEcho(v.to_vec()),
        ct::COOKIE_ACK => Chunk::CookieAck,
        ct::FORWARD_TSN => {
            if v.len() < 4 || (v.len() - 4) % 4 != 0 {
                return Err(ChunkError::Malformed("FORWARD TSN"));
            }
            let streams = (4..v.len())
                .step_by(4)
                .map(|i| (be16(v, i), be16(v, i + 2)))
                .collect();
            Chunk::ForwardTsn {
                new_cumulative_tsn: be32(v, 0),
                streams,
            }
        }
        ct::RE_CONFIG => Chunk::ReConfig(decode_reconfig(v)?),
        _ => Chunk::Unknown {
            chunk_type: t,
            flags,
            value: v.to_vec(),
        },
    })
}

/// Writes packets: common header, then chunks, then the checksum.
#[derive(Debug)]
pub struct PacketWriter {
    header: CommonHeader,
    /// Empty until the first chunk: a packet that stays empty costs no allocation.
    buf: Vec<u8>,
}

fn put_chunk_header(out: &mut Vec<u8>, t: u8, flags: u8, value_len: usize) {
    out.push(t);
    out.push(flags);
    out.extend_from_slice(&((value_len + 4) as u16).to_be_bytes());
}

fn pad(out: &mut Vec<u8>) {
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

fn encode_data(out: &mut Vec<u8>, d: &Data) {
    let flags = (u8::from(d.immediate) << 3)
        | (u8::from(d.unordered) << 2)
        | (u8::from(d.begin) << 1)
        | u8::from(d.end);
    put_chunk_header(out, chunk_type::DATA, flags, 12 + d.payload.len());
    out.extend_from_slice(&d.tsn.0.to_be_bytes());
    out.extend_from_slice(&d.stream.to_be_bytes());
    out.extend_from_slice(&d.ssn.to_be_bytes());
    out.extend_from_slice(&d.ppid.to_be_bytes());
    out.extend_from_slice(&d.payload);
}

/// Appends one chunk with padding.
pub fn encode_chunk(out: &mut Vec<u8>, c: &Chunk) {
    use chunk_type as ct;
    match c {
        Chunk::Data(d) => encode_data(out, d),
        Chunk::Init(i) | Chunk::InitAck(i) => {
            let mut v = Vec::new();
            v.extend_from_slice(&i.initiate_tag.to_be_bytes());
            v.extend_from_slice(&i.a_rwnd.to_be_bytes());
            v.extend_from_slice(&i.outbound_streams.to_be_bytes());
            v.extend_from_slice(&i.inbound_streams.to_be_bytes());
            v.extend_from_slice(&i.initial_tsn.0.to_be_bytes());
            let mut param = |t: u16, val: &[u8]| {
                v.extend_from_slice(&t.to_be_bytes());
                v.extend_from_slice(&((val.len() + 4) as u16).to_be_bytes());
                v.extend_from_slice(val);
                pad(&mut v);
            };
            if let Some(cookie) = &i.cookie {
                param(param_type::STATE_COOKIE, cookie);
            }
            if i.forward_tsn {
                param(param_type::FORWARD_TSN_SUPPORTED, &[]);
            }
            if i.zero_checksum {
                param(param_type::ZERO_CHECKSUM_ACCEPTABLE, &1u32.to_be_bytes());
            }
            if !i.extensions.is_empty() {
                param(param_type::SUPPORTED_EXTENSIONS, &i.extensions);
            }
            let t = if matches!(c, Chunk::Init(_)) {
                ct::INIT
            } else {
                ct::INIT_ACK
            };
            put_chunk_header(out, t, 0, v.len());
            out.extend_from_slice(&v);
        }
        Chunk::Sack(s) => {
            put_chunk_header(
                out,
                ct::SACK,
                0,
                12 + 4 * s.gaps.len() + 4 * s.duplicates.len(),
            );
            out.extend_from_slice(&s.cumulative_tsn.to_be_bytes());
            out.extend_from_slice(&s.a_rwnd.to_be_bytes());
            out.extend_from_slice(&(s.gaps.len() as u16).to_be_bytes());
            out.extend_from_slice(&(s.duplicates.len() as u16).to_be_bytes());
            for (a, b) in &s.gaps {
                out.extend_from_slice(&a.to_be_bytes());
                out.extend_from_slice(&b.to_be_bytes());
            }
            for d in &s.duplicates {
                out.extend_from_slice(&d.to_be_bytes());
            }
        }
        Chunk::Heartbeat(v) | Chunk::HeartbeatAck(v) | Chunk::Error(v) | Chunk::CookieEcho(v) => {
            let t = match c {
                Chunk::Heartbeat(_) => ct::HEARTBEAT,
                Chunk::HeartbeatAck(_) => ct::HEARTBEAT_ACK,
                Chunk::Error(_) => ct::ERROR,
                _ => ct::COOKIE_ECHO,
            };
            put_chunk_header(out, t, 0, v.len());
            out.extend_from_slice(v);
        }
        Chunk::Abort { reflected, causes } => {
            put_chunk_header(out, ct::ABORT, u8::from(*reflected), causes.len());
            out.extend_from_slice(causes);
        }
        Chunk::Shutdown(tsn) => {
            put_chunk_header(out, ct::SHUTDOWN, 0, 4);
            out.extend_from_slice(&tsn.to_be_bytes());
        }
        Chunk::ShutdownAck => put_chunk_header(out, ct::SHUTDOWN_ACK, 0, 0),
        Chunk::ShutdownComplete { reflected } => {
            put_chunk_header(out, ct::SHUTDOWN_COMPLETE, u8::from(*reflected), 0)
        }
        Chunk::CookieAck => put_chunk_header(out, ct::COOKIE_ACK, 0, 0),
        Chunk::ForwardTsn {
            new_cumulative_tsn,
            streams,
        } => {
            put_chunk_header(out, ct::FORWARD_TSN, 0, 4 + 4 * streams.len());
            out.extend_from_slice(&new_cumulative_tsn.to_be_bytes());
            for (s, n) in streams {
                out.extend_from_slice(&s.to_be_bytes());
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
        Chunk::ReConfig(params) => {
            let mut v = Vec::new();
            encode_reconfig(&mut v, params);
            put_chunk_header(out, ct::RE_CONFIG, 0, v.len());
            out.extend_from_slice(&v);
        }
        Chunk::Unknown {
            chunk_type,
            flags,
            value,
        } => {
            put_chunk_header(out, *chunk_type, *flags, value.len());
            out.extend_from_slice(value);
        }
    }
    pad(out);
}

impl PacketWriter {
    /// Starts a packet.
    pub fn new(header: CommonHeader) -> Self {
        PacketWriter {
            header,
            buf: Vec::new(),
        }
    }
    /// Bytes so far.
    pub fn len(&self) -> usize {
        self.buf.len().max(12)
    }
    /// Whether only the header is there.
    pub fn is_empty(&self) -> bool {
        self.buf.len() <= 12
    }
    fn started(&mut self) -> &mut Vec<u8> {
        if self.buf.is_empty() {
            let h = self.header;
            self.buf.reserve(1232);
            self.buf.extend_from_slice(&h.source_port.to_be_bytes());
            self.buf
                .extend_from_slice(&h.destination_port.to_be_bytes());
            self.buf
                .extend_from_slice(&h.verification_tag.to_be_bytes());
            self.buf.extend_from_slice(&[0; 4]);
        }
        &mut self.buf
    }
    /// Appends a chunk.
    pub fn push(&mut self, c: &Chunk) {
        encode_chunk(self.started(), c);
    }

    /// Appends a DATA chunk without wrapping it in a [`Chunk`].
    pub fn push_data(&mut self, d: &Data) {
        let buf = self.started();
        encode_data(buf, d);
        pad(buf);
    }
    /// The finished packet; the checksum is left zero when `zero_checksum` (RFC 9653).
    pub fn finish(mut self, zero_checksum: bool) -> Vec<u8> {
        self.started();
        if !zero_checksum {
            let c = crc32c::crc32c(&self.buf);
            self.buf[8..12].copy_from_slice(&c.to_le_bytes());
        }
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        // The standard CRC-32C check value (RFC 3720 B.4 uses the same polynomial).
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn chunks_round_trip_through_a_packet() {
        let chunks = vec![
            Chunk::Init(Init {
                initiate_tag: 7,
                a_rwnd: 1 << 20,
                outbound_streams: 1024,
                inbound_streams: 1024,
                initial_tsn: Tsn(99),
                cookie: None,
                forward_tsn: true,
                zero_checksum: true,
                extensions: vec![chunk_type::FORWARD_TSN, chunk_type::RE_CONFIG],
            }),
            Chunk::Data(Data {
                tsn: Tsn(1),
                stream: 3,
                ssn: 4,
                ppid: 51,
                unordered: true,
                begin: true,
                end: false,
                immediate: false,
                payload: Bytes::from_static(b"abc"),
            }),
            Chunk::Sack(Sack {
                cumulative_tsn: 5,
                a_rwnd: 1000,
                gaps: vec![(2, 3), (5, 9)],
                duplicates: vec![4],
            }),
            Chunk::Heartbeat(vec![1, 2, 3, 4, 5]),
            Chunk::CookieEcho(vec![9; 33]),
            Chunk::CookieAck,
            Chunk::Shutdown(77),
            Chunk::ShutdownAck,
            Chunk::ShutdownComplete { reflected: true },
            Chunk::Abort {
                reflected: false,
                causes: vec![0, 12, 0, 4],
            },
            Chunk::ForwardTsn {
                new_cumulative_tsn: 10,
                streams: vec![(1, 2)],
            },
            Chunk::ReConfig(vec![
                ReconfigParam::OutgoingReset {
                    request_seq: 5,
                    response_seq: 4,
                    last_tsn: Tsn(100),
                    streams: vec![1, 3, 5],
                },
                ReconfigParam::Response {
                    response_seq: 9,
                    result: reconfig_result::IN_PROGRESS,
                },
            ]),
            Chunk::ReConfig(vec![ReconfigParam::IncomingReset {
                request_seq: 1,
                streams: vec![],
            }]),
        ];
        let mut w = PacketWriter::new(CommonHeader {
            source_port: 5000,
            destination_port: 5000,
            verification_tag: 42,
        });
        for c in &chunks {
            w.push(c);
        }
        let pkt = w.finish(false);
        let (h, back) = parse_packet(&pkt, false).unwrap();
        assert_eq!(h.verification_tag, 42);
        assert_eq!(back, chunks);
        let mut bad = pkt.clone();
        bad[20] ^= 1;
        assert_eq!(
            parse_packet(&bad, false).unwrap_err(),
            ChunkError::BadChecksum
        );
        // Zero checksum only when agreed.
        let mut w = PacketWriter::new(h);
        w.push(&Chunk::CookieAck);
        let z = w.finish(true);
        assert!(parse_packet(&z, true).is_ok());
        assert!(parse_packet(&z, false).is_err());
    }
}
