//! The command line against the live cluster, through a small fake daemon:
//! a tokio task serving `shell::ipc::serve` with the request and reply types
//! of `shell::daemon_api` and a CIB in memory. The fake applies
//! `ReplaceConfiguration` with the same rule the daemon uses
//! (`daemon_api::replace_configuration`), records every request, and can
//! make a concurrent change just before a replace, or fail a request with
//! its own words.
//!
//! Each test runs its own fake on its own socket, so they run in parallel.

mod cli_support;

use cli_support::{ok, stderr, stdout, warden_bin, Scratch};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use warden::core::cib::{self, Change, Cib};
use warden::shell::daemon_api::{
    mask_secrets, replace_configuration, CibVersion, DaemonReply, DaemonRequest, DaemonStatus,
    FenceAction, FenceEvent, FenceState, ReplaceOutcome,
};
use warden::shell::ipc::{self, ServerConfig};

const BASE: &str = "tests/fixtures/one-server1-lost.xml";

/// A change another client makes between this command's read and replace.
type Interloper = Box<dyn FnMut(&mut Cib) + Send>;

#[derive(Default)]
struct State {
    cib: Option<Cib>,
    requests: Vec<DaemonRequest>,
    /// Run (and removed) before each of the next replaces.
    interlopers: Vec<Interloper>,
    /// Every replace finds a concurrent change.
    always_conflict: bool,
}

struct Fake {
    socket: PathBuf,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn base_cib() -> Cib {
    let text = std::fs::read_to_string(BASE).unwrap();
    cib::parse(&text, BASE).cib.unwrap()
}

/// A concurrent edit: what another administrator's command would do.
fn other_admin_sets(name: &'static str, value: &'static str) -> Interloper {
    Box::new(move |cib: &mut Cib| {
        let cmd = warden::cli::command::Command::PropertySet(vec![(name.into(), value.into())]);
        let ctx = warden::cli::edit::Ctx {
            force: true,
            agents: &warden::cli::edit::SystemAgents,
        };
        warden::cli::edit::apply(cib, &cmd, &ctx).unwrap();
        cib.bump(Change::Configuration);
    })
}

fn answer(state: &Mutex<State>, req: &DaemonRequest) -> Result<DaemonReply, String> {
    let mut st = state.lock().unwrap();
    st.requests.push(req.clone());
    let cib = st.cib.clone().expect("a CIB");
    Ok(match req {
        DaemonRequest::GetCib { secrets } => {
            let xml = cib::to_xml(&cib);
            DaemonReply::Cib {
                xml: if *secrets { xml } else { mask_secrets(&xml)? },
            }
        }
        DaemonRequest::ReplaceConfiguration { expected, cib_xml } => {
            let mut current = cib;
            if st.always_conflict {
                other_admin_sets("stonith-timeout", "90s")(&mut current);
            } else if !st.interlopers.is_empty() {
                let mut f = st.interlopers.remove(0);
                f(&mut current);
            }
            st.cib = Some(current.clone());
            match replace_configuration(&current, *expected, cib_xml)? {
                ReplaceOutcome::Replaced(next) => {
                    let version = next.version().into();
                    st.cib = Some(*next);
                    DaemonReply::Replaced { version }
                }
                ReplaceOutcome::Conflict(current) => DaemonReply::Conflict { current },
            }
        }
        DaemonRequest::Status => DaemonReply::Status(DaemonStatus {
            daemon_version: "0.1.0".into(),
            cluster_name: Some("opennebula".into()),
            node_name: "one-server2".into(),
            transport: "corosync".into(),
            members: vec!["one-server2".into()],
            quorate: true,
            dc: Some("one-server2".into()),
            cib_version: cib.version().into(),
            idle: true,
        }),
        DaemonRequest::Fence { node, .. } | DaemonRequest::FenceConfirm { node }
            if !cib.configuration.nodes.iter().any(|n| n.uname == *node) =>
        {
            return Err(format!(
                "cannot fence {node}: it is not a node of this cluster (nodes: one-server1, one-server2)"
            ))
        }
        DaemonRequest::FenceHistory { .. } => DaemonReply::FenceHistory {
            events: vec![FenceEvent {
                target: "one-server1".into(),
                action: "reboot".into(),
                state: FenceState::Succeeded,
                delegate: Some("one-server2".into()),
                origin: Some("one-server2".into()),
                client: Some("controller".into()),
                completed_ms: Some(1_748_736_000_000),
            }],
        },
        _ => DaemonReply::Done { version: None },
    })
}

impl Fake {
    fn start(dir: &Path, read_only_for_all: bool) -> Fake {
        let socket = dir.join("warden.sock");
        let state = Arc::new(Mutex::new(State {
            cib: Some(base_cib()),
            ..State::default()
        }));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let shared = state.clone();
        let config = ServerConfig {
            path: socket.clone(),
            read_only_for_all,
            ..ServerConfig::default()
        };
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let (handle, mut rx) =
                    ipc::serve::<DaemonRequest, DaemonReply>(config).expect("serve");
                ready_tx.send(()).unwrap();
                let mut stop_rx = stop_rx;
                loop {
                    tokio::select! {
                        _ = &mut stop_rx => break,
                        Some(inc) = rx.recv() => match answer(&shared, &inc.request) {
                            Ok(r) => inc.reply.ok(r),
                            Err(e) => inc.reply.fail(e),
                        },
                    }
                }
                drop(handle);
            });
        });
        ready_rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the fake daemon listens");
        Fake {
            socket,
            state,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    fn cib_xml(&self) -> String {
        cib::to_xml(self.state.lock().unwrap().cib.as_ref().unwrap())
    }

    fn version(&self) -> CibVersion {
        self.state
            .lock()
            .unwrap()
            .cib
            .as_ref()
            .unwrap()
            .version()
            .into()
    }

    fn requests(&self) -> Vec<DaemonRequest> {
        std::mem::take(&mut self.state.lock().unwrap().requests)
    }

    /// Runs `warden ARGS` against this daemon.
    fn warden(&self, args: &[&str]) -> Output {
        live_warden(&self.socket, args, None)
    }
}

