//! systemd's readiness protocol: one datagram (`READY=1`, `STOPPING=1`,
//! `STATUS=...`) to the socket named by `$NOTIFY_SOCKET`, which lets the unit
//! be `Type=notify` (units ordered after warden wait until it really
//! serves, not merely until the process exists).
//!
//! Invariant: never in the way. Without `$NOTIFY_SOCKET` (not started by
//! systemd) every call does nothing; a failure is returned for a log line,
//! never a reason to stop; nothing blocks (a datagram to a local socket).

use std::ffi::OsStr;
use std::io;
use std::os::unix::net::UnixDatagram;

/// The daemon is up: the CIB is loaded and the socket listens.
pub fn ready() -> io::Result<bool> {
    notify("READY=1")
}

/// The daemon is shutting down.
pub fn stopping() -> io::Result<bool> {
    notify("STOPPING=1")
}

/// A one-line status for `systemctl status warden`.
pub fn status(text: &str) -> io::Result<bool> {
    notify(&format!("STATUS={}", text.replace('\n', " ")))
}

/// Sends `state` (newline-separated `KEY=VALUE` lines) to systemd. `Ok(false)`
/// when not started by systemd.
pub fn notify(state: &str) -> io::Result<bool> {
    match std::env::var_os("NOTIFY_SOCKET") {
        Some(socket) if !socket.is_empty() => notify_to(&socket, state).map(|()| true),
        _ => Ok(false),
    }
}

/// Sends `state` to `socket`: a path, or `@name` for Linux's abstract
/// namespace (how systemd names it).
pub fn notify_to(socket: &OsStr, state: &str) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = socket.as_bytes();
    let sock = UnixDatagram::unbound()?;
    sock.set_nonblocking(true)?;
    let sent = if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        sock.send_to_addr(state.as_bytes(), &addr)?
    } else {
        sock.send_to(state.as_bytes(), std::path::Path::new(socket))?
    };
    if sent != state.len() {
        return Err(io::Error::other("the notification was cut short"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_reaches_a_path_socket() {
        let path = std::env::temp_dir().join(format!("warden-notify-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).unwrap();
        notify_to(path.as_os_str(), "READY=1").unwrap();
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_notification_reaches_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("warden-notify-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixDatagram::bind_addr(&addr).unwrap();
        notify_to(OsStr::new(&format!("@{name}")), "STATUS=up").unwrap();
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STATUS=up");
    }

    #[test]
    fn nobody_listening_is_an_error_not_a_panic() {
        let path = std::env::temp_dir().join("warden-notify-nobody.sock");
        assert!(notify_to(path.as_os_str(), "READY=1").is_err());
    }
}
