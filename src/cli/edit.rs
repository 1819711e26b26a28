//! Layer 3 of the command line: a validated command carried out on a CIB,
//! the way pcs carries it out (same elements, attributes, ids, defaults).
//!
//! Every check runs before anything is changed and every problem is
//! reported, not just the first; problems pcs lets `--force` override are
//! warnings under `--force`. The caller writes the CIB only if this returns
//! `Ok` and the CIB differs from what was read.
//!
//! Invariant: no IO. Agent metadata comes through the [`Agents`] trait; the
//! CIB comes in and goes out as the typed model.

use super::agent_info::{self, AgentError, AgentMetadata};
use super::command::*;
use super::error::CliError;
use super::grammar::check_id;
use super::ids::{sanitize, Ids};
use super::ops::{self, NewOp};
use crate::core::action::{AgentRef, Standard};
use crate::core::cib::xml::Pos;
use crate::core::cib::*;

/// Where agent metadata comes from (the machine's agents, or a test's).
pub trait Agents {
    fn metadata(&self, agent: &AgentRef) -> Result<AgentMetadata, AgentError>;
    /// Agents of this type (for `resource create X IPaddr2`).
    fn find_by_type(&self, kind: &str) -> Vec<AgentRef>;
}

/// The agents installed on this machine.
pub struct SystemAgents;

impl Agents for SystemAgents {
    fn metadata(&self, agent: &AgentRef) -> Result<AgentMetadata, AgentError> {
        agent_info::metadata(&super::agent_config(), agent)
    }

    fn find_by_type(&self, kind: &str) -> Vec<AgentRef> {
        agent_info::all_resource_agents(&super::agent_config())
            .into_iter()
            .filter(|a| a.kind == kind)
            .collect()
    }
}

/// What the command asked for besides its words.
pub struct Ctx<'a> {
    pub force: bool,
    pub agents: &'a dyn Agents,
}

/// What a successful edit reports.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `Warning: ...` lines.
    pub warnings: Vec<String>,
    /// Informational lines (pcs prints these to standard error too).
    pub notes: Vec<String>,
}

/// Collects problems so that all are reported at once.
struct Report<'a> {
    force: bool,
    errors: Vec<String>,
    out: &'a mut Outcome,
}

impl Report<'_> {
    fn error(&mut self, m: impl Into<String>) {
        self.errors.push(m.into());
    }

    /// A problem `--force` turns into a warning.
    fn forceable(&mut self, m: impl Into<String>) {
        let m = m.into();
        if self.force {
            self.out.warnings.push(m);
        } else {
            self.errors.push(format!("{m}, use --force to override"));
        }
    }

    fn warn(&mut self, m: impl Into<String>) {
        self.out.warnings.push(m.into());
    }

    fn check(&mut self) -> Result<(), CliError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(CliError::Rejected(std::mem::take(&mut self.errors)))
        }
    }
}

/// Carries out a command that changes the CIB. Read-only commands are not
/// handled here.
pub fn apply(cib: &mut Cib, cmd: &Command, ctx: &Ctx) -> Result<Outcome, CliError> {
    let mut outcome = Outcome::default();
    let mut r = Report {
        force: ctx.force,
        errors: Vec::new(),
        out: &mut outcome,
    };
    match cmd {
        Command::PropertySet(pairs) => property_set(cib, pairs, &mut r)?,
        Command::PropertyUnset(names) => {
            let pairs: Pairs = names.iter().map(|n| (n.clone(), String::new())).collect();
            property_set(cib, &pairs, &mut r)?
        }
        Command::ResourceCreate(spec) => resource_create(cib, spec, ctx, &mut r)?,
        Command::ResourceDelete { id, stonith } => resource_delete(cib, id, *stonith, &mut r)?,
        Command::ResourceUpdate(spec) => resource_update(cib, spec, ctx, &mut r)?,
        Command::ResourceMeta { id, meta } => resource_meta(cib, id, meta, &mut r)?,
        Command::ResourceEnable { ids, enable, .. } => resource_enable(cib, ids, *enable, &mut r)?,
        Command::GroupAdd {
            group,
            members,
            placement,
        } => group_add(cib, group, members, placement.as_ref(), &mut r)?,
        Command::GroupRemove { group, members } => group_remove(cib, group, members, &mut r)?,
        Command::ColocationAdd(spec) => colocation_add(cib, spec, &mut r)?,
        Command::ColocationRemove { rsc, with_rsc } => {
            colocation_remove(cib, rsc, with_rsc, &mut r)?
        }
        Command::OrderAdd(spec) => order_add(cib, spec, &mut r)?,
        Command::LocationPrefers(spec) => {
            if let RscRef::Id(id) = &spec.rsc {
                check_constraint_resource(cib, id, &mut r);
            }
            r.check()?;
            for (node, score) in &spec.nodes {
                let id = sanitize(&format!("location-{}-{node}-{score}", spec.rsc.text()));
                location_add(cib, &id, &spec.rsc, node, score, &[], &mut r)?;
            }
        }
        Command::LocationAdd {
            id,
            rsc,
            node,
            score,
            options,
        } => {
            if let RscRef::Id(rid) = rsc {
                check_constraint_resource(cib, rid, &mut r);
            }
            r.check()?;
            location_add(cib, id, rsc, node, score, options, &mut r)?
        }
        Command::LocationRule(spec) => location_rule(cib, spec, &mut r)?,
        Command::LocationRemove(id) => {
            let before = cib.configuration.constraints.len();
            cib.configuration
                .constraints
                .retain(|c| !matches!(c, ConstraintItem::Location(l) if l.id == *id));
            if cib.configuration.constraints.len() == before {
                r.error(format!("resource location id: {id} not found"));
            }
        }
        Command::ConstraintRemove(ids) => constraint_remove(cib, ids, &mut r)?,
        Command::LevelAdd {
            level,
            target,
            devices,
        } => level_add(cib, *level, target, devices, &mut r)?,
        Command::LevelRemove {
            level,
            target,
            devices,
        } => level_remove(cib, Some(*level), target.as_ref(), devices, &mut r)?,
        Command::LevelClear { target, devices } => {
            level_remove(cib, None, target.as_ref(), devices, &mut r)?
        }
        Command::NodeMode {
            mode,
            on,
            nodes,
            all,
        } => node_mode(cib, *mode, *on, nodes, *all, &mut r)?,
        Command::NodeAttribute {
            node: Some(node),
            pairs,
        } => node_attributes(cib, node, pairs, &mut r)?,
        other => unreachable!("not an editing command: {other:?}"),
    }
    r.check()?;
    Ok(outcome)
}

// ---- helpers over the model --------------------------------------------------

/// Whether the CIB's schema wants `Promoted`/`Unpromoted` (pacemaker-3.7
/// and later) rather than `Master`/`Slave`.
pub fn new_role_names(cib: &Cib) -> bool {
    let Some(v) = cib.validate_with.as_deref() else {
        return true;
    };
    let Some(num) = v.strip_prefix("pacemaker-") else {
        return true; // pacemaker-next, none, ...
    };
    let mut parts = num.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (major, minor) >= (3, 7)
}

/// Where a resource id lives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    Primitive {
        group: Option<String>,
    },
    Group,
    /// Inside or being a clone/bundle/template kept verbatim.
    Other {
        top: String,
        name: String,
        is_top: bool,
    },
}

fn find_resource(c: &Configuration, id: &str) -> Option<Found> {
    for item in &c.resources {
        match item {
            ResourceItem::Primitive(p) if p.id == id => {
                return Some(Found::Primitive { group: None })
            }
            ResourceItem::Group(g) => {
                if g.id == id {
                    return Some(Found::Group);
                }
                if g.primitives.iter().any(|p| p.id == id) {
                    return Some(Found::Primitive {
                        group: Some(g.id.clone()),
                    });
                }
            }
            ResourceItem::Other(e) => {
                let top = e.id().unwrap_or("").to_string();
                if top == id {
                    return Some(Found::Other {
                        top,
                        name: e.name.clone(),
                        is_top: true,
                    });
                }
                if e.descendants()
                    .iter()
                    .any(|d| matches!(d.name.as_str(), "primitive" | "group") && d.id() == Some(id))
                {
                    return Some(Found::Other {
                        top,
                        name: e.name.clone(),
                        is_top: false,
                    });
                }
            }
            _ => {}
        }
    }
    None
}

fn is_stonith(p: &Primitive) -> bool {
    p.class.as_deref() == Some("stonith")
}

/// pcs's `validate_constraint_resource`.
fn check_constraint_resource(cib: &Cib, id: &str, r: &mut Report) {
    match find_resource(&cib.configuration, id) {
        None => r.error(format!("Resource '{id}' does not exist")),
        Some(Found::Other {
            top,
            name,
            is_top: false,
        }) if name == "clone" || name == "master" => r.forceable(format!(
            "{id} is a clone resource, you should use the clone id: {top} when adding constraints"
        )),
        Some(Found::Other {
            top,
            name,
            is_top: false,
        }) if name == "bundle" => r.forceable(format!(
            "{id} is a bundle resource, you should use the bundle id: {top} when adding constraints"
        )),
        _ => {}
    }
}

/// pcs's old `dom_update_nvset` on the first set of `kind`: create the set
/// (`PARENT-KIND`) unless only removing, then set, change or remove pairs.
fn update_first_set(
    ids: &mut Ids,
    parent_id: &str,
    sets: &mut Vec<NvSet>,
    kind: SetKind,
    pairs: &Pairs,
) {
    if pairs.is_empty() {
        return;
    }
    let only_removing = pairs.iter().all(|(_, v)| v.is_empty());
    let idx = match sets.iter().position(|s| s.kind == kind) {
        Some(i) => i,
        None if only_removing => return,
        None => {
            let id = ids.unique(&format!("{parent_id}-{}", kind.xml_name()));
            sets.push(NvSet::new(kind, id));
            sets.len() - 1
        }
    };
    let set = &mut sets[idx];
    for (name, value) in pairs {
        set_pair(ids, set, name, value);
    }
}

