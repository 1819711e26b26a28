//! Operation parameter digests, computed exactly as Pacemaker computes them,
//! so that a resource whose parameters changed since an operation ran is
//! restarted (or reloaded, or its monitor rescheduled), and a history
//! written by Pacemaker compares equal when nothing changed.
//!
//! A digest is the MD5 of one `<parameters .../>` element holding the
//! operation's parameters as attributes, sorted by name, written without
//! line breaks, with a space before it and a newline after it, values
//! escaped as Pacemaker's own XML writer escapes them (including its
//! quirks: escaping stops at the first multi-byte UTF-8 sequence, and a
//! lone byte above 0x7f is written as a sign-extended octal escape).
//!
//! Three digests exist per recorded operation:
//! - `op-digest`: every parameter (instance attributes for the node, the
//!   operation's own instance attributes, and for recurring operations the
//!   timeout as `CRM_meta_timeout`);
//! - `op-secure-digest`: the same without the parameters listed in
//!   `op-secure-params` (compared only when simulating, where private values
//!   are masked);
//! - `op-restart-digest`: only the parameters listed in `op-force-restart`
//!   (the ones the agent cannot reload), present when the agent supports
//!   reload.
//!
//! Invariant: pure; the same parameters always give the same digest.

use super::model::*;
use super::unpack::resource_params_on;
use super::util::compare_version;
use crate::core::cib::model::{LrmRscOp, SetKind};
use md5::{Digest, Md5};
use std::collections::BTreeMap;

/// Feature set of the Pacemaker release whose digests these are.
pub use crate::core::cib::FEATURE_SET;

/// How a recorded operation's parameters compare with the configuration
/// (`enum rsc_digest_cmp_val`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestCmp {
    Unknown,
    Match,
    /// Parameters the agent cannot reload changed: restart.
    Restart,
    /// Some parameter changed.
    All,
}

/// The digests of an operation as the configuration defines it now.
#[derive(Debug, Clone)]
pub struct Digests {
    pub rc: DigestCmp,
    pub all: String,
    pub secure: Option<String>,
    pub restart: Option<String>,
}