fn live_warden(socket: &Path, args: &[&str], uid: Option<u32>) -> Output {
    let mut c = Command::new(warden_bin());
    c.args(args)
        .env_remove("CIB_file")
        .env_remove("WARDEN_CONFIG")
        .env("WARDEN_SOCKET", socket)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(uid) = uid {
        use std::os::unix::process::CommandExt;
        c.uid(uid).gid(uid);
    }
    c.output().expect("run warden")
}

fn failed(o: Output, what: &str) -> String {
    assert_eq!(o.status.code(), Some(1), "{what}: {}", stdout(&o));
    stderr(&o)
}

/// Edits that need no agent on this machine.
const EDITS: &[&[&str]] = &[
    &["property", "set", "stonith-timeout=120s"],
    &["resource", "meta", "opennebula", "migration-threshold=3"],
    &[
        "constraint",
        "location",
        "Cluster_VIP",
        "prefers",
        "one-server2=50",
    ],
    &["resource", "disable", "opennebula-flow"],
    &[
        "stonith",
        "level",
        "add",
        "1",
        "one-server1",
        "fence_server1",
    ],
    &["constraint", "order", "Cluster_VIP", "then", "opennebula"],
    &["node", "attribute", "one-server1", "rack=2"],
    &[
        "resource",
        "group",
        "add",
        "front",
        "opennebula-gate",
        "opennebula-flow",
    ],
];

