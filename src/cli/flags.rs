//! Layer 1 of the command line: raw arguments -> flags + words.
//!
//! pcs lets flags appear anywhere (`resource create X ocf:a:b ip=1 --group
//! g`) and treats `-INFINITY` or `-100` as words (scores), so the words are
//! split from the flags here, by one table ([`FLAGS`]) that also feeds the
//! help text and the shell completions (see `help.rs`).
//!
//! Invariant: no knowledge of commands or of the CIB; every argument is
//! either a known flag, a word, or an error naming it.

use super::error::CliError;

/// One command-line flag.
#[derive(Debug, Clone, Copy)]
pub struct FlagDef {
    /// Long name without the dashes.
    pub long: &'static str,
    pub short: Option<char>,
    /// Name of the value the flag takes (`None`: a switch).
    pub value: Option<&'static str>,
    pub help: &'static str,
    /// Accepted by every command (not listed per command).
    pub global: bool,
}

/// Every flag warden accepts. Help and completions are generated from this
/// table; commands list which of the non-global ones they take.
pub const FLAGS: &[FlagDef] = &[
    FlagDef {
        long: "file",
        short: Some('f'),
        value: Some("FILE"),
        help: "Work on the CIB in FILE instead of the live cluster (or set CIB_file). A missing FILE starts from an empty CIB",
        global: true,
    },
    FlagDef {
        long: "force",
        short: None,
        value: None,
        help: "Turn validation errors that can be overridden into warnings",
        global: true,
    },
    FlagDef {
        long: "debug",
        short: None,
        value: None,
        help: "Log what warden does to standard error",
        global: true,
    },
    FlagDef {
        long: "help",
        short: Some('h'),
        value: None,
        help: "Show help for the command",
        global: true,
    },
    FlagDef {
        long: "version",
        short: None,
        value: None,
        help: "Show warden's version",
        global: true,
    },
    FlagDef {
        long: "group",
        short: None,
        value: Some("GROUP"),
        help: "Put the new resource into GROUP (created if it does not exist)",
        global: false,
    },
    FlagDef {
        long: "before",
        short: None,
        value: Some("RESOURCE"),
        help: "Place the resource(s) before RESOURCE in the group",
        global: false,
    },
    FlagDef {
        long: "after",
        short: None,
        value: Some("RESOURCE"),
        help: "Place the resource(s) after RESOURCE in the group",
        global: false,
    },
    FlagDef {
        long: "disabled",
        short: None,
        value: None,
        help: "Create the resource stopped (meta target-role=Stopped)",
        global: false,
    },
    FlagDef {
        long: "no-default-ops",
        short: None,
        value: None,
        help: "Do not add the agent's default operations (a monitor is always added)",
        global: false,
    },
    FlagDef {
        long: "full",
        short: None,
        value: None,
        help: "Show everything: ids, advanced agent options",
        global: false,
    },
    FlagDef {
        long: "all",
        short: None,
        value: None,
        help: "All nodes, or all properties including defaults",
        global: false,
    },
    FlagDef {
        long: "defaults",
        short: None,
        value: None,
        help: "Show the default value of every property",
        global: false,
    },
    FlagDef {
        long: "nodesc",
        short: None,
        value: None,
        help: "List agents without their descriptions",
        global: false,
    },
    FlagDef {
        long: "show-secrets",
        short: None,
        value: None,
        help: "Show the values of password parameters instead of ********",
        global: false,
    },
    FlagDef {
        long: "output-as",
        short: None,
        value: Some("FORMAT"),
        help: "Output format: text (default), json or xml",
        global: false,
    },
    FlagDef {
        long: "seed",
        short: None,
        value: Some("N"),
        help: "Simulator: the seed to run (with --swarm: the first seed)",
        global: false,
    },
    FlagDef {
        long: "nodes",
        short: None,
        value: Some("N"),
        help: "Simulator: how many nodes (default: from the CIB, or random 2 to 5)",
        global: false,
    },
    FlagDef {
        long: "cib",
        short: None,
        value: Some("FILE"),
        help: "Simulator: the CIB to simulate instead of a generated one; daemon: the CIB to start from when the state directory has none",
        global: false,
    },
    FlagDef {
        long: "config",
        short: None,
        value: Some("FILE"),
        help: "Daemon: the configuration file (default $WARDEN_CONFIG, else /etc/warden/warden.toml)",
        global: false,
    },
    FlagDef {
        long: "start-empty",
        short: None,
        value: None,
        help: "Daemon: when the stored CIB was moved aside as bad, start without it (take the peers' CIB)",
        global: false,
    },
    FlagDef {
        long: "state-dir",
        short: None,
        value: Some("DIR"),
        help: "Daemon: where the CIB is kept (default /var/lib/warden)",
        global: false,
    },
    FlagDef {
        long: "socket",
        short: None,
        value: Some("PATH"),
        help: "Daemon: the local socket for the command line (default /run/warden/warden.sock)",
        global: false,
    },
    FlagDef {
        long: "node-name",
        short: None,
        value: Some("NAME"),
        help: "Daemon: this node's name (default: corosync's name for it)",
        global: false,
    },
    FlagDef {
        long: "standalone",
        short: None,
        value: None,
        help: "Daemon: run as a one-node cluster without corosync",
        global: false,
    },
    FlagDef {
        long: "swarm",
        short: None,
        value: Some("COUNT"),
        help: "Simulator: run COUNT seeds with random faults and report the failing ones",
        global: false,
    },
    FlagDef {
        long: "xml-file",
        short: Some('x'),
        value: Some("FILE"),
        help: "Read the CIB from FILE (as -f)",
        global: false,
    },
    FlagDef {
        long: "set-datetime",
        short: Some('t'),
        value: Some("DATE"),
        help: "Take DATE (ISO 8601, e.g. '2025-06-01 00:00:00Z') as the time now",
        global: false,
    },
    FlagDef {
        long: "date",
        short: None,
        value: Some("DATE"),
        help: "Same as --set-datetime",
        global: false,
    },
    FlagDef {
        long: "run",
        short: Some('R'),
        value: None,
        help: "Compute the transition and show what the cluster would do",
        global: false,
    },
    FlagDef {
        long: "simulate",
        short: Some('S'),
        value: None,
        help: "Like --run, then carry the transition out (every action succeeding) and show the resulting status",
        global: false,
    },
    FlagDef {
        long: "show-scores",
        short: Some('s'),
        value: None,
        help: "Show the allocation scores",
        global: false,
    },
    FlagDef {
        long: "save-graph",
        short: Some('G'),
        value: Some("FILE"),
        help: "Write the transition graph to FILE (Pacemaker's XML)",
        global: false,
    },
    FlagDef {
        long: "save-dotfile",
        short: Some('D'),
        value: Some("FILE"),
        help: "Write the transition graph to FILE (dot)",
        global: false,
    },
    FlagDef {
        long: "save-output",
        short: Some('O'),
        value: Some("FILE"),
        help: "Write the resulting CIB to FILE",
        global: false,
    },
    FlagDef {
        long: "quiet",
        short: Some('Q'),
        value: None,
        help: "Show only what is essential",
        global: false,
    },
    FlagDef {
        long: "action",
        short: None,
        value: Some("ACTION"),
        help: "The device action to test: status (default), list or monitor",
        global: false,
    },
    FlagDef {
        long: "node",
        short: None,
        value: Some("NODE"),
        help: "The node: whose power status to ask for (stonith test), where to clean up (resource cleanup)",
        global: false,
    },
    FlagDef {
        long: "name",
        short: None,
        value: Some("NAME"),
        help: "The cluster's name (pcs 0.9's form of cluster setup)",
        global: false,
    },
    FlagDef {
        long: "transport",
        short: None,
        value: Some("TRANSPORT"),
        help: "corosync's transport: knet (the only one with encryption)",
        global: false,
    },
    FlagDef {
        long: "token",
        short: None,
        value: Some("MS"),
        help: "corosync's token timeout in milliseconds (how long before a silent node is declared lost)",
        global: false,
    },
    FlagDef {
        long: "start",
        short: None,
        value: None,
        help: "Start the cluster on every node afterwards",
        global: false,
    },
    FlagDef {
        long: "enable",
        short: None,
        value: None,
        help: "Enable corosync and warden at boot on every node afterwards",
        global: false,
    },
    FlagDef {
        long: "corosync-conf",
        short: None,
        value: Some("FILE"),
        help: "cluster setup: write only corosync.conf, to FILE (no key, no copies); cluster start|stop: read the nodelist from FILE",
        global: false,
    },
    FlagDef {
        long: "corosync_conf",
        short: None,
        value: Some("FILE"),
        help: "Same as --corosync-conf (pcs's spelling)",
        global: false,
    },
    FlagDef {
        long: "no-copy",
        short: None,
        value: None,
        help: "Do not copy the files to the other nodes: print the commands that would",
        global: false,
    },
    FlagDef {
        long: "overwrite",
        short: None,
        value: None,
        help: "Replace existing configuration files (as --force)",
        global: false,
    },
    FlagDef {
        long: "dry-run",
        short: None,
        value: None,
        help: "Print the commands, run nothing",
        global: false,
    },
    FlagDef {
        long: "off",
        short: None,
        value: None,
        help: "Power the node off instead of rebooting it",
        global: false,
    },
    FlagDef {
        long: "watch",
        short: Some('w'),
        value: None,
        help: "Keep showing the status, redrawn whenever it changes (Ctrl-C ends it)",
        global: false,
    },
    FlagDef {
        long: "interval",
        short: Some('i'),
        value: Some("SECONDS"),
        help: "How often --watch reads the status again (default 2; fractions allowed)",
        global: false,
    },
    FlagDef {
        long: "user",
        short: Some('u'),
        value: Some("USER"),
        help: "Accepted for pcs compatibility; warden reaches other nodes as root over ssh",
        global: false,
    },
    FlagDef {
        long: "password",
        short: Some('p'),
        value: Some("PASSWORD"),
        help: "Accepted for pcs compatibility and ignored: warden uses ssh keys, never a password between nodes",
        global: false,
    },
    FlagDef {
        long: "json",
        short: None,
        value: None,
        help: "Print the outcome as JSON (actions, placement, fenced, ...) instead of text",
        global: false,
    },
];

