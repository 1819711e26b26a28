//! The CIB state directory (`/var/lib/warden` by default): this node's copy
//! of the CIB, the digest beside it, and an archive of recent configuration
//! versions.
//!
//! Invariant: a stored CIB is never silently replaced, least of all by an
//! empty one. A file that does not match its digest or does not parse is
//! moved aside (never deleted) and [`CibStore::load`] keeps saying so until
//! a new CIB is saved; the caller, not this module, decides whether to start
//! empty. This module knows the CIB only as versioned text: it parses to
//! check, never to interpret.
//!
//! # Files
//!
//! | file | what |
//! | --- | --- |
//! | `cib.xml` | the CIB, as last saved |
//! | `cib.xml.sig` | `HEX  cib.xml`: SHA-256 of `cib.xml`'s bytes, in `sha256sum` format (`sha256sum -c cib.xml.sig` checks it by hand) |
//! | `cib.xml.last` | the `cib.xml` before the last save (a hard link to it) |
//! | `cib-A.E.N.xml` | the first saved text of each configuration version (`admin_epoch.epoch.num_updates`), the newest [`CibStore::keep_versions`] kept |
//! | `cib.xml.bad-V[.sig]` | a CIB that failed its check, moved aside (V: its version, or the time when it does not parse) |
//! | `cib.xml.unverified-V` | a CIB whose digest was never written (see below), moved aside |
//! | `cib.xml.quarantined` | present while a bad CIB was moved aside and nothing new was saved: its path and why |
//!
//! # The order of a save, and what a crash leaves behind
//!
//! [`CibStore::save`] does, each step durable (fsync of the file, rename,
//! fsync of the directory) before the next starts:
//!
//! 1. when the configuration version (`admin_epoch`, `epoch`) changed: the
//!    archive copy `cib-A.E.N.xml`, then old archive copies are pruned;
//! 2. `cib.xml.last` becomes a hard link to the current `cib.xml`;
//! 3. `cib.xml` is replaced by the new text;
//! 4. `cib.xml.sig` is replaced by the new text's digest.
//!
//! The text is written before its digest, so a crash can never leave a
//! digest that describes a file that is not there. A crash between steps 3
//! and 4 leaves a complete new `cib.xml` (the rename is atomic) and the
//! *previous* digest, which matches `cib.xml.last`. [`CibStore::load`] tells
//! that case from damage: the digest matches `cib.xml.last`, so the digest is
//! stale, not wrong. It then restores the previous, verified version
//! (`cib.xml.last`), moves the unverified file aside as
//! `cib.xml.unverified-V`, and reports [`LoadOutcome::Recovered`]: the node
//! lost at most its last save, which its peers replicate back when it
//! joins. A digest that matches neither file is damage or an edit by hand:
//! [`LoadOutcome::Quarantined`]. A crash anywhere else leaves either the old
//! pair or the new pair, both consistent.
//!
//! A `cib.xml` without any digest is accepted with a warning, as Pacemaker
//! does: that is how an operator restores a version by hand
//! (`cp cib-0.12.0.xml cib.xml && rm cib.xml.sig`).

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::core::cib::{self, Cib, Version};
use crate::shell::store;

pub const DEFAULT_DIR: &str = "/var/lib/warden";
pub const DEFAULT_KEEP_VERSIONS: usize = 20;
/// Upper bound of [`CibStore::set_keep_versions`].
pub const MAX_KEEP_VERSIONS: usize = 10_000;

const CIB: &str = "cib.xml";
const SIG: &str = "cib.xml.sig";
const LAST: &str = "cib.xml.last";
const MARKER: &str = "cib.xml.quarantined";