/// `crm_xml_escape`, quirks included.
pub fn escape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied().unwrap_or(0);
        if b & 0x80 != 0 && next & 0x80 != 0 {
            // Pacemaker stops escaping at the first multi-byte sequence.
            out.extend_from_slice(&bytes[i..]);
            break;
        }
        match b {
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            b'\'' => out.extend_from_slice(b"&apos;"),
            b'&' => out.extend_from_slice(b"&amp;"),
            b'\t' => out.extend_from_slice(b"    "),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b if !(b' '..=b'~').contains(&b) => {
                // A signed char, promoted to int, printed as "%.3o".
                let v = (b as i8) as i32 as u32;
                out.extend_from_slice(format!("\\{v:03o}").as_bytes());
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The digest of a parameter set (`calculate_operation_digest`).
pub fn digest_of(params: &BTreeMap<String, String>) -> String {
    let mut text = String::from(" <parameters");
    // A BTreeMap iterates in byte order, as Pacemaker sorts (strcmp).
    for (k, v) in params {
        text.push(' ');
        text.push_str(k);
        text.push_str("=\"");
        text.push_str(&escape(v));
        text.push('"');
    }
    text.push_str("/>\n");
    let sum = Md5::digest(text.as_bytes());
    sum.iter().map(|b| format!("{b:02x}")).collect()
}

/// `should_filter_for_digest`.
fn filtered_out(name: &str) -> bool {
    name.starts_with("CRM_meta_")
        || matches!(
            name,
            "id" | "crm_feature_set"
                | "op-digest"
                | "on_node"
                | "on_node_uuid"
                | "pcmk_external_ip"
        )
}

/// `pcmk__filter_op_for_digest`: drops meta attributes and bookkeeping,
/// keeping the timeout of recurring operations.
pub fn filter_for_digest(params: &mut BTreeMap<String, String>) {
    let interval: u64 = params
        .get("CRM_meta_interval")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let timeout = if interval != 0 {
        params.get("CRM_meta_timeout").cloned()
    } else {
        None
    };
    params.retain(|k, _| !filtered_out(k));
    if let Some(t) = timeout {
        params.insert("CRM_meta_timeout".into(), t);
    }
}

/// The parameters an executed operation's digest covers, from what the
/// executor was given: instance parameters (the resource's and the
/// operation's) and, for a recurring operation, its timeout. The
/// controller records `digest_of` this as `op-digest`.
pub fn request_digest_params(
    params: &BTreeMap<String, String>,
    interval_ms: u64,
    timeout_ms: u64,
) -> BTreeMap<String, String> {
    let mut p: BTreeMap<String, String> = params
        .iter()
        .filter(|(k, _)| !filtered_out(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if interval_ms != 0 {
        p.insert("CRM_meta_timeout".into(), timeout_ms.to_string());
    }
    p
}

/// The `op-digest` to record for an executed action.
pub fn request_digest(request: &crate::core::action::ActionRequest) -> String {
    digest_of(&request_digest_params(
        &request.params,
        request.interval_ms,
        request.timeout_ms,
    ))
}

/// Pacemaker's fencing parameters (`pcmk_stonith_param`).
pub fn is_fence_param(name: &str) -> bool {
    if matches!(name, "provides" | "stonith-timeout") {
        return true;
    }
    let Some(rest) = name.strip_prefix("pcmk_") else {
        return false;
    };
    if matches!(
        name,
        "pcmk_action_limit"
            | "pcmk_delay_base"
            | "pcmk_delay_max"
            | "pcmk_host_argument"
            | "pcmk_host_check"
            | "pcmk_host_list"
            | "pcmk_host_map"
    ) {
        return true;
    }
    match rest.find('_') {
        Some(i) => matches!(&rest[i..], "_action" | "_timeout" | "_retries"),
        None => false,
    }
}

/// Keeps (`keep = true`) or drops the attributes whose " name " occurs in
/// `list` (Pacemaker's space-separated lists, matched by substring).
fn select_by_list(params: &mut BTreeMap<String, String>, list: &str, keep: bool) {
    params.retain(|k, _| list.contains(&format!(" {k} ")) == keep);
}

/// The operation's own instance attributes (`action->extra`), evaluated for
/// the node.
pub fn op_instance_params(ws: &Ws, r: RscIdx, key: &str, n: Option<NodeIdx>) -> Attrs {
    let mut extra = Attrs::new();
    let Some(n) = n else { return extra };
    let Some(op) = ws.find_op_entry(r, key, true) else {
        return extra;
    };
    let ctx = super::rules::RuleCtx {
        now: ws.now,
        node_attrs: Some(&ws.node(n).attrs),
        ..Default::default()
    };
    let mut next = super::rules::NextChange::default();
    super::rules::unpack_sets(
        op.sets.iter().filter(|s| s.kind == SetKind::Instance),
        &ctx,
        &mut extra,
        None,
        false,
        &mut next,
    );
    extra
}

/// `pe__calculate_digests` for `rsc`'s `task` at `interval_ms` on `n`,
/// against the recorded operation `op` if there is one.
pub fn calculate(
    ws: &Ws,
    r: RscIdx,
    task: &str,
    interval_ms: u64,
    n: NodeIdx,
    op: Option<&LrmRscOp>,
    calc_secure: bool,
) -> Digests {
    let op_version = op
        .and_then(|o| o.crm_feature_set.clone())
        .or_else(|| ws.cib.crm_feature_set.clone())
        .unwrap_or_else(|| FEATURE_SET.to_string());
    let params = resource_params_on(ws, r, Some(n));
    let key = super::util::op_key(&ws.rsc(r).id, task, interval_ms);
    let extra = op_instance_params(ws, r, &key, Some(n));
    let op_entry = ws.find_op_entry(r, &key, true);
    let is_probe = task == "monitor" && interval_ms == 0;
    let meta = ws.op_meta_for(r, op_entry, task, interval_ms, is_probe);

    // hash2field keeps the first value of a name: parameters, then the
    // operation's, then meta attributes as CRM_meta_*.
    let mut all: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in params.iter().chain(extra.iter()) {
        all.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in &meta {
        if k.contains('#') || k.contains(':') {
            continue;
        }
        all.entry(format!("CRM_meta_{}", k.replace('-', "_")))
            .or_insert_with(|| v.clone());
    }
    filter_for_digest(&mut all);
    let mut rc = DigestCmp::Match;
    if interval_ms == 0 && !extra.is_empty() {
        rc = DigestCmp::Restart;
    }
    let all_digest = digest_of(&all);

    let secure = calc_secure.then(|| {
        let old_version = compare_version(&op_version, "3.16.0") == std::cmp::Ordering::Less;
        let secure_list = match op {
            None => Some(" passwd password user ".to_string()),
            Some(o) => o.op_secure_params.clone(),
        };
        let mut s: BTreeMap<String, String> = if old_version {
            params.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        } else {
            all.clone()
        };
        if let Some(list) = &secure_list {
            select_by_list(&mut s, list, false);
        }
        if old_version && ws.rsc(r).class.as_deref() == Some("stonith") {
            s.retain(|k, _| !is_fence_param(k));
        }
        filter_for_digest(&mut s);
        if old_version {
            s.remove("CRM_meta_timeout");
        }
        digest_of(&s)
    });

    let restart = op.and_then(|o| {
        o.op_restart_digest.as_ref()?;
        let mut p = all.clone();
        if let Some(list) = &o.op_force_restart {
            select_by_list(&mut p, list, true);
        }
        Some(digest_of(&p))
    });

    Digests {
        rc,
        all: all_digest,
        secure,
        restart,
    }
}

/// `rsc_action_digest_cmp`: how `op`'s recorded digests compare with the
/// configuration. `restart_digest_override` stands for a recorded restart
/// digest Pacemaker replaced in memory (a recurring operation whose failure
/// expired is rescheduled that way).
pub fn compare(
    ws: &Ws,
    r: RscIdx,
    op: &LrmRscOp,
    n: NodeIdx,
    restart_digest_override: Option<&str>,
) -> Digests {
    let interval = op.interval_ms.unwrap_or(0);
    let forced;
    let op_view: &LrmRscOp = match restart_digest_override {
        Some(d) => {
            let mut o = op.clone();
            o.op_restart_digest = Some(d.to_string());
            forced = o;
            &forced
        }
        None => op,
    };
    let mut data = calculate(
        ws,
        r,
        &op.operation,
        interval,
        n,
        Some(op_view),
        ws.config.sanitized,
    );
    let recorded_restart = op_view.op_restart_digest.as_deref();
    if let (Some(rec), Some(calc)) = (recorded_restart, data.restart.as_deref()) {
        if rec != calc {
            data.rc = DigestCmp::Restart;
            return data;
        }
    }
    match op.op_digest.as_deref() {
        None => data.rc = DigestCmp::Unknown,
        Some(d) if d != data.all => {
            if !(interval == 0 && data.rc == DigestCmp::Restart) {
                data.rc = DigestCmp::All;
            }
        }
        Some(_) => data.rc = DigestCmp::Match,
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn escaping_follows_pacemaker() {
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(escape("x\ty\nz\r"), "x    y\\nz\\r");
        assert_eq!(escape("\u{1}"), "\\001");
        // Escaping stops at a multi-byte sequence.
        assert_eq!(escape("é<"), "é<");
    }

    #[test]
    fn filtering_keeps_the_timeout_of_recurring_operations() {
        let mut a = p(&[
            ("ip", "10.0.0.1"),
            ("CRM_meta_interval", "10000"),
            ("CRM_meta_timeout", "20000"),
            ("CRM_meta_name", "monitor"),
            ("crm_feature_set", "3.16.1"),
        ]);
        filter_for_digest(&mut a);
        assert_eq!(a, p(&[("CRM_meta_timeout", "20000"), ("ip", "10.0.0.1")]));
        let mut b = p(&[("ip", "10.0.0.1"), ("CRM_meta_timeout", "20000")]);
        filter_for_digest(&mut b);
        assert_eq!(b, p(&[("ip", "10.0.0.1")]));
    }

    #[test]
    fn fence_parameters_are_recognised() {
        for name in [
            "pcmk_host_list",
            "pcmk_reboot_action",
            "pcmk_off_timeout",
            "pcmk_monitor_retries",
            "provides",
        ] {
            assert!(is_fence_param(name), "{name}");
        }
        for name in ["ip", "pcmk_foo", "pcmk_reboot_delay", "password"] {
            assert!(!is_fence_param(name), "{name}");
        }
    }
}
