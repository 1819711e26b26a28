//! One status view built from the CIB — nodes and their state, the DC and
//! quorum, resources and groups with their role and node, fencing devices,
//! failed actions — rendered as crm_mon-style text ([`text`]), JSON (serde)
//! and XML ([`xml`]).
//!
//! Invariant: never reads anything but the CIB it is given (no clock, no
//! files, no cluster): the same CIB gives the same view, byte for byte. The
//! role of each resource on each node comes from [`role::derive`], kept
//! apart so the scheduler's reading of the status section can replace it.

pub mod role;
pub mod text;
pub mod xml;

use crate::core::cib::*;
use role::{NodeRole, Role};
use serde::Serialize;
use std::collections::BTreeMap;

/// Everything `status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusView {
    pub summary: Summary,
    pub nodes: Vec<NodeView>,
    pub resources: Vec<ResourceView>,
    /// Ids of the fencing devices (they are listed with the resources too).
    pub fencing_devices: Vec<String>,
    pub failed_actions: Vec<FailedAction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// `cluster-infrastructure`, "unknown" if not recorded.
    pub stack: String,
    pub dc: Option<Dc>,
    pub have_quorum: bool,
    /// `cib-last-written` and who wrote it.
    pub last_written: Option<String>,
    pub last_user: Option<String>,
    pub last_client: Option<String>,
    pub last_origin: Option<String>,
    pub nodes_configured: usize,
    pub resource_instances: usize,
    pub disabled: usize,
    pub blocked: usize,
    pub maintenance_mode: bool,
    pub stop_all_resources: bool,
    pub stonith_enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dc {
    pub name: String,
    pub id: String,
    /// `dc-version`, if recorded.
    pub version: Option<String>,
}

/// A node and its state, as Pacemaker reads `node_state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeView {
    pub name: String,
    pub id: String,
    /// `member` or `remote`.
    pub kind: String,
    pub online: bool,
    pub standby: bool,
    pub maintenance: bool,
    /// Up but not ready to run resources (joining).
    pub pending: bool,
    /// Must be fenced before its resources can be trusted stopped.
    pub unclean: bool,
    pub shutdown: bool,
    pub is_dc: bool,
    /// Resources active on the node.
    pub running: usize,
}

impl NodeView {
    /// The state word crm_mon uses (`online`, `standby`, `UNCLEAN
    /// (offline)`, ...).
    pub fn state_text(&self) -> &'static str {
        if self.unclean {
            if self.online {
                "UNCLEAN (online)"
            } else if self.pending {
                "UNCLEAN (pending)"
            } else {
                "UNCLEAN (offline)"
            }
        } else if self.pending {
            "pending"
        } else if self.standby {
            if self.online {
                if self.running > 0 {
                    "standby (with active resources)"
                } else {
                    "standby"
                }
            } else {
                "OFFLINE (standby)"
            }
        } else if self.maintenance {
            if self.online {
                "maintenance"
            } else {
                "OFFLINE (maintenance)"
            }
        } else if self.online {
            "online"
        } else {
            "OFFLINE"
        }
    }
}

