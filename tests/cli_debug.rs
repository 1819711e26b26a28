//! `warden resource debug-start|debug-stop|debug-monitor RESOURCE`: one
//! action of a resource, as its CIB configures it, run on this machine —
//! with `ocf:heartbeat:Dummy` (Debian's resource-agents) and the LSB
//! fixture of `../shared/lab/ocf/lsb`, their state under a temporary
//! directory. Skipped with one line where the agent is not installed.

mod cli_support;

use cli_support::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const DUMMY: &str = "/usr/lib/ocf/resource.d/heartbeat/Dummy";
const LSB_DIR: &str = "../shared/lab/ocf/lsb";
const SECRET: &str = "hunter2-debug-secret";

fn cib(resources: &str) -> String {
    format!(
        r#"<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config/>
    <nodes/>
    <resources>
{resources}
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
"#
    )
}

fn debug(file: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(warden_bin())
        .arg("-f")
        .arg(file)
        .arg("resource")
        .args(args)
        .envs(env.iter().copied())
        .env_remove("CIB_file")
        .output()
        .expect("run warden")
}

/// (exit code, stdout)
fn run(file: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String) {
    let out = debug(file, env, args);
    assert_eq!(stderr(&out), "", "{args:?}");
    (out.status.code().unwrap_or(-1), stdout(&out))
}

#[test]
fn dummy_start_monitor_stop_as_pcs_shows_them() {
    if !Path::new(DUMMY).exists() {
        eprintln!("SKIP dummy_start_monitor_stop_as_pcs_shows_them: {DUMMY} is not installed (resource-agents)");
        return;
    }
    let scratch = Scratch::new("debug-dummy");
    let state = scratch.file("d1.state");
    let file = scratch.file("cib.xml");
    fs::write(
        &file,
        cib(&format!(
            r#"      <primitive id="d1" class="ocf" provider="heartbeat" type="Dummy">
        <instance_attributes id="d1-ia">
          <nvpair id="d1-ia-state" name="state" value="{}"/>
          <nvpair id="d1-ia-password" name="password" value="{SECRET}"/>
        </instance_attributes>
        <operations>
          <op id="d1-start" name="start" interval="0s" timeout="7s"/>
        </operations>
      </primitive>"#,
            state.display()
        )),
    )
    .unwrap();
    let before = fs::read_to_string(&file).unwrap();
    let line = |action: &str, rc: &str, code: i32| {
        format!("Operation {action} for d1 (ocf:heartbeat:Dummy) returned: '{rc}' ({code})\n")
    };
    assert_eq!(
        run(&file, &[], &["debug-monitor", "d1"]),
        (7, line("monitor", "not running", 7))
    );
    assert!(!state.exists());
    assert_eq!(
        run(&file, &[], &["debug-start", "d1"]),
        (0, line("start", "ok", 0))
    );
    assert!(state.exists(), "the agent ran with the CIB's parameters");
    let (code, text) = run(&file, &[], &["debug-monitor", "d1", "--full"]);
    assert_eq!(code, 0);
    assert!(text.starts_with(&line("monitor", "ok", 0)), "{text}");
    assert!(
        text.contains("\n >  trace: + "),
        "--full shows the agent's trace: {text}"
    );
    assert!(
        text.contains("OCF_RESKEY_password=****"),
        "the trace shows the environment, secret hidden: {text}"
    );
    assert!(!text.contains(SECRET), "{text}");
    assert!(
        text.contains("OCF_RESKEY_CRM_meta_timeout=20000\n"),
        "no monitor op configured: Pacemaker's default timeout: {text}"
    );
    let (code, text) = run(&file, &[], &["debug-start", "d1", "--full"]);
    assert_eq!(code, 0);
    assert!(
        text.contains("OCF_RESKEY_CRM_meta_timeout=7000\n"),
        "the start op's timeout: {text}"
    );
    assert_eq!(
        run(&file, &[], &["debug-stop", "d1"]),
        (0, line("stop", "ok", 0))
    );
    assert!(!state.exists());
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        before,
        "the CIB is only read"
    );
}

/// Stops the fixture when the test ends, however it ends.
struct StopLsb<'a>(&'a Path, Vec<(&'a str, String)>);

impl Drop for StopLsb<'_> {
    fn drop(&mut self) {
        let env: Vec<(&str, &str)> = self.1.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let _ = debug(self.0, &env, &["debug-stop", "fx"]);
    }
}

#[test]
fn lsb_fixture_start_monitor_stop() {
    let lsb_dir = PathBuf::from(LSB_DIR);
    if !lsb_dir.join("sdlab-lsb-fixture").exists() {
        eprintln!("SKIP lsb_fixture_start_monitor_stop: {LSB_DIR} is absent");
        return;
    }
    let scratch = Scratch::new("debug-lsb");
    let file = scratch.file("cib.xml");
    fs::write(
        &file,
        cib(r#"      <primitive id="fx" class="lsb" type="sdlab-lsb-fixture"/>"#),
    )
    .unwrap();
    let state_dir = scratch.file("state");
    fs::create_dir_all(&state_dir).unwrap();
    let env_owned = vec![
        (
            "WARDEN_LSB_DIR",
            fs::canonicalize(&lsb_dir).unwrap().display().to_string(),
        ),
        ("SDLAB_LSB_STATE_DIR", state_dir.display().to_string()),
    ];
    let env: Vec<(&str, &str)> = env_owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let _stop = StopLsb(&file, env_owned.clone());
    let (code, text) = run(&file, &env, &["debug-monitor", "fx"]);
    assert_eq!(code, 7, "{text}");
    assert!(text.starts_with(
        "Operation monitor for fx (lsb:sdlab-lsb-fixture) returned: 'not running' (7)\n"
    ));
    let (code, text) = run(&file, &env, &["debug-start", "fx"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("\n >  stdout: sdlab-lsb-fixture started (pid "),
        "{text}"
    );
    let pidfile = state_dir.join("sdlab-lsb-fixture.pid");
    assert!(
        pidfile.exists(),
        "the state is under the temporary directory"
    );
    let (code, text) = run(&file, &env, &["debug-monitor", "fx"]);
    assert_eq!(code, 0, "{text}");
    let (code, _) = run(&file, &env, &["debug-stop", "fx"]);
    assert_eq!(code, 0);
    let (code, _) = run(&file, &env, &["debug-monitor", "fx"]);
    assert_eq!(code, 7);
}

#[test]
fn what_cannot_run_alone_is_refused() {
    let scratch = Scratch::new("debug-refused");
    let file = scratch.file("cib.xml");
    fs::write(
        &file,
        cib(r#"      <group id="g">
        <primitive id="a" class="ocf" provider="heartbeat" type="Dummy"/>
        <primitive id="b" class="ocf" provider="heartbeat" type="Dummy"/>
      </group>
      <primitive id="fence1" class="stonith" type="fence_ipmilan"/>"#),
    )
    .unwrap();
    for (args, message) in [
        (
            &["debug-start", "g"][..],
            "Error: unable to debug-start a group, try one of the group's resource(s) (a,b)",
        ),
        (
            &["debug-stop", "nothing"][..],
            "Error: unable to find a resource/clone/group/bundle: nothing",
        ),
        (
            &["debug-monitor", "fence1"][..],
            "stonith devices are not supported",
        ),
        (&["debug-start"][..], "missing argument: expected RESOURCE"),
    ] {
        let out = debug(&file, &[], args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    let out = warden(&["resource", "debug-start", "a"]);
    assert!(
        stderr(&out).contains("needs the live cluster"),
        "{}",
        stderr(&out)
    );
}
