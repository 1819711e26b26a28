//! Read-only views of the configuration in pcs's text formats: `resource
//! config`, `stonith config`, `constraint config`, `property config`,
//! `config show`, `node attribute`, `constraint ref`, `stonith level
//! config`.
//!
//! Invariant: pure, and no secret value is ever printed unless the caller
//! asked for secrets (`--show-secrets`): every parameter value goes through
//! [`super::secrets::is_secret`].

use super::command::RuleExpr;
use super::error::CliError;
use super::properties::PROPERTIES;
use crate::core::cib::*;
use std::fmt::Write as _;

/// Quotes a value for `name=value` display the way a shell would need it.
fn quote(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        v.to_string()
    } else {
        format!("'{}'", v.replace('\'', "'\"'\"'"))
    }
}

/// `name=value`, the value masked if it is a secret (the mask is not quoted).
fn pair_text(name: &str, value: &str, secrets: bool) -> String {
    if !secrets && super::secrets::is_secret(name) {
        format!("{name}={}", super::secrets::MASK)
    } else {
        format!("{name}={}", quote(value))
    }
}

fn pair_line(out: &mut String, indent: usize, name: &str, value: &str, secrets: bool) {
    let _ = writeln!(out, "{:indent$}{}", "", pair_text(name, value, secrets));
}

fn set_lines(out: &mut String, indent: usize, label: &str, sets: &[&NvSet], secrets: bool) {
    let Some(set) = sets.first() else { return };
    if set.pairs.is_empty() {
        return;
    }
    let _ = writeln!(out, "{:indent$}{label}: {}", "", set.id);
    let mut pairs: Vec<&NvPair> = set.pairs.iter().collect();
    pairs.sort_by(|a, b| a.name.cmp(&b.name));
    for p in pairs {
        pair_line(
            out,
            indent + 2,
            &p.name,
            p.value.as_deref().unwrap_or(""),
            secrets,
        );
    }
}

fn primitive_lines(out: &mut String, indent: usize, p: &Primitive, secrets: bool) {
    let mut agent = format!("class={}", p.class.as_deref().unwrap_or(""));
    if let Some(pr) = &p.provider {
        let _ = write!(agent, " provider={pr}");
    }
    let _ = write!(agent, " type={}", p.kind.as_deref().unwrap_or(""));
    let _ = writeln!(out, "{:indent$}Resource: {} ({agent})", "", p.id);
    let i = indent + 2;
    if let Some(d) = &p.description {
        let _ = writeln!(out, "{:i$}Description: {d}", "");
    }
    set_lines(
        out,
        i,
        "Attributes",
        &p.sets_of(SetKind::Instance).collect::<Vec<_>>(),
        secrets,
    );
    set_lines(
        out,
        i,
        "Meta Attributes",
        &p.sets_of(SetKind::Meta).collect::<Vec<_>>(),
        secrets,
    );
    set_lines(
        out,
        i,
        "Utilization",
        &p.sets_of(SetKind::Utilization).collect::<Vec<_>>(),
        secrets,
    );
    if let Some(ops) = p.operations.as_ref().filter(|o| !o.ops.is_empty()) {
        let _ = writeln!(out, "{:i$}Operations:", "");
        for op in &ops.ops {
            let _ = writeln!(out, "{:w$}{}: {}", "", op.name, op.id, w = i + 2);
            let mut pairs: Vec<(&str, &str)> = Vec::new();
            pairs.push(("interval", op.interval.as_deref().unwrap_or("0s")));
            if let Some(v) = &op.start_delay {
                pairs.push(("start-delay", v));
            } else if let Some(v) = &op.interval_origin {
                pairs.push(("interval-origin", v));
            }
            for (k, v) in [
                ("timeout", &op.timeout),
                ("enabled", &op.enabled),
                ("record-pending", &op.record_pending),
                ("role", &op.role),
                ("on-fail", &op.on_fail),
            ] {
                if let Some(v) = v {
                    pairs.push((k, v));
                }
            }
            let level = op
                .sets
                .iter()
                .find_map(|s| s.get("OCF_CHECK_LEVEL").map(|v| ("OCF_CHECK_LEVEL", v)));
            pairs.extend(level);
            for (k, v) in pairs {
                pair_line(out, i + 4, k, v, secrets);
            }
        }
    }
}

