//! Parse errors, with the line they were found on.

use std::fmt;

/// Why a description could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SdpError {
    /// The description is larger than [`crate::MAX_SDP_LEN`], has a line
    /// longer than [`crate::MAX_LINE_LEN`] or more than
    /// [`crate::MAX_MEDIA_SECTIONS`] media sections.
    TooLarge(&'static str),
    /// A line is malformed; `line` counts from 1.
    Line {
        /// Line number, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A required line is missing.
    Missing(&'static str),
    /// The lines parse but do not make a consistent description.
    Invalid(String),
}

impl SdpError {
    pub(crate) fn at(line: usize, reason: impl Into<String>) -> Self {
        SdpError::Line {
            line,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SdpError::TooLarge(what) => write!(f, "SDP too large: {what}"),
            SdpError::Line { line, reason } => write!(f, "SDP line {line}: {reason}"),
            SdpError::Missing(what) => write!(f, "SDP has no {what} line"),
            SdpError::Invalid(why) => write!(f, "invalid SDP: {why}"),
        }
    }
}

impl std::error::Error for SdpError {}
