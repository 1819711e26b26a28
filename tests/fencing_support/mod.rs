//! Shared by the fencing lab tests, the race test and the fencing benchmark:
//! a fencelab instance (virtual IPMI BMCs and iLOs from
//! `../shared/lab/fencing`) with its own directory and address range, torn
//! down when dropped, and fence devices that point at it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use warden::core::fencer::{FenceDevice, FencerConfig, FencerOptions};

#[path = "../lab_common/mod.rs"]
mod lab_common;

pub const FENCELAB: &str = "../shared/lab/fencing/fencelab";
/// The iLO login user of warden's labs: its own system user, so that labs of
/// other tools (which reset `fenceadm`'s password) never disturb ours.
pub const LAB_USER: &str = "wardenfence";
/// A password that appears nowhere else on the machine, for the checks that
/// it never shows (IPMI 1.5 allows 16 characters).
pub const LAB_PASSWORD: &str = "wdn-S3cr3t-pw";

/// Whether the lab can run here; prints the one-line SKIP reason if not.
pub fn lab_available(test: &str) -> bool {
    let reason = lab_common::not_root("fencelab starts BMC simulators and sshd")
        .or_else(|| lab_common::missing_scripts(&[FENCELAB]))
        .or_else(|| {
            let missing: Vec<&str> = [
                "/usr/sbin/fence_ipmilan",
                "/usr/sbin/fence_ilo_ssh",
                "/usr/sbin/sshd",
            ]
            .into_iter()
            .filter(|p| !Path::new(p).exists())
            .chain(
                lab_common::which("ipmi_sim")
                    .is_none()
                    .then_some("ipmi_sim"),
            )
            .collect();
            (!missing.is_empty()).then(|| {
                format!(
                    "missing {} (apt-get install fence-agents openipmi ipmitool openssh-server)",
                    missing.join(", ")
                )
            })
        });
    lab_common::runs(test, reason)
}

/// One line of `fence.log`.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerAction {
    pub seq: u64,
    pub epoch: f64,
    pub node: String,
    pub device: String,
    pub action: String,
    pub result: String,
}

/// A running fencelab; `fencelab down --purge` when dropped.
pub struct Lab {
    pub dir: PathBuf,
    pub net: String,
    pub nodes: Vec<String>,
    /// Only the process that started the lab stops it.
    owned: bool,
}

static LABS: AtomicU32 = AtomicU32::new(0);

