//! The OpenNebula OCF agents (`agents/`) driven against the fake OpenNebula
//! services (`tests/fixtures/opennebula/fake-opennebula.py`): Debian's
//! `ocf-tester` passes every agent, then the contract case by case.
//!
//! Each test installs the agents the way operators do (agents plus
//! `opennebula-common.sh` in `$OCF_ROOT/resource.d/opennebula/`, nothing in
//! `$OCF_ROOT/lib`) into a directory of its own, runs them with `dash` in
//! command mode (no systemd) on free loopback ports, and stops everything it
//! started when it ends, even on failure. Needs python3 and ocf-tester
//! (package resource-agents); without them each test prints one SKIP line.
//! Expected values come from the fixtures and OpenNebula's documented states,
//! never from the agents.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use quick_xml::events::Event;
use quick_xml::Reader;

const AGENTS: [&str; 6] = ["oned", "sunstone", "fireedge", "flow", "gate", "novnc"];

/// The password in the test `one_auth` file: it must reach the fake oned and
/// appear nowhere else.
const PASSWORD: &str = "pw-Kx7fQ2-never-printed";
/// A wrong password, for the paths where oned rejects the session.
const WRONG_PASSWORD: &str = "pw-Zq9wrong-never-printed";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/opennebula")
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The tools the tests need, or `None` after printing the SKIP line.
fn prerequisites(test: &str) -> Option<PathBuf> {
    for (tool, why) in [
        (
            "python3",
            "the fake OpenNebula services are python3 scripts",
        ),
        ("ocf-tester", "package resource-agents"),
    ] {
        if find_program(tool).is_none() {
            eprintln!("SKIP {test}: {tool} not found ({why})");
            return None;
        }
    }
    find_program("ocf-tester")
}

/// The shell the agents run under: dash (the POSIX shell they are written
/// for), or /bin/sh where dash is not installed.
fn shell() -> PathBuf {
    find_program("dash").unwrap_or_else(|| PathBuf::from("/bin/sh"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral loopback port")
        .port()
}

/// Polls `cond` until it holds or `limit` passes.
// Tests observe other processes, which have no event to wait on: a short poll
// with a deadline is the honest way (the ban on sleeping targets the daemon).
#[allow(clippy::disallowed_methods)]
fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.to_string()))
        .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
}

/// The result of one agent action.
struct Run {
    what: String,
    rc: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn expect(&self, rc: i32) -> &Self {
        assert_eq!(
            self.rc,
            rc,
            "{}: expected rc {rc}\n{}",
            self.what,
            self.dump()
        );
        self
    }

    fn dump(&self) -> String {
        format!(
            "--- {} rc={}\n--- stdout:\n{}--- stderr:\n{}",
            self.what, self.rc, self.stdout, self.stderr
        )
    }