fn group_lines(out: &mut String, indent: usize, g: &Group, secrets: bool) {
    let _ = writeln!(out, "{:indent$}Group: {}", "", g.id);
    let i = indent + 2;
    if let Some(d) = &g.description {
        let _ = writeln!(out, "{:i$}Description: {d}", "");
    }
    let sets: Vec<&NvSet> = g
        .sets
        .iter()
        .filter(|s| s.kind == SetKind::Instance)
        .collect();
    set_lines(out, i, "Attributes", &sets, secrets);
    let sets: Vec<&NvSet> = g.sets.iter().filter(|s| s.kind == SetKind::Meta).collect();
    set_lines(out, i, "Meta Attributes", &sets, secrets);
    for p in &g.primitives {
        primitive_lines(out, i, p, secrets);
    }
}

fn is_stonith(p: &Primitive) -> bool {
    p.class.as_deref() == Some("stonith")
}

/// `resource config` / `stonith config`: top-level primitives, then groups,
/// then anything else (clones, bundles: as their element name and id).
pub fn resources(
    cib: &Cib,
    ids: &[String],
    stonith: bool,
    indent: usize,
    secrets: bool,
) -> Result<String, CliError> {
    let c = &cib.configuration;
    let mut out = String::new();
    let wanted = |id: &str| ids.is_empty() || ids.iter().any(|x| x == id);
    let mut found: Vec<&str> = Vec::new();
    for item in &c.resources {
        if let ResourceItem::Primitive(p) = item {
            if is_stonith(p) == stonith && wanted(&p.id) {
                primitive_lines(&mut out, indent, p, secrets);
                found.push(&p.id);
            }
        }
    }
    if !stonith {
        for item in &c.resources {
            match item {
                ResourceItem::Group(g) => {
                    if wanted(&g.id) {
                        group_lines(&mut out, indent, g, secrets);
                        found.push(&g.id);
                    } else {
                        for p in g.primitives.iter().filter(|p| wanted(&p.id)) {
                            primitive_lines(&mut out, indent, p, secrets);
                            found.push(&p.id);
                        }
                    }
                }
                ResourceItem::Other(e) => {
                    let id = e.id().unwrap_or("");
                    if wanted(id) {
                        let name = e.name[..1].to_uppercase() + &e.name[1..];
                        let _ = writeln!(out, "{:indent$}{name}: {id}", "");
                        found.push(id);
                    }
                }
                _ => {}
            }
        }
    }
    let missing: Vec<&String> = ids
        .iter()
        .filter(|i| !found.contains(&i.as_str()))
        .collect();
    if !missing.is_empty() {
        let what = if stonith {
            "stonith device"
        } else {
            "resource"
        };
        return Err(CliError::Rejected(
            missing
                .iter()
                .map(|m| format!("Unable to find {what} '{m}'"))
                .collect(),
        ));
    }
    Ok(out)
}

// ---- rules ---------------------------------------------------------------------

/// A rule as one line of pcs's expression syntax, for display and to find
/// duplicates.
pub fn rule_text(r: &Rule) -> String {
    let op = r.boolean_op.as_deref().unwrap_or("and");
    let parts: Vec<String> = r
        .items
        .iter()
        .map(|i| match i {
            RuleItem::Expr(e) => match (e.operation.as_str(), &e.value) {
                ("defined" | "not_defined", _) => format!("{} {}", e.operation, e.attribute),
                (o, Some(v)) => match &e.value_type {
                    Some(t) => format!("{} {o} {t} {v}", e.attribute),
                    None => format!("{} {o} {v}", e.attribute),
                },
                (o, None) => format!("{} {o}", e.attribute),
            },
            RuleItem::Date(d) => match d.operation.as_str() {
                "gt" => format!("date gt {}", d.start.as_deref().unwrap_or("")),
                "lt" => format!("date lt {}", d.end.as_deref().unwrap_or("")),
                "in_range" => format!(
                    "date in_range {} to {}",
                    d.start.as_deref().unwrap_or(""),
                    d.end.as_deref().unwrap_or("duration")
                ),
                other => format!("date {other}"),
            },
            RuleItem::Rule(n) => format!("({})", rule_text(n)),
            RuleItem::Rsc(e) | RuleItem::Op(e) | RuleItem::Other(e) => e.name.clone(),
        })
        .collect();
    parts.join(&format!(" {op} "))
}

