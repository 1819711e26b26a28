//! OCF agents: `$OCF_ROOT/resource.d/PROVIDER/TYPE ACTION`, parameters in the
//! environment exactly as Pacemaker's executor passes them, exit codes mapped
//! as Pacemaker maps them.
//!
//! Invariant: parameters travel only in the agent's environment, never on a
//! command line, and never into a log line.

use std::path::{Path, PathBuf};

use crate::core::action::{rc, ActionRequest};

/// OCF API version warden implements (exported as `OCF_RA_VERSION_*`).
pub const OCF_RA_VERSION_MAJOR: &str = "1";
pub const OCF_RA_VERSION_MINOR: &str = "1";

/// The one parameter that is exported without the `OCF_RESKEY_` prefix.
const CHECK_LEVEL: &str = "OCF_CHECK_LEVEL";

/// Inherited variables with these prefixes are dropped before the agent's
/// own are set, so nothing from the daemon's environment (or another
/// resource) looks like a parameter.
pub const FOREIGN_ENV_PREFIXES: &[&str] = &["OCF_"];

/// Where the agent lives: `OCF_ROOT/resource.d/PROVIDER/TYPE`.
pub fn agent_path(ocf_root: &Path, provider: &str, kind: &str) -> PathBuf {
    ocf_root.join("resource.d").join(provider).join(kind)
}

/// A name that is safe as one path component (no traversal out of the
/// agent directory).
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

/// Checks that every parameter can be passed in the environment. Returns a
/// message naming the first offending parameter.
pub fn check_env_safe(req: &ActionRequest) -> Result<(), String> {
    for (kind, map) in [("parameter", &req.params), ("meta attribute", &req.meta)] {
        for (name, value) in map {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                return Err(format!(
                    "{kind} name '{}' cannot be passed to an agent: names must be non-empty and contain no '=' or NUL",
                    name.escape_debug()
                ));
            }
            if value.contains('\0') {
                return Err(format!(
                    "{kind} '{name}' has a value with a NUL byte, which cannot be passed to an agent"
                ));
            }
        }
    }
    Ok(())
}

/// `OCF_RESKEY_CRM_meta_<name>` with `-` turned into `_`, as Pacemaker names
/// meta attributes for agents.
pub fn meta_env_name(name: &str) -> String {
    let name = name.strip_prefix("CRM_meta_").unwrap_or(name);
    format!("OCF_RESKEY_CRM_meta_{}", name.replace('-', "_"))
}

/// The environment an OCF agent gets for `req` (on top of the daemon's own,
/// minus `FOREIGN_ENV_PREFIXES`), in a stable order.
pub fn environment(
    req: &ActionRequest,
    ocf_root: &Path,
    ha_rsctmp: Option<&Path>,
    trace: bool,
) -> Vec<(String, String)> {
    let mut env = Vec::with_capacity(req.params.len() + req.meta.len() + 14);
    for (name, value) in &req.params {
        if name == CHECK_LEVEL {
            env.push((CHECK_LEVEL.to_string(), value.clone()));
        } else {
            env.push((format!("OCF_RESKEY_{name}"), value.clone()));
        }
    }
    for (name, value) in &req.meta {
        env.push((meta_env_name(name), value.clone()));
    }
    // The request's own fields win over anything in `meta`.
    env.push((meta_env_name("timeout"), req.timeout_ms.to_string()));
    env.push((meta_env_name("interval"), req.interval_ms.to_string()));
    env.push((meta_env_name("name"), req.action.clone()));
    if !req.node.is_empty() {
        env.push((meta_env_name("on_node"), req.node.clone()));
    }
    env.push(("OCF_RA_VERSION_MAJOR".into(), OCF_RA_VERSION_MAJOR.into()));
    env.push(("OCF_RA_VERSION_MINOR".into(), OCF_RA_VERSION_MINOR.into()));
    env.push(("OCF_ROOT".into(), ocf_root.display().to_string()));
    env.push((
        "OCF_EXIT_REASON_PREFIX".into(),
        super::process::EXIT_REASON_PREFIX.into(),
    ));
    env.push(("OCF_RESOURCE_INSTANCE".into(), req.rsc_id.clone()));
    env.push(("OCF_RESOURCE_TYPE".into(), req.agent.kind.clone()));
    if let Some(provider) = &req.agent.provider {
        env.push(("OCF_RESOURCE_PROVIDER".into(), provider.clone()));
    }
    if let Some(dir) = ha_rsctmp {
        env.push(("HA_RSCTMP".into(), dir.display().to_string()));
    }
    if trace {
        env.push(("OCF_TRACE_RA".into(), "1".into()));
    }
    // Later entries replace earlier ones with the same name in the child;
    // keep only the last so the list says exactly what the agent sees.
    let mut seen = std::collections::BTreeSet::new();
    let mut unique: Vec<(String, String)> = env
        .into_iter()
        .rev()
        .filter(|(k, _)| seen.insert(k.clone()))
        .collect();
    unique.reverse();
    unique
}