/// The flags given, typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    pub file: Option<String>,
    pub force: bool,
    pub debug: bool,
    pub help: bool,
    pub version: bool,
    pub group: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub disabled: bool,
    pub no_default_ops: bool,
    pub full: bool,
    pub all: bool,
    pub defaults: bool,
    pub nodesc: bool,
    pub show_secrets: bool,
    pub output_as: Option<String>,
    pub seed: Option<String>,
    pub nodes: Option<String>,
    pub cib: Option<String>,
    pub swarm: Option<String>,
    pub config: Option<String>,
    pub start_empty: bool,
    pub state_dir: Option<String>,
    pub socket: Option<String>,
    pub node_name: Option<String>,
    pub standalone: bool,
    pub xml_file: Option<String>,
    /// `--set-datetime` or `--date`.
    pub date: Option<String>,
    pub run: bool,
    pub simulate: bool,
    pub show_scores: bool,
    pub save_graph: Option<String>,
    pub save_dotfile: Option<String>,
    pub save_output: Option<String>,
    pub quiet: bool,
    pub json: bool,
    pub action: Option<String>,
    pub node: Option<String>,
    pub name: Option<String>,
    pub transport: Option<String>,
    pub token: Option<String>,
    pub start: bool,
    pub enable: bool,
    /// `--corosync-conf` or `--corosync_conf`.
    pub corosync_conf: Option<String>,
    pub no_copy: bool,
    pub overwrite: bool,
    pub dry_run: bool,
    pub off: bool,
    pub watch: bool,
    pub interval: Option<String>,
    pub user: Option<String>,
    /// Whether `-p PASSWORD` was given (pcs's `cluster auth`); the value
    /// itself is dropped at once, never kept or shown.
    pub password_given: bool,
    /// Long names of the flags given, in order, for per-command checks.
    pub given: Vec<&'static str>,
}

