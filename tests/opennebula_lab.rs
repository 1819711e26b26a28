//! The OpenNebula front end end to end: two lab nodes (corosync `two_node`,
//! token 1000) each running `warden daemon`, configured through the
//! file-mode CLI as the two-node example does: the VIP (`IPaddr2` on the lab
//! network), then `ocf:opennebula:oned`, then FireEdge, OneGate and OneFlow
//! in one group; `fence_ilo_ssh` against fencelab's simulated iLOs with the
//! guide's 30/15 s delays scaled down to 3 s (on the device that fences n1)
//! and none; `no-quorum-policy=ignore`; stickiness. The agents come from
//! `agents/`, installed under an OCF root the test owns; they run the fake
//! services of `tests/fixtures/opennebula/` as plain commands
//! (`start_cmd`), listening on every address of the node, so "answers" is
//! asked through the VIP from the host side of the lab's bridge.
//!
//! One test drives the scenarios in order on one cluster:
//!
//! a. the active node dies (`lab kill`): it is fenced over iLO SSH (the
//!    simulator's power log), then the VIP, oned and the web services start
//!    on the survivor in that order and answer through the VIP; oned's
//!    start lists the VMs to recover, and the hint reaches the survivor's
//!    log; the failover timings are printed;
//! b. oned hangs (SIGSTOP: the process lives, the port accepts but never
//!    answers): its monitor fails, warden recovers it in place (the fail
//!    count shows in the status), oned answers again, and the hung process
//!    is gone;
//! c. a 1|1 split: n2 is fenced (the delays protect n1), n1 keeps or takes
//!    the front end, and the VIP is never held by both nodes;
//!
//! and after each, one CIB digest on every live node. Root, the lab,
//! python3 and the fence agents; `SKIP opennebula_lab: <reason>` otherwise.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod daemon_support;
use daemon_support::{
    epoch_now, line_epoch, lines_since, nap, Cluster, LabSpec, BMC_PASSWORD, BMC_USER, FENCELAB,
    LAB, NODES,
};

const S: fn(u64) -> Duration = Duration::from_secs;
const FIXTURES: &str = "tests/fixtures/opennebula";
const GROUP_ID: &str = "opennebula-front";
/// The group's members, in start order.
const GROUP: [&str; 5] = [
    "Cluster_VIP",
    "opennebula",
    "opennebula-fireedge",
    "opennebula-gate",
    "opennebula-flow",
];
/// The web services: resource, agent, the service's default port.
const WEB: [(&str, &str, u16); 3] = [
    ("opennebula-fireedge", "fireedge", 2616),
    ("opennebula-gate", "gate", 5030),
    ("opennebula-flow", "flow", 2474),
];
const ONED_PORT: u16 = 2633;
/// The fake oned's version, which `one.system.version` returns.
const ONED_VERSION: &str = "6.10.0";
/// The OpenNebula administrator's session: must never show in a log or
/// a process's command line or environment (the fake oned checks).
const ONE_AUTH: &str = "oneadmin:onelab-Pw-7f3a";
/// oned's monitor: every 3 s, an answer within 2 s.
const ONED_MONITOR_S: u64 = 3;

/// Whether everything the lab needs is here; prints the SKIP line if not.
fn available() -> bool {
    let missing: Vec<&str> = [
        "/usr/sbin/corosync",
        "/usr/sbin/fence_ilo_ssh",
        "/usr/sbin/sshd",
        "/usr/bin/ssh",
        "/usr/bin/python3",
        "/usr/bin/setsid",
        "/usr/lib/ocf/resource.d/heartbeat/IPaddr2",
    ]
    .into_iter()
    .filter(|p| !Path::new(p).exists())
    .collect();
    let reason = if !nix::unistd::geteuid().is_root() {
        Some("needs root (network namespaces, iLO simulators)".to_string())
    } else if !Path::new(LAB).is_file() || !Path::new(FENCELAB).is_file() {
        Some(format!(
            "{LAB} or {FENCELAB} not found (run from the crate root with ../shared beside it)"
        ))
    } else if !missing.is_empty() {
        Some(format!(
            "missing {} (apt-get install corosync fence-agents openssh-server python3 resource-agents)",
            missing.join(", ")
        ))
    } else if ["ipmi_sim", "nft"].iter().all(|b| {
        ["/usr/bin", "/usr/sbin"]
            .iter()
            .any(|d| Path::new(d).join(b).exists())
    }) {
        None
    } else {
        Some("missing ipmi_sim or nft (apt-get install openipmi nftables)".to_string())
    };
    if let Some(r) = reason {
        eprintln!("SKIP opennebula_lab: {r}");
        return false;
    }
    true
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn other(node: &str) -> &'static str {
    if node == "n1" {
        "n2"
    } else {
        "n1"
    }
}

