//! SRTP and SRTCP protect and unprotect (RFC 3711, RFC 7714), in place.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
