//! `cluster setup`: corosync's configuration (`corosync.conf`), its key
//! (`authkey`) and warden's configuration (`warden.toml`) for a new cluster,
//! copied to the other nodes over ssh; and `cluster start|stop|enable|
//! disable`: `systemctl` for corosync and warden, here or over ssh on every
//! node of corosync.conf's nodelist.
//!
//! Both pcs forms are accepted: pcs 0.10/0.11's `cluster setup NAME NODE
//! [addr=ADDR]... [transport knet] [totem token=MS] [quorum OPTION=VALUE...]`
//! and pcs 0.9's `cluster setup --name NAME NODE[,ADDR2]... [--transport
//! knet] [--token MS]`.
//!
//! Invariant: nothing is written before everything was checked (names,
//! addresses, the generated corosync.conf parsed back and checked), each
//! file is replaced atomically, and an existing corosync.conf is never
//! overwritten without `--force`. Commands for other machines are argument
//! vectors, shown exactly as they are run; no value is pasted into a shell
//! string.
//!
//! Paths: `/etc/corosync/corosync.conf`, `/etc/corosync/authkey` and
//! `/etc/warden/warden.toml`, below the directory named by
//! `WARDEN_SETUP_ROOT` when it is set (tests, image builds). With
//! `--corosync-conf FILE` (pcs: `--corosync_conf`) only corosync.conf is
//! written, to FILE, as pcs does: no key, no copies.

use super::command::Command;
use super::error::CliError;
use super::flags::Flags;
use crate::shell::{config as daemon_config, store};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Environment variable: a directory standing for `/` for the files of
/// setup, start and stop.
pub const ROOT_ENV: &str = "WARDEN_SETUP_ROOT";
pub const COROSYNC_CONF: &str = "/etc/corosync/corosync.conf";
pub const AUTHKEY: &str = "/etc/corosync/authkey";
/// `corosync-keygen`'s default key size.
pub const AUTHKEY_BYTES: usize = 256;
/// knet's limit of links per node.
const MAX_LINKS: usize = 8;
/// Options ssh gets for every command: never ask (no terminal here), and
/// give up on an unreachable node.
const SSH_OPTIONS: &[&str] = &["-o", "BatchMode=yes", "-o", "ConnectTimeout=10"];
/// Quorum options passed through to corosync's votequorum.
const QUORUM_OPTIONS: &[&str] = &[
    "wait_for_all",
    "auto_tie_breaker",
    "last_man_standing",
    "last_man_standing_window",
];

/// One node of the new cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    pub name: String,
    /// One address per knet link; the name when none is given.
    pub addrs: Vec<String>,
    /// No address was given (the name is the address, checked to resolve).
    pub addr_from_name: bool,
}

/// `cluster setup`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupSpec {
    pub cluster_name: String,
    pub nodes: Vec<NodeSpec>,
    pub token_ms: Option<u32>,
    /// votequorum options, in the order given.
    pub quorum: Vec<(String, String)>,
    /// Start the cluster on every node afterwards.
    pub start: bool,
    /// Enable the units on every node afterwards.
    pub enable: bool,
    /// Write only corosync.conf, to this file (pcs's `--corosync_conf`).
    pub corosync_conf: Option<String>,
    /// Print the copy commands instead of running them.
    pub no_copy: bool,
    /// `--force` / `--overwrite`: replace existing files, accept addresses
    /// that do not resolve.
    pub force: bool,
}

/// What `cluster start|stop|enable|disable` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceAction {
    Start,
    Stop,
    Enable,
    Disable,
}

impl ServiceAction {
    pub fn word(self) -> &'static str {
        match self {
            ServiceAction::Start => "start",
            ServiceAction::Stop => "stop",
            ServiceAction::Enable => "enable",
            ServiceAction::Disable => "disable",
        }
    }
}

/// `cluster start|stop|enable|disable [--all | NODE...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    pub action: ServiceAction,
    pub all: bool,
    pub nodes: Vec<String>,
    /// Print the commands, run nothing.
    pub dry_run: bool,
    /// Where the nodelist is read (else `/etc/corosync/corosync.conf`).
    pub corosync_conf: Option<String>,
}

/// `cluster auth [NODE...]` (and pcs 0.10's `host auth NODE...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSpec {
    /// Empty: the nodes of corosync.conf's nodelist.
    pub nodes: Vec<String>,
    pub dry_run: bool,
    pub corosync_conf: Option<String>,
    /// `-u USER` as given (warden always uses root over ssh).
    pub user: Option<String>,
    /// Whether `-p PASSWORD` was given (the value is never kept).
    pub password_given: bool,
}

// ---------------------------------------------------------------- grammar

fn usage(msg: impl Into<String>) -> CliError {
    CliError::usage(msg)
}

