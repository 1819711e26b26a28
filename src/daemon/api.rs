//! What the daemon answers on its local socket (protocol version 1 of
//! [`crate::shell::ipc`]): the CIB it holds, its own view of the cluster,
//! and the core's client requests (standby, move, cleanup, properties…),
//! which the cluster applies in its total order.
//!
//! Invariant: data only, no IO. A reply's `Debug` never shows a CIB (it
//! holds fence passwords), and the CIB itself is only sent to a peer that
//! may change things (root or the cluster group); others get its version
//! and digest.

use serde::{Deserialize, Serialize};

use crate::core::replication::ClientRequest;
use crate::shell::ipc::{Access, IpcRequest};

/// A request from the CLI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// The whole CIB as this node holds it, secrets included.
    GetCib,
    /// The daemon's view: members, quorum, DC, CIB version and digest.
    Status,
    /// A change the cluster applies in order; answered once applied.
    Cluster(ClientRequest),
}

impl IpcRequest for Request {
    fn access(&self) -> Access {
        match self {
            Request::Status => Access::Read,
            Request::GetCib | Request::Cluster(_) => Access::Write,
        }
    }
}

/// A successful answer (failures are `ReplyHandle::fail`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Cib {
        xml: String,
    },
    Status(DaemonStatus),
    /// The request was applied; what the cluster said.
    Done {
        message: String,
    },
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Cib { xml } => write!(f, "Cib {{ xml: <{} bytes> }}", xml.len()),
            Reply::Status(s) => f.debug_tuple("Status").field(s).finish(),
            Reply::Done { message } => f.debug_struct("Done").field("message", message).finish(),
        }
    }
}

/// The daemon's view of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStatus {
    pub node_name: String,
    /// `corosync` or `standalone`.
    pub transport: String,
    /// Members of the current view, by name.
    pub members: Vec<String>,
    pub quorate: bool,
    pub dc: Option<String>,
    /// `admin_epoch.epoch.num_updates`.
    pub cib_version: String,
    /// SHA-256 of the whole CIB as this node holds it.
    pub cib_digest: String,
    /// The join of the current view is complete.
    pub synced: bool,
    /// No transition is running (on the DC) .
    pub idle: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_shape_is_stable_and_changes_need_the_right_to_change() {
        let status = serde_json::to_string(&Request::Status).unwrap();
        assert_eq!(status, r#""status""#);
        let standby = Request::Cluster(ClientRequest::Standby {
            node: "n1".into(),
            on: true,
        });
        let text = serde_json::to_string(&standby).unwrap();
        assert_eq!(text, r#"{"cluster":{"Standby":{"node":"n1","on":true}}}"#);
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), standby);
        assert_eq!(Request::Status.access(), Access::Read);
        assert_eq!(Request::GetCib.access(), Access::Write);
        assert_eq!(standby.access(), Access::Write);
        let cib = Reply::Cib {
            xml: "<cib><nvpair name=\"passwd\" value=\"hunter2\"/></cib>".into(),
        };
        assert!(!format!("{cib:?}").contains("hunter2"));
    }
}
