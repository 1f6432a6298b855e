//! A sender's parameters (W3C `RTCRtpSendParameters`): its encodings,
//! what `getParameters` reports, and the rules `setParameters` enforces
//! (W3C webrtc-pc §5.2: only the encodings' `active` and `maxBitrate` may
//! change, the number of encodings and their rids may not, and the
//! `transactionId` must be the one the last `getParameters` returned).

use super::RtpCodecParameters;
use crate::error::PeerError;

/// W3C `RTCRtpEncodingParameters`: one encoding a sender sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpEncodingParameters {
    /// `rid` (RFC 8851), for simulcast.
    pub rid: Option<String>,
    /// `active`: whether it is sent. An inactive encoding sends nothing
    /// (what is written to it is discarded and counted in
    /// `OutboundCounters::packets_discarded_inactive`) until made active
    /// again, without renegotiation.
    pub active: bool,
    /// `maxBitrate` in bits per second: the pacer sends this encoding's
    /// packets no faster (RTP headers included, as libwebrtc counts it).
    pub max_bitrate: Option<u64>,
}

impl Default for RtpEncodingParameters {
    fn default() -> Self {
        RtpEncodingParameters {
            rid: None,
            active: true,
            max_bitrate: None,
        }
    }
}

/// W3C `RTCRtpHeaderExtensionParameters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpHeaderExtensionParameters {
    /// `uri`.
    pub uri: String,
    /// `id`.
    pub id: u16,
}

/// W3C `RTCRtcpParameters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpParameters {
    /// `cname`.
    pub cname: String,
    /// `reducedSize` (RFC 5506).
    pub reduced_size: bool,
}

/// W3C `RTCRtpSendParameters`, from `get_parameters`; change
/// `encodings[i].active` and `encodings[i].max_bitrate` and hand it back
/// to `set_parameters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpSendParameters {
    /// `transactionId`: ties a `set_parameters` to the `get_parameters` it
    /// edits (a stale one is refused).
    pub transaction_id: String,
    /// `encodings`.
    pub encodings: Vec<RtpEncodingParameters>,
    /// `codecs` (read-only): what was negotiated.
    pub codecs: Vec<RtpCodecParameters>,
    /// `headerExtensions` (read-only).
    pub header_extensions: Vec<RtpHeaderExtensionParameters>,
    /// `rtcp` (read-only).
    pub rtcp: RtcpParameters,
}

/// Checks `new` against the parameters `last` that `get_parameters`
/// returned (W3C `setParameters` steps); what may change is then copied
/// from `new`.
pub(crate) fn check_set(
    last: Option<&RtpSendParameters>,
    new: &RtpSendParameters,
) -> Result<(), PeerError> {
    let Some(last) = last else {
        return Err(PeerError::InvalidState(
            "set_parameters needs the parameters of a get_parameters call first".into(),
        ));
    };
    let modification = |what: &str| {
        Err(PeerError::InvalidModification(format!(
            "{what} cannot be changed by set_parameters"
        )))
    };
    if new.transaction_id != last.transaction_id {
        return Err(PeerError::InvalidModification(
            "transaction_id is not the one the last get_parameters returned; call get_parameters again and edit that".into(),
        ));
    }
    if new.encodings.len() != last.encodings.len() {
        return modification("the number of encodings");
    }
    if new
        .encodings
        .iter()
        .zip(&last.encodings)
        .any(|(a, b)| a.rid != b.rid)
    {
        return modification("an encoding's rid");
    }
    if new.codecs != last.codecs {
        return modification("codecs (use set_codec_preferences and renegotiate)");
    }
    if new.header_extensions != last.header_extensions {
        return modification("header_extensions");
    }
    if new.rtcp != last.rtcp {
        return modification("rtcp");
    }
    if new.encodings.iter().any(|e| e.max_bitrate == Some(0)) {
        return Err(PeerError::InvalidParameter(
            "max_bitrate must be above 0 (use active: false to stop an encoding)".into(),
        ));
    }
    Ok(())
}

