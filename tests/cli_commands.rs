//! Command behaviour through the binary: what a missing file means, where
//! output goes, help, the commands that need the live cluster or are not
//! available yet, and a full edit cycle read back with the config views.

mod cli_support;

use cli_support::*;
use std::fs;

#[test]
fn a_missing_file_is_an_empty_cib_and_only_a_change_creates_it() {
    let scratch = Scratch::new("missing");
    let file = scratch.file("new.xml");
    let text = ok(warden_f(&file, &["cluster", "cib"]), "cluster cib");
    assert!(
        text.starts_with("<cib ") && text.contains("<resources/>"),
        "{text}"
    );
    assert!(!file.exists(), "reading must not create the file");
    let out = scratch.file("copy.xml");
    ok(
        warden_f(&file, &["cluster", "cib", out.to_str().unwrap()]),
        "cluster cib FILE",
    );
    assert_eq!(fs::read_to_string(&out).unwrap(), text);
    ok(
        warden_f(&file, &["property", "set", "stonith-enabled=false"]),
        "property set",
    );
    let written = fs::read_to_string(&file).unwrap();
    assert!(written.contains(r#"<nvpair id="cib-bootstrap-options-stonith-enabled" name="stonith-enabled" value="false"/>"#), "{written}");
    assert!(
        written.contains(r#"epoch="2""#),
        "a change bumps the epoch: {written}"
    );
}

#[test]
fn help_version_and_completion() {
    let top = ok(warden(&["help"]), "help");
    assert!(
        top.contains("constraint") && top.contains("--file"),
        "{top}"
    );
    let create = ok(
        warden(&["resource", "create", "--help"]),
        "resource create --help",
    );
    assert!(
        create.contains("warden resource create NAME STANDARD:[PROVIDER:]TYPE"),
        "{create}"
    );
    assert!(create.contains("--group"), "{create}");
    assert!(ok(warden(&["--version"]), "version").starts_with("warden "));
    assert!(ok(warden(&["completion", "bash"]), "completion").contains("warden"));
}

#[test]
fn live_only_commands_say_so() {
    let scratch = Scratch::new("unavailable");
    let file = scratch.file("cib.xml");
    for (args, expect) in [
        (
            &["stonith", "fence", "one-server2"][..],
            "'stonith fence' works on the running cluster (its nodes, daemons or fencing history), not on a CIB file",
        ),
        (
            &["cluster", "start", "--all"][..],
            "'cluster start' works on the running cluster (its nodes, daemons or fencing history), not on a CIB file",
        ),
    ] {
        let out = warden_f(&file, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains(expect), "{args:?}: {}", stderr(&out));
    }
    let out = warden(&["stonith", "confirm", "one-server2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("'stonith confirm' acts on the live cluster"),
        "{}",
        stderr(&out)
    );
    assert!(!file.exists());
}

#[test]
fn an_edit_cycle_reads_back() {
    let scratch = Scratch::new("cycle");
    let file = scratch.file("cib.xml");
    let run = |args: &[&str]| ok(warden_f(&file, args), &args.join(" "));
    run(&["resource", "create", "web", "systemd:nginx", "--group", "g"]);
    run(&[
        "resource",
        "create",
        "db",
        "systemd:postgresql",
        "--group",
        "g",
        "--before",
        "web",
    ]);
    run(&["resource", "meta", "g", "resource-stickiness=100"]);
    run(&["constraint", "location", "g", "prefers", "n1=100"]);
    let same_group = warden_f(&file, &["constraint", "order", "db", "then", "web"]);
    assert!(
        stderr(&same_group).contains("resources in the same group"),
        "{}",
        stderr(&same_group)
    );
    run(&["resource", "create", "mail", "systemd:postfix"]);
    run(&["constraint", "order", "g", "then", "mail"]);
    assert_eq!(run(&["resource", "group", "list"]), "g: db web\n");
    let config = run(&["resource", "config", "g"]);
    assert!(config.starts_with("Group: g\n  Meta Attributes: g-meta_attributes\n    resource-stickiness=100\n  Resource: db"), "{config}");
    let constraints = run(&["constraint", "config", "--full"]);
    assert!(
        constraints.contains("Node: n1 (score:100) (id:location-g-n1-100)"),
        "{constraints}"
    );
    assert_eq!(
        run(&["constraint", "ref", "g"]),
        "Resource: g\n  location-g-n1-100\n  order-g-mail-mandatory\n"
    );
    run(&["resource", "ungroup", "g"]);
    assert_eq!(run(&["resource", "group", "list"]), "");
    assert_eq!(
        run(&["constraint", "ref", "g"]),
        "Resource: g\n  No Matches.\n",
        "dissolving a group removes what names it"
    );
    let out = warden_f(&file, &["constraint", "delete", "order-g-mail-mandatory"]);
    assert!(
        stderr(&out).contains("Unable to find constraint - 'order-g-mail-mandatory'"),
        "removed with the group: {}",
        stderr(&out)
    );
    run(&["constraint", "order", "web", "then", "mail"]);
    run(&["constraint", "delete", "order-web-mail-mandatory"]);
    run(&["resource", "delete", "db"]);
    let status = run(&["status"]);
    assert!(
        status.contains("2 resource instances configured")
            && status.contains("web\t(systemd:nginx):\t Stopped"),
        "{status}"
    );
}

#[test]
fn fence_agents_are_described_without_a_file() {
    if !std::path::Path::new("/usr/sbin/fence_ilo_ssh").exists() {
        eprintln!("SKIP fence_agents_are_described_without_a_file: fence-agents is not installed");
        return;
    }
    let text = ok(
        warden(&["stonith", "describe", "fence_ilo_ssh"]),
        "stonith describe",
    );
    assert!(
        text.starts_with("fence_ilo_ssh - Fence agent for HP iLO over SSH\n"),
        "{text}"
    );
    assert!(text.contains("\n  username (required): "), "{text}");
    assert!(
        text.contains("\n  pcmk_host_list: "),
        "the fencer's own options are listed: {text}"
    );
    assert!(
        !text.contains("\n  passwd:") && !text.contains("\n  login:"),
        "deprecated options are hidden: {text}"
    );
    assert!(
        text.ends_with("Default operations:\n  monitor:\n    interval=60s\n"),
        "{text}"
    );
}

#[test]
fn status_watch_shows_each_change_of_the_cib() {
    let scratch = Scratch::new("watch");
    let file = scratch.file("cib.xml");
    ok(
        warden_f(
            &file,
            &["resource", "create", "first", "ocf:heartbeat:Dummy"],
        ),
        "resource create first",
    );
    let mut child = std::process::Command::new(warden_bin())
        .args([
            "-f",
            file.to_str().unwrap(),
            "status",
            "--watch",
            "-i",
            "0.1",
        ])
        .env_remove("CIB_file")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run warden status --watch");
    // Killed however the test ends.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let child = Kill(child);
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen: Vec<String> = Vec::new();
    let wait_for = |seen: &mut Vec<String>, pred: &dyn Fn(&[String]) -> bool, what: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !pred(seen) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) => seen.push(l),
                Err(_) => panic!("no {what} within 20 s; output so far:\n{}", seen.join("\n")),
            }
        }
    };
    wait_for(
        &mut seen,
        &|s: &[String]| s.iter().any(|l| l.contains("first\t(ocf:heartbeat:Dummy)")),
        "first status",
    );
    let frames = |s: &[String]| s.iter().filter(|l| l.starts_with("--- ")).count();
    assert_eq!(frames(&seen), 1, "{}", seen.join("\n"));
    ok(
        warden_f(
            &file,
            &["resource", "create", "second", "ocf:heartbeat:Dummy"],
        ),
        "resource create second",
    );
    wait_for(
        &mut seen,
        &|s: &[String]| {
            s.iter()
                .any(|l| l.contains("second\t(ocf:heartbeat:Dummy)"))
        },
        "status with the second resource",
    );
    // Give it a few more intervals: an unchanged status is not shown again.
    let quiet_until = std::time::Instant::now() + std::time::Duration::from_millis(600);
    while let Ok(l) =
        rx.recv_timeout(quiet_until.saturating_duration_since(std::time::Instant::now()))
    {
        seen.push(l);
    }
    assert_eq!(frames(&seen), 2, "{}", seen.join("\n"));
    drop(child);
}