/// Pacemaker's mapping of an OCF agent's exit status: 0–9 and the degraded
/// codes stand; anything else is a generic error.
pub fn map_exit(code: i32) -> i32 {
    match code {
        rc::DEGRADED | rc::DEGRADED_PROMOTED => code,
        0..=9 => code,
        _ => rc::ERR_GENERIC,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::action::AgentRef;
    use std::collections::BTreeMap;

    fn req() -> ActionRequest {
        ActionRequest {
            rsc_id: "vip".into(),
            agent: AgentRef::parse("ocf:heartbeat:IPaddr2").unwrap(),
            action: "monitor".into(),
            interval_ms: 10_000,
            timeout_ms: 20_000,
            params: BTreeMap::from([
                ("ip".to_string(), "10.0.0.1".to_string()),
                ("OCF_CHECK_LEVEL".to_string(), "10".to_string()),
            ]),
            meta: BTreeMap::from([
                ("target-role".to_string(), "Started".to_string()),
                ("timeout".to_string(), "1".to_string()),
                ("clone-max".to_string(), "2".to_string()),
            ]),
            node: "n1".into(),
        }
    }

    fn get<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
        env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    #[test]
    fn environment_matches_pacemaker_names() {
        let env = environment(
            &req(),
            Path::new("/opt/ocf"),
            Some(Path::new("/t/rsctmp")),
            false,
        );
        assert_eq!(get(&env, "OCF_RESKEY_ip"), Some("10.0.0.1"));
        assert_eq!(get(&env, "OCF_CHECK_LEVEL"), Some("10"));
        assert_eq!(get(&env, "OCF_RESKEY_OCF_CHECK_LEVEL"), None);
        assert_eq!(
            get(&env, "OCF_RESKEY_CRM_meta_target_role"),
            Some("Started")
        );
        assert_eq!(get(&env, "OCF_RESKEY_CRM_meta_clone_max"), Some("2"));
        // The request's timeout wins over a stray meta value.
        assert_eq!(get(&env, "OCF_RESKEY_CRM_meta_timeout"), Some("20000"));
        assert_eq!(get(&env, "OCF_RESKEY_CRM_meta_interval"), Some("10000"));
        assert_eq!(get(&env, "OCF_RESKEY_CRM_meta_name"), Some("monitor"));
        assert_eq!(get(&env, "OCF_RESKEY_CRM_meta_on_node"), Some("n1"));
        assert_eq!(get(&env, "OCF_ROOT"), Some("/opt/ocf"));
        assert_eq!(get(&env, "OCF_RA_VERSION_MAJOR"), Some("1"));
        assert_eq!(get(&env, "OCF_RA_VERSION_MINOR"), Some("1"));
        assert_eq!(
            get(&env, "OCF_EXIT_REASON_PREFIX"),
            Some("ocf-exit-reason:")
        );
        assert_eq!(get(&env, "OCF_RESOURCE_INSTANCE"), Some("vip"));
        assert_eq!(get(&env, "OCF_RESOURCE_TYPE"), Some("IPaddr2"));
        assert_eq!(get(&env, "OCF_RESOURCE_PROVIDER"), Some("heartbeat"));
        assert_eq!(get(&env, "HA_RSCTMP"), Some("/t/rsctmp"));
        assert_eq!(get(&env, "OCF_TRACE_RA"), None);
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        let mut dedup = names.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(names.len(), dedup.len(), "each variable once: {names:?}");
    }

    #[test]
    fn exit_codes_map_like_pacemaker() {
        for code in 0..=9 {
            assert_eq!(map_exit(code), code);
        }
        assert_eq!(map_exit(190), 190);
        assert_eq!(map_exit(191), 191);
        assert_eq!(map_exit(10), 1);
        assert_eq!(map_exit(193), 1);
        assert_eq!(map_exit(-1), 1);
        assert_eq!(map_exit(255), 1);
    }

    #[test]
    fn unsafe_names_are_refused() {
        let mut r = req();
        r.params.insert("a=b".into(), "x".into());
        assert!(check_env_safe(&r).unwrap_err().contains("'a=b'"));
        let mut r = req();
        r.params.insert("ok".into(), "x\0y".into());
        assert!(check_env_safe(&r).unwrap_err().contains("'ok'"));
        assert!(check_env_safe(&req()).is_ok());
        assert!(!is_plain_name(".."));
        assert!(!is_plain_name("a/b"));
        assert!(is_plain_name("IPaddr2"));
    }
}
