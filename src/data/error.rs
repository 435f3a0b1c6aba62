//! The one error type of the data layer: every variant names the file (or spec) and the problem.

use std::path::PathBuf;

use super::pickle::PickleError;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "dataset {name}: missing {} in {}; {hint}",
        files.join(", "),
        dir.display()
    )]
    MissingFiles {
        name: String,
        dir: PathBuf,
        files: Vec<String>,
        hint: String,
    },
    #[error("{}: {source}", file.display())]
    Pickle { file: PathBuf, source: PickleError },
    #[error("{}{}: {msg}", file.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Format {
        file: PathBuf,
        line: Option<usize>,
        msg: String,
    },
    #[error("{}: shape mismatch: {msg}", file.display())]
    ShapeMismatch { file: PathBuf, msg: String },
    #[error("{}{}: node id {id} is out of range (the graph has {num_nodes} nodes)", file.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    NodeOutOfRange {
        file: PathBuf,
        line: Option<usize>,
        id: i64,
        num_nodes: usize,
    },
    #[error("{}{}: node id {id} is not allowed: node ids must be integers from 0 to {}", file.display(), line.map(|l| format!(" line {l}")).unwrap_or_default(), u32::MAX - 1)]
    BadNodeId {
        file: PathBuf,
        line: Option<usize>,
        id: i64,
    },
    #[error("{}: feature row {row}, column {col} is {value} (features must be finite)", file.display())]
    NonFinite {
        file: PathBuf,
        row: usize,
        col: usize,
        value: f64,
    },
    #[error("{what}: the graph is empty ({reason})")]
    EmptyGraph { what: String, reason: String },
    #[error("link split of {edges} edges with val={val} and test={test} leaves no training edges")]
    NoTrainingEdges { edges: usize, val: f64, test: f64 },
    #[error("cannot sample {needed} negative pairs: the graph has only {available} non-edges")]
    TooDense { needed: u64, available: u64 },
    #[error("invalid graph spec `{spec}`: {msg}")]
    Spec { spec: String, msg: String },
    #[error("download of {url} failed: {msg}")]
    Download { url: String, msg: String },
    #[error(
        "{}: SHA-256 mismatch (expected {expected}, got {actual}); {hint}",
        file.display()
    )]
    Checksum {
        file: PathBuf,
        expected: String,
        actual: String,
        /// What happened to the file and what to do.
        hint: String,
    },
    #[error("{}: no known SHA-256 for this file; {hint}", file.display())]
    Unverified { file: PathBuf, hint: String },
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
    /// The same error with another hint (only checksum errors carry one).
    pub(crate) fn with_hint(self, new: &str) -> Self {
        match self {
            DataError::Checksum {
                file,
                expected,
                actual,
                ..
            } => DataError::Checksum {
                file,
                expected,
                actual,
                hint: new.into(),
            },
            other => other,
        }
    }
    pub(crate) fn format(
        file: impl Into<PathBuf>,
        line: Option<usize>,
        msg: impl Into<String>,
    ) -> Self {
        DataError::Format {
            file: file.into(),
            line,
            msg: msg.into(),
        }
    }
}
