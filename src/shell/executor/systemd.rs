//! systemd units driven through systemd's own D-Bus API (zbus): start and
//! stop as jobs whose `JobRemoved` signal is awaited, monitor from the
//! unit's `ActiveState`, results mapped to OCF codes as Pacemaker maps them.
//!
//! Invariant: units are only ever changed through the manager (never by
//! running `systemctl` or touching processes), the `JobRemoved` stream is
//! open before the job is queued (so its signal cannot be missed), and a
//! unit warden started carries the `Restart=no` drop-in until warden stops
//! it, so systemd never restarts behind the cluster's back.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::Mutex;
use zbus::proxy::CacheProperties;
use zbus::{Connection, OwnedObjectPath};

use crate::core::action::{rc, ExecStatus};

/// Unit types Pacemaker manages; any other name gets `.service` appended.
pub const UNIT_SUFFIXES: &[&str] = &[".service", ".socket", ".mount", ".timer", ".path"];

/// The drop-in warden writes for each unit it manages.
pub const DROPIN_FILE: &str = "50-warden.conf";

/// The unit the warden daemon itself runs as: managed units are ordered
/// before it, so at shutdown systemd stops warden first and never pulls a
/// resource out from under a running cluster node.
pub const DAEMON_UNIT: &str = "warden.service";

/// How often the unit's state is read again while it is still
/// `activating`/`deactivating` after its job finished (upper bound; shorter
/// for short timeouts).
pub const STATE_POLL_MAX_MS: u64 = 1_000;

#[zbus::proxy(
    interface = "org.freedesktop.systemd1.Manager",
    default_service = "org.freedesktop.systemd1",
    default_path = "/org/freedesktop/systemd1"
)]
trait Manager {
    fn subscribe(&self) -> zbus::Result<()>;
    fn start_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;
    fn stop_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;
    fn restart_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;
    fn load_unit(&self, name: &str) -> zbus::Result<OwnedObjectPath>;
    fn reload(&self) -> zbus::Result<()>;
    fn list_unit_files(&self) -> zbus::Result<Vec<(String, String)>>;
    #[zbus(signal)]
    fn job_removed(
        &self,
        id: u32,
        job: OwnedObjectPath,
        unit: String,
        result: String,
    ) -> zbus::Result<()>;
}

#[zbus::proxy(
    interface = "org.freedesktop.systemd1.Unit",
    default_service = "org.freedesktop.systemd1"
)]
trait Unit {
    #[zbus(property)]
    fn active_state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn sub_state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn load_state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn description(&self) -> zbus::Result<String>;
}

/// Which bus the systemd manager is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusAddress {
    /// The system bus, where PID 1 lives (the default, as for Pacemaker).
    System,
    /// A D-Bus address such as `unix:path=/run/x/bus` (tests, user managers).
    Address(String),
}

impl std::fmt::Display for BusAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BusAddress::System => f.write_str("the system bus"),
            BusAddress::Address(a) => write!(f, "bus {a}"),
        }
    }
}

/// The unit name for an agent name: `foo` → `foo.service`, names with a
/// unit suffix unchanged.
pub fn unit_name(kind: &str) -> String {
    if UNIT_SUFFIXES
        .iter()
        .any(|s| kind.ends_with(s) && kind.len() > s.len())
    {
        kind.to_string()
    } else {
        format!("{kind}.service")
    }
}

/// The OCF result of a monitor for a unit's `ActiveState`.
pub fn map_active_state(state: &str) -> (i32, ExecStatus) {
    match state {
        "active" | "reloading" => (rc::OK, ExecStatus::Done),
        "activating" | "deactivating" => (rc::UNKNOWN, ExecStatus::Pending),
        _ => (rc::NOT_RUNNING, ExecStatus::Done),
    }
}

/// The text of warden's drop-in for `unit`.
pub fn dropin_text(unit: &str) -> String {
    let mut text = format!("[Unit]\nDescription=Cluster Controlled {unit}\nBefore={DAEMON_UNIT}\n");
    // Restart= exists only for services; other unit types would warn.
    if unit.ends_with(".service") {
        text.push_str("\n[Service]\nRestart=no\n");
    }
    text
}

/// Where the drop-in for `unit` lives.
pub fn dropin_path(dropin_dir: &Path, unit: &str) -> PathBuf {
    dropin_dir.join(format!("{unit}.d")).join(DROPIN_FILE)
}

/// What a systemd action came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitOutcome {
    pub rc: i32,
    pub status: ExecStatus,
    pub reason: Option<String>,
    /// A short account of what was asked of systemd and what it said.
    pub output: String,
}

