//! `warden cluster setup` and `cluster start|stop` on a scratch root
//! (`WARDEN_SETUP_ROOT` stands for `/`): golden corosync.conf for two and
//! three nodes, the key, warden's configuration, the copy commands,
//! refusals, the same corosync.conf as pcs writes, corosync itself accepting
//! it, and the systemctl command lines (printed, never run).
//!
//! Re-bless the golden files with `UPDATE_EXPECT=1`.

mod cli_support;

use cli_support::{have, ok, stderr, stdout, warden_bin, Scratch, GUIDE};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const GOLDEN: &str = "tests/golden/cluster-setup";

fn warden_in(root: &Path, args: &[&str]) -> Output {
    Command::new(warden_bin())
        .args(args)
        .env_remove("CIB_file")
        .env("WARDEN_SETUP_ROOT", root)
        .output()
        .expect("run warden")
}

fn failed(o: Output, what: &str) -> String {
    assert_eq!(o.status.code(), Some(1), "{what}: {}", stdout(&o));
    stderr(&o)
}

/// Compares `got` with the golden file `name` (or writes it with
/// UPDATE_EXPECT=1).
fn golden(name: &str, got: &str) {
    let path = Path::new(GOLDEN).join(name);
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        fs::create_dir_all(GOLDEN).unwrap();
        fs::write(&path, got).unwrap();
        return;
    }
    let want = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_EXPECT=1 writes it)", path.display()));
    assert_eq!(
        got,
        want,
        "{} differs (UPDATE_EXPECT=1 re-blesses)",
        path.display()
    );
}

struct Root {
    _scratch: Scratch,
    dir: PathBuf,
}

impl Root {
    fn new(name: &str) -> Root {
        let scratch = Scratch::new(name);
        let dir = scratch.file("root");
        fs::create_dir_all(&dir).unwrap();
        Root {
            _scratch: scratch,
            dir,
        }
    }
    fn path(&self, p: &str) -> PathBuf {
        self.dir.join(p.trim_start_matches('/'))
    }
    fn read(&self, p: &str) -> String {
        fs::read_to_string(self.path(p)).unwrap_or_else(|e| panic!("{p}: {e}"))
    }
    fn run(&self, args: &[&str]) -> Output {
        warden_in(&self.dir, args)
    }
    /// Output with the scratch root shown as ROOT.
    fn shown(&self, text: &str) -> String {
        text.replace(&self.dir.display().to_string(), "ROOT")
    }
}