/// pcs's `arrange_first_nvset`: like [`update_first_set`], but a new set
/// goes first and pair ids come from `create_subelement_id`.
fn arrange_first_set(
    ids: &mut Ids,
    parent_id: &str,
    sets: &mut Vec<NvSet>,
    kind: SetKind,
    pairs: &Pairs,
) {
    let only_removing = pairs.iter().all(|(_, v)| v.is_empty());
    let idx = match sets.iter().position(|s| s.kind == kind) {
        Some(i) => i,
        None if only_removing => return,
        None => {
            let id = ids.sub(parent_id, kind.xml_name());
            sets.insert(0, NvSet::new(kind, id));
            0
        }
    };
    let set = &mut sets[idx];
    for (name, value) in pairs {
        set_pair(ids, set, name, value);
    }
}

/// Sets (or with an empty value removes) one pair; a new pair's id is
/// `SET-NAME`.
fn set_pair(ids: &mut Ids, set: &mut NvSet, name: &str, value: &str) {
    match set.pairs.iter().position(|p| p.name == name) {
        Some(i) if value.is_empty() => {
            set.pairs.remove(i);
        }
        Some(i) => set.pairs[i].value = Some(value.to_string()),
        None if value.is_empty() => {}
        None => {
            let id = ids.sub(&set.id, name);
            set.pairs.push(NvPair::new(id, name, value));
        }
    }
}

/// A new set with its pairs sorted by name (pcs's `append_new_nvset`).
fn new_sorted_set(ids: &mut Ids, parent_id: &str, kind: SetKind, pairs: &Pairs) -> NvSet {
    let mut set = NvSet::new(kind, ids.sub(parent_id, kind.xml_name()));
    let mut sorted = pairs.clone();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, v) in sorted {
        let id = ids.sub(&set.id, &k);
        set.pairs.push(NvPair::new(id, k, v));
    }
    set
}

// ---- properties ----------------------------------------------------------------

const DEFAULT_PROPERTY_SET: &str = "cib-bootstrap-options";

fn property_set(cib: &mut Cib, pairs: &Pairs, r: &mut Report) -> Result<(), CliError> {
    let configured: Vec<String> = cib
        .configuration
        .crm_config
        .first()
        .map(|s| s.pairs.iter().map(|p| p.name.clone()).collect())
        .unwrap_or_default();
    let set_id = cib
        .configuration
        .crm_config
        .first()
        .map(|s| s.id.clone())
        .unwrap_or_else(|| DEFAULT_PROPERTY_SET.to_string());
    for (name, value) in pairs {
        let known = super::properties::find(name);
        match known {
            Some(p) if p.read_only => r.error(format!(
                "cluster property '{name}' is maintained by the cluster and cannot be {}",
                if value.is_empty() { "removed" } else { "set" }
            )),
            Some(p) if !value.is_empty() => {
                if let Err(e) = super::properties::check_value(p, value) {
                    r.forceable(e);
                }
            }
            None if !value.is_empty() => r.forceable(format!(
                "invalid cluster property '{name}': not a known property (see 'warden property config --all')"
            )),
            _ => {}
        }
        if value.is_empty() && !configured.contains(name) {
            r.forceable(format!(
                "Cannot remove property '{name}', it is not present in property set '{set_id}'"
            ));
        }
    }
    r.check()?;
    let mut ids = Ids::of(cib);
    if cib.configuration.crm_config.is_empty() {
        if pairs.iter().all(|(_, v)| v.is_empty()) {
            return Ok(());
        }
        if !ids.book(DEFAULT_PROPERTY_SET) {
            return Err(CliError::rejected(format!(
                "unable to create the cluster property set: id '{DEFAULT_PROPERTY_SET}' is already in use"
            )));
        }
        cib.configuration
            .crm_config
            .push(NvSet::new(SetKind::ClusterProperty, DEFAULT_PROPERTY_SET));
    }
    let set = &mut cib.configuration.crm_config[0];
    for (name, value) in pairs {
        set_pair(&mut ids, set, name, value);
    }
    Ok(())
}

// ---- resources -----------------------------------------------------------------

fn resolve_agent(agent: &AgentName, ctx: &Ctx, r: &mut Report) -> Result<AgentRef, CliError> {
    match agent {
        AgentName::Full(a) => Ok(a.clone()),
        AgentName::Guess(kind) => {
            let found = ctx.agents.find_by_type(kind);
            match found.as_slice() {
                [one] => {
                    r.out.notes.push(format!("Assumed agent name '{one}' (deduced from '{kind}')"));
                    Ok(one.clone())
                }
                [] => Err(CliError::rejected(format!(
                    "Unable to find agent '{kind}', try specifying its full name (STANDARD:[PROVIDER:]TYPE)"
                ))),
                many => Err(CliError::rejected(format!(
                    "Multiple agents match '{kind}', please specify full name: {}",
                    many.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ")
                ))),
            }
        }
    }
}

/// Metadata, or `None` with a warning/error as pcs (and the guide) want:
/// a missing systemd unit or init script is only a warning.
fn agent_metadata(agent: &AgentRef, ctx: &Ctx, r: &mut Report) -> Option<AgentMetadata> {
    match ctx.agents.metadata(agent) {
        Ok(m) => Some(m),
        Err(e) => {
            let lenient = matches!(
                agent.standard,
                Standard::Systemd | Standard::Lsb | Standard::Service
            );
            if lenient {
                r.warn(format!(
                    "{e}: it is used as given, with the default operations"
                ));
            } else {
                r.forceable(e.to_string());
            }
            None
        }
    }
}

