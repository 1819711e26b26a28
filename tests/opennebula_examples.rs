//! The OpenNebula example deployments, `examples/opennebula-two-node/` and
//! `examples/opennebula-three-node/`, checked as an operator would use them:
//! each `setup.sh`, run with the built binary, writes the committed
//! `cib.xml` (in every FENCE/WEB variant it offers); the CIBs parse, pass
//! `warden cib verify` and Pacemaker's `crm_verify`; `corosync.conf` is what
//! `warden cluster setup` writes and corosync's own parser accepts it; and
//! `warden simulate` (with `crm_simulate` beside it when installed) places
//! the front end as one group, in order, and recovers it correctly when
//! nodes are lost.
//!
//! The scenario inputs (`active-lost.xml`, `two-nodes-lost.xml`) are generated here from
//! the committed CIB, a list of nodes and where each resource ran; the
//! committed copies must equal the generated ones (`UPDATE_EXPECT=1`
//! rewrites them). The expected decisions are written out by hand below.

mod cli_support;

use cli_support::*;
use md5::Digest as _;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use warden::core::cib::{self, Cib, SetKind};

const TWO: &str = "examples/opennebula-two-node";
const THREE: &str = "examples/opennebula-three-node";

/// The group members in the order they must start (the default WEB=sunstone).
const FRONTEND: [&str; 6] = [
    "Cluster_VIP",
    "opennebula",
    "opennebula-sunstone",
    "opennebula-novnc",
    "opennebula-gate",
    "opennebula-flow",
];

/// Says that the part of the running test that needs a missing tool did not
/// run (the rest of the test did).
fn skip_part(what: &str, why: &str) {
    let current = std::thread::current();
    let test = current.name().unwrap_or("opennebula_examples");
    eprintln!("SKIP {test} ({what}): {why}");
}

// ---- running setup.sh ----------------------------------------------------------

/// What `setup.sh` needs on this machine, or why it cannot run here.
fn setup_needs() -> Result<(), String> {
    for p in [
        "/bin/sh",
        "/usr/lib/ocf/resource.d/heartbeat/IPaddr2",
        "/usr/sbin/fence_ilo_ssh",
        "/usr/sbin/fence_ipmilan",
    ] {
        if !Path::new(p).exists() {
            return Err(format!(
                "{p} is not installed (setup.sh reads its metadata; packages resource-agents, fence-agents)"
            ));
        }
    }
    Ok(())
}

/// A private `OCF_ROOT` with the machine's heartbeat agents (IPaddr2) and
/// this project's OpenNebula agents, as `contrib/install.sh` lays them out.
fn ocf_root(scratch: &Scratch) -> PathBuf {
    let root = scratch.file("ocf");
    fs::create_dir_all(root.join("resource.d")).unwrap();
    let agents = Path::new(env!("CARGO_MANIFEST_DIR")).join("agents");
    let links = [
        (
            Path::new("/usr/lib/ocf/lib").to_path_buf(),
            root.join("lib"),
        ),
        (
            Path::new("/usr/lib/ocf/resource.d/heartbeat").to_path_buf(),
            root.join("resource.d/heartbeat"),
        ),
        (agents, root.join("resource.d/opennebula")),
    ];
    for (target, link) in links {
        std::os::unix::fs::symlink(target, link).unwrap();
    }
    root
}

/// Runs `sh DIR/setup.sh ARGS` with the built binary and `env`.
fn run_setup(dir: &str, ocf: &Path, args: &[&Path], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg(format!("{dir}/setup.sh"))
        .args(args)
        .env("WARDEN", warden_bin())
        .env("OCF_ROOT", ocf)
        .env_remove("CIB_file");
    for var in [
        "FENCE",
        "WEB",
        "NODE1",
        "NODE2",
        "NODE3",
        "VIP",
        "CIDR",
        "BMC1",
        "BMC2",
        "BMC3",
        "FENCE_LOGIN",
        "FENCE_SECRETS",
        "DELAY1",
        "DELAY2",
        "REBOOT_TIMEOUT",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn parse(path: &Path) -> Cib {
    let text = fs::read_to_string(path).unwrap();
    let parsed = cib::parse(&text, &path.display().to_string());
    assert!(
        !parsed.has_errors(),
        "{}: {:?}",
        path.display(),
        parsed.diagnostics
    );
    parsed.cib.unwrap()
}

fn param<'a>(cib: &'a Cib, rsc: &str, name: &str) -> Option<&'a str> {
    let p = cib
        .configuration
        .primitive(rsc)
        .unwrap_or_else(|| panic!("no resource {rsc}"));
    p.sets
        .iter()
        .filter(|s| s.kind == SetKind::Instance)
        .find_map(|s| s.get(name))
}

/// The ids of the group's members, in order.
fn members(cib: &Cib, group: &str) -> Vec<String> {
    let g = cib
        .configuration
        .groups()
        .find(|g| g.id == group)
        .unwrap_or_else(|| panic!("no group {group}"));
    g.primitives.iter().map(|p| p.id.clone()).collect()
}

fn group_meta<'a>(cib: &'a Cib, group: &str, name: &str) -> Option<&'a str> {
    let g = cib.configuration.groups().find(|g| g.id == group)?;
    g.sets
        .iter()
        .filter(|s| s.kind == SetKind::Meta)
        .find_map(|s| s.get(name))
}

