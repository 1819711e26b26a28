//! The operators' how-to, verbatim: every command line of
//! `../shared/seeds/pcs-guide-commands.txt` that does not need a running
//! cluster runs with `pcs` replaced by `warden -f FILE`; the line the guide
//! gets wrong fails cleanly and changes nothing; Pacemaker's own
//! `crm_verify` accepts the result. Then the lines `pcs -f` accepts (and the
//! guide's other lines in the spelling pcs 0.11 accepts, plus the other
//! commands that make ids) are replayed with both tools on separate files,
//! and the two CIBs must hold the same elements, attributes and ids.

mod cli_support;

use cli_support::*;
use std::fs;
use std::process::Command;

#[test]
fn guide_runs_verbatim_and_crm_verify_accepts_the_result() {
    let Some(lines) = guide_lines() else {
        eprintln!("SKIP guide_runs_verbatim_and_crm_verify_accepts_the_result: {GUIDE} is absent");
        return;
    };
    let scratch = Scratch::new("guide");
    let cib = scratch.file("cib.xml");
    let mut ran = 0;
    let mut secrets_seen = Vec::new();
    for line in lines.iter().filter(|l| !l.live) {
        let args: Vec<&str> = line.args.iter().map(String::as_str).collect();
        let before = fs::read(&cib).ok();
        let out = warden_f(&cib, &args);
        let (so, se) = (stdout(&out), stderr(&out));
        for secret in ["s3cret-one", "s3cret-two"] {
            if so.contains(secret) || se.contains(secret) {
                secrets_seen.push(format!("{}: {secret}", line.text));
            }
        }
        match &line.error {
            Some(why) => {
                assert!(
                    !out.status.success(),
                    "{} should fail ({why}) but succeeded",
                    line.text
                );
                assert!(
                    se.contains("opennebula-novnc"),
                    "error does not name the resource: {se}"
                );
                assert!(se.starts_with("Error: "), "{se}");
                assert_eq!(
                    fs::read(&cib).ok(),
                    before,
                    "{} changed the file",
                    line.text
                );
            }
            None => {
                assert!(out.status.success(), "{} failed:\n{se}{so}", line.text);
            }
        }
        if line.args.first().map(String::as_str) == Some("status") {
            assert!(so.contains("Full List of Resources:"), "{so}");
            assert!(
                so.contains("Cluster_VIP\t(ocf:heartbeat:IPaddr2):\t Stopped"),
                "{so}"
            );
        }
        if line.args.starts_with(&["stonith".into(), "create".into()]) {
            assert!(
                se.contains(
                    "Warning: stonith option ipaddr is deprecated by fence_ilo_ssh: using ip instead"
                ),
                "{se}"
            );
            assert!(se.contains("action=reboot is ignored"), "{se}");
        }
        ran += 1;
    }
    assert!(ran >= 15, "only {ran} lines ran");
    assert!(secrets_seen.is_empty(), "secrets printed: {secrets_seen:?}");

    // The deprecated fencing parameters were translated, not copied.
    let text = fs::read_to_string(&cib).unwrap();
    let parsed = warden::core::cib::parse(&text, "cib.xml");
    assert!(!parsed.has_errors(), "{:?}", parsed.diagnostics);
    let c = parsed.cib.unwrap().configuration;
    let f1 = c.primitive("fence_server1").unwrap();
    use warden::core::cib::SetKind::Instance;
    for (k, v) in [
        ("ip", "10.3.4.101"),
        ("username", "Administrator"),
        ("password", "s3cret-one"),
        ("ssh", "yes"),
        ("delay", "30"),
    ] {
        assert_eq!(f1.attr(Instance, k), Some(v), "{k}");
    }
    for old in ["ipaddr", "login", "passwd", "secure", "action"] {
        assert_eq!(
            f1.attr(Instance, old),
            None,
            "{old} should have been translated"
        );
    }
    assert_eq!(
        c.constraints.len(),
        4,
        "four colocations, the novnc one refused"
    );

    if !have("crm_verify") {
        eprintln!("SKIP guide_runs_verbatim_and_crm_verify_accepts_the_result (crm_verify part): crm_verify is not installed");
        return;
    }
    let v = Command::new("crm_verify")
        .arg("-V")
        .arg("-x")
        .arg(&cib)
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(
        v.status.success(),
        "crm_verify rejects the CIB:\n{report}\n{text}"
    );
    let errors: Vec<&str> = report.lines().filter(|l| l.contains("error:")).collect();
    assert!(errors.is_empty(), "crm_verify reports errors:\n{report}");
}