#[test]
fn edits_through_the_daemon_give_the_cib_the_file_gives() {
    let scratch = Scratch::new("live-same");
    let fake = Fake::start(&scratch.dir, false);
    let file = scratch.file("cib.xml");
    std::fs::copy(BASE, &file).unwrap();
    let f = file.to_str().unwrap();
    for args in EDITS {
        let mut with_file = vec!["-f", f];
        with_file.extend_from_slice(args);
        let file_out = Command::new(warden_bin())
            .args(&with_file)
            .env_remove("CIB_file")
            .output()
            .unwrap();
        let live_out = fake.warden(args);
        assert_eq!(
            (stderr(&live_out), live_out.status.code()),
            (stderr(&file_out), file_out.status.code()),
            "{args:?}"
        );
    }
    assert_eq!(fake.cib_xml(), std::fs::read_to_string(&file).unwrap());
    // One read and one replace per edit, nothing else.
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2 * EDITS.len(), "{reqs:?}");
    assert!(reqs
        .iter()
        .step_by(2)
        .all(|r| *r == DaemonRequest::GetCib { secrets: true }));
    // An edit that changes nothing sends no replace.
    let before = fake.version();
    ok(
        fake.warden(&["property", "set", "stonith-timeout=120s"]),
        "no-op",
    );
    assert_eq!(fake.version(), before);
    assert_eq!(fake.requests().len(), 1);
    // A refused edit changes nothing and says why, as on a file.
    let err = failed(fake.warden(&["resource", "meta", "nope", "a=b"]), "bad id");
    assert!(err.contains("nope"), "{err}");
    assert_eq!(fake.version(), before);
    assert_eq!(
        fake.requests(),
        vec![DaemonRequest::GetCib { secrets: true }]
    );
    // Reads show what the file shows, secrets masked as on a file.
    for args in [
        &["status"][..],
        &["status", "--output-as", "xml"],
        &["config", "show"],
        &["constraint", "config", "--full"],
        &["stonith", "config"],
    ] {
        let mut with_file = vec!["-f", f];
        with_file.extend_from_slice(args);
        let from_file = Command::new(warden_bin())
            .args(&with_file)
            .env_remove("CIB_file")
            .output()
            .unwrap();
        assert_eq!(
            ok(fake.warden(args), &args.join(" ")),
            ok(from_file, &args.join(" ")),
            "{args:?}"
        );
    }
    assert!(fake
        .requests()
        .iter()
        .all(|r| *r == DaemonRequest::GetCib { secrets: false }));
    // cluster verify reads the live CIB too.
    let out = ok(fake.warden(&["cluster", "verify"]), "verify");
    assert!(out.contains("errors"), "{out}");
}