#[test]
fn setup_scripts_write_the_committed_cibs() {
    if let Err(why) = setup_needs() {
        eprintln!("SKIP setup_scripts_write_the_committed_cibs: {why}");
        return;
    }
    let scratch = Scratch::new("one-examples-setup");
    let ocf = ocf_root(&scratch);
    for dir in [TWO, THREE] {
        let out_file = scratch.file(&format!("{}.xml", dir.replace('/', "-")));
        let out = run_setup(dir, &ocf, &[&out_file], &[]);
        assert!(
            out.status.success(),
            "{dir}/setup.sh failed:\n{}",
            stderr(&out)
        );
        // warden writes no timestamps, and the same commands give the same
        // epoch: the files are equal byte for byte.
        assert_eq!(
            fs::read_to_string(&out_file).unwrap(),
            fs::read_to_string(format!("{dir}/cib.xml")).unwrap(),
            "{dir}/setup.sh no longer writes {dir}/cib.xml: rerun it \
             (WARDEN=target/debug/warden OCF_ROOT=<heartbeat + agents/> sh {dir}/setup.sh) and review the diff"
        );
        assert!(
            !scratch.dir.read_dir().unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".new.")),
            "setup.sh left its temporary file behind"
        );
    }
}

#[test]
fn setup_variants_fence_with_ipmi_and_serve_fireedge() {
    if let Err(why) = setup_needs() {
        eprintln!("SKIP setup_variants_fence_with_ipmi_and_serve_fireedge: {why}");
        return;
    }
    let scratch = Scratch::new("one-examples-variants");
    let ocf = ocf_root(&scratch);
    for (dir, nodes) in [(TWO, 2), (THREE, 3)] {
        let file = scratch.file(&format!("{nodes}-ipmi-fireedge.xml"));
        let out = run_setup(
            dir,
            &ocf,
            &[&file],
            &[("FENCE", "ipmi"), ("WEB", "fireedge")],
        );
        assert!(out.status.success(), "{dir}: {}", stderr(&out));
        let cib = parse(&file);
        for i in 1..=nodes {
            let dev = format!("fence_server{i}");
            let p = cib.configuration.primitive(&dev).unwrap();
            assert_eq!(p.kind.as_deref(), Some("fence_ipmilan"), "{dir} {dev}");
            assert_eq!(param(&cib, &dev, "lanplus"), Some("1"), "{dir} {dev}");
            assert_eq!(param(&cib, &dev, "ssh"), None, "{dir} {dev}");
            assert_eq!(
                param(&cib, &dev, "pcmk_host_list"),
                Some(format!("one-server{i}").as_str())
            );
        }
        assert_eq!(
            members(&cib, "opennebula-frontend"),
            [
                "Cluster_VIP",
                "opennebula",
                "opennebula-fireedge",
                "opennebula-gate",
                "opennebula-flow"
            ],
            "{dir}"
        );
        let fireedge = cib.configuration.primitive("opennebula-fireedge").unwrap();
        assert_eq!(
            (fireedge.provider.as_deref(), fireedge.kind.as_deref()),
            (Some("opennebula"), Some("fireedge"))
        );
        assert_verified(&file);
    }
}

#[test]
fn setup_refuses_unknown_choices_and_keeps_the_old_file() {
    if let Err(why) = setup_needs() {
        eprintln!("SKIP setup_refuses_unknown_choices_and_keeps_the_old_file: {why}");
        return;
    }
    let scratch = Scratch::new("one-examples-bad");
    let ocf = ocf_root(&scratch);
    let file = scratch.file("cib.xml");
    for dir in [TWO, THREE] {
        fs::write(&file, "the operator's file").unwrap();
        for (env, needle) in [
            (("FENCE", "drac"), "FENCE='drac' is not known: expected ilo"),
            (
                ("WEB", "apache"),
                "WEB='apache' is not known: expected sunstone",
            ),
        ] {
            let out = run_setup(dir, &ocf, &[&file], &[env]);
            assert_eq!(out.status.code(), Some(2), "{dir} {env:?}");
            assert!(stderr(&out).contains(needle), "{dir}: {}", stderr(&out));
            assert_eq!(fs::read_to_string(&file).unwrap(), "the operator's file");
        }
        // A step that fails half-way (no IPaddr2 where OCF_ROOT points)
        // leaves the old file too.
        let empty = scratch.file("empty-ocf");
        fs::create_dir_all(&empty).unwrap();
        let out = run_setup(dir, &empty, &[&file], &[]);
        assert!(!out.status.success(), "{dir}");
        assert!(stderr(&out).contains("IPaddr2"), "{dir}: {}", stderr(&out));
        assert_eq!(fs::read_to_string(&file).unwrap(), "the operator's file");
        // --live needs the daemon; without one it says so and writes
        // nothing.
        let sock = scratch.file("no-daemon.sock");
        let out = run_setup(
            dir,
            &ocf,
            &[Path::new("--live")],
            &[("WARDEN_SOCKET", sock.to_str().unwrap())],
        );
        assert_eq!(out.status.code(), Some(1), "{dir}");
        assert!(
            stderr(&out).contains(&format!("no socket at {}", sock.display())),
            "{dir}: {}",
            stderr(&out)
        );
        assert!(!Path::new(&format!("{dir}/--live")).exists());
        let out = run_setup(dir, &ocf, &[Path::new("--dry")], &[]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("unknown option '--dry'"),
            "{}",
            stderr(&out)
        );
    }
}

// ---- the committed configuration ---------------------------------------------