/// One top-level entry of the resource list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ResourceView {
    Primitive(PrimitiveView),
    Group(GroupView),
    /// Clones, bundles and other kinds the view does not interpret.
    Other {
        kind: String,
        id: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrimitiveView {
    pub id: String,
    /// `class[:provider]:type`
    pub agent: String,
    pub role: Role,
    /// Where it is active (role above Stopped), sorted.
    pub nodes: Vec<String>,
    pub failed: bool,
    pub pending: Option<String>,
    /// target-role=Stopped (its own, its group's or the defaults').
    pub disabled: bool,
    /// A failed stop without fencing: nothing will be done until cleanup.
    pub blocked: bool,
    pub managed: bool,
    pub stonith: bool,
    /// Active on a node that is offline and unclean.
    pub unclean_node: bool,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupView {
    pub id: String,
    pub disabled: bool,
    pub managed: bool,
    pub members: Vec<PrimitiveView>,
}

/// A failed operation from the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedAction {
    /// `RSC_ACTION_INTERVAL` as recorded.
    pub op_key: String,
    pub resource: String,
    pub task: String,
    pub interval_ms: u64,
    pub node: String,
    pub rc: i32,
    pub status: i32,
    pub exit_reason: Option<String>,
    pub call_id: Option<i64>,
    pub last_rc_change: Option<i64>,
    pub exec_time_ms: Option<i64>,
    pub queue_time_ms: Option<i64>,
}

// ---- reading the CIB ---------------------------------------------------------------

fn is_true(v: &str) -> bool {
    ["true", "on", "yes", "y", "1"]
        .iter()
        .any(|t| t.eq_ignore_ascii_case(v))
}

fn property_bool(c: &Configuration, name: &str, default: bool) -> bool {
    c.property(name).map(is_true).unwrap_or(default)
}

/// A node attribute: transient (status) first, then permanent (nodes).
fn node_attr<'a>(def: &'a NodeDef, state: Option<&'a NodeState>, name: &str) -> Option<&'a str> {
    state
        .and_then(|s| s.transient.as_ref())
        .and_then(|t| t.sets.iter().find_map(|s| s.get(name)))
        .or_else(|| {
            def.sets
                .iter()
                .filter(|s| s.kind == SetKind::Instance)
                .find_map(|s| s.get(name))
        })
}

/// Pacemaker's node-state rules (`determine_online_status`), with fencing
/// enabled or not.
fn node_view(
    c: &Configuration,
    def: &NodeDef,
    state: Option<&NodeState>,
    dc_uuid: Option<&str>,
) -> NodeView {
    let fencing = property_bool(c, "stonith-enabled", true);
    let startup_fencing = property_bool(c, "startup-fencing", true);
    let mut v = NodeView {
        name: def.uname.clone(),
        id: def.id.clone(),
        kind: def.kind.clone().unwrap_or_else(|| "member".into()),
        online: false,
        standby: node_attr(def, state, "standby").is_some_and(is_true),
        maintenance: node_attr(def, state, "maintenance").is_some_and(is_true),
        pending: false,
        unclean: false,
        shutdown: false,
        is_dc: dc_uuid == Some(def.id.as_str()),
        running: 0,
    };
    let Some(s) = state else {
        // Never seen: unclean until fenced, unless startup fencing is off.
        v.unclean = fencing && startup_fencing && v.kind == "member";
        return v;
    };
    let shutdown = node_attr(def, state, "shutdown").is_some_and(|x| x != "0" && !x.is_empty());
    let terminate = node_attr(def, state, "terminate")
        .is_some_and(|t| is_true(t) || t.starts_with(|c: char| c.is_ascii_digit() && c != '0'));
    let in_ccm = s.in_ccm.as_deref();
    let crmd_online = s
        .crmd
        .as_deref()
        .is_some_and(|x| x.eq_ignore_ascii_case("online"));
    let join = s.join.as_deref().unwrap_or("");
    let expected = s.expected.as_deref().unwrap_or("down");
    v.shutdown = shutdown;
    if !fencing {
        let in_cluster = in_ccm.is_some_and(is_true);
        if in_cluster && crmd_online && join.eq_ignore_ascii_case("member") {
            v.online = true;
        } else if in_cluster && !crmd_online && expected.eq_ignore_ascii_case("member") && !shutdown
        {
            v.unclean = true;
        }
        return v;
    }
    let in_cluster = in_ccm.is_some_and(is_true);
    v.online = in_cluster;
    if shutdown {
        v.online = crmd_online;
    } else if in_ccm.is_none() || join.eq_ignore_ascii_case("nack") {
        // Never seen by the membership layer, or refused by it.
        v.unclean = true;
    } else if !terminate && expected.eq_ignore_ascii_case("down") {
        if in_cluster || crmd_online {
            v.standby = true;
            v.pending = true;
        }
    } else if terminate && join.eq_ignore_ascii_case("down") && !in_cluster && !crmd_online {
        v.online = false;
    } else if !in_cluster || !crmd_online || terminate {
        v.unclean = true;
    } else if join.eq_ignore_ascii_case("member") {
    } else if join.eq_ignore_ascii_case("pending") || join.eq_ignore_ascii_case("down") {
        v.standby = true;
        v.pending = true;
    } else {
        v.unclean = true;
    }
    v
}

/// Effective meta attribute: the resource's own, its group's, then
/// `rsc_defaults` (rules ignored).
fn meta<'a>(
    p: &'a Primitive,
    group: Option<&'a Group>,
    c: &'a Configuration,
    name: &str,
) -> Option<&'a str> {
    p.attr(SetKind::Meta, name)
        .or_else(|| {
            group.and_then(|g| {
                g.sets
                    .iter()
                    .filter(|s| s.kind == SetKind::Meta)
                    .find_map(|s| s.get(name))
            })
        })
        .or_else(|| {
            c.rsc_defaults
                .as_ref()
                .and_then(|sets| sets.iter().find_map(|s| s.get(name)))
        })
}

fn group_meta<'a>(g: &'a Group, c: &'a Configuration, name: &str) -> Option<&'a str> {
    g.sets
        .iter()
        .filter(|s| s.kind == SetKind::Meta)
        .find_map(|s| s.get(name))
        .or_else(|| {
            c.rsc_defaults
                .as_ref()
                .and_then(|sets| sets.iter().find_map(|s| s.get(name)))
        })
}

fn is_stopped_role(v: Option<&str>) -> bool {
    v.is_some_and(|r| r.eq_ignore_ascii_case("stopped"))
}

