//! `warden -f FILE stonith test DEVICE`: one non-destructive action of a
//! configured fence device, with its parameters from the CIB — against
//! the project's test agent (`fencing/fence_warden_dummy`) and, as root
//! with the lab, Debian's `fence_ipmilan` against a fencelab BMC — and the
//! live-only `stonith fence` / `stonith confirm`, refused on a file.

mod cli_support;
mod fencing_support;

use cli_support::*;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

const SECRET: &str = "s3cret-stonith-test";

fn cib_with_device(id: &str, agent: &str, params: &[(&str, &str)]) -> String {
    let nvpairs: String = params
        .iter()
        .map(|(k, v)| {
            format!("          <nvpair id=\"{id}-ia-{k}\" name=\"{k}\" value=\"{v}\"/>\n")
        })
        .collect();
    format!(
        r#"<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config/>
    <nodes>
      <node id="1" uname="n1"/>
      <node id="2" uname="n2"/>
    </nodes>
    <resources>
      <primitive id="{id}" class="stonith" type="{agent}">
        <instance_attributes id="{id}-ia">
{nvpairs}        </instance_attributes>
      </primitive>
      <primitive id="web" class="ocf" provider="heartbeat" type="apache"/>
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
"#
    )
}

fn stonith(file: &Path, agent_dir: Option<&Path>, args: &[&str]) -> Output {
    let mut c = Command::new(warden_bin());
    c.arg("-f").arg(file).arg("stonith").args(args);
    c.env_remove("CIB_file");
    match agent_dir {
        Some(d) => c.env("WARDEN_FENCE_AGENT_DIR", d),
        None => c.env_remove("WARDEN_FENCE_AGENT_DIR"),
    };
    c.output().expect("run warden")
}

fn have_python(test: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", "pass"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIP {test}: python3 is not installed (fence_warden_dummy needs it)");
    }
    ok
}

#[test]
fn the_test_agent_answers_status_list_and_monitor_without_changing_power() {
    if !have_python("the_test_agent_answers_status_list_and_monitor_without_changing_power") {
        return;
    }
    let scratch = Scratch::new("stonith-test");
    let state = scratch.file("state");
    fs::create_dir_all(&state).unwrap();
    fs::write(state.join("n2"), "off\n").unwrap();
    let file = scratch.file("cib.xml");
    let state_s = state.display().to_string();
    fs::write(
        &file,
        cib_with_device(
            "fd",
            "fence_warden_dummy",
            &[
                ("state_dir", &state_s),
                ("hosts", "n1,n2"),
                ("password", SECRET),
                ("pcmk_host_list", "n1 n2"),
            ],
        ),
    )
    .unwrap();
    let agents = fs::canonicalize("fencing").unwrap();
    let run = |args: &[&str]| {
        let out = stonith(&file, Some(&agents), args);
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!all.contains(SECRET), "{args:?} shows the password: {all}");
        (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
    };
    assert_eq!(
        run(&["test", "fd", "--node", "n1"]),
        (
            0,
            "fd (fence_warden_dummy): status of n1: power is on\n".into(),
            String::new()
        )
    );
    assert_eq!(
        run(&["test", "fd", "--action", "status", "--node", "n2"]),
        (
            0,
            "fd (fence_warden_dummy): status of n2: power is off\n".into(),
            String::new()
        )
    );
    assert_eq!(
        run(&["test", "fd", "--action", "list"]),
        (
            0,
            "fd (fence_warden_dummy): list: 2 host(s)\n  n1\n  n2\n".into(),
            String::new()
        )
    );
    assert_eq!(
        run(&["test", "fd", "--action", "monitor"]),
        (
            0,
            "fd (fence_warden_dummy): monitor: device answers\n".into(),
            String::new()
        )
    );
    // A device that fails says why, and the test fails.
    let broken = scratch.file("broken.xml");
    fs::write(
        &broken,
        cib_with_device(
            "fd",
            "fence_warden_dummy",
            &[
                ("state_dir", &state_s),
                ("password", SECRET),
                ("fail", "error"),
                ("pcmk_host_list", "n1"),
            ],
        ),
    )
    .unwrap();
    let out = stonith(&broken, Some(&agents), &["test", "fd"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "fd (fence_warden_dummy): status of n1: failed: agent exited with 1: Failed: injected device error\n",
        "a single-host device is asked about its host"
    );
    assert!(!stdout(&out).contains(SECRET));
    assert!(
        !state.join("log").exists(),
        "tests never change power: {:?}",
        fs::read_to_string(state.join("log"))
    );
}

#[test]
fn what_stonith_test_will_not_do() {
    let scratch = Scratch::new("stonith-refused");
    let file = scratch.file("cib.xml");
    fs::write(
        &file,
        cib_with_device("fd", "fence_warden_dummy", &[("password", SECRET)]),
    )
    .unwrap();
    let before = fs::read_to_string(&file).unwrap();
    let agents = fs::canonicalize("fencing").unwrap();
    for (args, message) in [
        (
            &["test", "fd", "--action", "off"][..],
            "'off' is not an action 'stonith test' runs: expected status, list or monitor",
        ),
        (&["test", "nothing"][..], "fence device 'nothing' does not exist"),
        (
            &["test", "web"][..],
            "'web' is not a fence device (it is ocf:heartbeat:apache)",
        ),
        (
            &["fence", "n1"][..],
            "'stonith fence' works on the running cluster (its nodes, daemons or fencing history), not on a CIB file",
        ),
        (
            &["confirm", "n1"][..],
            "'stonith confirm' works on the running cluster (its nodes, daemons or fencing history), not on a CIB file",
        ),
    ] {
        let out = stonith(&file, Some(&agents), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains(SECRET));
    }
    let out = stonith(&file, Some(Path::new("/nonexistent")), &["test", "fd"]);
    assert!(
        stderr(&out).contains("fence agent fence_warden_dummy is not installed in /nonexistent"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), before);
}

#[test]
fn fence_ipmilan_against_the_lab_bmc() {
    let test = "fence_ipmilan_against_the_lab_bmc";
    if !fencing_support::lab_available(test) {
        return;
    }
    let lab = fencing_support::Lab::up("cli-test", &["n1"]);
    let dev = lab.ipmi(
        "ipmi_n1",
        "n1",
        &[("pcmk_host_list", "n1"), ("power_wait", "0")],
    );
    let params: Vec<(&str, &str)> = dev
        .params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let scratch = Scratch::new("stonith-ipmi");
    let file = scratch.file("cib.xml");
    fs::write(&file, cib_with_device("ipmi_n1", "fence_ipmilan", &params)).unwrap();
    let run = |args: &[&str]| {
        let out = stonith(&file, None, args);
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            !all.contains(fencing_support::LAB_PASSWORD),
            "the password shows: {all}"
        );
        (out.status.code(), stdout(&out))
    };
    assert_eq!(
        run(&["test", "ipmi_n1"]),
        (
            Some(0),
            "ipmi_n1 (fence_ipmilan): status of n1: power is on\n".into()
        )
    );
    lab.set_power("n1", "off");
    assert_eq!(
        run(&["test", "ipmi_n1"]),
        (
            Some(0),
            "ipmi_n1 (fence_ipmilan): status of n1: power is off\n".into()
        )
    );
    assert_eq!(
        run(&["test", "ipmi_n1", "--action", "monitor"]),
        (
            Some(0),
            "ipmi_n1 (fence_ipmilan): monitor: device answers\n".into()
        )
    );
    assert_eq!(lab.power("n1"), "off", "the tests left power alone");
}