impl UnitOutcome {
    fn new(rc: i32, status: ExecStatus, reason: Option<String>, output: String) -> Self {
        UnitOutcome {
            rc,
            status,
            reason,
            output,
        }
    }
}

struct Bus {
    conn: Connection,
    mgr: ManagerProxy<'static>,
}

/// A lazily opened, shared connection to the systemd manager. A broken
/// connection is dropped and opened again on next use.
pub struct SystemdBus {
    address: BusAddress,
    bus: Mutex<Option<std::sync::Arc<Bus>>>,
}

enum Failure {
    /// `NoSuchUnit`, `LoadFailed`, `InvalidName` or LoadState `not-found`.
    UnknownUnit,
    Bus(zbus::Error),
}

impl From<zbus::Error> for Failure {
    fn from(e: zbus::Error) -> Self {
        if let zbus::Error::MethodError(name, _, _) = &e {
            let name = name.as_str();
            if name.ends_with(".NoSuchUnit")
                || name.ends_with(".LoadFailed")
                || name.ends_with(".InvalidName")
            {
                return Failure::UnknownUnit;
            }
        }
        Failure::Bus(e)
    }
}

fn is_connection_error(e: &zbus::Error) -> bool {
    matches!(e, zbus::Error::InputOutput(_))
        || matches!(e, zbus::Error::Failure(m) if m.contains("closed") || m.contains("disconnect"))
}

impl SystemdBus {
    pub fn new(address: BusAddress) -> Self {
        SystemdBus {
            address,
            bus: Mutex::new(None),
        }
    }

    pub fn address(&self) -> &BusAddress {
        &self.address
    }

    async fn bus(&self) -> zbus::Result<std::sync::Arc<Bus>> {
        let mut slot = self.bus.lock().await;
        if let Some(bus) = slot.as_ref() {
            return Ok(bus.clone());
        }
        let conn = match &self.address {
            BusAddress::System => Connection::system().await?,
            BusAddress::Address(a) => {
                zbus::connection::Builder::address(a.as_str())
                    .build()
                    .await?
            }
        };
        let mgr = ManagerProxy::builder(&conn)
            .cache_properties(CacheProperties::No)
            .build()
            .await?;
        // Without Subscribe the manager sends no job signals to this client.
        mgr.subscribe().await?;
        let bus = std::sync::Arc::new(Bus { conn, mgr });
        *slot = Some(bus.clone());
        Ok(bus)
    }

    async fn forget_if_broken(&self, e: &zbus::Error) {
        if is_connection_error(e) {
            tracing::info!(bus = %self.address, "dropping broken connection to systemd: {e}");
            *self.bus.lock().await = None;
        }
    }