/// The same text for a rule given on the command line.
pub fn rule_expr_text(e: &RuleExpr) -> String {
    match e {
        RuleExpr::Defined { attribute, defined } => {
            format!(
                "{} {attribute}",
                if *defined { "defined" } else { "not_defined" }
            )
        }
        RuleExpr::Compare {
            attribute,
            op,
            value_type,
            value,
        } => match value_type {
            Some(t) => format!("{attribute} {op} {t} {value}"),
            None => format!("{attribute} {op} {value}"),
        },
        RuleExpr::Date { op, start, end } => match op.as_str() {
            "gt" => format!("date gt {}", start.as_deref().unwrap_or("")),
            "lt" => format!("date lt {}", end.as_deref().unwrap_or("")),
            _ => format!(
                "date in_range {} to {}",
                start.as_deref().unwrap_or(""),
                end.as_deref().unwrap_or("")
            ),
        },
        RuleExpr::Bool { op, items } => items
            .iter()
            .map(|i| match i {
                RuleExpr::Bool { .. } => format!("({})", rule_expr_text(i)),
                _ => rule_expr_text(i),
            })
            .collect::<Vec<_>>()
            .join(&format!(" {op} ")),
    }
}

// ---- constraints -----------------------------------------------------------------

fn score_positive(s: &str) -> bool {
    Score::parse_lenient(s).0 >= 0
}