impl Lab {
    /// Starts BMC + iLO for each node, in a directory and on a 127.x.y.0/24
    /// of its own (unique per process and lab).
    pub fn up(name: &str, nodes: &[&str]) -> Lab {
        let k = LABS.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("warden-fencelab-{pid}-{k}-{name}"));
        let net = format!("127.{}.{}", 200 + (k % 50), pid % 250);
        let lab = Lab {
            dir,
            net,
            nodes: nodes.iter().map(|s| s.to_string()).collect(),
            owned: true,
        };
        let mut args = vec!["up"];
        args.extend_from_slice(nodes);
        // `up` sets the login user's password (chpasswd locks /etc/shadow)
        // and may create the user: one `up` at a time in this process, and a
        // few tries in case another lab on the machine holds the lock.
        static UP: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = UP.lock().unwrap_or_else(|e| e.into_inner());
        let mut last = String::new();
        for _ in 0..3 {
            let out = lab.cmd(&args).output().expect("run fencelab");
            if out.status.success() {
                return lab;
            }
            last = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let _ = lab.cmd(&["down"]).output();
        }
        panic!("fencelab up failed three times: {last}");
    }

    /// A lab another process started (e.g. the parent of a race node).
    pub fn attach(dir: PathBuf, net: String, nodes: &[&str]) -> Lab {
        Lab {
            dir,
            net,
            nodes: nodes.iter().map(|s| s.to_string()).collect(),
            owned: false,
        }
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("bash");
        c.arg(FENCELAB)
            .args(args)
            .env("FENCELAB_DIR", &self.dir)
            .env("FENCELAB_NET", &self.net)
            .env("FENCELAB_USER", LAB_USER)
            .env("FENCELAB_PASSWORD", LAB_PASSWORD)
            .env_remove("FENCE_HOOK")
            .env_remove("LAB");
        c
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("run fencelab");
        assert!(
            out.status.success(),
            "fencelab {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn addr(&self, node: &str) -> String {
        let i = self.nodes.iter().position(|n| n == node).expect("lab node") + 1;
        format!("{}.{i}", self.net)
    }

    pub fn power(&self, node: &str) -> String {
        self.run(&["power", node])
    }

    pub fn set_power(&self, node: &str, state: &str) {
        self.run(&["power", node, state]);
    }

    pub fn fail(&self, node: &str, mode: &str) {
        self.run(&["fail", node, mode]);
    }

    pub fn log(&self) -> Vec<PowerAction> {
        let text = std::fs::read_to_string(self.dir.join("fence.log")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let kv: BTreeMap<&str, &str> =
                    l.split(' ').filter_map(|f| f.split_once('=')).collect();
                PowerAction {
                    seq: kv["seq"].parse().unwrap(),
                    epoch: kv["epoch"].parse().unwrap(),
                    node: kv["node"].to_string(),
                    device: kv["device"].to_string(),
                    action: kv["action"].to_string(),
                    result: kv["result"].to_string(),
                }
            })
            .collect()
    }

    /// `node device action` of every power action since `from` (a log length).
    pub fn actions_since(&self, from: usize) -> Vec<String> {
        self.log()[from..]
            .iter()
            .map(|a| format!("{} {} {}", a.node, a.device, a.action))
            .collect()
    }

    /// A `fence_ipmilan` device (lanplus, cipher 3) for `node`'s BMC.
    pub fn ipmi(&self, id: &str, node: &str, extra: &[(&str, &str)]) -> FenceDevice {
        let ip = self.addr(node);
        let mut p = vec![
            ("ip", ip.as_str()),
            ("ipport", "623"),
            ("username", LAB_USER),
            ("password", LAB_PASSWORD),
            ("lanplus", "1"),
            ("cipher", "3"),
        ];
        p.extend_from_slice(extra);
        FenceDevice::new(id, "fence_ipmilan", &p)
    }

    /// A `fence_ilo_ssh` device for `node`'s iLO (the lab's known_hosts).
    pub fn ilo(&self, id: &str, node: &str, extra: &[(&str, &str)]) -> FenceDevice {
        let ip = self.addr(node);
        let opts = format!(
            "-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes",
            self.dir.join("ssh/known_hosts").display()
        );
        let mut p = vec![
            ("ip", ip.as_str()),
            ("ipport", "2022"),
            ("username", LAB_USER),
            ("password", LAB_PASSWORD),
            ("ssh", "1"),
            ("ssh_options", opts.as_str()),
        ];
        p.extend_from_slice(extra);
        FenceDevice::new(id, "fence_ilo_ssh", &p)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let _ = self.cmd(&["down", "--purge"]).output();
    }
}

/// A fencer configuration over `devices` with cluster properties `props`.
pub fn config(
    local: &str,
    devices: Vec<FenceDevice>,
    props: &[(&str, &str)],
    agents: &BTreeMap<String, warden::core::fencer::AgentInfo>,
) -> FencerConfig {
    let props: BTreeMap<String, String> = props
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (options, diags) = FencerOptions::from_properties(&props);
    assert!(diags.is_empty(), "{diags:?}");
    FencerConfig {
        local_node: local.to_string(),
        devices,
        levels: Vec::new(),
        agents: agents.clone(),
        options,
        node_attributes: BTreeMap::new(),
    }
}

/// Every log line this test binary writes (tracing, all levels), to check
/// that no secret is ever logged.
pub fn logs() -> std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    use std::sync::{Arc, Mutex, OnceLock};
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || LogWriter(writer.clone()))
            .try_init()
            .expect("one subscriber per test binary");
        buf
    })
    .clone()
}

struct LogWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Waits for the first event matching `pred`.
pub async fn wait_event<T>(
    rx: &mut tokio::sync::broadcast::Receiver<warden::shell::fencing::FencerEvent>,
    secs: u64,
    mut pred: impl FnMut(&warden::shell::fencing::FencerEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let e = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("no such fencer event in time")
            .expect("fencer events");
        if let Some(t) = pred(&e) {
            return t;
        }
    }
}