/// `warden cib verify` and, when installed, Pacemaker's `crm_verify` accept
/// the file.
fn assert_verified(file: &Path) {
    let out = warden(&["cib", "verify", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "warden cib verify {}:\n{}{}",
        file.display(),
        stdout(&out),
        stderr(&out)
    );
    let report = format!("{}{}", stdout(&out), stderr(&out));
    assert!(report.contains("0 errors"), "{report}");
    if !have("crm_verify") {
        skip_part(
            "crm_verify",
            "crm_verify is not installed (package pacemaker-cli-utils)",
        );
    } else {
        let out = Command::new("crm_verify")
            .arg("-V")
            .arg("-x")
            .arg(file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "crm_verify -x {}:\n{}{}",
            file.display(),
            stdout(&out),
            stderr(&out)
        );
    }
}

#[test]
fn committed_cibs_verify_with_warden_and_pacemaker() {
    for dir in [TWO, THREE] {
        assert_verified(Path::new(&format!("{dir}/cib.xml")));
    }
}

#[test]
fn two_node_cib_holds_the_guides_deployment() {
    let cib = parse(Path::new(&format!("{TWO}/cib.xml")));
    let c = &cib.configuration;
    assert_eq!(c.property("no-quorum-policy"), Some("ignore"));
    assert_eq!(members(&cib, "opennebula-frontend"), FRONTEND);
    for id in FRONTEND.iter().skip(1) {
        let p = c.primitive(id).unwrap();
        assert_eq!(p.class.as_deref(), Some("ocf"), "{id}");
        assert_eq!(p.provider.as_deref(), Some("opennebula"), "{id}");
    }
    assert_eq!(
        c.primitive("Cluster_VIP").unwrap().kind.as_deref(),
        Some("IPaddr2")
    );
    assert_eq!(param(&cib, "Cluster_VIP", "ip"), Some("10.3.4.2"));
    assert_eq!(
        group_meta(&cib, "opennebula-frontend", "resource-stickiness"),
        Some("100")
    );
    assert_eq!(
        group_meta(&cib, "opennebula-frontend", "migration-threshold"),
        Some("3")
    );
    // The device fencing one-server1 waits longest: one-server1 wins a race.
    assert_eq!(param(&cib, "fence_server1", "delay"), Some("30"));
    assert_eq!(param(&cib, "fence_server2", "delay"), Some("15"));
    // The agent sleeps its delay inside the action: the action's timeout
    // covers both (Pacemaker adds only pcmk_delay_* to it by itself).
    for dev in ["fence_server1", "fence_server2"] {
        assert_eq!(param(&cib, dev, "pcmk_reboot_timeout"), Some("90s"));
    }
    assert_fencing(&cib, 2, "fence_ilo_ssh");
}

#[test]
fn three_node_cib_relies_on_quorum() {
    let cib = parse(Path::new(&format!("{THREE}/cib.xml")));
    let c = &cib.configuration;
    // stop, the default: a node without quorum stops the front end.
    assert_eq!(c.property("no-quorum-policy"), None);
    assert_eq!(members(&cib, "opennebula-frontend"), FRONTEND);
    for i in 1..=3 {
        assert_eq!(param(&cib, &format!("fence_server{i}"), "delay"), None);
    }
    assert_eq!(
        group_meta(&cib, "opennebula-frontend", "resource-stickiness"),
        Some("100")
    );
    assert_fencing(&cib, 3, "fence_ilo_ssh");
}

/// One device per node, reading its password from a file: no password in
/// the CIB, and no constraint (a device may be used by any node but its
/// target, wherever it runs).
fn assert_fencing(cib: &Cib, nodes: usize, agent: &str) {
    let c = &cib.configuration;
    assert!(c.constraints.is_empty(), "{:?}", c.constraints);
    for i in 1..=nodes {
        let dev = format!("fence_server{i}");
        let node = format!("one-server{i}");
        let p = c.primitive(&dev).unwrap();
        assert_eq!(p.class.as_deref(), Some("stonith"));
        assert_eq!(p.kind.as_deref(), Some(agent));
        assert_eq!(param(cib, &dev, "pcmk_host_list"), Some(node.as_str()));
        assert_eq!(
            param(cib, &dev, "password_script"),
            Some(format!("cat /etc/warden/fence/{node}.password").as_str())
        );
        for secret in ["password", "passwd"] {
            assert_eq!(param(cib, &dev, secret), None, "{dev}");
        }
    }
}

#[test]
fn corosync_conf_is_what_cluster_setup_writes() {
    let scratch = Scratch::new("one-examples-corosync");
    for (dir, nodes) in [(TWO, 2), (THREE, 3)] {
        let file = scratch.file(&format!("corosync-{nodes}.conf"));
        let mut args = vec!["cluster".to_string(), "setup".into(), "opennebula".into()];
        for i in 1..=nodes {
            args.push(format!("one-server{i}"));
            args.push(format!("addr=10.3.4.1{i}"));
            args.push(format!("addr=192.168.100.1{i}"));
        }
        args.extend(["--corosync-conf".into(), file.display().to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(warden(&args), "warden cluster setup --corosync-conf");
        let written = fs::read_to_string(&file).unwrap();
        let committed = fs::read_to_string(format!("{dir}/corosync.conf")).unwrap();
        assert_eq!(
            written, committed,
            "{dir}/corosync.conf is no longer what 'warden cluster setup' writes"
        );
        assert!(committed.contains("    transport: knet\n"), "{dir}");
        assert!(committed.contains("    crypto_cipher: aes256\n"), "{dir}");
        assert_eq!(
            committed.contains("    two_node: 1\n"),
            nodes == 2,
            "{dir}: two_node belongs to two-node clusters only"
        );
        corosync_accepts(&scratch, &committed, &format!("{dir}/corosync.conf"));
    }
}

/// corosync's own parser (`corosync -t`) accepts the file, with this
/// machine's loopback as the first node's address (corosync checks that
/// the local host is in the nodelist) and a scratch authkey.
fn corosync_accepts(scratch: &Scratch, conf: &str, name: &str) {
    let Some(corosync) = ["/usr/sbin/corosync", "/sbin/corosync"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        skip_part(
            "corosync -t",
            "corosync is not installed (package corosync)",
        );
        return;
    };
    let key = scratch.file("authkey");
    fs::write(&key, [7u8; 256]).unwrap();
    let local = conf
        .replacen("ring0_addr: 10.3.4.11", "ring0_addr: 127.0.0.1", 1)
        .replacen("ring1_addr: 192.168.100.11", "ring1_addr: 127.0.0.2", 1)
        .replacen(
            "    crypto_hash: sha256\n",
            &format!("    crypto_hash: sha256\n    keyfile: {}\n", key.display()),
            1,
        );
    assert_ne!(local, conf, "{name}: the substitutions no longer apply");
    let file = scratch.file("corosync-local.conf");
    fs::write(&file, local).unwrap();
    let out = Command::new(corosync)
        .arg("-t")
        .arg("-c")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "corosync -t rejects {name}:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
}

// ---- scenarios: generated inputs, expected decisions -----------------------------

/// A cluster state to simulate: the example's CIB with its nodes, some lost,
/// and an operation history saying where each resource ran.
struct Scenario {
    dir: &'static str,
    /// Committed as `DIR/FILE` (the README's commands use them).
    file: &'static str,
    /// All nodes, in id order, and whether each is still a member.
    nodes: &'static [(&'static str, bool)],
    /// Where the front end ran (all members of the group); empty: nothing
    /// ran anywhere, and nothing was probed yet.
    frontend_on: &'static str,
    /// Where each fence device ran.
    fencing_on: &'static [(&'static str, &'static str)],
    have_quorum: bool,
    /// Failures recorded on a node: node, resource, operation key
    /// (`monitor_20000`), count.
    failures: Option<(&'static str, &'static str, &'static str, u32)>,
}

fn scenarios() -> Vec<Scenario> {
    vec![
        // The README's: the active node of the two is lost.
        Scenario {
            dir: TWO,
            file: "active-lost.xml",
            nodes: &[("one-server1", false), ("one-server2", true)],
            frontend_on: "one-server1",
            fencing_on: &[
                ("fence_server1", "one-server2"),
                ("fence_server2", "one-server1"),
            ],
            // two_node: the survivor keeps quorum.
            have_quorum: true,
            failures: None,
        },
        // Three nodes, the active one lost: two of three keep quorum.
        Scenario {
            dir: THREE,
            file: "active-lost.xml",
            nodes: &[
                ("one-server1", false),
                ("one-server2", true),
                ("one-server3", true),
            ],
            frontend_on: "one-server1",
            fencing_on: THREE_FENCING,
            have_quorum: true,
            failures: None,
        },
        // Three nodes, two lost: the one left, which runs the front end,
        // has no quorum (it may be the one cut off).
        Scenario {
            dir: THREE,
            file: "two-nodes-lost.xml",
            nodes: &[
                ("one-server1", false),
                ("one-server2", false),
                ("one-server3", true),
            ],
            frontend_on: "one-server3",
            fencing_on: THREE_FENCING,
            have_quorum: false,
            failures: None,
        },
    ]
}

const THREE_FENCING: &[(&str, &str)] = &[
    ("fence_server1", "one-server2"),
    ("fence_server2", "one-server3"),
    ("fence_server3", "one-server1"),
];

/// One primitive as the history needs it.
struct Rsc {
    id: String,
    class: String,
    provider: Option<String>,
    kind: String,
    /// Its instance attributes.
    params: BTreeMap<String, String>,
    /// Recurring monitors: interval, timeout (both ms) and the operation's
    /// own instance attributes (`OCF_CHECK_LEVEL`).
    monitors: Vec<(u64, u64, BTreeMap<String, String>)>,
}

/// "20s" → 20000: the examples write every duration in seconds.
fn secs_ms(s: &str) -> u64 {
    1000 * s
        .strip_suffix('s')
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("'{s}' is not in whole seconds"))
}

fn pairs(sets: &[cib::NvSet]) -> BTreeMap<String, String> {
    sets.iter()
        .filter(|s| s.kind == SetKind::Instance)
        .flat_map(|s| &s.pairs)
        .map(|p| (p.name.clone(), p.value.clone().unwrap_or_default()))
        .collect()
}

fn resources(cib: &Cib) -> Vec<Rsc> {
    cib.configuration
        .primitives()
        .map(|p| Rsc {
            id: p.id.clone(),
            class: p.class.clone().unwrap(),
            provider: p.provider.clone(),
            kind: p.kind.clone().unwrap(),
            params: pairs(&p.sets),
            monitors: p
                .operations
                .iter()
                .flat_map(|o| &o.ops)
                .filter(|op| op.name == "monitor")
                .map(|op| {
                    (
                        secs_ms(op.interval.as_deref().unwrap()),
                        // Pacemaker's default operation timeout.
                        op.timeout.as_deref().map_or(20_000, secs_ms),
                        pairs(&op.sets),
                    )
                })
                .collect(),
        })
        .collect()
}

/// An operation's `op-digest` as Pacemaker records it: the MD5 of
/// ` <parameters NAME="VALUE".../>` and a newline, the names sorted, over
/// the resource's and the operation's instance attributes and, for a
/// recurring operation, its timeout as `CRM_meta_timeout` (no value here
/// needs XML escaping). crm_simulate, when installed, checks them: a wrong
/// digest shows as "due to resource definition change".
fn op_digest(
    rsc: &BTreeMap<String, String>,
    op: &BTreeMap<String, String>,
    timeout_ms: Option<u64>,
) -> String {
    let mut all = rsc.clone();
    all.extend(op.iter().map(|(k, v)| (k.clone(), v.clone())));
    if let Some(t) = timeout_ms {
        all.insert("CRM_meta_timeout".into(), t.to_string());
    }
    let mut text = String::from(" <parameters");
    for (k, v) in &all {
        assert!(
            !v.contains(['&', '<', '>', '"', '\'']),
            "{k}={v} needs escaping"
        );
        text += &format!(" {k}=\"{v}\"");
    }
    text += "/>\n";
    md5::Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The feature set the generated history is written with, on the root too:
/// Pacemaker 2.1.5's (Debian 12), whose crm_simulate refuses to update a
/// CIB that claims a newer one.
const FEATURE_SET: &str = "3.16.1";

/// The scenario's CIB: the committed configuration with `<nodes>`, quorum
/// and DC on the root element, and a status section where every resource
/// was started (and monitored) where the scenario says and probed as
/// stopped on every other node.
fn generate(s: &Scenario) -> String {
    let config = fs::read_to_string(format!("{}/cib.xml", s.dir)).unwrap();
    let rscs = resources(&parse(Path::new(&format!("{}/cib.xml", s.dir))));
    let dc = 1 + s.nodes.iter().position(|(_, up)| *up).unwrap();
    let root_end = "admin_epoch=\"0\">";
    assert!(config.contains(root_end), "{}: root element changed", s.dir);
    let mut nodes = String::from("<nodes>\n");
    for (i, (name, _)) in s.nodes.iter().enumerate() {
        nodes += &format!("      <node id=\"{}\" uname=\"{name}\"/>\n", i + 1);
    }
    nodes += "    </nodes>";
    let mut status = String::from("<status>\n");
    let uuid = "4c1e7b3a-0000-4000-8000-000000000001";
    let mut clock = 1_748_732_400u64;
    for (i, (name, up)) in s.nodes.iter().enumerate() {
        let id = i + 1;
        let (ccm, crmd) = if *up {
            ("true", "online")
        } else {
            ("false", "offline")
        };
        status += &format!(
            "    <node_state id=\"{id}\" uname=\"{name}\" in_ccm=\"{ccm}\" crmd=\"{crmd}\" crm-debug-origin=\"do_update_resource\" join=\"member\" expected=\"member\">\n"
        );
        if let Some((_, rsc, op, count)) = s.failures.filter(|f| f.0 == *name) {
            status += &format!(
                "      <transient_attributes id=\"{id}\">\n        <instance_attributes id=\"status-{id}\">\n          <nvpair id=\"status-{id}-fail-count-{rsc}.{op}\" name=\"fail-count-{rsc}#{op}\" value=\"{count}\"/>\n          <nvpair id=\"status-{id}-last-failure-{rsc}.{op}\" name=\"last-failure-{rsc}#{op}\" value=\"{clock}\"/>\n        </instance_attributes>\n      </transient_attributes>\n"
            );
        }
        status += &format!("      <lrm id=\"{id}\">\n        <lrm_resources>\n");
        let mut call = 0;
        let history = if s.frontend_on.is_empty() {
            &[][..]
        } else {
            &rscs[..]
        };
        for r in history {
            let here = if r.class == "stonith" {
                s.fencing_on.iter().any(|(d, n)| *d == r.id && n == name)
            } else {
                s.frontend_on == *name
            };
            let provider = r
                .provider
                .as_ref()
                .map(|p| format!(" provider=\"{p}\""))
                .unwrap_or_default();
            status += &format!(
                "          <lrm_resource id=\"{}\" class=\"{}\"{provider} type=\"{}\">\n",
                r.id, r.class, r.kind
            );
            let mut op = |key: String,
                          op_id: String,
                          name: &str,
                          rc: u8,
                          interval: u64,
                          digest: String| {
                call += 1;
                clock += 1;
                let expected = if rc == 7 { 7 } else { 0 };
                let tkey = format!("{call}:1:{expected}:{uuid}");
                status += &format!(
                    "            <lrm_rsc_op id=\"{op_id}\" operation_key=\"{key}\" operation=\"{name}\" crm-debug-origin=\"do_update_resource\" crm_feature_set=\"{FEATURE_SET}\" transition-key=\"{tkey}\" transition-magic=\"0:{rc};{tkey}\" exit-reason=\"\" call-id=\"{call}\" rc-code=\"{rc}\" op-status=\"0\" interval=\"{interval}\" last-rc-change=\"{clock}\" exec-time=\"12\" queue-time=\"0\" op-digest=\"{digest}\"/>\n"
                );
            };
            let none = BTreeMap::new();
            if here {
                op(
                    format!("{}_start_0", r.id),
                    format!("{}_last_0", r.id),
                    "start",
                    0,
                    0,
                    op_digest(&r.params, &none, None),
                );
                for (ms, timeout_ms, own) in &r.monitors {
                    let key = format!("{}_monitor_{ms}", r.id);
                    let digest = op_digest(&r.params, own, Some(*timeout_ms));
                    op(key.clone(), key, "monitor", 0, *ms, digest);
                }
            } else {
                op(
                    format!("{}_monitor_0", r.id),
                    format!("{}_last_0", r.id),
                    "monitor",
                    7,
                    0,
                    op_digest(&r.params, &none, None),
                );
            }
            status += "          </lrm_resource>\n";
        }
        status += "        </lrm_resources>\n      </lrm>\n    </node_state>\n";
    }
    status += "  </status>";
    let first_line = config.lines().next().unwrap();
    let set = first_line
        .split("crm_feature_set=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("{}: no crm_feature_set on the root", s.dir));
    let root = format!("crm_feature_set=\"{set}\"");
    config
        .replacen(&root, &format!("crm_feature_set=\"{FEATURE_SET}\""), 1)
        .replacen(
            root_end,
            &format!(
                "admin_epoch=\"0\" have-quorum=\"{}\" dc-uuid=\"{dc}\">",
                u8::from(s.have_quorum)
            ),
            1,
        )
        .replacen("<nodes/>", &nodes, 1)
        .replacen("<status/>", &status, 1)
}

#[test]
fn committed_scenarios_are_generated_from_the_committed_cibs() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    for s in scenarios() {
        let path = format!("{}/{}", s.dir, s.file);
        let generated = generate(&s);
        if update {
            fs::write(&path, &generated).unwrap();
        }
        let committed = fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{path} is not what this test generates from {}/cib.xml: rerun with UPDATE_EXPECT=1 and review the diff",
            s.dir
        );
    }
}

/// `warden simulate -S` (and `crm_simulate -S`, when installed) on a
/// scenario: the transition summary, the actions in execution order (words
/// only), and the revised status, for each tool that ran.
struct Simulated {
    tool: &'static str,
    text: String,
    summary: String,
    executed: Vec<String>,
    revised: String,
}

fn simulate(file: &Path) -> Vec<Simulated> {
    let runs = simulate_each(file);
    // Where Pacemaker's crm_simulate ran too, warden printed the same text.
    if let [w, p] = &runs[..] {
        assert_eq!(
            w.text,
            p.text,
            "warden simulate and crm_simulate differ on {}",
            file.display()
        );
    }
    for run in &runs {
        assert!(
            !run.summary.contains("definition change"),
            "{}: the generated history does not match the configuration:\n{}",
            run.tool,
            run.summary
        );
    }
    runs
}

fn simulate_each(file: &Path) -> Vec<Simulated> {
    let mut runs = vec![("warden", {
        let mut c = Command::new(warden_bin());
        c.args(["simulate", "-S", "-x"]).arg(file);
        c
    })];
    if have("crm_simulate") {
        let mut c = Command::new("crm_simulate");
        c.args(["-S", "-x"]).arg(file);
        runs.push(("crm_simulate", c));
    } else {
        skip_part(
            "the crm_simulate comparison",
            "crm_simulate is not installed (package pacemaker-cli-utils)",
        );
    }
    runs.into_iter()
        .map(|(tool, mut cmd)| {
            let out = cmd.env_remove("CIB_file").output().unwrap();
            let text = ok(out, &format!("{tool} -S -x {}", file.display()));
            let part = |from: &str, to: &str| -> String {
                let start = text
                    .find(from)
                    .unwrap_or_else(|| panic!("{tool}: no '{from}' in:\n{text}"));
                let rest = &text[start..];
                rest[..rest.find(to).unwrap_or(rest.len())].to_string()
            };
            Simulated {
                tool,
                text: text.clone(),
                summary: part("Transition Summary:", "Executing Cluster Transition:"),
                executed: part("Executing Cluster Transition:", "Revised Cluster Status:")
                    .lines()
                    .skip(1)
                    .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                    .filter(|l| !l.is_empty())
                    .collect(),
                revised: part("Revised Cluster Status:", "\n\n\n"),
            }
        })
        .collect()
}

impl Simulated {
    /// Index of the executed action whose words are exactly `words`.
    fn at(&self, words: &str) -> usize {
        self.executed
            .iter()
            .position(|l| l == words)
            .unwrap_or_else(|| {
                panic!(
                    "{}: no action '{words}' in:\n{}",
                    self.tool,
                    self.executed.join("\n")
                )
            })
    }

    /// The front end starts on `node`, member after member, after `after`.
    fn starts_in_order(&self, node: &str, after: usize) {
        let mut last = after;
        for rsc in FRONTEND {
            let i = self.at(&format!("* Resource action: {rsc} start on {node}"));
            assert!(
                i > last,
                "{}: {rsc} starts out of order:\n{}",
                self.tool,
                self.executed.join("\n")
            );
            last = i;
        }
    }

    /// Every member of the front end is `state` in the revised status.
    fn frontend_is(&self, state: &str) {
        for rsc in FRONTEND {
            let line = self
                .revised
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("* {rsc}\t")))
                .unwrap_or_else(|| panic!("{}: no {rsc} in:\n{}", self.tool, self.revised));
            assert!(
                line.ends_with(state),
                "{}: {rsc} is not '{state}': {line}",
                self.tool
            );
        }
    }
}

