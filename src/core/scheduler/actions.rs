//! The action table: creating and finding actions (Pacemaker's
//! `custom_action`), their operation configuration (timeouts, `on-fail`,
//! what they need), whether they can run, fencing and pseudo actions, and
//! orderings between actions.
//!
//! Invariant: an action is identified by (resource, key, node); creating an
//! existing one returns it and only ever makes it more required. Actions and
//! their ids are created in a deterministic order.

use super::model::*;
use super::rules::{unpack_sets, NextChange, RuleCtx};
use super::util::{op_key, parse_interval_ms, parse_msec, parse_op_key, Role};
use crate::core::cib::model::{Op, SetKind};

pub const DEFAULT_TIMEOUT_MS: i64 = 20_000;

impl<'a> Ws<'a> {
    /// `find_actions`: actions in `list` with this key on `node` (any node
    /// when `None`), oldest first. Like Pacemaker, a node-less action that
    /// matches is given the node asked for.
    pub fn find_actions(
        &mut self,
        list: &[ActIdx],
        key: &str,
        node: Option<NodeIdx>,
    ) -> Vec<ActIdx> {
        let mut out = Vec::new();
        for &a in list {
            let act = &mut self.actions[a.0 as usize];
            if act.uuid.eq_ignore_ascii_case(key) && claim_for_node(act, node) {
                out.push(a);
            }
        }
        out
    }

    /// `find_actions` over a resource's own actions, through its key index.
    pub fn find_rsc_actions(&mut self, r: RscIdx, key: &str, node: Option<NodeIdx>) -> Vec<ActIdx> {
        // Every action under the key matches it (the index is by the
        // lowercased key): only the node decides.
        let lower = key.to_ascii_lowercase();
        let Some(list) = self.rscs[r.0 as usize].actions_by_key.get(&lower) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for &a in list {
            if claim_for_node(&mut self.actions[a.0 as usize], node) {
                out.push(a);
            }
        }
        out
    }

    /// `find_actions_exact`: same key, on exactly this node.
    pub fn find_actions_exact(
        &self,
        list: &[ActIdx],
        key: &str,
        node: Option<NodeIdx>,
    ) -> Vec<ActIdx> {
        let Some(n) = node else { return Vec::new() };
        list.iter()
            .copied()
            .filter(|&a| {
                let act = self.act(a);
                act.node == Some(n) && act.uuid.eq_ignore_ascii_case(key)
            })
            .collect()
    }

    /// `pe__resource_actions`.
    pub fn rsc_actions(
        &mut self,
        r: RscIdx,
        node: Option<NodeIdx>,
        task: &str,
        require_node: bool,
    ) -> Vec<ActIdx> {
        let key = op_key(&self.rsc(r).id, task, 0);
        if require_node {
            let list = self
                .rsc(r)
                .actions_by_key
                .get(&key.to_ascii_lowercase())
                .cloned()
                .unwrap_or_default();
            self.find_actions_exact(&list, &key, node)
        } else {
            self.find_rsc_actions(r, &key, node)
        }
    }

    /// `find_first_action` by task (and node).
    pub fn find_first_by_task(
        &self,
        r: RscIdx,
        task: &str,
        node: Option<NodeIdx>,
    ) -> Option<ActIdx> {
        // rsc->actions is newest first in Pacemaker.
        self.rsc(r).actions.iter().rev().copied().find(|&a| {
            let act = self.act(a);
            act.task.eq_ignore_ascii_case(task)
                && match node {
                    None => true,
                    Some(n) => act.node == Some(n),
                }
        })
    }

    /// `find_first_action` by uuid.
    pub fn find_first_by_uuid(&self, r: RscIdx, uuid: &str) -> Option<ActIdx> {
        self.rsc(r)
            .actions
            .iter()
            .rev()
            .copied()
            .find(|&a| self.act(a).uuid.eq_ignore_ascii_case(uuid))
    }