/// The guide's lines that pcs 0.11 rejects, in the spelling it accepts, and
/// the other commands whose ids matter. pcs needs `--force` where the agent
/// is not installed; warden warns instead. (Placing a resource inside a
/// group, --before/--after, is left out: pcs 0.11.5 cannot apply that
/// change to a file.)
const EXTRA: &[&str] = &[
    "stonith create fence_server1 fence_ilo_ssh pcmk_host_list=one-server1 ip=10.3.4.101 username=Administrator password=s3cret-one ssh=yes delay=30 op monitor interval=20s",
    "stonith create fence_server2 fence_ipmilan pcmk_host_list=one-server2 ip=10.3.4.102 username=admin password=s3cret-two lanplus=1",
    "resource create opennebula systemd:opennebula --force",
    "constraint colocation add opennebula with Cluster_VIP INFINITY",
    "constraint order Cluster_VIP then opennebula",
    "constraint order stop opennebula then start Cluster_VIP kind=Optional",
    "constraint location Cluster_VIP prefers one-server1=50",
    "constraint location Cluster_VIP avoids one-server2",
    "resource create d1 ocf:pacemaker:Dummy meta resource-stickiness=100 --group g1",
    "resource create d2 ocf:pacemaker:Dummy op monitor interval=30s --group g1 --disabled",
    "resource disable d1",
    "resource meta Cluster_VIP migration-threshold=3",
    "resource update Cluster_VIP cidr_netmask=25",
    "constraint location d2 rule score=-INFINITY #uname eq one-server2",
    "stonith level add 1 one-server1 fence_server1 --force",
    "property set stonith-enabled=false",
];

#[test]
fn pcs_and_warden_write_the_same_cib() {
    let Some(lines) = guide_lines() else {
        eprintln!("SKIP pcs_and_warden_write_the_same_cib: {GUIDE} is absent");
        return;
    };
    if !have("pcs") {
        eprintln!("SKIP pcs_and_warden_write_the_same_cib: pcs is not installed");
        return;
    }
    let scratch = Scratch::new("pcs-compare");
    let (a, b) = (scratch.file("pcs.xml"), scratch.file("warden.xml"));
    let pcs = |args: &[&str]| {
        Command::new("pcs")
            .arg("-f")
            .arg(&a)
            .args(args)
            .env_remove("CIB_file")
            .output()
            .expect("run pcs")
    };
    let mut replayed = Vec::new();
    for line in lines.iter().filter(|l| !l.live && l.error.is_none()) {
        let args: Vec<&str> = line.args.iter().map(String::as_str).collect();
        if pcs(&args).status.success() {
            ok(warden_f(&b, &args), &line.text);
            replayed.push(line.text.clone());
        }
    }
    assert!(
        !replayed.is_empty(),
        "pcs accepted none of the guide's lines"
    );
    for line in EXTRA {
        let args = shell_words(line);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let p = pcs(&args);
        assert!(
            p.status.success(),
            "pcs -f rejects '{line}': {}",
            stderr(&p)
        );
        ok(warden_f(&b, &args), line);
    }
    let (ta, tb) = (
        fs::read_to_string(&a).unwrap(),
        fs::read_to_string(&b).unwrap(),
    );
    let (only_pcs, only_warden) = canonical_diff(&ta, &tb);
    assert!(
        only_pcs.is_empty() && only_warden.is_empty(),
        "the CIBs differ (guide lines replayed: {replayed:?})\nonly in pcs's:\n  {}\nonly in warden's:\n  {}",
        only_pcs.join("\n  "),
        only_warden.join("\n  ")
    );
}
