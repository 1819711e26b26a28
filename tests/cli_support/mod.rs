//! Shared helpers of the CLI integration tests: run the `warden` binary on a
//! scratch CIB file, read the guide's command lines, find reference tools.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const GUIDE: &str = "../shared/seeds/pcs-guide-commands.txt";

/// A directory removed when the test ends (pass or fail).
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("warden-cli-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch directory");
        Scratch { dir }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

pub fn warden_bin() -> &'static str {
    env!("CARGO_BIN_EXE_warden")
}

/// Runs `warden ARGS` with no CIB_file in the environment.
pub fn warden(args: &[&str]) -> Output {
    Command::new(warden_bin())
        .args(args)
        .env_remove("CIB_file")
        .output()
        .expect("run warden")
}

/// Runs `warden -f FILE ARGS`.
pub fn warden_f(file: &Path, args: &[&str]) -> Output {
    let mut all = vec!["-f", file.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    warden(&all)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout, showing stderr on failure.
pub fn ok(o: Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what} failed ({}):\n{}{}",
        o.status,
        stderr(&o),
        stdout(&o)
    );
    stdout(&o)
}

/// Whether a program is on the PATH.
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// Splits a command line as a POSIX shell would for the guide's simple
/// lines: whitespace separates words, double and single quotes group.
pub fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// One line of the guide.
#[derive(Debug, Clone)]
pub struct GuideLine {
    pub text: String,
    pub live: bool,
    /// `[error: ...]`: the line must fail, with this description.
    pub error: Option<String>,
    /// The words after `pcs`.
    pub args: Vec<String>,
}

/// The guide's command lines, or `None` when the seeds are absent.
pub fn guide_lines() -> Option<Vec<GuideLine>> {
    let text = fs::read_to_string(GUIDE).ok()?;
    let mut out = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut rest = line;
        let mut live = false;
        let mut error = None;
        while let Some(tag) = rest.strip_prefix('[') {
            let end = tag.find(']').expect("closed tag");
            let t = &tag[..end];
            if t == "live" {
                live = true;
            } else if let Some(e) = t.strip_prefix("error:") {
                error = Some(e.trim().to_string());
            }
            rest = tag[end + 1..].trim_start();
        }
        let words = shell_words(rest);
        assert_eq!(
            words.first().map(String::as_str),
            Some("pcs"),
            "guide line without pcs: {line}"
        );
        out.push(GuideLine {
            text: line.to_string(),
            live,
            error,
            args: words[1..].to_vec(),
        });
    }
    Some(out)
}

/// A whole XML document as a set of lines, one per element, each naming
/// its path (by ids), its name and its sorted attributes; children order is
/// ignored, and so are the bookkeeping attributes of `<cib>`. Two CIBs are
/// semantically equal when their sets are equal.
pub fn canonical_lines(xml: &str) -> Vec<String> {
    use warden::core::cib::xml::{parse_element, Element};
    fn walk(e: &Element, path: &str, out: &mut Vec<String>) {
        let mut attrs: Vec<String> = e
            .attrs
            .iter()
            .filter(|(k, _)| {
                e.name != "cib"
                    || !matches!(
                        k.as_str(),
                        "epoch"
                            | "num_updates"
                            | "admin_epoch"
                            | "validate-with"
                            | "crm_feature_set"
                            | "cib-last-written"
                            | "update-origin"
                            | "update-client"
                            | "update-user"
                            | "have-quorum"
                            | "dc-uuid"
                    )
            })
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        attrs.sort();
        let here = match e.id() {
            Some(id) => format!("{path}/{}[{id}]", e.name),
            None => format!("{path}/{}", e.name),
        };
        out.push(format!("{here} {}", attrs.join(" ")));
        for c in e.elements() {
            walk(c, &here, out);
        }
    }
    let root = parse_element(xml).expect("well-formed XML");
    let mut out = Vec::new();
    walk(&root, "", &mut out);
    out.sort();
    out
}

/// The lines only in `a` and only in `b`.
pub fn canonical_diff(a: &str, b: &str) -> (Vec<String>, Vec<String>) {
    let (la, lb) = (canonical_lines(a), canonical_lines(b));
    let only_a = la.iter().filter(|l| !lb.contains(l)).cloned().collect();
    let only_b = lb.iter().filter(|l| !la.contains(l)).cloned().collect();
    (only_a, only_b)
}

/// A known-differences list (`CASE WHAT reason...` per line, `#` comments):
/// (case, what) -> reason. Every entry must give its reason.
#[allow(dead_code)]
pub fn known_differences(path: &str) -> std::collections::BTreeMap<(String, String), String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut words = l.split_whitespace();
            let case = words.next().unwrap().to_string();
            let what = words.next().unwrap_or("").to_string();
            let why = words.collect::<Vec<_>>().join(" ");
            assert!(!why.is_empty(), "{path}: '{l}' gives no reason");
            ((case, what), why)
        })
        .collect()
}