/// Parses `cluster setup`'s words (both pcs forms).
pub fn parse_setup(args: &[String], flags: &Flags) -> Result<Command, CliError> {
    let corosync_conf = flags.corosync_conf.clone();
    let (cluster_name, rest) = match &flags.name {
        Some(n) => (n.clone(), args),
        None => match args.split_first() {
            Some((n, rest)) if !n.contains('=') => (n.clone(), rest),
            _ => {
                return Err(usage(
                    "missing cluster name: expected 'cluster setup NAME NODE...' (or pcs 0.9's 'cluster setup --name NAME NODE...')",
                ))
            }
        },
    };
    check_name(&cluster_name, "cluster name")?;
    let mut nodes: Vec<NodeSpec> = Vec::new();
    let mut token_ms = match flags.token.as_deref() {
        Some(t) => Some(parse_token(t)?),
        None => None,
    };
    let mut transport = flags.transport.clone();
    let mut quorum = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        let w = &rest[i];
        i += 1;
        match w.as_str() {
            "transport" => {
                let Some(t) = rest.get(i) else {
                    return Err(usage("'transport' needs a type: transport knet"));
                };
                transport = Some(t.clone());
                i += 1;
                if let Some(opt) = rest.get(i).filter(|o| o.contains('=')) {
                    return Err(CliError::rejected(format!(
                        "transport option '{}' is not supported by 'warden cluster setup': set it in corosync.conf afterwards",
                        opt.split('=').next().unwrap_or(opt)
                    )));
                }
            }
            "totem" | "quorum" => {
                while let Some(opt) = rest.get(i).filter(|o| o.contains('=')) {
                    i += 1;
                    let (k, v) = super::grammar::split_option(opt)?;
                    match (w.as_str(), k.as_str()) {
                        ("totem", "token") => token_ms = Some(parse_token(&v)?),
                        ("totem", _) => {
                            return Err(CliError::rejected(format!(
                                "totem option '{k}' is not supported by 'warden cluster setup' (only token): set it in corosync.conf afterwards"
                            )))
                        }
                        (_, q) if QUORUM_OPTIONS.contains(&q) => {
                            if v.parse::<u32>().is_err() {
                                return Err(CliError::rejected(format!(
                                    "invalid value of quorum option '{k}': expected a number, found '{v}'"
                                )));
                            }
                            quorum.push((k, v));
                        }
                        _ => {
                            return Err(CliError::rejected(format!(
                                "invalid quorum option '{k}': expected one of {}",
                                QUORUM_OPTIONS.join(", ")
                            )))
                        }
                    }
                }
            }
            "link" | "compression" | "crypto" => {
                return Err(CliError::rejected(format!(
                    "'{w}' options are not supported by 'warden cluster setup' (it sets up knet with aes256/sha256 encryption): set them in corosync.conf afterwards"
                )))
            }
            _ if w.contains('=') => match w.split_once('=') {
                Some(("addr", a)) => {
                    let Some(node) = nodes.last_mut() else {
                        return Err(usage(format!("'{w}' comes before any node name")));
                    };
                    if a.is_empty() {
                        return Err(usage(format!("empty address for node '{}'", node.name)));
                    }
                    if node.addr_from_name {
                        node.addrs.clear();
                        node.addr_from_name = false;
                    }
                    node.addrs.push(a.to_string());
                }
                _ => {
                    return Err(usage(format!(
                        "unexpected '{w}': a node takes only addr=ADDRESS"
                    )))
                }
            },
            _ => {
                // pcs 0.9: NODE[,ADDR2] (the name is the first address).
                let mut parts = w.split(',');
                let name = parts.next().unwrap_or_default().to_string();
                check_name(&name, "node name")?;
                let extra: Vec<String> = parts.map(str::to_string).collect();
                if extra.iter().any(String::is_empty) {
                    return Err(usage(format!("empty address in '{w}'")));
                }
                let mut addrs = vec![name.clone()];
                addrs.extend(extra.iter().cloned());
                nodes.push(NodeSpec {
                    name,
                    addrs,
                    addr_from_name: extra.is_empty(),
                });
            }
        }
    }
    if let Some(t) = transport.as_deref() {
        if t != "knet" {
            return Err(CliError::rejected(format!(
                "transport '{t}' is not supported: warden sets up knet (corosync encrypts only knet traffic)"
            )));
        }
    }
    if nodes.is_empty() {
        return Err(usage(
            "missing node names: expected cluster setup NAME NODE...",
        ));
    }
    check_nodes(&nodes)?;
    if flags.start && flags.no_copy && nodes.len() > 1 {
        return Err(usage(
            "--start needs the files on every node, so it cannot be combined with --no-copy",
        ));
    }
    if corosync_conf.is_some() && (flags.start || flags.enable) {
        return Err(usage(
            "--corosync-conf only writes corosync.conf to a file: it cannot be combined with --start or --enable",
        ));
    }
    Ok(Command::ClusterSetup(SetupSpec {
        cluster_name,
        nodes,
        token_ms,
        quorum,
        start: flags.start,
        enable: flags.enable,
        corosync_conf,
        no_copy: flags.no_copy,
        force: flags.force || flags.overwrite,
    }))
}

fn parse_token(t: &str) -> Result<u32, CliError> {
    match t.parse::<u32>() {
        Ok(v) if v > 0 => Ok(v),
        _ => Err(CliError::rejected(format!(
            "invalid token timeout '{t}': expected milliseconds, a whole number above 0"
        ))),
    }
}

/// Names as corosync, DNS and the CIB all accept them.
fn check_name(name: &str, what: &str) -> Result<(), CliError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && !name.starts_with(['-', '.'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(CliError::rejected(format!(
            "invalid {what} '{name}': expected letters, digits, '-', '_' and '.' (not first), at most 253 characters"
        )))
    }
}

