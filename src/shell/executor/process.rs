//! Running one agent process: its own process group, a deadline, bounded
//! output capture, and orphan reaping for the daemon.
//!
//! Invariant: a process started here is always waited for, and a process
//! group whose deadline passed is always killed (SIGTERM, then SIGKILL after
//! the grace period) before the result is returned. Memory per running
//! process is bounded (`OUTPUT_CAP_BYTES` per stream plus one line of
//! `LINE_CAP_BYTES`). Arguments never carry parameters; the environment does.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ffi::OsString;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Bytes kept per output stream (stdout, stderr) of one action. Beyond
/// that the first half and the last half are kept and the middle is
/// replaced by a marker saying how much was dropped: the start says what the
/// agent did, the end usually says why it failed.
pub const OUTPUT_CAP_BYTES: usize = 64 * 1024;

/// Longest stderr line examined for an `ocf-exit-reason:`; the rest of a
/// longer line is ignored (it still goes to the captured output).
pub const LINE_CAP_BYTES: usize = 4 * 1024;

/// An exit reason is cut to this many characters (as Pacemaker does).
pub const EXIT_REASON_MAX_CHARS: usize = 128;

/// The marker OCF agents put before their failure reason on stderr
/// (exported to them as `OCF_EXIT_REASON_PREFIX`).
pub const EXIT_REASON_PREFIX: &str = "ocf-exit-reason:";

/// A zombie child that nobody reaped for this long is an orphan adopted
/// through the subreaper flag, and the reaper collects it. Children that
/// other code spawned and waits for are reaped by their owner well within
/// this time, so the reaper never steals their exit status.
pub const ORPHAN_REAP_GRACE_MS: u64 = 2_000;

/// How often the orphan reaper looks for zombies.
pub const ORPHAN_SWEEP_INTERVAL_MS: u64 = 500;

/// What to run.
pub struct Spawn {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Added to the daemon's environment (after `remove_env_prefixes`).
    pub env: Vec<(String, String)>,
    /// Inherited variables with these prefixes are removed first, so one
    /// resource's parameters can never leak into another's environment.
    pub remove_env_prefixes: Vec<&'static str>,
}

/// How the process ended.
#[derive(Debug)]
pub enum ProcessEnd {
    Exited(i32),
    Signaled(i32),
    /// The deadline passed; the group was killed.
    TimedOut,
    /// The caller cancelled; the group was killed.
    Cancelled,
    /// It could not be started at all.
    SpawnFailed(io::Error),
}

/// Everything a finished process left behind.
#[derive(Debug)]
pub struct ProcessOutcome {
    pub end: ProcessEnd,
    pub stdout: String,
    pub stderr: String,
    /// The text after the last `ocf-exit-reason:` on stderr, if any.
    pub exit_reason: Option<String>,
    pub pid: Option<u32>,
}

/// Bounded capture of one output stream: head and tail, middle dropped.
#[derive(Debug, Default)]
pub struct CappedOutput {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    dropped: u64,
}

impl CappedOutput {
    const HALF: usize = OUTPUT_CAP_BYTES / 2;