#[test]
fn cluster_auth_checks_ssh_to_each_node_and_ignores_a_password() {
    let scratch = Scratch::new("auth");
    // A stand-in ssh: succeeds for root@good, fails as ssh does otherwise.
    let bin = scratch.file("bin");
    fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("ssh");
    fs::write(
        &fake,
        "#!/bin/sh\nfor a; do last=$a; host=$prev; prev=$a; done\ncase \"$host\" in\n  root@good) exit 0 ;;\n  *) echo \"Permission denied (publickey).\" >&2; exit 255 ;;\nesac\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |args: &[&str]| {
        std::process::Command::new(warden_bin())
            .args(args)
            .env_remove("CIB_file")
            .env("PATH", &path)
            .output()
            .expect("run warden")
    };
    let out = run(&[
        "cluster",
        "auth",
        "good",
        "-u",
        "hacluster",
        "-p",
        "hunter2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "good: Authorized\n");
    assert!(
        stderr(&out).contains("the password given was ignored"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("hunter2") && !stdout(&out).contains("hunter2"));
    let out = run(&["host", "auth", "good", "bad"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(stdout(&out), "good: Authorized\n");
    let err = stderr(&out);
    assert!(
        err.contains("Unable to authenticate to bad: ssh as root@bad failed")
            && err.contains("Permission denied (publickey)")
            && err.contains("ssh-copy-id root@bad"),
        "{err}"
    );
    let out = run(&[
        "cluster",
        "auth",
        "--corosync-conf",
        scratch.file("none.conf").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("name the nodes to check"),
        "{}",
        stderr(&out)
    );
}