impl Flags {
    fn set(&mut self, def: &FlagDef, value: Option<String>) {
        match def.long {
            "file" => self.file = value,
            "force" => self.force = true,
            "debug" => self.debug = true,
            "help" => self.help = true,
            "version" => self.version = true,
            "group" => self.group = value,
            "before" => self.before = value,
            "after" => self.after = value,
            "disabled" => self.disabled = true,
            "no-default-ops" => self.no_default_ops = true,
            "full" => self.full = true,
            "all" => self.all = true,
            "defaults" => self.defaults = true,
            "nodesc" => self.nodesc = true,
            "show-secrets" => self.show_secrets = true,
            "output-as" => self.output_as = value,
            "seed" => self.seed = value,
            "nodes" => self.nodes = value,
            "cib" => self.cib = value,
            "swarm" => self.swarm = value,
            "config" => self.config = value,
            "start-empty" => self.start_empty = true,
            "state-dir" => self.state_dir = value,
            "socket" => self.socket = value,
            "node-name" => self.node_name = value,
            "standalone" => self.standalone = true,
            "xml-file" => self.xml_file = value,
            "set-datetime" | "date" => self.date = value,
            "run" => self.run = true,
            "simulate" => self.simulate = true,
            "show-scores" => self.show_scores = true,
            "save-graph" => self.save_graph = value,
            "save-dotfile" => self.save_dotfile = value,
            "save-output" => self.save_output = value,
            "quiet" => self.quiet = true,
            "json" => self.json = true,
            "action" => self.action = value,
            "node" => self.node = value,
            "name" => self.name = value,
            "transport" => self.transport = value,
            "token" => self.token = value,
            "start" => self.start = true,
            "enable" => self.enable = true,
            "corosync-conf" | "corosync_conf" => self.corosync_conf = value,
            "no-copy" => self.no_copy = true,
            "overwrite" => self.overwrite = true,
            "dry-run" => self.dry_run = true,
            "off" => self.off = true,
            "watch" => self.watch = true,
            "interval" => self.interval = value,
            "user" => self.user = value,
            "password" => self.password_given = value.is_some(),
            other => unreachable!("flag --{other} is in FLAGS but not handled"),
        }
        if !self.given.contains(&def.long) {
            self.given.push(def.long);
        }
    }
}