    pub fn push(&mut self, mut data: &[u8]) {
        if self.head.len() < Self::HALF {
            let take = (Self::HALF - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        if data.len() >= Self::HALF {
            self.dropped += (self.tail.len() + data.len() - Self::HALF) as u64;
            self.tail.clear();
            self.tail.extend(&data[data.len() - Self::HALF..]);
            return;
        }
        let overflow = (self.tail.len() + data.len()).saturating_sub(Self::HALF);
        self.tail.drain(..overflow);
        self.dropped += overflow as u64;
        self.tail.extend(data);
    }

    /// Bytes held right now (never more than `OUTPUT_CAP_BYTES`).
    pub fn held_bytes(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    pub fn into_string(self) -> String {
        let mut bytes = self.head;
        if self.dropped > 0 {
            bytes.extend_from_slice(
                format!("\n[... {} bytes of output dropped ...]\n", self.dropped).as_bytes(),
            );
        }
        bytes.extend(self.tail);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Watches stderr line by line for exit reasons, with bounded memory.
#[derive(Debug, Default)]
pub struct ReasonScanner {
    line: Vec<u8>,
    overlong: bool,
    last: Option<String>,
}

impl ReasonScanner {
    pub fn push(&mut self, data: &[u8]) {
        for chunk in data.split_inclusive(|b| *b == b'\n') {
            let (body, ends) = match chunk.split_last() {
                Some((b'\n', body)) => (body, true),
                _ => (chunk, false),
            };
            let room = LINE_CAP_BYTES.saturating_sub(self.line.len());
            if body.len() > room {
                self.overlong = true;
            }
            self.line.extend_from_slice(&body[..body.len().min(room)]);
            if ends {
                self.finish_line();
            }
        }
    }

    fn finish_line(&mut self) {
        let line = String::from_utf8_lossy(&self.line);
        if let Some(pos) = line.rfind(EXIT_REASON_PREFIX) {
            let reason = line[pos + EXIT_REASON_PREFIX.len()..].trim_end();
            if !reason.is_empty() {
                self.last = Some(reason.chars().take(EXIT_REASON_MAX_CHARS).collect());
            }
        }
        self.line.clear();
        self.overlong = false;
    }

    pub fn finish(mut self) -> Option<String> {
        if !self.line.is_empty() {
            self.finish_line();
        }
        self.last
    }
}

/// Pids this module spawned and is waiting for: the orphan reaper never
/// touches them.
fn own_children() -> &'static Mutex<BTreeSet<u32>> {
    static CHILDREN: OnceLock<Mutex<BTreeSet<u32>>> = OnceLock::new();
    CHILDREN.get_or_init(|| Mutex::new(BTreeSet::new()))
}

fn lock_children() -> std::sync::MutexGuard<'static, BTreeSet<u32>> {
    // A panic while holding this lock leaves a plain set behind; still usable.
    own_children()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Removes the pid from the registry when the wait is over, whatever path
/// the function takes out.
struct Registered(u32);

impl Drop for Registered {
    fn drop(&mut self) {
        lock_children().remove(&self.0);
    }
}

/// Runs `spawn` until it exits, the deadline passes or `cancel` fires.
/// On deadline or cancel the process group gets SIGTERM, and whatever of it
/// is still alive `kill_grace` later gets SIGKILL. The group is the agent's
/// own (it leads it), so only the agent and the children that stayed in its
/// group are hit; a child that left the group (setsid) is not.
pub async fn run(
    spawn: Spawn,
    timeout: Duration,
    kill_grace: Duration,
    cancel: &Notify,
) -> ProcessOutcome {
    let started = Instant::now();
    let deadline = started + timeout;
    let mut outcome = ProcessOutcome {
        end: ProcessEnd::Exited(0),
        stdout: String::new(),
        stderr: String::new(),
        exit_reason: None,
        pid: None,
    };

    let (mut out_rx, mut err_rx, mut child, registered) = match start(spawn) {
        Ok(parts) => parts,
        Err(e) => {
            outcome.end = ProcessEnd::SpawnFailed(e);
            return outcome;
        }
    };
    let pid = registered.0;
    outcome.pid = Some(pid);

    let mut stdout = CappedOutput::default();
    let mut stderr = CappedOutput::default();
    let mut reasons = ReasonScanner::default();
    let mut out_buf = vec![0u8; 8192];
    let mut err_buf = vec![0u8; 8192];
    let mut out_open = true;
    let mut err_open = true;

    enum Stop {
        Exited(io::Result<ExitStatus>),
        Deadline,
        Cancel,
    }

    let stop = loop {
        tokio::select! {
            n = out_rx.read(&mut out_buf), if out_open => match n {
                Ok(0) | Err(_) => out_open = false,
                Ok(n) => stdout.push(&out_buf[..n]),
            },
            n = err_rx.read(&mut err_buf), if err_open => match n {
                Ok(0) | Err(_) => err_open = false,
                Ok(n) => {
                    stderr.push(&err_buf[..n]);
                    reasons.push(&err_buf[..n]);
                }
            },
            status = child.wait() => break Stop::Exited(status),
            _ = tokio::time::sleep_until(deadline) => break Stop::Deadline,
            _ = cancel.notified() => break Stop::Cancel,
        }
    };

    outcome.end = match stop {
        Stop::Exited(Ok(status)) => end_of(status),
        Stop::Exited(Err(e)) => ProcessEnd::SpawnFailed(e),
        Stop::Deadline => {
            kill_group(pid, &mut child, kill_grace).await;
            ProcessEnd::TimedOut
        }
        Stop::Cancel => {
            kill_group(pid, &mut child, kill_grace).await;
            ProcessEnd::Cancelled
        }
    };

    // Whatever the agent wrote before it ended is in the pipes now. Take it
    // without waiting for end-of-file: a daemon it left behind may hold the
    // pipe open forever.
    if out_open {
        drain(&out_rx, &mut out_buf, |d| stdout.push(d));
    }
    if err_open {
        drain(&err_rx, &mut err_buf, |d| {
            stderr.push(d);
            reasons.push(d);
        });
    }
    outcome.stdout = stdout.into_string();
    outcome.stderr = stderr.into_string();
    outcome.exit_reason = reasons.finish();
    drop(registered);
    outcome
}

type Started = (
    pipe::Receiver,
    pipe::Receiver,
    tokio::process::Child,
    Registered,
);

fn start(spawn: Spawn) -> io::Result<Started> {
    let (out_r, out_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let (err_r, err_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let out_rx = pipe::Receiver::from_owned_fd(out_r)?;
    let err_rx = pipe::Receiver::from_owned_fd(err_r)?;

    let mut cmd = tokio::process::Command::new(&spawn.program);
    cmd.args(&spawn.args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out_w))
        .stderr(Stdio::from(err_w))
        // Its own process group, so a timeout can kill everything it started
        // that stayed in the group.
        .process_group(0)
        .kill_on_drop(false);
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if spawn
            .remove_env_prefixes
            .iter()
            .any(|p| name.starts_with(p))
        {
            cmd.env_remove(&key);
        }
    }
    for (k, v) in &spawn.env {
        cmd.env(OsString::from(k), OsString::from(v));
    }

    // Spawn and register under the lock, so the orphan reaper cannot see the
    // pid in between.
    let mut children = lock_children();
    let child = cmd.spawn()?;
    // The write ends live in `cmd`: drop it now, or the pipes never reach
    // end-of-file.
    drop(cmd);
    let pid = child
        .id()
        .ok_or_else(|| io::Error::other("child exited before its pid was read"))?;
    children.insert(pid);
    drop(children);
    Ok((out_rx, err_rx, child, Registered(pid)))
}

fn end_of(status: ExitStatus) -> ProcessEnd {
    match (status.code(), status.signal()) {
        (Some(code), _) => ProcessEnd::Exited(code),
        (None, Some(sig)) => ProcessEnd::Signaled(sig),
        (None, None) => ProcessEnd::Exited(-1),
    }
}

/// How often the group is looked at during the grace period.
const GRACE_POLL_MS: u64 = 50;

/// SIGTERM to the group; SIGKILL to what is still alive in it after
/// `grace`. Returns once the leader is reaped and no live member is left.
async fn kill_group(pid: u32, child: &mut tokio::process::Child, grace: Duration) {
    let pgid = Pid::from_raw(pid as i32);
    let _ = killpg(pgid, Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    let mut leader_gone = false;
    loop {
        if !leader_gone {
            leader_gone = matches!(child.try_wait(), Ok(Some(_)) | Err(_));
        }
        // While the leader is unreaped the group exists anyway; after that,
        // a live member is what keeps the group id from being reused, so a
        // SIGKILL below can only hit this group.
        if leader_gone && !group_alive(pid).await {
            return;
        }
        if Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(GRACE_POLL_MS)).await;
    }
    tracing::warn!(
        pid,
        grace_ms = grace.as_millis() as u64,
        "process group outlived SIGTERM; sending SIGKILL"
    );
    let _ = killpg(pgid, Signal::SIGKILL);
    let _ = child.wait().await;
}

/// Whether any process of group `pgid` is alive (zombies do not count).
async fn group_alive(pgid: u32) -> bool {
    tokio::task::spawn_blocking(move || {
        let Ok(all) = std::fs::read_dir("/proc") else {
            return false;
        };
        all.flatten().any(|entry| {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                return false;
            };
            let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some(close) = text.rfind(')') else {
                return false;
            };
            // After the command name: state, ppid, pgrp.
            let mut fields = text[close + 1..].split_whitespace();
            let state = fields.next().unwrap_or("Z");
            let pgrp = fields.nth(1).and_then(|f| f.parse::<u32>().ok());
            pgrp == Some(pgid) && state != "Z" && state != "X"
        })
    })
    .await
    .unwrap_or(false)
}

fn drain(rx: &pipe::Receiver, buf: &mut [u8], mut sink: impl FnMut(&[u8])) {
    // A real read(2) on the non-blocking pipe, not `try_read`: that one
    // trusts the reactor's cached readiness and may report "would block"
    // for data the reactor has not been told about yet.
    // Bounded: stop after a fixed number of reads so a chatty daemon that
    // inherited the pipe cannot hold us here.
    for _ in 0..64 {
        match nix::unistd::read(rx.as_raw_fd(), buf) {
            Ok(0) => return,
            Ok(n) => sink(&buf[..n]),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
        }
    }
}

/// Makes the calling process a child subreaper: agents that daemonise
/// (double fork) are re-parented to the daemon instead of to init, so the
/// daemon sees them and reaps them when they end. Call once at daemon start.
pub fn become_subreaper() -> io::Result<()> {
    nix::sys::prctl::set_child_subreaper(true).map_err(io::Error::from)
}

/// Starts the orphan reaper on the current tokio runtime: every
/// `ORPHAN_SWEEP_INTERVAL_MS` it looks at the daemon's child processes and
/// reaps zombies that nobody reaped within `ORPHAN_REAP_GRACE_MS`.
pub fn spawn_orphan_reaper() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {
        let mut first_seen: BTreeMap<u32, Instant> = BTreeMap::new();
        let mut tick = tokio::time::interval(Duration::from_millis(ORPHAN_SWEEP_INTERVAL_MS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // /proc reads are quick but are still blocking calls.
            let zombies = match tokio::task::spawn_blocking(zombie_children).await {
                Ok(z) => z,
                Err(_) => continue,
            };
            let now = Instant::now();
            first_seen.retain(|pid, _| zombies.contains(pid));
            for pid in zombies {
                let seen = *first_seen.entry(pid).or_insert(now);
                if now.duration_since(seen) < Duration::from_millis(ORPHAN_REAP_GRACE_MS) {
                    continue;
                }
                let children = lock_children();
                if children.contains(&pid) {
                    continue;
                }
                // WNOHANG on a zombie returns at once.
                if let Ok(status) = waitpid(Pid::from_raw(pid as i32), Some(WaitPidFlag::WNOHANG)) {
                    tracing::debug!(pid, ?status, "reaped orphaned agent process");
                }
                drop(children);
                first_seen.remove(&pid);
            }
        }
    })
}

/// Zombie children of this process (any thread), from /proc.
fn zombie_children() -> BTreeSet<u32> {
    let mut pids = BTreeSet::new();
    let me = std::process::id();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return pids;
    };
    let mut listed = false;
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            listed = true;
            pids.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    if !listed {
        // Kernels without CONFIG_PROC_CHILDREN: scan every process.
        if let Ok(all) = std::fs::read_dir("/proc") {
            for entry in all.flatten() {
                if let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) {
                    if stat_of(pid).is_some_and(|(_, ppid)| ppid == me) {
                        pids.insert(pid);
                    }
                }
            }
        }
    }
    pids.retain(|pid| stat_of(*pid).is_some_and(|(state, _)| state == 'Z'));
    pids
}

