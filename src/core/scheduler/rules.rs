//! Rule evaluation and name/value set unpacking, as Pacemaker evaluates them:
//! node-attribute expressions (string/integer/number/version comparisons,
//! `defined`/`not_defined`, `value-source`), `#uname`-style built-in
//! attributes, role, resource and operation expressions, and date
//! expressions against the `now` the scheduler was given.
//!
//! Name/value sets are applied in Pacemaker's order: the set named
//! `cib-bootstrap-options` first, then by descending `score`, sets of equal
//! score in reverse document order; inside a set the first value of a name
//! wins unless `overwrite` (then the last does); the value `#default`
//! removes the name.
//!
//! Invariant: pure; the time is an argument; a rule that could change its
//! result later records the moment in `next_change` (for `recheck_by`).

use super::util::{compare_version, parse_iso_secs, Role};
use crate::core::cib::model::{DateExpression, Expression, NvSet, Rule, RuleItem};
use crate::core::cib::xml::Element;
use crate::core::cib::Score;
use std::collections::BTreeMap;

pub type Attrs = BTreeMap<String, String>;

/// What the expressions of a rule may look at.
#[derive(Default)]
pub struct RuleCtx<'a> {
    pub node_attrs: Option<&'a Attrs>,
    pub role: Role,
    /// Seconds since the epoch.
    pub now: i64,
    /// (standard, provider, agent) for `rsc_expression`.
    pub rsc: Option<(&'a str, Option<&'a str>, &'a str)>,
    /// (name, interval_ms) for `op_expression`.
    pub op: Option<(&'a str, u64)>,
    /// Resource parameters and meta attributes for `value-source`.
    pub params: Option<&'a Attrs>,
    pub meta: Option<&'a Attrs>,
    /// Regular-expression captures of an `rsc-pattern` match (%1..%9).
    pub captures: Option<&'a [Option<String>]>,
}

/// The earliest future moment at which some evaluated rule may change.
#[derive(Debug, Default, Clone, Copy)]
pub struct NextChange(pub Option<i64>);

impl NextChange {
    pub fn note(&mut self, at: i64) {
        if self.0.is_none_or(|t| at < t) {
            self.0 = Some(at);
        }
    }
}

/// Evaluates one rule.
pub fn eval_rule(rule: &Rule, ctx: &RuleCtx, next: &mut NextChange) -> bool {
    let or = rule
        .boolean_op
        .as_deref()
        .is_some_and(|b| b.eq_ignore_ascii_case("or"));
    for item in &rule.items {
        let t = eval_item(item, ctx, next);
        if t && or {
            return true;
        }
        if !t && !or {
            return false;
        }
    }
    // An empty rule passes with "and" and fails with "or", as Pacemaker.
    !or
}

/// `pe_eval_rules`: a set with no rules always applies; otherwise any rule
/// passing makes it apply.
pub fn eval_rules<'r>(
    rules: impl IntoIterator<Item = &'r Rule>,
    ctx: &RuleCtx,
    next: &mut NextChange,
) -> bool {
    let mut any = false;
    for r in rules {
        any = true;
        if eval_rule(r, ctx, next) {
            return true;
        }
    }
    !any
}

fn eval_item(item: &RuleItem, ctx: &RuleCtx, next: &mut NextChange) -> bool {
    match item {
        RuleItem::Rule(r) => eval_rule(r, ctx, next),
        RuleItem::Expr(e) => {
            if e.attribute == "#role" {
                eval_role_expr(e, ctx)
            } else if ctx.node_attrs.is_some() {
                eval_attr_expr(e, ctx)
            } else {
                false
            }
        }
        RuleItem::Date(d) => eval_date_expr(d, ctx.now, next),
        RuleItem::Rsc(el) => eval_rsc_expr(el, ctx),
        RuleItem::Op(el) => eval_op_expr(el, ctx),
        RuleItem::Other(_) => false,
    }
}

fn expand_captures(s: &str, caps: &[Option<String>]) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '%' {
            if let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                chars.next();
                if let Some(Some(v)) = caps.get(d as usize) {
                    out.push_str(v);
                }
                continue;
            }
        }
        out.push(c);
    }
    out
}