/// `constraint config [--full]`.
pub fn constraints(cib: &Cib, full: bool) -> String {
    let c = &cib.configuration;
    let mut out = String::from("Location Constraints:\n");
    let id_part = |id: &str| {
        if full {
            format!(" (id:{id})")
        } else {
            String::new()
        }
    };
    // Grouped by resource (patterns first), as pcs does.
    let mut keys: Vec<(u8, String)> = Vec::new();
    for x in &c.constraints {
        if let ConstraintItem::Location(l) = x {
            let k = match (&l.rsc, &l.rsc_pattern) {
                (Some(r), _) => (1, r.clone()),
                (None, Some(p)) => (0, p.clone()),
                _ => continue,
            };
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    keys.sort();
    for (kind, name) in &keys {
        let label = if *kind == 0 {
            "Resource pattern"
        } else {
            "Resource"
        };
        let mine: Vec<&Location> = c
            .constraints
            .iter()
            .filter_map(|x| match x {
                ConstraintItem::Location(l)
                    if (*kind == 1 && l.rsc.as_deref() == Some(name.as_str()))
                        || (*kind == 0
                            && l.rsc.is_none()
                            && l.rsc_pattern.as_deref() == Some(name.as_str())) =>
                {
                    Some(l)
                }
                _ => None,
            })
            .collect();
        let _ = writeln!(out, "  {label}: {name}");
        for (positive, title) in [(true, "Enabled on:"), (false, "Disabled on:")] {
            let lines: Vec<&&Location> = mine
                .iter()
                .filter(|l| {
                    l.node.is_some()
                        && score_positive(l.score.as_deref().unwrap_or("0")) == positive
                })
                .collect();
            if lines.is_empty() {
                continue;
            }
            let _ = writeln!(out, "    {title}");
            for l in lines {
                let mut line = format!(
                    "      Node: {} (score:{})",
                    l.node.as_deref().unwrap_or(""),
                    l.score.as_deref().unwrap_or("0")
                );
                if let Some(r) = &l.role {
                    let _ = write!(line, " (role:{r})");
                }
                if let Some(d) = &l.resource_discovery {
                    let _ = write!(line, " (resource-discovery={d})");
                }
                line.push_str(&id_part(&l.id));
                let _ = writeln!(out, "{line}");
            }
        }
        for l in mine.iter().filter(|l| !l.rules.is_empty()) {
            let _ = writeln!(out, "    Constraint: {}", l.id);
            if let Some(d) = &l.resource_discovery {
                let _ = writeln!(out, "      resource-discovery={d}");
            }
            for r in &l.rules {
                let mut head = String::from("      Rule:");
                for (k, v) in [
                    ("boolean-op", &r.boolean_op),
                    ("role", &r.role),
                    ("score", &r.score),
                    ("score-attribute", &r.score_attribute),
                ] {
                    if let Some(v) = v {
                        let _ = write!(head, " {k}={v}");
                    }
                }
                head.push_str(&id_part(&r.id));
                let _ = writeln!(out, "{head}");
                for item in &r.items {
                    let (text, id) = match item {
                        RuleItem::Expr(e) => (
                            rule_text(&Rule {
                                items: vec![item.clone()],
                                boolean_op: None,
                                ..r.clone()
                            }),
                            e.id.clone(),
                        ),
                        RuleItem::Date(d) => (
                            rule_text(&Rule {
                                items: vec![item.clone()],
                                boolean_op: None,
                                ..r.clone()
                            }),
                            d.id.clone(),
                        ),
                        RuleItem::Rule(n) => (format!("({})", rule_text(n)), n.id.clone()),
                        other => (format!("{other:?}"), String::new()),
                    };
                    let _ = writeln!(out, "        Expression: {text}{}", id_part(&id));
                }
            }
        }
    }
    out.push_str("Ordering Constraints:\n");
    for x in &c.constraints {
        if let ConstraintItem::Order(o) = x {
            if !o.sets.is_empty() {
                let _ = writeln!(
                    out,
                    "  Resource Sets: {}{}",
                    set_text(&o.sets),
                    id_part(&o.id)
                );
                continue;
            }
            let mut line = format!(
                "  {} {} then {} {}",
                o.first_action.as_deref().unwrap_or("start"),
                o.first.as_deref().unwrap_or(""),
                o.then_action.as_deref().unwrap_or("start"),
                o.then.as_deref().unwrap_or("")
            );
            match (&o.kind, &o.score) {
                (Some(k), _) => {
                    let _ = write!(line, " (kind:{k})");
                }
                (None, Some(s)) => {
                    let _ = write!(line, " (score:{s})");
                }
                (None, None) => line.push_str(" (kind:Mandatory)"),
            }
            for (k, v) in [
                ("symmetrical", &o.symmetrical),
                ("require-all", &o.require_all),
            ] {
                if let Some(v) = v {
                    let _ = write!(line, " ({k}:{v})");
                }
            }
            line.push_str(&id_part(&o.id));
            let _ = writeln!(out, "{line}");
        }
    }
    out.push_str("Colocation Constraints:\n");
    for x in &c.constraints {
        if let ConstraintItem::Colocation(l) = x {
            if !l.sets.is_empty() {
                let _ = writeln!(
                    out,
                    "  Resource Sets: {}{}",
                    set_text(&l.sets),
                    id_part(&l.id)
                );
                continue;
            }
            let mut line = format!(
                "  {} with {} (score:{})",
                l.rsc.as_deref().unwrap_or(""),
                l.with_rsc.as_deref().unwrap_or(""),
                l.score.as_deref().unwrap_or("")
            );
            for (k, v) in [
                ("rsc-role", &l.rsc_role),
                ("with-rsc-role", &l.with_rsc_role),
                ("node-attribute", &l.node_attribute),
                ("influence", &l.influence),
            ] {
                if let Some(v) = v {
                    let _ = write!(line, " ({k}:{v})");
                }
            }
            line.push_str(&id_part(&l.id));
            let _ = writeln!(out, "{line}");
        }
    }
    out.push_str("Ticket Constraints:\n");
    for x in &c.constraints {
        if let ConstraintItem::Other(e) = x {
            if e.name == "rsc_ticket" {
                let _ = writeln!(
                    out,
                    "  {} ticket={}{}",
                    e.attr("rsc").unwrap_or(""),
                    e.attr("ticket").unwrap_or(""),
                    id_part(e.id().unwrap_or(""))
                );
            }
        }
    }
    out
}

fn set_text(sets: &[ResourceSet]) -> String {
    sets.iter()
        .map(|s| format!("set {}", s.resources.join(" ")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `constraint ref RSC...`
pub fn constraint_ref(cib: &Cib, ids: &[String]) -> String {
    let mut out = String::new();
    for id in ids {
        let _ = writeln!(out, "Resource: {id}");
        let mut found = Vec::new();
        let mut in_sets = Vec::new();
        for x in &cib.configuration.constraints {
            let (direct, sets): (bool, &[ResourceSet]) = match x {
                ConstraintItem::Location(l) => (l.rsc.as_deref() == Some(id.as_str()), &l.sets),
                ConstraintItem::Colocation(l) => (
                    l.rsc.as_deref() == Some(id.as_str())
                        || l.with_rsc.as_deref() == Some(id.as_str()),
                    &l.sets,
                ),
                ConstraintItem::Order(o) => (
                    o.first.as_deref() == Some(id.as_str())
                        || o.then.as_deref() == Some(id.as_str()),
                    &o.sets,
                ),
                ConstraintItem::Other(e) => (e.attr("rsc") == Some(id.as_str()), &[]),
                ConstraintItem::Comment(_) => (false, &[]),
            };
            if direct {
                found.push(x.id().unwrap_or("").to_string());
            } else if sets.iter().any(|s| s.resources.contains(id)) {
                in_sets.push(x.id().unwrap_or("").to_string());
            }
        }
        in_sets.sort();
        in_sets.dedup();
        if found.is_empty() && in_sets.is_empty() {
            out.push_str("  No Matches.\n");
        }
        for f in found.iter().chain(in_sets.iter()) {
            let _ = writeln!(out, "  {f}");
        }
    }
    out
}

// ---- properties, levels, nodes ---------------------------------------------------

/// `property config [--all|--defaults] [NAME...]`.
pub fn properties(cib: &Cib, names: &[String], all: bool, defaults: bool) -> String {
    let set: Vec<(&str, &str)> = cib
        .configuration
        .crm_config
        .first()
        .map(|s| {
            s.pairs
                .iter()
                .map(|p| (p.name.as_str(), p.value.as_deref().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    let wanted = |n: &str| names.is_empty() || names.iter().any(|x| x == n);
    let mut lines: Vec<(String, String)> = Vec::new();
    if defaults {
        for p in PROPERTIES.iter().filter(|p| !p.read_only && wanted(p.name)) {
            lines.push((p.name.to_string(), p.default.to_string()));
        }
    } else {
        for (n, v) in &set {
            if wanted(n) {
                lines.push((n.to_string(), v.to_string()));
            }
        }
        if all {
            // The cluster's own bookkeeping is not a setting.
            let hidden = ["dc-version", "cluster-infrastructure", "last-lrm-refresh"];
            for p in PROPERTIES
                .iter()
                .filter(|p| wanted(p.name) && !hidden.contains(&p.name))
            {
                if !lines.iter().any(|(n, _)| n == p.name) {
                    lines.push((p.name.to_string(), p.default.to_string()));
                }
            }
        }
        lines.sort();
    }
    let mut out = String::from("Cluster Properties:\n");
    for (n, v) in lines {
        let _ = writeln!(out, " {n}: {v}");
    }
    out
}

/// `stonith level config`.
pub fn levels(cib: &Cib) -> String {
    let mut out = String::new();
    let Some(t) = &cib.configuration.fencing_topology else {
        return out;
    };
    let mut targets: Vec<String> = Vec::new();
    let target_of = |l: &FencingLevel| -> String {
        match (&l.target, &l.target_pattern, &l.target_attribute) {
            (Some(n), _, _) => format!("Target: {n}"),
            (None, Some(p), _) => format!("Regexp: {p}"),
            (None, None, Some(a)) => {
                format!("Target: {a}={}", l.target_value.as_deref().unwrap_or(""))
            }
            _ => "Target: ?".to_string(),
        }
    };
    for l in &t.levels {
        let k = target_of(l);
        if !targets.contains(&k) {
            targets.push(k);
        }
    }
    for k in targets {
        let _ = writeln!(out, "{k}");
        let mut ls: Vec<&FencingLevel> = t.levels.iter().filter(|l| target_of(l) == k).collect();
        ls.sort_by_key(|l| l.index.parse::<u32>().unwrap_or(0));
        for l in ls {
            let _ = writeln!(out, "  Level {} - {}", l.index, l.devices);
        }
    }
    out
}

/// `node attribute [NODE]`.
pub fn node_attributes(cib: &Cib, node: Option<&str>) -> String {
    let mut out = String::from("Node Attributes:\n");
    for n in &cib.configuration.nodes {
        if node.is_some_and(|x| x != n.uname) {
            continue;
        }
        let pairs: Vec<String> = n
            .sets
            .iter()
            .filter(|s| s.kind == SetKind::Instance)
            .flat_map(|s| s.pairs.iter())
            .map(|p| pair_text(&p.name, p.value.as_deref().unwrap_or(""), false))
            .collect();
        if !pairs.is_empty() {
            let _ = writeln!(out, " {}: {}", n.uname, pairs.join(" "));
        }
    }
    out
}

/// `resource group list`.
pub fn groups(cib: &Cib) -> String {
    let mut out = String::new();
    for g in cib.configuration.groups() {
        let members: Vec<&str> = g.primitives.iter().map(|p| p.id.as_str()).collect();
        let _ = writeln!(out, "{}: {}", g.id, members.join(" "));
    }
    out
}

fn defaults_lines(out: &mut String, title: &str, sets: &Option<Vec<NvSet>>, secrets: bool) {
    let _ = writeln!(out, "{title}:");
    match sets.as_deref() {
        Some(sets) if !sets.is_empty() => {
            for s in sets {
                let _ = writeln!(out, "  Meta Attrs: {}", s.id);
                for p in &s.pairs {
                    pair_line(out, 4, &p.name, p.value.as_deref().unwrap_or(""), secrets);
                }
            }
        }
        _ => out.push_str("  No defaults set\n"),
    }
}

/// `config [show]`: everything, in pcs's order.
pub fn config(cib: &Cib, secrets: bool, full: bool) -> String {
    let c = &cib.configuration;
    let mut out = String::new();
    if let Some(name) = c.property("cluster-name") {
        let _ = writeln!(out, "Cluster Name: {name}");
    }
    let nodes: Vec<&str> = c.nodes.iter().map(|n| n.uname.as_str()).collect();
    let _ = writeln!(out, "Pacemaker Nodes:\n {}", nodes.join(" "));
    out.push_str("\nResources:\n");
    out.push_str(&resources(cib, &[], false, 2, secrets).unwrap_or_default());
    out.push_str("\nStonith Devices:\n");
    out.push_str(&resources(cib, &[], true, 2, secrets).unwrap_or_default());
    out.push_str("Fencing Levels:\n");
    for line in levels(cib).lines() {
        let _ = writeln!(out, "  {line}");
    }
    out.push('\n');
    out.push_str(&constraints(cib, true));
    out.push('\n');
    defaults_lines(&mut out, "Resources Defaults", &c.rsc_defaults, secrets);
    defaults_lines(&mut out, "Operations Defaults", &c.op_defaults, secrets);
    out.push('\n');
    out.push_str(&properties(cib, &[], full, false));
    let attrs = node_attributes(cib, None);
    if attrs.lines().count() > 1 {
        out.push('\n');
        out.push_str(&attrs);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CIB: &str = r#"<cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config>
<cluster_property_set id="cib-bootstrap-options"><nvpair id="o1" name="no-quorum-policy" value="ignore"/></cluster_property_set></crm_config>
<nodes/><resources>
<primitive id="f1" class="stonith" type="fence_ilo_ssh"><instance_attributes id="f1-ia">
<nvpair id="f1-p" name="password" value="s3cret-one"/><nvpair id="f1-i" name="ip" value="10.0.0.1"/><nvpair id="f1-x" name="ipmi_passwd" value="hunter two"/></instance_attributes>
<operations><op id="f1-m" name="monitor" interval="20s"/></operations></primitive>
<primitive id="vip" class="ocf" provider="heartbeat" type="IPaddr2"><instance_attributes id="vip-ia"><nvpair id="vip-ip" name="ip" value="10.3.4.2"/></instance_attributes></primitive>
</resources><constraints>
<rsc_location id="l1" rsc="vip" node="n1" score="50"/><rsc_location id="l2" rsc="vip" node="n2" score="-INFINITY"/>
<rsc_order id="o1x" first="vip" then="f1"/><rsc_colocation id="c1" rsc="f1" with-rsc="vip" score="INFINITY"/>
</constraints></configuration><status/></cib>"#;

    #[test]
    fn secrets_are_masked_unless_asked() {
        let cib = parse(CIB, "t").cib.unwrap();
        let s = resources(&cib, &[], true, 0, false).unwrap();
        assert!(!s.contains("s3cret") && !s.contains("hunter"), "{s}");
        assert!(s.contains("    password=********\n"), "{s}");
        assert!(s.contains("    ipmi_passwd=********\n"), "{s}");
        assert!(s.contains("    ip=10.0.0.1\n"), "{s}");
        let s = resources(&cib, &[], true, 0, true).unwrap();
        assert!(
            s.contains("password=s3cret-one") && s.contains("ipmi_passwd='hunter two'"),
            "{s}"
        );
        let all = config(&cib, false, false);
        assert!(!all.contains("s3cret") && !all.contains("hunter"), "{all}");
    }

    #[test]
    fn resource_config_lists_what_was_asked() {
        let cib = parse(CIB, "t").cib.unwrap();
        let s = resources(&cib, &["vip".into()], false, 0, false).unwrap();
        assert_eq!(
            s,
            "Resource: vip (class=ocf provider=heartbeat type=IPaddr2)\n  Attributes: vip-ia\n    ip=10.3.4.2\n"
        );
        let e = resources(&cib, &["nope".into()], false, 0, false).unwrap_err();
        assert_eq!(e.to_string(), "Unable to find resource 'nope'");
    }

    #[test]
    fn constraints_in_pcs_layout() {
        let cib = parse(CIB, "t").cib.unwrap();
        assert_eq!(
            constraints(&cib, false),
            "Location Constraints:\n  Resource: vip\n    Enabled on:\n      Node: n1 (score:50)\n    Disabled on:\n      Node: n2 (score:-INFINITY)\nOrdering Constraints:\n  start vip then start f1 (kind:Mandatory)\nColocation Constraints:\n  f1 with vip (score:INFINITY)\nTicket Constraints:\n"
        );
        assert!(constraints(&cib, true).contains("(score:50) (id:l1)"));
        assert_eq!(
            constraint_ref(&cib, &["vip".into(), "zz".into()]),
            "Resource: vip\n  l1\n  l2\n  o1x\n  c1\nResource: zz\n  No Matches.\n"
        );
    }

    #[test]
    fn properties_with_defaults() {
        let cib = parse(CIB, "t").cib.unwrap();
        assert_eq!(
            properties(&cib, &[], false, false),
            "Cluster Properties:\n no-quorum-policy: ignore\n"
        );
        let all = properties(&cib, &[], true, false);
        assert!(
            all.contains(" no-quorum-policy: ignore\n") && all.contains(" stonith-enabled: true\n"),
            "{all}"
        );
    }
}