fn check_nodes(nodes: &[NodeSpec]) -> Result<(), CliError> {
    let mut errors = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for n in nodes {
        if seen.contains(&n.name.as_str()) {
            let m = format!("node name '{}' is given more than once", n.name);
            if !errors.contains(&m) {
                errors.push(m);
            }
        }
        seen.push(&n.name);
    }
    let mut addrs: Vec<&str> = Vec::new();
    let mut dup: Vec<&str> = Vec::new();
    for a in nodes.iter().flat_map(|n| n.addrs.iter()) {
        if addrs.contains(&a.as_str()) && !dup.contains(&a.as_str()) {
            dup.push(a);
        }
        addrs.push(a);
    }
    if !dup.is_empty() {
        errors.push(format!(
            "node addresses must be unique, duplicate addresses: {}",
            quoted(&dup)
        ));
    }
    let links = nodes[0].addrs.len();
    if nodes.iter().any(|n| n.addrs.len() != links) {
        errors.push(
            "all nodes must have the same number of addresses (one per knet link)".to_string(),
        );
    }
    if links > MAX_LINKS {
        errors.push(format!(
            "at most {MAX_LINKS} addresses per node (knet links)"
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::Rejected(errors))
    }
}

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses `cluster start|stop|enable|disable`'s words.
pub fn parse_service(word: &str, args: &[String], flags: &Flags) -> Result<Command, CliError> {
    let action = match word {
        "start" => ServiceAction::Start,
        "stop" => ServiceAction::Stop,
        "enable" => ServiceAction::Enable,
        "disable" => ServiceAction::Disable,
        other => unreachable!("not a service word: {other}"),
    };
    if flags.all && !args.is_empty() {
        return Err(usage("give node names or --all, not both"));
    }
    for n in args {
        check_name(n, "node name")?;
    }
    Ok(Command::ClusterService(ServiceSpec {
        action,
        all: flags.all,
        nodes: args.to_vec(),
        dry_run: flags.dry_run,
        corosync_conf: flags.corosync_conf.clone(),
    }))
}

/// Parses `cluster auth` / `host auth`'s words.
pub fn parse_auth(args: &[String], flags: &Flags) -> Result<Command, CliError> {
    for n in args {
        check_name(n, "node name")?;
    }
    Ok(Command::ClusterAuth(AuthSpec {
        nodes: args.to_vec(),
        dry_run: flags.dry_run,
        corosync_conf: flags.corosync_conf.clone(),
        user: flags.user.clone(),
        password_given: flags.password_given,
    }))
}

// ---------------------------------------------------------------- corosync.conf

/// The corosync.conf of a new cluster, in pcs's layout.
pub fn render_corosync_conf(spec: &SetupSpec) -> String {
    let mut s = String::new();
    s.push_str("totem {\n    version: 2\n");
    s.push_str(&format!("    cluster_name: {}\n", spec.cluster_name));
    s.push_str("    transport: knet\n");
    if let Some(t) = spec.token_ms {
        s.push_str(&format!("    token: {t}\n"));
    }
    s.push_str("    crypto_cipher: aes256\n    crypto_hash: sha256\n}\n\nnodelist {\n");
    for (i, n) in spec.nodes.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str("    node {\n");
        for (link, a) in n.addrs.iter().enumerate() {
            s.push_str(&format!("        ring{link}_addr: {a}\n"));
        }
        s.push_str(&format!(
            "        name: {}\n        nodeid: {}\n    }}\n",
            n.name,
            i + 1
        ));
    }
    s.push_str("}\n\nquorum {\n    provider: corosync_votequorum\n");
    if two_node(spec) {
        s.push_str("    two_node: 1\n");
    }
    for (k, v) in &spec.quorum {
        s.push_str(&format!("    {k}: {v}\n"));
    }
    s.push_str("}\n\nlogging {\n    to_logfile: yes\n    logfile: /var/log/corosync/corosync.log\n    to_syslog: yes\n    timestamp: on\n}\n");
    s
}

/// `two_node: 1` for exactly two nodes (it implies `wait_for_all`), unless
/// the auto tie-breaker decides instead, as pcs does.
fn two_node(spec: &SetupSpec) -> bool {
    spec.nodes.len() == 2
        && !spec
            .quorum
            .iter()
            .any(|(k, v)| k == "auto_tie_breaker" && v != "0")
}

/// A section of corosync's configuration format: `key: value` lines and
/// `name { ... }` blocks, `#` comments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfSection {
    pub name: String,
    pub entries: Vec<(String, String)>,
    pub sections: Vec<ConfSection>,
}

impl ConfSection {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn section(&self, name: &str) -> Option<&ConfSection> {
        self.sections.iter().find(|s| s.name == name)
    }

    pub fn sections_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a ConfSection> {
        self.sections.iter().filter(move |s| s.name == name)
    }
}

/// Parses corosync.conf's format; errors name the line.
pub fn parse_conf(text: &str) -> Result<ConfSection, String> {
    let mut stack = vec![ConfSection::default()];
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line == "}" {
            if stack.len() == 1 {
                return Err(format!("line {line_no}: '}}' closes nothing"));
            }
            let done = stack.pop().expect("checked");
            stack.last_mut().expect("root").sections.push(done);
            continue;
        }
        if let Some(name) = line.strip_suffix('{') {
            let name = name.trim();
            if name.is_empty() || name.contains([':', ' ']) {
                return Err(format!("line {line_no}: '{line}' is not a section name"));
            }
            stack.push(ConfSection {
                name: name.to_string(),
                ..ConfSection::default()
            });
            continue;
        }
        let Some((k, v)) = line.split_once(':').or_else(|| line.split_once('=')) else {
            return Err(format!(
                "line {line_no}: expected 'key: value', 'name {{' or '}}', found '{line}'"
            ));
        };
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() || k.contains(' ') {
            return Err(format!("line {line_no}: '{k}' is not a key"));
        }
        stack
            .last_mut()
            .expect("root")
            .entries
            .push((k.to_string(), v.to_string()));
    }
    if stack.len() > 1 {
        return Err(format!(
            "section '{}' is not closed",
            stack.last().expect("checked").name
        ));
    }
    Ok(stack.pop().expect("root"))
}

/// A node of corosync.conf's nodelist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfNode {
    pub name: Option<String>,
    pub nodeid: Option<u32>,
    pub ring0_addr: Option<String>,
}

impl ConfNode {
    /// Its name, else its first address.
    pub fn label(&self) -> String {
        self.name
            .clone()
            .or_else(|| self.ring0_addr.clone())
            .unwrap_or_default()
    }