fn abs(rel: &str) -> PathBuf {
    std::fs::canonicalize(rel).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Where the fakes keep their logs and PID files: the test's directory on
/// the host's file system (it outlives a killed node's `/run`). The node's
/// name comes from the agent's environment when the service starts.
fn fakes_dir(c: &Cluster) -> PathBuf {
    c.dir.join("fakes")
}

fn fake_file(c: &Cluster, node: &str, service: &str, ext: &str) -> PathBuf {
    fakes_dir(c).join(format!("{node}-{service}.{ext}"))
}

/// The agents under an OCF root of the test's own: `agents/` as the
/// `opennebula` provider, the system's heartbeat agents (IPaddr2) and
/// their shell library beside them.
fn install_agents(root: &Path) {
    let provider = root.join("resource.d/opennebula");
    std::fs::create_dir_all(&provider).unwrap();
    for f in std::fs::read_dir("agents").unwrap() {
        let f = f.unwrap().path();
        let name = f.file_name().unwrap().to_str().unwrap().to_string();
        if name == "README.md" {
            continue;
        }
        std::fs::copy(&f, provider.join(&name)).unwrap();
    }
    std::os::unix::fs::symlink(
        "/usr/lib/ocf/resource.d/heartbeat",
        root.join("resource.d/heartbeat"),
    )
    .unwrap();
    std::os::unix::fs::symlink("/usr/lib/ocf/lib", root.join("lib")).unwrap();
}

/// The CIB, with the example's commands through the file-mode CLI.
fn write_cib(c: &mut Cluster) {
    let ocf_root = c.dir.join("ocf");
    install_agents(&ocf_root);
    std::fs::create_dir_all(fakes_dir(c)).unwrap();
    let auth = c.dir.join("one_auth");
    std::fs::write(&auth, format!("{ONE_AUTH}\n")).unwrap();
    c.daemon_toml_extra = format!("[agent_dirs]\nocf_root = \"{}\"\n", ocf_root.display());

    let fake = abs(&format!("{FIXTURES}/fake-opennebula.py"));
    let vms = abs(&format!("{FIXTURES}/vms-after-failover.json"));
    let oned_conf = abs(&format!("{FIXTURES}/oned-mysql.conf"));
    let fakes = fakes_dir(c);
    // Expanded by the agent's `sh -c` on the node: each node's fake writes
    // its own files.
    let files = |svc: &str| {
        format!(
            "--log {d}/${{OCF_RESKEY_CRM_meta_on_node}}-{svc}.log --pid-file {d}/${{OCF_RESKEY_CRM_meta_on_node}}-{svc}.pid",
            d = fakes.display()
        )
    };
    let mut lines: Vec<Vec<String>> = vec![words("property set no-quorum-policy=ignore")];
    for (i, n) in NODES.iter().enumerate() {
        // The guide's 30 s / 15 s, scaled down: n1 is the node a split keeps.
        let delay = if i == 0 { 3 } else { 0 };
        let mut w = words(&format!(
            "stonith create fence_{n} fence_ilo_ssh pcmk_host_list={n} ip={}.{} ipport=2022 username={BMC_USER} secure=1 delay={delay} power_wait=1",
            c.bmc_net,
            i + 1
        ));
        w.push(format!("password={BMC_PASSWORD}"));
        w.push(format!(
            "ssh_options=-o UserKnownHostsFile={}",
            c.ilo_known_hosts().display()
        ));
        w.extend(words("op monitor interval=20s"));
        lines.push(w);
    }
    lines.push(words(&format!(
        "resource create Cluster_VIP ocf:heartbeat:IPaddr2 ip={} cidr_netmask=24 op monitor interval=5s --group {GROUP_ID}",
        c.vip()
    )));
    let mut oned = words("resource create opennebula ocf:opennebula:oned");
    oned.push(format!(
        "start_cmd=exec python3 {} oned --host 0.0.0.0 --port {ONED_PORT} --auth-file {} --vms-file {} {}",
        fake.display(),
        auth.display(),
        vms.display(),
        files("oned")
    ));
    oned.push(format!("oned_conf={}", oned_conf.display()));
    oned.push(format!("one_auth={}", auth.display()));
    oned.extend(words(&format!(
        "check_timeout=2 op monitor interval={ONED_MONITOR_S}s timeout=10s op stop timeout=10s --group {GROUP_ID}"
    )));
    lines.push(oned);
    for (rsc, agent, port) in WEB {
        let mut w = words(&format!("resource create {rsc} ocf:opennebula:{agent}"));
        w.push(format!(
            "start_cmd=exec python3 {} http --host 0.0.0.0 --port {port} --name {agent} {}",
            fake.display(),
            files(agent)
        ));
        w.extend(words(&format!(
            "check_timeout=2 op monitor interval=5s timeout=10s --group {GROUP_ID}"
        )));
        lines.push(w);
    }
    lines.push(words(&format!(
        "resource meta {GROUP_ID} resource-stickiness=100"
    )));
    for args in lines {
        c.cli_file_ok(&args, &[("OCF_ROOT", ocf_root.as_os_str())]);
    }
}

/// One HTTP exchange with `addr` (an HTTP/1.0 request: the server closes
/// when done); the whole answer, or None if nothing came within `timeout`.
fn http(addr: &str, port: u16, request: &str, timeout: Duration) -> Option<String> {
    let sa: SocketAddr = format!("{addr}:{port}").parse().unwrap();
    let mut s = TcpStream::connect_timeout(&sa, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.set_write_timeout(Some(timeout)).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Whether oned answers `one.system.version` at `addr` with its version.
fn oned_answers(addr: &str, timeout: Duration) -> bool {
    let body = format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>one.system.version</methodName><params><param><value><string>{ONE_AUTH}</string></value></param></params></methodCall>"
    );
    let req = format!(
        "POST /RPC2 HTTP/1.0\r\nHost: {addr}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    http(addr, ONED_PORT, &req, timeout).is_some_and(|r| {
        r.starts_with("HTTP/1.0 200")
            && r.contains("<methodResponse>")
            && r.contains(&format!("<string>{ONED_VERSION}</string>"))
    })
}

/// Whether the web service `agent` answers at `addr:port` (the fake names
/// itself in its page).
fn web_answers(addr: &str, port: u16, agent: &str, timeout: Duration) -> bool {
    let req = format!("GET / HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    http(addr, port, &req, timeout)
        .is_some_and(|r| r.starts_with("HTTP/1.0 200") && r.contains(&format!("fake {agent}")))
}

fn all_web_answer(addr: &str, timeout: Duration) -> bool {
    WEB.iter()
        .all(|(_, agent, port)| web_answers(addr, *port, agent, timeout))
}

/// The node every member of the group runs on, as `asking` reads its CIB.
fn group_node(c: &Cluster, asking: &str) -> Option<String> {
    let p = c.placement(asking);
    let first = p.get(GROUP[0])?.clone();
    if first.len() != 1 {
        return None;
    }
    GROUP
        .iter()
        .all(|r| p.get(*r) == Some(&first))
        .then(|| first[0].clone())
}

/// The node running the front end, agreed by the daemon's view and the
/// ground truth: the VIP on that node only, and oned and every web service
/// answering through it.
fn front_end_on(c: &Cluster, asking: &str) -> Option<String> {
    let n = group_node(c, asking)?;
    let vip = c.vip();
    (c.vip_holders() == vec![n.clone()]
        && oned_answers(&vip, Duration::from_millis(500))
        && all_web_answer(&vip, Duration::from_millis(500)))
    .then_some(n)
}

/// Whether `pid` is a live process (not gone, not a zombie).
fn pid_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
    }
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[test]
fn opennebula_lab() {
    if !available() {
        return;
    }
    let started = Instant::now();
    let spec = LabSpec {
        stem: "on".into(),
        tag: 1,
    };
    let mut c = Cluster::up_with(&spec, write_cib);
    c.wait_converged(&NODES, S(60));
    let mut active = String::new();
    c.wait_for(
        "the front end started on one node",
        S(60),
        |c| match front_end_on(c, "n1") {
            Some(n) => {
                active = n;
                true
            }
            None => false,
        },
    );
    eprintln!(
        "opennebula_lab: front end on {active} after {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let fenced = kill_active(&mut c, &active);
    active = other(&fenced).to_string();
    eprintln!(
        "opennebula_lab: (a) failover done after {:.1}s",
        started.elapsed().as_secs_f64()
    );
    // The fenced node boots again and rejoins; stickiness keeps the front end.
    c.boot(&fenced);
    c.wait_converged(&NODES, S(60));
    assert_eq!(front_end_on(&c, &fenced).as_deref(), Some(active.as_str()));

    oned_hangs(&mut c, &active);
    eprintln!(
        "opennebula_lab: (b) hung oned recovered after {:.1}s",
        started.elapsed().as_secs_f64()
    );
    split(&mut c);
    eprintln!(
        "opennebula_lab: (c) split done after {:.1}s",
        started.elapsed().as_secs_f64()
    );
    no_secrets(&c);
}

/// (a) Kills the active node; returns it (the node that was fenced).
fn kill_active(c: &mut Cluster, active: &str) -> String {
    let survivor = other(active);
    let fence_from = c.fence_log().len();
    let oned_log = fake_file(c, survivor, "oned", "log");
    let oned_log_from = std::fs::read_to_string(&oned_log).unwrap_or_default().len();
    let killed_at = c.kill_timed(active);
    let vip = c.vip();
    let (mut vip_at, mut oned_at, mut web_at) = (None, None, None);
    let deadline = Instant::now() + S(60);
    while web_at.is_none() {
        assert!(
            Instant::now() < deadline,
            "the front end did not come back on {survivor} within 60 s (VIP {vip_at:?}, oned {oned_at:?})\n{}",
            c.log_tails(60)
        );
        if vip_at.is_none() && c.vip_answers(Duration::from_millis(200)) {
            vip_at = Some(epoch_now());
        }
        if vip_at.is_some() && oned_at.is_none() && oned_answers(&vip, Duration::from_millis(500)) {
            oned_at = Some(epoch_now());
        }
        if oned_at.is_some() && all_web_answer(&vip, Duration::from_millis(500)) {
            web_at = Some(epoch_now());
        }
        nap(50);
    }
    assert_eq!(c.vip_holders(), vec![survivor.to_string()]);
    // The services answer as soon as they listen; the start results reach
    // the CIB a moment later.
    c.wait_for(&format!("the group recorded on {survivor}"), S(20), |c| {
        front_end_on(c, survivor).as_deref() == Some(survivor)
    });
    // fencelab powered the killed node off over its iLO (a reboot done as
    // off, then on), and nothing else.
    c.wait_for(&format!("{active} powered on again"), S(30), |c| {
        c.fence_log()[fence_from..]
            .iter()
            .any(|a| a.node == active && a.action == "on")
    });
    let log = c.fence_log();
    let actions: Vec<(String, String, String)> = log[fence_from..]
        .iter()
        .map(|a| (a.node.clone(), a.action.clone(), a.result.clone()))
        .collect();
    assert_eq!(
        actions.first(),
        Some(&(active.to_string(), "off".to_string(), "ok".to_string())),
        "fence log: {actions:?}"
    );
    assert!(
        actions.iter().all(|(n, _, _)| n == active),
        "only {active} is power-cycled: {actions:?}"
    );
    let raw = std::fs::read_to_string(c.dir.join("fencelab/fence.log")).unwrap();
    let off_line = raw
        .lines()
        .rfind(|l| l.contains(&format!("node={active} ")) && l.contains("action=off"))
        .unwrap();
    assert!(
        off_line.contains("device=ilo"),
        "fenced through the iLO: {off_line}"
    );
    let off_at = log[fence_from].epoch;
    // The survivor's log: fenced, then the group's starts in order, after
    // the power-off.
    let lines =
        c.fenced_then_started_in_order(survivor, active, killed_at, off_at, "the iLO", &GROUP);
    // The agent's post-failover step: after the start it listed the VMs
    // (to name those a lost driver operation left in a transient state),
    // with the administrator's session.
    let calls = std::fs::read_to_string(&oned_log).unwrap();
    assert!(
        calls[oned_log_from..].contains("CALL one.vmpool.info auth=ok"),
        "oned's start on {survivor} listed no VMs:\n{calls}"
    );
    // ... and the VMs to look at reach the survivor's log with the hint.
    let hints: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("opennebula_start_0") && l.contains("onevm recover"))
        .collect();
    assert!(
        !hints.is_empty(),
        "no 'onevm recover' hint in {survivor}'s log:\n{}",
        lines.join("\n")
    );
    let (vip_at, oned_at, web_at) = (vip_at.unwrap(), oned_at.unwrap(), web_at.unwrap());
    eprintln!(
        "opennebula_lab: failover timings ({active} killed, fence_ilo_ssh delay {}s, power_wait 1s): \
         iLO power-off +{:.2}s, VIP answers +{:.2}s, oned answers +{:.2}s, all web services answer +{:.2}s",
        if active == "n1" { 3 } else { 0 },
        off_at - killed_at,
        vip_at - killed_at,
        oned_at - killed_at,
        web_at - killed_at
    );
    c.wait_converged(&[survivor], S(30));
    active.to_string()
}

/// (b) The fake oned on `active` stopped with SIGSTOP: alive, port open,
/// silent. The monitor fails, oned is recovered in place (stickiness, no
/// migration-threshold), the stopped process is gone, and the failure
/// shows in the status.
fn oned_hangs(c: &mut Cluster, active: &str) {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let pid_file = fake_file(c, active, "oned", "pid");
    let pid = read_pid(&pid_file).unwrap_or_else(|| panic!("no PID in {}", pid_file.display()));
    assert!(pid_alive(pid), "the fake oned ({pid}) runs on {active}");
    let vip = c.vip();
    let since = epoch_now();
    kill(Pid::from_raw(pid), Signal::SIGSTOP).unwrap();
    assert!(
        !oned_answers(&vip, Duration::from_millis(1_000)),
        "a stopped oned still answers"
    );
    assert!(pid_alive(pid), "SIGSTOP keeps the process");
    let failed = format!("monitor of opennebula on {active} failed");
    let mut detected_at = 0.0;
    c.wait_for("oned's monitor failure", S(30), |c| {
        NODES.iter().any(|n| {
            let log = c.daemon_log(n);
            match lines_since(&log, since)
                .into_iter()
                .find(|l| l.contains(&failed))
            {
                Some(l) => {
                    detected_at = line_epoch(l).unwrap_or(0.0);
                    true
                }
                None => false,
            }
        })
    });
    let mut back_at = 0.0;
    c.wait_for(&format!("oned answering again on {active}"), S(45), |c| {
        if front_end_on(c, active).as_deref() == Some(active) {
            back_at = epoch_now();
            true
        } else {
            false
        }
    });
    assert!(
        !pid_alive(pid),
        "the hung oned ({pid}) was left behind on {active}"
    );
    let new_pid = read_pid(&pid_file).unwrap();
    assert_ne!(new_pid, pid, "a new oned runs");
    assert!(pid_alive(new_pid));
    eprintln!(
        "opennebula_lab: oned hung on {active}: monitor failed +{:.2}s, answers again +{:.2}s",
        detected_at - since,
        back_at - since
    );
    c.wait_converged(&NODES, S(30));
    // The failure is in the status: a fail count on the node, and the
    // failed monitor among the failed actions `warden status` lists.
    let cib = c.cib(active).expect("the CIB");
    let fail_counts: Vec<(String, String)> = cib
        .status
        .node_states
        .iter()
        .filter(|ns| ns.uname.as_deref() == Some(active))
        .flat_map(|ns| ns.transient.iter())
        .flat_map(|t| t.sets.iter())
        .flat_map(|s| s.pairs.iter())
        .filter(|p| p.name.starts_with("fail-count-opennebula#"))
        .map(|p| (p.name.clone(), p.value.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        fail_counts,
        vec![(
            format!("fail-count-opennebula#monitor_{}", ONED_MONITOR_S * 1000),
            "1".to_string()
        )],
        "oned's fail count on {active}"
    );
    let view = warden::status::build(&cib, warden::shell::clock::now());
    let failed: Vec<&warden::status::FailedAction> = view
        .failed_actions
        .iter()
        .filter(|f| f.resource == "opennebula")
        .collect();
    assert!(
        failed
            .iter()
            .any(|f| f.task == "monitor" && f.node == active && f.rc == 1),
        "the failed monitor in the status: {:?}",
        view.failed_actions
    );
    let text = warden::status::text::render(&view);
    assert!(
        text.contains(&format!(
            "opennebula {ONED_MONITOR_S}s-interval monitor on {active} returned 'error'"
        )),
        "{text}"
    );
    eprintln!("opennebula_lab: status after the recovery:\n{text}");
}

/// (c) 1|1 split: n2 is fenced (n1's device carries the delay), n1 runs the
/// front end, and the VIP is never held by both nodes, polled throughout.
fn split(c: &mut Cluster) {
    let fence_from = c.fence_log().len();
    c.lab_ok(&["partition", "n1", "n2"]);
    let split_at = epoch_now();
    let deadline = Instant::now() + S(60);
    let (mut both, mut polls) = (0, 0);
    loop {
        let holders = c.vip_holders();
        polls += 1;
        if holders.len() > 1 {
            both += 1;
        }
        let done = c.fence_log()[fence_from..]
            .iter()
            .any(|a| a.node == "n2" && a.action == "off")
            && holders == vec!["n1".to_string()]
            && group_node(c, "n1").as_deref() == Some("n1");
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "n1 did not win the split within 60 s\n{}",
            c.log_tails(60)
        );
        nap(50);
    }
    // Keep watching until n1 serves the front end and a while after: n2's
    // delayed fencing of n1 must never go through.
    let mut serving_at = None;
    let watch_until = Instant::now() + S(5);
    while serving_at.is_none() || Instant::now() < watch_until {
        let holders = c.vip_holders();
        polls += 1;
        if holders.len() > 1 {
            both += 1;
        }
        if serving_at.is_none() && front_end_on(c, "n1").as_deref() == Some("n1") {
            serving_at = Some(epoch_now());
        }
        assert!(
            Instant::now() < deadline + S(30),
            "the front end does not answer on n1 after the split\n{}",
            c.log_tails(60)
        );
        nap(50);
    }
    assert_eq!(
        both, 0,
        "the VIP was on both nodes in {both} of {polls} polls"
    );
    let offs: Vec<String> = c.fence_log()[fence_from..]
        .iter()
        .filter(|a| a.action == "off")
        .map(|a| a.node.clone())
        .collect();
    assert_eq!(offs, vec!["n2".to_string()], "exactly n2 is fenced");
    eprintln!(
        "opennebula_lab: split: front end answering on n1 +{:.2}s ({polls} polls, VIP never on both)",
        serving_at.unwrap() - split_at
    );
    c.wait_converged(&["n1"], S(30));
}

/// Neither the iLO password nor oned's session in any daemon's log, and
/// the fake oned never saw its password on a command line or in an
/// environment.
fn no_secrets(c: &Cluster) {
    let password = ONE_AUTH.split_once(':').unwrap().1;
    for n in NODES {
        let log = c.daemon_log(n);
        assert!(
            !log.contains(BMC_PASSWORD),
            "{n}'s log shows the iLO password"
        );
        assert!(!log.contains(password), "{n}'s log shows oned's password");
        let fake = std::fs::read_to_string(fake_file(c, n, "oned", "log")).unwrap_or_default();
        assert!(
            !fake.contains("SECRET-EXPOSED"),
            "oned's password was exposed on {n}:\n{fake}"
        );
    }
}
