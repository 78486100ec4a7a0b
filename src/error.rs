//! Typed errors of the core: every variant names the file (or the text) and what is wrong with it.

use std::path::PathBuf;

/// The error type of every fallible function in the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operating system refused or failed an operation on a path. The OS's words are part of
    /// the message (not a separate cause), so a printed chain says them once.
    #[error("{path}: {action}: {cause}")]
    Io {
        path: PathBuf,
        action: &'static str,
        cause: std::io::Error,
    },
    /// The file exists but is not a FITS file at all.
    #[error("{path}: not a FITS file: {reason}")]
    NotFits { path: PathBuf, reason: String },
    /// The file is FITS but cfitsio (or our own checks) found it unreadable.
    #[error("{path}: {reason}")]
    BadFits { path: PathBuf, reason: String },
    /// The file holds no image HDU with pixels (only tables or empty HDUs).
    #[error("{path}: no image with pixels in any HDU ({detail})")]
    NoImage { path: PathBuf, detail: String },
    /// An HDU asked for by number or EXTNAME does not exist or is not an image.
    #[error("{path}: HDU {hdu}: {reason}")]
    Hdu {
        path: PathBuf,
        hdu: String,
        reason: String,
    },
    /// A FITS section string like `[1:2048,1:4128]` is malformed or out of bounds.
    #[error("section {section:?}: {reason}")]
    Section { section: String, reason: String },
    /// A header card could not be built or formatted.
    #[error("header card {keyword}: {reason}")]
    Card { keyword: String, reason: String },
    /// An output file already exists and overwriting was not asked for.
    #[error("{path}: already exists (pass --overwrite to replace it)")]
    OutputExists { path: PathBuf },
    /// An output would replace one of the inputs.
    #[error("{path}: refusing to write over an input file")]
    WouldOverwriteInput { path: PathBuf },
    /// A user-given option or argument is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The operation was cancelled through a cancel token.
    #[error("cancelled")]
    Cancelled,
}

/// Shorthand for results of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Io`] for `path`, with a short verb phrase saying what was being done.
    pub fn io(path: impl Into<PathBuf>, action: &'static str, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            action,
            cause: source,
        }
    }
}