    /// Where ssh reaches it: the first address, else the name.
    pub fn address(&self) -> String {
        self.ring0_addr
            .clone()
            .or_else(|| self.name.clone())
            .unwrap_or_default()
    }
}

/// The nodelist of a parsed corosync.conf.
pub fn conf_nodes(conf: &ConfSection) -> Vec<ConfNode> {
    conf.section("nodelist")
        .map(|l| {
            l.sections_named("node")
                .map(|n| ConfNode {
                    name: n.get("name").map(str::to_string),
                    nodeid: n.get("nodeid").and_then(|v| v.parse().ok()),
                    ring0_addr: n.get("ring0_addr").map(str::to_string),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Checks a generated corosync.conf, parsed back, against what was asked.
pub fn check_conf(text: &str, spec: &SetupSpec) -> Result<(), String> {
    let conf = parse_conf(text)?;
    let totem = conf.section("totem").ok_or("no totem section")?;
    let want = |what: &str, got: Option<&str>, expected: &str| {
        if got == Some(expected) {
            Ok(())
        } else {
            Err(format!("{what} is {got:?}, expected '{expected}'"))
        }
    };
    want("totem.version", totem.get("version"), "2")?;
    want(
        "totem.cluster_name",
        totem.get("cluster_name"),
        &spec.cluster_name,
    )?;
    want("totem.transport", totem.get("transport"), "knet")?;
    want("totem.crypto_cipher", totem.get("crypto_cipher"), "aes256")?;
    want("totem.crypto_hash", totem.get("crypto_hash"), "sha256")?;
    let nodes = conf_nodes(&conf);
    if nodes.len() != spec.nodes.len() {
        return Err(format!(
            "the nodelist has {} nodes, expected {}",
            nodes.len(),
            spec.nodes.len()
        ));
    }
    for (i, (got, want_node)) in nodes.iter().zip(&spec.nodes).enumerate() {
        if got.name.as_deref() != Some(&want_node.name)
            || got.nodeid != Some(i as u32 + 1)
            || got.ring0_addr.as_deref() != want_node.addrs.first().map(String::as_str)
        {
            return Err(format!("node {} of the nodelist is {got:?}", i + 1));
        }
    }
    let quorum = conf.section("quorum").ok_or("no quorum section")?;
    want(
        "quorum.provider",
        quorum.get("provider"),
        "corosync_votequorum",
    )?;
    if two_node(spec) != (quorum.get("two_node") == Some("1")) {
        return Err(format!(
            "quorum.two_node is {:?} for {} nodes",
            quorum.get("two_node"),
            spec.nodes.len()
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- paths and files

/// `path` below `$WARDEN_SETUP_ROOT` when set.
fn rooted(path: &str) -> PathBuf {
    match std::env::var_os(ROOT_ENV).filter(|r| !r.is_empty()) {
        Some(root) => PathBuf::from(root).join(path.trim_start_matches('/')),
        None => PathBuf::from(path),
    }
}

/// The warden configuration `cluster setup` writes.
pub fn render_warden_toml(cluster_name: &str) -> String {
    format!(
        "# warden's configuration for cluster '{cluster_name}', written by 'warden cluster setup'.\n\
         # Every key, with its default and what it does: /usr/share/doc/warden/warden.toml.example\n\
         # (installed by contrib/install.sh; examples/warden.toml in the source).\n\
         cluster_name = \"{cluster_name}\"\n\
         transport = \"corosync\"\n"
    )
}

/// A fresh corosync key: what `corosync-keygen -l` writes (random bytes
/// from the operating system).
fn fresh_authkey() -> Result<Vec<u8>, CliError> {
    use rand::RngCore;
    let mut key = vec![0u8; AUTHKEY_BYTES];
    rand::rngs::OsRng
        .try_fill_bytes(&mut key)
        .map_err(|e| CliError::rejected(format!("cannot get random bytes for the key: {e}")))?;
    Ok(key)
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CliError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(dir)
                .map_err(|e| CliError::Io {
                    action: "cannot create the directory",
                    path: dir.display().to_string(),
                    source: e,
                })?;
        }
    }
    store::write_atomic_mode(path, bytes, mode).map_err(|e| CliError::Io {
        action: "cannot write",
        path: path.display().to_string(),
        source: e,
    })
}

/// This machine's names: the host name and its first label.
fn local_names() -> Vec<String> {
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default();
    let short = host.split('.').next().unwrap_or_default().to_string();
    let mut v = vec![host];
    if !v.contains(&short) {
        v.push(short);
    }
    v.retain(|n| !n.is_empty());
    v
}

/// A command line as the operator would type it (for output only).
pub fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn ssh(addr: &str, remote: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec!["ssh".into()];
    v.extend(SSH_OPTIONS.iter().map(|s| s.to_string()));
    v.push(format!("root@{addr}"));
    v.extend(remote.iter().map(|s| s.to_string()));
    v
}

fn scp(files: &[&Path], addr: &str, dir: &str) -> Vec<String> {
    let mut v: Vec<String> = vec!["scp".into(), "-p".into()];
    v.extend(SSH_OPTIONS.iter().map(|s| s.to_string()));
    v.extend(files.iter().map(|f| f.display().to_string()));
    v.push(format!("root@{addr}:{dir}/"));
    v
}

fn run_argv(argv: &[String]) -> Result<(), String> {
    let status = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {}: {e}", argv[0]))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("'{}' failed ({status})", shell_words(argv)))
    }
}

fn emit(out: &mut dyn Write, text: &str) -> Result<(), CliError> {
    out.write_all(text.as_bytes()).map_err(|e| CliError::Io {
        action: "cannot write to",
        path: "standard output".into(),
        source: e,
    })
}

// ---------------------------------------------------------------- setup

/// Carries out `cluster setup`.
pub fn setup(spec: &SetupSpec, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, CliError> {
    if spec.cluster_name.len() > 32 {
        let _ = writeln!(
            err,
            "Warning: cluster name '{}' is longer than 32 characters: GFS2 and DLM cannot use it",
            spec.cluster_name
        );
    }
    for n in spec.nodes.iter().filter(|n| n.addr_from_name) {
        let _ = writeln!(
            err,
            "No addresses specified for host '{}', using '{}'",
            n.name, n.name
        );
    }
    if !spec.force {
        check_resolvable(spec)?;
    }
    let conf = render_corosync_conf(spec);
    check_conf(&conf, spec).map_err(|e| {
        CliError::rejected(format!(
            "internal error: the generated corosync.conf does not read back: {e}"
        ))
    })?;
    if let Some(file) = &spec.corosync_conf {
        let path = Path::new(file);
        refuse_existing(path, spec.force)?;
        write_file(path, conf.as_bytes(), 0o644)?;
        emit(
            out,
            &format!(
                "Wrote {file}: cluster '{}', {} nodes. Only this file was written (as pcs does with --corosync_conf): no key, nothing copied; run 'corosync-keygen' on one node and copy the key with the file to every node as /etc/corosync/authkey\n",
                spec.cluster_name,
                spec.nodes.len()
            ),
        )?;
        return Ok(0);
    }
    let conf_path = rooted(COROSYNC_CONF);
    let key_path = rooted(AUTHKEY);
    let toml_path = rooted(daemon_config::DEFAULT_PATH);
    refuse_existing(&conf_path, spec.force)?;
    let write_toml = warden_toml_plan(&toml_path, spec)?;
    // Everything is checked: write, the key first and corosync.conf last,
    // so that a corosync.conf on disk means a complete setup.
    write_file(&key_path, &fresh_authkey()?, 0o400)?;
    emit(
        out,
        &format!(
            "Wrote {}: a fresh key ({AUTHKEY_BYTES} random bytes, mode 0400)\n",
            key_path.display()
        ),
    )?;
    match &write_toml {
        Some(text) => {
            write_file(&toml_path, text.as_bytes(), 0o644)?;
            emit(out, &format!("Wrote {}\n", toml_path.display()))?;
        }
        None => emit(
            out,
            &format!(
                "Kept {}: it is compatible with cluster '{}'\n",
                toml_path.display(),
                spec.cluster_name
            ),
        )?,
    }
    write_file(&conf_path, conf.as_bytes(), 0o644)?;
    emit(
        out,
        &format!(
            "Wrote {}: cluster '{}', {} nodes, knet with aes256/sha256 encryption{}\n",
            conf_path.display(),
            spec.cluster_name,
            spec.nodes.len(),
            if two_node(spec) { ", two_node: 1" } else { "" }
        ),
    )?;
    let local = local_names();
    let others: Vec<&NodeSpec> = spec
        .nodes
        .iter()
        .filter(|n| !local.contains(&n.name))
        .collect();
    let mut plan: Vec<(String, Vec<String>)> = Vec::new();
    for n in &others {
        let addr = &n.addrs[0];
        plan.push((
            n.name.clone(),
            ssh(
                addr,
                &[
                    "install",
                    "-d",
                    "-m",
                    "0755",
                    "/etc/corosync",
                    "/etc/warden",
                ],
            ),
        ));
        plan.push((
            n.name.clone(),
            scp(&[&conf_path, &key_path], addr, "/etc/corosync"),
        ));
        plan.push((n.name.clone(), scp(&[&toml_path], addr, "/etc/warden")));
    }
    if spec.no_copy {
        if !plan.is_empty() {
            emit(out, "Copy the files to the other nodes with:\n")?;
            for (_, argv) in &plan {
                emit(out, &format!("  {}\n", shell_words(argv)))?;
            }
        }
    } else {
        for (node, argv) in &plan {
            emit(out, &format!("{node}: {}\n", shell_words(argv)))?;
            run_argv(argv).map_err(|e| {
                CliError::rejected(format!(
                    "copying to node '{node}' failed: {e}; the files are written on this node, copy them by hand (warden cluster setup ... --no-copy prints the commands)"
                ))
            })?;
        }
    }
    emit(out, "Cluster has been successfully set up.\n")?;
    let names: Vec<String> = spec.nodes.iter().map(|n| n.name.clone()).collect();
    for (wanted, action) in [
        (spec.enable, ServiceAction::Enable),
        (spec.start, ServiceAction::Start),
    ] {
        if wanted {
            service(
                &ServiceSpec {
                    action,
                    all: false,
                    nodes: names.clone(),
                    dry_run: false,
                    corosync_conf: None,
                },
                out,
                err,
            )?;
        }
    }
    Ok(0)
}

fn refuse_existing(path: &Path, force: bool) -> Result<(), CliError> {
    if path.exists() && !force {
        return Err(CliError::rejected(format!(
            "{} already exists: a cluster was set up on this node before; use --force to overwrite it",
            path.display()
        )));
    }
    Ok(())
}

/// The warden.toml to write, or `None` to keep the one there.
fn warden_toml_plan(path: &Path, spec: &SetupSpec) -> Result<Option<String>, CliError> {
    let fresh = render_warden_toml(&spec.cluster_name);
    if !path.exists() || spec.force {
        return Ok(Some(fresh));
    }
    let existing = daemon_config::DaemonConfig::load(path).map_err(|e| {
        CliError::rejected(format!(
            "{e}; fix it or use --force to replace {}",
            path.display()
        ))
    })?;
    let same_cluster = existing
        .cluster_name
        .as_deref()
        .is_none_or(|n| n == spec.cluster_name);
    if same_cluster && existing.transport == daemon_config::TransportKind::Corosync {
        return Ok(None);
    }
    Err(CliError::rejected(format!(
        "{} is set up for {}; use --force to replace it",
        path.display(),
        match existing.cluster_name {
            Some(n) if n != spec.cluster_name => format!("cluster '{n}'"),
            _ => "the standalone transport".to_string(),
        }
    )))
}

/// Every address that is a name must resolve (as pcs checks).
fn check_resolvable(spec: &SetupSpec) -> Result<(), CliError> {
    use std::net::{IpAddr, ToSocketAddrs};
    let mut bad: Vec<&str> = Vec::new();
    for a in spec.nodes.iter().flat_map(|n| n.addrs.iter()) {
        if a.parse::<IpAddr>().is_ok() {
            continue;
        }
        if (a.as_str(), 0u16)
            .to_socket_addrs()
            .map_or(true, |mut it| it.next().is_none())
        {
            bad.push(a);
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(CliError::rejected(format!(
            "unable to resolve addresses: {}, use --force to override",
            quoted(&bad)
        )))
    }
}

// ---------------------------------------------------------------- start / stop

/// One step of `cluster start|stop`: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub node: String,
    /// `None`: this machine.
    pub remote: Option<String>,
    pub argv: Vec<String>,
}

/// The steps of a service action on `targets` (node label, ssh address,
/// local?): for start, corosync on every node, then warden on every node;
/// for stop, the reverse, so no node loses corosync under a running warden
/// and the cluster does not react to nodes leaving one by one.
pub fn service_steps(action: ServiceAction, targets: &[(String, String, bool)]) -> Vec<Step> {
    let units: &[&[&str]] = match action {
        ServiceAction::Start => &[&["corosync.service"], &["warden.service"]],
        ServiceAction::Stop => &[&["warden.service"], &["corosync.service"]],
        ServiceAction::Enable | ServiceAction::Disable => {
            &[&["corosync.service", "warden.service"]]
        }
    };
    let mut steps = Vec::new();
    for unit in units {
        for (node, addr, local) in targets {
            let mut remote_cmd: Vec<&str> = vec!["systemctl", action.word()];
            remote_cmd.extend(unit.iter());
            let (remote, argv) = if *local {
                (None, remote_cmd.iter().map(|s| s.to_string()).collect())
            } else {
                (Some(addr.clone()), ssh(addr, &remote_cmd))
            };
            steps.push(Step {
                node: node.clone(),
                remote,
                argv,
            });
        }
    }
    steps
}

/// Whether systemd manages this machine (as `sd_booted()`); `Err` says what
/// PID 1 is instead.
fn systemd_running() -> Result<(), String> {
    if Path::new("/run/systemd/system").is_dir() {
        return Ok(());
    }
    let init = std::fs::read_to_string("/proc/1/comm")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    Err(init)
}

/// The nodes a command acts on, as (label, ssh address, this machine?):
/// with `all` or `nodes`, from corosync.conf's nodelist (named nodes must
/// be in it); otherwise this machine alone.
fn conf_targets(
    all: bool,
    nodes: &[String],
    corosync_conf: Option<&str>,
) -> Result<Vec<(String, String, bool)>, CliError> {
    let local = local_names();
    if !all && nodes.is_empty() {
        return Ok(vec![(
            local.first().cloned().unwrap_or_else(|| "localhost".into()),
            String::new(),
            true,
        )]);
    }
    let path = match corosync_conf {
        Some(f) => PathBuf::from(f),
        None => rooted(COROSYNC_CONF),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| CliError::Io {
        action: "cannot read the nodelist from",
        path: path.display().to_string(),
        source: e,
    })?;
    let conf =
        parse_conf(&text).map_err(|e| CliError::rejected(format!("{}: {e}", path.display())))?;
    let conf_nodes = conf_nodes(&conf);
    if conf_nodes.is_empty() {
        return Err(CliError::rejected(format!(
            "{} has no nodes in its nodelist",
            path.display()
        )));
    }
    let chosen: Vec<&ConfNode> = if all {
        conf_nodes.iter().collect()
    } else {
        let mut v = Vec::new();
        for want in nodes {
            match conf_nodes.iter().find(|n| n.label() == *want) {
                Some(n) => v.push(n),
                None => {
                    return Err(CliError::rejected(format!(
                        "node '{want}' is not in the nodelist of {}",
                        path.display()
                    )))
                }
            }
        }
        v
    };
    Ok(chosen
        .into_iter()
        .map(|n| {
            let label = n.label();
            let is_local = local.contains(&label);
            (label, n.address(), is_local)
        })
        .collect())
}

/// Carries out `cluster auth`: pcs authenticates its pcsd daemons with the
/// `hacluster` password; warden has no such daemon and reaches the other
/// nodes over ssh as root (`cluster setup`, `cluster start --all`), so this
/// checks that every node answers over ssh without a password prompt, and
/// says how to fix a node that does not.
pub fn auth(spec: &AuthSpec, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, CliError> {
    if spec.password_given {
        let _ = writeln!(
            err,
            "Note: warden does not use a password between nodes (it uses root's ssh keys); the password given was ignored and not kept"
        );
    }
    if let Some(u) = spec
        .user
        .as_deref()
        .filter(|u| *u != "root" && *u != "hacluster")
    {
        let _ = writeln!(
            err,
            "Note: warden reaches the other nodes as root over ssh, not as '{u}'"
        );
    }
    let targets = if spec.nodes.is_empty() {
        conf_targets(true, &[], spec.corosync_conf.as_deref()).map_err(|e| match e {
            CliError::Io { path, .. } => CliError::usage(format!(
                "name the nodes to check (warden cluster auth NODE...): there is no nodelist to read them from ({path} cannot be read)"
            )),
            other => other,
        })?
    } else {
        let local = local_names();
        spec.nodes
            .iter()
            .map(|n| (n.clone(), n.clone(), local.contains(n)))
            .collect()
    };
    let mut failed = Vec::new();
    for (node, addr, is_local) in &targets {
        if *is_local {
            emit(out, &format!("{node}: Authorized (this node)\n"))?;
            continue;
        }
        let argv = ssh(addr, &["true"]);
        if spec.dry_run {
            emit(out, &format!("{}\n", shell_words(&argv)))?;
            continue;
        }
        let result = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .output();
        match result {
            Ok(o) if o.status.success() => emit(out, &format!("{node}: Authorized\n"))?,
            Ok(o) => {
                let said = String::from_utf8_lossy(&o.stderr);
                let last = said.lines().rev().find(|l| !l.trim().is_empty());
                let _ = writeln!(
                    err,
                    "Error: Unable to authenticate to {node}: ssh as root@{addr} failed ({}){}; warden copies files and runs systemctl on the other nodes over ssh as root: install this node's key there (ssh-copy-id root@{addr})",
                    o.status,
                    last.map(|l| format!(": {}", l.trim())).unwrap_or_default()
                );
                failed.push(node.clone());
            }
            Err(e) => {
                let _ = writeln!(
                    err,
                    "Error: Unable to authenticate to {node}: cannot run ssh: {e}"
                );
                failed.push(node.clone());
            }
        }
    }
    if failed.is_empty() {
        Ok(0)
    } else {
        Err(CliError::rejected(format!(
            "not reachable over ssh as root: {}",
            failed.join(", ")
        )))
    }
}

/// Carries out `cluster start|stop|enable|disable`.
pub fn service(
    spec: &ServiceSpec,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CliError> {
    let targets = conf_targets(spec.all, &spec.nodes, spec.corosync_conf.as_deref())?;
    let steps = service_steps(spec.action, &targets);
    if spec.dry_run {
        for s in &steps {
            emit(out, &format!("{}\n", shell_words(&s.argv)))?;
        }
        return Ok(0);
    }
    if steps.iter().any(|s| s.remote.is_none()) {
        if let Err(init) = systemd_running() {
            let by_hand = match spec.action {
                ServiceAction::Start => "start corosync (corosync, or corosync -f in the foreground), wait until 'corosync-quorumtool -s' answers, then start 'warden daemon' (under the process supervisor of this machine)",
                ServiceAction::Stop => "stop 'warden daemon' first (SIGTERM to its process), then corosync (corosync-cfgtool -H, or SIGTERM)",
                ServiceAction::Enable | ServiceAction::Disable => "register corosync and 'warden daemon' with the process supervisor of this machine, corosync first",
            };
            return Err(CliError::rejected(format!(
                "systemd is not running on this machine (PID 1 is '{init}'), so 'systemctl {}' cannot work here: {by_hand}; 'warden cluster {} --dry-run' shows the systemctl commands",
                spec.action.word(),
                spec.action.word()
            )));
        }
    }
    let mut failures = Vec::new();
    for s in &steps {
        if failures
            .iter()
            .any(|(n, _): &(String, String)| *n == s.node)
        {
            continue;
        }
        emit(out, &format!("{}: {}\n", s.node, shell_words(&s.argv)))?;
        if let Err(e) = run_argv(&s.argv) {
            let _ = writeln!(err, "Error: {}: {e}", s.node);
            failures.push((s.node.clone(), e));
        }
    }
    if failures.is_empty() {
        Ok(0)
    } else {
        Err(CliError::Rejected(
            failures
                .into_iter()
                .map(|(n, e)| format!("node '{n}': {e}"))
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::flags;

    fn setup_of(args: &[&str]) -> Result<SetupSpec, CliError> {
        let lexed = flags::lex(args.iter().map(|s| s.to_string())).unwrap();
        match parse_setup(&lexed.words, &lexed.flags)? {
            Command::ClusterSetup(s) => Ok(s),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn both_pcs_forms_give_the_same_cluster() {
        let new = setup_of(&["one", "n1", "n2", "totem", "token=3000"]).unwrap();
        let old = setup_of(&["--name", "one", "n1", "n2", "--token", "3000"]).unwrap();
        assert_eq!(new, old);
        assert_eq!(new.nodes[0].addrs, ["n1"]);
        assert!(new.nodes[0].addr_from_name);
        let addrs = setup_of(&[
            "one",
            "n1",
            "addr=10.0.0.1",
            "addr=10.1.0.1",
            "n2",
            "addr=10.0.0.2",
            "addr=10.1.0.2",
            "transport",
            "knet",
        ])
        .unwrap();
        assert_eq!(addrs.nodes[1].addrs, ["10.0.0.2", "10.1.0.2"]);
        let old_alt = setup_of(&["--name", "one", "n1,10.1.0.1", "n2,10.1.0.2"]).unwrap();
        assert_eq!(old_alt.nodes[0].addrs, ["n1", "10.1.0.1"]);
        let text = render_corosync_conf(&addrs);
        assert!(text.contains("        ring0_addr: 10.0.0.1\n        ring1_addr: 10.1.0.1\n        name: n1\n        nodeid: 1\n"), "{text}");
    }

    #[test]
    fn bad_setups_are_named() {
        let cases: &[(&[&str], &str)] = &[
            (&[], "missing cluster name"),
            (&["one"], "missing node names"),
            (&["--name", "one"], "missing node names"),
            (
                &["one", "n1", "n1"],
                "node name 'n1' is given more than once",
            ),
            (
                &["one", "n1", "addr=10.0.0.1", "n2", "addr=10.0.0.1"],
                "node addresses must be unique, duplicate addresses: '10.0.0.1'",
            ),
            (&["one", "n 1"], "invalid node name 'n 1'"),
            (&["one", "-n1"], "unknown option"),
            (&["one", "n/1"], "invalid node name 'n/1'"),
            (&["bad name!", "n1"], "invalid cluster name 'bad name!'"),
            (
                &["one", "n1", "transport", "udpu"],
                "transport 'udpu' is not supported",
            ),
            (
                &["one", "n1", "--transport", "udp"],
                "transport 'udp' is not supported",
            ),
            (
                &["one", "n1", "totem", "token=fast"],
                "invalid token timeout 'fast'",
            ),
            (
                &["one", "n1", "totem", "join=50"],
                "totem option 'join' is not supported",
            ),
            (
                &["one", "n1", "quorum", "two_nodes=1"],
                "invalid quorum option 'two_nodes'",
            ),
            (
                &["one", "n1", "crypto", "cipher=none"],
                "'crypto' options are not supported",
            ),
            (
                &["one", "addr=10.0.0.1", "n1"],
                "'addr=10.0.0.1' comes before any node name",
            ),
            (&["one", "n1", "ip=1"], "unexpected 'ip=1'"),
            (
                &["one", "n1", "addr=a", "addr=b", "n2", "addr=c"],
                "all nodes must have the same number of addresses",
            ),
            (
                &["one", "n1", "n2", "--start", "--no-copy"],
                "cannot be combined with --no-copy",
            ),
        ];
        for (args, want) in cases {
            let got = match flags::lex(args.iter().map(|s| s.to_string())) {
                Err(e) => e.to_string(),
                Ok(l) => match parse_setup(&l.words, &l.flags) {
                    Err(e) => e.to_string(),
                    Ok(c) => format!("accepted: {c:?}"),
                },
            };
            assert!(got.contains(want), "{args:?}: {got}");
        }
    }

    #[test]
    fn two_nodes_get_two_node_unless_the_tie_breaker_decides() {
        let two = setup_of(&["c", "a", "b"]).unwrap();
        assert!(render_corosync_conf(&two).contains("two_node: 1"));
        let three = setup_of(&["c", "a", "b", "d"]).unwrap();
        assert!(!render_corosync_conf(&three).contains("two_node"));
        let atb = setup_of(&["c", "a", "b", "quorum", "auto_tie_breaker=1"]).unwrap();
        let text = render_corosync_conf(&atb);
        assert!(!text.contains("two_node") && text.contains("    auto_tie_breaker: 1\n"));
        check_conf(&text, &atb).unwrap();
    }

    #[test]
    fn the_conf_parser_reads_blocks_and_names_errors() {
        let conf = parse_conf(
            "# comment\ntotem {\n  version: 2\n  interface {\n    linknumber: 0\n  }\n}\nnodelist {\n  node {\n    ring0_addr: 10.0.0.1\n    nodeid: 1\n  }\n}\n",
        )
        .unwrap();
        assert_eq!(conf.section("totem").unwrap().get("version"), Some("2"));
        assert_eq!(
            conf.section("totem")
                .unwrap()
                .section("interface")
                .unwrap()
                .get("linknumber"),
            Some("0")
        );
        let nodes = conf_nodes(&conf);
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].label(), "10.0.0.1");
        assert_eq!(nodes[0].nodeid, Some(1));
        assert_eq!(
            parse_conf("totem {\n").unwrap_err(),
            "section 'totem' is not closed"
        );
        assert_eq!(parse_conf("}\n").unwrap_err(), "line 1: '}' closes nothing");
        assert!(parse_conf("a {\nnonsense\n}\n")
            .unwrap_err()
            .starts_with("line 2: expected 'key: value'"));
    }

    #[test]
    fn start_and_stop_order_every_node() {
        let targets = vec![
            ("n1".to_string(), "10.0.0.1".to_string(), true),
            ("n2".to_string(), "10.0.0.2".to_string(), false),
        ];
        let lines = |action| -> Vec<String> {
            service_steps(action, &targets)
                .iter()
                .map(|s| shell_words(&s.argv))
                .collect()
        };
        assert_eq!(
            lines(ServiceAction::Start),
            [
                "systemctl start corosync.service",
                "ssh -o BatchMode=yes -o ConnectTimeout=10 root@10.0.0.2 systemctl start corosync.service",
                "systemctl start warden.service",
                "ssh -o BatchMode=yes -o ConnectTimeout=10 root@10.0.0.2 systemctl start warden.service",
            ]
        );
        assert_eq!(
            lines(ServiceAction::Stop),
            [
                "systemctl stop warden.service",
                "ssh -o BatchMode=yes -o ConnectTimeout=10 root@10.0.0.2 systemctl stop warden.service",
                "systemctl stop corosync.service",
                "ssh -o BatchMode=yes -o ConnectTimeout=10 root@10.0.0.2 systemctl stop corosync.service",
            ]
        );
        assert_eq!(
            lines(ServiceAction::Enable),
            [
                "systemctl enable corosync.service warden.service",
                "ssh -o BatchMode=yes -o ConnectTimeout=10 root@10.0.0.2 systemctl enable corosync.service warden.service",
            ]
        );
    }

    #[test]
    fn shell_words_quote_what_needs_it() {
        let argv: Vec<String> = ["scp", "/tmp/a b", "it's", "root@n1:/etc/x/"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            shell_words(&argv),
            r"scp '/tmp/a b' 'it'\''s' root@n1:/etc/x/"
        );
    }

    #[test]
    fn the_written_warden_configuration_is_valid() {
        let c = daemon_config::DaemonConfig::parse(&render_warden_toml("one"), "t").unwrap();
        assert_eq!(c.cluster_name.as_deref(), Some("one"));
        assert_eq!(c.transport, daemon_config::TransportKind::Corosync);
    }
}
