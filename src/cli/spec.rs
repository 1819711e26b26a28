//! The table of commands: their words, synopsis, one-line help and the
//! flags each accepts. The grammar finds a command here; help and
//! completions are generated from here (with [`super::flags::FLAGS`]).
//!
//! Invariant: data only. Adding a command means adding a row here and a
//! match arm in the grammar; nothing else lists commands.

/// One command of the CLI.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// The words that name the command; `a|b` lists aliases, the first one
    /// is the name shown in help.
    pub path: &'static [&'static str],
    /// Synopsis of the arguments after the command words (pcs grammar).
    pub args: &'static str,
    pub help: &'static str,
    /// Non-global flags the command accepts.
    pub flags: &'static [&'static str],
}

impl CommandSpec {
    /// `resource create` (first spelling of each word).
    pub fn name(&self) -> String {
        self.path
            .iter()
            .map(|w| w.split('|').next().unwrap_or(w))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `warden resource create NAME ...`
    pub fn usage(&self) -> String {
        if self.args.is_empty() {
            format!("warden {}", self.name())
        } else {
            format!("warden {} {}", self.name(), self.args)
        }
    }

    /// How many leading `words` name this command (0 if they do not).
    pub fn matches(&self, words: &[String]) -> usize {
        if words.len() < self.path.len() {
            return 0;
        }
        let ok = self
            .path
            .iter()
            .zip(words)
            .all(|(p, w)| p.split('|').any(|alt| alt == w));
        if ok {
            self.path.len()
        } else {
            0
        }
    }
}

const CREATE_FLAGS: &[&str] = &["group", "before", "after", "disabled", "no-default-ops"];

/// Every command, grouped as pcs groups them.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        path: &["cluster", "cib"],
        args: "[FILE]",
        help: "Print the CIB, or write it to FILE",
        flags: &[],
    },
    CommandSpec {
        path: &["cluster", "verify"],
        args: "[--full]",
        help: "Check the CIB (-f FILE) for errors: every problem with file, line and id; exit 1 on errors (crm_verify exits 78), 0 with warnings only; --full adds what the scheduler cannot act on",
        flags: &["full"],
    },
    CommandSpec {
        path: &["cluster", "setup"],
        args: "NAME NODE [addr=ADDR]... [transport knet] [totem token=MS] [quorum OPTION=VALUE...] | --name NAME NODE[,ADDR]... [--transport knet] [--token MS] [--start] [--enable] [--no-copy] [--corosync-conf FILE] [--force]",
        help: "Write corosync.conf (knet, encrypted; two_node for two nodes), a fresh corosync authkey and warden's configuration, and copy them to the other nodes over ssh",
        flags: &[
            "name",
            "transport",
            "token",
            "start",
            "enable",
            "corosync-conf",
            "corosync_conf",
            "no-copy",
            "overwrite",
        ],
    },
    CommandSpec {
        path: &["cluster", "start|stop|enable|disable"],
        args: "[--all | NODE...] [--dry-run]",
        help: "Start, stop, enable or disable corosync and warden (systemctl) on this node, or over ssh on the nodes of corosync.conf's nodelist",
        flags: &["all", "dry-run", "corosync-conf", "corosync_conf"],
    },
    CommandSpec {
        path: &["cluster", "status"],
        args: "",
        help: "Show the daemon's view (members, quorum, DC, CIB version) and the cluster status",
        flags: &[],
    },
    CommandSpec {
        path: &["cluster", "auth"],
        args: "[NODE...] [-u USER] [-p PASSWORD] [--dry-run]",
        help: "Check that every node (default: corosync.conf's nodelist) answers over ssh as root without a password, as warden's cluster commands need; -u and -p are accepted for pcs's lines and ignored",
        flags: &["user", "password", "dry-run", "corosync-conf", "corosync_conf"],
    },
    CommandSpec {
        path: &["host", "auth"],
        args: "NODE... [-u USER] [-p PASSWORD] [--dry-run]",
        help: "The same as cluster auth (pcs 0.10's spelling)",
        flags: &["user", "password", "dry-run"],
    },
    CommandSpec {
        path: &["cluster", "destroy|node"],
        args: "...",
        help: "Not available in this version of warden",
        flags: &["all"],
    },
    CommandSpec {
        path: &["cib", "verify"],
        args: "FILE [--full]",
        help: "Check a CIB file for errors: every problem with file, line and id; exit 1 on errors (crm_verify exits 78), 0 with warnings only; --full adds what the scheduler cannot act on",
        flags: &["full"],
    },
    CommandSpec {
        path: &["property", "set"],
        args: "NAME=VALUE...",
        help: "Set cluster properties (an empty VALUE removes the property)",
        flags: &[],
    },
    CommandSpec {
        path: &["property", "unset"],
        args: "NAME...",
        help: "Remove cluster properties",
        flags: &[],
    },
    CommandSpec {
        path: &["property", "config|list|show"],
        args: "[--all | --defaults] [NAME...]",
        help: "Show the cluster properties that are set (--all: with defaults)",
        flags: &["all", "defaults"],
    },
    CommandSpec {
        path: &["resource", "create"],
        args: "NAME STANDARD:[PROVIDER:]TYPE|TYPE [OPTION=VALUE...] [op ACTION OPTION=VALUE...]... [meta OPTION=VALUE...] [--group GROUP [--before RESOURCE | --after RESOURCE]] [--disabled] [--no-default-ops] [--force]",
        help: "Create a resource; the agent's default operations are added",
        flags: CREATE_FLAGS,
    },
    CommandSpec {
        path: &["resource", "delete|remove"],
        args: "RESOURCE",
        help: "Delete a resource (a group with its members) and the constraints that name it",
        flags: &[],
    },
    CommandSpec {
        path: &["resource", "update"],
        args: "RESOURCE [OPTION=VALUE...] [op ACTION OPTION=VALUE...]... [meta OPTION=VALUE...] [--force]",
        help: "Change a resource's options, operations and meta attributes (an empty VALUE removes the option)",
        flags: &[],
    },
    CommandSpec {
        path: &["resource", "meta"],
        args: "RESOURCE OPTION=VALUE...",
        help: "Set meta attributes of a resource or group (an empty VALUE removes it)",
        flags: &[],
    },
    CommandSpec {
        path: &["resource", "enable"],
        args: "RESOURCE...",
        help: "Allow resources to start (remove target-role=Stopped)",
        flags: &[],
    },
    CommandSpec {
        path: &["resource", "disable"],
        args: "RESOURCE...",
        help: "Stop resources and keep them stopped (target-role=Stopped)",
        flags: &[],
    },
    CommandSpec {
        path: &["resource", "config|show"],
        args: "[RESOURCE...]",
        help: "Show the configuration of resources (secrets masked unless --show-secrets)",
        flags: &["show-secrets", "full"],
    },
    CommandSpec {
        path: &["resource", "group", "add"],
        args: "GROUP RESOURCE... [--before RESOURCE | --after RESOURCE]",
        help: "Add resources to a group (created if it does not exist)",
        flags: &["before", "after"],
    },
    CommandSpec {
        path: &["resource", "group", "remove|delete"],
        args: "GROUP [RESOURCE...]",
        help: "Take resources out of a group (all of them: the group is dissolved)",
        flags: &[],
    },
    CommandSpec {
        path: &["resource", "ungroup"],
        args: "GROUP [RESOURCE...]",
        help: "Same as 'resource group remove'",
        flags: &[],
    },
    CommandSpec {
        path: &["resource", "group", "list"],
        args: "",
        help: "List groups and their members",
        flags: &[],
    },
    CommandSpec {
        path: &["resource", "describe"],
        args: "STANDARD:[PROVIDER:]TYPE|TYPE [--full]",
        help: "Show an agent's description, options and default operations",
        flags: &["full"],
    },
    CommandSpec {
        path: &["resource", "list"],
        args: "[FILTER] [--nodesc]",
        help: "List the resource agents installed on this machine",
        flags: &["nodesc"],
    },
    CommandSpec {
        path: &["resource", "standards"],
        args: "",
        help: "List the resource standards available on this machine",
        flags: &[],
    },
    CommandSpec {
        path: &["resource", "providers"],
        args: "",
        help: "List the OCF providers installed on this machine",
        flags: &[],
    },
    CommandSpec {
        path: &["resource", "agents"],
        args: "[STANDARD[:PROVIDER]]",
        help: "List agents of a standard (and provider)",
        flags: &[],
    },
    CommandSpec {
        path: &["resource", "debug-start|debug-stop|debug-monitor|debug-promote|debug-demote"],
        args: "RESOURCE [--full]",
        help: "Run an action of a resource, as the CIB configures it, on this machine and show its result and output (--full: with the agent's trace); exits with the agent's result",
        flags: &["full"],
    },
    CommandSpec {
        path: &["resource", "move|ban|clear"],
        args: "RESOURCE [NODE]",
        help: "move: prefer NODE (constraint cli-prefer-RESOURCE; without NODE, away from where it runs); ban: keep off NODE (cli-ban-RESOURCE-on-NODE); clear: remove what move and ban added (live cluster only)",
        flags: &[],
    },
    CommandSpec {
        path: &["resource", "cleanup"],
        args: "[RESOURCE] [node=NODE | --node NODE]",
        help: "Forget the failures and history of a resource (of all, without RESOURCE), so the cluster looks again (live cluster only)",
        flags: &["node"],
    },
    CommandSpec {
        path: &["resource", "restart"],
        args: "RESOURCE [NODE]",
        help: "Stop a resource (target-role=Stopped), wait until it is stopped, restore its target-role and wait until it runs again (live cluster only; with NODE, only if it runs there)",
        flags: &[],
    },
    CommandSpec {
        path: &["constraint", "colocation", "add"],
        args: "[ROLE] RESOURCE [with] [ROLE] WITH-RESOURCE [SCORE] [OPTION=VALUE...] [id=ID]",
        help: "Keep RESOURCE on the node where WITH-RESOURCE runs (score defaults to INFINITY)",
        flags: &[],
    },
    CommandSpec {
        path: &["constraint", "colocation", "delete|remove"],
        args: "RESOURCE WITH-RESOURCE",
        help: "Remove colocation constraints between two resources",
        flags: &[],
    },
    CommandSpec {
        path: &["constraint", "order"],
        args: "[ACTION] RESOURCE then [ACTION] RESOURCE [kind=Mandatory|Optional|Serialize] [symmetrical=true|false] [id=ID]",
        help: "Order two resources (actions default to start)",
        flags: &[],
    },
    CommandSpec {
        path: &["constraint", "location", "add"],
        args: "ID RESOURCE NODE SCORE [resource-discovery=always|never|exclusive]",
        help: "Add a location constraint with a given id",
        flags: &[],
    },
    CommandSpec {
        path: &["constraint", "location", "delete|remove"],
        args: "ID",
        help: "Remove a location constraint",
        flags: &[],
    },
    CommandSpec {
        path: &["constraint", "location"],
        args: "RESOURCE prefers|avoids NODE[=SCORE]... | RESOURCE rule [id=ID] [role=ROLE] [score=SCORE|score-attribute=ATTR] [constraint-id=ID] EXPRESSION",
        help: "Prefer or avoid nodes (score defaults to INFINITY), or place by a rule",
        flags: &[],
    },
    CommandSpec {
        path: &["constraint", "config|list|show"],
        args: "[--full]",
        help: "Show all constraints (--full: with ids)",
        flags: &["full"],
    },
    CommandSpec {
        path: &["constraint", "delete|remove"],
        args: "CONSTRAINT-ID...",
        help: "Remove constraints (or location rules) by id",
        flags: &[],
    },
    CommandSpec {
        path: &["constraint", "ref"],
        args: "RESOURCE...",
        help: "List the constraints that name a resource",
        flags: &[],
    },
    CommandSpec {
        path: &["stonith", "create"],
        args: "NAME AGENT [OPTION=VALUE...] [op ACTION OPTION=VALUE...]... [meta OPTION=VALUE...] [--disabled] [--force]",
        help: "Create a fencing device; deprecated options are translated to current ones",
        flags: &["disabled", "no-default-ops"],
    },
    CommandSpec {
        path: &["stonith", "delete|remove"],
        args: "NAME",
        help: "Delete a fencing device (and its fencing levels)",
        flags: &[],
    },
    CommandSpec {
        path: &["stonith", "update"],
        args: "NAME [OPTION=VALUE...] [op ACTION OPTION=VALUE...]... [meta OPTION=VALUE...]",
        help: "Change a fencing device's options",
        flags: &[],
    },
    CommandSpec {
        path: &["stonith", "enable"],
        args: "NAME...",
        help: "Allow fencing devices to start",
        flags: &[],
    },
    CommandSpec {
        path: &["stonith", "disable"],
        args: "NAME...",
        help: "Stop fencing devices and keep them stopped",
        flags: &[],
    },
    CommandSpec {
        path: &["stonith", "config|show"],
        args: "[NAME...]",
        help: "Show fencing devices and levels (secrets masked unless --show-secrets)",
        flags: &["show-secrets", "full"],
    },
    CommandSpec {
        path: &["stonith", "list"],
        args: "[FILTER] [--nodesc]",
        help: "List the fence agents installed on this machine",
        flags: &["nodesc"],
    },
    CommandSpec {
        path: &["stonith", "describe"],
        args: "AGENT [--full]",
        help: "Show a fence agent's description and options",
        flags: &["full"],
    },
    CommandSpec {
        path: &["stonith", "level", "add"],
        args: "LEVEL TARGET DEVICE...",
        help: "Add a fencing level: try DEVICEs (all of them) at LEVEL to fence TARGET",
        flags: &[],
    },
    CommandSpec {
        path: &["stonith", "level", "delete|remove"],
        args: "LEVEL [TARGET] [DEVICE...]",
        help: "Remove fencing levels",
        flags: &[],
    },
    CommandSpec {
        path: &["stonith", "level", "clear"],
        args: "[TARGET | DEVICE[,DEVICE...]]",
        help: "Remove all fencing levels (of a target, or with these devices)",
        flags: &[],
    },
    CommandSpec {
        path: &["stonith", "level", "config|show"],
        args: "",
        help: "Show fencing levels",
        flags: &[],
    },
    CommandSpec {
        path: &["stonith", "test"],
        args: "DEVICE [--action status|list|monitor] [--node NODE]",
        help: "Run one non-destructive action of a fence device, with its configured parameters, from this machine and show the answer (power on/off, plugs, reachable)",
        flags: &["action", "node"],
    },
    CommandSpec {
        path: &["stonith", "fence"],
        args: "NODE [--off]",
        help: "Fence a node through the cluster and wait until it is fenced (live cluster only)",
        flags: &["off"],
    },
    CommandSpec {
        path: &["stonith", "confirm"],
        args: "NODE [--force]",
        help: "Tell the cluster that a node is down (powered off by hand): its pending fencing counts as done (live cluster only)",
        flags: &[],
    },
    CommandSpec {
        path: &["stonith", "history"],
        args: "[show] [NODE]",
        help: "Show the fencing history, of one node or all (live cluster only)",
        flags: &[],
    },
    CommandSpec {
        path: &["node", "standby"],
        args: "NODE... | --all",
        help: "Put nodes in standby: they run no resources",
        flags: &["all"],
    },
    CommandSpec {
        path: &["node", "unstandby"],
        args: "NODE... | --all",
        help: "Take nodes out of standby",
        flags: &["all"],
    },
    CommandSpec {
        path: &["node", "maintenance"],
        args: "NODE... | --all",
        help: "Put nodes in maintenance: their resources are left alone",
        flags: &["all"],
    },
    CommandSpec {
        path: &["node", "unmaintenance"],
        args: "NODE... | --all",
        help: "Take nodes out of maintenance",
        flags: &["all"],
    },
    CommandSpec {
        path: &["node", "attribute"],
        args: "[NODE [NAME=VALUE...]]",
        help: "Show node attributes, or set them (an empty VALUE removes one)",
        flags: &[],
    },
    CommandSpec {
        path: &["config"],
        args: "[show]",
        help: "Show the whole configuration (secrets masked unless --show-secrets)",
        flags: &["show-secrets", "full"],
    },
    CommandSpec {
        path: &["status"],
        args: "[--output-as text|json|xml] [--watch [--interval SECONDS]]",
        help: "Show nodes, resources and failures as the scheduler reads them from the CIB: crm_mon -1 -r's text, crm_mon's XML (--output-as xml) or warden's JSON (summary, nodes, resources, fencing_devices, failed_actions, warnings); fencing warnings on standard error; --watch keeps showing it, redrawn when it changes",
        flags: &["output-as", "full", "watch", "interval"],
    },
    CommandSpec {
        path: &["sim"],
        args: "[SCENARIO] [--seed N] [--nodes N] [--cib FILE] | --swarm COUNT [--seed FIRST] [--nodes N] [--cib FILE]",
        help: "Run a simulated cluster and print its timeline (default: a two-node OpenNebula failover); --swarm runs many seeds with random faults",
        flags: &["seed", "nodes", "cib", "swarm"],
    },
    CommandSpec {
        path: &["daemon"],
        args: "[--config FILE] [--start-empty] [--state-dir DIR] [--socket PATH] [--node-name NAME] [--standalone] [--cib FILE]",
        help: "Run the cluster daemon of this node on corosync (or --standalone), in the foreground, logging to standard error; the flags override the configuration file",
        flags: &["config", "start-empty", "state-dir", "socket", "node-name", "standalone", "cib"],
    },
    CommandSpec {
        path: &["simulate"],
        args: "[-x FILE] [-S | -R] [-s] [-t DATE] [-G FILE] [-D FILE] [-O FILE] [-Q] [--json]",
        help: "Show what the cluster would do with a CIB, and the status that would result (crm_simulate)",
        flags: &[
            "xml-file",
            "set-datetime",
            "date",
            "run",
            "simulate",
            "show-scores",
            "save-graph",
            "save-dotfile",
            "save-output",
            "quiet",
            "json",
        ],
    },
    CommandSpec {
        path: &["completion"],
        args: "bash|zsh|fish",
        help: "Print a shell completion script",
        flags: &[],
    },
    CommandSpec {
        path: &["help"],
        args: "[COMMAND...]",
        help: "Show help",
        flags: &[],
    },
];