/// What went wrong with the state directory.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("another warden daemon is using the state directory {0}")]
    Busy(PathBuf),
    /// The stored CIB failed its check and was moved aside; the message
    /// says what the operator can do.
    #[error("the stored CIB cannot be trusted: {reason}; it was moved to {}. {hint}", path.display())]
    Quarantined {
        path: PathBuf,
        reason: String,
        hint: String,
    },
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// What [`CibStore::load`] found.
#[derive(Debug)]
pub enum LoadOutcome {
    /// `cib.xml` matched its digest (or had none) and parsed.
    Loaded(Box<Cib>),
    /// A save was cut between writing `cib.xml` and its digest: the previous,
    /// verified version was restored; the unverified file is at `set_aside`.
    Recovered { cib: Box<Cib>, set_aside: PathBuf },
    /// Nothing was ever stored here: a new node.
    Empty,
    /// The stored CIB failed its check and was moved to `path` (or had been
    /// on an earlier start, and nothing was saved since).
    Quarantined { path: PathBuf, reason: String },
}

/// What the daemon does when the stored CIB was quarantined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnBadCib {
    /// Refuse to start (the default): the operator decides.
    Refuse,
    /// Start with no CIB: take the CIB of the peers when they have one,
    /// else begin empty (`warden daemon --start-empty`).
    StartEmpty,
}

impl LoadOutcome {
    /// The CIB to start from: `Ok(None)` means "no CIB of our own" (take the
    /// peers', or begin empty). A quarantined CIB is an error unless
    /// `policy` says to start without it.
    pub fn into_start(self, policy: OnBadCib) -> Result<Option<Cib>, StoreError> {
        match self {
            LoadOutcome::Loaded(cib) | LoadOutcome::Recovered { cib, .. } => Ok(Some(*cib)),
            LoadOutcome::Empty => Ok(None),
            LoadOutcome::Quarantined { .. } if policy == OnBadCib::StartEmpty => Ok(None),
            LoadOutcome::Quarantined { path, reason } => Err(StoreError::Quarantined {
                hint: quarantine_hint(&path),
                path,
                reason,
            }),
        }
    }
}

fn quarantine_hint(path: &Path) -> String {
    let dir = path.parent().unwrap_or(Path::new("."));
    format!(
        "Start the daemon with --start-empty to take the CIB from the other nodes (an empty one if none has it), or restore an archived version by hand: cp {dir}/cib-A.E.N.xml {dir}/cib.xml && rm -f {dir}/cib.xml.sig {dir}/{MARKER} (list them with: ls {dir}/cib-*.xml)",
        dir = dir.display()
    )
}

/// The state directory, locked for this process.
pub struct CibStore {
    dir: PathBuf,
    keep_versions: usize,
    /// (`admin_epoch`, `epoch`) of the newest archive copy.
    last_archived: Option<(u64, u64)>,
    _lock: nix::fcntl::Flock<File>,
}

impl std::fmt::Debug for CibStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CibStore")
            .field("dir", &self.dir)
            .field("keep_versions", &self.keep_versions)
            .finish()
    }
}