#[test]
fn a_concurrent_change_between_read_and_replace_is_retried() {
    let scratch = Scratch::new("live-retry");
    let fake = Fake::start(&scratch.dir, false);
    let start = fake.version();
    fake.state
        .lock()
        .unwrap()
        .interlopers
        .push(other_admin_sets("stonith-timeout", "90s"));
    ok(
        fake.warden(&["resource", "meta", "opennebula", "migration-threshold=3"]),
        "meta",
    );
    let xml = fake.cib_xml();
    // Both changes are there: the other administrator's and ours,
    // re-applied on top of it.
    assert!(
        xml.contains(r#"name="stonith-timeout" value="90s""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"name="migration-threshold" value="3""#),
        "{xml}"
    );
    assert_eq!(fake.version().epoch, start.epoch + 2);
    let replaces = fake
        .requests()
        .into_iter()
        .filter(|r| matches!(r, DaemonRequest::ReplaceConfiguration { .. }))
        .count();
    assert_eq!(replaces, 2);

    // A configuration that never stops changing: bounded, then a clear
    // failure, and this command's change is not in the CIB.
    fake.state.lock().unwrap().always_conflict = true;
    let err = failed(
        fake.warden(&["resource", "meta", "opennebula", "resource-stickiness=100"]),
        "busy",
    );
    assert!(
        err.contains("kept changing under this command (5 attempts")
            && err.contains("nothing was changed"),
        "{err}"
    );
    assert!(!fake.cib_xml().contains("resource-stickiness"));
}

#[test]
fn the_daemons_words_and_the_live_only_requests() {
    let scratch = Scratch::new("live-only");
    let fake = Fake::start(&scratch.dir, false);
    // The daemon's error text is shown as it is.
    let err = failed(fake.warden(&["stonith", "fence", "one-server9"]), "fence");
    assert_eq!(
        err,
        "Error: cannot fence one-server9: it is not a node of this cluster (nodes: one-server1, one-server2)\n"
    );
    fake.requests();
    let cases: &[(&[&str], DaemonRequest, &str)] = &[
        (
            &["stonith", "fence", "one-server1"],
            DaemonRequest::Fence {
                node: "one-server1".into(),
                action: FenceAction::Reboot,
            },
            "Node: one-server1 fenced\n",
        ),
        (
            &["stonith", "fence", "one-server1", "--off"],
            DaemonRequest::Fence {
                node: "one-server1".into(),
                action: FenceAction::Off,
            },
            "Node: one-server1 fenced\n",
        ),
        (
            &["stonith", "confirm", "one-server1", "--force"],
            DaemonRequest::FenceConfirm {
                node: "one-server1".into(),
            },
            "Node: one-server1 confirmed fenced\n",
        ),
        (
            &["stonith", "history", "show", "one-server1"],
            DaemonRequest::FenceHistory {
                node: Some("one-server1".into()),
            },
            "reboot of one-server1 successful: delegate=one-server2, client=controller, origin=one-server2, completed='2025-06-01 00:00:00Z'\n",
        ),
        (
            &["resource", "cleanup"],
            DaemonRequest::Cleanup {
                rsc: None,
                node: None,
            },
            "Cleaned up all resources on all nodes\n",
        ),
        (
            &["resource", "cleanup", "Cluster_VIP", "node=one-server2"],
            DaemonRequest::Cleanup {
                rsc: Some("Cluster_VIP".into()),
                node: Some("one-server2".into()),
            },
            "Cleaned up Cluster_VIP on one-server2\n",
        ),
        (
            &["resource", "cleanup", "Cluster_VIP", "--node", "one-server2"],
            DaemonRequest::Cleanup {
                rsc: Some("Cluster_VIP".into()),
                node: Some("one-server2".into()),
            },
            "Cleaned up Cluster_VIP on one-server2\n",
        ),
        (
            &["resource", "move", "Cluster_VIP", "one-server1"],
            DaemonRequest::Move {
                rsc: "Cluster_VIP".into(),
                node: Some("one-server1".into()),
            },
            "",
        ),
        (
            &["resource", "ban", "Cluster_VIP"],
            DaemonRequest::Ban {
                rsc: "Cluster_VIP".into(),
                node: None,
            },
            "",
        ),
        (
            &["resource", "clear", "Cluster_VIP"],
            DaemonRequest::Clear {
                rsc: "Cluster_VIP".into(),
                node: None,
            },
            "",
        ),
        (
            &["node", "standby", "one-server1"],
            DaemonRequest::Standby {
                node: "one-server1".into(),
                on: true,
            },
            "",
        ),
        (
            &["node", "unmaintenance", "one-server2"],
            DaemonRequest::Maintenance {
                node: Some("one-server2".into()),
                on: false,
            },
            "",
        ),
    ];
    for (args, want, text) in cases {
        assert_eq!(ok(fake.warden(args), &args.join(" ")), *text, "{args:?}");
        assert_eq!(fake.requests(), vec![want.clone()], "{args:?}");
    }
    // --all: every node of the configuration.
    ok(fake.warden(&["node", "unstandby", "--all"]), "--all");
    assert_eq!(
        fake.requests(),
        vec![
            DaemonRequest::GetCib { secrets: false },
            DaemonRequest::Standby {
                node: "one-server1".into(),
                on: false
            },
            DaemonRequest::Standby {
                node: "one-server2".into(),
                on: false
            },
        ]
    );
    // A restart is the command line's own sequence (target-role Stopped,
    // wait, restore; tests/live_lab.rs runs it against real daemons). On
    // a node where the resource does not run, as crm_resource: refused
    // after reading the CIB, before anything is changed.
    let err = failed(
        fake.warden(&["resource", "restart", "opennebula", "one-server2"]),
        "restart on a node where it does not run",
    );
    assert!(
        err.contains("opennebula is not running on one-server2 and so cannot be restarted")
            && err.contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(
        fake.requests(),
        vec![DaemonRequest::GetCib { secrets: false }]
    );
    let err = failed(
        fake.warden(&["resource", "restart", "opennebula", "no-such-node"]),
        "restart on an unknown node",
    );
    assert!(
        err.contains("node 'no-such-node' is not a cluster node"),
        "{err}"
    );
    assert_eq!(
        fake.requests(),
        vec![DaemonRequest::GetCib { secrets: false }]
    );
    // stonith confirm asks first; without a terminal it needs --force.
    let err = failed(
        fake.warden(&["stonith", "confirm", "one-server1"]),
        "confirm",
    );
    assert!(err.contains("add --force to confirm"), "{err}");
    assert_eq!(fake.requests(), vec![]);
    // cluster status: the daemon's view, then the status.
    let out = ok(fake.warden(&["cluster", "status"]), "cluster status");
    assert!(
        out.starts_with("Cluster name: opennebula\nThis node: one-server2 (warden 0.1.0, corosync)\nMembers: one-server2 (partition with quorum)\nCurrent DC: one-server2\nCIB version: 0.13.42; transition: idle\n\nCluster Summary:"),
        "{out}"
    );
}

#[test]
fn no_daemon_is_named_by_its_socket() {
    let scratch = Scratch::new("live-none");
    let missing = scratch.file("none.sock");
    let err = failed(live_warden(&missing, &["status"], None), "status");
    assert!(
        err.contains(&format!(
            "'status' needs the live cluster, which warden reaches through its daemon, and the daemon is not running on this node (no socket at {})",
            missing.display()
        )) && err.contains("warden -f FILE status"),
        "{err}"
    );
    let err = failed(
        live_warden(&missing, &["stonith", "fence", "n1"], None),
        "fence",
    );
    assert!(
        err.contains("'stonith fence' acts on the live cluster") && err.contains("no file mode"),
        "{err}"
    );
    // A socket left behind by a daemon that died.
    let stale = scratch.file("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let err = failed(live_warden(&stale, &["config"], None), "config");
    assert!(
        err.contains(&format!("nothing listens on {}", stale.display())),
        "{err}"
    );
}

#[test]
fn permission_denied_is_reported_clearly() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "SKIP permission_denied_is_reported_clearly: needs root to run the CLI as another user"
        );
        return;
    }
    const NOBODY: u32 = 65534;
    let scratch = Scratch::new("live-perm");
    // The scratch directory must be reachable for the other user.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&scratch.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let probe = Command::new(warden_bin())
        .arg("--version")
        .uid_gid(NOBODY)
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("SKIP permission_denied_is_reported_clearly: the warden binary is not executable by uid {NOBODY}");
        return;
    }
    {
        // Status open to everyone: reads work, with secrets masked; asking
        // for the secrets is a change-level request, refused.
        let fake = Fake::start(&scratch.dir, true);
        let out = ok(
            live_warden(&fake.socket, &["stonith", "config"], Some(NOBODY)),
            "read",
        );
        assert!(out.contains("password=********"), "{out}");
        ok(
            live_warden(&fake.socket, &["status"], Some(NOBODY)),
            "status",
        );
        let err = failed(
            live_warden(
                &fake.socket,
                &["stonith", "config", "--show-secrets"],
                Some(NOBODY),
            ),
            "secrets",
        );
        assert!(
            err.contains("permission denied: uid 65534 (nobody)"),
            "{err}"
        );
        assert_eq!(
            fake.requests(),
            vec![
                DaemonRequest::GetCib { secrets: false },
                DaemonRequest::GetCib { secrets: false }
            ]
        );
    }
    {
        let fake = Fake::start(&scratch.dir, true);
        let err = failed(
            live_warden(
                &fake.socket,
                &["property", "set", "stonith-timeout=60s"],
                Some(NOBODY),
            ),
            "write",
        );
        assert_eq!(
            err,
            "Error: permission denied: uid 65534 (nobody) is neither root nor a member of group haclient, which changes need\n"
        );
        assert_eq!(fake.requests(), vec![]);
    }
    {
        // Not open: the socket itself refuses strangers.
        let fake = Fake::start(&scratch.dir, false);
        let err = failed(
            live_warden(&fake.socket, &["status"], Some(NOBODY)),
            "closed",
        );
        assert!(
            err.contains(&format!("permission denied on {}", fake.socket.display()))
                && err.contains("haclient"),
            "{err}"
        );
    }
}

trait UidGid {
    fn uid_gid(&mut self, id: u32) -> &mut Self;
}

impl UidGid for Command {
    fn uid_gid(&mut self, id: u32) -> &mut Self {
        use std::os::unix::process::CommandExt;
        self.uid(id).gid(id)
    }
}
