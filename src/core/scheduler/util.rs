//! Small value parsers the scheduler shares: booleans, roles, intervals, as
//! Pacemaker reads them.
//!
//! Invariant: pure functions of their arguments.

use std::fmt;

/// A resource role, ordered as Pacemaker orders them (Unknown < Stopped <
/// Started < Unpromoted < Promoted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Role {
    #[default]
    Unknown,
    Stopped,
    Started,
    Unpromoted,
    Promoted,
}

impl Role {
    /// `text2role`: case-insensitive, with the legacy names.
    pub fn parse(s: &str) -> Role {
        match s.to_ascii_lowercase().as_str() {
            "stopped" => Role::Stopped,
            "started" => Role::Started,
            "slave" | "unpromoted" => Role::Unpromoted,
            "master" | "promoted" => Role::Promoted,
            _ => Role::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Unknown => "Unknown",
            Role::Stopped => "Stopped",
            Role::Started => "Started",
            Role::Unpromoted => "Unpromoted",
            Role::Promoted => "Promoted",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `crm_is_true`.
pub fn is_true(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "on" | "yes" | "y" | "1"
    )
}

/// `crm_str_to_boolean`: Some(bool) for a recognised spelling.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "y" | "1" => Some(true),
        "false" | "off" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// `crm_get_msec` (see `cib::duration`): None when unreadable.
pub fn parse_msec(text: &str) -> Option<i64> {
    crate::core::cib::duration::parse_msec(text)
        .ok()
        .map(|v| v as i64)
}

/// `crm_parse_interval_spec` (see `cib::duration`): unreadable gives 0.
pub fn parse_interval_ms(text: Option<&str>) -> u64 {
    text.and_then(|t| crate::core::cib::duration::parse_interval_ms(t.trim()).ok())
        .unwrap_or(0)
}

/// Pacemaker's operation key: `RSC_TASK_INTERVALMS`.
pub fn op_key(rsc: &str, task: &str, interval_ms: u64) -> String {
    format!("{rsc}_{task}_{interval_ms}")
}

/// Splits an operation key into (resource, task, interval), as
/// `parse_op_key` does: the interval is after the last `_`, the task after
/// the one before (tasks such as `migrate_to` contain `_`).
pub fn parse_op_key(key: &str) -> Option<(String, String, u64)> {
    let (head, interval) = key.rsplit_once('_')?;
    let interval: u64 = interval.parse().ok()?;
    for special in [
        "migrate_to",
        "migrate_from",
        "clear_failcount",
        "last_failure",
    ] {
        if let Some(rsc) = head.strip_suffix(special) {
            if let Some(rsc) = rsc.strip_suffix('_') {
                return Some((rsc.to_string(), special.to_string(), interval));
            }
        }
    }
    let (rsc, task) = head.rsplit_once('_')?;
    Some((rsc.to_string(), task.to_string(), interval))
}

/// The expected result encoded in a transition key
/// (`action:transition:target_rc:uuid`), -1 when absent or unreadable.
pub fn target_rc_from_key(key: Option<&str>) -> i32 {
    let Some(key) = key else { return -1 };
    let mut parts = key.split(':');
    let _ = parts.next();
    let _ = parts.next();
    parts.next().and_then(|p| p.parse().ok()).unwrap_or(-1)
}

/// The transition number and uuid of a transition magic
/// (`status:rc;action:transition:target_rc:uuid`).
pub fn decode_magic(magic: &str) -> Option<(String, i64)> {
    let (_, key) = magic.split_once(';')?;
    let mut parts = key.split(':');
    let _action = parts.next()?;
    let transition: i64 = parts.next()?.parse().ok()?;
    let _rc = parts.next()?;
    let uuid = parts.next()?.to_string();
    Some((uuid, transition))
}

/// Natural, case-insensitive comparison of node names
/// (`pcmk__numeric_strcasecmp`): digit runs compare as numbers.
pub fn numeric_strcasecmp(a: &str, b: &str) -> std::cmp::Ordering {
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
            let na: u128 = std::str::from_utf8(&a[si..i])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let nb: u128 = std::str::from_utf8(&b[sj..j])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            match na.cmp(&nb) {
                Ordering::Equal => continue,
                o => return o,
            }
        }
        let (ca, cb) = (a[i].to_ascii_lowercase(), b[j].to_ascii_lowercase());
        match ca.cmp(&cb) {
            Ordering::Equal => {
                i += 1;
                j += 1;
            }
            o => return o,
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

/// `compare_version`: dotted versions compared numerically, field by field.
pub fn compare_version(a: &str, b: &str) -> std::cmp::Ordering {
    let pa: Vec<i64> = a.split('.').map(|x| x.parse().unwrap_or(0)).collect();
    let pb: Vec<i64> = b.split('.').map(|x| x.parse().unwrap_or(0)).collect();
    for k in 0..pa.len().max(pb.len()) {
        let x = pa.get(k).copied().unwrap_or(0);
        let y = pb.get(k).copied().unwrap_or(0);
        match x.cmp(&y) {
            std::cmp::Ordering::Equal => continue,
            o => return o,
        }
    }
    std::cmp::Ordering::Equal
}

/// ISO 8601 date/time to seconds since the epoch (see `core::time`).
pub fn parse_iso_secs(s: &str) -> Option<i64> {
    crate::core::time::parse_iso8601(s)
}

/// `clone_strip`: `rsc:3` -> `rsc`.
pub fn clone_strip(id: &str) -> &str {
    match id.rfind(':') {
        Some(i) if i + 1 < id.len() && id[i + 1..].chars().all(|c| c.is_ascii_digit()) => &id[..i],
        _ => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_like_pacemaker() {
        assert_eq!(parse_interval_ms(Some("10s")), 10_000);
        assert_eq!(parse_interval_ms(Some("10")), 10_000);
        assert_eq!(parse_interval_ms(Some("500ms")), 500);
        assert_eq!(parse_interval_ms(Some("2min")), 120_000);
        assert_eq!(parse_interval_ms(Some("1h")), 3_600_000);
        assert_eq!(parse_interval_ms(Some("PT1M30S")), 90_000);
        assert_eq!(parse_interval_ms(Some("P30S")), 30_000);
        assert_eq!(parse_interval_ms(Some("P40S")), 40_000);
        assert_eq!(parse_interval_ms(Some("bogus")), 0);
        assert_eq!(parse_interval_ms(None), 0);
    }

    #[test]
    fn op_keys_round_trip() {
        assert_eq!(
            parse_op_key("rsc1_monitor_10000"),
            Some(("rsc1".into(), "monitor".into(), 10_000))
        );
        assert_eq!(
            parse_op_key("my_rsc_migrate_to_0"),
            Some(("my_rsc".into(), "migrate_to".into(), 0))
        );
        assert_eq!(target_rc_from_key(Some("3:1:7:abc")), 7);
        assert_eq!(decode_magic("0:7;3:1:7:abc"), Some(("abc".to_string(), 1)));
    }

    #[test]
    fn node_names_sort_naturally() {
        use std::cmp::Ordering::*;
        assert_eq!(numeric_strcasecmp("node2", "node10"), Less);
        assert_eq!(numeric_strcasecmp("Node1", "node1"), Equal);
        assert_eq!(numeric_strcasecmp("a", "b"), Less);
    }
}