/// The command named by the leading words, and how many words name it. The
/// longest match wins (`constraint location add` over `constraint location`).
pub fn find(words: &[String]) -> Option<(&'static CommandSpec, usize)> {
    COMMANDS
        .iter()
        .map(|c| (c, c.matches(words)))
        .filter(|(_, n)| *n > 0)
        .max_by_key(|(_, n)| *n)
}

/// Commands whose path starts with these words (for `warden resource`).
pub fn under(prefix: &[String]) -> Vec<&'static CommandSpec> {
    COMMANDS
        .iter()
        .filter(|c| {
            c.path.len() > prefix.len()
                && c.path
                    .iter()
                    .zip(prefix)
                    .all(|(p, w)| p.split('|').any(|alt| alt == w))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn longest_match_and_aliases() {
        let (c, n) = find(&w("constraint location add id R n 10")).unwrap();
        assert_eq!((c.name().as_str(), n), ("constraint location add", 3));
        let (c, n) = find(&w("constraint location R prefers n1")).unwrap();
        assert_eq!((c.name().as_str(), n), ("constraint location", 2));
        let (c, _) = find(&w("resource remove X")).unwrap();
        assert_eq!(c.name(), "resource delete");
        assert!(find(&w("frobnicate")).is_none());
    }

    #[test]
    fn flags_named_by_commands_exist() {
        for c in COMMANDS {
            for f in c.flags {
                assert!(
                    super::super::flags::FLAGS.iter().any(|d| d.long == *f),
                    "{}: unknown flag {f}",
                    c.name()
                );
            }
        }
    }
}