#[test]
fn two_nodes() {
    let root = Root::new("setup-two");
    let out = ok(
        root.run(&[
            "cluster",
            "setup",
            "opennebula",
            "one-server1",
            "addr=10.3.4.11",
            "one-server2",
            "addr=10.3.4.12",
            "--no-copy",
        ]),
        "setup",
    );
    golden("two-nodes.conf", &root.read("/etc/corosync/corosync.conf"));
    golden("warden.toml", &root.read("/etc/warden/warden.toml"));
    assert_eq!(
        root.shown(&out),
        "Wrote ROOT/etc/corosync/authkey: a fresh key (256 random bytes, mode 0400)\n\
         Wrote ROOT/etc/warden/warden.toml\n\
         Wrote ROOT/etc/corosync/corosync.conf: cluster 'opennebula', 2 nodes, knet with aes256/sha256 encryption, two_node: 1\n\
         Copy the files to the other nodes with:\n\
         \x20 ssh -o BatchMode=yes -o ConnectTimeout=10 root@10.3.4.11 install -d -m 0755 /etc/corosync /etc/warden\n\
         \x20 scp -p -o BatchMode=yes -o ConnectTimeout=10 ROOT/etc/corosync/corosync.conf ROOT/etc/corosync/authkey root@10.3.4.11:/etc/corosync/\n\
         \x20 scp -p -o BatchMode=yes -o ConnectTimeout=10 ROOT/etc/warden/warden.toml root@10.3.4.11:/etc/warden/\n\
         \x20 ssh -o BatchMode=yes -o ConnectTimeout=10 root@10.3.4.12 install -d -m 0755 /etc/corosync /etc/warden\n\
         \x20 scp -p -o BatchMode=yes -o ConnectTimeout=10 ROOT/etc/corosync/corosync.conf ROOT/etc/corosync/authkey root@10.3.4.12:/etc/corosync/\n\
         \x20 scp -p -o BatchMode=yes -o ConnectTimeout=10 ROOT/etc/warden/warden.toml root@10.3.4.12:/etc/warden/\n\
         Cluster has been successfully set up.\n"
    );
    let key = root.path("/etc/corosync/authkey");
    let bytes = fs::read(&key).unwrap();
    assert_eq!(bytes.len(), 256);
    // Random: not a constant fill (a 256-byte key with fewer than 100
    // distinct values is vanishingly unlikely from the OS's generator).
    let mut distinct = bytes.clone();
    distinct.sort();
    distinct.dedup();
    assert!(distinct.len() > 100, "{} distinct bytes", distinct.len());
    assert_eq!(
        fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o400
    );
    assert_eq!(
        fs::metadata(root.path("/etc/corosync/corosync.conf"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o644
    );
}

#[test]
fn three_nodes_in_the_old_form_with_a_token() {
    let root = Root::new("setup-three");
    ok(
        root.run(&[
            "cluster",
            "setup",
            "--name",
            "c3",
            "n1,192.168.1.1",
            "n2,192.168.1.2",
            "n3,192.168.1.3",
            "--token",
            "3000",
            "--no-copy",
            "--force",
        ]),
        "setup",
    );
    golden(
        "three-nodes.conf",
        &root.read("/etc/corosync/corosync.conf"),
    );
}

#[test]
fn the_guides_line_runs_verbatim() {
    let Ok(text) = fs::read_to_string(GUIDE) else {
        eprintln!("SKIP the_guides_line_runs_verbatim: {GUIDE} is absent");
        return;
    };
    let line = text
        .lines()
        .find(|l| l.contains("pcs cluster setup"))
        .expect("the guide sets the cluster up");
    let words: Vec<&str> = line
        .split_whitespace()
        .skip_while(|w| *w != "pcs")
        .skip(1)
        .collect();
    assert_eq!(words[..3], ["cluster", "setup", "--name"], "{line}");
    let root = Root::new("setup-guide");
    let mut args = words.clone();
    // The guide's host names do not resolve here.
    args.extend(["--no-copy", "--force"]);
    let out = root.run(&args);
    let err = stderr(&out);
    ok(out, line);
    assert!(
        err.contains("No addresses specified for host 'one-server1', using 'one-server1'"),
        "{err}"
    );
    let conf = root.read("/etc/corosync/corosync.conf");
    assert!(conf.contains("    cluster_name: opennebula\n"), "{conf}");
    assert!(
        conf.contains(
            "        ring0_addr: one-server2\n        name: one-server2\n        nodeid: 2\n"
        ),
        "{conf}"
    );
    assert!(conf.contains("    two_node: 1\n"), "{conf}");
}

#[test]
fn an_existing_cluster_is_not_overwritten_without_force() {
    let root = Root::new("setup-again");
    let args = [
        "cluster",
        "setup",
        "one",
        "a",
        "addr=10.0.0.1",
        "b",
        "addr=10.0.0.2",
        "--no-copy",
    ];
    ok(root.run(&args), "first");
    let key = fs::read(root.path("/etc/corosync/authkey")).unwrap();
    let err = failed(root.run(&args), "second");
    assert_eq!(
        root.shown(&err),
        "Error: ROOT/etc/corosync/corosync.conf already exists: a cluster was set up on this node before; use --force to overwrite it\n"
    );
    // Nothing was touched.
    assert_eq!(fs::read(root.path("/etc/corosync/authkey")).unwrap(), key);
    let mut forced = args.to_vec();
    forced.push("--force");
    ok(root.run(&forced), "forced");
    assert_ne!(fs::read(root.path("/etc/corosync/authkey")).unwrap(), key);
}

#[test]
fn warden_toml_is_kept_when_it_fits_and_refused_when_it_does_not() {
    let root = Root::new("setup-toml");
    let toml = root.path("/etc/warden/warden.toml");
    fs::create_dir_all(toml.parent().unwrap()).unwrap();
    // The example the install script puts there: no cluster name.
    fs::copy("examples/warden.toml", &toml).unwrap();
    let args = ["cluster", "setup", "one", "a", "addr=10.0.0.1", "--no-copy"];
    let out = ok(root.run(&args), "kept");
    assert!(
        root.shown(&out)
            .contains("Kept ROOT/etc/warden/warden.toml: it is compatible with cluster 'one'\n"),
        "{out}"
    );
    assert_eq!(
        fs::read_to_string(&toml).unwrap(),
        fs::read_to_string("examples/warden.toml").unwrap()
    );
    // Another cluster's: refused before anything is written.
    fs::remove_file(root.path("/etc/corosync/corosync.conf")).unwrap();
    fs::remove_file(root.path("/etc/corosync/authkey")).unwrap();
    fs::write(&toml, "cluster_name = \"other\"\n").unwrap();
    let err = failed(root.run(&args), "other cluster");
    assert_eq!(
        root.shown(&err),
        "Error: ROOT/etc/warden/warden.toml is set up for cluster 'other'; use --force to replace it\n"
    );
    assert!(!root.path("/etc/corosync/authkey").exists());
    // A broken one: its error, with the line.
    fs::write(&toml, "cluster_nam = \"x\"\n").unwrap();
    let err = failed(root.run(&args), "broken");
    assert!(
        root.shown(&err)
            .starts_with("Error: ROOT/etc/warden/warden.toml:1: cluster_nam: unknown field"),
        "{err}"
    );
}

#[test]
fn bad_setups_are_refused_with_nothing_written() {
    let root = Root::new("setup-bad");
    for (args, want) in [
        (
            &["cluster", "setup"][..],
            "Error: missing cluster name: expected 'cluster setup NAME NODE...' (or pcs 0.9's 'cluster setup --name NAME NODE...')\n",
        ),
        (
            &["cluster", "setup", "c", "n1", "n2", "n1"],
            "Error: node name 'n1' is given more than once\n",
        ),
        (
            &["cluster", "setup", "c", "n_1", "n!2"],
            "Error: invalid node name 'n!2': expected letters, digits, '-', '_' and '.' (not first), at most 253 characters\n",
        ),
        (
            &["cluster", "setup", "c", "n1", "addr=10.0.0.1", "n2", "addr=10.0.0.1"],
            "Error: node addresses must be unique, duplicate addresses: '10.0.0.1'\n",
        ),
        (
            &["cluster", "setup", "c", "n1", "--transport", "udpu"],
            "Error: transport 'udpu' is not supported: warden sets up knet (corosync encrypts only knet traffic)\n",
        ),
    ] {
        let err = failed(root.run(args), &args.join(" "));
        assert!(err.starts_with(want), "{args:?}: {err}");
    }
    assert!(fs::read_dir(&root.dir).unwrap().next().is_none());
}

#[test]
fn names_that_do_not_resolve_need_force() {
    let root = Root::new("setup-resolve");
    let err = failed(
        root.run(&[
            "cluster",
            "setup",
            "c",
            "warden-test-unresolvable-1.invalid",
            "n2",
            "addr=127.0.0.1",
        ]),
        "unresolvable",
    );
    assert!(
        err.ends_with(
            "Error: unable to resolve addresses: 'warden-test-unresolvable-1.invalid', use --force to override\n"
        ),
        "{err}"
    );
    assert!(!root.path("/etc/corosync/corosync.conf").exists());
}

#[test]
fn corosync_conf_alone_is_what_pcs_writes() {
    let scratch = Scratch::new("setup-pcs");
    let ours = scratch.file("ours.conf");
    let args = [
        "cluster",
        "setup",
        "one",
        "n1",
        "addr=10.0.0.1",
        "n2",
        "addr=10.0.0.2",
        "n3",
        "addr=10.0.0.3",
        "totem",
        "token=3000",
    ];
    let mut with_file = args.to_vec();
    with_file.extend(["--corosync-conf", ours.to_str().unwrap()]);
    let out = ok(warden_in(&scratch.file("unused-root"), &with_file), "ours");
    assert!(out.contains("Only this file was written"), "{out}");
    assert!(!scratch.file("unused-root").exists());
    let err = failed(warden_in(&scratch.dir, &with_file), "again");
    assert!(err.contains("already exists"), "{err}");
    if !have("pcs") {
        eprintln!("SKIP corosync_conf_alone_is_what_pcs_writes (pcs part): pcs is not installed");
        return;
    }
    let theirs = scratch.file("pcs.conf");
    let mut pcs_args = args.to_vec();
    pcs_args.extend(["--corosync_conf", theirs.to_str().unwrap()]);
    let out = Command::new("pcs").args(&pcs_args).output().unwrap();
    assert!(out.status.success(), "pcs: {}", stderr(&out));
    // pcs adds a random cluster_uuid, which corosync does not read.
    let pcs_text: String = fs::read_to_string(&theirs)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("cluster_uuid:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(fs::read_to_string(&ours).unwrap(), pcs_text);
}

#[test]
fn corosync_accepts_what_setup_writes() {
    if !have("corosync") || !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP corosync_accepts_what_setup_writes: needs corosync and root");
        return;
    }
    let root = Root::new("setup-corosync");
    // corosync -t wants this machine in the nodelist: 127.0.0.1 is.
    ok(
        root.run(&[
            "cluster",
            "setup",
            "local",
            "self",
            "addr=127.0.0.1",
            "peer",
            "addr=10.255.0.2",
            "--no-copy",
        ]),
        "setup",
    );
    // The key is not at /etc/corosync/authkey here: say where it is.
    let conf = root.read("/etc/corosync/corosync.conf").replacen(
        "totem {\n",
        &format!(
            "totem {{\n    keyfile: {}\n",
            root.path("/etc/corosync/authkey").display()
        ),
        1,
    );
    let file = root.path("/etc/corosync/test.conf");
    fs::write(&file, conf).unwrap();
    let out = Command::new("corosync")
        .arg("-c")
        .arg(&file)
        .arg("-t")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "corosync -t: {}{}",
        stderr(&out),
        stdout(&out)
    );
}

#[test]
fn start_and_stop_print_their_commands() {
    let root = Root::new("setup-service");
    ok(
        root.run(&[
            "cluster",
            "setup",
            "one",
            "a",
            "addr=10.0.0.1",
            "b",
            "addr=10.0.0.2",
            "--no-copy",
        ]),
        "setup",
    );
    let ssh = "ssh -o BatchMode=yes -o ConnectTimeout=10";
    assert_eq!(
        ok(
            root.run(&["cluster", "start", "--all", "--dry-run"]),
            "start"
        ),
        format!(
            "{ssh} root@10.0.0.1 systemctl start corosync.service\n\
             {ssh} root@10.0.0.2 systemctl start corosync.service\n\
             {ssh} root@10.0.0.1 systemctl start warden.service\n\
             {ssh} root@10.0.0.2 systemctl start warden.service\n"
        )
    );
    assert_eq!(
        ok(root.run(&["cluster", "stop", "b", "--dry-run"]), "stop"),
        format!(
            "{ssh} root@10.0.0.2 systemctl stop warden.service\n\
             {ssh} root@10.0.0.2 systemctl stop corosync.service\n"
        )
    );
    assert_eq!(
        ok(root.run(&["cluster", "stop", "--dry-run"]), "local stop"),
        "systemctl stop warden.service\nsystemctl stop corosync.service\n"
    );
    assert_eq!(
        ok(root.run(&["cluster", "enable", "--dry-run"]), "enable"),
        "systemctl enable corosync.service warden.service\n"
    );
    let err = failed(root.run(&["cluster", "start", "c", "--dry-run"]), "unknown");
    assert!(
        root.shown(&err).starts_with(
            "Error: node 'c' is not in the nodelist of ROOT/etc/corosync/corosync.conf"
        ),
        "{err}"
    );
    let empty = Root::new("setup-service-none");
    let err = failed(
        empty.run(&["cluster", "start", "--all", "--dry-run"]),
        "none",
    );
    assert!(
        empty
            .shown(&err)
            .starts_with("Error: cannot read the nodelist from ROOT/etc/corosync/corosync.conf: "),
        "{err}"
    );
}

#[test]
fn without_systemd_start_says_what_to_run() {
    if Path::new("/run/systemd/system").is_dir() {
        eprintln!("SKIP without_systemd_start_says_what_to_run: systemd runs this machine (the test must not start the cluster)");
        return;
    }
    let root = Root::new("setup-nosystemd");
    let err = failed(root.run(&["cluster", "start"]), "start");
    assert!(
        err.starts_with("Error: systemd is not running on this machine (PID 1 is '")
            && err.contains("start corosync")
            && err.contains("warden daemon")
            && err.contains("--dry-run"),
        "{err}"
    );
}