/// The command line split into flags and words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lexed {
    pub flags: Flags,
    pub words: Vec<String>,
}

/// Whether a word that starts with `-` is a value (a negative score) rather
/// than a flag, as pcs decides: `-INFINITY`, `-100`, `-1.5`.
fn is_negative_value(arg: &str) -> bool {
    let Some(rest) = arg.strip_prefix('-') else {
        return false;
    };
    !rest.is_empty()
        && (rest.chars().all(|c| c.is_ascii_digit())
            || rest.eq_ignore_ascii_case("infinity")
            || rest.parse::<f64>().is_ok_and(|v| v.is_finite()))
}

fn find_long(name: &str) -> Option<&'static FlagDef> {
    FLAGS.iter().find(|f| f.long == name)
}

fn find_short(c: char) -> Option<&'static FlagDef> {
    FLAGS.iter().find(|f| f.short == Some(c))
}

/// Splits raw arguments (without the program name) into flags and words.
pub fn lex<I, S>(args: I) -> Result<Lexed, CliError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut out = Lexed::default();
    let mut it = args.into_iter().map(Into::into).peekable();
    while let Some(arg) = it.next() {
        if arg == "--" {
            out.words.extend(it.by_ref());
            break;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let def = find_long(name)
                .ok_or_else(|| CliError::usage(format!("unknown option '--{name}'")))?;
            let value = match (def.value, inline) {
                (None, None) => None,
                (None, Some(_)) => {
                    return Err(CliError::usage(format!("option '--{name}' takes no value")))
                }
                (Some(_), Some(v)) => Some(v),
                (Some(what), None) => Some(it.next().ok_or_else(|| {
                    CliError::usage(format!("option '--{name}' needs a value: --{name} {what}"))
                })?),
            };
            out.flags.set(def, value);
            continue;
        }
        if arg.len() > 1 && arg.starts_with('-') && !is_negative_value(&arg) {
            let mut chars = arg[1..].chars();
            let c = chars.next().unwrap_or('-');
            let def =
                find_short(c).ok_or_else(|| CliError::usage(format!("unknown option '{arg}'")))?;
            let mut rest: String = chars.collect();
            // Switches may be bundled (`-SQ`); the last may take a value.
            let mut def = def;
            while def.value.is_none() && !rest.is_empty() {
                out.flags.set(def, None);
                let c = rest.remove(0);
                def = find_short(c)
                    .ok_or_else(|| CliError::usage(format!("unknown option '-{c}' in '{arg}'")))?;
            }
            let c = def.short.unwrap_or(c);
            let value = match def.value {
                None => None,
                Some(_) if !rest.is_empty() => Some(rest),
                Some(what) => Some(it.next().ok_or_else(|| {
                    CliError::usage(format!("option '-{c}' needs a value: -{c} {what}"))
                })?),
            };
            out.flags.set(def, value);
            continue;
        }
        out.words.push(arg);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_anywhere_and_negative_scores_are_words() {
        let l = lex([
            "-f",
            "cib.xml",
            "constraint",
            "location",
            "R",
            "avoids",
            "n1=-INFINITY",
            "--force",
            "-INFINITY",
            "-100",
        ])
        .unwrap();
        assert_eq!(l.flags.file.as_deref(), Some("cib.xml"));
        assert!(l.flags.force);
        assert_eq!(
            l.words,
            words(&[
                "constraint",
                "location",
                "R",
                "avoids",
                "n1=-INFINITY",
                "-INFINITY",
                "-100"
            ])
        );
    }

    #[test]
    fn values_inline_or_separate() {
        let l = lex(["--group=g1", "--after", "d1", "-fx.xml", "resource"]).unwrap();
        assert_eq!(l.flags.group.as_deref(), Some("g1"));
        assert_eq!(l.flags.after.as_deref(), Some("d1"));
        assert_eq!(l.flags.file.as_deref(), Some("x.xml"));
        assert_eq!(l.flags.given, vec!["group", "after", "file"]);
    }

    #[test]
    fn unknown_and_malformed_flags_are_named() {
        assert_eq!(
            lex(["--frobnicate"]).unwrap_err().to_string(),
            "unknown option '--frobnicate'"
        );
        assert_eq!(lex(["-y"]).unwrap_err().to_string(), "unknown option '-y'");
        assert_eq!(
            lex(["-Sy"]).unwrap_err().to_string(),
            "unknown option '-y' in '-Sy'"
        );
        assert!(lex(["--group"])
            .unwrap_err()
            .to_string()
            .contains("needs a value"));
        assert!(lex(["--force=yes"])
            .unwrap_err()
            .to_string()
            .contains("takes no value"));
    }

    #[test]
    fn bundled_switches_and_a_last_value() {
        let l = lex(["simulate", "-SQx", "cib.xml", "-st2025-06-01"]).unwrap();
        assert!(l.flags.simulate && l.flags.quiet && l.flags.show_scores);
        assert_eq!(l.flags.xml_file.as_deref(), Some("cib.xml"));
        assert_eq!(l.flags.date.as_deref(), Some("2025-06-01"));
        assert_eq!(l.words, words(&["simulate"]));
    }

    #[test]
    fn double_dash_ends_flags() {
        let l = lex(["a", "--", "--force"]).unwrap();
        assert!(!l.flags.force);
        assert_eq!(l.words, words(&["a", "--force"]));
    }

    #[test]
    fn every_flag_in_the_table_is_handled() {
        for def in FLAGS {
            let mut f = Flags::default();
            f.set(def, def.value.map(|_| "v".to_string()));
            assert_eq!(f.given, vec![def.long]);
        }
    }
}