    async fn unit_proxy(
        &self,
        bus: &Bus,
        path: OwnedObjectPath,
    ) -> zbus::Result<UnitProxy<'static>> {
        UnitProxy::builder(&bus.conn)
            .path(path)
            .cache_properties(CacheProperties::No)
            .build()
            .await
    }

    /// Loads the unit and returns its proxy, or `UnknownUnit` when systemd
    /// has no such unit.
    async fn load(&self, bus: &Bus, unit: &str) -> Result<UnitProxy<'static>, Failure> {
        let path = bus.mgr.load_unit(unit).await?;
        let proxy = self.unit_proxy(bus, path).await?;
        match proxy.load_state().await?.as_str() {
            "loaded" | "masked" => Ok(proxy),
            _ => Err(Failure::UnknownUnit),
        }
    }

    /// Whether the manager knows a unit by this agent name (LoadState
    /// `loaded` or `masked`, as Pacemaker checks).
    pub async fn unit_exists(&self, kind: &str) -> Result<bool, String> {
        let bus = self.bus().await.map_err(|e| self.describe(&e))?;
        match self.load(&bus, &unit_name(kind)).await {
            Ok(_) => Ok(true),
            Err(Failure::UnknownUnit) => Ok(false),
            Err(Failure::Bus(e)) => {
                self.forget_if_broken(&e).await;
                Err(self.describe(&e))
            }
        }
    }

    /// Unit files the manager knows, as agent names (`.service` stripped),
    /// sorted.
    pub async fn list_units(&self) -> Result<Vec<String>, String> {
        let bus = self.bus().await.map_err(|e| self.describe(&e))?;
        let files = match bus.mgr.list_unit_files().await {
            Ok(f) => f,
            Err(e) => {
                self.forget_if_broken(&e).await;
                return Err(self.describe(&e));
            }
        };
        let mut names: Vec<String> = files
            .into_iter()
            .filter_map(|(path, _state)| {
                let base = path.rsplit('/').next().unwrap_or(&path).to_string();
                let suffix = UNIT_SUFFIXES.iter().find(|s| base.ends_with(*s))?;
                // Template files (`foo@.service`) need an instance to run.
                if base.contains("@.") {
                    return None;
                }
                Some(if *suffix == ".service" {
                    base.trim_end_matches(".service").to_string()
                } else {
                    base
                })
            })
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Made-up meta-data for a unit (systemd units take no parameters).
    pub async fn metadata(&self, kind: &str) -> String {
        let unit = unit_name(kind);
        let description = match self.bus().await {
            Ok(bus) => match self.load(&bus, &unit).await {
                Ok(proxy) => proxy.description().await.ok(),
                Err(_) => None,
            },
            Err(_) => None,
        }
        .unwrap_or_else(|| format!("systemd unit file for {kind}"));
        let e = super::lsb::escape;
        format!(
            r#"<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="{name}" version="1.0">
  <version>1.1</version>
  <longdesc lang="en">{desc}</longdesc>
  <shortdesc lang="en">systemd unit file for {name}</shortdesc>
  <parameters/>
  <actions>
    <action name="start" timeout="100s" />
    <action name="stop" timeout="100s" />
    <action name="status" timeout="100s" />
    <action name="monitor" timeout="100s" interval="60s" />
    <action name="meta-data" timeout="5s" />
  </actions>
  <special tag="systemd"/>
</resource-agent>
"#,
            name = e(kind),
            desc = e(&description),
        )
    }

    fn describe(&self, e: &zbus::Error) -> String {
        format!("systemd on {}: {e}", self.address)
    }

    /// Runs `action` on the unit for agent name `kind`. The caller bounds
    /// the time (dropping this future leaves the job to systemd, as a
    /// timed-out job would be anyway).
    pub async fn run(
        &self,
        kind: &str,
        action: &str,
        dropin_dir: &Path,
        timeout: Duration,
    ) -> UnitOutcome {
        let unit = unit_name(kind);
        let bus = match self.bus().await {
            Ok(b) => b,
            Err(e) => {
                return UnitOutcome::new(
                    rc::ERR_GENERIC,
                    ExecStatus::Error,
                    Some(format!("cannot reach {}", self.describe(&e))),
                    String::new(),
                )
            }
        };
        let result = match action {
            "monitor" | "status" => self.monitor(&bus, &unit).await,
            "start" => {
                self.start(&bus, &unit, dropin_dir, timeout, Job::Start)
                    .await
            }
            "restart" => {
                self.start(&bus, &unit, dropin_dir, timeout, Job::Restart)
                    .await
            }
            "stop" => self.stop(&bus, &unit, dropin_dir, timeout).await,
            other => Ok(UnitOutcome::new(
                rc::UNIMPLEMENTED,
                ExecStatus::Error,
                Some(format!(
                    "action {other} is not implemented for systemd resources"
                )),
                String::new(),
            )),
        };
        match result {
            Ok(outcome) => outcome,
            Err(Failure::UnknownUnit) if action == "stop" => {
                // An unknown unit is as stopped as it gets.
                let _ = self.remove_dropin(&bus, &unit, dropin_dir).await;
                UnitOutcome::new(
                    rc::OK,
                    ExecStatus::Done,
                    None,
                    format!("{unit}: no such unit, nothing to stop\n"),
                )
            }
            Err(Failure::UnknownUnit) => UnitOutcome::new(
                rc::ERR_INSTALLED,
                ExecStatus::NotInstalled,
                Some(format!("systemd unit {unit} not found")),
                String::new(),
            ),
            Err(Failure::Bus(e)) => {
                self.forget_if_broken(&e).await;
                if matches!(action, "monitor" | "status") && is_connection_error(&e) {
                    // systemd re-executing drops its clients; the state is
                    // unknown, not failed (Pacemaker treats it the same way).
                    UnitOutcome::new(
                        rc::UNKNOWN,
                        ExecStatus::Pending,
                        Some(format!("lost connection to systemd: {e}")),
                        String::new(),
                    )
                } else {
                    UnitOutcome::new(
                        rc::ERR_GENERIC,
                        ExecStatus::Error,
                        Some(format!("{action} of {unit} failed: {}", self.describe(&e))),
                        String::new(),
                    )
                }
            }
        }
    }

    async fn monitor(&self, bus: &Bus, unit: &str) -> Result<UnitOutcome, Failure> {
        let proxy = self.load(bus, unit).await?;
        let active = proxy.active_state().await?;
        let sub = proxy.sub_state().await?;
        let (code, status) = map_active_state(&active);
        let reason =
            (active == "failed").then(|| format!("systemd unit {unit} has failed ({sub})"));
        Ok(UnitOutcome::new(
            code,
            status,
            reason,
            format!("{unit}: ActiveState={active} SubState={sub}\n"),
        ))
    }

    async fn start(
        &self,
        bus: &Bus,
        unit: &str,
        dropin_dir: &Path,
        timeout: Duration,
        job: Job,
    ) -> Result<UnitOutcome, Failure> {
        let proxy = self.load(bus, unit).await?;
        let mut output = String::new();
        match write_dropin(dropin_dir, unit).await {
            Ok(path) => {
                output.push_str(&format!("wrote {}\n", path.display()));
                bus.mgr.reload().await?;
            }
            Err(e) => {
                // The unit can still be started; it would just be restarted by
                // systemd on failure. Say so loudly rather than refuse.
                tracing::warn!(unit, "cannot write systemd drop-in: {e}");
                output.push_str(&format!("cannot write drop-in: {e}\n"));
            }
        }
        let result = self.run_job(bus, unit, job, &mut output).await?;
        if result != "done" {
            return Ok(job_failed(unit, job, &result, output));
        }
        let (active, sub) = settle(&proxy, "activating", timeout).await?;
        output.push_str(&format!("{unit}: ActiveState={active} SubState={sub}\n"));
        Ok(match active.as_str() {
            "active" | "reloading" => UnitOutcome::new(rc::OK, ExecStatus::Done, None, output),
            "activating" => UnitOutcome::new(
                rc::ERR_GENERIC,
                ExecStatus::Timeout,
                Some(format!(
                    "systemd unit {unit} still activating at the timeout"
                )),
                output,
            ),
            _ => UnitOutcome::new(
                rc::ERR_GENERIC,
                ExecStatus::Error,
                Some(format!(
                    "systemd unit {unit} is {active} ({sub}) after {}",
                    job.verb()
                )),
                output,
            ),
        })
    }

    async fn stop(
        &self,
        bus: &Bus,
        unit: &str,
        dropin_dir: &Path,
        timeout: Duration,
    ) -> Result<UnitOutcome, Failure> {
        let proxy = self.load(bus, unit).await?;
        let mut output = String::new();
        let result = self.run_job(bus, unit, Job::Stop, &mut output).await?;
        if result != "done" {
            return Ok(job_failed(unit, Job::Stop, &result, output));
        }
        let (active, sub) = settle(&proxy, "deactivating", timeout).await?;
        output.push_str(&format!("{unit}: ActiveState={active} SubState={sub}\n"));
        if matches!(
            active.as_str(),
            "active" | "reloading" | "activating" | "deactivating"
        ) {
            return Ok(UnitOutcome::new(
                rc::ERR_GENERIC,
                ExecStatus::Error,
                Some(format!("systemd unit {unit} is still {active} after stop")),
                output,
            ));
        }
        match self.remove_dropin(bus, unit, dropin_dir).await {
            Ok(true) => output.push_str(&format!(
                "removed {}\n",
                dropin_path(dropin_dir, unit).display()
            )),
            Ok(false) => {}
            Err(e) => output.push_str(&format!("cannot remove drop-in: {e}\n")),
        }
        Ok(UnitOutcome::new(rc::OK, ExecStatus::Done, None, output))
    }

    /// Queues the job and waits for its `JobRemoved`; returns systemd's
    /// result word (`done`, `failed`, `timeout`, `canceled`, `dependency`,
    /// `skipped`).
    async fn run_job(
        &self,
        bus: &Bus,
        unit: &str,
        job: Job,
        output: &mut String,
    ) -> Result<String, Failure> {
        // Open the signal stream first: a fast job can end before the
        // method call even returns.
        let mut removed = bus.mgr.receive_job_removed().await?;
        let path = match job {
            Job::Start => bus.mgr.start_unit(unit, "replace").await?,
            Job::Restart => bus.mgr.restart_unit(unit, "replace").await?,
            Job::Stop => bus.mgr.stop_unit(unit, "replace").await?,
        };
        output.push_str(&format!("{} {unit}: job {}\n", job.method(), path.as_str()));
        while let Some(signal) = removed.next().await {
            let args = signal.args()?;
            if args.job.as_str() == path.as_str() {
                output.push_str(&format!("job {} removed: {}\n", path.as_str(), args.result));
                return Ok(args.result.clone());
            }
        }
        Err(Failure::Bus(zbus::Error::Failure(
            "systemd connection closed while waiting for JobRemoved".into(),
        )))
    }

    /// Removes warden's drop-in if present and reloads the manager; says
    /// whether there was one.
    async fn remove_dropin(
        &self,
        bus: &Bus,
        unit: &str,
        dropin_dir: &Path,
    ) -> Result<bool, String> {
        let path = dropin_path(dropin_dir, unit);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {
                if let Some(dir) = path.parent() {
                    // Only succeeds when empty: other drop-ins stay.
                    let _ = tokio::fs::remove_dir(dir).await;
                }
                bus.mgr.reload().await.map_err(|e| e.to_string())?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    Start,
    Restart,
    Stop,
}

impl Job {
    fn method(self) -> &'static str {
        match self {
            Job::Start => "StartUnit",
            Job::Restart => "RestartUnit",
            Job::Stop => "StopUnit",
        }
    }
    fn verb(self) -> &'static str {
        match self {
            Job::Start => "start",
            Job::Restart => "restart",
            Job::Stop => "stop",
        }
    }
}

