//! Shared by the daemon lab test and the failover benchmark: a two-node
//! corosync lab (`../shared/lab/lab`, `two_node`, token 1000) with a
//! virtual IPMI BMC per node (`../shared/lab/fencing/fencelab`), and
//! `warden daemon` running inside each lab node.
//!
//! The network: the lab nodes are `NET.1` and `NET.2` on the lab's bridge.
//! The BMCs live on a management network of their own, `BMC.1` and
//! `BMC.2`, as addresses of the bridge on the host side (fencelab runs on
//! the host); each node reaches it through an on-link route on its `eth0`.
//! A partition (`lab partition`) drops traffic between node addresses
//! only, so each node can still reach both BMCs, as with a real management
//! network. The host also gets `NET.250`, to ask from outside whether the
//! VIP (`NET.100`) answers. fencelab's power hook runs `lab kill NODE` when
//! a BMC powers its node off.
//!
//! Everything is unique per process (prefix, addresses, directory) and
//! torn down when the [`Cluster`] is dropped, even after a failed assert.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use warden::core::cib::{self, Cib};
use warden::shell::daemon_api::{DaemonReply as Reply, DaemonRequest as Request, DaemonStatus};
use warden::shell::ipc::{self, ClientOptions};

#[path = "../lab_common/mod.rs"]
mod lab_common;

pub const LAB: &str = "../shared/lab/lab";
pub const FENCELAB: &str = "../shared/lab/fencing/fencelab";
/// The BMC login of warden's labs (its own system user, see
/// `tests/fencing_support`).
pub const BMC_USER: &str = "wardenfence";
/// A password that appears nowhere else, to check that it never shows.
pub const BMC_PASSWORD: &str = "wdn-S3cr3t-pw";
pub const NODES: [&str; 2] = ["n1", "n2"];
/// The resources of the group, in start order.
pub const GROUP: [&str; 3] = ["Cluster_VIP", "svc1", "svc2"];

/// Whether the lab can run here; prints the one-line SKIP reason if not.
pub fn lab_available(test: &str) -> bool {
    let missing: Vec<&str> = [
        "/usr/sbin/corosync",
        "/usr/sbin/fence_ipmilan",
        "/usr/bin/ipmitool",
        "/usr/lib/ocf/resource.d/heartbeat/IPaddr2",
        "/usr/lib/ocf/resource.d/heartbeat/Dummy",
    ]
    .into_iter()
    .filter(|p| !Path::new(p).exists())
    .collect();
    let reason = lab_common::not_root("network namespaces, BMC simulators")
        .or_else(|| lab_common::missing_scripts(&[LAB, FENCELAB]))
        .or_else(|| {
            (!missing.is_empty()).then(|| {
                format!(
                    "missing {} (apt-get install corosync fence-agents openipmi ipmitool resource-agents)",
                    missing.join(", ")
                )
            })
        })
        .or_else(|| {
            ["ipmi_sim", "nft"]
                .iter()
                .any(|b| lab_common::which(b).is_none())
                .then(|| "missing ipmi_sim or nft (apt-get install openipmi nftables)".to_string())
        });
    lab_common::runs(test, reason)
}

pub use lab_common::epoch_now;

/// One line of fencelab's `fence.log`.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerAction {
    pub epoch: f64,
    pub node: String,
    pub action: String,
    pub result: String,
}

/// How the cluster is configured.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// fence_ipmilan's own `delay` (seconds) on the device that fences
    /// each node: the guide's 30/15, scaled down.
    pub delay_s: [u32; 2],
    /// `migration-threshold` of svc1.
    pub migration_threshold: u32,
    /// Monitor interval of svc1 (seconds).
    pub svc1_monitor_s: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            delay_s: [0, 0],
            migration_threshold: 1_000_000,
            svc1_monitor_s: 10,
        }
    }
}

/// A running two-node cluster.
pub struct Cluster {
    pub prefix: String,
    /// The lab network's first three octets.
    pub net: String,
    /// The BMCs' network's first three octets.
    pub bmc_net: String,
    pub dir: PathBuf,
    pub warden: PathBuf,
    daemons: BTreeMap<String, Child>,
    fencelab_up: bool,
    /// The nodes run Pacemaker instead of warden (see [`Cluster::up_pacemaker`]).
    pacemaker: bool,
    /// Appended to each daemon's `warden.toml` (e.g. an `[agent_dirs]`
    /// table); set by the CIB writer of [`Cluster::up_with`].
    pub daemon_toml_extra: String,
}

/// Names of a lab brought up by [`Cluster::up_with`]: several labs of
/// different tests (and engineers) run on one machine at the same time.
#[derive(Debug, Clone)]
pub struct LabSpec {
    /// Two or three letters: the namespaces' prefix (with `tag` and the
    /// pid) and part of the directory's name.
    pub stem: String,
    /// A digit telling labs of one process apart.
    pub tag: u32,
}

