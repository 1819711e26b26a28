//! What cmap says about the cluster: its name, the nodelist, the token.
//!
//! Invariant: read-only. Never writes to cmap, never changes corosync's
//! configuration; every call here is a blocking request to the local
//! corosync and runs on a blocking thread, never on the runtime.

use std::collections::BTreeMap;

use rust_corosync::cmap::{self, Data};

use super::transport::NodeEntry;

pub(crate) struct CmapFacts {
    pub cluster_name: Option<String>,
    pub nodes: Vec<NodeEntry>,
    pub token_ms: Option<u32>,
    pub consensus_ms: Option<u32>,
}

fn as_u32(d: &Data) -> Option<u32> {
    match *d {
        Data::UInt32(v) => Some(v),
        Data::Int32(v) => u32::try_from(v).ok(),
        Data::UInt16(v) => Some(v.into()),
        Data::UInt8(v) => Some(v.into()),
        Data::UInt64(v) => u32::try_from(v).ok(),
        Data::String(ref s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_string(d: &Data) -> Option<String> {
    match d {
        Data::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// A nodelist entry as read: nodeid, name, ring0_addr.
type RawNode = (Option<u32>, Option<String>, Option<String>);

/// Reads the facts; keys that are absent stay `None` (a nodelist entry
/// without a `nodeid` is skipped: knet refuses to start without one).
pub(crate) fn read(h: &cmap::Handle) -> CmapFacts {
    let get = |key: &str| cmap::get(h, key).ok();
    // nodelist.node.<index>.<field>
    let mut by_index: BTreeMap<u32, RawNode> = BTreeMap::new();
    if let Ok(iter) = cmap::CmapIterStart::new(h, "nodelist.node.") {
        for item in iter {
            let rest = &item.key_name()["nodelist.node.".len()..];
            let Some((index, field)) = rest.split_once('.') else {
                continue;
            };
            let Ok(index) = index.parse::<u32>() else {
                continue;
            };
            let e = by_index.entry(index).or_default();
            match field {
                "nodeid" => e.0 = as_u32(item.data()),
                "name" => e.1 = as_string(item.data()),
                "ring0_addr" => e.2 = as_string(item.data()),
                _ => {}
            }
        }
    }
    let mut nodes: Vec<NodeEntry> = by_index
        .into_values()
        .filter_map(|(id, name, addr)| {
            let node_id = id?;
            let name = name
                .clone()
                .or_else(|| addr.clone())
                .unwrap_or_else(|| node_id.to_string());
            Some(NodeEntry {
                node_id,
                name,
                ring0_addr: addr,
            })
        })
        .collect();
    nodes.sort_by_key(|n| n.node_id);
    CmapFacts {
        cluster_name: get("totem.cluster_name").and_then(|d| as_string(&d)),
        nodes,
        token_ms: get("runtime.config.totem.token").and_then(|d| as_u32(&d)),
        consensus_ms: get("runtime.config.totem.consensus").and_then(|d| as_u32(&d)),
    }
}