    /// `find_rsc_op_entry_helper`: the configured `<op>` for a key.
    pub fn find_op_entry(&self, r: RscIdx, key: &str, include_disabled: bool) -> Option<&'a Op> {
        let rsc = self.rsc(r);
        let find = |key: &str| -> Option<&'a Op> {
            rsc.ops
                .iter()
                .zip(&rsc.op_keys)
                .find(|(op, k)| {
                    if !include_disabled
                        && op.enabled.as_deref().and_then(super::util::parse_bool) == Some(false)
                    {
                        return false;
                    }
                    k.len() == key.len() && k.as_bytes().eq_ignore_ascii_case(key.as_bytes())
                })
                .map(|(op, _)| *op)
        };
        if let Some(op) = find(key) {
            return Some(op);
        }
        if key.contains("migrate_to") || key.contains("migrate_from") {
            return find(&op_key(&rsc.id, "migrate", 0));
        }
        if key.contains("_notify_") {
            return find(&op_key(&rsc.id, "notify", 0));
        }
        None
    }

    /// The meta attributes an action for this operation would get.
    pub fn op_meta_for(
        &self,
        r: RscIdx,
        op: Option<&'a Op>,
        task: &str,
        interval_ms: u64,
        is_probe: bool,
    ) -> Attrs {
        self.op_meta(r, op, task, interval_ms, is_probe)
    }

    /// The merged meta of an operation: op_defaults, then the op's meta sets
    /// and attributes.
    fn op_meta(
        &self,
        r: RscIdx,
        op: Option<&'a Op>,
        task: &str,
        interval_ms: u64,
        is_probe: bool,
    ) -> Attrs {
        let rsc = self.rsc(r);
        let mut meta = Attrs::new();
        let ctx = RuleCtx {
            now: self.now,
            rsc: Some((
                rsc.class.as_deref().unwrap_or(""),
                rsc.provider.as_deref(),
                rsc.kind.as_deref().unwrap_or(""),
            )),
            op: Some((task, interval_ms)),
            ..Default::default()
        };
        let mut next = NextChange::default();
        if let Some(sets) = &self.cib.configuration.op_defaults {
            unpack_sets(
                sets.iter().filter(|s| s.kind == SetKind::Meta),
                &ctx,
                &mut meta,
                None,
                false,
                &mut next,
            );
        }
        if is_probe {
            // A probe takes the timeout of the shortest recurring monitor.
            let mut best: Option<(u64, &Op)> = None;
            for op in &rsc.ops {
                if op.enabled.as_deref().and_then(super::util::parse_bool) == Some(false)
                    || op.name != "monitor"
                {
                    continue;
                }
                let i = parse_interval_ms(op.interval.as_deref());
                if i > 0 && best.is_none_or(|(b, _)| i < b) {
                    best = Some((i, op));
                }
            }
            if let Some((_, op)) = best {
                if let Some(t) = &op.timeout {
                    meta.insert("timeout".into(), t.clone());
                }
            }
        }
        if let Some(op) = op {
            unpack_sets(
                op.sets.iter().filter(|s| s.kind == SetKind::Meta),
                &ctx,
                &mut meta,
                None,
                true,
                &mut next,
            );
            let attrs: [(&str, &Option<String>); 11] = [
                ("interval", &op.interval),
                ("timeout", &op.timeout),
                ("role", &op.role),
                ("on-fail", &op.on_fail),
                ("start-delay", &op.start_delay),
                ("interval-origin", &op.interval_origin),
                ("record-pending", &op.record_pending),
                ("enabled", &op.enabled),
                ("requires", &op.requires),
                ("description", &op.description),
                ("name", &None),
            ];
            meta.insert("name".into(), op.name.clone());
            for (k, v) in attrs {
                if let Some(v) = v {
                    meta.insert(k.into(), v.clone());
                }
            }
            for (k, v) in &op.extra_attrs {
                meta.insert(k.clone(), v.clone());
            }
        }
        meta.remove("id");
        if interval_ms > 0 {
            meta.insert("interval".into(), interval_ms.to_string());
        } else {
            meta.remove("interval");
        }
        if rsc.class.as_deref() == Some("stonith") && (task == "start" || is_probe) {
            if let Some(t) = rsc.params.get("pcmk_monitor_timeout") {
                meta.insert("timeout".into(), t.clone());
            }
        }
        let timeout = meta
            .get("timeout")
            .and_then(|t| parse_msec(t))
            .unwrap_or(DEFAULT_TIMEOUT_MS);
        meta.insert("timeout".into(), timeout.to_string());
        meta
    }

    /// What a failure of this operation leads to, and the role after it
    /// (`unpack_operation`'s on-fail handling).
    pub fn op_failure_policy(
        &self,
        r: RscIdx,
        op: Option<&'a Op>,
        task: &str,
        meta: &Attrs,
    ) -> (OnFail, Role) {
        let rsc = self.rsc(r);
        let mut value = meta.get("on-fail").cloned();
        if task == "stop" {
            if let Some(v) = &value {
                let lv = v.to_ascii_lowercase();
                if lv == "standby" || lv == "demote" || lv == "stop" {
                    value = None;
                }
            }
        } else if task == "demote" && value.is_none() {
            for o in &rsc.ops {
                let Some(of) = &o.on_fail else { continue };
                if o.enabled.as_deref().and_then(super::util::parse_bool) == Some(false) {
                    continue;
                }
                let role_ok = o.role.as_deref().is_some_and(|r| {
                    r.eq_ignore_ascii_case("Promoted") || r.eq_ignore_ascii_case("Master")
                });
                if o.name != "monitor" || !role_ok || parse_interval_ms(o.interval.as_deref()) == 0
                {
                    continue;
                }
                if of.eq_ignore_ascii_case("demote") {
                    continue;
                }
                value = Some(of.clone());
                break;
            }
        } else if task == "lrm_delete" {
            value = Some("ignore".into());
        } else if value
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case("demote"))
        {
            let name = op.map(|o| o.name.as_str()).unwrap_or("");
            let promoted_monitor = name == "monitor"
                && op.and_then(|o| o.role.as_deref()).is_some_and(|r| {
                    r.eq_ignore_ascii_case("Promoted") || r.eq_ignore_ascii_case("Master")
                })
                && op.is_some_and(|o| parse_interval_ms(o.interval.as_deref()) != 0);
            if name != "promote" && !promoted_monitor {
                value = None;
            }
        }
        let mut fail_role = Role::Unknown;
        let on_fail = match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("block") => Some(OnFail::Block),
            Some("fence") => {
                if self.config.stonith_enabled {
                    Some(OnFail::Fence)
                } else {
                    fail_role = Role::Stopped;
                    Some(OnFail::Stop)
                }
            }
            Some("standby") => Some(OnFail::Standby),
            Some("ignore") | Some("nothing") => Some(OnFail::Ignore),
            Some("migrate") => Some(OnFail::Migrate),
            Some("stop") => {
                fail_role = Role::Stopped;
                Some(OnFail::Stop)
            }
            Some("restart") => Some(OnFail::Recover),
            Some("demote") => Some(OnFail::Demote),
            _ => None,
        };
        let on_fail = match on_fail {
            Some(f) => f,
            None if task == "stop" => {
                if self.config.stonith_enabled {
                    OnFail::Fence
                } else {
                    OnFail::Block
                }
            }
            None => OnFail::Recover,
        };
        if op.is_some() {
            if let Some(v) = meta.get("role_after_failure") {
                if fail_role == Role::Unknown {
                    fail_role = Role::parse(v);
                }
            }
        }
        if fail_role == Role::Unknown {
            fail_role = if task == "promote" {
                Role::Unpromoted
            } else {
                Role::Started
            };
        }
        (on_fail, fail_role)
    }

    /// The (on-fail, fail-role) of an operation key without creating an
    /// action (Pacemaker's unsaved `custom_action`).
    pub fn failure_policy_for_key(&self, r: RscIdx, key: &str, task: &str) -> (OnFail, Role) {
        let op = self.find_op_entry(r, key, true);
        let interval = parse_op_key(key).map(|(_, _, i)| i).unwrap_or(0);
        let is_probe = task == "monitor" && interval == 0;
        let meta = self.op_meta(r, op, task, interval, is_probe);
        self.op_failure_policy(r, op, task, &meta)
    }

    fn effective_quorum_policy(&mut self, r: RscIdx) -> QuorumPolicy {
        if self.config.have_quorum {
            return QuorumPolicy::Ignore;
        }
        if self.config.no_quorum_policy == QuorumPolicy::Demote {
            let rsc = self.rsc_mut(r);
            return match rsc.role {
                Role::Promoted | Role::Unpromoted => {
                    if rsc.next_role > Role::Unpromoted {
                        rsc.next_role = Role::Unpromoted;
                    }
                    QuorumPolicy::Ignore
                }
                _ => QuorumPolicy::Stop,
            };
        }
        self.config.no_quorum_policy
    }

    pub fn set_reason(&mut self, a: ActIdx, reason: Option<&str>, overwrite: bool) {
        let act = self.act_mut(a);
        if act.reason.is_some() && !overwrite {
            return;
        }
        act.reason = reason.map(str::to_string);
    }

    fn update_runnable(&mut self, a: ActIdx, for_graph: bool) {
        let act = self.act(a);
        if act.has(aflag::PSEUDO) {
            return;
        }
        let Some(r) = act.rsc else { return };
        match act.node {
            None => self.act_mut(a).flags &= !aflag::RUNNABLE,
            Some(n) if !act.has(aflag::DC) && !self.node(n).online => {
                self.act_mut(a).flags &= !aflag::RUNNABLE;
                let is_stop = self.act(a).task == "stop";
                if self.rsc(r).has(rflag::MANAGED) && for_graph && is_stop && !self.node(n).unclean
                {
                    self.fence_node(n, "stop is unrunnable", false);
                }
            }
            Some(n) if !act.has(aflag::DC) && self.node(n).pending => {
                self.act_mut(a).flags &= !aflag::RUNNABLE;
            }
            Some(_) if act.needs == Needs::Nothing => {
                self.set_reason(a, None, true);
                self.act_mut(a).flags |= aflag::RUNNABLE;
            }
            Some(_) => match self.effective_quorum_policy(r) {
                QuorumPolicy::Stop => {
                    self.act_mut(a).flags &= !aflag::RUNNABLE;
                    self.set_reason(a, Some("no quorum"), true);
                }
                QuorumPolicy::Freeze => {
                    let active = self.rsc_active(r, true);
                    let rsc = self.rsc(r);
                    if !active || rsc.next_role > rsc.role {
                        self.act_mut(a).flags &= !aflag::RUNNABLE;
                        self.set_reason(a, Some("quorum freeze"), true);
                    }
                }
                _ => self.act_mut(a).flags |= aflag::RUNNABLE,
            },
        }
    }

    /// `custom_action` with `save_action = TRUE`.
    pub fn custom_action(
        &mut self,
        rsc: Option<RscIdx>,
        key: String,
        task: &str,
        node: Option<NodeIdx>,
        optional: bool,
    ) -> ActIdx {
        let existing = match rsc {
            Some(r) => self.find_rsc_actions(r, &key, node).first().copied(),
            None => self.singletons.get(&key).copied().and_then(|a| {
                // find_actions on the global list: match node as above.
                let act = self.act(a);
                match (node, act.node) {
                    (None, _) => Some(a),
                    (Some(_), None) => {
                        self.act_mut(a).node = node;
                        Some(a)
                    }
                    (Some(n), Some(m)) if n == m => Some(a),
                    _ => None,
                }
            }),
        };
        let a = match existing {
            Some(a) => a,
            None => self.new_action(key, task, rsc, node, optional),
        };
        // update_action_optional
        {
            let act = self.act(a);
            let unmanaged_nonrecurring = match act.rsc {
                Some(r) => {
                    act.node.is_some()
                        && !act.has(aflag::PSEUDO)
                        && !self.rsc(r).has(rflag::MANAGED)
                        && !act.meta.contains_key("interval")
                }
                None => false,
            };
            if unmanaged_nonrecurring {
                self.act_mut(a).flags |= aflag::OPTIONAL;
            } else if !optional {
                self.act_mut(a).flags &= !aflag::OPTIONAL;
            }
        }
        if let Some(r) = rsc {
            self.update_runnable(a, true);
            let task = self.act(a).task.clone();
            let runnable = self.act(a).has(aflag::RUNNABLE);
            let rs = self.rsc_mut(r);
            if task == "stop" {
                rs.set(rflag::STOPPING);
            } else if task == "start" {
                if runnable {
                    rs.set(rflag::STARTING);
                } else {
                    rs.clear(rflag::STARTING);
                }
            }
        }
        a
    }

    fn new_action(
        &mut self,
        key: String,
        task: &str,
        rsc: Option<RscIdx>,
        node: Option<NodeIdx>,
        optional: bool,
    ) -> ActIdx {
        let mut flags = aflag::RUNNABLE;
        if optional {
            flags |= aflag::OPTIONAL;
        }
        if task == "lrm_delete" {
            flags |= aflag::DC;
        }
        let mut action = Action {
            rsc,
            node,
            task: task.to_string(),
            uuid: key,
            cancel_task: None,
            flags,
            needs: Needs::Nothing,
            on_fail: OnFail::Recover,
            fail_role: Role::Started,
            meta: Attrs::new(),
            reason: None,
            op_entry: None,
            before: Vec::new(),
            after: Vec::new(),
            runnable_before: 0,
            required_runnable_before: 0,
        };
        if let Some(r) = rsc {
            let op = self.find_op_entry(r, &action.uuid, true);
            let interval = parse_op_key(&action.uuid).map(|(_, _, i)| i).unwrap_or(0);
            let is_probe = task == "monitor" && interval == 0;
            let meta = self.op_meta(r, op, task, interval, is_probe);
            let (on_fail, fail_role) = self.op_failure_policy(r, op, task, &meta);
            let rs = self.rsc(r);
            action.needs = if task != "start" && task != "promote" {
                Needs::Nothing
            } else if rs.has(rflag::NEEDS_FENCING) {
                Needs::Fencing
            } else if rs.has(rflag::NEEDS_QUORUM) {
                Needs::Quorum
            } else {
                Needs::Nothing
            };
            action.op_entry = op;
            action.meta = meta;
            action.on_fail = on_fail;
            action.fail_role = fail_role;
        }
        let idx = ActIdx(self.actions.len() as u32);
        let uuid = action.uuid.clone();
        self.actions.push(action);
        match rsc {
            Some(r) => {
                let rs = self.rsc_mut(r);
                rs.actions.push(idx);
                rs.actions_by_key
                    .entry(uuid.to_ascii_lowercase())
                    .or_default()
                    .push(idx);
            }
            None => {
                self.singletons.insert(uuid, idx);
            }
        }
        idx
    }

    /// `get_pseudo_op`.
    pub fn pseudo_op(&mut self, name: &str) -> ActIdx {
        if let Some(&a) = self.singletons.get(name) {
            return a;
        }
        let a = self.custom_action(None, name.to_string(), name, None, true);
        self.act_mut(a).flags |= aflag::PSEUDO | aflag::RUNNABLE;
        a
    }

    pub fn rsc_action(
        &mut self,
        r: RscIdx,
        task: &str,
        node: Option<NodeIdx>,
        optional: bool,
    ) -> ActIdx {
        let key = op_key(&self.rsc(r).id, task, 0);
        self.custom_action(Some(r), key, task, node, optional)
    }

    /// `pe_fence_op`: the fencing action for a node (created once).
    pub fn fence_op(
        &mut self,
        n: NodeIdx,
        op: Option<&str>,
        optional: bool,
        reason: Option<&str>,
        priority_delay: bool,
    ) -> ActIdx {
        let op = op
            .map(str::to_string)
            .unwrap_or_else(|| self.config.stonith_action.clone());
        let key = format!("stonith-{}-{}", self.node(n).uname, op);
        let a = match self.singletons.get(&key).copied() {
            Some(a) => a,
            None => {
                let a = self.custom_action(None, key, "stonith", Some(n), true);
                let uname = self.node(n).uname.clone();
                let id = self.node(n).id.clone();
                let act = self.act_mut(a);
                act.meta.insert("on_node".into(), uname);
                act.meta.insert("on_node_uuid".into(), id);
                act.meta.insert("stonith_action".into(), op);
                a
            }
        };
        if self.config.priority_fencing_delay_s > 0
            && (priority_delay || self.act(a).meta.contains_key("priority-fencing-delay"))
        {
            let d = self.node_priority_fencing_delay(n);
            self.act_mut(a)
                .meta
                .insert("priority-fencing-delay".into(), d.to_string());
        }
        if !optional && self.can_fence(Some(n)) {
            self.act_mut(a).flags &= !aflag::OPTIONAL;
            self.set_reason(a, reason, false);
        } else if let Some(reason) = reason {
            if self.act(a).reason.is_none() {
                self.act_mut(a).reason = Some(reason.to_string());
            }
        }
        a
    }

    fn node_priority_fencing_delay(&self, n: NodeIdx) -> i64 {
        let c = &self.config;
        if c.priority_fencing_delay_s <= 0 {
            return 0;
        }
        let node = self.node(n);
        if node.kind != NodeType::Member || node.online {
            return 0;
        }
        let (mut members, mut online, mut top, mut lowest) = (0, 0, 0, 0);
        for m in &self.nodes {
            if m.kind != NodeType::Member {
                continue;
            }
            members += 1;
            if m.online {
                online += 1;
            }
            if members == 1 || m.priority > top {
                top = m.priority;
            }
            if members == 1 || m.priority < lowest {
                lowest = m.priority;
            }
        }
        if online > members / 2 || lowest == top || node.priority < top {
            return 0;
        }
        c.priority_fencing_delay_s
    }

    /// `pe_fence_node`: marks a node unclean and schedules its fencing.
    pub fn fence_node(&mut self, n: NodeIdx, reason: &str, priority_delay: bool) {
        if self.node(n).unclean {
            return;
        }
        self.node_mut(n).unclean = true;
        self.node_mut(n).fence_reason = Some(reason.to_string());
        self.fence_op(n, None, true, Some(reason), priority_delay);
    }

    /// `order_actions`: adds an ordering edge unless an equal one exists.
    pub fn order_actions(&mut self, first: ActIdx, then: ActIdx, kind: u32) -> bool {
        if kind == oflag::NONE || first == then {
            return false;
        }
        for &l in &self.act(first).after {
            let link = self.link(l);
            if link.action == then && (link.kind & kind) != 0 {
                return false;
            }
        }
        let la = LinkIdx(self.links.len() as u32);
        self.links.push(Link {
            action: then,
            kind,
            dumped: false,
        });
        let lb = LinkIdx(self.links.len() as u32);
        self.links.push(Link {
            action: first,
            kind,
            dumped: false,
        });
        self.act_mut(first).after.insert(0, la);
        self.act_mut(then).before.insert(0, lb);
        true
    }

    /// `pcmk__new_ordering`.
    #[allow(clippy::too_many_arguments)]
    pub fn new_ordering(
        &mut self,
        first_rsc: Option<RscIdx>,
        first_task: Option<String>,
        first_action: Option<ActIdx>,
        then_rsc: Option<RscIdx>,
        then_task: Option<String>,
        then_action: Option<ActIdx>,
        flags: u32,
    ) {
        let first_rsc = first_rsc.or_else(|| first_action.and_then(|a| self.act(a).rsc));
        let then_rsc = then_rsc.or_else(|| then_action.and_then(|a| self.act(a).rsc));
        let first_task = first_task
            .or_else(|| first_action.map(|a| self.act(a).uuid.clone()))
            .map(std::rc::Rc::from);
        let then_task = then_task
            .or_else(|| then_action.map(|a| self.act(a).uuid.clone()))
            .map(std::rc::Rc::from);
        let id = self.orderings.len() as u32 + 1;
        let o = Ordering {
            id,
            flags,
            first_rsc,
            first_action,
            first_task,
            then_rsc,
            then_action,
            then_task,
        };
        self.orderings.push(o.clone());
        super::ordering::order_migration_equivalents(self, &o);
    }

    /// `pcmk__order_resource_actions`.
    pub fn order_rsc_actions(
        &mut self,
        first: RscIdx,
        first_task: &str,
        then: RscIdx,
        then_task: &str,
        flags: u32,
    ) {
        let fk = op_key(&self.rsc(first).id, first_task, 0);
        let tk = op_key(&self.rsc(then).id, then_task, 0);
        self.new_ordering(
            Some(first),
            Some(fk),
            None,
            Some(then),
            Some(tk),
            None,
            flags,
        );
    }

    /// `pe__clear_failcount`.
    pub fn clear_failcount(&mut self, r: RscIdx, n: NodeIdx, _reason: &str) -> ActIdx {
        let key = op_key(&self.rsc(r).id, "clear_failcount", 0);
        let a = self.custom_action(Some(r), key, "clear_failcount", Some(n), false);
        self.act_mut(a)
            .meta
            .insert("op_no_wait".into(), "true".into());
        a
    }

    /// `pcmk__new_cancel_action`.
    pub fn cancel_action(&mut self, r: RscIdx, task: &str, interval_ms: u64, n: NodeIdx) -> ActIdx {
        let key = op_key(&self.rsc(r).id, task, interval_ms);
        let a = self.custom_action(Some(r), key, "cancel", Some(n), false);
        let act = self.act_mut(a);
        act.task = "cancel".into();
        act.cancel_task = Some(task.to_string());
        act.meta.insert("operation".into(), task.to_string());
        act.meta.insert("interval".into(), interval_ms.to_string());
        a
    }
}

/// `find_actions`'s node test: any node matches none asked for; an action
/// without a node matches the node asked for and takes it (as Pacemaker's
/// lookup does); otherwise the nodes must be equal.
fn claim_for_node(act: &mut Action, node: Option<NodeIdx>) -> bool {
    match (node, act.node) {
        (None, _) => true,
        (Some(n), None) => {
            act.node = Some(n);
            true
        }
        (Some(n), Some(m)) => m == n,
    }
}