impl CibStore {
    /// Opens (creating it, mode 0750, when missing) and locks the state
    /// directory; keeps [`DEFAULT_KEEP_VERSIONS`] archive copies.
    pub fn open(dir: impl Into<PathBuf>) -> Result<CibStore, StoreError> {
        let dir = dir.into();
        if !dir.exists() {
            use std::os::unix::fs::DirBuilderExt;
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o750)
                .create(&dir)
                .map_err(io_err("cannot create the state directory", &dir))?;
        }
        let handle = File::open(&dir).map_err(io_err("cannot open the state directory", &dir))?;
        let lock = nix::fcntl::Flock::lock(handle, nix::fcntl::FlockArg::LockExclusiveNonblock)
            .map_err(|(_, errno)| match errno {
                nix::errno::Errno::EWOULDBLOCK => StoreError::Busy(dir.clone()),
                e => StoreError::Io {
                    action: "cannot lock the state directory",
                    path: dir.clone(),
                    source: e.into(),
                },
            })?;
        let mut store = CibStore {
            dir,
            keep_versions: DEFAULT_KEEP_VERSIONS,
            last_archived: None,
            _lock: lock,
        };
        store.last_archived = store
            .archived()?
            .first()
            .map(|(v, _)| (v.admin_epoch, v.epoch));
        Ok(store)
    }

    /// How many configuration versions the archive keeps (0: none), at most
    /// [`MAX_KEEP_VERSIONS`].
    pub fn set_keep_versions(&mut self, n: usize) {
        self.keep_versions = n.min(MAX_KEEP_VERSIONS);
    }

    pub fn keep_versions(&self) -> usize {
        self.keep_versions
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `DIR/cib.xml`.
    pub fn cib_path(&self) -> PathBuf {
        self.dir.join(CIB)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Reads and checks `cib.xml` (see the module header for every case).
    pub fn load(&mut self) -> Result<LoadOutcome, StoreError> {
        let marker = self.path(MARKER);
        if let Some(text) = read(&marker)? {
            let text = String::from_utf8_lossy(&text);
            let mut lines = text.lines();
            let path = PathBuf::from(lines.next().unwrap_or_default());
            let reason = lines.next().unwrap_or("an earlier start found it bad");
            tracing::error!(path = %path.display(), %reason, "the stored CIB was quarantined on an earlier start and nothing was saved since");
            return Ok(LoadOutcome::Quarantined {
                path,
                reason: reason.to_string(),
            });
        }
        let cib_path = self.cib_path();
        let sig_path = self.path(SIG);
        let bytes = read(&cib_path)?;
        let sig = read(&sig_path)?.map(|s| parse_sig(&s));
        let Some(bytes) = bytes else {
            return match sig {
                None => Ok(LoadOutcome::Empty),
                Some(_) => {
                    let reason = format!(
                        "{} is missing but its digest {} exists: the CIB was removed or lost",
                        cib_path.display(),
                        sig_path.display()
                    );
                    let aside = self.unique(&format!("{SIG}.bad-{}", unix_secs()));
                    rename(&sig_path, &aside)?;
                    self.mark(&aside, &reason)?;
                    tracing::error!(moved_to = %aside.display(), %reason, "stored CIB quarantined");
                    Ok(LoadOutcome::Quarantined {
                        path: aside,
                        reason,
                    })
                }
            };
        };
        let digest = sha256_hex(&bytes);
        match sig {
            None => {
                tracing::warn!(file = %cib_path.display(), "the CIB has no digest beside it: accepted as it is (a digest is written with the next save)");
                self.check_parse(&bytes)
            }
            Some(Some(expected)) if expected == digest => self.check_parse(&bytes),
            Some(expected) => {
                let last_path = self.path(LAST);
                let last = read(&last_path)?;
                if let (Some(exp), Some(last)) = (&expected, &last) {
                    if sha256_hex(last) == *exp {
                        return self.recover_stale(&bytes, last);
                    }
                }
                let reason = match expected {
                    Some(exp) => format!(
                        "{} does not match its digest in {} (expected {exp}, found {digest}): it was changed outside warden or damaged",
                        cib_path.display(),
                        sig_path.display()
                    ),
                    None => format!(
                        "its digest file {} is not a SHA-256 digest",
                        sig_path.display()
                    ),
                };
                self.quarantine(&bytes, reason)
            }
        }
    }

    /// Parses verified bytes; a CIB that does not parse is quarantined.
    fn check_parse(&mut self, bytes: &[u8]) -> Result<LoadOutcome, StoreError> {
        match parse(bytes, &self.cib_path()) {
            Ok(cib) => {
                tracing::info!(version = %cib.version(), file = %self.cib_path().display(), "CIB loaded");
                Ok(LoadOutcome::Loaded(Box::new(cib)))
            }
            Err(reason) => self.quarantine(bytes, reason),
        }
    }

    /// The digest belongs to `cib.xml.last`: the last save stopped before
    /// its digest was written.
    fn recover_stale(&mut self, new: &[u8], last: &[u8]) -> Result<LoadOutcome, StoreError> {
        let cib_path = self.cib_path();
        let previous = match parse(last, &self.path(LAST)) {
            Ok(c) => c,
            Err(reason) => return self.quarantine(new, reason),
        };
        let tag = version_tag(new);
        let aside = self.unique(&format!("{CIB}.unverified-{tag}"));
        rename(&cib_path, &aside)?;
        store::write_atomic(&cib_path, last).map_err(io_err("cannot write", &cib_path))?;
        tracing::warn!(
            restored = %previous.version(),
            set_aside = %aside.display(),
            "the last save of the CIB was cut before its digest was written: restored the previous version (the peers bring the newer one back)"
        );
        Ok(LoadOutcome::Recovered {
            cib: Box::new(previous),
            set_aside: aside,
        })
    }

    /// Moves `cib.xml` (and its digest) aside and remembers why.
    fn quarantine(&mut self, bytes: &[u8], reason: String) -> Result<LoadOutcome, StoreError> {
        let tag = version_tag(bytes);
        let aside = self.unique(&format!("{CIB}.bad-{tag}"));
        rename(&self.cib_path(), &aside)?;
        let sig_path = self.path(SIG);
        if sig_path.exists() {
            let mut sig_aside = aside.clone().into_os_string();
            sig_aside.push(".sig");
            rename(&sig_path, Path::new(&sig_aside))?;
        }
        self.mark(&aside, &reason)?;
        tracing::error!(moved_to = %aside.display(), %reason, "stored CIB quarantined");
        Ok(LoadOutcome::Quarantined {
            path: aside,
            reason,
        })
    }

    fn mark(&self, aside: &Path, reason: &str) -> Result<(), StoreError> {
        let marker = self.path(MARKER);
        // One line each: the reason is ours, made of paths and digests.
        let reason = reason.replace('\n', " ");
        store::write_atomic(
            &marker,
            format!("{}\n{reason}\n", aside.display()).as_bytes(),
        )
        .map_err(io_err("cannot write", &marker))
    }

    /// `DIR/name`, or `DIR/name.N` for the first N that does not exist.
    fn unique(&self, name: &str) -> PathBuf {
        let first = self.path(name);
        if !first.exists() {
            return first;
        }
        (1..)
            .map(|n| self.path(&format!("{name}.{n}")))
            .find(|p| !p.exists())
            .expect("an unused name exists")
    }

    /// Writes `cib` as the stored CIB (see the module header for the order).
    pub fn save(&mut self, cib: &Cib) -> Result<(), StoreError> {
        let text = cib::to_xml(cib);
        let version = cib.version();
        let config = (version.admin_epoch, version.epoch);
        if self.keep_versions > 0 && self.last_archived != Some(config) {
            let path = self.path(&archive_name(version));
            store::write_atomic(&path, text.as_bytes()).map_err(io_err("cannot write", &path))?;
            self.last_archived = Some(config);
            self.prune()?;
        }
        let cib_path = self.cib_path();
        let last = self.path(LAST);
        if cib_path.exists() {
            link_over(&cib_path, &last)?;
        }
        store::write_atomic(&cib_path, text.as_bytes())
            .map_err(io_err("cannot write", &cib_path))?;
        let sig_path = self.path(SIG);
        let sig = format!("{}  {CIB}\n", sha256_hex(text.as_bytes()));
        store::write_atomic(&sig_path, sig.as_bytes())
            .map_err(io_err("cannot write", &sig_path))?;
        let marker = self.path(MARKER);
        if marker.exists() {
            fs::remove_file(&marker).map_err(io_err("cannot remove", &marker))?;
            tracing::info!("a new CIB was saved: the quarantine of the old one is over");
        }
        tracing::debug!(%version, "CIB saved");
        Ok(())
    }

    /// The archive copies, newest version first.
    pub fn archived(&self) -> Result<Vec<(Version, PathBuf)>, StoreError> {
        let entries = fs::read_dir(&self.dir)
            .map_err(io_err("cannot list the state directory", &self.dir))?;
        let mut out = Vec::new();
        for e in entries {
            let e = e.map_err(io_err("cannot list the state directory", &self.dir))?;
            let name = e.file_name();
            if let Some(v) = name.to_str().and_then(parse_archive_name) {
                out.push((v, e.path()));
            }
        }
        out.sort_by_key(|(v, _)| std::cmp::Reverse(*v));
        Ok(out)
    }

    fn prune(&self) -> Result<(), StoreError> {
        for (_, path) in self.archived()?.into_iter().skip(self.keep_versions) {
            fs::remove_file(&path).map_err(io_err("cannot remove", &path))?;
        }
        Ok(())
    }
}

/// `cib-A.E.N.xml`
pub fn archive_name(v: Version) -> String {
    format!("cib-{}.{}.{}.xml", v.admin_epoch, v.epoch, v.num_updates)
}

fn parse_archive_name(name: &str) -> Option<Version> {
    let mid = name.strip_prefix("cib-")?.strip_suffix(".xml")?;
    let mut it = mid.split('.').map(|p| p.parse::<u64>().ok());
    let v = Version {
        admin_epoch: it.next()??,
        epoch: it.next()??,
        num_updates: it.next()??,
    };
    it.next().is_none().then_some(v)
}

fn read(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::Io {
            action: "cannot read",
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

fn rename(from: &Path, to: &Path) -> Result<(), StoreError> {
    fs::rename(from, to).map_err(io_err("cannot move aside", from))?;
    sync_dir_of(to)
}

fn sync_dir_of(path: &Path) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("cannot sync", dir))
}

/// Makes `to` another name of `from`'s current content, atomically (a hard
/// link under a temporary name, renamed over `to`); a copy where the file
/// system has no hard links.
fn link_over(from: &Path, to: &Path) -> Result<(), StoreError> {
    let tmp = to.with_file_name(format!(
        ".{}.tmp.{}",
        to.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = fs::remove_file(&tmp);
    match fs::hard_link(from, &tmp) {
        Ok(()) => {
            fs::rename(&tmp, to).map_err(io_err("cannot rename", &tmp))?;
            sync_dir_of(to)
        }
        Err(_) => {
            let bytes = fs::read(from).map_err(io_err("cannot read", from))?;
            store::write_atomic(to, &bytes).map_err(io_err("cannot write", to))
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The digest in a `cib.xml.sig` (`HEX` or `HEX  cib.xml`); `None` when it
/// is not 64 hex digits.
fn parse_sig(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let hex = text.split_whitespace().next()?.to_ascii_lowercase();
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

fn parse(bytes: &[u8], path: &Path) -> Result<Cib, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| format!("{} is not UTF-8 text ({e})", path.display()))?;
    let parsed = cib::parse(text, &path.display().to_string());
    if parsed.has_errors() {
        let first: Vec<String> = parsed
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .take(3)
            .map(|d| d.to_string())
            .collect();
        return Err(format!("it does not parse: {}", first.join("; ")));
    }
    Ok(parsed.cib.expect("no errors means a CIB"))
}

/// A name for a file moved aside: its version when it parses, else the
/// time.
fn version_tag(bytes: &[u8]) -> String {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|t| cib::parse(t, "cib.xml").cib)
        .map(|c| c.version().to_string())
        .unwrap_or_else(|| format!("unparsable-{}", unix_secs()))
}

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::cib::Change;

    struct Scratch(PathBuf);
    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir =
                std::env::temp_dir().join(format!("warden-cibstore-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            Scratch(dir)
        }
    }
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn cib(epoch: u64, num_updates: u64) -> Cib {
        let text = format!(
            r#"<cib admin_epoch="0" epoch="{epoch}" num_updates="{num_updates}" validate-with="pacemaker-3.9">
  <configuration>
    <crm_config/>
    <nodes><node id="1" uname="n1"/></nodes>
    <resources>
      <primitive id="d{epoch}" class="ocf" provider="pacemaker" type="Dummy"/>
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
"#
        );
        let parsed = cib::parse(&text, "test");
        assert!(!parsed.has_errors(), "{:?}", parsed.diagnostics);
        parsed.cib.unwrap()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    /// The loaded CIB as text (positions of a parse differ between texts).
    fn loaded(o: LoadOutcome) -> String {
        match o {
            LoadOutcome::Loaded(c) => cib::to_xml(&c),
            other => panic!("expected Loaded, got {other:?}"),
        }
    }

    #[test]
    fn a_new_directory_is_empty_and_a_saved_cib_reads_back() {
        let s = Scratch::new("roundtrip");
        let mut store = CibStore::open(&s.0).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&s.0).unwrap().permissions().mode() & 0o777,
            0o750
        );
        assert!(matches!(store.load().unwrap(), LoadOutcome::Empty));
        let c = cib(5, 2);
        store.save(&c).unwrap();
        assert_eq!(loaded(store.load().unwrap()), cib::to_xml(&c));
        // The digest file is what sha256sum writes.
        let sig = fs::read_to_string(s.0.join("cib.xml.sig")).unwrap();
        let bytes = fs::read(s.0.join("cib.xml")).unwrap();
        assert_eq!(sig, format!("{}  cib.xml\n", sha256_hex(&bytes)));
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // A second save keeps the first as cib.xml.last.
        let mut c2 = c.clone();
        c2.bump(Change::Status);
        store.save(&c2).unwrap();
        assert_eq!(fs::read(s.0.join("cib.xml.last")).unwrap(), bytes);
        drop(store);
        // Reopened (as after a restart): the same CIB.
        let mut store = CibStore::open(&s.0).unwrap();
        assert_eq!(loaded(store.load().unwrap()), cib::to_xml(&c2));
    }

    #[test]
    fn a_second_store_on_the_same_directory_is_refused() {
        let s = Scratch::new("busy");
        let _first = CibStore::open(&s.0).unwrap();
        match CibStore::open(&s.0) {
            Err(StoreError::Busy(d)) => assert_eq!(d, s.0),
            other => panic!("expected Busy, got {other:?}"),
        }
    }

    #[test]
    fn a_changed_file_is_moved_aside_and_stays_refused_until_a_save() {
        let s = Scratch::new("corrupt");
        let mut store = CibStore::open(&s.0).unwrap();
        store.save(&cib(7, 0)).unwrap();
        let path = s.0.join("cib.xml");
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, text.replace("d7", "d8")).unwrap();
        let (aside, reason) = match store.load().unwrap() {
            LoadOutcome::Quarantined { path, reason } => (path, reason),
            other => panic!("expected Quarantined, got {other:?}"),
        };
        assert_eq!(aside, s.0.join("cib.xml.bad-0.7.0"));
        assert!(reason.contains("does not match its digest"), "{reason}");
        assert!(reason.contains(&path.display().to_string()), "{reason}");
        // Nothing lost: the bad file and its digest are kept, nothing
        // replaced it.
        assert_eq!(
            fs::read_to_string(&aside).unwrap(),
            text.replace("d7", "d8")
        );
        assert!(s.0.join("cib.xml.bad-0.7.0.sig").exists());
        assert!(!path.exists());
        // A restart (e.g. by systemd) does not turn it into an empty start.
        drop(store);
        let mut store = CibStore::open(&s.0).unwrap();
        let again = store.load().unwrap();
        assert!(
            matches!(&again, LoadOutcome::Quarantined { path, .. } if *path == aside),
            "{again:?}"
        );
        let err = again.into_start(OnBadCib::Refuse).unwrap_err().to_string();
        assert!(
            err.contains("cib.xml.bad-0.7.0") && err.contains("--start-empty"),
            "{err}"
        );
        assert!(matches!(
            store.load().unwrap().into_start(OnBadCib::StartEmpty),
            Ok(None)
        ));
        // A save ends the quarantine.
        store.save(&cib(9, 0)).unwrap();
        assert!(loaded(store.load().unwrap()).contains(r#"epoch="9""#));
    }

    #[test]
    fn an_unparsable_file_is_moved_aside_under_a_time_stamp() {
        let s = Scratch::new("unparsable");
        let mut store = CibStore::open(&s.0).unwrap();
        fs::write(s.0.join("cib.xml"), "<cib epoch=").unwrap();
        let (aside, reason) = match store.load().unwrap() {
            LoadOutcome::Quarantined { path, reason } => (path, reason),
            other => panic!("expected Quarantined, got {other:?}"),
        };
        let name = aside.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("cib.xml.bad-unparsable-"), "{name}");
        assert!(reason.contains("does not parse"), "{reason}");
        assert_eq!(fs::read_to_string(&aside).unwrap(), "<cib epoch=");
    }

    #[test]
    fn a_missing_cib_with_a_digest_is_not_an_empty_start() {
        let s = Scratch::new("missing");
        let mut store = CibStore::open(&s.0).unwrap();
        store.save(&cib(3, 0)).unwrap();
        fs::remove_file(s.0.join("cib.xml")).unwrap();
        match store.load().unwrap() {
            LoadOutcome::Quarantined { reason, .. } => {
                assert!(reason.contains("is missing"), "{reason}")
            }
            other => panic!("expected Quarantined, got {other:?}"),
        }
    }

    #[test]
    fn a_file_without_a_digest_is_accepted() {
        let s = Scratch::new("nosig");
        let mut store = CibStore::open(&s.0).unwrap();
        let c = cib(4, 1);
        fs::write(s.0.join("cib.xml"), cib::to_xml(&c)).unwrap();
        assert_eq!(loaded(store.load().unwrap()), cib::to_xml(&c));
    }

    #[test]
    fn a_crash_between_the_cib_and_its_digest_restores_the_previous_version() {
        let s = Scratch::new("crash");
        let mut store = CibStore::open(&s.0).unwrap();
        let old = cib(10, 3);
        store.save(&old).unwrap();
        // Steps 2 and 3 of a save of the next version, then the crash: the
        // old text linked as cib.xml.last, the new text in cib.xml, the
        // digest still the old one.
        let new_text = cib::to_xml(&cib(11, 0));
        fs::hard_link(s.0.join("cib.xml"), s.0.join("cib.xml.last.tmp")).unwrap();
        fs::rename(s.0.join("cib.xml.last.tmp"), s.0.join("cib.xml.last")).unwrap();
        store::write_atomic(&s.0.join("cib.xml"), new_text.as_bytes()).unwrap();
        let (got, aside) = match store.load().unwrap() {
            LoadOutcome::Recovered { cib, set_aside } => (*cib, set_aside),
            other => panic!("expected Recovered, got {other:?}"),
        };
        assert_eq!(cib::to_xml(&got), cib::to_xml(&old));
        assert_eq!(aside, s.0.join("cib.xml.unverified-0.11.0"));
        assert_eq!(fs::read_to_string(&aside).unwrap(), new_text);
        // The directory is consistent again: the next start just loads.
        assert_eq!(loaded(store.load().unwrap()), cib::to_xml(&old));
        assert!(!s.0.join("cib.xml.quarantined").exists());
    }

    #[test]
    fn only_configuration_versions_are_archived_and_old_ones_pruned() {
        let s = Scratch::new("archive");
        let mut store = CibStore::open(&s.0).unwrap();
        store.set_keep_versions(3);
        for epoch in 1..=5 {
            for n in 0..4 {
                store.save(&cib(epoch, n)).unwrap();
            }
        }
        let kept: Vec<String> = names(&s.0)
            .into_iter()
            .filter(|n| n.starts_with("cib-"))
            .collect();
        // Status updates (num_updates 1..3) are not archived; the three
        // newest configuration versions are.
        assert_eq!(kept, ["cib-0.3.0.xml", "cib-0.4.0.xml", "cib-0.5.0.xml"]);
        assert_eq!(
            fs::read_to_string(s.0.join("cib-0.4.0.xml")).unwrap(),
            cib::to_xml(&cib(4, 0))
        );
        // Reopened, the store knows the newest archived version and does
        // not archive it twice.
        drop(store);
        let mut store = CibStore::open(&s.0).unwrap();
        store.set_keep_versions(3);
        store.save(&cib(5, 9)).unwrap();
        assert!(!s.0.join("cib-0.5.9.xml").exists());
        assert_eq!(
            store
                .archived()
                .unwrap()
                .iter()
                .map(|(v, _)| v.to_string())
                .collect::<Vec<_>>(),
            ["0.5.0", "0.4.0", "0.3.0"]
        );
    }

    #[test]
    fn archive_names() {
        let v = Version {
            admin_epoch: 1,
            epoch: 22,
            num_updates: 333,
        };
        assert_eq!(archive_name(v), "cib-1.22.333.xml");
        assert_eq!(parse_archive_name("cib-1.22.333.xml"), Some(v));
        for bad in ["cib-1.2.xml", "cib-1.2.3.4.xml", "cib-a.2.3.xml", "cib.xml"] {
            assert_eq!(parse_archive_name(bad), None, "{bad}");
        }
    }
}