fn eval_attr_expr(e: &Expression, ctx: &RuleCtx) -> bool {
    let attr = match ctx.captures {
        Some(caps) if e.attribute.contains('%') => expand_captures(&e.attribute, caps),
        _ => e.attribute.clone(),
    };
    let mut value = e
        .value
        .as_deref()
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    if ctx.params.is_some() || ctx.meta.is_some() || ctx.captures.is_some() {
        match e
            .value_source
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("param") => {
                value = value.and_then(|v| ctx.params.and_then(|p| p.get(&v).cloned()))
            }
            Some("meta") => value = value.and_then(|v| ctx.meta.and_then(|m| m.get(&v).cloned())),
            _ => {}
        }
    }
    let h_val = ctx
        .node_attrs
        .and_then(|a| a.get(&attr))
        .map(String::as_str);
    accept(
        h_val,
        value.as_deref(),
        e.value_type.as_deref(),
        &e.operation,
    )
}

fn compare(l: Option<&str>, r: Option<&str>, ty: Option<&str>, op: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (l, r) {
        (Some(l), Some(r)) => {
            let ty = match ty {
                Some(t) => t.to_ascii_lowercase(),
                None => {
                    if ["lt", "lte", "gt", "gte"]
                        .iter()
                        .any(|o| o.eq_ignore_ascii_case(op))
                    {
                        if l.contains('.') || r.contains('.') {
                            "number".into()
                        } else {
                            "integer".into()
                        }
                    } else {
                        "string".into()
                    }
                }
            };
            match ty.as_str() {
                "integer" => match (scan_ll(l), scan_ll(r)) {
                    (Some(a), Some(b)) => a.cmp(&b),
                    _ => compare(Some(l), Some(r), Some("string"), op),
                },
                "number" => match (l.trim().parse::<f64>(), r.trim().parse::<f64>()) {
                    (Ok(a), Ok(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
                    _ => compare(Some(l), Some(r), Some("string"), op),
                },
                "version" => compare_version(l, r),
                _ => l.to_ascii_lowercase().cmp(&r.to_ascii_lowercase()),
            }
        }
        (None, None) => Ordering::Equal,
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
    }
}

/// strtoll that requires at least one digit (trailing text is tolerated).
fn scan_ll(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return None;
    }
    let v: i64 = digits.parse().unwrap_or(i64::MAX);
    Some(if neg { -v } else { v })
}

fn accept(l: Option<&str>, r: Option<&str>, ty: Option<&str>, op: &str) -> bool {
    let op_l = op.to_ascii_lowercase();
    match op_l.as_str() {
        "defined" => return l.is_some(),
        "not_defined" => return l.is_none(),
        _ => {}
    }
    let cmp = compare(l, r, ty, op);
    match op_l.as_str() {
        "eq" => cmp.is_eq(),
        "ne" => cmp.is_ne(),
        _ if l.is_none() || r.is_none() => false,
        "lt" => cmp.is_lt(),
        "lte" => cmp.is_le(),
        "gt" => cmp.is_gt(),
        "gte" => cmp.is_ge(),
        _ => false,
    }
}

fn eval_role_expr(e: &Expression, ctx: &RuleCtx) -> bool {
    if ctx.role == Role::Unknown {
        return false;
    }
    let v = e.value.as_deref().map(Role::parse).unwrap_or(Role::Unknown);
    match e.operation.to_ascii_lowercase().as_str() {
        "defined" => ctx.role > Role::Started,
        "not_defined" => ctx.role > Role::Unknown && ctx.role < Role::Unpromoted,
        "eq" => v == ctx.role,
        "ne" => {
            if ctx.role > Role::Unknown && ctx.role < Role::Unpromoted {
                false
            } else {
                v != ctx.role
            }
        }
        _ => false,
    }
}

fn eval_rsc_expr(el: &Element, ctx: &RuleCtx) -> bool {
    let Some((standard, provider, agent)) = ctx.rsc else {
        return false;
    };
    if let Some(c) = el.attr("class") {
        if c != standard {
            return false;
        }
    }
    if el.attr("provider") != provider {
        return false;
    }
    if let Some(t) = el.attr("type") {
        if t != agent {
            return false;
        }
    }
    true
}

fn eval_op_expr(el: &Element, ctx: &RuleCtx) -> bool {
    let Some((name, interval)) = ctx.op else {
        return false;
    };
    if let Some(i) = el.attr("interval") {
        if super::util::parse_interval_ms(Some(i)) != interval {
            return false;
        }
    }
    el.attr("name") == Some(name)
}

/// Adds a `<duration>` (years, months, weeks, days, hours, minutes, seconds)
/// to a time.
fn add_duration(start: i64, d: &Element) -> i64 {
    let get = |k: &str| {
        d.attr(k)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(0)
    };
    let mut t = start;
    let (years, months) = (get("years"), get("months"));
    if years != 0 || months != 0 {
        let days = t.div_euclid(86_400);
        let rem = t.rem_euclid(86_400);
        let (y, m, dd) = crate::core::time::civil_from_days(days);
        let total_m = (y * 12 + (m as i64 - 1)) + years * 12 + months;
        let ny = total_m.div_euclid(12);
        let nm = (total_m.rem_euclid(12) + 1) as u32;
        let max_d = days_in_month(ny, nm);
        t = crate::core::time::days_from_civil(ny, nm, dd.min(max_d)) * 86_400 + rem;
    }
    t + get("weeks") * 7 * 86_400
        + get("days") * 86_400
        + get("hours") * 3600
        + get("minutes") * 60
        + get("seconds")
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

fn eval_date_expr(d: &DateExpression, now: i64, next: &mut NextChange) -> bool {
    let start = d.start.as_deref().and_then(parse_iso_secs);
    let mut end = d.end.as_deref().and_then(parse_iso_secs);
    if let (Some(s), None, Some(dur)) = (start, end, d.duration.as_ref()) {
        end = Some(add_duration(s, dur));
    }
    match d.operation.to_ascii_lowercase().as_str() {
        "in_range" => match (start, end) {
            (None, None) => false,
            (Some(s), _) if now < s => {
                next.note(s);
                false
            }
            (_, Some(e)) if now > e => false,
            (_, e) => {
                if let Some(e) = e {
                    next.note(e + 1);
                }
                true
            }
        },
        "gt" => match start {
            None => false,
            Some(s) if now > s => true,
            Some(s) => {
                next.note(s + 1);
                false
            }
        },
        "lt" => match end {
            None => false,
            Some(e) if now < e => {
                next.note(e);
                true
            }
            Some(_) => false,
        },
        "date_spec" => d
            .date_spec
            .as_ref()
            .is_some_and(|spec| date_spec_matches(spec, now)),
        _ => false,
    }
}

/// `date_spec`: every given field (a value or an `a-b` range) must match.
fn date_spec_matches(spec: &Element, now: i64) -> bool {
    let days = now.div_euclid(86_400);
    let rem = now.rem_euclid(86_400);
    let (y, m, d) = crate::core::time::civil_from_days(days);
    let yday = days - crate::core::time::days_from_civil(y, 1, 1) + 1;
    // ISO weekday: Monday = 1 .. Sunday = 7; 1970-01-01 was a Thursday.
    let wday = (days + 3).rem_euclid(7) + 1;
    let fields: [(&str, i64); 8] = [
        ("years", y),
        ("months", m as i64),
        ("monthdays", d as i64),
        ("hours", rem / 3600),
        ("minutes", (rem / 60) % 60),
        ("seconds", rem % 60),
        ("yeardays", yday),
        ("weekdays", wday),
    ];
    for (name, value) in fields {
        if let Some(range) = spec.attr(name) {
            let ok = match range.split_once('-') {
                Some((a, b)) => {
                    let a: i64 = a.trim().parse().unwrap_or(i64::MIN);
                    let b: i64 = b.trim().parse().unwrap_or(i64::MAX);
                    value >= a && value <= b
                }
                None => range.trim().parse::<i64>().is_ok_and(|v| v == value),
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

/// Applies name/value sets (already resolved from `id-ref`s) to `hash`.
pub fn unpack_sets<'s>(
    sets: impl IntoIterator<Item = &'s NvSet>,
    ctx: &RuleCtx,
    hash: &mut Attrs,
    always_first: Option<&str>,
    overwrite: bool,
    next: &mut NextChange,
) {
    // Reverse document order, then a stable sort by descending score, with
    // `always_first` ahead of everything: Pacemaker's order.
    let mut list: Vec<&NvSet> = sets.into_iter().collect();
    list.reverse();
    list.sort_by(|a, b| {
        let special = |s: &NvSet| always_first.is_some_and(|f| s.id.eq_ignore_ascii_case(f));
        match (special(a), special(b)) {
            (true, _) => return std::cmp::Ordering::Less,
            (false, true) => return std::cmp::Ordering::Greater,
            _ => {}
        }
        let sa = a
            .score
            .as_deref()
            .map(Score::parse_lenient)
            .unwrap_or_default();
        let sb = b
            .score
            .as_deref()
            .map(Score::parse_lenient)
            .unwrap_or_default();
        sb.cmp(&sa)
    });
    for set in list {
        if !eval_rules(set.rule.iter(), ctx, next) {
            continue;
        }
        for p in &set.pairs {
            let (Some(value), false) = (p.value.as_deref(), p.name.is_empty()) else {
                continue;
            };
            if value.eq_ignore_ascii_case("#default") {
                hash.remove(&p.name);
            } else if !hash.contains_key(&p.name) || overwrite {
                hash.insert(p.name.clone(), value.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::cib::model::{NvPair, SetKind};
    use crate::core::cib::xml::Pos;

    fn expr(attr: &str, op: &str, value: Option<&str>, ty: Option<&str>) -> RuleItem {
        RuleItem::Expr(Expression {
            id: "e".into(),
            attribute: attr.into(),
            operation: op.into(),
            value: value.map(Into::into),
            value_type: ty.map(Into::into),
            value_source: None,
            extra_attrs: vec![],
            pos: Pos::NONE,
        })
    }

    fn rule(items: Vec<RuleItem>, or: bool) -> Rule {
        Rule {
            id: "r".into(),
            id_ref: None,
            score: None,
            score_attribute: None,
            boolean_op: or.then(|| "or".to_string()),
            role: None,
            items,
            extra_attrs: vec![],
            pos: Pos::NONE,
        }
    }

    #[test]
    fn attribute_expressions_compare_by_type() {
        let mut attrs = Attrs::new();
        attrs.insert("#uname".into(), "node1".into());
        attrs.insert("ram".into(), "1024".into());
        let ctx = RuleCtx {
            node_attrs: Some(&attrs),
            ..Default::default()
        };
        let mut n = NextChange::default();
        assert!(eval_rule(
            &rule(vec![expr("#uname", "eq", Some("NODE1"), None)], false),
            &ctx,
            &mut n
        ));
        assert!(eval_rule(
            &rule(vec![expr("ram", "gt", Some("512"), None)], false),
            &ctx,
            &mut n
        ));
        // "1024" < "512" as strings.
        assert!(eval_rule(
            &rule(vec![expr("ram", "lt", Some("512"), Some("string"))], false),
            &ctx,
            &mut n
        ));
        assert!(eval_rule(
            &rule(vec![expr("missing", "not_defined", None, None)], false),
            &ctx,
            &mut n
        ));
        assert!(!eval_rule(
            &rule(vec![expr("missing", "lt", Some("5"), None)], false),
            &ctx,
            &mut n
        ));
        assert!(eval_rule(
            &rule(
                vec![
                    expr("ram", "eq", Some("1"), None),
                    expr("#uname", "eq", Some("node1"), None)
                ],
                true
            ),
            &ctx,
            &mut n
        ));
    }

    #[test]
    fn sets_apply_in_pacemaker_order() {
        let set = |id: &str, score: Option<&str>, v: &str| NvSet {
            pairs: vec![NvPair::new(format!("{id}-p"), "k", v)],
            score: score.map(Into::into),
            ..NvSet::new(SetKind::Meta, id)
        };
        let sets = [
            set("a", None, "1"),
            set("b", None, "2"),
            set("c", Some("10"), "3"),
        ];
        let mut h = Attrs::new();
        unpack_sets(
            sets.iter(),
            &RuleCtx::default(),
            &mut h,
            None,
            false,
            &mut NextChange::default(),
        );
        assert_eq!(h["k"], "3");
        let mut h = Attrs::new();
        unpack_sets(
            sets[..2].iter(),
            &RuleCtx::default(),
            &mut h,
            None,
            false,
            &mut NextChange::default(),
        );
        // Equal scores: the later set in the document wins.
        assert_eq!(h["k"], "2");
    }

    #[test]
    fn date_ranges_note_when_they_change() {
        let d = DateExpression {
            id: "d".into(),
            operation: "in_range".into(),
            start: Some("2025-06-01 00:00:00Z".into()),
            end: Some("2025-06-02 00:00:00Z".into()),
            date_spec: None,
            duration: None,
            extra_attrs: vec![],
            extra: vec![],
            pos: Pos::NONE,
        };
        let start = parse_iso_secs("2025-06-01 00:00:00Z").unwrap();
        let mut n = NextChange::default();
        assert!(!eval_date_expr(&d, start - 10, &mut n));
        assert_eq!(n.0, Some(start));
        let mut n = NextChange::default();
        assert!(eval_date_expr(&d, start + 10, &mut n));
        assert_eq!(n.0, Some(start + 86_400 + 1));
    }
}