/// Writes the scenario with every node up and no operation history: a new
/// cluster whose nodes just joined.
fn fresh(scratch: &Scratch, dir: &'static str, nodes: &'static [(&'static str, bool)]) -> PathBuf {
    let s = Scenario {
        dir,
        file: "",
        nodes,
        frontend_on: "",
        fencing_on: &[],
        have_quorum: true,
        failures: None,
    };
    let text = generate(&s);
    let file = scratch.file(&format!("{}-fresh.xml", dir.replace('/', "-")));
    fs::write(&file, text).unwrap();
    file
}

#[test]
fn a_new_cluster_starts_the_front_end_on_one_node_in_order() {
    let scratch = Scratch::new("one-examples-fresh");
    let cases: [(&'static str, &'static [(&'static str, bool)]); 2] = [
        (TWO, &[("one-server1", true), ("one-server2", true)]),
        (
            THREE,
            &[
                ("one-server1", true),
                ("one-server2", true),
                ("one-server3", true),
            ],
        ),
    ];
    for (dir, nodes) in cases {
        let file = fresh(&scratch, dir, nodes);
        for sim in simulate(&file) {
            // Where the group goes is the tie-break's choice; all of it
            // goes to the same node, in order.
            let node = nodes
                .iter()
                .map(|(n, _)| *n)
                .find(|n| {
                    sim.executed
                        .contains(&format!("* Resource action: Cluster_VIP start on {n}"))
                })
                .unwrap_or_else(|| panic!("{}: {dir}: the VIP starts nowhere", sim.tool));
            sim.starts_in_order(node, 0);
            sim.frontend_is(&format!("Started {node}"));
            assert!(
                !sim.summary.contains("Fence"),
                "{}: {}",
                sim.tool,
                sim.summary
            );
        }
    }
}

#[test]
fn two_nodes_active_lost_survivor_fences_then_takes_over() {
    let file = PathBuf::from(format!("{TWO}/active-lost.xml"));
    for sim in simulate(&file) {
        assert!(
            sim.summary.contains(
                "  * Fence (reboot) one-server1 'peer is no longer part of the cluster'\n"
            ),
            "{}: {}",
            sim.tool,
            sim.summary
        );
        let fenced = sim.at("* Fencing one-server1 (reboot)");
        sim.starts_in_order("one-server2", fenced);
        sim.frontend_is("Started one-server2");
    }
}

#[test]
fn three_nodes_active_lost_majority_fences_then_takes_over() {
    let file = PathBuf::from(format!("{THREE}/active-lost.xml"));
    for sim in simulate(&file) {
        assert!(
            sim.summary.contains(
                "  * Fence (reboot) one-server1 'peer is no longer part of the cluster'\n"
            ),
            "{}: {}",
            sim.tool,
            sim.summary
        );
        let fenced = sim.at("* Fencing one-server1 (reboot)");
        let node = ["one-server2", "one-server3"]
            .into_iter()
            .find(|n| {
                sim.executed
                    .contains(&format!("* Resource action: Cluster_VIP start on {n}"))
            })
            .unwrap_or_else(|| panic!("{}: the VIP starts on no survivor", sim.tool));
        sim.starts_in_order(node, fenced);
        sim.frontend_is(&format!("Started {node}"));
    }
}

#[test]
fn three_nodes_two_lost_the_last_one_stops_everything_and_fences_no_one() {
    let file = PathBuf::from(format!("{THREE}/two-nodes-lost.xml"));
    for sim in simulate(&file) {
        assert!(
            !sim.summary.contains("Fence") && !sim.executed.iter().any(|l| l.contains("Fencing")),
            "{}: a node without quorum fences:\n{}",
            sim.tool,
            sim.summary
        );
        assert!(
            !sim.executed.iter().any(|l| l.contains(" start on ")),
            "{}: a node without quorum starts something:\n{}",
            sim.tool,
            sim.executed.join("\n")
        );
        // The front end stops, last member first; so does the fence device
        // it ran.
        let mut last = usize::MAX;
        for rsc in FRONTEND {
            let i = sim.at(&format!("* Resource action: {rsc} stop on one-server3"));
            assert!(i < last, "{}: {rsc} stops out of order", sim.tool);
            last = i;
        }
        sim.at("* Resource action: fence_server2 stop on one-server3");
        sim.frontend_is("Stopped");
    }
}

// ---- the examples' scenarios for `warden sim` ------------------------------------

/// `warden sim FILE --seed SEED`: the timeline. The simulator checks its
/// safety invariants after every step and fails the run on a violation.
fn sim(file: &str, seed: u64) -> String {
    let seed = seed.to_string();
    ok(
        warden(&["sim", file, "--seed", &seed]),
        &format!("warden sim {file} --seed {seed}"),
    )
}

/// The timeline lines between the status printed at `from` and the one at
/// `to` (as the simulator writes times, e.g. "30.000s"), and the status at
/// `to`.
fn between<'a>(text: &'a str, from: &str, to: &str) -> (&'a str, &'a str) {
    let start = text
        .find(&format!("status at {from}:"))
        .unwrap_or_else(|| panic!("no status at {from}:\n{text}"));
    let end = text
        .find(&format!("status at {to}:"))
        .unwrap_or_else(|| panic!("no status at {to}:\n{text}"));
    // The status block: its header, then lines that are not timeline
    // lines (those start with a time).
    let after = &text[end..];
    let len: usize = after
        .lines()
        .enumerate()
        .take_while(|(i, l)| *i == 0 || !l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .map(|(_, l)| l.len() + 1)
        .sum();
    (&text[start..end], &after[..len.min(after.len())])
}

/// Where every member of the front end runs in a status block: one node,
/// or None when all are stopped; panics on anything else.
fn frontend_node(status: &str) -> Option<String> {
    let mut places: Vec<String> = FRONTEND
        .iter()
        .map(|rsc| {
            let line = status
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{rsc}: ")))
                .unwrap_or_else(|| panic!("no {rsc} in:\n{status}"));
            line.trim_start()[rsc.len() + 2..].to_string()
        })
        .collect();
    places.dedup();
    assert_eq!(places.len(), 1, "the front end is split:\n{status}");
    let place = places.pop().unwrap();
    if place == "stopped" {
        return None;
    }
    Some(
        place
            .strip_prefix("running on ")
            .unwrap_or_else(|| panic!("'{place}' in:\n{status}"))
            .to_string(),
    )
}

/// The members start on `node` one after the other, in `log`.
fn started_in_order(log: &str, node: &str) {
    let mut last = 0;
    for rsc in FRONTEND {
        let start = log
            .find(&format!("starting {rsc} on {node}\n"))
            .unwrap_or_else(|| panic!("{rsc} does not start on {node}:\n{log}"));
        let done = log[start..]
            .find(&format!("agent: {rsc} start ok"))
            .unwrap_or_else(|| panic!("{rsc} start does not finish:\n{log}"))
            + start;
        assert!(start > last, "{rsc} starts out of order:\n{log}");
        last = done;
    }
}

#[test]
fn two_node_split_the_node_the_delays_favour_keeps_the_front_end() {
    for seed in 1..=3 {
        let text = sim(&format!("{TWO}/split.sim"), seed);
        let (_, before) = between(&text, "30.000s", "30.000s");
        assert_eq!(frontend_node(before).as_deref(), Some("one-server1"));
        let (log, after) = between(&text, "30.000s", "70.000s");
        // one-server1 waits 30s before it can be fenced, one-server2 15s.
        assert!(
            log.contains("one-server2 fenced by one-server1 (fence_server2)"),
            "seed {seed}:\n{log}"
        );
        assert!(!log.contains("one-server1 fenced"), "seed {seed}:\n{log}");
        for rsc in FRONTEND {
            assert!(
                !log.contains(&format!("starting {rsc} on one-server2\n")),
                "seed {seed}:\n{log}"
            );
        }
        assert_eq!(
            frontend_node(after).as_deref(),
            Some("one-server1"),
            "seed {seed}"
        );
    }
}

#[test]
fn three_node_faults_quorum_decides_who_fences_and_who_runs() {
    for seed in 1..=3 {
        let text = sim(&format!("{THREE}/failover.sim"), seed);
        let (_, first) = between(&text, "30.000s", "30.000s");
        assert_eq!(frontend_node(first).as_deref(), Some("one-server1"));
        // one-server1 is cut off: the two others fence it and take over.
        let (log, status) = between(&text, "30.000s", "90.000s");
        assert!(log.contains("(no quorum)"), "seed {seed}:\n{log}");
        assert!(
            log.contains("view 2: one-server2 one-server3 (quorate)")
                || log.contains("view 3: one-server2 one-server3 (quorate)"),
            "seed {seed}:\n{log}"
        );
        assert!(
            log.contains("one-server1 fenced by one-server"),
            "seed {seed}:\n{log}"
        );
        let node = frontend_node(status).expect("the front end runs");
        assert_ne!(node, "one-server1", "seed {seed}");
        let fenced = log.find("one-server1 fenced by").unwrap();
        started_in_order(&log[fenced..], &node);
        // Healed, one-server1 back: the front end stays (stickiness).
        let (log, status) = between(&text, "90.000s", "150.000s");
        assert!(!log.contains("fenced by"), "seed {seed}:\n{log}");
        assert!(
            status.contains("node one-server1: up"),
            "seed {seed}:\n{status}"
        );
        assert_eq!(frontend_node(status).as_deref(), Some(node.as_str()));
        // Everyone alone: nobody has quorum, nobody fences, the front end
        // stops.
        let (log, status) = between(&text, "150.000s", "180.000s");
        assert!(!log.contains("fencing "), "seed {seed}:\n{log}");
        assert!(!log.contains(" starting "), "seed {seed}:\n{log}");
        assert_eq!(frontend_node(status), None, "seed {seed}:\n{status}");
    }
}

#[test]
fn two_node_migration_threshold_moves_the_whole_group() {
    let scratch = Scratch::new("one-examples-threshold");
    for (count, moves) in [(2, false), (3, true)] {
        // Both nodes up, the front end on one-server1, and its last member's
        // monitor failed COUNT times there.
        let s = Scenario {
            dir: TWO,
            file: "",
            nodes: &[("one-server1", true), ("one-server2", true)],
            frontend_on: "one-server1",
            fencing_on: &[
                ("fence_server1", "one-server2"),
                ("fence_server2", "one-server1"),
            ],
            have_quorum: true,
            failures: Some(("one-server1", "opennebula-flow", "monitor_20000", count)),
        };
        let file = scratch.file(&format!("failures-{count}.xml"));
        fs::write(&file, generate(&s)).unwrap();
        for sim in simulate(&file) {
            if moves {
                // Not just the failed member: all of it, in order.
                sim.starts_in_order("one-server2", 0);
                sim.frontend_is("Started one-server2");
            } else {
                assert!(
                    !sim.executed.iter().any(|l| l.contains(" start on ")),
                    "{}: below the threshold the group moves:\n{}",
                    sim.tool,
                    sim.executed.join("\n")
                );
                sim.frontend_is("Started one-server1");
            }
        }
    }
}

#[test]
fn setup_scripts_pass_shellcheck_as_posix_sh() {
    if !have("shellcheck") {
        eprintln!("SKIP setup_scripts_pass_shellcheck_as_posix_sh: shellcheck is not installed");
        return;
    }
    for dir in [TWO, THREE] {
        let out = Command::new("shellcheck")
            .args(["--shell=sh", "--severity=style"])
            .arg(format!("{dir}/setup.sh"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{dir}/setup.sh:\n{}", stdout(&out));
    }
}

/// Every `examples/...` path the READMEs name exists: an operator copies
/// these commands.
#[test]
fn the_readmes_name_files_that_exist() {
    for readme in [
        "README.md".to_string(),
        format!("{TWO}/README.md"),
        format!("{THREE}/README.md"),
    ] {
        let text = fs::read_to_string(&readme).unwrap();
        let mut named = 0;
        for (i, _) in text.match_indices("examples/opennebula-") {
            let path: String = text[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "-_./".contains(*c))
                .collect();
            let path = path.trim_end_matches(['.', '/']);
            assert!(
                Path::new(path).exists(),
                "{readme} names {path}, which does not exist"
            );
            named += 1;
        }
        assert!(named > 0, "{readme} names no example file");
    }
}

#[test]
fn two_node_after_a_failover_stickiness_keeps_it_and_a_move_brings_it_back() {
    for seed in 1..=3 {
        let text = sim(&format!("{TWO}/after-failover.sim"), seed);
        // Failed over, one-server1 back: the front end stays.
        let start = text.find("status at 120.000s:").expect("a status at 120s");
        let (log, status) = between(&text[..], "120.000s", "120.000s");
        assert!(log.is_empty());
        assert!(
            status.contains("node one-server1: up"),
            "seed {seed}:\n{status}"
        );
        assert_eq!(frontend_node(status).as_deref(), Some("one-server2"));
        assert!(
            text[..start].contains("one-server1 fenced by one-server2"),
            "seed {seed}"
        );
        // Moved back: stopped last member first, started in order.
        let (log, status) = between(&text, "120.000s", "150.000s");
        let mut last = usize::MAX;
        for rsc in FRONTEND {
            let i = log
                .find(&format!("stopping {rsc} on one-server2\n"))
                .unwrap_or_else(|| panic!("seed {seed}: {rsc} does not stop:\n{log}"));
            assert!(i < last, "seed {seed}: {rsc} stops out of order:\n{log}");
            last = i;
        }
        started_in_order(log, "one-server1");
        // The VIP answers from one node at a time.
        assert!(
            log.find("stopping Cluster_VIP on one-server2\n")
                < log.find("starting Cluster_VIP on one-server1\n"),
            "seed {seed}:\n{log}"
        );
        assert!(!log.contains("fencing "), "seed {seed}:\n{log}");
        assert_eq!(frontend_node(status).as_deref(), Some("one-server1"));
        // The preference cleared: it stays.
        let (log, status) = between(&text, "150.000s", "180.000s");
        assert!(
            log.contains("1 constraint(s) removed"),
            "seed {seed}:\n{log}"
        );
        assert!(!log.contains("stopping "), "seed {seed}:\n{log}");
        assert_eq!(frontend_node(status).as_deref(), Some("one-server1"));
    }
}