impl Cluster {
    /// Brings up the lab and the BMCs, writes the CIB with the guide's
    /// commands and starts a daemon on each node. `tag` (a digit) tells
    /// labs of one process apart.
    pub fn up(tag: u32, config: &ClusterConfig) -> Cluster {
        let mut c = Cluster::up_lab(tag);
        c.write_cib(config);
        for n in NODES {
            c.start_daemon(n);
        }
        c
    }

    /// The lab and the BMCs, with nothing running on the nodes yet.
    fn up_lab(tag: u32) -> Cluster {
        let pid = std::process::id();
        let prefix = format!("wd{tag}{}", pid % 10_000);
        let a = 150 + pid % 50;
        let b = 2 * ((pid / 50 + tag * 7) % 100);
        let dir = std::env::temp_dir().join(format!("warden-daemon-{prefix}"));
        Cluster::lab_in(
            prefix,
            format!("10.{a}.{b}"),
            format!("10.{a}.{}", b + 1),
            dir,
        )
    }

    /// A fresh state directory `dir`, then the lab and the BMCs with
    /// these names and networks.
    fn lab_in(prefix: String, net: String, bmc_net: String, dir: PathBuf) -> Cluster {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("lab")).unwrap();
        let mut c = Cluster {
            prefix,
            net,
            bmc_net,
            dir,
            warden: PathBuf::from(env!("CARGO_BIN_EXE_warden")),
            daemons: BTreeMap::new(),
            fencelab_up: false,
            pacemaker: false,
            daemon_toml_extra: String::new(),
        };
        c.bring_up_lab();
        c
    }

    /// corosync in two lab nodes, the host's addresses on the bridge, the
    /// BMC routes, the BMCs.
    fn bring_up_lab(&mut self) {
        // Leftovers of an earlier run with the same pid would block `up`.
        let _ = self.lab(&["down"]);
        self.lab_ok(&["up", "2", "--two-node", "--token", "1000"]);
        let br = format!("{}-br", self.prefix);
        for addr in [
            format!("{}.1/24", self.bmc_net),
            format!("{}.2/24", self.bmc_net),
            format!("{}.250/24", self.net),
        ] {
            run_ok("ip", &["addr", "add", &addr, "dev", &br]);
        }
        for n in NODES {
            self.route(n);
            self.boot_tmpfiles(n);
        }
        self.fencelab_ok(&["up", "n1", "n2"]);
        self.fencelab_up = true;
    }

    pub fn cib_path(&self) -> PathBuf {
        self.dir.join("cib.xml")
    }

    pub fn vip(&self) -> String {
        format!("{}.100", self.net)
    }

    fn node_dir(&self, node: &str) -> PathBuf {
        self.dir.join(node)
    }

    pub fn socket(&self, node: &str) -> PathBuf {
        self.node_dir(node).join("sock")
    }

    pub fn log_path(&self, node: &str) -> PathBuf {
        self.node_dir(node).join("daemon.log")
    }

    pub fn lab_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(LAB);
        c.args(args)
            .env("LAB_PREFIX", &self.prefix)
            .env("LAB_NET", &self.net)
            .env("LAB_DIR", self.dir.join("lab"))
            .stdin(Stdio::null());
        c
    }

    pub fn lab(&self, args: &[&str]) -> Output {
        self.lab_cmd(args).output().expect("run the lab tool")
    }

    pub fn lab_ok(&self, args: &[&str]) {
        let out = self.lab(args);
        assert!(
            out.status.success(),
            "lab {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn fencelab_cmd(&self, args: &[&str]) -> Command {
        let lab = std::fs::canonicalize(LAB).expect("the lab tool");
        let mut c = Command::new("bash");
        c.arg(FENCELAB)
            .args(args)
            .env("FENCELAB_DIR", self.dir.join("fencelab"))
            .env("FENCELAB_NET", &self.bmc_net)
            .env("FENCELAB_USER", BMC_USER)
            .env("FENCELAB_PASSWORD", BMC_PASSWORD)
            .env_remove("FENCE_HOOK")
            .env_remove("FENCELAB_LAB_ON")
            // The power hook kills the lab node whose BMC powers off.
            .env("LAB", lab)
            .env("LAB_PREFIX", &self.prefix)
            .env("LAB_NET", &self.net)
            .env("LAB_DIR", self.dir.join("lab"))
            .stdin(Stdio::null());
        c
    }

    fn fencelab_ok(&self, args: &[&str]) {
        // `up` sets the BMC user's password (chpasswd locks /etc/shadow):
        // another lab on the machine may hold the lock; a few tries.
        let mut last = String::new();
        for _ in 0..3 {
            let out = self.fencelab_cmd(args).output().expect("run fencelab");
            if out.status.success() {
                return;
            }
            last = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            nap(500);
        }
        panic!("fencelab {}: {last}", args.join(" "));
    }

    /// The on-link route to the BMC network inside `node` (a node that
    /// was powered off comes back with a fresh link, without it).
    fn route(&self, node: &str) {
        let ns = format!("{}-{node}", self.prefix);
        let net = format!("{}.0/24", self.bmc_net);
        run_ok("ip", &["-n", &ns, "route", "replace", &net, "dev", "eth0"]);
    }

    /// What a host's boot makes in its fresh `/run` before a cluster
    /// manager starts (resource-agents' `tmpfiles.d`): the directory of the
    /// agents' state files. Without it the first agents to run race to make
    /// it, and a Dummy whose `touch` loses fails its start.
    fn boot_tmpfiles(&self, node: &str) {
        self.lab_ok(&[
            "exec",
            node,
            "install",
            "-d",
            "-m",
            "1755",
            "/run/resource-agents",
        ]);
    }

    /// The CIB, built with the guide's commands through the file-mode CLI.
    fn write_cib(&self, config: &ClusterConfig) {
        let cib = self.cib_path();
        let cib = cib.to_str().unwrap();
        let pw = format!("password={BMC_PASSWORD}");
        let mut lines: Vec<Vec<String>> = vec![words("property set no-quorum-policy=ignore")];
        for (i, n) in NODES.iter().enumerate() {
            let mut w = words(&format!(
                "stonith create fence_{n} fence_ipmilan pcmk_host_list={n} ip={}.{} username={BMC_USER} lanplus=1 cipher=3",
                self.bmc_net,
                i + 1
            ));
            w.push(pw.clone());
            if config.delay_s[i] > 0 {
                w.push(format!("delay={}", config.delay_s[i]));
            }
            w.extend(words("op monitor interval=20s"));
            lines.push(w);
        }
        lines.push(words(&format!(
            "resource create Cluster_VIP ocf:heartbeat:IPaddr2 ip={} cidr_netmask=24 op monitor interval=5s --group frontend",
            self.vip()
        )));
        lines.push(words(&format!(
            "resource create svc1 ocf:heartbeat:Dummy op monitor interval={}s --group frontend",
            config.svc1_monitor_s
        )));
        lines.push(words(
            "resource create svc2 ocf:heartbeat:Dummy op monitor interval=10s --group frontend",
        ));
        lines.push(words("resource meta frontend resource-stickiness=100"));
        lines.push(words(&format!(
            "resource meta svc1 migration-threshold={}",
            config.migration_threshold
        )));
        for args in lines {
            let out = Command::new(&self.warden)
                .arg("-f")
                .arg(cib)
                .args(&args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "warden -f {cib} {}: {}",
                args.iter()
                    .map(|a| if a.starts_with("password=") {
                        "password=***"
                    } else {
                        a
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// Starts `warden daemon` inside `node`, appending to its log.
    pub fn start_daemon(&mut self, node: &str) {
        let dir = self.node_dir(node);
        std::fs::create_dir_all(&dir).unwrap();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(node))
            .unwrap();
        // The daemon's configuration file, as an operator writes it.
        let config = dir.join("warden.toml");
        std::fs::write(
            &config,
            format!(
                "state_dir = \"{}\"\nsocket = \"{}\"\nlog_level = \"debug\"\n{}",
                dir.join("state").display(),
                self.socket(node).display(),
                self.daemon_toml_extra
            ),
        )
        .unwrap();
        let mut cmd = self.lab_cmd(&["exec", node]);
        cmd.arg(&self.warden)
            .arg("daemon")
            .arg("--config")
            .arg(&config)
            .arg("--cib")
            .arg(self.cib_path())
            .env_remove("RUST_LOG")
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let child = cmd.spawn().expect("start warden daemon in the lab node");
        if let Some(mut old) = self.daemons.insert(node.to_string(), child) {
            let _ = old.kill();
            let _ = old.wait();
        }
    }

    /// Power loss of `node` (`lab kill`): returns when it happened.
    pub fn kill(&mut self, node: &str) -> f64 {
        let at = epoch_now();
        self.lab_ok(&["kill", node]);
        if let Some(mut c) = self.daemons.remove(node) {
            let _ = c.wait();
        }
        at
    }

    /// Power loss of `node`, timed: returns the moment its corosync died
    /// (seen within a millisecond by watching the process), which is when
    /// its peers stop hearing from it. `lab kill` itself takes longer (it
    /// checks every process of the node, then takes the link down).
    ///
    /// corosync is killed first, then `lab kill` does the rest: `lab kill`
    /// kills a node's processes one by one, and when it reaches the
    /// manager's daemon before corosync, corosync still tells the peers
    /// that the daemon's process left (a CPG "process down", seen before
    /// the node is gone), which no power loss does.
    pub fn kill_timed(&mut self, node: &str) -> f64 {
        let pidfile = self.dir.join("lab").join(node).join("corosync.pid");
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or_else(|| panic!("no corosync pid in {}", pidfile.display()));
        let dead = |pid: i32| {
            // Gone, or a zombie waiting to be reaped: it runs no more.
            match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                Err(_) => true,
                Ok(stat) => stat
                    .rsplit(')')
                    .next()
                    .and_then(|rest| rest.split_whitespace().next())
                    .is_some_and(|state| state == "Z" || state == "X"),
            }
        };
        assert!(!dead(pid), "{node}'s corosync is not running");
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap_or_else(|e| panic!("kill {node}'s corosync ({pid}): {e}"));
        let mut kill = self.lab_cmd(&["kill", node]);
        let mut child = kill
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run lab kill");
        let deadline = Instant::now() + Duration::from_secs(10);
        let died = loop {
            if dead(pid) {
                break epoch_now();
            }
            assert!(
                Instant::now() < deadline,
                "{node}'s corosync survived lab kill"
            );
            nap(1);
        };
        assert!(child.wait().unwrap().success(), "lab kill {node} failed");
        if let Some(mut c) = self.daemons.remove(node) {
            let _ = c.wait();
        }
        died
    }

    /// Boots a powered-off node: corosync, the BMC route, the daemon.
    pub fn boot(&mut self, node: &str) {
        if let Some(mut c) = self.daemons.remove(node) {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.lab_ok(&["start", node]);
        self.route(node);
        self.boot_tmpfiles(node);
        if self.pacemaker {
            self.start_pacemaker(node);
        } else {
            self.start_daemon(node);
        }
    }

    /// Whether `node`'s daemon process is still running.
    pub fn daemon_alive(&mut self, node: &str) -> bool {
        self.daemons
            .get_mut(node)
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    pub fn request(&self, node: &str, req: &Request) -> Result<Reply, ipc::ClientError> {
        let opts = ClientOptions {
            timeout_ms: 5_000,
            ..ClientOptions::default()
        };
        ipc::request(&self.socket(node), req, &opts)
    }

    pub fn status(&self, node: &str) -> Option<DaemonStatus> {
        match self.request(node, &Request::Status) {
            Ok(Reply::Status(s)) => Some(s),
            _ => None,
        }
    }

    /// The CIB `node` holds, secrets included.
    pub fn cib_text(&self, node: &str) -> Option<String> {
        match self.request(node, &Request::GetCib { secrets: true }) {
            Ok(Reply::Cib { xml }) => Some(xml),
            _ => None,
        }
    }

    pub fn cib(&self, node: &str) -> Option<Cib> {
        cib::parse(&self.cib_text(node)?, node).cib
    }

    /// SHA-256 of the CIB `node` holds (its whole text, status included).
    pub fn cib_digest(&self, node: &str) -> Option<String> {
        Some(cib::digest_text(&self.cib_text(node)?))
    }

    /// Where each resource runs, as `node`'s daemon reads its CIB
    /// (the status view `warden status` shows).
    pub fn placement(&self, node: &str) -> BTreeMap<String, Vec<String>> {
        let Some(cib) = self.cib(node) else {
            return BTreeMap::new();
        };
        let view = warden::status::build(&cib, warden::shell::clock::now());
        let mut out = BTreeMap::new();
        let mut add = |p: &warden::status::PrimitiveView| {
            let nodes = if p.active {
                p.nodes.clone()
            } else {
                Vec::new()
            };
            out.insert(p.id.clone(), nodes);
        };
        for r in &view.resources {
            match r {
                warden::status::ResourceView::Primitive(p) => add(p),
                warden::status::ResourceView::Group(g) => g.members.iter().for_each(&mut add),
                _ => {}
            }
        }
        out
    }

    /// Ground truth: the nodes whose `eth0` holds the VIP now.
    pub fn vip_holders(&self) -> Vec<String> {
        let vip = format!("inet {}/", self.vip());
        NODES
            .iter()
            .filter(|n| {
                let ns = format!("{}-{n}", self.prefix);
                Command::new("ip")
                    .args(["-n", &ns, "-o", "-4", "addr", "show", "dev", "eth0"])
                    .output()
                    .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&vip))
            })
            .map(|n| n.to_string())
            .collect()
    }

    /// Ground truth: whether a Dummy resource's state file exists in the
    /// node (its `/run` is the node's own).
    pub fn dummy_running(&self, node: &str, rsc: &str) -> bool {
        self.lab(&[
            "exec",
            node,
            "test",
            "-e",
            &format!("/run/resource-agents/Dummy-{rsc}.state"),
        ])
        .status
        .success()
    }

    /// Whether something answers at the VIP, asked from the host side of
    /// the bridge: a TCP connection to port 9 is refused (RST) by the node
    /// that holds the address; nobody answers when no node does. The
    /// neighbour entry is dropped first, so each try resolves the address
    /// afresh and never reaches a dead node's stale MAC.
    pub fn vip_answers(&self, timeout: Duration) -> bool {
        let _ = Command::new("ip")
            .args(["neigh", "flush", "to", &self.vip()])
            .output();
        let addr: SocketAddr = format!("{}:9", self.vip()).parse().unwrap();
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(_) => true,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionRefused,
        }
    }

    pub fn fence_log(&self) -> Vec<PowerAction> {
        let text = std::fs::read_to_string(self.dir.join("fencelab/fence.log")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let kv: BTreeMap<&str, &str> =
                    l.split(' ').filter_map(|f| f.split_once('=')).collect();
                PowerAction {
                    epoch: kv.get("epoch").and_then(|e| e.parse().ok()).unwrap_or(0.0),
                    node: kv.get("node").unwrap_or(&"").to_string(),
                    action: kv.get("action").unwrap_or(&"").to_string(),
                    result: kv.get("result").unwrap_or(&"").to_string(),
                }
            })
            .collect()
    }

    pub fn daemon_log(&self, node: &str) -> String {
        if self.pacemaker {
            return self.pacemaker_log(node);
        }
        std::fs::read_to_string(self.log_path(node)).unwrap_or_default()
    }

    /// The last lines of every daemon's log, for a failure message.
    pub fn log_tails(&self, lines: usize) -> String {
        let mut out = String::new();
        for n in NODES {
            let log = self.daemon_log(n);
            let tail: Vec<&str> = log.lines().rev().take(lines).collect();
            out.push_str(&format!("---- {n} ----\n"));
            for l in tail.into_iter().rev() {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    /// Polls `pred` every 100 ms until it holds; panics with `what` and
    /// the daemons' logs after `timeout`.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&mut Cluster) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if pred(self) {
                return;
            }
            nap(100);
        }
        panic!("no {what} within {timeout:?}\n{}", self.log_tails(40));
    }

    /// Waits until every named node's daemon sees all of `members`, has a
    /// DC (the join is done), the DC is idle, and all of them hold the same
    /// CIB (version, and digest of the text each sends): the audit after
    /// each scenario.
    pub fn wait_converged(&mut self, live: &[&str], timeout: Duration) -> String {
        let mut digest = String::new();
        let members: Vec<String> = live.iter().map(|s| s.to_string()).collect();
        self.wait_for("converged cluster with one CIB digest", timeout, |c| {
            let all: Vec<Option<DaemonStatus>> = live.iter().map(|n| c.status(n)).collect();
            let Some(first) = all.first().cloned().flatten() else {
                return false;
            };
            let agreed = all.iter().all(|s| {
                s.as_ref().is_some_and(|s| {
                    s.members == members
                        && s.dc.is_some()
                        && s.dc == first.dc
                        && s.idle
                        && s.cib_version == first.cib_version
                })
            });
            if !agreed {
                return false;
            }
            let digests: Vec<Option<String>> = live.iter().map(|n| c.cib_digest(n)).collect();
            let ok = digests[0].is_some() && digests.iter().all(|d| *d == digests[0]);
            if ok {
                digest = digests[0].clone().unwrap_or_default();
            }
            ok
        });
        digest
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The lab first: it powers every node off at once (daemons and
        // their agents included), so no daemon sees its peer go and
        // starts fencing it while the BMCs are being stopped.
        let _ = self.lab(&["down"]);
        for (_, mut c) in std::mem::take(&mut self.daemons) {
            let _ = c.kill();
            let _ = c.wait();
        }
        if self.fencelab_up {
            let _ = self.fencelab_cmd(&["down", "--purge"]).output();
        }
        if std::env::var_os("WARDEN_KEEP_LAB").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Waits `ms` on the calling test thread: the tests poll the lab (files,
/// namespaces, sockets) from plain threads, with no runtime timer to hand
/// the wait to.
#[allow(clippy::disallowed_methods)]
pub fn nap(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn run_ok(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Timestamp (seconds since the epoch) of a log line the daemon wrote
/// (`2026-11-22T04:55:39.187451Z  INFO ...`).
pub fn line_epoch(line: &str) -> Option<f64> {
    let ts = line.split_whitespace().next()?;
    let (date, time) = ts.strip_suffix('Z')?.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, dd) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi, s) = (t.next()??, t.next()??, t.next()??);
    let days = warden::core::time::days_from_civil(y, m as u32, dd as u32);
    let secs = days * 86_400 + h * 3600 + mi * 60 + s;
    let frac: f64 = format!("0.{frac}").parse().ok()?;
    Some(secs as f64 + frac)
}

/// The log lines of `node` written at or after `since` (epoch seconds).
pub fn lines_since(log: &str, since: f64) -> Vec<&str> {
    log.lines()
        .filter(|l| line_epoch(l).is_some_and(|t| t >= since))
        .collect()
}

// ---------------------------------------------------------------------------
// For the live command line's requests (tests/live_lab.rs)
// ---------------------------------------------------------------------------

impl Cluster {
    /// The survivor's log lines since `killed_at`, after checking that it
    /// declared `active` fenced no earlier than the power-off at `off_at`
    /// (`fencer` names the device in the message) and then issued the
    /// starts of `group` in order.
    pub fn fenced_then_started_in_order(
        &self,
        survivor: &str,
        active: &str,
        killed_at: f64,
        off_at: f64,
        fencer: &str,
        group: &[&str],
    ) -> Vec<String> {
        let log = self.daemon_log(survivor);
        let lines: Vec<String> = lines_since(&log, killed_at)
            .into_iter()
            .map(str::to_string)
            .collect();
        let at = |needle: &str| -> (usize, f64) {
            let i = lines
                .iter()
                .position(|l| l.contains(needle))
                .unwrap_or_else(|| {
                    panic!("no '{needle}' in {survivor}'s log:\n{}", lines.join("\n"))
                });
            (i, line_epoch(&lines[i]).unwrap())
        };
        let (fenced_i, fenced_t) = at(&format!("{active} fenced by {survivor}"));
        assert!(
            fenced_t >= off_at - 0.05,
            "{active} declared fenced before {fencer} powered it off"
        );
        let mut last = fenced_i;
        for r in group {
            let (i, _) = at(&format!("starting {r} on {survivor}"));
            assert!(i > last, "{r} started out of order:\n{}", lines.join("\n"));
            last = i;
        }
        lines
    }

    /// Runs the real `warden` command line inside `node`, against that
    /// node's daemon (no `-f`); its output.
    pub fn cli(&self, node: &str, args: &[&str]) -> Output {
        let mut cmd = self.lab_cmd(&["exec", node]);
        cmd.arg(&self.warden)
            .args(args)
            .env("WARDEN_SOCKET", self.socket(node))
            .env_remove("CIB_file")
            .env_remove("RUST_LOG");
        cmd.output().expect("run warden in the lab node")
    }

    /// Sends `signal` to `node`'s daemon (the lab's `exec` execs it: the
    /// child is the daemon itself).
    pub fn signal_daemon(&self, node: &str, signal: nix::sys::signal::Signal) {
        let pid = self
            .daemons
            .get(node)
            .unwrap_or_else(|| panic!("no daemon runs in {node}"))
            .id();
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal)
            .expect("signal the daemon");
    }

    /// Waits up to `timeout` for `node`'s daemon to exit; its exit status
    /// (`None`: still running).
    pub fn wait_daemon_exit(
        &mut self,
        node: &str,
        timeout: Duration,
    ) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let child = self.daemons.get_mut(node)?;
            if let Some(status) = child.try_wait().ok().flatten() {
                self.daemons.remove(node);
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            nap(100);
        }
    }
}

/// Whether Pacemaker can run in the lab nodes (the failover benchmark's
/// side-by-side); prints why not if it cannot.
pub fn pacemaker_available(what: &str) -> bool {
    let reason = if !Path::new(PACEMAKERD).is_file() {
        Some(format!(
            "{PACEMAKERD} not found (apt-get install pacemaker pacemaker-cli-utils)"
        ))
    } else if nix::unistd::User::from_name("hacluster")
        .ok()
        .flatten()
        .is_none()
        || nix::unistd::Group::from_name("haclient")
            .ok()
            .flatten()
            .is_none()
    {
        Some("no user hacluster or group haclient (installed with pacemaker)".to_string())
    } else {
        None
    };
    if let Some(r) = reason {
        eprintln!("{what}: Pacemaker cannot run in the lab: {r}");
        return false;
    }
    true
}

pub const PACEMAKERD: &str = "/usr/sbin/pacemakerd";

/// Pacemaker in the lab nodes, for the side-by-side of the failover
/// benchmark. Per node, inside its namespaces (`lab exec`):
///
/// * corosync lets group `haclient` use its IPC (`uidgid.d/pacemaker` in
///   the node's `/etc/corosync`, then `corosync-cfgtool -R`): Pacemaker's
///   daemons drop to user `hacluster`;
/// * `NODE/pacemaker/lib` and `NODE/pacemaker/log` (owned by hacluster) are
///   bind-mounted over `/var/lib/pacemaker` and `/var/log/pacemaker` in the
///   node's private mount namespace (again at each boot: a power loss takes
///   the namespace with it, the directories survive like a disk);
/// * the CIB is the one warden's CLI writes for its own cluster, with the
///   feature set the installed Pacemaker supports, as
///   `/var/lib/pacemaker/cib/cib.xml` before the first start;
/// * `TZ=UTC PCMK_logfile=/var/log/pacemaker/pacemaker.log pacemakerd -f`.
///
/// libqb's IPC sockets are abstract, hence per network namespace: each
/// node's tools (`crm_mon`, `crmadmin`) talk to that node's daemons.
impl Cluster {
    pub fn up_pacemaker(tag: u32, config: &ClusterConfig) -> Cluster {
        let mut c = Cluster::up_lab(tag);
        c.pacemaker = true;
        c.write_cib(config);
        let features = Command::new(PACEMAKERD)
            .arg("--features")
            .output()
            .expect("pacemakerd --features");
        let features = String::from_utf8_lossy(&features.stdout).to_string();
        let supported = features
            .split_whitespace()
            .find_map(|w| w.strip_prefix('v').filter(|v| v.contains('.')))
            .map(|v| v.trim_end_matches(':').to_string())
            .unwrap_or_else(|| panic!("no feature set in `pacemakerd --features`: {features}"));
        let cib = std::fs::read_to_string(c.cib_path()).unwrap();
        let at = cib
            .find("crm_feature_set=\"")
            .expect("the CIB's feature set")
            + 17;
        let end = at + cib[at..].find('"').unwrap();
        let cib = format!("{}{supported}{}", &cib[..at], &cib[end..]);
        for (i, n) in NODES.iter().enumerate() {
            let etc = c.dir.join("lab").join(format!("n{}", i + 1)).join("etc");
            std::fs::create_dir_all(etc.join("uidgid.d")).unwrap();
            std::fs::write(
                etc.join("uidgid.d/pacemaker"),
                "uidgid {\n    gid: haclient\n}\n",
            )
            .unwrap();
            c.lab_ok(&["exec", n, "corosync-cfgtool", "-R"]);
            let root = c.pacemaker_dir(n);
            for d in ["lib/cib", "lib/pengine", "lib/blackbox", "lib/cores", "log"] {
                std::fs::create_dir_all(root.join(d)).unwrap();
            }
            std::fs::write(root.join("lib/cib/cib.xml"), &cib).unwrap();
            run_ok(
                "chown",
                &["-R", "hacluster:haclient", root.to_str().unwrap()],
            );
            run_ok(
                "chmod",
                &["0600", root.join("lib/cib/cib.xml").to_str().unwrap()],
            );
        }
        for n in NODES {
            c.start_pacemaker(n);
        }
        c
    }

    fn pacemaker_dir(&self, node: &str) -> PathBuf {
        self.node_dir(node).join("pacemaker")
    }

    /// Mounts the node's Pacemaker directories and starts `pacemakerd`.
    fn start_pacemaker(&mut self, node: &str) {
        let root = self.pacemaker_dir(node);
        let mounts = format!(
            "mount --bind {} /var/lib/pacemaker && mount --bind {} /var/log/pacemaker",
            root.join("lib").display(),
            root.join("log").display()
        );
        self.lab_ok(&["exec", node, "sh", "-c", &mounts]);
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(root.join("pacemakerd.out"))
            .unwrap();
        let child = self
            .lab_cmd(&["exec", node, "env", "TZ=UTC"])
            .arg("PCMK_logfile=/var/log/pacemaker/pacemaker.log")
            .arg(PACEMAKERD)
            .arg("-f")
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start pacemakerd in the lab node");
        if let Some(mut old) = self.daemons.insert(node.to_string(), child) {
            let _ = old.kill();
            let _ = old.wait();
        }
    }

    pub fn pacemaker_log(&self, node: &str) -> String {
        std::fs::read_to_string(self.pacemaker_dir(node).join("log/pacemaker.log"))
            .unwrap_or_default()
    }

    /// Whether Pacemaker has settled: every node sees both online and one
    /// DC, every resource started and none failed, and the DC is idle.
    pub fn pacemaker_settled(&self) -> bool {
        let mut dc = None;
        for n in NODES {
            let out = self.lab(&["exec", n, "crm_mon", "-1", "--output-as=xml"]);
            let xml = String::from_utf8_lossy(&out.stdout);
            let online = xml.matches("online=\"true\"").count();
            let started = xml.matches("role=\"Started\"").count();
            let Some(name) = xml
                .split("<current_dc present=\"true\"")
                .nth(1)
                .and_then(|rest| rest.split("name=\"").nth(1))
                .and_then(|rest| rest.split('"').next())
            else {
                return false;
            };
            if !out.status.success()
                || online != NODES.len()
                || started != NODES.len() + GROUP.len()
                || xml.contains("failed=\"true\"")
                || dc.get_or_insert_with(|| name.to_string()) != name
            {
                return false;
            }
        }
        let dc = dc.unwrap();
        let out = self.lab(&["exec", &dc, "crmadmin", "-q", "-S", &dc]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        text.contains("S_IDLE")
    }
}

impl Cluster {
    /// Whether `node`'s `/run/resource-agents/Dummy-RSC.state` exists (the
    /// Dummy agent's running state), read through the node's holder
    /// process: no process started, so it can be asked every millisecond.
    pub fn dummy_state_exists(&self, node: &str, rsc: &str) -> bool {
        let pidfile = self.dir.join("lab").join(node).join("holder.pid");
        let Some(pid) = std::fs::read_to_string(pidfile)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
        else {
            return false;
        };
        // The node's /run is a tmpfs private to its mount namespace; the
        // kernel shows a process's view of the file system under its
        // procfs entry (`root`), the same on every Linux machine.
        Path::new("/proc")
            .join(pid.to_string())
            .join("root")
            .join("run/resource-agents")
            .join(format!("Dummy-{rsc}.state"))
            .exists()
    }
}

/// Timestamp (seconds since the epoch) of a Pacemaker log line written
/// with `TZ=UTC` (`Nov 22 06:36:48.727 host pacemaker-controld ...`); the
/// year is not in the line: the one of `near` (epoch seconds).
pub fn pacemaker_line_epoch(line: &str, near: f64) -> Option<f64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut w = line.split_whitespace();
    let month = w.next()?;
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let day: u32 = w.next()?.parse().ok()?;
    let (hms, frac) = w.next()?.split_once('.').unwrap_or(("", ""));
    let mut t = hms.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi, s) = (t.next()??, t.next()??, t.next()??);
    let (year, _, _) = warden::core::time::civil_from_days((near / 86_400.0).floor() as i64);
    let days = warden::core::time::days_from_civil(year, month, day);
    let frac: f64 = format!("0.{frac}").parse().ok()?;
    Some((days * 86_400 + h * 3600 + mi * 60 + s) as f64 + frac)
}

impl Cluster {
    /// A two-node cluster like [`Cluster::up`]'s (lab, BMCs, one daemon per
    /// node), named after `spec`, with the CIB written by `write_cib`, which
    /// may also set [`Cluster::daemon_toml_extra`] before the daemons
    /// start. The lab's networks are picked among those that no address of
    /// the host uses, so that labs of other tests can run beside it.
    pub fn up_with(spec: &LabSpec, write_cib: impl FnOnce(&mut Cluster)) -> Cluster {
        let pid = std::process::id();
        let prefix = format!("{}{}{}", spec.stem, spec.tag, pid % 10_000);
        assert!(prefix.len() <= 8, "lab prefix {prefix} longer than 8");
        let (net, bmc_net) = free_lab_nets(pid + spec.tag * 7_919);
        let dir = std::env::temp_dir().join(format!("warden-{}-{prefix}", spec.stem));
        let mut c = Cluster::lab_in(prefix, net, bmc_net, dir);
        write_cib(&mut c);
        for n in NODES {
            c.start_daemon(n);
        }
        c
    }

    /// fencelab's `known_hosts` for the simulated iLOs (fresh host keys at
    /// each `up`): `fence_ilo_ssh`'s `ssh_options` point ssh at it.
    pub fn ilo_known_hosts(&self) -> PathBuf {
        self.dir.join("fencelab/ssh/known_hosts")
    }

    /// Runs `warden -f CIB ARGS...` with `envs`; panics with the command
    /// (passwords masked) and its error otherwise.
    pub fn cli_file_ok(&self, args: &[String], envs: &[(&str, &std::ffi::OsStr)]) {
        let out = Command::new(&self.warden)
            .arg("-f")
            .arg(self.cib_path())
            .args(args)
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "warden -f {} {}: {}",
            self.cib_path().display(),
            args.iter()
                .map(
                    |a| if a.starts_with("password=") || a.starts_with("passwd=") {
                        "password=***"
                    } else {
                        a
                    }
                )
                .collect::<Vec<_>>()
                .join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Two /24s `10.A.B` (nodes) and `10.A.B+1` (BMCs) that no address of the
/// host falls in, starting from a place `seed` picks (A in 100..150: the
/// range [`Cluster::up`] leaves alone).
fn free_lab_nets(seed: u32) -> (String, String) {
    let out = Command::new("ip")
        .args(["-o", "-4", "addr", "show"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let used = |net: &str| out.contains(&format!("inet {net}."));
    for i in 0..5_000 {
        let k = seed.wrapping_add(i);
        let a = 100 + k % 50;
        let b = 2 * ((k / 50) % 100);
        let (net, bmc) = (format!("10.{a}.{b}"), format!("10.{a}.{}", b + 1));
        if !used(&net) && !used(&bmc) {
            return (net, bmc);
        }
    }
    panic!("no free 10.x.y/24 pair for a lab network");
}

#[cfg(test)]
mod pacemaker_log_tests {
    #[test]
    fn pacemaker_line_epoch_reads_month_day_time_and_the_year_near() {
        // 2026-11-22T06:58:05.835Z = 1795330685.835
        let near = 1_795_330_000.0;
        let t = super::pacemaker_line_epoch(
            "Nov 22 06:58:05.835 vm pacemaker-fenced    [13339] (x) notice: y",
            near,
        )
        .unwrap();
        assert!((t - 1_795_330_685.835).abs() < 1e-6, "{t}");
        assert_eq!(
            super::pacemaker_line_epoch("2026-11-22T06:58:05Z x", near),
            None
        );
    }
}