/// Splits `RSC_TASK_INTERVAL` (the task may contain underscores: the
/// interval is the last field, the task the one before it).
pub fn parse_op_key(key: &str) -> Option<(String, String, u64)> {
    let (rest, interval) = key.rsplit_once('_')?;
    let interval: u64 = interval.parse().ok()?;
    // Tasks with an underscore (migrate_to, migrate_from) first.
    for task in ["migrate_to", "migrate_from"] {
        if let Some(rsc) = rest.strip_suffix(&format!("_{task}")) {
            return Some((rsc.to_string(), task.to_string(), interval));
        }
    }
    let (rsc, task) = rest.rsplit_once('_')?;
    Some((rsc.to_string(), task.to_string(), interval))
}

/// Builds the view of a CIB.
pub fn build(cib: &Cib) -> StatusView {
    let c = &cib.configuration;
    let dc_uuid = cib.dc_uuid.as_deref();
    let mut nodes: Vec<NodeView> = c
        .nodes
        .iter()
        .map(|def| {
            let state = cib.status.node_states.iter().find(|s| {
                s.id == def.id
                    || (s.id.is_empty() && s.uname.as_deref() == Some(def.uname.as_str()))
            });
            node_view(c, def, state, dc_uuid)
        })
        .collect();
    nodes.sort_by(|a, b| natural_cmp(&a.name, &b.name));

    // History of every resource on every node whose history counts (online
    // or unclean nodes, as Pacemaker unpacks them).
    let mut history: BTreeMap<String, Vec<(String, NodeRole)>> = BTreeMap::new();
    let mut failed_actions: Vec<FailedAction> = Vec::new();
    for st in &cib.status.node_states {
        let Some(node) = nodes.iter().find(|n| n.id == st.id) else {
            continue;
        };
        if !(node.online || node.unclean) {
            continue;
        }
        let Some(lrm) = &st.lrm else { continue };
        for res in &lrm.resources {
            let ops: Vec<&LrmRscOp> = res.ops.iter().collect();
            let derived = role::derive(&ops);
            history
                .entry(res.id.clone())
                .or_default()
                .push((node.name.clone(), derived));
            if node.online {
                collect_failures(&res.id, &node.name, &ops, &mut failed_actions);
            }
        }
    }

    let maintenance_mode = property_bool(c, "maintenance-mode", false);
    let mut resources = Vec::new();
    let mut fencing_devices = Vec::new();
    let (mut instances, mut disabled, mut blocked) = (0usize, 0usize, 0usize);
    let stonith_enabled = property_bool(c, "stonith-enabled", true);
    let mut primitive_view =
        |p: &Primitive, group: Option<&Group>, nodes: &mut Vec<NodeView>| -> PrimitiveView {
            instances += 1;
            let is_disabled = is_stopped_role(meta(p, group, c, "target-role"));
            if is_disabled {
                disabled += 1;
            }
            let mut active: Vec<(String, NodeRole)> = history
                .get(&p.id)
                .map(|h| {
                    h.iter()
                        .filter(|(_, r)| r.role != Role::Stopped)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            active.sort_by(|a, b| natural_cmp(&a.0, &b.0));
            let failed = history
                .get(&p.id)
                .is_some_and(|h| h.iter().any(|(_, r)| r.failed));
            // A stop that failed where nothing can fence the node blocks the
            // resource until someone cleans it up.
            let is_blocked = !stonith_enabled
                && history
                    .get(&p.id)
                    .is_some_and(|h| h.iter().any(|(_, r)| r.stop_failed));
            if is_blocked {
                blocked += 1;
            }
            let pending = history
                .get(&p.id)
                .and_then(|h| h.iter().find_map(|(_, r)| r.pending.clone()));
            let role = active
                .iter()
                .map(|(_, r)| r.role)
                .max()
                .unwrap_or(Role::Stopped);
            let mut unclean_node = false;
            let mut on_maintenance_node = false;
            for (n, _) in &active {
                if let Some(nv) = nodes.iter_mut().find(|x| x.name == *n) {
                    nv.running += 1;
                    unclean_node |= nv.unclean && !nv.online;
                    on_maintenance_node |= nv.maintenance;
                }
            }
            let managed = meta(p, group, c, "is-managed").is_none_or(is_true)
                && !maintenance_mode
                && !meta(p, group, c, "maintenance").is_some_and(is_true)
                && !on_maintenance_node;
            let stonith = p.class.as_deref() == Some("stonith");
            if stonith {
                fencing_devices.push(p.id.clone());
            }
            PrimitiveView {
                id: p.id.clone(),
                agent: p.agent_spec(),
                role,
                nodes: active.into_iter().map(|(n, _)| n).collect(),
                failed,
                pending,
                disabled: is_disabled,
                blocked: is_blocked,
                managed,
                stonith,
                unclean_node,
                description: p.description.clone(),
            }
        };
    for item in &c.resources {
        match item {
            ResourceItem::Primitive(p) => {
                resources.push(ResourceView::Primitive(primitive_view(p, None, &mut nodes)))
            }
            ResourceItem::Group(g) => {
                let members = g
                    .primitives
                    .iter()
                    .map(|p| primitive_view(p, Some(g), &mut nodes))
                    .collect();
                resources.push(ResourceView::Group(GroupView {
                    id: g.id.clone(),
                    disabled: is_stopped_role(group_meta(g, c, "target-role")),
                    managed: group_meta(g, c, "is-managed").is_none_or(is_true)
                        && !maintenance_mode,
                    members,
                }));
            }
            ResourceItem::Other(e) => resources.push(ResourceView::Other {
                kind: e.name.clone(),
                id: e.id().unwrap_or("").to_string(),
            }),
            ResourceItem::Comment(_) => {}
        }
    }

    let dc = dc_uuid.and_then(|id| {
        nodes.iter().find(|n| n.id == id).map(|n| Dc {
            name: n.name.clone(),
            id: n.id.clone(),
            version: c.property("dc-version").map(str::to_string),
        })
    });
    let attr = |name: &str| {
        cib.extra_attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    StatusView {
        summary: Summary {
            stack: c
                .property("cluster-infrastructure")
                .unwrap_or("unknown")
                .to_string(),
            dc,
            have_quorum: cib.have_quorum.as_deref().is_some_and(is_true),
            last_written: attr("cib-last-written"),
            last_user: attr("update-user"),
            last_client: attr("update-client"),
            last_origin: attr("update-origin"),
            nodes_configured: nodes.len(),
            resource_instances: instances,
            disabled,
            blocked,
            maintenance_mode,
            stop_all_resources: property_bool(c, "stop-all-resources", false),
            stonith_enabled: property_bool(c, "stonith-enabled", true),
        },
        nodes,
        resources,
        fencing_devices,
        failed_actions,
    }
}

/// Failed operations of one resource on one node, one per operation key
/// (Pacemaker lists each key once per node).
fn collect_failures(rsc: &str, node: &str, ops: &[&LrmRscOp], out: &mut Vec<FailedAction>) {
    let mut ordered: Vec<&&LrmRscOp> = ops.iter().collect();
    ordered.sort_by_key(|o| (o.call_id.unwrap_or(i64::MAX), role::is_last_failure(o)));
    for op in ordered {
        if !role::op_failed(op) {
            continue;
        }
        let (status, rc) = (op.op_status.unwrap_or(0), op.rc_code.unwrap_or(0));
        let key = op.operation_key.clone().unwrap_or_else(|| op.id.clone());
        if out
            .iter()
            .any(|f| f.op_key.eq_ignore_ascii_case(&key) && f.node.eq_ignore_ascii_case(node))
        {
            continue;
        }
        let (task, interval_ms) = match parse_op_key(&key) {
            Some((_, t, i)) => (t, i),
            None => (op.operation.clone(), op.interval_ms.unwrap_or(0)),
        };
        out.push(FailedAction {
            op_key: key,
            resource: rsc.to_string(),
            task,
            interval_ms,
            node: node.to_string(),
            rc,
            status,
            exit_reason: op.exit_reason.clone().filter(|r| !r.is_empty()),
            call_id: op.call_id,
            last_rc_change: op.last_rc_change,
            exec_time_ms: op.exec_time,
            queue_time_ms: op.queue_time,
        });
    }
}

/// Case-insensitive comparison with digit runs compared as numbers
/// (`node2` < `node10`), as Pacemaker sorts node names.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let si = i;
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let na = std::str::from_utf8(&a[si..i])
                .unwrap_or("0")
                .trim_start_matches('0');
            let nb = std::str::from_utf8(&b[sj..j])
                .unwrap_or("0")
                .trim_start_matches('0');
            let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if ord != Ordering::Equal {
                return ord;
            }
        } else {
            let ord = a[i].to_ascii_lowercase().cmp(&b[j].to_ascii_lowercase());
            if ord != Ordering::Equal {
                return ord;
            }
            i += 1;
            j += 1;
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["node10", "Node2", "node1", "alpha"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, vec!["alpha", "node1", "Node2", "node10"]);
    }

    #[test]
    fn op_keys() {
        assert_eq!(
            parse_op_key("vip_monitor_10000"),
            Some(("vip".into(), "monitor".into(), 10000))
        );
        assert_eq!(
            parse_op_key("my_rsc_migrate_to_0"),
            Some(("my_rsc".into(), "migrate_to".into(), 0))
        );
        assert_eq!(parse_op_key("bad"), None);
    }
}
