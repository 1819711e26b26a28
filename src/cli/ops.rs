//! Operations of a new resource, as pcs 0.11 builds them: the operator's
//! `op` lists first, then the agent's default operations for every action
//! the operator did not name, monitor always included, intervals made
//! unique per action, all sorted by action name.
//!
//! Invariant: pure. Agent metadata comes in as data; no ids are chosen here
//! (`edit.rs` does that with `ids.rs`).

use super::agent_info::{ActionInfo, AgentMetadata};
use super::command::{OpSpec, Pairs};

/// Default interval of an action without one (pcs: monitor 60s, others 0s).
pub fn default_interval(action: &str) -> &'static str {
    if action == "monitor" {
        "60s"
    } else {
        "0s"
    }
}

/// Attributes an `op` may carry on the command line.
pub const OP_ATTRIBUTES: &[&str] = &[
    "id",
    "name",
    "interval",
    "description",
    "start-delay",
    "interval-origin",
    "timeout",
    "enabled",
    "record-pending",
    "role",
    "on-fail",
    "OCF_CHECK_LEVEL",
];

const ON_FAIL: &[&str] = &[
    "block",
    "demote",
    "fence",
    "ignore",
    "restart",
    "restart-container",
    "standby",
    "stop",
];

/// Pacemaker's interval/timeout syntax as pcs reads it, in seconds.
pub fn seconds(v: &str) -> Option<u64> {
    if let Ok(n) = v.parse::<u64>() {
        return Some(n);
    }
    for (suffix, mult) in [
        ("sec", 1),
        ("min", 60),
        ("hr", 3600),
        ("s", 1),
        ("m", 60),
        ("h", 3600),
    ] {
        if let Some(n) = v.strip_suffix(suffix) {
            if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) {
                return n.parse::<u64>().ok().map(|n| n * mult);
            }
        }
    }
    None
}

/// One operation to write: its action and attributes in pcs's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOp {
    pub name: String,
    /// Attributes of `<op>` other than name and id (interval first).
    pub attrs: Pairs,
    /// `OCF_CHECK_LEVEL`, written as an instance attribute of the op.
    pub check_level: Option<String>,
    /// An id the operator chose (`op monitor id=...`).
    pub id: Option<String>,
}

impl NewOp {
    pub fn interval(&self) -> &str {
        self.attrs
            .iter()
            .find(|(k, _)| k == "interval")
            .map(|(_, v)| v.as_str())
            .unwrap_or("0s")
    }
}

/// Role names as the CIB's schema wants them: `Promoted`/`Unpromoted` from
/// pacemaker-3.7 on, `Master`/`Slave` before.
pub fn role_for_cib(role: &str, new_names: bool) -> String {
    let canon = match role.to_ascii_lowercase().as_str() {
        "master" | "promoted" => "Promoted",
        "slave" | "unpromoted" => "Unpromoted",
        "started" => "Started",
        "stopped" => "Stopped",
        _ => return role.to_string(),
    };
    match (canon, new_names) {
        ("Promoted", false) => "Master".to_string(),
        ("Unpromoted", false) => "Slave".to_string(),
        (c, _) => c.to_string(),
    }
}

