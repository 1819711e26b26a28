//! Shared by the corosync lab test and the transport benchmark: a corosync
//! lab (`../shared/lab/lab`) with its own prefix, address range and
//! directory, torn down when dropped, and test clients that run inside a
//! lab node (`lab exec`) and talk JSON lines over their stdin/stdout.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::AsyncBufReadExt;
use warden::shell::corosync::{self, CorosyncConfig, TransportEvent};

#[path = "../lab_common/mod.rs"]
mod lab_common;

pub const LAB: &str = "../shared/lab/lab";
/// Environment variable that turns the test binary into a lab client.
pub const CLIENT_ENV: &str = "WARDEN_LAB_CLIENT";

/// Whether the lab can run here; prints the one-line SKIP reason if not.
pub fn lab_available(test: &str) -> bool {
    let reason = lab_common::not_root("the lab creates network namespaces")
        .or_else(|| lab_common::missing_scripts(&[LAB]))
        .or_else(|| {
            (!Path::new("/usr/sbin/corosync").exists())
                .then(|| "corosync is not installed (apt-get install corosync)".to_string())
        });
    lab_common::runs(test, reason)
}

pub fn now_ms() -> f64 {
    lab_common::epoch_now() * 1000.0
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A running lab; `lab down` when dropped.
pub struct Lab {
    pub prefix: String,
    pub net: String,
    pub dir: PathBuf,
    pub nodes: usize,
}

impl Lab {
    /// `lab up N ARGS...` with a prefix, net and directory of its own.
    /// `tag` is one letter that tells this lab from the caller's others.
    pub fn up(tag: char, nodes: usize, args: &[&str]) -> Lab {
        let pid = std::process::id();
        let prefix = format!("wc{tag}{}", pid % 100_000);
        let net = format!("10.{}.{}", 200 + (pid % 50), 100 + (tag as u32 % 100));
        let dir = std::env::temp_dir().join(format!("warden-corosync-{prefix}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let lab = Lab {
            prefix,
            net,
            dir,
            nodes,
        };
        // Leftovers of an earlier run with the same pid would block `up`.
        let _ = lab.cmd(&["down"]).output();
        std::fs::create_dir_all(&lab.dir).unwrap();
        let n = nodes.to_string();
        let mut all = vec!["up", n.as_str()];
        all.extend_from_slice(args);
        let out = lab.cmd(&all).output().unwrap();
        assert!(
            out.status.success(),
            "lab up failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        lab
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(LAB);
        c.args(args)
            .env("LAB_PREFIX", &self.prefix)
            .env("LAB_NET", &self.net)
            .env("LAB_DIR", &self.dir)
            .stdin(Stdio::null());
        c
    }

    /// Runs a lab command and fails the test if it fails.
    pub fn run(&self, args: &[&str]) {
        let out = self.cmd(args).output().unwrap();
        assert!(
            out.status.success(),
            "lab {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts a test client in `node`: the current executable, re-run in
    /// client mode (`args` pick the client test) inside the node.
    pub fn client(&self, node: &str, args: &[&str]) -> Client {
        self.client_env(node, args, &[])
    }

    /// Like [`Lab::client`], with more environment variables.
    pub fn client_env(&self, node: &str, args: &[&str], envs: &[(&str, &str)]) -> Client {
        let exe = std::env::current_exe().unwrap();
        let log = self.dir.join(format!("client-{node}.log"));
        let mut cmd = self.cmd(&["exec", node]);
        cmd.arg(&exe)
            .args(args)
            .env(CLIENT_ENV, "warden-lab")
            .env("RUST_LOG", "warden=debug")
            .envs(envs.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // libtest may print "test lab_client ... " before the first line.
                if let Some(json) = line.find("EV {").map(|at| &line[at + 3..]) {
                    if let Ok(v) = serde_json::from_str::<Value>(json) {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Client {
            node: node.to_string(),
            child,
            stdin,
            rx,
            log,
            last: BTreeMap::new(),
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.cmd(&["down"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A test client running in a lab node.
pub struct Client {
    pub node: String,
    child: Child,
    stdin: ChildStdin,
    rx: mpsc::Receiver<Value>,
    pub log: PathBuf,
    /// The last event of each kind seen so far.
    pub last: BTreeMap<String, Value>,
}

impl Client {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Events until `pred` holds (that one included); fails the test after
    /// `timeout`, showing the client's log.
    pub fn until(
        &mut self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(v) => {
                    if let Some(kind) = v["kind"].as_str() {
                        self.last.insert(kind.to_string(), v.clone());
                    }
                    let done = pred(&v);
                    seen.push(v);
                    if done {
                        return seen;
                    }
                }
                Err(_) => {
                    let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                    let tail: Vec<&str> = log.lines().rev().take(30).collect();
                    let last: Vec<&Value> = seen.iter().rev().take(5).collect();
                    panic!(
                        "{}: no {what} within {timeout:?}; last events {last:?}; log tail:\n{}",
                        self.node,
                        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                    );
                }
            }
        }
    }

    /// The last event of `kind` if it satisfies `pred` (a state already
    /// reached: views and quorum come on separate streams, so one may have
    /// been read while waiting for the other), else the next one that does.
    pub fn state(
        &mut self,
        kind: &str,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Value {
        if let Some(v) = self.last.get(kind).filter(|v| pred(v)) {
            return v.clone();
        }
        self.until(what, timeout, |v| v["kind"] == kind && pred(v))
            .pop()
            .unwrap()
    }

    /// The next event of `kind` (others are skipped).
    pub fn next(&mut self, kind: &str, timeout: Duration) -> Value {
        self.until(kind, timeout, |v| v["kind"] == kind)
            .pop()
            .unwrap()
    }

    /// Collects `n` messages (skipping other events).
    pub fn messages(&mut self, n: usize, timeout: Duration) -> Vec<Value> {
        let mut msgs = Vec::new();
        if n == 0 {
            return msgs;
        }
        self.until(&format!("{n} messages"), timeout, |v| {
            if v["kind"] == "msg" {
                msgs.push(v.clone());
            }
            msgs.len() == n
        });
        msgs
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn message_json(from: u32, pid: u32, bytes: &[u8]) -> Value {
    let text = (bytes.len() <= 256)
        .then(|| std::str::from_utf8(bytes).ok())
        .flatten();
    json!({
        "kind": "msg", "t": now_ms(), "from": from, "pid": pid,
        "len": bytes.len(), "sha256": sha256_hex(bytes), "text": text,
    })
}

pub fn event_json(ev: &TransportEvent) -> Value {
    match ev {
        TransportEvent::View(v) => json!({"kind": "view", "t": now_ms(), "view": v}),
        TransportEvent::Ring(r) => json!({"kind": "ring", "t": now_ms(), "ring": r}),
        TransportEvent::Quorum(q) => json!({"kind": "quorum", "t": now_ms(), "quorum": q}),
        TransportEvent::Message { from, pid, bytes } => message_json(*from, *pid, bytes),
        TransportEvent::Discarded { from, pid, reason } => {
            json!({"kind": "discarded", "t": now_ms(), "from": from, "pid": pid, "reason": reason})
        }
        TransportEvent::Lost(l) => json!({"kind": "lost", "t": now_ms(), "reason": l.reason}),
    }
}

fn emit(v: Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "EV {v}");
    let _ = out.flush();
}

/// The client's main loop: connect, report every event, obey commands.
///
/// Commands (one per line): `send TEXT`, `burst PREFIX N` (N messages
/// `PREFIX-0`…), `file PATH` (the file's bytes as one message), `random N`
/// (N incompressible bytes), `leave`.
pub fn client_main() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (h, mut rx) = match corosync::connect(CorosyncConfig::default()).await {
            Ok(x) => x,
            Err(e) => {
                emit(json!({"kind": "connect_error", "error": e.to_string()}));
                return;
            }
        };
        emit(json!({"kind": "info", "info": h.info()}));
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        let mut stdin_open = true;
        loop {
            tokio::select! {
                ev = rx.recv() => match ev {
                    Some(ev) => emit(event_json(&ev)),
                    None => {
                        emit(json!({"kind": "closed", "t": now_ms()}));
                        return;
                    }
                },
                line = lines.next_line(), if stdin_open => {
                    let Ok(Some(line)) = line else {
                        stdin_open = false;
                        continue;
                    };
                    let (cmd, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
                    let sent = |r: Result<(), corosync::BroadcastError>| {
                        if let Err(e) = r {
                            emit(json!({"kind": "send_error", "error": e.to_string()}));
                        }
                    };
                    match cmd {
                        "send" => sent(h.broadcast(arg.as_bytes().to_vec()).await),
                        "burst" => {
                            let (prefix, n) = arg.split_once(' ').unwrap();
                            for i in 0..n.parse::<u32>().unwrap() {
                                sent(h.broadcast(format!("{prefix}-{i}").into_bytes()).await);
                            }
                        }
                        "file" => {
                            let bytes = std::fs::read(arg).unwrap();
                            emit(json!({"kind": "sending", "t": now_ms(), "len": bytes.len()}));
                            sent(h.broadcast(bytes).await);
                        }
                        "random" => {
                            let bytes: Vec<u8> = (0..arg.parse::<usize>().unwrap()).map(|_| rand::random()).collect();
                            emit(json!({"kind": "sending", "t": now_ms(), "len": bytes.len(), "sha256": sha256_hex(&bytes)}));
                            sent(h.broadcast(bytes).await);
                        }
                        "leave" => h.leave().await,
                        other => emit(json!({"kind": "bad_command", "command": other})),
                    }
                }
            }
        }
    });
}