    fn exit_reason(&self) -> String {
        self.stderr
            .lines()
            .filter_map(|l| l.strip_prefix("ocf-exit-reason:"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn expect_reason(&self, rc: i32, fragment: &str) -> &Self {
        self.expect(rc);
        let reason = self.exit_reason();
        assert!(
            reason.contains(fragment),
            "{}: exit reason should contain {fragment:?}\n{}",
            self.what,
            self.dump()
        );
        self
    }
}

/// A private OCF_ROOT with the agents installed, a state directory, the
/// one_auth file, and everything started from it (torn down in Drop).
struct Lab {
    dir: PathBuf,
    resources: Mutex<Vec<Resource>>,
    fake_pid_files: Mutex<Vec<PathBuf>>,
}

static LAB_SEQ: AtomicUsize = AtomicUsize::new(0);

impl Lab {
    fn new(name: &str) -> Lab {
        let dir = std::env::temp_dir().join(format!(
            "warden-onetest-{}-{}-{name}",
            std::process::id(),
            LAB_SEQ.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&dir);
        let provider = dir.join("ocf/resource.d/opennebula");
        fs::create_dir_all(&provider).unwrap();
        fs::create_dir_all(dir.join("ocf/lib")).unwrap();
        fs::create_dir_all(dir.join("run")).unwrap();
        fs::create_dir_all(dir.join("tmp")).unwrap();
        // installed as the README says: agents 0755, the helper 0644
        for agent in AGENTS {
            install(
                &root().join("agents").join(agent),
                &provider.join(agent),
                0o755,
            );
        }
        install(
            &root().join("agents/opennebula-common.sh"),
            &provider.join("opennebula-common.sh"),
            0o644,
        );
        // ocf-tester checks meta-data as user nobody: the path must be open
        for d in [
            &dir,
            &dir.join("ocf"),
            &dir.join("ocf/resource.d"),
            &provider,
        ] {
            set_mode(d, 0o755);
        }
        let lab = Lab {
            dir,
            resources: Mutex::new(Vec::new()),
            fake_pid_files: Mutex::new(Vec::new()),
        };
        lab.write_auth("one_auth", PASSWORD);
        lab.write_auth("one_auth.wrong", WRONG_PASSWORD);
        lab
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    fn write_auth(&self, name: &str, password: &str) {
        let path = self.path(name);
        fs::write(&path, format!("oneadmin:{password}\n")).unwrap();
        set_mode(&path, 0o600);
    }

    fn agent_path(&self, agent: &str) -> PathBuf {
        self.path("ocf/resource.d/opennebula").join(agent)
    }

    /// The start_cmd running a fake service; its own PID file is recorded
    /// so that Drop can kill it even if the agent cannot.
    fn fake_cmd(&self, mode: &str, port: u16, extra: &str) -> String {
        let pid_file = self.path(&format!("fake-{port}.pid"));
        self.fake_pid_files.lock().unwrap().push(pid_file.clone());
        format!(
            "python3 \"{}\" {mode} --port {port} --pid-file \"{}\" --log \"{}\" {extra}",
            fixtures().join("fake-opennebula.py").display(),
            pid_file.display(),
            self.p(&format!("fake-{port}.log")),
        )
    }

    fn fake_pid(&self, port: u16) -> i32 {
        let text = fs::read_to_string(self.path(&format!("fake-{port}.pid"))).unwrap();
        text.trim().parse().unwrap()
    }

    fn fake_log(&self, port: u16) -> String {
        fs::read_to_string(self.path(&format!("fake-{port}.log"))).unwrap_or_default()
    }

    /// A resource of `agent` whose stop runs when the lab is dropped.
    fn resource(&self, agent: &'static str, instance: &str, params: &[(&str, String)]) -> Resource {
        let r = Resource {
            agent,
            instance: instance.to_string(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        };
        self.resources.lock().unwrap().push(r.clone());
        r
    }

    /// A resource the lab never stops by itself: for systemd mode, whose stop
    /// must never reach the host's service manager.
    fn unmanaged(
        &self,
        agent: &'static str,
        instance: &str,
        params: &[(&str, String)],
    ) -> Resource {
        Resource {
            agent,
            instance: instance.to_string(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }

    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LANG", "C")
            .env("OCF_ROOT", self.path("ocf"))
            .env("HA_RSCTMP", self.path("run"))
            .env("TMPDIR", self.path("tmp"));
        cmd
    }

    fn run(&self, r: &Resource, action: &str, extra: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(Path::new("timeout"));
        cmd.arg("-k")
            .arg("5")
            .arg("90")
            .arg(shell())
            .arg(self.agent_path(r.agent))
            .arg(action)
            .env("OCF_RESOURCE_INSTANCE", &r.instance)
            .env("OCF_RESOURCE_TYPE", r.agent)
            .env("OCF_RESOURCE_PROVIDER", "opennebula")
            .env("OCF_RA_VERSION_MAJOR", "1")
            .env("OCF_RA_VERSION_MINOR", "1")
            .env("OCF_RESKEY_CRM_meta_timeout", "20000")
            .env("OCF_RESKEY_CRM_meta_interval", "20000");
        for (k, v) in &r.params {
            cmd.env(format!("OCF_RESKEY_{k}"), v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run the agent");
        Run {
            what: format!("{} {action} {extra:?}", r.instance),
            rc: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

const PROBE: &[(&str, &str)] = &[("OCF_RESKEY_CRM_meta_interval", "0")];
const DEPTH_10: &[(&str, &str)] = &[("OCF_CHECK_LEVEL", "10")];

impl Drop for Lab {
    fn drop(&mut self) {
        let resources = std::mem::take(&mut *self.resources.lock().unwrap());
        for r in &resources {
            let _ = self.run(r, "stop", &[]);
        }
        // whatever the agents could not stop: only our own fakes, recognised
        // by the lab directory on their command line
        let marker = self.dir.display().to_string();
        for pid_file in self.fake_pid_files.lock().unwrap().iter() {
            let Some(pid) = fs::read_to_string(pid_file)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
            else {
                continue;
            };
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&marker) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[derive(Clone)]
struct Resource {
    agent: &'static str,
    instance: String,
    params: Vec<(String, String)>,
}

fn install(from: &Path, to: &Path, mode: u32) {
    fs::copy(from, to).unwrap_or_else(|e| panic!("install {}: {e}", from.display()));
    set_mode(to, mode);
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// An oned resource on `port`, started as the fake oned with `extra` fake
/// options; `params` add or override instance attributes.
fn oned(lab: &Lab, instance: &str, port: u16, extra: &str, params: &[(&str, String)]) -> Resource {
    let mut all: Vec<(&str, String)> = vec![
        ("port", port.to_string()),
        (
            "oned_conf",
            fixtures().join("oned-mysql.conf").display().to_string(),
        ),
        ("one_auth", lab.p("one_auth")),
        ("check_timeout", "1".to_string()),
        (
            "start_cmd",
            lab.fake_cmd(
                "oned",
                port,
                &format!("--auth-file \"{}\" {extra}", lab.p("one_auth")),
            ),
        ),
    ];
    for (k, v) in params {
        all.retain(|(name, _)| name != k);
        all.push((k, v.clone()));
    }
    lab.resource("oned", instance, &all)
}

/// A web service resource (fake http, or tcp for novnc) on `port`.
fn web(lab: &Lab, agent: &'static str, instance: &str, port: u16, extra: &str) -> Resource {
    let mode = if agent == "novnc" { "tcp" } else { "http" };
    lab.resource(
        agent,
        instance,
        &[
            ("port", port.to_string()),
            ("check_timeout", "1".to_string()),
            ("start_cmd", lab.fake_cmd(mode, port, extra)),
        ],
    )
}

fn http_clients(test: &str) -> Vec<&'static str> {
    let mut clients = vec!["python3"];
    if find_program("curl").is_some() {
        clients.push("curl");
    } else {
        eprintln!("SKIP {test} (curl client): curl not installed; python3 client tested");
    }
    clients
}

/// The instance attributes ocf-tester passes with -o for `agent` on `port`.
fn ocf_tester_params(lab: &Lab, agent: &str, port: u16) -> Vec<(&'static str, String)> {
    let mut params = vec![
        ("port", port.to_string()),
        ("check_timeout", "2".to_string()),
    ];
    match agent {
        "oned" => {
            let extra = format!(
                "--auth-file \"{}\" --vms-file \"{}\"",
                lab.p("one_auth"),
                fixtures().join("vms-after-failover.json").display()
            );
            params.push((
                "oned_conf",
                fixtures().join("oned-mysql.conf").display().to_string(),
            ));
            params.push(("one_auth", lab.p("one_auth")));
            params.push(("start_cmd", lab.fake_cmd("oned", port, &extra)));
        }
        "novnc" => params.push(("start_cmd", lab.fake_cmd("tcp", port, ""))),
        _ => params.push(("start_cmd", lab.fake_cmd("http", port, "--status 302"))),
    }
    params
}

#[test]
fn ocf_tester_passes_every_agent() {
    let Some(ocf_tester) = prerequisites("ocf_tester_passes_every_agent") else {
        return;
    };
    if find_program("xmllint").is_none() {
        // ocf-tester validates meta-data with it; resource-agents only recommends it
        eprintln!(
            "SKIP ocf_tester_passes_every_agent: xmllint not installed (package libxml2-utils)"
        );
        return;
    }
    let lab = Lab::new("ocftester");
    let results: Vec<(&str, bool, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = AGENTS
            .iter()
            .map(|&agent| {
                let (lab, ocf_tester) = (&lab, &ocf_tester);
                s.spawn(move || {
                    let instance = format!("t-{agent}");
                    let params = ocf_tester_params(lab, agent, free_port());
                    // registered so that the lab stops it if ocf-tester aborts
                    lab.resource(agent, &instance, &params);
                    let mut cmd = lab.command(Path::new("timeout"));
                    cmd.arg("120").arg(ocf_tester).arg("-n").arg(&instance);
                    for (k, v) in &params {
                        cmd.arg("-o").arg(format!("{k}={v}"));
                    }
                    let out = cmd
                        .arg(lab.agent_path(agent))
                        .output()
                        .expect("run ocf-tester");
                    let text = format!(
                        "{}{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    );
                    let passed = out.status.success() && text.contains("passed all tests");
                    (agent, passed, text)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let failed: Vec<_> = results.iter().filter(|(_, ok, _)| !ok).collect();
    assert!(
        failed.is_empty(),
        "ocf-tester failed for: {}",
        failed
            .iter()
            .map(|(a, _, t)| format!("\n=== {a}\n{t}"))
            .collect::<String>()
    );
}

#[test]
fn probes_of_stopped_resources_return_not_running_even_when_misconfigured() {
    if prerequisites("probes_of_stopped_resources_return_not_running_even_when_misconfigured")
        .is_none()
    {
        return;
    }
    let lab = Lab::new("probe");
    for agent in AGENTS {
        let port = free_port();
        let r = if agent == "oned" {
            oned(&lab, "p-oned", port, "", &[])
        } else {
            web(&lab, agent, &format!("p-{agent}"), port, "")
        };
        lab.run(&r, "monitor", PROBE).expect(7);
        lab.run(&r, "monitor", &[]).expect(7);
        // broken parameters do not turn "not running here" into an error
        let broken = lab.resource(
            agent,
            &format!("pb-{agent}"),
            &[
                ("port", "not-a-port".to_string()),
                ("oned_conf", lab.p("no-such-oned.conf")),
                ("one_auth", lab.p("no-such-one_auth")),
                ("start_cmd", "/nonexistent/service --foreground".to_string()),
            ],
        );
        lab.run(&broken, "monitor", PROBE).expect(7);
        // systemd mode with a unit this node does not have
        let unit = lab.unmanaged(
            agent,
            &format!("pu-{agent}"),
            &[("unit", "warden-test-no-such-unit".to_string())],
        );
        lab.run(&unit, "monitor", PROBE).expect(7);
    }
    lab.resources
        .lock()
        .unwrap()
        .retain(|r| !r.instance.starts_with("pu-"));
    let sqlite = oned(
        &lab,
        "p-sqlite",
        free_port(),
        "",
        &[(
            "oned_conf",
            fixtures().join("oned-sqlite.conf").display().to_string(),
        )],
    );
    lab.run(&sqlite, "monitor", PROBE).expect(7);
}

#[test]
fn start_and_stop_are_idempotent() {
    if prerequisites("start_and_stop_are_idempotent").is_none() {
        return;
    }
    let lab = Lab::new("idem");
    for agent in ["oned", "sunstone", "novnc"] {
        let port = free_port();
        let r = if agent == "oned" {
            oned(&lab, "i-oned", port, "", &[])
        } else {
            web(&lab, agent, &format!("i-{agent}"), port, "")
        };
        let pid_file = lab.path(&format!("run/opennebula-{agent}-{}.pid", r.instance));
        lab.run(&r, "start", &[]).expect(0);
        let session = fs::read_to_string(&pid_file).expect("pid_file after start");
        let fake = lab.fake_pid(port);
        assert!(alive(fake), "{agent}: the service runs after start");
        lab.run(&r, "start", &[]).expect(0);
        assert_eq!(
            fs::read_to_string(&pid_file).unwrap(),
            session,
            "{agent}: a second start must not start a second service"
        );
        assert_eq!(lab.fake_pid(port), fake, "{agent}: same service process");
        lab.run(&r, "monitor", &[]).expect(0);
        lab.run(&r, "monitor", PROBE).expect(0);
        lab.run(&r, "stop", &[]).expect(0);
        assert!(
            !alive(fake),
            "{agent}: the service process is gone after stop"
        );
        assert!(!pid_file.exists(), "{agent}: pid_file removed by stop");
        lab.run(&r, "stop", &[]).expect(0);
        lab.run(&r, "monitor", &[]).expect(7);
        lab.run(&r, "monitor", PROBE).expect(7);
    }
}

#[test]
fn monitor_fails_with_a_reason_when_oned_hangs() {
    let test = "monitor_fails_with_a_reason_when_oned_hangs";
    if prerequisites(test).is_none() {
        return;
    }
    let lab = Lab::new("hang");
    // the flag file: process alive, port open, no answer
    for client in http_clients(test) {
        let port = free_port();
        let hang_file = lab.path(&format!("hang-{port}"));
        let r = oned(
            &lab,
            &format!("h-{client}"),
            port,
            &format!("--hang-file \"{}\"", hang_file.display()),
            &[("http_client", client.to_string())],
        );
        lab.run(&r, "start", &[]).expect(0);
        lab.run(&r, "monitor", &[]).expect(0);
        fs::write(&hang_file, "").unwrap();
        let hung = lab.run(&r, "monitor", &[]);
        hung.expect_reason(1, "is up but oned does not answer");
        hung.expect_reason(
            1,
            &format!("no answer from http://127.0.0.1:{port}/RPC2 within 1s"),
        );
        fs::remove_file(&hang_file).unwrap();
        lab.run(&r, "monitor", &[]).expect(0);
        lab.run(&r, "stop", &[]).expect(0);
    }

    // the signals; a probe of a hung oned is a failure too, and it still stops
    let port = free_port();
    let r = oned(&lab, "h-signal", port, "", &[]);
    lab.run(&r, "start", &[]).expect(0);
    let fake = lab.fake_pid(port);
    let signal = |sig| nix::sys::signal::kill(nix::unistd::Pid::from_raw(fake), sig).unwrap();
    let lab_ref = &lab;
    let hangs = |n: usize| move || lab_ref.fake_log(port).matches("HANG on").count() == n;
    signal(nix::sys::signal::Signal::SIGUSR1);
    wait_until("the fake to hang", Duration::from_secs(10), hangs(1));
    lab.run(&r, "monitor", PROBE)
        .expect_reason(1, "does not answer");
    signal(nix::sys::signal::Signal::SIGUSR2);
    wait_until("the fake to recover", Duration::from_secs(10), || {
        lab.fake_log(port).contains("HANG off")
    });
    lab.run(&r, "monitor", &[]).expect(0);
    signal(nix::sys::signal::Signal::SIGUSR1);
    wait_until("the fake to hang again", Duration::from_secs(10), hangs(2));
    lab.run(&r, "stop", &[]).expect(0);
    assert!(!alive(fake), "the hung fake is gone after stop");
    lab.run(&r, "monitor", PROBE).expect(7);
}

#[test]
fn web_services_fail_when_hung_and_at_depth_10_on_server_errors() {
    if prerequisites("web_services_fail_when_hung_and_at_depth_10_on_server_errors").is_none() {
        return;
    }
    let lab = Lab::new("web");
    for client in http_clients("web_services_fail_when_hung_and_at_depth_10_on_server_errors") {
        let port = free_port();
        let hang_file = lab.path(&format!("hang-{port}"));
        let mut r = web(
            &lab,
            "fireedge",
            &format!("w-{client}"),
            port,
            &format!("--status 503 --hang-file \"{}\"", hang_file.display()),
        );
        r.params.push(("http_client".into(), client.into()));
        lab.resources.lock().unwrap().push(r.clone());
        lab.run(&r, "start", &[]).expect(0);
        // any HTTP status line proves the service answers...
        lab.run(&r, "monitor", &[]).expect(0);
        // ...but at depth 10 a server error is a failure
        lab.run(&r, "monitor", DEPTH_10)
            .expect_reason(1, "answers HTTP 503");
        fs::write(&hang_file, "").unwrap();
        lab.run(&r, "monitor", &[]).expect_reason(
            1,
            &format!("no answer from http://127.0.0.1:{port}/ within 1s"),
        );
        fs::remove_file(&hang_file).unwrap();
        lab.run(&r, "monitor", &[]).expect(0);
        lab.run(&r, "stop", &[]).expect(0);
    }

    // novnc: a TCP listener is enough; nothing listening is not running
    let port = free_port();
    let vnc = web(&lab, "novnc", "w-novnc", port, "");
    lab.run(&vnc, "start", &[]).expect(0);
    lab.run(&vnc, "monitor", DEPTH_10).expect(0);
    let fake = lab.fake_pid(port);
    lab.run(&vnc, "stop", &[]).expect(0);
    assert!(!alive(fake));
    lab.run(&vnc, "monitor", &[]).expect(7);
}

/// validate-all on an oned.conf: (conf file, extra params, rc, reason fragment).
fn check_conf(lab: &Lab, conf: &Path, params: &[(&str, String)], rc: i32, fragment: &str) {
    let mut all = vec![("oned_conf", conf.display().to_string())];
    all.extend(params.iter().cloned());
    let r = oned(lab, "v-oned", free_port(), "", &all);
    let run = lab.run(&r, "validate-all", &[]);
    if fragment.is_empty() {
        run.expect(0);
        assert!(run.exit_reason().is_empty(), "{}", run.dump());
    } else {
        run.expect_reason(rc, fragment);
    }
    // the database password of the fixtures never shows
    assert!(
        !run.stderr.contains("db-password-never-logged"),
        "{}",
        run.dump()
    );
    assert!(
        !run.stdout.contains("db-password-never-logged"),
        "{}",
        run.dump()
    );
}

#[test]
fn validate_all_checks_oned_conf_for_a_cluster_managed_front_end() {
    if prerequisites("validate_all_checks_oned_conf_for_a_cluster_managed_front_end").is_none() {
        return;
    }
    let lab = Lab::new("validate");
    let fx = |name: &str| fixtures().join(name);
    let own = |name: &str, text: &str| {
        let path = lab.path(name);
        fs::write(&path, text).unwrap();
        path
    };
    let t = |s: &str| s.to_string();

    check_conf(&lab, &fx("oned-mysql.conf"), &[], 0, "");
    check_conf(
        &lab,
        &fx("oned-sqlite.conf"),
        &[],
        6,
        "oned-sqlite.conf:5: DB BACKEND = \"sqlite\": SQLite must not be used for an HA front end",
    );
    check_conf(
        &lab,
        &fx("oned-no-db.conf"),
        &[],
        6,
        "has no DB section, so oned uses its default SQLite backend",
    );
    check_conf(
        &lab,
        &fx("oned-raft.conf"),
        &[],
        6,
        "oned-raft.conf:8: FEDERATION SERVER_ID = 0 turns on OpenNebula's own Raft HA",
    );
    check_conf(
        &lab,
        &fx("oned-raft.conf"),
        &[("allow_raft", t("true"))],
        0,
        "",
    );
    check_conf(
        &lab,
        &fx("oned-slave.conf"),
        &[],
        6,
        "oned-slave.conf:6: FEDERATION MODE is SLAVE but the resource expects STANDALONE",
    );
    check_conf(
        &lab,
        &fx("oned-slave.conf"),
        &[("federation_mode", t("slave"))],
        0,
        "",
    );
    check_conf(
        &lab,
        &fx("oned-broken.conf"),
        &[],
        6,
        "oned-broken.conf:4: expected \",\" or \"]\" after DB/SERVER",
    );
    check_conf(
        &lab,
        &lab.path("missing.conf"),
        &[],
        5,
        "missing.conf does not exist or is not readable",
    );

    let upper = own("upper.conf", "DB = [ backend = \"SQLite\" ]\n");
    check_conf(
        &lab,
        &upper,
        &[],
        6,
        "upper.conf:1: DB BACKEND = \"sqlite\"",
    );
    let no_backend = own(
        "nobackend.conf",
        "# x\nDB = [ SERVER = \"db\",\n  PASSWD = \"db-password-never-logged\" ]\n",
    );
    check_conf(
        &lab,
        &no_backend,
        &[],
        6,
        "nobackend.conf:2: DB has no BACKEND",
    );
    let odd = own("odd.conf", "DB = [ BACKEND = oracle ]\n");
    check_conf(
        &lab,
        &odd,
        &[],
        6,
        "odd.conf:1: DB BACKEND = \"oracle\" is not a backend oned knows",
    );
    let slave = own(
        "slave-nomaster.conf",
        "DB = [ BACKEND = \"mysql\" ]\nFEDERATION = [ MODE = \"SLAVE\", ZONE_ID = 1,\n SERVER_ID = -1, MASTER_ONED = \"\" ]\n",
    );
    check_conf(
        &lab,
        &slave,
        &[("federation_mode", t("SLAVE"))],
        6,
        "needs MASTER_ONED",
    );
    let quoted = own(
        "quoted.conf",
        "LOG = [ SYSTEM = \"file # not a comment\" ] # a comment \"\nDB = [ BACKEND = \"mysql\", PASSWD = \"p,]=#\\\"x\" ]\n",
    );
    check_conf(&lab, &quoted, &[], 0, "");
    check_conf(
        &lab,
        &fx("oned-mysql.conf"),
        &[("federation_mode", t("galaxy"))],
        6,
        "federation_mode='GALAXY'",
    );
    check_conf(
        &lab,
        &fx("oned-mysql.conf"),
        &[("port", t("70000"))],
        6,
        "port='70000'",
    );

    // start refuses the same configuration, before running anything
    let port = free_port();
    let r = oned(
        &lab,
        "v-start",
        port,
        "",
        &[("oned_conf", fx("oned-sqlite.conf").display().to_string())],
    );
    lab.run(&r, "start", &[])
        .expect_reason(6, "SQLite must not be used");
    assert!(
        !lab.path(&format!("fake-{port}.pid")).exists(),
        "nothing started"
    );
}

/// The VMs of `vms-after-failover.json` that are ACTIVE but not RUNNING,
/// with the LCM state names of OpenNebula's include/VirtualMachine.h.
const STUCK: [(u32, &str, &str); 6] = [
    (7, "db-primary", "PROLOG (1)"),
    (8, "cache & <queue>", "BOOT (2)"),
    (12, "build-runner", "EPILOG (11)"),
    (23, "mail", "PROLOG_FAILURE (39)"),
    (30, "stats", "UNKNOWN (16)"),
    (31, "backup-target", "BACKUP (69)"),
];

#[test]
fn start_lists_stuck_vms_with_the_recover_hint_and_changes_nothing() {
    if prerequisites("start_lists_stuck_vms_with_the_recover_hint_and_changes_nothing").is_none() {
        return;
    }
    let lab = Lab::new("stuck");
    let vms = format!(
        "--vms-file \"{}\"",
        fixtures().join("vms-after-failover.json").display()
    );
    for client in http_clients("start_lists_stuck_vms_with_the_recover_hint_and_changes_nothing") {
        let port = free_port();
        let r = oned(
            &lab,
            &format!("s-{client}"),
            port,
            &vms,
            &[("http_client", client.to_string())],
        );
        let start = lab.run(&r, "start", &[]);
        start.expect(0);
        let hints: Vec<&str> = start
            .stderr
            .lines()
            .filter(|l| l.contains("onevm recover"))
            .collect();
        for (id, name, state) in STUCK {
            let line = hints
                .iter()
                .find(|l| l.contains(&format!("onevm recover {id} --success|--failure|--retry")))
                .unwrap_or_else(|| panic!("{client}: no hint for VM {id}\n{}", start.dump()));
            assert!(
                line.contains(&format!("VM {id} \"{name}\"")),
                "{client}: {line}"
            );
            assert!(
                line.contains(&format!("LCM state {state}")),
                "{client}: {line}"
            );
        }
        // one line per stuck VM, plus the summary that names the count
        assert_eq!(hints.len(), STUCK.len() + 1, "{client}:\n{}", start.dump());
        assert!(
            start.stderr.contains("6 of 8 active VMs are not RUNNING"),
            "{client}:\n{}",
            start.dump()
        );
        for running in ["web-1", "lb-2", "old-report"] {
            assert!(
                !start.stderr.contains(running),
                "{client}: {running} is fine\n{}",
                start.dump()
            );
        }
        assert!(!start.stderr.contains("vm-context-pw"), "{}", start.dump());
        // the agent only reads: no call that changes a VM
        let calls: Vec<String> = lab
            .fake_log(port)
            .lines()
            .filter_map(|l| l.strip_prefix("CALL "))
            .map(|l| l.split(' ').next().unwrap().to_string())
            .collect();
        assert!(calls.iter().any(|c| c == "one.vmpool.info"), "{calls:?}");
        assert!(
            calls
                .iter()
                .all(|c| c == "one.system.version" || c == "one.vmpool.info"),
            "{calls:?}"
        );
        lab.run(&r, "stop", &[]).expect(0);
    }

    // switched off: no listing, no pool call
    let port = free_port();
    let off = oned(
        &lab,
        "s-off",
        port,
        &vms,
        &[("list_stuck_vms", "false".to_string())],
    );
    let start = lab.run(&off, "start", &[]);
    start.expect(0);
    assert!(!start.stderr.contains("onevm recover"), "{}", start.dump());
    assert!(!lab.fake_log(port).contains("one.vmpool.info"));

    // nothing stuck
    let port = free_port();
    let calm = oned(&lab, "s-calm", port, "", &[]);
    let start = lab.run(&calm, "start", &[]);
    start.expect(0);
    assert!(
        start
            .stderr
            .contains("no VM in a transient state (0 active VMs checked)"),
        "{}",
        start.dump()
    );
}

#[test]
fn the_one_auth_secret_never_appears_in_output_logs_or_command_lines() {
    if prerequisites("the_one_auth_secret_never_appears_in_output_logs_or_command_lines").is_none()
    {
        return;
    }
    let lab = Lab::new("secret");
    let vms = format!(
        "--vms-file \"{}\"",
        fixtures().join("vms-after-failover.json").display()
    );
    let mut runs = Vec::new();
    for client in http_clients("the_one_auth_secret_never_appears_in_output_logs_or_command_lines")
    {
        let port = free_port();
        let r = oned(
            &lab,
            &format!("x-{client}"),
            port,
            &vms,
            &[("http_client", client.to_string())],
        );
        runs.push(lab.run(&r, "meta-data", &[]));
        runs.push(lab.run(&r, "validate-all", &[]));
        runs.push(lab.run(&r, "monitor", PROBE));
        runs.push(lab.run(&r, "start", &[]));
        runs.push(lab.run(&r, "monitor", &[]));
        runs.push(lab.run(&r, "monitor", DEPTH_10));
        for run in &runs[runs.len() - 3..] {
            run.expect(0);
        }
        // the same oned, called with a wrong password: its errors are shown,
        // the password is not
        let mut wrong = r.clone();
        wrong.instance = format!("x-wrong-{client}");
        wrong.params.retain(|(k, _)| k != "one_auth");
        wrong
            .params
            .push(("one_auth".into(), lab.p("one_auth.wrong")));
        let pid_file = lab.p(&format!("run/opennebula-oned-{}.pid", r.instance));
        wrong.params.push(("pid_file".into(), pid_file));
        let depth = lab.run(&wrong, "monitor", DEPTH_10);
        depth.expect_reason(1, "User couldn't be authenticated");
        runs.push(depth);
        runs.push(lab.run(&r, "stop", &[]));
        runs.last().unwrap().expect(0);
        let log = lab.fake_log(port);
        assert!(
            log.contains("CALL one.vmpool.info auth=ok"),
            "the password reached oned:\n{log}"
        );
        assert!(
            log.contains("auth=bad"),
            "the wrong password reached oned:\n{log}"
        );
        assert!(
            !log.contains("SECRET-EXPOSED"),
            "a process showed the password:\n{log}"
        );
    }
    // a start with the wrong password: the listing fails and says why
    let port = free_port();
    let r = oned(
        &lab,
        "x-wrong-start",
        port,
        &vms,
        &[("one_auth", lab.p("one_auth.wrong"))],
    );
    let start = lab.run(&r, "start", &[]);
    start.expect(0);
    assert!(
        start.stderr.contains("cannot list VMs in transient states"),
        "{}",
        start.dump()
    );
    runs.push(start);

    let mut seen: Vec<String> = runs.iter().map(|r| r.dump()).collect();
    for entry in fs::read_dir(lab.path("run")).unwrap() {
        seen.push(fs::read_to_string(entry.unwrap().path()).unwrap_or_default());
    }
    for text in &seen {
        assert!(!text.contains(PASSWORD), "the password leaked:\n{text}");
        assert!(
            !text.contains(WRONG_PASSWORD),
            "the wrong password leaked:\n{text}"
        );
    }
    // temporary files (response bodies) are gone with each action
    let left: Vec<_> = fs::read_dir(lab.path("tmp"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
}

#[test]
fn start_reports_why_it_failed() {
    if prerequisites("start_reports_why_it_failed").is_none() {
        return;
    }
    let lab = Lab::new("startfail");
    // the service exits at once
    let r = oned(
        &lab,
        "f-exit",
        free_port(),
        "",
        &[("start_cmd", "sh -c \"exit 3\"".to_string())],
    );
    lab.run(&r, "start", &[])
        .expect_reason(1, "start_cmd exited during start; see ");
    lab.run(&r, "monitor", PROBE).expect(7);

    // something answers HTTP on the port, but it is not oned
    let port = free_port();
    let r = oned(
        &lab,
        "f-http",
        port,
        "",
        &[("start_cmd", lab.fake_cmd("http", port, ""))],
    );
    // (a short action timeout: start waits for oned until it runs out)
    lab.run(&r, "start", &[("OCF_RESKEY_CRM_meta_timeout", "4000")])
        .expect_reason(1, "answers HTTP 200 but not with an XML-RPC methodResponse");
    lab.run(&r, "stop", &[]).expect(0);

    // an oned outside cluster control already serves the port
    let port = free_port();
    let outside = oned(&lab, "f-outside", port, "", &[]);
    lab.run(&outside, "start", &[]).expect(0);
    let second = oned(&lab, "f-second", port, "", &[]);
    lab.run(&second, "start", &[])
        .expect_reason(1, "an oned already answers");
    lab.run(&second, "monitor", PROBE).expect(7);

    // the program of start_cmd is not installed
    let r = oned(
        &lab,
        "f-missing",
        free_port(),
        "",
        &[("start_cmd", "/nonexistent/oned -f".to_string())],
    );
    lab.run(&r, "validate-all", &[])
        .expect_reason(5, "program '/nonexistent/oned' not found");
}

#[test]
fn stop_runs_stop_cmd_and_kills_what_ignores_sigterm() {
    if prerequisites("stop_runs_stop_cmd_and_kills_what_ignores_sigterm").is_none() {
        return;
    }
    let lab = Lab::new("stop");
    // stop_cmd runs with the service's PID in $MAINPID
    let port = free_port();
    let stop_cmd = format!(
        "echo stop_cmd for $MAINPID; kill -TERM $(cat \"{}\")",
        lab.p(&format!("fake-{port}.pid"))
    );
    let r = lab.resource(
        "gate",
        "k-cmd",
        &[
            ("port", port.to_string()),
            ("start_cmd", lab.fake_cmd("http", port, "")),
            ("stop_cmd", stop_cmd),
            ("log_file", lab.p("k-cmd.log")),
        ],
    );
    lab.run(&r, "start", &[]).expect(0);
    let session = fs::read_to_string(lab.path("run/opennebula-gate-k-cmd.pid")).unwrap();
    let fake = lab.fake_pid(port);
    lab.run(&r, "stop", &[]).expect(0);
    assert!(!alive(fake), "stop_cmd stopped the service");
    let log = fs::read_to_string(lab.path("k-cmd.log")).unwrap();
    assert!(
        log.contains(&format!("stop_cmd for {}", session.trim())),
        "{log}"
    );

    // a service that ignores SIGTERM is killed before the stop timeout
    let port = free_port();
    let r = web(&lab, "gate", "k-term", port, "--ignore-term");
    lab.run(&r, "start", &[]).expect(0);
    let fake = lab.fake_pid(port);
    let stop = lab.run(&r, "stop", &[("OCF_RESKEY_CRM_meta_timeout", "5000")]);
    stop.expect(0);
    assert!(
        stop.stderr
            .contains("did not exit after SIGTERM; sending SIGKILL"),
        "{}",
        stop.dump()
    );
    assert!(!alive(fake), "the service is gone");
    lab.run(&r, "monitor", PROBE).expect(7);
}

/// A service stopped by SIGSTOP (a debugger, a frozen cgroup, or the lab's
/// "hung oned") keeps a SIGTERM pending until it runs again: stop must wake
/// it (SIGCONT after SIGTERM, as systemd does) so it exits cleanly at once,
/// instead of waiting for the stop timeout and SIGKILL.
#[test]
fn stop_ends_a_sigstopped_service_with_sigterm() {
    if prerequisites("stop_ends_a_sigstopped_service_with_sigterm").is_none() {
        return;
    }
    let lab = Lab::new("sigstop");
    let port = free_port();
    lab.write_auth("one_auth", "stopped-pw");
    let r = oned(&lab, "stopped", port, "", &[]);
    lab.run(&r, "start", &[]).expect(0);
    let fake = lab.fake_pid(port);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(fake),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .unwrap();
    lab.run(&r, "monitor", &[])
        .expect_reason(1, "does not answer");
    let stop = lab.run(&r, "stop", &[]);
    stop.expect(0);
    assert!(
        !stop.stderr.contains("SIGKILL"),
        "the stopped service exited on SIGTERM: {}",
        stop.dump()
    );
    assert!(!alive(fake), "the service is gone");
    lab.run(&r, "monitor", PROBE).expect(7);
}

#[test]
fn agents_pass_shellcheck() {
    let Some(shellcheck) = find_program("shellcheck") else {
        eprintln!("SKIP agents_pass_shellcheck: shellcheck not installed");
        return;
    };
    // the helper and oned (which follows it for the variables they share),
    // then the web wrappers alone: shellcheck reports only the files it is
    // given, and parsing the helper once per wrapper would cost seconds
    let groups: [(&[&str], bool); 2] = [
        (&["opennebula-common.sh", "oned"], true),
        (&AGENTS[1..], false),
    ];
    for (files, follow) in groups {
        let mut cmd = Command::new(&shellcheck);
        cmd.current_dir(root().join("agents"))
            .args(["--shell=sh", "--severity=warning"]);
        if follow {
            cmd.args(["--external-sources", "--source-path=SCRIPTDIR"]);
        }
        let out = cmd.args(files).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// The parameters each agent documents, from the task's parameter design.
fn expected_parameters(agent: &str) -> Vec<&'static str> {
    let mut p = vec![
        "unit",
        "start_cmd",
        "stop_cmd",
        "pid_file",
        "log_file",
        "host",
        "port",
        "url",
    ];
    if agent == "oned" {
        p.extend([
            "oned_conf",
            "federation_mode",
            "allow_raft",
            "one_auth",
            "list_stuck_vms",
        ]);
    } else {
        p.push("check");
    }
    p.extend(["check_timeout", "http_client"]);
    p
}

/// Defaults from OpenNebula's packaging: systemd unit and port of each service.
fn expected_defaults(agent: &str) -> (&'static str, &'static str) {
    match agent {
        "oned" => ("opennebula", "2633"),
        "sunstone" => ("opennebula-sunstone", "9869"),
        "fireedge" => ("opennebula-fireedge", "2616"),
        "flow" => ("opennebula-flow", "2474"),
        "gate" => ("opennebula-gate", "5030"),
        "novnc" => ("opennebula-novnc", "29876"),
        _ => unreachable!(),
    }
}

#[derive(Default, Debug)]
struct Param {
    name: String,
    longdesc: String,
    shortdesc: String,
    content_type: Option<String>,
    default: Option<String>,
}

/// (OCF version, parameters, actions as (name, timeout, depth)).
type MetaData = (String, Vec<Param>, Vec<(String, String, String)>);

fn parse_meta_data(xml: &str) -> MetaData {
    let mut reader = Reader::from_str(xml);
    let mut version = String::new();
    let mut params: Vec<Param> = Vec::new();
    let mut actions = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let attr = |e: &quick_xml::events::BytesStart, key: &str| -> Option<String> {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == key.as_bytes())
            .map(|a| a.unescape_value().unwrap().into_owned())
    };
    loop {
        match reader.read_event().expect("meta-data is well-formed XML") {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"parameter" => {
                params.push(Param {
                    name: attr(&e, "name").unwrap_or_default(),
                    ..Param::default()
                });
                path.push("parameter".into());
            }
            Event::Empty(e) if e.name().as_ref() == b"content" => {
                if let Some(p) = params.last_mut() {
                    p.content_type = attr(&e, "type");
                    p.default = attr(&e, "default");
                }
            }
            Event::Empty(e) if e.name().as_ref() == b"action" => actions.push((
                attr(&e, "name").unwrap_or_default(),
                attr(&e, "timeout").unwrap_or_default(),
                attr(&e, "depth").unwrap_or_default(),
            )),
            Event::Start(e) => path.push(String::from_utf8_lossy(e.name().as_ref()).into_owned()),
            Event::End(_) => {
                path.pop();
            }
            Event::Text(t) => {
                let text = t.decode().unwrap().into_owned();
                let in_param = path.iter().any(|p| p == "parameter");
                match (path.last().map(String::as_str), in_param) {
                    (Some("version"), _) => version.push_str(text.trim()),
                    (Some("longdesc"), true) => params.last_mut().unwrap().longdesc.push_str(&text),
                    (Some("shortdesc"), true) => {
                        params.last_mut().unwrap().shortdesc.push_str(&text)
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (version, params, actions)
}

#[test]
fn unknown_actions_are_unimplemented_and_meta_data_documents_everything() {
    if prerequisites("unknown_actions_are_unimplemented_and_meta_data_documents_everything")
        .is_none()
    {
        return;
    }
    let lab = Lab::new("meta");
    let xmllint = find_program("xmllint");
    if xmllint.is_none() {
        eprintln!(
            "SKIP unknown_actions_are_unimplemented_and_meta_data_documents_everything (RelaxNG part): xmllint not installed"
        );
    }
    for agent in AGENTS {
        let r = lab.unmanaged(agent, &format!("m-{agent}"), &[]);
        for action in [
            "bogus",
            "notify",
            "promote",
            "demote",
            "reload",
            "migrate_to",
            "migrate_from",
        ] {
            let run = lab.run(&r, action, &[]);
            run.expect(3);
            assert!(run.stderr.contains("usage:"), "{}", run.dump());
        }
        assert!(lab
            .run(&r, "usage", &[])
            .expect(0)
            .stdout
            .contains("usage:"));
        let meta = lab.run(&r, "meta-data", &[]);
        meta.expect(0);
        let (version, params, actions) = parse_meta_data(&meta.stdout);
        assert_eq!(version, "1.1", "{agent}");
        let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, expected_parameters(agent), "{agent}");
        for p in &params {
            assert!(
                !p.longdesc.trim().is_empty(),
                "{agent}/{}: longdesc",
                p.name
            );
            assert!(
                !p.shortdesc.trim().is_empty(),
                "{agent}/{}: shortdesc",
                p.name
            );
            let ty = p.content_type.as_deref().unwrap_or("");
            assert!(
                ["string", "integer", "boolean"].contains(&ty),
                "{agent}/{}: type {ty:?}",
                p.name
            );
            assert!(p.default.is_some(), "{agent}/{}: default", p.name);
        }
        let default = |name: &str| {
            params
                .iter()
                .find(|p| p.name == name)
                .unwrap()
                .default
                .clone()
                .unwrap()
        };
        let (unit, port) = expected_defaults(agent);
        assert_eq!(default("unit"), unit, "{agent}");
        assert_eq!(default("port"), port, "{agent}");
        assert_eq!(default("host"), "127.0.0.1", "{agent}");
        for needed in ["start", "stop", "monitor", "validate-all", "meta-data"] {
            let found = actions.iter().find(|(n, _, _)| n == needed);
            let (_, timeout, _) = found.unwrap_or_else(|| panic!("{agent}: action {needed}"));
            assert!(
                timeout.ends_with('s') && timeout.len() > 1,
                "{agent}/{needed}: timeout {timeout:?}"
            );
        }
        let depths: Vec<&str> = actions
            .iter()
            .filter(|(n, _, _)| n == "monitor")
            .map(|(_, _, d)| d.as_str())
            .collect();
        assert_eq!(depths, ["0", "10"], "{agent}: monitor depths");
        if let Some(xmllint) = &xmllint {
            let rng = Path::new("/usr/share/resource-agents/metadata.rng");
            if rng.exists() {
                let path = lab.path(&format!("{agent}.xml"));
                fs::write(&path, &meta.stdout).unwrap();
                let out = Command::new(xmllint)
                    .args(["--noout", "--relaxng"])
                    .arg(rng)
                    .arg(&path)
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{agent}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

/// A private systemd manager from `../shared/lab/systemd/sdlab`, taken down
/// (units stopped, cgroup removed) on drop.
struct Sdlab {
    dir: PathBuf,
    env: Vec<(String, String)>,
}

const SDLAB: &str = "../shared/lab/systemd/sdlab";

impl Sdlab {
    fn up(lab: &Lab, test: &str) -> Option<Sdlab> {
        let missing = if !nix::unistd::geteuid().is_root() {
            Some("needs root".to_string())
        } else if !Path::new(SDLAB).exists() {
            Some(format!("{SDLAB} not found"))
        } else if !["/usr/lib/systemd/systemd", "/lib/systemd/systemd"]
            .iter()
            .any(|p| Path::new(p).exists())
        {
            Some("the systemd binary is not installed".to_string())
        } else {
            ["systemctl", "dbus-daemon", "busctl", "unshare"]
                .into_iter()
                .find(|t| find_program(t).is_none())
                .map(|t| format!("{t} not installed"))
        };
        if let Some(why) = missing {
            eprintln!("SKIP {test}: {why}");
            return None;
        }
        let dir = lab.path("sdlab");
        let up = Command::new(SDLAB)
            .arg("up")
            .env("SDLAB_DIR", &dir)
            .output()
            .unwrap();
        let mut sd = Sdlab {
            dir,
            env: Vec::new(),
        };
        assert!(
            up.status.success(),
            "sdlab up: {}",
            String::from_utf8_lossy(&up.stderr)
        );
        let env = Command::new(SDLAB)
            .arg("env")
            .env("SDLAB_DIR", &sd.dir)
            .output()
            .unwrap();
        sd.env = String::from_utf8_lossy(&env.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
            .collect();
        Some(sd)
    }

    fn var(&self, key: &str) -> &str {
        &self.env.iter().find(|(k, _)| k == key).unwrap().1
    }

    fn systemctl(&self, args: &[&str]) -> String {
        let out = Command::new("systemctl")
            .arg("--user")
            .args(args)
            .env("XDG_RUNTIME_DIR", self.var("XDG_RUNTIME_DIR"))
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                self.var("DBUS_SESSION_BUS_ADDRESS"),
            )
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Sdlab {
    fn drop(&mut self) {
        let _ = Command::new(SDLAB)
            .arg("down")
            .env("SDLAB_DIR", &self.dir)
            .output();
    }
}

#[test]
fn systemd_mode_sees_a_hung_oned_that_systemd_calls_active() {
    let test = "systemd_mode_sees_a_hung_oned_that_systemd_calls_active";
    if prerequisites(test).is_none() {
        return;
    }
    let lab = Lab::new("systemd");
    let Some(sd) = Sdlab::up(&lab, test) else {
        return;
    };
    // the agents call `systemctl`: here it reaches the lab's manager
    let bin = lab.path("bin");
    fs::create_dir_all(&bin).unwrap();
    let shim = bin.join("systemctl");
    let real = find_program("systemctl").unwrap();
    fs::write(
        &shim,
        format!("#!/bin/sh\nexec \"{}\" --user \"$@\"\n", real.display()),
    )
    .unwrap();
    set_mode(&shim, 0o755);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env: Vec<(&str, &str)> = vec![
        ("PATH", path.as_str()),
        ("XDG_RUNTIME_DIR", sd.var("XDG_RUNTIME_DIR")),
        (
            "DBUS_SESSION_BUS_ADDRESS",
            sd.var("DBUS_SESSION_BUS_ADDRESS"),
        ),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut all = env.clone();
        all.extend_from_slice(extra);
        all
    };

    // the units, as OpenNebula's packages name them
    let python3 = find_program("python3").unwrap();
    let fake = fixtures().join("fake-opennebula.py");
    let (oned_port, web_port) = (free_port(), free_port());
    let unit = |name: &str, kind: &str, exec: String| {
        let text = format!("[Unit]\nDescription=test {name}\n[Service]\nType={kind}\nNotifyAccess=all\nExecStart={exec}\n");
        fs::write(
            Path::new(sd.var("SDLAB_UNIT_DIR")).join(format!("{name}.service")),
            text,
        )
        .unwrap();
    };
    let fake_exec = |mode: &str, port: u16, extra: String| {
        format!(
            "{} {} {mode} --port {port} --pid-file {} --log {} {extra}",
            python3.display(),
            fake.display(),
            lab.p(&format!("fake-{port}.pid")),
            lab.p(&format!("fake-{port}.log"))
        )
    };
    let vms = fixtures().join("vms-after-failover.json");
    let auth = format!(
        "--auth-file {} --vms-file {}",
        lab.p("one_auth"),
        vms.display()
    );
    unit("opennebula", "notify", fake_exec("oned", oned_port, auth));
    unit(
        "opennebula-fireedge",
        "notify",
        fake_exec("http", web_port, String::new()),
    );
    unit("opennebula-broken", "simple", "/bin/false".to_string());
    sd.systemctl(&["daemon-reload"]);

    let r = lab.unmanaged(
        "oned",
        "sd-oned",
        &[
            ("port", oned_port.to_string()),
            (
                "oned_conf",
                fixtures().join("oned-mysql.conf").display().to_string(),
            ),
            ("one_auth", lab.p("one_auth")),
            ("check_timeout", "1".to_string()),
        ],
    );
    lab.run(&r, "validate-all", &env).expect(0);
    lab.run(&r, "monitor", &with(PROBE)).expect(7);
    let start = lab.run(&r, "start", &env);
    start.expect(0);
    assert!(
        start
            .stderr
            .contains("onevm recover 7 --success|--failure|--retry"),
        "{}",
        start.dump()
    );
    assert_eq!(sd.systemctl(&["is-active", "opennebula"]), "active");
    lab.run(&r, "monitor", &env).expect(0);
    lab.run(&r, "monitor", &with(DEPTH_10)).expect(0);

    // hung: systemd still says active, the agent says failed
    let pid = lab.fake_pid(oned_port);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGUSR1,
    )
    .unwrap();
    wait_until("the fake to hang", Duration::from_secs(10), || {
        lab.fake_log(oned_port).contains("HANG on")
    });
    assert_eq!(sd.systemctl(&["is-active", "opennebula"]), "active");
    lab.run(&r, "monitor", &env)
        .expect_reason(1, "unit opennebula.service is up but oned does not answer");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGUSR2,
    )
    .unwrap();
    wait_until("the fake to recover", Duration::from_secs(10), || {
        lab.fake_log(oned_port).contains("HANG off")
    });
    lab.run(&r, "monitor", &env).expect(0);
    lab.run(&r, "stop", &env).expect(0);
    assert_ne!(sd.systemctl(&["is-active", "opennebula"]), "active");
    lab.run(&r, "monitor", &env).expect(7);
    lab.run(&r, "stop", &env).expect(0);

    // a unit that dies during start
    let mut broken = r.clone();
    broken.instance = "sd-broken".into();
    broken
        .params
        .push(("unit".into(), "opennebula-broken".into()));
    lab.run(&broken, "start", &env)
        .expect_reason(1, "unit opennebula-broken.service stopped during start");
    // a unit this node does not have: not installed, yet a clean probe and stop
    let mut absent = r.clone();
    absent.instance = "sd-absent".into();
    absent
        .params
        .push(("unit".into(), "opennebula-absent".into()));
    lab.run(&absent, "validate-all", &env)
        .expect_reason(5, "systemd unit opennebula-absent.service is not installed");
    lab.run(&absent, "monitor", &with(PROBE)).expect(7);
    lab.run(&absent, "stop", &env).expect(0);

    // a web service through its unit
    let web = lab.unmanaged("fireedge", "sd-fireedge", &[("port", web_port.to_string())]);
    lab.run(&web, "start", &env).expect(0);
    lab.run(&web, "monitor", &env).expect(0);
    lab.run(&web, "stop", &env).expect(0);
    lab.run(&web, "monitor", &with(PROBE)).expect(7);
    drop(sd);
}
