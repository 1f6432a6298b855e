//! Bad descriptions fail with an error that names the line and the problem;
//! nothing panics; security-relevant attributes are checked strictly.

use tern_sdp::{SdpError, SessionDescription, MAX_MEDIA_SECTIONS, MAX_SDP_LEN};

const HEAD: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

fn with_media(attrs: &str) -> String {
    format!("{HEAD}m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n{attrs}")
}

fn err(s: &str) -> String {
    match s.parse::<SessionDescription>() {
        Ok(d) => panic!("parsed: {d:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn garbage_and_structure_errors_name_the_line() {
    assert!(err("hello world").contains("line 1"));
    assert!(err("").contains("no o= line"));
    assert!(err("o=- 1 2 IN IP4 x\r\n").contains("starts with v=0"));
    assert!(err("v=1\r\n").contains("unsupported version"));
    assert!(err(&format!("{HEAD}x=what\r\n")).contains("unknown line type x="));
    assert!(err(&format!("{HEAD}A=upper\r\n")).contains("line 5"));
    assert!(
        err("v=0\r\no=- x 2 IN IP4 127.0.0.1\r\ns=-\r\n").contains("session id is not a number")
    );
    assert!(err("v=0\r\no=- 1 2 IN\r\ns=-\r\n").contains("o= needs 6 fields"));
    assert!(err("v=0\r\no=- 1 2 IN IP4 a\r\ns=-\r\ns=again\r\n").contains("more than one s="));
    assert!(
        err("v=0\r\no=- 1 2 IN IP4 a\r\nm=audio 9 RTP/AVP 0\r\n").contains("m= before o= and s=")
    );
    assert!(err(&with_media("t=0 0\r\n")).contains("not allowed in a media section"));
    assert!(err(&format!("{HEAD}m=audio\r\n")).contains("m= needs"));
    assert!(err(&format!("{HEAD}m=audio 99999 RTP/AVP 0\r\n")).contains("port is not a number"));
    assert!(err(&with_media("c=IN IP4\r\n")).contains("c= needs"));
    assert!(err(&with_media("b=AS\r\n")).contains("b= needs"));
    assert!(err(&with_media("a=\r\n")).contains("bad attribute name"));
}

#[test]
fn credentials_and_dtls_parameters_are_strict() {
    let e = err(&with_media("a=fingerprint:sha-256 AB:CD\r\n"));
    assert!(
        e.contains("line 6") && e.contains("2 bytes, expected 32"),
        "{e}"
    );
    assert!(err(&with_media("a=fingerprint:sha-256\r\n")).contains("a=fingerprint needs"));
    assert!(err(&with_media("a=fingerprint:sha-1 ZZ:00\r\n")).contains("not hex"));
    assert!(err(&with_media("a=fingerprint\r\n")).contains("needs a value"));
    assert!(err(&with_media("a=setup:sideways\r\n")).contains("a=setup must be"));
    assert!(err(&with_media("a=ice-ufrag:abc\r\n")).contains("a=ice-ufrag must be"));
    assert!(err(&with_media("a=ice-ufrag:ab cd\r\n")).contains("a=ice-ufrag must be"));
    assert!(err(&with_media("a=ice-pwd:tooshort\r\n")).contains("a=ice-pwd must be"));
    let e = err(&with_media(
        "a=ice-ufrag:abcd\r\na=ice-ufrag:efgh\r\na=mid:data\r\n",
    ));
    assert!(
        e.contains("data") && e.contains("conflicting a=ice-ufrag"),
        "{e}"
    );
    // Unknown hash functions are kept (no length to check), well-formed ones pass.
    let ok = with_media("a=fingerprint:SHA-256 49:ED:D6:46:93:E8:E8:34:2C:35:E1:A3:17:51:5A:59:D7:E9:D6:1D:AC:07:33:AB:C8:6D:26:1A:22:39:18:DB\r\na=fingerprint:blake3 01:02\r\na=ice-ufrag:ab+/\r\na=ice-pwd:0123456789012345678901\r\n");
    ok.parse::<SessionDescription>().expect("valid");
}

#[test]
fn absurd_sizes_are_refused() {
    let big = format!("{HEAD}a=x:{}\r\n", "y".repeat(MAX_SDP_LEN));
    assert!(matches!(
        big.parse::<SessionDescription>(),
        Err(SdpError::TooLarge(_))
    ));
    let long = format!("{HEAD}a=x:{}\r\n", "y".repeat(20_000));
    assert!(matches!(
        long.parse::<SessionDescription>(),
        Err(SdpError::TooLarge(_))
    ));
    let many = format!(
        "{HEAD}{}",
        "m=audio 9 RTP/AVP 0\r\n".repeat(MAX_MEDIA_SECTIONS + 1)
    );
    assert!(matches!(
        many.parse::<SessionDescription>(),
        Err(SdpError::TooLarge(_))
    ));
    let enough = format!(
        "{HEAD}{}",
        "m=audio 9 RTP/AVP 0\r\n".repeat(MAX_MEDIA_SECTIONS)
    );
    assert_eq!(
        enough.parse::<SessionDescription>().unwrap().media.len(),
        MAX_MEDIA_SECTIONS
    );
}

#[test]
fn lenient_where_browsers_are() {
    // LF line ends, blank lines, no t=, a trailing line without a newline.
    let d: SessionDescription = "v=0\no=- 1 2 IN IP4 127.0.0.1\ns=-\n\nm=audio 9 RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=rtpmap:bad\na=sendrecv"
        .parse()
        .expect("lenient");
    use tern_sdp::HasAttributes;
    let m = &d.media[0];
    assert_eq!(
        m.rtpmaps().len(),
        1,
        "the unparsable rtpmap is skipped, not fatal"
    );
    assert_eq!(m.values("rtpmap").count(), 2, "and kept as written");
    assert!(d.timing.is_empty());
    // Written back canonically (CRLF), which parses to the same thing.
    let again: SessionDescription = d.to_string().parse().unwrap();
    assert_eq!(again, d);
}
