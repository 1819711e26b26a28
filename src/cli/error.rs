//! What can go wrong on the command line, as data. Every error names what it
//! is about (the file and line, the element or id, the argument) and what was
//! expected; the binary edge prints it as `Error: ...` and exits non-zero.
//!
//! Invariant: no error message carries the value of a secret parameter
//! (see [`super::secrets`]); messages name parameters, not their values.

use crate::core::cib::Diagnostic;
use std::io;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line itself is wrong; `usage` is the command's synopsis.
    #[error("{message}")]
    Usage {
        message: String,
        usage: Option<String>,
    },
    /// The request is understood but cannot be carried out. One message per
    /// problem found; all are reported, not just the first.
    #[error("{}", .0.join("\n"))]
    Rejected(Vec<String>),
    /// The CIB file cannot be used: every error diagnostic, located.
    #[error("{}", .diagnostics.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))]
    Cib { diagnostics: Vec<Diagnostic> },
    /// Reading or writing a file failed; `action` says which ("cannot
    /// read", "cannot write").
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: io::Error,
    },
    /// No `-f FILE` / `CIB_file` for a command that reads only files.
    #[error("'{command}' needs the live cluster's CIB without -f FILE, and it reads only CIB files: save the live CIB first (warden cluster cib FILE), then run warden -f FILE {command} (or set CIB_file=FILE)")]
    LiveMode { command: String },
    /// No `-f FILE` / `CIB_file`, and no daemon to reach the live cluster;
    /// `why` names the socket.
    #[error("'{command}' needs the live cluster, which warden reaches through its daemon, and the daemon is not running on this node ({why}); start it (warden cluster start), or work on a CIB file: warden -f FILE {command} (or set CIB_file=FILE)")]
    NotRunning { command: String, why: String },
    /// A command that only makes sense on the live cluster, and no daemon.
    #[error("'{command}' acts on the live cluster, which warden reaches through its daemon, and the daemon is not running on this node ({why}); this command has no file mode")]
    LiveOnly { command: String, why: String },
    /// What the daemon answered (its words), or why it could not be asked.
    #[error("{0}")]
    Daemon(String),
    /// A live-only command given a CIB file.
    #[error("'{command}' works on the running cluster (its nodes, daemons or fencing history), not on a CIB file: run it without -f FILE / CIB_file, through the warden daemon")]
    NoFileMode { command: String },
    /// A command that exists in the grammar but is not available yet.
    #[error("'{0}' is not available in this version of warden")]
    Unimplemented(String),
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::Usage {
            message: message.into(),
            usage: None,
        }
    }

    pub fn rejected(message: impl Into<String>) -> CliError {
        CliError::Rejected(vec![message.into()])
    }

    /// Attaches a command's synopsis to a usage error that has none.
    pub fn with_usage(self, text: &str) -> CliError {
        match self {
            CliError::Usage {
                message,
                usage: None,
            } => CliError::Usage {
                message,
                usage: Some(text.to_string()),
            },
            other => other,
        }
    }
}
