//! Why a reconcile, a binding or an event did not go through.

/// Every variant means nothing was written after the point where it arose (reads come first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// An AWS call failed (after the SDK's own retries).
    #[error("could not {doing}: {reason}")]
    Aws { doing: String, reason: String },
    /// Something the binding names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A safety rule refuses the change (see decide.rs).
    #[error("{0}")]
    Refused(String),
    /// Some of an event's bindings failed; the others were reconciled.
    #[error("{} of {total} bindings failed: {}", .problems.len(), .problems.join("; "))]
    Bindings { total: usize, problems: Vec<String> },
    /// The event could not be read.
    #[error("{0}")]
    Event(String),
}

impl SyncError {
    pub fn aws(doing: impl Into<String>, reason: String) -> Self {
        SyncError::Aws { doing: doing.into(), reason }
    }
}