/// The agent's default operations (pcs's `get_default_operations`): every
/// action but meta-data, status and validate-all (only monitor for fence
/// devices), with monitor added when the agent lists none.
pub fn agent_defaults(
    meta: Option<&AgentMetadata>,
    stonith: bool,
    necessary_only: bool,
) -> Vec<ActionInfo> {
    let mut list: Vec<ActionInfo> = meta
        .map(|m| {
            m.md.actions
                .iter()
                .filter(|a| {
                    if necessary_only || stonith {
                        a.name == "monitor"
                    } else {
                        !matches!(a.name.as_str(), "meta-data" | "status" | "validate-all")
                    }
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if !list.iter().any(|a| a.name == "monitor") {
        list.push(ActionInfo {
            name: "monitor".into(),
            ..ActionInfo::default()
        });
    }
    list
}

/// An agent action as an operation (interval defaulted, depth as
/// OCF_CHECK_LEVEL).
fn action_to_op(a: &ActionInfo, new_role_names: bool) -> NewOp {
    let mut attrs: Pairs = vec![(
        "interval".into(),
        a.interval
            .clone()
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| default_interval(&a.name).to_string()),
    )];
    if let Some(t) = a.timeout.clone().filter(|t| !t.is_empty()) {
        attrs.push(("timeout".into(), t));
    }
    if let Some(r) = a.role.clone().filter(|r| !r.is_empty()) {
        attrs.push(("role".into(), role_for_cib(&r, new_role_names)));
    }
    if let Some(s) = a.start_delay.clone().filter(|s| !s.is_empty()) {
        attrs.push(("start-delay".into(), s));
    }
    NewOp {
        name: a.name.clone(),
        attrs,
        check_level: a.depth.clone().filter(|d| !d.is_empty() && d != "0"),
        id: None,
    }
}

/// What the operator asked for, checked and normalized. Returns the ops and
/// the problems found as (message, overridable with --force).
pub fn user_ops(
    specs: &[OpSpec],
    allowed_actions: Option<&[String]>,
    new_role_names: bool,
) -> (Vec<NewOp>, Vec<(String, bool)>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for spec in specs {
        if let Some(allowed) = allowed_actions {
            if !allowed.iter().any(|a| a == &spec.name) {
                problems.push((
                    format!(
                        "'{}' is not a valid operation name value, use {}",
                        spec.name,
                        allowed.join(", ")
                    ),
                    true,
                ));
            }
        }
        let mut attrs: Pairs = Vec::new();
        let mut check_level = None;
        let mut id = None;
        for (k, v) in &spec.attrs {
            if !OP_ATTRIBUTES.contains(&k.as_str()) || k == "name" {
                problems.push((
                    format!(
                        "invalid resource operation option '{k}', allowed options are: {}",
                        OP_ATTRIBUTES
                            .iter()
                            .filter(|a| **a != "name")
                            .copied()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    false,
                ));
                continue;
            }
            let v = match k.as_str() {
                "role" => {
                    if super::grammar::role(v).is_none() {
                        problems.push((
                            format!("'{v}' is not a valid role value, use Promoted, Started, Stopped, Unpromoted"),
                            false,
                        ));
                    }
                    role_for_cib(v, new_role_names)
                }
                "on-fail" => {
                    let l = v.to_ascii_lowercase();
                    if !ON_FAIL.contains(&l.as_str()) {
                        problems.push((
                            format!(
                                "'{v}' is not a valid on-fail value, use {}",
                                ON_FAIL.join(", ")
                            ),
                            false,
                        ));
                    }
                    l
                }
                "record-pending" | "enabled" => {
                    let l = v.to_ascii_lowercase();
                    if !["0", "1", "true", "false"].contains(&l.as_str()) {
                        problems.push((
                            format!("'{v}' is not a valid {k} value, use 0, 1, false, true"),
                            false,
                        ));
                    }
                    l
                }
                "interval" | "timeout" | "start-delay"
                    if seconds(v).is_none() && !v.starts_with('P') =>
                {
                    problems.push((
                        format!(
                            "'{v}' is not a valid {k} value, use a time interval (e.g. 20s, 1min)"
                        ),
                        false,
                    ));
                    v.clone()
                }
                _ => v.clone(),
            };
            match k.as_str() {
                "OCF_CHECK_LEVEL" => check_level = Some(v),
                "id" => {
                    if let Err(e) = super::grammar::check_id(&v, "operation id") {
                        problems.push((e.to_string(), false));
                    }
                    id = Some(v)
                }
                _ => attrs.push((k.clone(), v)),
            }
        }
        if spec.attrs.iter().any(|(k, _)| k == "interval-origin")
            && spec.attrs.iter().any(|(k, _)| k == "start-delay")
        {
            problems.push((
                "only one of interval-origin and start-delay can be used".into(),
                false,
            ));
        }
        if !attrs.iter().any(|(k, _)| k == "interval") {
            attrs.insert(
                0,
                ("interval".into(), default_interval(&spec.name).to_string()),
            );
        }
        out.push(NewOp {
            name: spec.name.clone(),
            attrs,
            check_level,
            id,
        });
    }
    // The same action twice with the same interval is ambiguous.
    for (i, a) in out.iter().enumerate() {
        for b in &out[..i] {
            if a.name == b.name
                && seconds(a.interval()).is_some()
                && seconds(a.interval()) == seconds(b.interval())
            {
                problems.push((
                    format!(
                        "multiple specification of the same operation with the same interval: {} with intervals {}, {}",
                        a.name,
                        b.interval(),
                        a.interval()
                    ),
                    false,
                ));
            }
        }
    }
    (out, problems)
}

/// Default actions as operations, in the agent's order, with intervals made
/// unique per action (a warning for each change).
pub fn defaults_as_ops(defaults: &[ActionInfo], new_role_names: bool) -> (Vec<NewOp>, Vec<String>) {
    let mut warnings = Vec::new();
    let mut used: Vec<(String, u64)> = Vec::new();
    let mut out = Vec::new();
    for a in defaults {
        let mut op = action_to_op(a, new_role_names);
        let interval = op.interval().to_string();
        if let Some(mut secs) = seconds(&interval) {
            if used.contains(&(op.name.clone(), secs)) {
                while used.contains(&(op.name.clone(), secs)) {
                    secs += 1;
                }
                warnings.push(format!(
                    "changing a {} operation interval from {interval} to {secs} to make the operation unique",
                    op.name
                ));
                op.attrs[0].1 = secs.to_string();
            }
            used.push((op.name.clone(), secs));
        }
        out.push(op);
    }
    (out, warnings)
}

/// The final list: the operator's ops, then the defaults for actions not
/// named, sorted by action name (stable: ops of one action keep their
/// relative order).
pub fn complete(
    user: Vec<NewOp>,
    defaults: &[ActionInfo],
    new_role_names: bool,
) -> (Vec<NewOp>, Vec<String>) {
    let named: Vec<String> = user.iter().map(|o| o.name.clone()).collect();
    let remaining: Vec<ActionInfo> = defaults
        .iter()
        .filter(|a| !named.contains(&a.name))
        .cloned()
        .collect();
    let (defaults, warnings) = defaults_as_ops(&remaining, new_role_names);
    let mut all = user;
    all.extend(defaults);
    all.sort_by(|a, b| a.name.cmp(&b.name));
    (all, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(name: &str, interval: Option<&str>, timeout: Option<&str>) -> ActionInfo {
        ActionInfo {
            name: name.into(),
            interval: interval.map(Into::into),
            timeout: timeout.map(Into::into),
            ..ActionInfo::default()
        }
    }

    fn with_actions(actions: Vec<ActionInfo>) -> AgentMetadata {
        AgentMetadata {
            md: crate::shell::agents::AgentMetadata {
                actions,
                ..Default::default()
            },
            ..AgentMetadata::default()
        }
    }

    fn ipaddr2() -> AgentMetadata {
        with_actions(vec![
            action("start", None, Some("20s")),
            action("stop", None, Some("20s")),
            action("status", Some("10s"), Some("20s")),
            action("monitor", Some("10s"), Some("20s")),
            action("meta-data", None, Some("5s")),
            action("validate-all", None, Some("20s")),
        ])
    }

    #[test]
    fn user_monitor_replaces_the_default_one_and_defaults_fill_the_rest() {
        let spec = OpSpec {
            name: "monitor".into(),
            attrs: vec![("interval".into(), "20s".into())],
        };
        let m = ipaddr2();
        let (user, problems) = user_ops(&[spec], None, true);
        assert!(problems.is_empty());
        let (ops, warnings) = complete(user, &agent_defaults(Some(&m), false, false), true);
        assert!(warnings.is_empty());
        let got: Vec<(String, Pairs)> = ops.into_iter().map(|o| (o.name, o.attrs)).collect();
        let p = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Pairs>()
        };
        assert_eq!(
            got,
            vec![
                ("monitor".into(), p(&[("interval", "20s")])),
                ("start".into(), p(&[("interval", "0s"), ("timeout", "20s")])),
                ("stop".into(), p(&[("interval", "0s"), ("timeout", "20s")])),
            ]
        );
    }

    #[test]
    fn without_metadata_only_a_monitor_is_added() {
        let (ops, _) = complete(Vec::new(), &agent_defaults(None, false, false), true);
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].name, "monitor");
        assert_eq!(
            ops[0].attrs,
            vec![("interval".to_string(), "60s".to_string())]
        );
    }

    #[test]
    fn clashing_default_intervals_are_made_unique() {
        let m = with_actions(vec![
            action("monitor", Some("10s"), None),
            action("monitor", Some("10"), None),
        ]);
        let (ops, warnings) = complete(Vec::new(), &agent_defaults(Some(&m), false, false), true);
        assert_eq!(ops[1].interval(), "11");
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn bad_op_options_are_reported() {
        let spec = OpSpec {
            name: "monitor".into(),
            attrs: vec![
                ("intervl".into(), "1s".into()),
                ("on-fail".into(), "explode".into()),
            ],
        };
        let (_, problems) = user_ops(&[spec], Some(&["start".to_string()]), true);
        let msgs: Vec<&str> = problems.iter().map(|(m, _)| m.as_str()).collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(problems[0].1, "an unknown action can be forced");
    }

    #[test]
    fn roles_follow_the_schema() {
        assert_eq!(role_for_cib("promoted", true), "Promoted");
        assert_eq!(role_for_cib("Promoted", false), "Master");
        assert_eq!(role_for_cib("Slave", true), "Unpromoted");
    }

    #[test]
    fn seconds_like_pcs() {
        assert_eq!(seconds("20s"), Some(20));
        assert_eq!(seconds("2min"), Some(120));
        assert_eq!(seconds("60"), Some(60));
        assert_eq!(seconds("1h"), Some(3600));
        assert_eq!(seconds("x"), None);
    }
}