fn job_failed(unit: &str, job: Job, result: &str, output: String) -> UnitOutcome {
    let status = if result == "timeout" {
        ExecStatus::Timeout
    } else {
        ExecStatus::Error
    };
    UnitOutcome::new(
        rc::ERR_GENERIC,
        status,
        Some(format!(
            "systemd {} job for {unit} ended '{result}'",
            job.verb()
        )),
        output,
    )
}

/// Reads the unit's state until it leaves `transient` or the time runs out.
async fn settle(
    proxy: &UnitProxy<'_>,
    transient: &str,
    timeout: Duration,
) -> zbus::Result<(String, String)> {
    let poll =
        Duration::from_millis((timeout.as_millis() as u64 / 20).clamp(50, STATE_POLL_MAX_MS));
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let active = proxy.active_state().await?;
        let sub = proxy.sub_state().await?;
        if active != transient || tokio::time::Instant::now() + poll >= deadline {
            return Ok((active, sub));
        }
        tokio::time::sleep(poll).await;
    }
}

/// Writes the drop-in atomically (temporary file, then rename), readable by
/// everyone as systemd expects.
async fn write_dropin(dropin_dir: &Path, unit: &str) -> std::io::Result<PathBuf> {
    use tokio::io::AsyncWriteExt;
    let path = dropin_path(dropin_dir, unit);
    let dir = path.parent().expect("drop-in path has a directory");
    tokio::fs::create_dir_all(dir).await?;
    let tmp = dir.join(format!(".{DROPIN_FILE}.tmp"));
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&tmp)
        .await?;
    file.write_all(dropin_text(unit).as_bytes()).await?;
    file.sync_all().await?;
    drop(file);
    tokio::fs::rename(&tmp, &path).await?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names_get_service_suffix() {
        assert_eq!(unit_name("opennebula"), "opennebula.service");
        assert_eq!(unit_name("opennebula.service"), "opennebula.service");
        assert_eq!(unit_name("web.socket"), "web.socket");
        assert_eq!(unit_name("backup.timer"), "backup.timer");
        assert_eq!(unit_name("my.app"), "my.app.service");
    }

    #[test]
    fn active_states_map_like_pacemaker() {
        assert_eq!(map_active_state("active"), (0, ExecStatus::Done));
        assert_eq!(map_active_state("reloading"), (0, ExecStatus::Done));
        assert_eq!(map_active_state("activating"), (193, ExecStatus::Pending));
        assert_eq!(map_active_state("deactivating"), (193, ExecStatus::Pending));
        assert_eq!(map_active_state("inactive"), (7, ExecStatus::Done));
        assert_eq!(map_active_state("failed"), (7, ExecStatus::Done));
    }

    #[test]
    fn dropin_says_restart_no_for_services_only() {
        let t = dropin_text("web.service");
        assert!(t.contains("[Service]\nRestart=no\n"));
        assert!(t.contains("Description=Cluster Controlled web.service\n"));
        assert!(t.contains("Before=warden.service\n"));
        assert!(!dropin_text("web.socket").contains("Restart"));
        assert_eq!(
            dropin_path(Path::new("/run/systemd/system"), "web.service"),
            Path::new("/run/systemd/system/web.service.d/50-warden.conf")
        );
    }
}
