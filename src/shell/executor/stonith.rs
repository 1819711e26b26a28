//! Fence devices as resources (`class="stonith"`), as Pacemaker's executor
//! runs them: a **start** registers the device and monitors it, a **stop**
//! unregisters it, a **probe** answers from that registration (never
//! running after the executor starts, as after a reboot), and a
//! **monitor** runs the agent's `monitor` action with the device's
//! parameters. warden's fencer reads its devices from the CIB itself, so
//! "registered" is only this memory: it says where the cluster started
//! the device, which is what probes report.
//!
//! Invariant: the device's parameters reach the agent only on its stdin
//! ([`AgentRunner`]), never a command line, a log line or the result's
//! reason; no fencing action (`off`, `reboot`, `on`) ever runs here.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;

use super::ExecutorConfig;
use crate::core::action::{rc, ActionRequest, ExecStatus};
use crate::core::fencer::{device_agent_args, FenceDevice};
use crate::shell::fence_agents::AgentRunner;

/// The fence devices started on this node (by resource id).
#[derive(Debug, Default)]
pub struct Registered(Mutex<BTreeSet<String>>);

impl Registered {
    fn set(&self, rsc: &str, on: bool) {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if on {
            s.insert(rsc.to_string());
        } else {
            s.remove(rsc);
        }
    }

    fn has(&self, rsc: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(rsc)
    }
}

/// The result of one stonith-class action: rc, status, reason.
pub type Outcome = (i32, ExecStatus, Option<String>);

/// Carries out `req` on the fence device it names.
pub async fn run(
    cfg: &ExecutorConfig,
    registered: &Registered,
    req: &ActionRequest,
    cancel: &Notify,
) -> Outcome {
    let rsc = req.rsc_id.as_str();
    match (req.action.as_str(), req.interval_ms) {
        ("monitor", 0) => {
            if registered.has(rsc) {
                (rc::OK, ExecStatus::Done, None)
            } else {
                (rc::NOT_RUNNING, ExecStatus::Done, None)
            }
        }
        ("start", _) => {
            registered.set(rsc, true);
            let out = monitor(cfg, req, cancel).await;
            if out.0 != rc::OK {
                registered.set(rsc, false);
            }
            out
        }
        ("stop", _) => {
            registered.set(rsc, false);
            (rc::OK, ExecStatus::Done, None)
        }
        ("monitor", _) => monitor(cfg, req, cancel).await,
        (other, _) => (
            rc::UNIMPLEMENTED,
            ExecStatus::Error,
            Some(format!(
                "'{other}' is not an action of a fence device (start, stop, monitor)"
            )),
        ),
    }
}

/// The agent's `monitor` action (after `pcmk_monitor_action` mapping).
async fn monitor(cfg: &ExecutorConfig, req: &ActionRequest, cancel: &Notify) -> Outcome {
    let device = FenceDevice {
        id: req.rsc_id.clone(),
        agent: req.agent.kind.clone(),
        params: req.params.clone().into_iter().collect::<BTreeMap<_, _>>(),
        priority: 0,
    };
    let (_, args) = device_agent_args(&device, None, "monitor", None);
    let runner = AgentRunner::new(cfg.fence_agent_dir.clone());
    let timeout = Duration::from_millis(req.timeout_ms.max(1));
    match runner
        .run_cancellable(&req.agent.kind, &args, timeout, cancel.notified())
        .await
    {
        Err(e) => (
            rc::ERR_INSTALLED,
            ExecStatus::NotInstalled,
            Some(e.to_string()),
        ),
        Ok(out) if out.cancelled => (rc::ERR_GENERIC, ExecStatus::Cancelled, None),
        Ok(out) if out.timed_out => (
            rc::ERR_GENERIC,
            ExecStatus::Timeout,
            Some(format!("{} monitor timed out", req.agent.kind)),
        ),
        Ok(out) if out.exit_code == Some(0) => (rc::OK, ExecStatus::Done, None),
        Ok(out) => (rc::ERR_GENERIC, ExecStatus::Done, out.outcome().reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::action::{AgentRef, Standard};

    fn req(action: &str, interval_ms: u64, agent: &str) -> ActionRequest {
        ActionRequest {
            rsc_id: "fence_n1".into(),
            agent: AgentRef {
                standard: Standard::Stonith,
                provider: None,
                kind: agent.into(),
            },
            action: action.into(),
            interval_ms,
            timeout_ms: 5_000,
            params: Default::default(),
            meta: Default::default(),
            node: "n2".into(),
        }
    }

    /// A fence "agent" that is a shell script: exits with what `$1` says.
    fn agent_dir(exit: i32) -> tempdir::Dir {
        let d = tempdir::Dir::new();
        let path = d.0.join("fence_fake");
        std::fs::write(&path, format!("#!/bin/sh\ncat >/dev/null\nexit {exit}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        d
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let p = std::env::temp_dir().join(format!(
                    "warden-stonith-rsc-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn config(dir: &std::path::Path) -> ExecutorConfig {
        ExecutorConfig {
            fence_agent_dir: dir.to_path_buf(),
            ..ExecutorConfig::default()
        }
    }

    #[tokio::test]
    async fn probes_report_the_registration_that_start_and_stop_make() {
        let dir = agent_dir(0);
        let cfg = config(&dir.0);
        let reg = Registered::default();
        let cancel = Notify::new();
        let probe = req("monitor", 0, "fence_fake");
        assert_eq!(run(&cfg, &reg, &probe, &cancel).await.0, rc::NOT_RUNNING);
        assert_eq!(
            run(&cfg, &reg, &req("start", 0, "fence_fake"), &cancel)
                .await
                .0,
            rc::OK
        );
        assert_eq!(run(&cfg, &reg, &probe, &cancel).await.0, rc::OK);
        assert_eq!(
            run(&cfg, &reg, &req("monitor", 20_000, "fence_fake"), &cancel)
                .await
                .0,
            rc::OK
        );
        assert_eq!(
            run(&cfg, &reg, &req("stop", 0, "fence_fake"), &cancel)
                .await
                .0,
            rc::OK
        );
        assert_eq!(run(&cfg, &reg, &probe, &cancel).await.0, rc::NOT_RUNNING);
    }

    #[tokio::test]
    async fn a_device_that_fails_its_monitor_does_not_start() {
        let dir = agent_dir(1);
        let cfg = config(&dir.0);
        let reg = Registered::default();
        let cancel = Notify::new();
        let (code, status, _) = run(&cfg, &reg, &req("start", 0, "fence_fake"), &cancel).await;
        assert_eq!((code, status), (rc::ERR_GENERIC, ExecStatus::Done));
        assert_eq!(
            run(&cfg, &reg, &req("monitor", 0, "fence_fake"), &cancel)
                .await
                .0,
            rc::NOT_RUNNING
        );
        let (code, status, reason) =
            run(&cfg, &reg, &req("start", 0, "fence_missing"), &cancel).await;
        assert_eq!(
            (code, status),
            (rc::ERR_INSTALLED, ExecStatus::NotInstalled)
        );
        assert!(reason.unwrap().contains("fence_missing"));
        let (code, _, reason) = run(&cfg, &reg, &req("reboot", 0, "fence_fake"), &cancel).await;
        assert_eq!(code, rc::UNIMPLEMENTED);
        assert!(reason.unwrap().contains("not an action of a fence device"));
    }
}