/// (state, ppid) from /proc/PID/stat.
fn stat_of(pid: u32) -> Option<(char, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain anything.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_output_keeps_head_and_tail() {
        let mut c = CappedOutput::default();
        let half = OUTPUT_CAP_BYTES / 2;
        c.push(&vec![b'a'; half]);
        c.push(&vec![b'b'; 10_000]);
        c.push(&vec![b'c'; half]);
        assert!(c.held_bytes() <= OUTPUT_CAP_BYTES);
        let s = c.into_string();
        assert!(s.starts_with(&"a".repeat(half)));
        assert!(s.ends_with(&"c".repeat(half)));
        assert!(
            s.contains("[... 10000 bytes of output dropped ...]"),
            "{}",
            &s[half..half + 60]
        );
        assert!(!s.contains("bb"), "the middle is dropped");
    }

    #[test]
    fn capped_output_small_writes_stay_bounded() {
        let mut c = CappedOutput::default();
        for i in 0..200_000u32 {
            c.push(format!("{}\n", i % 10).as_bytes());
            assert!(c.held_bytes() <= OUTPUT_CAP_BYTES);
        }
        let s = c.into_string();
        assert!(s.contains("bytes of output dropped"));
        // The very last line is kept.
        assert!(s.ends_with("9\n"));
    }

    #[test]
    fn capped_output_untouched_below_cap() {
        let mut c = CappedOutput::default();
        c.push(b"hello ");
        c.push(b"world\n");
        assert_eq!(c.into_string(), "hello world\n");
    }

    #[test]
    fn exit_reason_is_the_last_one_and_cut() {
        let mut r = ReasonScanner::default();
        r.push(b"noise\nocf-exit-reason:first\nmore");
        r.push(b" ocf-exit-reason:second one  \n");
        assert_eq!(r.finish().as_deref(), Some("second one"));

        let mut r = ReasonScanner::default();
        r.push(format!("{EXIT_REASON_PREFIX}{}", "x".repeat(500)).as_bytes());
        assert_eq!(r.finish().unwrap().len(), EXIT_REASON_MAX_CHARS);

        let mut r = ReasonScanner::default();
        r.push(b"ocf-exit-reason:\nplain error\n");
        assert_eq!(r.finish(), None, "an empty reason is no reason");
    }

    #[test]
    fn exit_reason_split_across_reads() {
        let mut r = ReasonScanner::default();
        r.push(b"ocf-exit-re");
        r.push(b"ason:split ");
        r.push(b"text\n");
        assert_eq!(r.finish().as_deref(), Some("split text"));
    }
}
