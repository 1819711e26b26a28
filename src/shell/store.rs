//! The CIB on disk: reading a file and replacing it atomically.
//!
//! Invariant: a reader of the file sees either the old content or the new
//! content, never a mix, a truncation or an empty file, whatever happens to
//! the process or the machine during the write. Every write goes through
//! [`write_atomic`]: a temporary file in the same directory, written and
//! fsynced, renamed over the target, then the directory fsynced so the rename
//! itself is durable. [`lock_dir_of`] serializes whole read-modify-write
//! cycles of warden processes on one directory, so that two concurrent
//! commands cannot lose each other's change. This module knows nothing
//! about what the bytes mean.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Replaces `path` with `bytes` atomically and durably.
///
/// The temporary file lives beside the target (a rename is only atomic
/// within one file system) and keeps the target's permission bits when the
/// target exists (0600 otherwise: a CIB may hold fencing passwords). On any
/// error the target is untouched and the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mode = match fs::metadata(path) {
        Ok(m) => m.permissions().mode() & 0o7777,
        Err(e) if e.kind() == io::ErrorKind::NotFound => 0o600,
        Err(e) => return Err(e),
    };
    write_atomic_mode(path, bytes, mode)
}

/// [`write_atomic`] with the given permission bits (e.g. 0400 for a key),
/// set before the rename so the file never exists with other bits.
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let (tmp_path, mut tmp) = create_temp(&dir, &name.to_string_lossy(), mode)?;
    let result = (|| {
        tmp.write_all(bytes)?;
        // The mode given at creation is filtered by the umask; set it exactly.
        tmp.set_permissions(fs::Permissions::from_mode(mode))?;
        tmp.sync_all()?;
        drop(tmp);
        fs::rename(&tmp_path, path)?;
        sync_dir(&dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp_path);
    }
    result
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Creates `.NAME.tmp.PID.N` exclusively in `dir`, trying a bounded number of
/// suffixes so that a stale temporary file from a crashed writer never
/// blocks the next write.
fn create_temp(dir: &Path, name: &str, mode: u32) -> io::Result<(PathBuf, File)> {
    const ATTEMPTS_MAX: u32 = 64;
    let pid = std::process::id();
    let mut last_err = None;
    for n in 0..ATTEMPTS_MAX {
        let candidate = dir.join(format!(".{name}.tmp.{pid}.{n}"));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&candidate)
        {
            Ok(f) => return Ok((candidate, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("no temporary file name available")))
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// An exclusive lock on a directory, released when dropped.
pub struct DirLock {
    _lock: nix::fcntl::Flock<File>,
}

/// Takes the exclusive lock of the directory holding `path` (waiting for
/// another warden process to finish its cycle). The directory itself is
/// locked, not the file: the file is replaced by a rename, so a lock on it
/// would not be seen by the next reader.
pub fn lock_dir_of(path: &Path) -> io::Result<DirLock> {
    let dir = File::open(parent_dir(path))?;
    let lock = nix::fcntl::Flock::lock(dir, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, errno)| io::Error::from(errno))?;
    Ok(DirLock { _lock: lock })
}

/// Reads a CIB file. `Ok(None)` when it does not exist (callers decide
/// whether that means "start from an empty CIB").
pub fn read_optional(path: &Path) -> io::Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("not UTF-8 text: {e}"))
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("warden-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn replaces_content_and_leaves_no_temporary_file() {
        let dir = scratch("replace");
        let f = dir.join("cib.xml");
        write_atomic(&f, b"one").unwrap();
        write_atomic(&f, b"two").unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["cib.xml".to_string()]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_given_mode_is_set_exactly() {
        let dir = scratch("given-mode");
        let f = dir.join("authkey");
        write_atomic_mode(&f, b"k", 0o400).unwrap();
        assert_eq!(
            fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o400
        );
        // Replacing a read-only file works (the rename needs the directory).
        write_atomic_mode(&f, b"k2", 0o400).unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"k2");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn keeps_permissions_and_new_files_are_private() {
        let dir = scratch("mode");
        let f = dir.join("cib.xml");
        write_atomic(&f, b"x").unwrap();
        assert_eq!(
            fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::set_permissions(&f, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&f, b"y").unwrap();
        assert_eq!(
            fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o640
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_stale_temporary_file_does_not_block_the_write() {
        let dir = scratch("stale");
        let f = dir.join("cib.xml");
        fs::write(
            dir.join(format!(".cib.xml.tmp.{}.0", std::process::id())),
            b"junk",
        )
        .unwrap();
        write_atomic(&f, b"fresh").unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"fresh");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failure_leaves_the_target_untouched() {
        let dir = scratch("fail");
        let f = dir.join("cib.xml");
        write_atomic(&f, b"keep").unwrap();
        // A directory in place of the target makes the rename fail.
        let d = dir.join("sub");
        fs::create_dir(&d).unwrap();
        fs::write(d.join("x"), b"").unwrap();
        assert!(write_atomic(&d, b"new").is_err());
        assert!(d.is_dir() && d.join("x").is_file());
        assert_eq!(fs::read(&f).unwrap(), b"keep");
        let leftovers = fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains(".tmp.")
            })
            .count();
        assert_eq!(leftovers, 0);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_directory_lock_is_exclusive() {
        let dir = scratch("lock");
        let f = dir.join("cib.xml");
        let held = lock_dir_of(&f).unwrap();
        let other = File::open(&dir).unwrap();
        let again = nix::fcntl::Flock::lock(other, nix::fcntl::FlockArg::LockExclusiveNonblock);
        assert!(again.is_err(), "a second exclusive lock was granted");
        drop(held);
        let other = File::open(&dir).unwrap();
        assert!(
            nix::fcntl::Flock::lock(other, nix::fcntl::FlockArg::LockExclusiveNonblock).is_ok()
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_file_reads_as_none() {
        let dir = scratch("missing");
        assert_eq!(read_optional(&dir.join("nope.xml")).unwrap(), None);
        fs::remove_dir_all(&dir).unwrap();
    }
}