/// "invalid resource option 'x': not an option of 'AGENT'" (with where to
/// look when `hint`).
fn unknown_options(what: &str, unknown: &[&String], meta: &AgentMetadata, hint: bool) -> String {
    let names = unknown
        .iter()
        .map(|u| format!("'{u}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let agent = meta.display_name();
    let mut s = format!(
        "invalid {what} option{} {names}: not an option of '{agent}'",
        if unknown.len() > 1 { "s" } else { "" }
    );
    if hint {
        let group = if what == "stonith" {
            "stonith"
        } else {
            "resource"
        };
        s.push_str(&format!(" (see 'warden {group} describe {agent}')"));
    }
    s
}

/// Unknown / missing-required / deprecated parameter reports.
fn report_params(
    meta: &AgentMetadata,
    params: &Pairs,
    what: &str,
    only: Option<&[String]>,
    r: &mut Report,
) {
    let check = agent_info::check_params(meta, params);
    let unknown: Vec<&String> = check
        .unknown
        .iter()
        .filter(|u| only.is_none_or(|o| o.contains(u)))
        .collect();
    if !unknown.is_empty() {
        r.forceable(unknown_options(what, &unknown, meta, true));
    }
    for m in &check.missing_required {
        let relevant = only.is_none_or(|o| m.split(" or ").any(|n| o.iter().any(|x| x == n)));
        if relevant {
            r.forceable(format!("required {what} option '{m}' is missing"));
        }
    }
    if what != "stonith" {
        for (old, new) in &check.deprecated {
            if new.is_empty() {
                r.warn(format!(
                    "{what} option '{old}' is deprecated and should not be used"
                ));
            } else {
                r.warn(format!(
                    "{what} option '{old}' is deprecated and should not be used, use '{}' instead",
                    new.join("', '")
                ));
            }
        }
    }
}

/// Builds `<op>` elements from the final operation list.
fn build_ops(ids: &mut Ids, rsc_id: &str, list: Vec<NewOp>) -> Vec<Op> {
    list.into_iter()
        .map(|o| {
            let id = match &o.id {
                Some(id) => id.clone(),
                None => ids.sub(rsc_id, &format!("{}-interval-{}", o.name, o.interval())),
            };
            let mut op = Op::new(id, o.name.clone());
            for (k, v) in o.attrs {
                let slot = match k.as_str() {
                    "interval" => &mut op.interval,
                    "timeout" => &mut op.timeout,
                    "role" => &mut op.role,
                    "on-fail" => &mut op.on_fail,
                    "start-delay" => &mut op.start_delay,
                    "interval-origin" => &mut op.interval_origin,
                    "record-pending" => &mut op.record_pending,
                    "enabled" => &mut op.enabled,
                    "description" => &mut op.description,
                    _ => {
                        op.extra_attrs.push((k, v));
                        continue;
                    }
                };
                *slot = Some(v);
            }
            if let Some(level) = o.check_level {
                let set_id = ids.sub(&op.id, "instance_attributes");
                let mut set = NvSet::new(SetKind::Instance, set_id);
                let pair_id = ids.sub(&set.id, "OCF_CHECK_LEVEL");
                set.pairs
                    .push(NvPair::new(pair_id, "OCF_CHECK_LEVEL", level));
                op.sets.push(set);
            }
            op
        })
        .collect()
}

fn resource_create(
    cib: &mut Cib,
    spec: &CreateSpec,
    ctx: &Ctx,
    r: &mut Report,
) -> Result<(), CliError> {
    let agent = resolve_agent(&spec.agent, ctx, r)?;
    let what = if spec.stonith { "stonith" } else { "resource" };
    let mut ids = Ids::of(cib);
    if ids.exists(&spec.id) {
        return Err(CliError::rejected(format!("'{}' already exists", spec.id)));
    }
    let meta = agent_metadata(&agent, ctx, r);
    let mut params = spec.params.clone();
    for (k, v) in &params {
        if v.is_empty() {
            r.error(format!("value of {what} option '{k}' is empty"));
        }
    }
    if let Some(m) = &meta {
        if spec.stonith {
            let (translated, warnings) = agent_info::translate_stonith_params(m, params);
            params = translated;
            for w in warnings {
                r.warn(w);
            }
        }
        report_params(m, &params, what, None, r);
    }
    for (k, _) in &spec.meta {
        if k.is_empty() {
            r.error("empty meta attribute name");
        }
    }
    let new_roles = new_role_names(cib);
    let allowed: Option<Vec<String>> = meta
        .as_ref()
        .map(|m| m.actions().iter().map(|a| a.name.clone()).collect());
    let (user, problems) = ops::user_ops(
        &spec.ops,
        if ctx.force { None } else { allowed.as_deref() },
        new_roles,
    );
    for (m, forceable) in problems {
        if forceable {
            r.forceable(m);
        } else {
            r.error(m);
        }
    }
    for op in &user {
        if let Some(id) = &op.id {
            if !ids.book(id) {
                r.error(format!("'{id}' already exists"));
            }
        }
    }
    // Where it goes.
    let mut group_is_new = false;
    if let Some(g) = &spec.group {
        match find_resource(&cib.configuration, g) {
            Some(Found::Group) => {}
            Some(_) => r.error(format!("'{g}' is not a group")),
            None if ids.exists(g) => r.error(format!("'{g}' already exists and is not a group")),
            None => group_is_new = true,
        }
        if let Some(Placement::Before(a) | Placement::After(a)) = &spec.placement {
            let in_group = cib
                .configuration
                .group(g)
                .is_some_and(|grp| grp.primitives.iter().any(|p| p.id == *a));
            if !in_group {
                r.error(format!("There is no resource '{a}' in the group '{g}'"));
            }
        }
    }
    r.check()?;

    let (list, warnings) = ops::complete(
        user,
        &ops::agent_defaults(meta.as_ref(), spec.stonith, spec.no_default_ops),
        new_roles,
    );
    for w in warnings {
        r.warn(w);
    }
    ids.book(&spec.id);
    let mut p = Primitive {
        id: spec.id.clone(),
        class: Some(agent.standard.to_string()),
        provider: agent.provider.clone(),
        kind: Some(agent.kind.clone()),
        template: None,
        description: None,
        sets: Vec::new(),
        operations: None,
        extra_attrs: Vec::new(),
        extra: Vec::new(),
        pos: Pos::NONE,
    };
    if !params.is_empty() {
        let set = new_sorted_set(&mut ids, &spec.id, SetKind::Instance, &params);
        p.sets.push(set);
    }
    if !spec.meta.is_empty() {
        let set = new_sorted_set(&mut ids, &spec.id, SetKind::Meta, &spec.meta);
        p.sets.push(set);
    }
    p.operations = Some(Operations {
        ops: build_ops(&mut ids, &spec.id, list),
        ..Operations::default()
    });
    if spec.disabled {
        let id = p.id.clone();
        arrange_first_set(
            &mut ids,
            &id,
            &mut p.sets,
            SetKind::Meta,
            &vec![("target-role".into(), "Stopped".into())],
        );
    }
    match &spec.group {
        None => cib.configuration.resources.push(ResourceItem::Primitive(p)),
        Some(g) => {
            if group_is_new {
                cib.configuration.resources.push(ResourceItem::Group(Group {
                    id: g.clone(),
                    description: None,
                    primitives: Vec::new(),
                    sets: Vec::new(),
                    extra_attrs: Vec::new(),
                    extra: Vec::new(),
                    pos: Pos::NONE,
                }));
            }
            let grp = cib
                .configuration
                .group_mut(g)
                .expect("group exists or was just added");
            insert_into_group(grp, vec![p], spec.placement.as_ref());
        }
    }
    Ok(())
}

/// Puts primitives into a group next to an existing member (pcs's
/// `move_resources_to_group`: after-placement keeps the given order).
fn insert_into_group(g: &mut Group, prims: Vec<Primitive>, placement: Option<&Placement>) {
    match placement {
        None => g.primitives.extend(prims),
        Some(Placement::Before(a)) => {
            let i = g
                .primitives
                .iter()
                .position(|p| p.id == *a)
                .unwrap_or(g.primitives.len());
            for (n, p) in prims.into_iter().enumerate() {
                g.primitives.insert(i + n, p);
            }
        }
        Some(Placement::After(a)) => {
            let i = g
                .primitives
                .iter()
                .position(|p| p.id == *a)
                .map_or(g.primitives.len(), |i| i + 1);
            for (n, p) in prims.into_iter().enumerate() {
                g.primitives.insert(i + n, p);
            }
        }
    }
}

/// Tags (kept verbatim) that name a resource.
fn tags_naming(c: &Configuration, id: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.extra.iter().filter(|e| e.name == "tags") {
        for tag in e.elements().filter(|t| t.name == "tag") {
            if tag
                .elements()
                .any(|o| o.name == "obj_ref" && o.id() == Some(id))
            {
                out.push(tag.id().unwrap_or("").to_string());
            }
        }
    }
    out
}

/// Removes everything that names a resource: constraints (and its entries
/// in resource sets), fencing levels. Returns the ids of removed
/// constraints (pcs's `remove_resource_references`).
fn remove_references(c: &mut Configuration, id: &str, notes: &mut Vec<String>) {
    let names = |x: &ConstraintItem| -> bool {
        match x {
            ConstraintItem::Location(l) => l.rsc.as_deref() == Some(id),
            ConstraintItem::Colocation(l) => {
                l.rsc.as_deref() == Some(id) || l.with_rsc.as_deref() == Some(id)
            }
            ConstraintItem::Order(o) => {
                o.first.as_deref() == Some(id) || o.then.as_deref() == Some(id)
            }
            ConstraintItem::Other(e) => e.name == "rsc_ticket" && e.attr("rsc") == Some(id),
            ConstraintItem::Comment(_) => false,
        }
    };
    let mut kept = Vec::new();
    for x in std::mem::take(&mut c.constraints) {
        if names(&x) {
            notes.push(format!("Removing Constraint - {}", x.id().unwrap_or("")));
            continue;
        }
        kept.push(x);
    }
    // Resource sets: drop the reference, then empty sets, then empty constraints.
    let mut out = Vec::new();
    for mut x in kept {
        let sets = match &mut x {
            ConstraintItem::Location(l) => Some(&mut l.sets),
            ConstraintItem::Colocation(l) => Some(&mut l.sets),
            ConstraintItem::Order(l) => Some(&mut l.sets),
            _ => None,
        };
        if let Some(sets) = sets {
            if sets.iter().any(|s| s.resources.iter().any(|r| r == id)) {
                for s in sets.iter_mut() {
                    if s.resources.iter().any(|r| r == id) {
                        s.resources.retain(|r| r != id);
                        notes.push(format!("Removing {id} from set {}", s.id));
                    }
                }
                sets.retain(|s| !s.resources.is_empty() || s.id_ref.is_some());
                if sets.is_empty() {
                    notes.push(format!("Removing constraint {}", x.id().unwrap_or("")));
                    continue;
                }
            }
        }
        out.push(x);
    }
    c.constraints = out;
    remove_device_from_levels(c, id);
}

fn remove_device_from_levels(c: &mut Configuration, id: &str) {
    if let Some(t) = &mut c.fencing_topology {
        for l in &mut t.levels {
            let devs: Vec<&str> = l.devices.split(',').filter(|d| *d != id).collect();
            l.devices = devs.join(",");
        }
        t.levels.retain(|l| !l.devices.is_empty());
        if t.levels.is_empty() && t.extra.is_empty() {
            c.fencing_topology = None;
        }
    }
}

fn resource_delete(cib: &mut Cib, id: &str, stonith: bool, r: &mut Report) -> Result<(), CliError> {
    let c = &mut cib.configuration;
    let found = find_resource(c, id);
    let tags = tags_naming(c, id);
    if !tags.is_empty() {
        return Err(CliError::rejected(format!(
            "Unable to remove resource '{id}' because it is referenced in {}: {}",
            if tags.len() > 1 { "tags" } else { "the tag" },
            tags.iter()
                .map(|t| format!("'{t}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    match found {
        None => Err(CliError::rejected(format!(
            "Resource '{id}' does not exist."
        ))),
        Some(Found::Other { name, .. }) => Err(CliError::Unimplemented(format!(
            "deleting a {name} ('{id}')"
        ))),
        Some(Found::Group) => {
            r.out.notes.push(format!(
                "Removing group: {id} (and all resources within group)"
            ));
            let members: Vec<String> = c
                .group(id)
                .map(|g| g.primitives.iter().map(|p| p.id.clone()).collect())
                .unwrap_or_default();
            for m in &members {
                remove_references(c, m, &mut r.out.notes);
            }
            remove_references(c, id, &mut r.out.notes);
            c.resources
                .retain(|x| !matches!(x, ResourceItem::Group(g) if g.id == id));
            for m in members {
                r.out.notes.push(format!("Deleting Resource - {m}"));
            }
            Ok(())
        }
        Some(Found::Primitive { group }) => {
            let p = c.primitive(id).expect("found above");
            if stonith != is_stonith(p) {
                r.warn(if stonith {
                    format!("'{id}' is not a fencing device; 'warden resource delete' is the command for resources")
                } else {
                    format!("'{id}' is a fencing device; 'warden stonith delete' is the command for fencing devices")
                });
            }
            remove_references(c, id, &mut r.out.notes);
            match group {
                None => {
                    c.resources
                        .retain(|x| !matches!(x, ResourceItem::Primitive(p) if p.id == id));
                    r.out.notes.push(format!("Deleting Resource - {id}"));
                }
                Some(g) => {
                    let last = c.group(&g).is_some_and(|grp| grp.primitives.len() == 1);
                    if last {
                        remove_references(c, &g, &mut r.out.notes);
                        c.resources
                            .retain(|x| !matches!(x, ResourceItem::Group(grp) if grp.id == g));
                        r.out
                            .notes
                            .push(format!("Deleting Resource (and group) - {id}"));
                    } else {
                        let grp = c.group_mut(&g).expect("found above");
                        grp.primitives.retain(|p| p.id != id);
                        r.out.notes.push(format!("Deleting Resource - {id}"));
                    }
                }
            }
            Ok(())
        }
    }
}

fn resource_update(
    cib: &mut Cib,
    spec: &UpdateSpec,
    ctx: &Ctx,
    r: &mut Report,
) -> Result<(), CliError> {
    let new_roles = new_role_names(cib);
    match find_resource(&cib.configuration, &spec.id) {
        Some(Found::Primitive { .. }) => {}
        Some(Found::Other { name, .. }) => {
            return Err(CliError::Unimplemented(format!(
                "updating a {name} ('{}')",
                spec.id
            )))
        }
        _ => {
            return Err(CliError::rejected(format!(
                "Unable to find resource: {}",
                spec.id
            )))
        }
    }
    let p = cib
        .configuration
        .primitive(&spec.id)
        .expect("found above")
        .clone();
    let mut params = spec.params.clone();
    let what = if is_stonith(&p) {
        "stonith"
    } else {
        "resource"
    };
    if let (Some(class), Some(kind)) = (&p.class, &p.kind) {
        let agent = AgentRef {
            standard: Standard::parse(class),
            provider: p.provider.clone(),
            kind: kind.clone(),
        };
        if let Some(meta) = agent_metadata(&agent, ctx, r) {
            if is_stonith(&p) {
                let (t, w) = agent_info::translate_stonith_params(&meta, params);
                params = t;
                for w in w {
                    r.warn(w);
                }
            }
            // Unknown options already in the CIB are not reported again;
            // required ones are checked on the result.
            let current: Pairs = p
                .sets_of(SetKind::Instance)
                .next()
                .map(|s| {
                    s.pairs
                        .iter()
                        .map(|x| (x.name.clone(), x.value.clone().unwrap_or_default()))
                        .collect()
                })
                .unwrap_or_default();
            let mut result = current.clone();
            for (k, v) in &params {
                result.retain(|(n, _)| n != k);
                if !v.is_empty() {
                    result.push((k.clone(), v.clone()));
                }
            }
            let new_names: Vec<String> = params
                .iter()
                .filter(|(k, _)| !current.iter().any(|(n, _)| n == k))
                .map(|(k, _)| k.clone())
                .collect();
            let touched: Vec<String> = params.iter().map(|(k, _)| k.clone()).collect();
            let check = agent_info::check_params(&meta, &result);
            let unknown: Vec<&String> = check
                .unknown
                .iter()
                .filter(|u| new_names.contains(u))
                .collect();
            if !unknown.is_empty() {
                r.forceable(unknown_options(what, &unknown, &meta, false));
            }
            for m in &check.missing_required {
                if m.split(" or ").any(|n| touched.iter().any(|t| t == n)) {
                    r.forceable(format!("required {what} option '{m}' is missing"));
                }
            }
        }
    }
    // Operations: pcs's old `resource_operation_add` checks.
    let mut new_ops = Vec::new();
    for op in &spec.ops {
        let mut attrs = op.attrs.clone();
        if !ctx.force {
            for (k, v) in &attrs {
                if !ops::OP_ATTRIBUTES.contains(&k.as_str()) || k == "name" {
                    r.error(format!(
                        "{k} is not a valid op option (use --force to override)"
                    ));
                }
                if k == "role" && super::grammar::role(v).is_none() {
                    r.error("role must be: Promoted, Started, Stopped or Unpromoted (use --force to override)");
                }
            }
        }
        if !attrs.iter().any(|(k, _)| k == "interval") {
            attrs.push(("interval".into(), ops::default_interval(&op.name).into()));
        }
        attrs.sort_by(|a, b| a.0.cmp(&b.0));
        new_ops.push((op.name.clone(), attrs));
    }
    r.check()?;

    let mut ids = Ids::of(cib);
    let id = spec.id.clone();
    let prim = cib.configuration.primitive_mut(&id).expect("found above");
    update_first_set(&mut ids, &id, &mut prim.sets, SetKind::Instance, &params);
    update_first_set(&mut ids, &id, &mut prim.sets, SetKind::Meta, &spec.meta);
    let operations = prim.operations.get_or_insert_with(Operations::default);
    for (name, attrs) in new_ops {
        let role = attrs
            .iter()
            .find(|(k, _)| k == "role")
            .map(|(_, v)| ops::role_for_cib(v, new_roles));
        let norm = |r: &Option<String>| {
            r.as_deref()
                .map(|x| ops::role_for_cib(x, new_roles))
                .unwrap_or_default()
        };
        let pos = operations
            .ops
            .iter()
            .position(|o| o.name == name && norm(&o.role) == role.clone().unwrap_or_default());
        let insert_at = match pos {
            Some(i) => {
                operations.ops.remove(i);
                i
            }
            None => operations.ops.len(),
        };
        let interval = attrs
            .iter()
            .find(|(k, _)| k == "interval")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if let Some(dup) = operations.ops.iter().find(|o| {
            o.name == name
                && ops::seconds(o.interval.as_deref().unwrap_or("0")) == ops::seconds(&interval)
        }) {
            return Err(CliError::rejected(format!(
                "operation {name} with interval {}s already specified for {id}: {}",
                ops::seconds(&interval).unwrap_or(0),
                dup.id
            )));
        }
        let op_id = match attrs.iter().find(|(k, _)| k == "id") {
            Some((_, v)) => {
                if !ids.book(v) {
                    return Err(CliError::rejected(format!(
                        "id '{v}' is already in use, please specify another one"
                    )));
                }
                v.clone()
            }
            None => ids.unique(&format!("{id}-{name}-interval-{interval}")),
        };
        let mut o = Op::new(op_id.clone(), name.clone());
        for (k, v) in attrs {
            let val = Some(v.clone());
            match k.as_str() {
                "id" => {}
                "interval" => o.interval = val,
                "timeout" => o.timeout = val,
                "role" => o.role = Some(ops::role_for_cib(&v, new_roles)),
                "on-fail" => o.on_fail = val,
                "start-delay" => o.start_delay = val,
                "interval-origin" => o.interval_origin = val,
                "record-pending" => o.record_pending = val,
                "enabled" => o.enabled = val,
                "description" => o.description = val,
                "OCF_CHECK_LEVEL" => {
                    let set_id = ids.unique(&format!("params-{op_id}"));
                    let mut set = NvSet::new(SetKind::Instance, set_id);
                    let pair_id = ids.unique(&format!("{op_id}-OCF_CHECK_LEVEL-{v}"));
                    set.pairs.push(NvPair::new(pair_id, "OCF_CHECK_LEVEL", v));
                    o.sets.push(set);
                }
                _ => o.extra_attrs.push((k, v)),
            }
        }
        operations.ops.insert(insert_at, o);
    }
    Ok(())
}

fn resource_meta(cib: &mut Cib, id: &str, meta: &Pairs, _r: &mut Report) -> Result<(), CliError> {
    let mut ids = Ids::of(cib);
    match find_resource(&cib.configuration, id) {
        Some(Found::Primitive { .. }) => {
            let p = cib.configuration.primitive_mut(id).expect("found");
            update_first_set(&mut ids, id, &mut p.sets, SetKind::Meta, meta);
        }
        Some(Found::Group) => {
            let g = cib.configuration.group_mut(id).expect("found");
            update_first_set(&mut ids, id, &mut g.sets, SetKind::Meta, meta);
        }
        Some(Found::Other { name, .. }) => {
            return Err(CliError::Unimplemented(format!(
                "changing meta attributes of a {name} ('{id}')"
            )))
        }
        None => {
            return Err(CliError::rejected(format!(
                "unable to find a resource/clone/group: {id}"
            )))
        }
    }
    Ok(())
}

fn resource_enable(
    cib: &mut Cib,
    list: &[String],
    enable: bool,
    r: &mut Report,
) -> Result<(), CliError> {
    for id in list {
        match find_resource(&cib.configuration, id) {
            None => r.error(format!("bundle/clone/group/resource '{id}' does not exist")),
            Some(Found::Other { name, .. }) => r.error(format!(
                "{} of a {name} ('{id}') is not available in this version of warden",
                if enable { "enabling" } else { "disabling" }
            )),
            _ => {}
        }
    }
    r.check()?;
    let mut ids = Ids::of(cib);
    let value = if enable { "" } else { "Stopped" };
    let pairs: Pairs = vec![("target-role".into(), value.into())];
    for id in list {
        if let Some(g) = cib.configuration.group_mut(id) {
            arrange_first_set(&mut ids, id, &mut g.sets, SetKind::Meta, &pairs);
        } else if let Some(p) = cib.configuration.primitive_mut(id) {
            arrange_first_set(&mut ids, id, &mut p.sets, SetKind::Meta, &pairs);
        }
    }
    Ok(())
}

fn group_add(
    cib: &mut Cib,
    group: &str,
    members: &[String],
    placement: Option<&Placement>,
    r: &mut Report,
) -> Result<(), CliError> {
    let c = &cib.configuration;
    let adjacent = match placement {
        Some(Placement::Before(a) | Placement::After(a)) => Some(a.clone()),
        None => None,
    };
    let group_exists = match find_resource(c, group) {
        Some(Found::Group) => true,
        Some(_) => {
            r.error(format!("'{group}' is not a group"));
            true
        }
        None => {
            if Ids::of(cib).exists(group) {
                r.error(format!("'{group}' already exists and is not a group"));
            } else if let Err(e) = check_id(group, "group name") {
                r.error(e.to_string());
            }
            false
        }
    };
    if let Some(a) = &adjacent {
        if members.contains(a) {
            r.error(format!("Cannot put resource '{a}' next to itself"));
        } else if !c
            .group(group)
            .is_some_and(|g| g.primitives.iter().any(|p| p.id == *a))
        {
            if find_resource(c, a).is_none() {
                r.error(format!("'{a}' does not exist"));
            } else {
                r.error(format!("There is no resource '{a}' in the group '{group}'"));
            }
        }
    }
    let mut seen: Vec<&String> = Vec::new();
    for m in members {
        if seen.contains(&m) {
            r.error(format!("Resources specified more than once: '{m}'"));
            continue;
        }
        seen.push(m);
        match find_resource(c, m) {
            None => r.error(format!("'{m}' does not exist")),
            Some(Found::Group) => r.error(format!(
                "'{m}' is a group resource, a group cannot be put into a group"
            )),
            Some(Found::Other { name, .. }) => r.error(format!(
                "'{m}' is in or is a {name}, it cannot be put into a group"
            )),
            Some(Found::Primitive { group: Some(g) }) if g == group && adjacent.is_none() => {
                r.error(format!("'{m}' is already in the group '{group}'"))
            }
            Some(Found::Primitive { .. }) => {
                if c.primitive(m).is_some_and(is_stonith) {
                    r.warn("Ability of this command to accept stonith resources is deprecated and will be removed in a future release.");
                }
            }
        }
    }
    r.check()?;
    // Groups that would be left empty are removed, unless something names them.
    let mut emptied: Vec<String> = Vec::new();
    for g in c.groups() {
        if g.id != group
            && !g.primitives.is_empty()
            && g.primitives.iter().all(|p| members.contains(&p.id))
        {
            emptied.push(g.id.clone());
        }
    }
    for g in &emptied {
        let referenced = c.constraints.iter().any(|x| match x {
            ConstraintItem::Location(l) => l.rsc.as_deref() == Some(g.as_str()),
            ConstraintItem::Colocation(l) => {
                l.rsc.as_deref() == Some(g.as_str()) || l.with_rsc.as_deref() == Some(g.as_str())
            }
            ConstraintItem::Order(o) => {
                o.first.as_deref() == Some(g.as_str()) || o.then.as_deref() == Some(g.as_str())
            }
            _ => false,
        });
        if referenced {
            r.error(format!(
                "Group '{g}' would be left empty and it is referenced by constraints: run 'warden resource ungroup {g}' first"
            ));
        }
    }
    r.check()?;
    let c = &mut cib.configuration;
    let mut moving = Vec::new();
    for m in members {
        let mut taken = None;
        for item in &mut c.resources {
            match item {
                ResourceItem::Primitive(p) if p.id == *m => {
                    taken = Some(p.clone());
                    *item = ResourceItem::Comment(String::new());
                    break;
                }
                ResourceItem::Group(g) => {
                    if let Some(i) = g.primitives.iter().position(|p| p.id == *m) {
                        taken = Some(g.primitives.remove(i));
                        break;
                    }
                }
                _ => {}
            }
        }
        moving.push(taken.expect("member checked above"));
    }
    // Placeholders left by moved top-level primitives go away.
    c.resources
        .retain(|x| !matches!(x, ResourceItem::Comment(s) if s.is_empty()));
    c.resources
        .retain(|x| !matches!(x, ResourceItem::Group(g) if emptied.contains(&g.id)));
    if !group_exists {
        c.resources.push(ResourceItem::Group(Group {
            id: group.to_string(),
            description: None,
            primitives: Vec::new(),
            sets: Vec::new(),
            extra_attrs: Vec::new(),
            extra: Vec::new(),
            pos: Pos::NONE,
        }));
    }
    let g = c.group_mut(group).expect("exists or just added");
    insert_into_group(g, moving, placement);
    Ok(())
}

fn group_remove(
    cib: &mut Cib,
    group: &str,
    members: &[String],
    r: &mut Report,
) -> Result<(), CliError> {
    let Some(g) = cib.configuration.group(group) else {
        return Err(CliError::rejected(format!(
            "Group '{group}' does not exist"
        )));
    };
    for m in members {
        if !g.primitives.iter().any(|p| p.id == *m) {
            r.error(format!("Resource '{m}' does not exist in group '{group}'"));
        }
    }
    r.check()?;
    let c = &mut cib.configuration;
    let g = c.group_mut(group).expect("checked");
    let moved: Vec<Primitive> = if members.is_empty() {
        std::mem::take(&mut g.primitives)
    } else {
        let (out, keep): (Vec<Primitive>, Vec<Primitive>) = std::mem::take(&mut g.primitives)
            .into_iter()
            .partition(|p| members.contains(&p.id));
        g.primitives = keep;
        out
    };
    let empty = g.primitives.is_empty();
    c.resources
        .extend(moved.into_iter().map(ResourceItem::Primitive));
    if empty {
        c.resources
            .retain(|x| !matches!(x, ResourceItem::Group(g) if g.id == group));
        remove_references(c, group, &mut r.out.notes);
    }
    Ok(())
}

// ---- constraints ---------------------------------------------------------------

fn colocation_add(cib: &mut Cib, spec: &ColocationSpec, r: &mut Report) -> Result<(), CliError> {
    check_constraint_resource(cib, &spec.rsc, r);
    check_constraint_resource(cib, &spec.with_rsc, r);
    let mut ids = Ids::of(cib);
    let given_id = spec
        .options
        .iter()
        .find(|(k, _)| k == "id")
        .map(|(_, v)| v.clone());
    if let Some(id) = &given_id {
        if ids.exists(id) {
            r.error(format!(
                "id '{id}' is already in use, please specify another one"
            ));
        }
    }
    for (k, _) in &spec.options {
        if !matches!(k.as_str(), "id" | "node-attribute" | "influence") {
            r.forceable(format!(
                "invalid colocation option '{k}': expected node-attribute, influence or id"
            ));
        }
    }
    let new_roles = new_role_names(cib);
    let role = |x: &Option<String>| x.as_deref().map(|v| ops::role_for_cib(v, new_roles));
    let (rsc_role, with_role) = (role(&spec.rsc_role), role(&spec.with_rsc_role));
    // Duplicates: same resources and roles (an absent role is Started).
    let norm = |x: Option<&str>| ops::role_for_cib(x.unwrap_or("Started"), true);
    let dups: Vec<String> = cib
        .configuration
        .constraints
        .iter()
        .filter_map(|x| match x {
            ConstraintItem::Colocation(c)
                if c.sets.is_empty()
                    && c.rsc.as_deref() == Some(spec.rsc.as_str())
                    && c.with_rsc.as_deref() == Some(spec.with_rsc.as_str())
                    && norm(c.rsc_role.as_deref()) == norm(rsc_role.as_deref())
                    && norm(c.with_rsc_role.as_deref()) == norm(with_role.as_deref()) =>
            {
                Some(format!(
                    "  {} with {} (score:{}) (id:{})",
                    spec.rsc,
                    spec.with_rsc,
                    c.score.as_deref().unwrap_or(""),
                    c.id
                ))
            }
            _ => None,
        })
        .collect();
    if !dups.is_empty() {
        r.forceable(
            format!("duplicate constraint already exists\n{}\n", dups.join("\n"))
                .trim_end()
                .to_string(),
        );
    }
    r.check()?;
    let id = match given_id {
        Some(id) => {
            ids.book(&id);
            id
        }
        None => ids.unique(&format!(
            "colocation-{}-{}-{}",
            spec.rsc, spec.with_rsc, spec.score
        )),
    };
    let mut extra = Vec::new();
    let mut node_attribute = None;
    let mut influence = None;
    for (k, v) in &spec.options {
        match k.as_str() {
            "id" => {}
            "node-attribute" => node_attribute = Some(v.clone()),
            "influence" => influence = Some(v.clone()),
            _ => extra.push((k.clone(), v.clone())),
        }
    }
    cib.configuration
        .constraints
        .push(ConstraintItem::Colocation(Colocation {
            id,
            rsc: Some(spec.rsc.clone()),
            with_rsc: Some(spec.with_rsc.clone()),
            score: Some(spec.score.clone()),
            rsc_role,
            with_rsc_role: with_role,
            node_attribute,
            influence,
            sets: Vec::new(),
            extra_attrs: extra,
            extra: Vec::new(),
            pos: Pos::NONE,
        }));
    Ok(())
}

fn colocation_remove(cib: &mut Cib, rsc: &str, with: &str, r: &mut Report) -> Result<(), CliError> {
    let before = cib.configuration.constraints.len();
    cib.configuration.constraints.retain(|x| {
        !matches!(x, ConstraintItem::Colocation(c) if c.sets.is_empty() && c.rsc.as_deref() == Some(rsc) && c.with_rsc.as_deref() == Some(with))
    });
    if cib.configuration.constraints.len() == before {
        r.error(format!(
            "No colocation constraint of '{rsc}' with '{with}' found"
        ));
    }
    Ok(())
}

fn same_group(c: &Configuration, a: &str, b: &str) -> bool {
    matches!(
        (find_resource(c, a), find_resource(c, b)),
        (Some(Found::Primitive { group: Some(x) }), Some(Found::Primitive { group: Some(y) })) if x == y
    )
}

fn order_add(cib: &mut Cib, spec: &OrderSpec, r: &mut Report) -> Result<(), CliError> {
    check_constraint_resource(cib, &spec.first, r);
    check_constraint_resource(cib, &spec.then, r);
    if same_group(&cib.configuration, &spec.first, &spec.then) {
        r.error("Cannot create an order constraint for resources in the same group");
    }
    let mut ids = Ids::of(cib);
    let given_id = spec
        .options
        .iter()
        .find(|(k, _)| k == "id")
        .map(|(_, v)| v.clone());
    if let Some(id) = &given_id {
        if ids.exists(id) {
            r.error(format!(
                "id '{id}' is already in use, please specify another one"
            ));
        }
    }
    let dups: Vec<String> = cib
        .configuration
        .constraints
        .iter()
        .filter_map(|x| match x {
            ConstraintItem::Order(o)
                if o.sets.is_empty()
                    && o.first.as_deref() == Some(spec.first.as_str())
                    && o.then.as_deref() == Some(spec.then.as_str())
                    && o.first_action
                        .as_deref()
                        .unwrap_or("start")
                        .eq_ignore_ascii_case(&spec.first_action)
                    && o.then_action
                        .as_deref()
                        .unwrap_or("start")
                        .eq_ignore_ascii_case(&spec.then_action) =>
            {
                Some(format!(
                    "  {} {} then {} {} (id:{})",
                    spec.first_action, spec.first, spec.then_action, spec.then, o.id
                ))
            }
            _ => None,
        })
        .collect();
    if !dups.is_empty() {
        r.forceable(format!(
            "duplicate constraint already exists\n{}",
            dups.join("\n")
        ));
    }
    r.check()?;
    let kind = spec
        .options
        .iter()
        .find(|(k, _)| k == "kind")
        .map(|(_, v)| v.clone());
    let score = spec
        .options
        .iter()
        .find(|(k, _)| k == "score")
        .map(|(_, v)| v.clone());
    let (scorekind, suffix) = match (&score, &kind) {
        (Some(s), _) => (format!("score: {s}"), s.clone()),
        (None, Some(k)) => (format!("kind: {k}"), k.clone()),
        (None, None) => ("kind: Mandatory".to_string(), "mandatory".to_string()),
    };
    let mut shown: Vec<String> = spec
        .options
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "kind" | "score" | "symmetrical"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    shown.push(format!("first-action={}", spec.first_action));
    shown.push(format!("then-action={}", spec.then_action));
    if let Some((_, s)) = spec.options.iter().find(|(k, _)| k == "symmetrical") {
        shown.push(format!("symmetrical={s}"));
    }
    r.out.notes.push(format!(
        "Adding {} {} ({scorekind}) (Options: {})",
        spec.first,
        spec.then,
        shown.join(" ")
    ));
    let id = match given_id {
        Some(id) => {
            ids.book(&id);
            id
        }
        None => ids.unique(&format!("order-{}-{}-{suffix}", spec.first, spec.then)),
    };
    let get = |k: &str| {
        spec.options
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    cib.configuration
        .constraints
        .push(ConstraintItem::Order(Order {
            id,
            first: Some(spec.first.clone()),
            then: Some(spec.then.clone()),
            first_action: Some(spec.first_action.clone()),
            then_action: Some(spec.then_action.clone()),
            kind,
            score,
            symmetrical: get("symmetrical"),
            require_all: get("require-all"),
            sets: Vec::new(),
            extra_attrs: Vec::new(),
            extra: Vec::new(),
            pos: Pos::NONE,
        }));
    Ok(())
}

/// pcs's `location_add`: a constraint with the same id, or for the same
/// resource and node, is replaced.
fn location_add(
    cib: &mut Cib,
    id: &str,
    rsc: &RscRef,
    node: &str,
    score: &str,
    options: &[(String, String)],
    r: &mut Report,
) -> Result<(), CliError> {
    let replaced = |x: &ConstraintItem| match x {
        ConstraintItem::Location(l) => {
            l.id == id
                || (l.node.as_deref() == Some(node)
                    && match rsc {
                        RscRef::Id(v) => l.rsc.as_deref() == Some(v.as_str()),
                        RscRef::Pattern(v) => l.rsc_pattern.as_deref() == Some(v.as_str()),
                    })
        }
        _ => false,
    };
    let c = &mut cib.configuration;
    c.constraints.retain(|x| !replaced(x));
    if Ids::of(cib).exists(id) {
        r.error(format!(
            "id '{id}' is already in use, please specify another one"
        ));
        return r.check();
    }
    let (rsc_id, pattern) = match rsc {
        RscRef::Id(v) => (Some(v.clone()), None),
        RscRef::Pattern(v) => (None, Some(v.clone())),
    };
    let discovery = options
        .iter()
        .find(|(k, _)| k == "resource-discovery")
        .map(|(_, v)| v.clone());
    let extra: Vec<(String, String)> = options
        .iter()
        .filter(|(k, _)| k != "resource-discovery")
        .cloned()
        .collect();
    cib.configuration
        .constraints
        .push(ConstraintItem::Location(Location {
            id: id.to_string(),
            rsc: rsc_id,
            rsc_pattern: pattern,
            role: None,
            node: Some(node.to_string()),
            score: Some(score.to_string()),
            resource_discovery: discovery,
            rules: Vec::new(),
            sets: Vec::new(),
            extra_attrs: extra,
            extra: Vec::new(),
            pos: Pos::NONE,
        }));
    Ok(())
}

fn build_rule(ids: &mut Ids, rule_id: String, expr: &RuleExpr, new_roles: bool) -> Rule {
    let mut rule = Rule {
        id: rule_id,
        id_ref: None,
        score: None,
        score_attribute: None,
        boolean_op: None,
        role: None,
        items: Vec::new(),
        extra_attrs: Vec::new(),
        pos: Pos::NONE,
    };
    add_rule_items(ids, &mut rule, expr, new_roles);
    rule
}

fn add_rule_items(ids: &mut Ids, rule: &mut Rule, expr: &RuleExpr, new_roles: bool) {
    let expr_id = |ids: &mut Ids, rule: &Rule| ids.unique(&format!("{}-expr", rule.id));
    match expr {
        RuleExpr::Bool { op, items } => {
            rule.boolean_op = Some(op.clone());
            for item in items {
                if let RuleExpr::Bool { .. } = item {
                    let nested_id = ids.unique(&format!("{}-rule", rule.id));
                    let mut nested = build_rule(ids, nested_id, item, new_roles);
                    nested.score = Some("0".into());
                    rule.items.push(RuleItem::Rule(nested));
                } else {
                    add_rule_items(ids, rule, item, new_roles);
                }
            }
        }
        RuleExpr::Defined { attribute, defined } => {
            let id = expr_id(ids, rule);
            rule.items.push(RuleItem::Expr(Expression {
                id,
                attribute: attribute.clone(),
                operation: if *defined { "defined" } else { "not_defined" }.into(),
                value: None,
                value_type: None,
                value_source: None,
                extra_attrs: Vec::new(),
                pos: Pos::NONE,
            }));
        }
        RuleExpr::Compare {
            attribute,
            op,
            value_type,
            value,
        } => {
            let id = expr_id(ids, rule);
            rule.items.push(RuleItem::Expr(Expression {
                id,
                attribute: attribute.clone(),
                operation: op.clone(),
                value: Some(value.clone()),
                value_type: value_type.clone(),
                value_source: None,
                extra_attrs: Vec::new(),
                pos: Pos::NONE,
            }));
        }
        RuleExpr::Date { op, start, end } => {
            let id = expr_id(ids, rule);
            rule.items.push(RuleItem::Date(DateExpression {
                id,
                operation: op.clone(),
                start: start.clone(),
                end: end.clone(),
                date_spec: None,
                duration: None,
                extra_attrs: Vec::new(),
                extra: Vec::new(),
                pos: Pos::NONE,
            }));
        }
    }
}

fn location_rule(cib: &mut Cib, spec: &RuleSpec, r: &mut Report) -> Result<(), CliError> {
    if let RscRef::Id(id) = &spec.rsc {
        check_constraint_resource(cib, id, r);
    }
    let mut ids = Ids::of(cib);
    for id in [&spec.constraint_id, &spec.rule_id].into_iter().flatten() {
        if ids.exists(id) {
            r.error(format!(
                "id '{id}' is already in use, please specify another one"
            ));
        }
    }
    let new_text = super::show::rule_expr_text(&spec.expression);
    let dup: Vec<String> = cib
        .configuration
        .constraints
        .iter()
        .filter_map(|x| match x {
            ConstraintItem::Location(l)
                if !l.rules.is_empty()
                    && match &spec.rsc {
                        RscRef::Id(v) => l.rsc.as_deref() == Some(v.as_str()),
                        RscRef::Pattern(v) => l.rsc_pattern.as_deref() == Some(v.as_str()),
                    }
                    && l.rules.len() == 1
                    && super::show::rule_text(&l.rules[0]) == new_text =>
            {
                Some(format!("  Constraint: {}", l.id))
            }
            _ => None,
        })
        .collect();
    if !dup.is_empty() {
        r.forceable(format!(
            "duplicate constraint already exists\n{}",
            dup.join("\n")
        ));
    }
    r.check()?;
    let cid = match &spec.constraint_id {
        Some(id) => {
            ids.book(id);
            id.clone()
        }
        None => ids.unique(&sanitize(&format!("location-{}", spec.rsc.text()))),
    };
    let rule_id = match &spec.rule_id {
        Some(id) => {
            ids.book(id);
            id.clone()
        }
        None => ids.unique(&format!("{cid}-rule")),
    };
    let new_roles = new_role_names(cib);
    let mut rule = build_rule(&mut ids, rule_id, &spec.expression, new_roles);
    rule.role = spec
        .role
        .as_deref()
        .map(|x| ops::role_for_cib(x, new_roles));
    rule.score_attribute = spec.score_attribute.clone();
    rule.score = match (&spec.score, &spec.score_attribute) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(_)) => None,
        (None, None) => Some("INFINITY".into()),
    };
    let (rsc_id, pattern) = match &spec.rsc {
        RscRef::Id(v) => (Some(v.clone()), None),
        RscRef::Pattern(v) => (None, Some(v.clone())),
    };
    cib.configuration
        .constraints
        .push(ConstraintItem::Location(Location {
            id: cid,
            rsc: rsc_id,
            rsc_pattern: pattern,
            role: None,
            node: None,
            score: None,
            resource_discovery: spec.resource_discovery.clone(),
            rules: vec![rule],
            sets: Vec::new(),
            extra_attrs: Vec::new(),
            extra: Vec::new(),
            pos: Pos::NONE,
        }));
    Ok(())
}

/// Removes constraints (or location rules) by id; all ids must exist, or
/// nothing is removed.
fn constraint_remove(cib: &mut Cib, list: &[String], r: &mut Report) -> Result<(), CliError> {
    for id in list {
        let top = cib
            .configuration
            .constraints
            .iter()
            .any(|x| x.id() == Some(id.as_str()));
        let rule = cib.configuration.constraints.iter().any(
            |x| matches!(x, ConstraintItem::Location(l) if l.rules.iter().any(|ru| ru.id == *id)),
        );
        if !top && !rule {
            r.error(format!("Unable to find constraint - '{id}'"));
        }
    }
    r.check()?;
    for id in list {
        let c = &mut cib.configuration;
        if c.constraints.iter().any(|x| x.id() == Some(id.as_str())) {
            c.constraints.retain(|x| x.id() != Some(id.as_str()));
            continue;
        }
        for x in &mut c.constraints {
            if let ConstraintItem::Location(l) = x {
                l.rules.retain(|ru| ru.id != *id);
            }
        }
        c.constraints.retain(|x| {
            !matches!(x, ConstraintItem::Location(l) if l.rules.is_empty() && l.node.is_none() && l.sets.is_empty() && l.score.is_none())
        });
    }
    Ok(())
}

// ---- fencing levels ------------------------------------------------------------

fn level_matches(l: &FencingLevel, target: &LevelTarget) -> bool {
    match target {
        LevelTarget::Node(n) => l.target.as_deref() == Some(n.as_str()),
        LevelTarget::Pattern(p) => l.target_pattern.as_deref() == Some(p.as_str()),
        LevelTarget::Attribute(n, v) => {
            l.target_attribute.as_deref() == Some(n.as_str())
                && l.target_value.as_deref() == Some(v.as_str())
        }
    }
}

fn target_text(t: &LevelTarget) -> String {
    match t {
        LevelTarget::Node(n) => n.clone(),
        LevelTarget::Pattern(p) => format!("regexp%{p}"),
        LevelTarget::Attribute(n, v) => format!("attrib%{n}={v}"),
    }
}

fn node_known(cib: &Cib, name: &str) -> bool {
    cib.configuration.node(name).is_some()
        || cib
            .status
            .node_states
            .iter()
            .any(|s| s.uname.as_deref() == Some(name))
}

fn level_add(
    cib: &mut Cib,
    level: u32,
    target: &LevelTarget,
    devices: &[String],
    r: &mut Report,
) -> Result<(), CliError> {
    let missing: Vec<&String> = devices
        .iter()
        .filter(|d| !cib.configuration.primitive(d).is_some_and(is_stonith))
        .collect();
    if !missing.is_empty() {
        r.forceable(format!(
            "Stonith resource(s) {} do not exist",
            missing
                .iter()
                .map(|d| format!("'{d}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let LevelTarget::Node(n) = target {
        if !node_known(cib, n) {
            r.forceable(format!(
                "Node '{n}' does not appear to exist in configuration"
            ));
        }
    }
    let joined = devices.join(",");
    let exists = cib
        .configuration
        .fencing_topology
        .as_ref()
        .is_some_and(|t| {
            t.levels.iter().any(|l| {
                l.index == level.to_string() && level_matches(l, target) && l.devices == joined
            })
        });
    if exists {
        r.error(format!(
            "Fencing level for '{}' at level '{level}' with device(s) '{joined}' already exists",
            target_text(target)
        ));
    }
    r.check()?;
    let mut ids = Ids::of(cib);
    let id_part = match target {
        LevelTarget::Node(n) | LevelTarget::Pattern(n) => n.clone(),
        LevelTarget::Attribute(n, _) => n.clone(),
    };
    let id = ids.unique(&sanitize(&format!("fl-{id_part}-{level}")));
    let mut l = FencingLevel {
        id,
        target: None,
        target_pattern: None,
        target_attribute: None,
        target_value: None,
        index: level.to_string(),
        devices: joined,
        extra_attrs: Vec::new(),
        pos: Pos::NONE,
    };
    match target {
        LevelTarget::Node(n) => l.target = Some(n.clone()),
        LevelTarget::Pattern(p) => l.target_pattern = Some(p.clone()),
        LevelTarget::Attribute(n, v) => {
            l.target_attribute = Some(n.clone());
            l.target_value = Some(v.clone());
        }
    }
    cib.configuration
        .fencing_topology
        .get_or_insert_with(FencingTopology::default)
        .levels
        .push(l);
    Ok(())
}

fn level_remove(
    cib: &mut Cib,
    level: Option<u32>,
    target: Option<&LevelTarget>,
    devices: &[String],
    r: &mut Report,
) -> Result<(), CliError> {
    let joined = devices.join(",");
    let matches = |l: &FencingLevel| {
        level.is_none_or(|n| l.index == n.to_string())
            && target.is_none_or(|t| level_matches(l, t))
            && (devices.is_empty() || l.devices == joined)
    };
    let Some(t) = &mut cib.configuration.fencing_topology else {
        if level.is_some() {
            r.error("No fencing levels are defined");
        }
        return r.check();
    };
    let before = t.levels.len();
    t.levels.retain(|l| !matches(l));
    if t.levels.len() == before && level.is_some() {
        r.error(format!(
            "Fencing level{}{} at level '{}'{} does not exist",
            if target.is_some() { " for " } else { "" },
            target
                .map(|t| format!("'{}'", target_text(t)))
                .unwrap_or_default(),
            level.unwrap_or(0),
            if devices.is_empty() {
                String::new()
            } else {
                format!(" with device(s) '{joined}'")
            }
        ));
    }
    if t.levels.is_empty() && t.extra.is_empty() {
        cib.configuration.fencing_topology = None;
    }
    r.check()
}

// ---- nodes ---------------------------------------------------------------------

fn node_mode(
    cib: &mut Cib,
    mode: NodeMode,
    on: bool,
    nodes: &[String],
    all: bool,
    r: &mut Report,
) -> Result<(), CliError> {
    let names: Vec<String> = if all {
        cib.configuration
            .nodes
            .iter()
            .map(|n| n.uname.clone())
            .collect()
    } else {
        nodes.to_vec()
    };
    for n in &names {
        if cib.configuration.node(n).is_none() {
            r.error(format!(
                "Node '{n}' does not appear to exist in configuration"
            ));
        }
    }
    r.check()?;
    let attr = match mode {
        NodeMode::Standby => "standby",
        NodeMode::Maintenance => "maintenance",
    };
    let value = if on { "on" } else { "" };
    for n in &names {
        node_attributes(cib, n, &vec![(attr.to_string(), value.to_string())], r)?;
    }
    Ok(())
}

/// Node attributes live in the node's first instance_attributes,
/// `nodes-ID`, with pairs `nodes-ID-NAME` (as the cluster writes them).
fn node_attributes(
    cib: &mut Cib,
    node: &str,
    pairs: &Pairs,
    r: &mut Report,
) -> Result<(), CliError> {
    let mut ids = Ids::of(cib);
    let Some(def) = cib.configuration.nodes.iter_mut().find(|n| n.uname == node) else {
        r.error(format!(
            "Node '{node}' does not appear to exist in configuration"
        ));
        return r.check();
    };
    let only_removing = pairs.iter().all(|(_, v)| v.is_empty());
    let idx = match def.sets.iter().position(|s| s.kind == SetKind::Instance) {
        Some(i) => i,
        None if only_removing => return Ok(()),
        None => {
            let id = ids.unique(&format!("nodes-{}", def.id));
            def.sets.push(NvSet::new(SetKind::Instance, id));
            def.sets.len() - 1
        }
    };
    let set = &mut def.sets[idx];
    for (k, v) in pairs {
        match set.pairs.iter().position(|p| p.name == *k) {
            Some(i) if v.is_empty() => {
                set.pairs.remove(i);
            }
            Some(i) => set.pairs[i].value = Some(v.clone()),
            None if v.is_empty() => {}
            None => {
                let id = ids.unique(&sanitize(&format!("{}-{k}", set.id)));
                set.pairs.push(NvPair::new(id, k.clone(), v.clone()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::flags::lex;
    use crate::cli::grammar::parse as parse_cmd;

    /// Agents from fixed metadata, so the tests do not depend on the machine.
    struct FakeAgents;

    impl Agents for FakeAgents {
        fn metadata(&self, agent: &AgentRef) -> Result<AgentMetadata, AgentError> {
            let xml = match agent.to_string().as_str() {
                "ocf:heartbeat:IPaddr2" => {
                    r#"<resource-agent name="IPaddr2"><parameters>
                    <parameter name="ip" unique="1" required="1"><content type="string"/></parameter>
                    <parameter name="cidr_netmask"><content type="string"/></parameter></parameters>
                    <actions><action name="start" timeout="20s"/><action name="stop" timeout="20s"/>
                    <action name="status" depth="0" timeout="20s" interval="10s"/>
                    <action name="monitor" depth="0" timeout="20s" interval="10s"/>
                    <action name="meta-data" timeout="5s"/><action name="validate-all" timeout="20s"/></actions></resource-agent>"#
                }
                "ocf:pacemaker:Dummy" => {
                    r#"<resource-agent name="Dummy"><parameters><parameter name="state"><content type="string"/></parameter></parameters>
                    <actions><action name="start" timeout="20s"/><action name="stop" timeout="20s"/>
                    <action name="monitor" timeout="20s" interval="10s" depth="0"/><action name="reload" timeout="20s"/>
                    <action name="migrate_to" timeout="20s"/><action name="migrate_from" timeout="20s"/>
                    <action name="meta-data" timeout="5s"/><action name="validate-all" timeout="20s"/></actions></resource-agent>"#
                }
                _ => {
                    return Err(AgentError::NotInstalled {
                        agent: agent.to_string(),
                        why: "not in the test set".into(),
                    })
                }
            };
            agent_info::from_metadata_xml(agent, xml)
        }

        fn find_by_type(&self, kind: &str) -> Vec<AgentRef> {
            ["ocf:heartbeat:IPaddr2", "ocf:pacemaker:Dummy"]
                .iter()
                .map(|s| AgentRef::parse(s).unwrap())
                .filter(|a| a.kind == kind)
                .collect()
        }
    }

    fn run(cib: &mut Cib, line: &str) -> Result<Outcome, CliError> {
        let lexed = lex(shell_words(line)).unwrap();
        let cmd = parse_cmd(&lexed)?;
        apply(
            cib,
            &cmd,
            &Ctx {
                force: lexed.flags.force,
                agents: &FakeAgents,
            },
        )
    }

    fn shell_words(line: &str) -> Vec<String> {
        line.split_whitespace()
            .map(|w| w.trim_matches('"').to_string())
            .collect()
    }

    fn xml(cib: &Cib) -> String {
        to_xml(cib)
    }

    #[test]
    fn create_writes_pcs_ids_and_default_ops() {
        let mut cib = Cib::empty();
        run(&mut cib, "resource create Cluster_VIP ocf:heartbeat:IPaddr2 ip=10.3.4.2 cidr_netmask=24 op monitor interval=20s").unwrap();
        let p = cib.configuration.primitive("Cluster_VIP").unwrap();
        let ids: Vec<&str> = p.sets[0].pairs.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(
            ids,
            vec![
                "Cluster_VIP-instance_attributes-cidr_netmask",
                "Cluster_VIP-instance_attributes-ip"
            ]
        );
        let ops: Vec<(&str, Option<&str>, Option<&str>)> = p
            .operations
            .as_ref()
            .unwrap()
            .ops
            .iter()
            .map(|o| (o.id.as_str(), o.interval.as_deref(), o.timeout.as_deref()))
            .collect();
        assert_eq!(
            ops,
            vec![
                ("Cluster_VIP-monitor-interval-20s", Some("20s"), None),
                ("Cluster_VIP-start-interval-0s", Some("0s"), Some("20s")),
                ("Cluster_VIP-stop-interval-0s", Some("0s"), Some("20s")),
            ]
        );
    }

    #[test]
    fn missing_unit_is_a_warning_and_gets_a_monitor() {
        let mut cib = Cib::empty();
        let out = run(&mut cib, "resource create opennebula systemd:opennebula").unwrap();
        assert_eq!(out.warnings.len(), 1, "{out:?}");
        let p = cib.configuration.primitive("opennebula").unwrap();
        assert_eq!(
            p.operations.as_ref().unwrap().ops[0].id,
            "opennebula-monitor-interval-60s"
        );
    }

    #[test]
    fn missing_required_parameter_is_refused_unless_forced() {
        let mut cib = Cib::empty();
        let e = run(&mut cib, "resource create vip ocf:heartbeat:IPaddr2")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "required resource option 'ip' is missing, use --force to override"
        );
        assert_eq!(cib, Cib::empty());
        let out = run(
            &mut cib,
            "resource create vip ocf:heartbeat:IPaddr2 --force",
        )
        .unwrap();
        assert_eq!(
            out.warnings,
            vec!["required resource option 'ip' is missing".to_string()]
        );
    }

    #[test]
    fn unknown_parameters_and_missing_ocf_agents_need_force() {
        let mut cib = Cib::empty();
        let e = run(&mut cib, "resource create d ocf:pacemaker:Dummy bogus=1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid resource option 'bogus'"), "{e}");
        let e = run(&mut cib, "resource create d ocf:acme:Nope")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("is not installed") && e.ends_with("use --force to override"),
            "{e}"
        );
    }

    #[test]
    fn groups_disabled_and_meta() {
        let mut cib = Cib::empty();
        run(
            &mut cib,
            "resource create d1 ocf:pacemaker:Dummy meta resource-stickiness=100 --group g1",
        )
        .unwrap();
        run(
            &mut cib,
            "resource create d2 Dummy --group g1 --before d1 --disabled",
        )
        .unwrap();
        let g = cib.configuration.group("g1").unwrap();
        let order: Vec<&str> = g.primitives.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(order, vec!["d2", "d1"]);
        let d2 = cib.configuration.primitive("d2").unwrap();
        assert_eq!(d2.sets[0].id, "d2-meta_attributes");
        assert_eq!(d2.sets[0].pairs[0].id, "d2-meta_attributes-target-role");
        run(&mut cib, "resource enable d2").unwrap();
        assert!(cib.configuration.primitive("d2").unwrap().sets[0]
            .pairs
            .is_empty());
        run(&mut cib, "resource disable d1").unwrap();
        let d1 = cib.configuration.primitive("d1").unwrap();
        assert_eq!(d1.attr(SetKind::Meta, "target-role"), Some("Stopped"));
        assert_eq!(d1.sets[0].pairs.len(), 2, "added to the existing set");
    }

    #[test]
    fn constraints_get_pcs_ids_and_duplicates_are_refused() {
        let mut cib = Cib::empty();
        run(&mut cib, "resource create A ocf:pacemaker:Dummy").unwrap();
        run(&mut cib, "resource create B ocf:pacemaker:Dummy").unwrap();
        run(&mut cib, "constraint colocation add A B INFINITY").unwrap();
        let e = run(&mut cib, "constraint colocation add A with B 100")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("duplicate constraint already exists"), "{e}");
        run(&mut cib, "constraint colocation add A with B 100 --force").unwrap();
        let out = run(&mut cib, "constraint order A then B").unwrap();
        assert_eq!(
            out.notes,
            vec![
                "Adding A B (kind: Mandatory) (Options: first-action=start then-action=start)"
                    .to_string()
            ]
        );
        run(&mut cib, "constraint location A prefers n1=50 n2").unwrap();
        run(&mut cib, "constraint location A avoids n3").unwrap();
        run(&mut cib, "constraint location A prefers n1=60").unwrap();
        let ids: Vec<&str> = cib
            .configuration
            .constraints
            .iter()
            .filter_map(|c| c.id())
            .collect();
        assert_eq!(
            ids,
            vec![
                "colocation-A-B-INFINITY",
                "colocation-A-B-100",
                "order-A-B-mandatory",
                "location-A-n2-INFINITY",
                "location-A-n3--INFINITY",
                "location-A-n1-60",
            ]
        );
        let e = run(&mut cib, "constraint colocation add A nope")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "Resource 'nope' does not exist");
    }

    #[test]
    fn rules_are_built_with_pcs_ids() {
        let mut cib = Cib::empty();
        run(&mut cib, "resource create A ocf:pacemaker:Dummy").unwrap();
        run(
            &mut cib,
            "constraint location A rule score=-INFINITY #uname eq n1 or pingd lt integer 1",
        )
        .unwrap();
        let out = xml(&cib);
        assert!(
            out.contains(r#"<rsc_location id="location-A" rsc="A">"#),
            "{out}"
        );
        assert!(
            out.contains(r#"<rule id="location-A-rule" score="-INFINITY" boolean-op="or">"#),
            "{out}"
        );
        assert!(out.contains(r#"id="location-A-rule-expr-1""#), "{out}");
        let e = run(
            &mut cib,
            "constraint location A rule score=-INFINITY #uname eq n1 or pingd lt integer 1",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("duplicate constraint"), "{e}");
    }

    #[test]
    fn delete_removes_references_and_empty_groups() {
        let mut cib = Cib::empty();
        run(&mut cib, "resource create A ocf:pacemaker:Dummy --group G").unwrap();
        run(&mut cib, "resource create B ocf:pacemaker:Dummy").unwrap();
        run(&mut cib, "constraint colocation add B with A").unwrap();
        run(&mut cib, "constraint order G then B").unwrap();
        let out = run(&mut cib, "resource delete A").unwrap();
        assert!(cib.configuration.group("G").is_none());
        assert!(
            cib.configuration.constraints.is_empty(),
            "{:?}",
            cib.configuration.constraints
        );
        assert!(out
            .notes
            .iter()
            .any(|n| n == "Removing Constraint - colocation-B-A-INFINITY"));
        let e = run(&mut cib, "resource delete A").unwrap_err().to_string();
        assert_eq!(e, "Resource 'A' does not exist.");
    }

    #[test]
    fn update_meta_and_ops() {
        let mut cib = Cib::empty();
        run(
            &mut cib,
            "resource create vip ocf:heartbeat:IPaddr2 ip=1.2.3.4",
        )
        .unwrap();
        run(&mut cib, "resource update vip cidr_netmask=24 ip= op monitor interval=30s meta migration-threshold=3").unwrap_err();
        run(&mut cib, "resource update vip cidr_netmask=24 op monitor interval=30s meta migration-threshold=3").unwrap();
        let p = cib.configuration.primitive("vip").unwrap();
        assert_eq!(p.attr(SetKind::Instance, "cidr_netmask"), Some("24"));
        assert_eq!(
            p.sets[0]
                .pairs
                .iter()
                .find(|x| x.name == "cidr_netmask")
                .unwrap()
                .id,
            "vip-instance_attributes-cidr_netmask"
        );
        assert_eq!(p.attr(SetKind::Meta, "migration-threshold"), Some("3"));
        let mon: Vec<&str> = p
            .operations
            .as_ref()
            .unwrap()
            .ops
            .iter()
            .filter(|o| o.name == "monitor")
            .map(|o| o.id.as_str())
            .collect();
        assert_eq!(mon, vec!["vip-monitor-interval-30s"]);
        run(&mut cib, "resource meta vip migration-threshold=").unwrap();
        assert_eq!(
            cib.configuration
                .primitive("vip")
                .unwrap()
                .attr(SetKind::Meta, "migration-threshold"),
            None
        );
    }

    #[test]
    fn properties() {
        let mut cib = Cib::empty();
        run(
            &mut cib,
            "property set no-quorum-policy=ignore stonith-enabled=false",
        )
        .unwrap();
        let s = &cib.configuration.crm_config[0];
        assert_eq!(s.id, "cib-bootstrap-options");
        assert_eq!(s.pairs[0].id, "cib-bootstrap-options-no-quorum-policy");
        let e = run(&mut cib, "property set no-quorum-policy=ignroe")
            .unwrap_err()
            .to_string();
        assert!(e.contains("one of stop, freeze, ignore"), "{e}");
        assert!(run(&mut cib, "property set bogus=1").is_err());
        run(&mut cib, "property unset stonith-enabled").unwrap();
        assert_eq!(cib.configuration.property("stonith-enabled"), None);
        assert!(run(&mut cib, "property unset stonith-enabled").is_err());
        assert!(run(&mut cib, "property set dc-version=1").is_err());
    }

    #[test]
    fn groups_move_and_dissolve() {
        let mut cib = Cib::empty();
        for n in ["A", "B", "C"] {
            run(
                &mut cib,
                &format!("resource create {n} ocf:pacemaker:Dummy"),
            )
            .unwrap();
        }
        run(&mut cib, "resource group add G A B").unwrap();
        run(&mut cib, "resource group add G C --before B").unwrap();
        let order: Vec<&str> = cib
            .configuration
            .group("G")
            .unwrap()
            .primitives
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        assert_eq!(order, vec!["A", "C", "B"]);
        run(&mut cib, "resource group remove G C").unwrap();
        assert!(
            matches!(cib.configuration.resources.last(), Some(ResourceItem::Primitive(p)) if p.id == "C")
        );
        run(&mut cib, "resource ungroup G").unwrap();
        assert!(cib.configuration.group("G").is_none());
        assert_eq!(cib.configuration.primitives().count(), 3);
    }

    #[test]
    fn levels_and_nodes() {
        let mut cib = parse(
            r#"<cib epoch="1" num_updates="0" admin_epoch="0" validate-with="pacemaker-3.9"><configuration><crm_config/>
            <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes><resources/><constraints/></configuration><status/></cib>"#,
            "t",
        )
        .cib
        .unwrap();
        let e = run(&mut cib, "stonith level add 1 n1 f1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'f1' do not exist"), "{e}");
        run(&mut cib, "stonith level add 1 n1 f1 --force").unwrap();
        assert_eq!(
            cib.configuration.fencing_topology.as_ref().unwrap().levels[0].id,
            "fl-n1-1"
        );
        run(&mut cib, "stonith level clear").unwrap();
        assert!(cib.configuration.fencing_topology.is_none());
        run(&mut cib, "node standby --all").unwrap();
        run(&mut cib, "node unstandby n2").unwrap();
        let n1 = &cib.configuration.nodes[0];
        assert_eq!(
            (n1.sets[0].id.as_str(), n1.sets[0].pairs[0].id.as_str()),
            ("nodes-1", "nodes-1-standby")
        );
        assert!(cib.configuration.nodes[1].sets[0].pairs.is_empty());
        assert!(run(&mut cib, "node standby n9").is_err());
    }

    #[test]
    fn old_schemas_get_old_role_names() {
        let mut cib = Cib::empty();
        cib.validate_with = Some("pacemaker-3.1".into());
        run(
            &mut cib,
            "resource create A ocf:pacemaker:Dummy op monitor interval=11s role=Promoted",
        )
        .unwrap();
        let ops = &cib
            .configuration
            .primitive("A")
            .unwrap()
            .operations
            .as_ref()
            .unwrap()
            .ops;
        assert!(ops.iter().any(|o| o.role.as_deref() == Some("Master")));
    }
}