/// Checks `sendEncodings` of `addTransceiver` (W3C §5.1 steps): an empty
/// list means one default encoding.
pub(crate) fn check_init(
    encodings: &[RtpEncodingParameters],
) -> Result<Vec<RtpEncodingParameters>, PeerError> {
    match encodings {
        [] => Ok(vec![RtpEncodingParameters::default()]),
        [one] => {
            if one.max_bitrate == Some(0) {
                return Err(PeerError::InvalidParameter(
                    "max_bitrate must be above 0".into(),
                ));
            }
            Ok(vec![one.clone()])
        }
        many => {
            if many.iter().any(|e| e.rid.is_none()) {
                return Err(PeerError::InvalidParameter(
                    "with several send_encodings every one needs a rid".into(),
                ));
            }
            Err(PeerError::Unsupported(
                "sending simulcast (several send_encodings) is not supported yet; send one encoding".into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> RtpSendParameters {
        RtpSendParameters {
            transaction_id: "t1".into(),
            encodings: vec![RtpEncodingParameters::default()],
            codecs: vec![],
            header_extensions: vec![RtpHeaderExtensionParameters {
                uri: "urn:ietf:params:rtp-hdrext:sdes:mid".into(),
                id: 1,
            }],
            rtcp: RtcpParameters {
                cname: "c".into(),
                reduced_size: true,
            },
        }
    }

    #[test]
    fn active_and_max_bitrate_may_change() {
        let last = params();
        let mut p = last.clone();
        p.encodings[0].active = false;
        p.encodings[0].max_bitrate = Some(300_000);
        assert_eq!(check_set(Some(&last), &p), Ok(()));
    }

    #[test]
    fn everything_else_is_refused_with_the_w3c_error() {
        let last = params();
        assert!(matches!(
            check_set(None, &last),
            Err(PeerError::InvalidState(_))
        ));
        let cases: [fn(&mut RtpSendParameters); 7] = [
            (|p| p.transaction_id = "t0".into()),
            (|p| p.encodings.push(RtpEncodingParameters::default())),
            (|p| p.encodings.clear()),
            (|p| p.encodings[0].rid = Some("h".into())),
            (|p| p.header_extensions.clear()),
            (|p| p.rtcp.reduced_size = false),
            (|p| p.rtcp.cname = "other".into()),
        ];
        for change in cases {
            let mut p = last.clone();
            change(&mut p);
            assert!(
                matches!(
                    check_set(Some(&last), &p),
                    Err(PeerError::InvalidModification(_))
                ),
                "{p:?}"
            );
        }
        let mut p = last.clone();
        p.encodings[0].max_bitrate = Some(0);
        assert!(matches!(
            check_set(Some(&last), &p),
            Err(PeerError::InvalidParameter(_))
        ));
    }

    #[test]
    fn send_encodings_at_add_transceiver() {
        assert_eq!(
            check_init(&[]).unwrap(),
            vec![RtpEncodingParameters::default()]
        );
        let capped = RtpEncodingParameters {
            max_bitrate: Some(500_000),
            ..Default::default()
        };
        assert_eq!(
            check_init(std::slice::from_ref(&capped)).unwrap(),
            vec![capped]
        );
        let zero = RtpEncodingParameters {
            max_bitrate: Some(0),
            ..Default::default()
        };
        assert!(matches!(
            check_init(&[zero]),
            Err(PeerError::InvalidParameter(_))
        ));
        let no_rid = vec![RtpEncodingParameters::default(); 2];
        assert!(matches!(
            check_init(&no_rid),
            Err(PeerError::InvalidParameter(_))
        ));
        let layers: Vec<_> = ["q", "h"]
            .iter()
            .map(|r| RtpEncodingParameters {
                rid: Some(r.to_string()),
                ..Default::default()
            })
            .collect();
        assert!(matches!(
            check_init(&layers),
            Err(PeerError::Unsupported(_))
        ));
    }
}
