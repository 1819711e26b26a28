//! contrib/install.sh into a staging tree (`DESTDIR`): what lands where,
//! with which mode; a second run changes nothing and keeps a configuration
//! the operator edited; `PREFIX` moves the binary and the unit follows;
//! shellcheck finds nothing in the script and systemd nothing in the unit
//! (when they are installed).

mod cli_support;

use cli_support::{have, warden_bin, Scratch};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn install(destdir: &Path, prefix: Option<&str>) -> Output {
    let mut c = Command::new("sh");
    c.arg("contrib/install.sh")
        .env("DESTDIR", destdir)
        .env("WARDEN_BIN", warden_bin());
    match prefix {
        Some(p) => c.env("PREFIX", p),
        None => c.env_remove("PREFIX"),
    };
    let out = c.output().expect("run install.sh");
    assert!(
        out.status.success(),
        "install.sh failed: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Every file below `root`, relative, sorted.
fn tree(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.push(format!("{}/", p.strip_prefix(root).unwrap().display()));
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut v = Vec::new();
    walk(root, root, &mut v);
    v.sort();
    v
}

#[test]
fn install_into_a_staging_tree() {
    let scratch = Scratch::new("install");
    let dest = scratch.file("root");
    let out = install(&dest, None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("note: DESTDIR is set: the haclient group is not created"),
        "{text}"
    );
    let ocf = "usr/lib/ocf/resource.d/opennebula";
    // What agents/ holds: executable agents, and helpers they source.
    let mut agents = Vec::new();
    let mut helpers = Vec::new();
    for e in fs::read_dir("agents").unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".md") {
            continue;
        }
        if mode(&p) & 0o111 != 0 {
            agents.push(name);
        } else {
            helpers.push(name);
        }
    }
    assert!(agents.contains(&"oned".to_string()), "{agents:?}");
    let mut want: Vec<String> = vec![
        "etc/".into(),
        "etc/warden/".into(),
        "etc/warden/warden.toml".into(),
        "lib/".into(),
        "lib/systemd/".into(),
        "lib/systemd/system/".into(),
        "lib/systemd/system/warden.service".into(),
        "usr/".into(),
        "usr/lib/".into(),
        "usr/lib/ocf/".into(),
        "usr/lib/ocf/resource.d/".into(),
        format!("{ocf}/"),
        "usr/sbin/".into(),
        "usr/sbin/fence_warden_dummy".into(),
        "usr/sbin/warden".into(),
        "usr/share/".into(),
        "usr/share/doc/".into(),
        "usr/share/doc/warden/".into(),
        "usr/share/doc/warden/warden.toml.example".into(),
        "var/".into(),
        "var/lib/".into(),
        "var/lib/warden/".into(),
    ];
    want.extend(agents.iter().chain(&helpers).map(|a| format!("{ocf}/{a}")));
    want.sort();
    assert_eq!(tree(&dest), want);
    for (list, want_mode) in [(&agents, 0o755), (&helpers, 0o644)] {
        for a in list {
            assert_eq!(mode(&dest.join(ocf).join(a)), want_mode, "{a}");
            assert_eq!(
                fs::read(dest.join(ocf).join(a)).unwrap(),
                fs::read(Path::new("agents").join(a)).unwrap()
            );
        }
    }
    assert!(helpers.contains(&"opennebula-common.sh".to_string()));
    assert_eq!(mode(&dest.join("usr/sbin/warden")), 0o755);
    assert_eq!(
        fs::read(dest.join("usr/sbin/warden")).unwrap(),
        fs::read(warden_bin()).unwrap()
    );
    assert_eq!(mode(&dest.join("usr/sbin/fence_warden_dummy")), 0o755);
    assert_eq!(mode(&dest.join("lib/systemd/system/warden.service")), 0o644);
    assert_eq!(
        fs::read_to_string(dest.join("lib/systemd/system/warden.service")).unwrap(),
        fs::read_to_string("contrib/warden.service").unwrap()
    );
    assert_eq!(
        fs::read_to_string(dest.join("etc/warden/warden.toml")).unwrap(),
        fs::read_to_string("examples/warden.toml").unwrap()
    );
    assert_eq!(mode(&dest.join("var/lib/warden")), 0o750);

    // Again, after the operator edited the configuration: it is kept, and
    // nothing else changes.
    fs::write(
        dest.join("etc/warden/warden.toml"),
        "cluster_name = \"one\"\n",
    )
    .unwrap();
    let before = tree(&dest);
    let out = install(&dest, None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("kept "));
    assert_eq!(tree(&dest), before);
    assert_eq!(
        fs::read_to_string(dest.join("etc/warden/warden.toml")).unwrap(),
        "cluster_name = \"one\"\n"
    );
}

#[test]
fn the_prefix_moves_the_binary_and_the_unit_follows() {
    let scratch = Scratch::new("install-prefix");
    let dest = scratch.file("root");
    install(&dest, Some("/usr/local"));
    assert!(dest.join("usr/local/sbin/warden").is_file());
    assert!(dest.join("usr/local/sbin/fence_warden_dummy").is_file());
    assert!(!dest.join("usr/sbin").exists());
    let unit = fs::read_to_string(dest.join("lib/systemd/system/warden.service")).unwrap();
    assert!(
        unit.contains("\nExecStart=/usr/local/sbin/warden daemon\n"),
        "{unit}"
    );
}

#[test]
fn a_missing_binary_is_named() {
    let scratch = Scratch::new("install-nobin");
    let out = Command::new("sh")
        .arg("contrib/install.sh")
        .env("DESTDIR", scratch.file("root"))
        .env("WARDEN_BIN", scratch.file("no-such-warden"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no warden binary at") && err.contains("cargo build --release"),
        "{err}"
    );
    assert!(!scratch.file("root").exists());
}

#[test]
fn the_unit_says_what_the_host_needs() {
    let unit = fs::read_to_string("contrib/warden.service").unwrap();
    for line in [
        "After=corosync.service",
        "Requires=corosync.service",
        "Type=notify",
        "Restart=on-failure",
        "KillMode=process",
        "ExecStart=/usr/sbin/warden daemon",
    ] {
        assert!(unit.lines().any(|l| l == line), "missing {line}");
    }
}

#[test]
fn systemd_accepts_the_unit() {
    if !have("systemd-analyze") || !Path::new("/lib/systemd/system/corosync.service").exists() {
        eprintln!("SKIP systemd_accepts_the_unit: needs systemd-analyze and corosync's unit");
        return;
    }
    // A copy that runs the binary built here (verify checks it exists).
    let scratch = Scratch::new("unit");
    let unit = fs::read_to_string("contrib/warden.service")
        .unwrap()
        .replace(
            "ExecStart=/usr/sbin/warden daemon",
            &format!("ExecStart={} daemon", warden_bin()),
        );
    let copy = scratch.file("warden.service");
    fs::write(&copy, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .unwrap();
    // It reports problems on standard error, sometimes with status 0.
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn shellcheck_finds_nothing() {
    if !have("shellcheck") {
        eprintln!("SKIP shellcheck_finds_nothing: shellcheck is not installed");
        return;
    }
    let out = Command::new("shellcheck")
        .args(["--shell=sh", "contrib/install.sh"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
