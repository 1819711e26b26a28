//! The local socket between the `warden` CLI and `warden daemon`.
//!
//! Invariant: the server never carries out a request itself and never logs
//! or echoes a request's content (it may hold fence passwords). It checks
//! the frame (size, version, shape) and the peer's right, then hands the
//! request to the daemon as an [`Incoming`] with a [`ReplyHandle`]; the
//! daemon answers. The envelope is generic: the request and reply types
//! belong to the daemon and the CLI.
//!
//! # Protocol (version 1)
//!
//! A connection carries any number of request/reply exchanges, one at a
//! time. Every frame is a 4-byte big-endian length followed by that many
//! bytes of JSON. A request is `{"version":1,"id":N,"request":…}`; its reply
//! is `{"version":1,"id":N,"ok":…}` or `{"version":1,"id":N,"error":{"code":…,
//! "message":…}}`. Requests are at most [`ServerConfig::max_request_bytes`]
//! (default 64 MiB: a whole CIB with its status history fits), replies at
//! most [`ServerConfig::max_reply_bytes`] (default 256 MiB); a frame that
//! announces more is refused before it is read. A request of another
//! protocol version gets a `version_mismatch` error in a version-1 envelope,
//! which every version can read.
//!
//! # Who may do what
//!
//! The peer's uid, gid and pid come from the kernel (`SO_PEERCRED`), never
//! from the request. Root and members of the cluster group (default
//! `haclient`: the peer's gid, or the group's member list, or the user's
//! primary group) may send anything. Others may send read-only requests
//! (status) only when [`ServerConfig::read_only_for_all`] is set; the socket's
//! file mode says the same (0666 then, else 0660 owned by the group), so the
//! kernel refuses strangers before the server has to.

use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot, Semaphore};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;
pub const DEFAULT_SOCKET: &str = "/run/warden/warden.sock";
pub const DEFAULT_GROUP: &str = "haclient";
const LEN_BYTES: usize = 4;

/// Whether a request only reads, or changes something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Read,
    Write,
}

/// What the daemon's request type tells the server.
pub trait IpcRequest: Serialize + DeserializeOwned + Send + 'static {
    /// Read-only requests (status, show) may be open to everyone; anything
    /// else needs root or the cluster group.
    fn access(&self) -> Access;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestEnvelope<Q> {
    pub version: u32,
    pub id: u64,
    pub request: Q,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The client speaks another protocol version.
    VersionMismatch,
    /// The peer may not send this request.
    PermissionDenied,
    /// A frame over the size limit.
    TooLarge,
    /// Not valid JSON, or not a request this daemon knows.
    BadRequest,
    /// The daemon is shutting down, busy, or dropped the request.
    Unavailable,
    /// The daemon carried out the request and it failed.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    pub code: ErrorCode,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome<R> {
    Ok(R),
    Error(ErrorReply),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyEnvelope<R> {
    pub version: u32,
    pub id: u64,
    #[serde(flatten)]
    pub outcome: Outcome<R>,
}

/// Writes one frame: length, then bytes.
pub fn encode_frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(LEN_BYTES + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

// ---------------------------------------------------------------- server

/// How the server listens and whom it lets in.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub path: PathBuf,
    /// Members of this group (and root) may change things.
    pub group: String,
    /// Let everyone send read-only requests.
    pub read_only_for_all: bool,
    pub max_request_bytes: usize,
    pub max_reply_bytes: usize,
    /// Connections served at once; more are answered `unavailable`.
    pub max_connections: usize,
    /// A connection with no request for this long is closed.
    pub idle_timeout_ms: u64,
    /// A frame must arrive whole within this long once it started.
    pub frame_timeout_ms: u64,
    /// Requests waiting for the daemon before readers wait.
    pub queue: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            path: DEFAULT_SOCKET.into(),
            group: DEFAULT_GROUP.into(),
            read_only_for_all: false,
            max_request_bytes: 64 << 20,
            max_reply_bytes: 256 << 20,
            max_connections: 32,
            idle_timeout_ms: 300_000,
            frame_timeout_ms: 10_000,
            queue: 64,
        }
    }
}

/// Who is on the other end, as the kernel says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub uid: u32,
    pub gid: u32,
    pub pid: i32,
    /// The uid's user name, when the user database has one.
    pub user: Option<String>,
    /// Root or a member of the cluster group.
    pub privileged: bool,
}

/// A request for the daemon, with the handle to answer it.
pub struct Incoming<Q, R> {
    pub id: u64,
    pub peer: Peer,
    pub request: Q,
    pub reply: ReplyHandle<R>,
}

/// Answers one request. Dropping it unanswered tells the client
/// `unavailable`.
pub struct ReplyHandle<R> {
    tx: oneshot::Sender<Outcome<R>>,
}

impl<R> ReplyHandle<R> {
    pub fn ok(self, reply: R) {
        let _ = self.tx.send(Outcome::Ok(reply));
    }
    /// The request was carried out and failed; `message` is shown to the
    /// user as it is.
    pub fn fail(self, message: impl Into<String>) {
        let _ = self.tx.send(Outcome::Error(ErrorReply {
            code: ErrorCode::Failed,
            message: message.into(),
        }));
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("another warden daemon is already listening on {0}")]
    AlreadyRunning(PathBuf),
    #[error("{0} exists and is not a socket; not replacing it")]
    NotASocket(PathBuf),
    #[error("cannot create the socket {path}: {source}")]
    Bind { path: PathBuf, source: io::Error },
}

/// Stops the server and removes the socket file when dropped.
pub struct ServerHandle {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl ServerHandle {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The cluster group as the user database has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// Whether a peer is root or in the group: its gid is the group's, or its
/// user is listed in the group, or its user's primary group is the group.
pub fn is_privileged(
    uid: u32,
    gid: u32,
    user: Option<&str>,
    user_primary_gid: Option<u32>,
    group: Option<&GroupInfo>,
) -> bool {
    if uid == 0 {
        return true;
    }
    let Some(g) = group else { return false };
    gid == g.gid
        || user_primary_gid == Some(g.gid)
        || user.is_some_and(|u| g.members.iter().any(|m| m == u))
}

/// Whether `peer` may send a request of `access`; `Err` is the message for
/// the user.
pub fn check_access(
    peer: &Peer,
    access: Access,
    group: &str,
    read_only_for_all: bool,
) -> Result<(), String> {
    if peer.privileged || (access == Access::Read && read_only_for_all) {
        return Ok(());
    }
    let who = match &peer.user {
        Some(u) => format!("uid {} ({u})", peer.uid),
        None => format!("uid {}", peer.uid),
    };
    Err(match access {
        Access::Write => format!(
            "permission denied: {who} is neither root nor a member of group {group}, which changes need"
        ),
        Access::Read => format!(
            "permission denied: {who} is neither root nor a member of group {group}, and this daemon does not open read-only requests to others"
        ),
    })
}

fn lookup_group(name: &str) -> Option<GroupInfo> {
    let g = nix::unistd::Group::from_name(name).ok().flatten()?;
    Some(GroupInfo {
        name: g.name,
        gid: g.gid.as_raw(),
        members: g.mem,
    })
}

/// Removes a stale socket (nothing listening), refuses to touch a live one
/// or a non-socket.
fn clear_old_socket(path: &Path) -> Result<(), ServerError> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        return Err(ServerError::NotASocket(path.into()));
    }
    match StdUnixStream::connect(path) {
        Ok(_) => Err(ServerError::AlreadyRunning(path.into())),
        Err(_) => std::fs::remove_file(path).map_err(|source| ServerError::Bind {
            path: path.into(),
            source,
        }),
    }
}

/// Listens on `config.path` and hands each permitted request to the
/// returned channel. Must run inside a tokio runtime.
pub fn serve<Q, R>(
    config: ServerConfig,
) -> Result<(ServerHandle, mpsc::Receiver<Incoming<Q, R>>), ServerError>
where
    Q: IpcRequest,
    R: Serialize + Send + 'static,
{
    let path = config.path.clone();
    let bind_err = |source| ServerError::Bind {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(bind_err)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
                .map_err(bind_err)?;
        }
    }
    clear_old_socket(&path)?;
    let listener = UnixListener::bind(&path).map_err(bind_err)?;
    let group = lookup_group(&config.group);
    if group.is_none() {
        tracing::warn!(group = %config.group, "group not found: only root may change anything");
    }
    let mode = if config.read_only_for_all {
        0o666
    } else {
        if let Some(g) = &group {
            nix::unistd::chown(&path, None, Some(nix::unistd::Gid::from_raw(g.gid)))
                .map_err(|e| bind_err(e.into()))?;
        }
        0o660
    };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).map_err(bind_err)?;
    tracing::info!(path = %path.display(), group = %config.group, read_only_for_all = config.read_only_for_all, "listening for the CLI");
    let (tx, rx) = mpsc::channel(config.queue.max(1));
    let shared = Arc::new(Shared {
        limit: Semaphore::new(config.max_connections.max(1)),
        group,
        config,
    });
    let task = tokio::spawn(accept_loop(listener, shared, tx));
    Ok((ServerHandle { path, task }, rx))
}

struct Shared {
    config: ServerConfig,
    group: Option<GroupInfo>,
    limit: Semaphore,
}

async fn accept_loop<Q: IpcRequest, R: Serialize + Send + 'static>(
    listener: UnixListener,
    shared: Arc<Shared>,
    tx: mpsc::Sender<Incoming<Q, R>>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // EMFILE and friends: wait a little rather than spin.
                tracing::warn!(error = %e, "accepting a CLI connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let shared = shared.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let Ok(_permit) = shared.limit.try_acquire() else {
                let mut stream = stream;
                let _ = write_reply::<R>(
                    &mut stream,
                    0,
                    Outcome::Error(ErrorReply {
                        code: ErrorCode::Unavailable,
                        message: format!(
                            "the daemon already serves {} connections; try again",
                            shared.config.max_connections
                        ),
                    }),
                    &shared.config,
                )
                .await;
                return;
            };
            if let Err(e) = connection(stream, &shared, tx).await {
                tracing::debug!(error = %e, "CLI connection ended");
            }
        });
    }
}

/// Names the peer and decides whether it is privileged. Looks up the user
/// database (NSS, possibly remote): call on a blocking thread.
fn identify(uid: u32, gid: u32, pid: i32, group: Option<&GroupInfo>) -> Peer {
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten();
    let (name, primary) = match user {
        Some(u) => (Some(u.name), Some(u.gid.as_raw())),
        None => (None, None),
    };
    Peer {
        uid,
        gid,
        pid,
        privileged: is_privileged(uid, gid, name.as_deref(), primary, group),
        user: name,
    }
}

enum ReadFrame {
    Frame(Vec<u8>),
    Eof,
    TooLarge(usize),
}

async fn read_frame(
    stream: &mut UnixStream,
    max: usize,
    idle: Duration,
    frame: Duration,
) -> io::Result<ReadFrame> {
    let mut len = [0u8; LEN_BYTES];
    // The first byte may take as long as the client likes (up to idle).
    match tokio::time::timeout(idle, stream.read(&mut len[..1])).await {
        Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "idle connection")),
        Ok(Ok(0)) => return Ok(ReadFrame::Eof),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(e),
    }
    let rest = async {
        stream.read_exact(&mut len[1..]).await?;
        let n = u32::from_be_bytes(len) as usize;
        if n > max {
            return Ok(ReadFrame::TooLarge(n));
        }
        let mut body = Vec::new();
        (&mut *stream).take(n as u64).read_to_end(&mut body).await?;
        if body.len() != n {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a frame",
            ));
        }
        Ok(ReadFrame::Frame(body))
    };
    tokio::time::timeout(frame, rest)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "frame not completed in time"))?
}

async fn write_reply<R: Serialize>(
    stream: &mut UnixStream,
    id: u64,
    outcome: Outcome<R>,
    config: &ServerConfig,
) -> io::Result<()> {
    let env = ReplyEnvelope {
        version: PROTOCOL_VERSION,
        id,
        outcome,
    };
    let mut body = serde_json::to_vec(&env).map_err(io::Error::other)?;
    if body.len() > config.max_reply_bytes {
        body = serde_json::to_vec(&ReplyEnvelope::<()> {
            version: PROTOCOL_VERSION,
            id,
            outcome: Outcome::Error(ErrorReply {
                code: ErrorCode::TooLarge,
                message: format!(
                    "the reply has {} bytes, over the limit of {}",
                    body.len(),
                    config.max_reply_bytes
                ),
            }),
        })
        .map_err(io::Error::other)?;
    }
    stream.write_all(&encode_frame(&body)).await?;
    stream.flush().await
}

fn error<R>(code: ErrorCode, message: impl Into<String>) -> Outcome<R> {
    Outcome::Error(ErrorReply {
        code,
        message: message.into(),
    })
}

/// Checks a request frame; `Err` is the id to answer and the error.
fn parse_request<Q: IpcRequest>(body: &[u8]) -> Result<(u64, Q), (u64, ErrorCode, String)> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| (0, ErrorCode::BadRequest, format!("not JSON: {e}")))?;
    let id = value.get("id").and_then(|v| v.as_u64()).unwrap_or(0);
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
        Some(v) => {
            return Err((
                id,
                ErrorCode::VersionMismatch,
                format!(
                    "the client speaks protocol version {v}, this daemon speaks {PROTOCOL_VERSION}: use the warden binary that matches the daemon"
                ),
            ))
        }
        None => {
            return Err((
                id,
                ErrorCode::BadRequest,
                "the request has no protocol version".into(),
            ))
        }
    }
    let env: RequestEnvelope<Q> = serde_json::from_value(value)
        .map_err(|e| (id, ErrorCode::BadRequest, format!("bad request: {e}")))?;
    Ok((env.id, env.request))
}

async fn connection<Q: IpcRequest, R: Serialize + Send + 'static>(
    mut stream: UnixStream,
    shared: &Shared,
    tx: mpsc::Sender<Incoming<Q, R>>,
) -> io::Result<()> {
    let config = &shared.config;
    let cred = nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials)
        .map_err(io::Error::from)?;
    let group = shared.group.clone();
    let peer = tokio::task::spawn_blocking(move || {
        identify(cred.uid(), cred.gid(), cred.pid(), group.as_ref())
    })
    .await
    .map_err(io::Error::other)?;
    let idle = Duration::from_millis(config.idle_timeout_ms);
    let frame = Duration::from_millis(config.frame_timeout_ms);
    loop {
        let body = match read_frame(&mut stream, config.max_request_bytes, idle, frame).await? {
            ReadFrame::Eof => return Ok(()),
            ReadFrame::TooLarge(n) => {
                // The rest of the stream cannot be trusted: answer and close.
                let msg = format!(
                    "the request has {n} bytes, over the limit of {}",
                    config.max_request_bytes
                );
                write_reply::<R>(&mut stream, 0, error(ErrorCode::TooLarge, msg), config).await?;
                return Ok(());
            }
            ReadFrame::Frame(b) => b,
        };
        let (id, request) = match parse_request::<Q>(&body) {
            Ok(x) => x,
            Err((id, code, msg)) => {
                write_reply::<R>(&mut stream, id, error(code, msg), config).await?;
                continue;
            }
        };
        let access = request.access();
        if let Err(msg) = check_access(&peer, access, &config.group, config.read_only_for_all) {
            tracing::warn!(
                uid = peer.uid,
                pid = peer.pid,
                ?access,
                "refused a CLI request"
            );
            write_reply::<R>(
                &mut stream,
                id,
                error(ErrorCode::PermissionDenied, msg),
                config,
            )
            .await?;
            continue;
        }
        tracing::debug!(id, uid = peer.uid, pid = peer.pid, ?access, "CLI request");
        let (reply_tx, reply_rx) = oneshot::channel();
        let incoming = Incoming {
            id,
            peer: peer.clone(),
            request,
            reply: ReplyHandle { tx: reply_tx },
        };
        let outcome = if tx.send(incoming).await.is_err() {
            error(ErrorCode::Unavailable, "the daemon is shutting down")
        } else {
            reply_rx.await.unwrap_or_else(|_| {
                error(
                    ErrorCode::Unavailable,
                    "the daemon dropped the request without answering",
                )
            })
        };
        write_reply(&mut stream, id, outcome, config).await?;
    }
}

// ---------------------------------------------------------------- client

/// How the CLI talks to the daemon.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// For the whole exchange: connect, send, the daemon's work, reply.
    pub timeout_ms: u64,
    pub max_request_bytes: usize,
    pub max_reply_bytes: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        let server = ServerConfig::default();
        ClientOptions {
            timeout_ms: 30_000,
            max_request_bytes: server.max_request_bytes,
            max_reply_bytes: server.max_reply_bytes,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("warden is not running on this node (no socket at {0})")]
    NotRunning(PathBuf),
    #[error("warden is not running on this node (nothing listens on {0})")]
    NotListening(PathBuf),
    #[error("permission denied on {0}: run as root or as a member of the cluster group (haclient by default)")]
    SocketDenied(PathBuf),
    #[error("warden did not answer within {timeout_ms} ms ({path})")]
    Timeout { path: PathBuf, timeout_ms: u64 },
    #[error("the request has {bytes} bytes, over the limit of {limit}")]
    RequestTooLarge { bytes: usize, limit: usize },
    #[error("the daemon's reply announces {bytes} bytes, over the limit of {limit}")]
    ReplyTooLarge { bytes: usize, limit: usize },
    #[error("{message}")]
    VersionMismatch { message: String },
    #[error("{message}")]
    Refused { code: ErrorCode, message: String },
    #[error("the daemon's reply is not understood: {0}")]
    Protocol(String),
    #[error("talking to warden on {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn next_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Sends one request and waits for its reply (blocking: for the CLI).
pub fn request<Q: Serialize, R: DeserializeOwned>(
    path: &Path,
    request: &Q,
    opts: &ClientOptions,
) -> Result<R, ClientError> {
    let mut stream = connect(path)?;
    exchange(&mut stream, path, request, opts)
}

/// Opens a connection for several [`exchange`]s.
pub fn connect(path: &Path) -> Result<StdUnixStream, ClientError> {
    StdUnixStream::connect(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ClientError::NotRunning(path.into()),
        io::ErrorKind::ConnectionRefused => ClientError::NotListening(path.into()),
        io::ErrorKind::PermissionDenied => ClientError::SocketDenied(path.into()),
        _ => ClientError::Io {
            path: path.into(),
            source: e,
        },
    })
}

/// One request/reply on an open connection.
pub fn exchange<Q: Serialize, R: DeserializeOwned>(
    stream: &mut StdUnixStream,
    path: &Path,
    request: &Q,
    opts: &ClientOptions,
) -> Result<R, ClientError> {
    let id = next_id();
    let body = serde_json::to_vec(&RequestEnvelope {
        version: PROTOCOL_VERSION,
        id,
        request,
    })
    .map_err(|e| ClientError::Protocol(e.to_string()))?;
    if body.len() > opts.max_request_bytes {
        return Err(ClientError::RequestTooLarge {
            bytes: body.len(),
            limit: opts.max_request_bytes,
        });
    }
    let deadline = std::time::Instant::now() + Duration::from_millis(opts.timeout_ms.max(1));
    let io_err = |e: io::Error| {
        if matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            ClientError::Timeout {
                path: path.into(),
                timeout_ms: opts.timeout_ms,
            }
        } else {
            ClientError::Io {
                path: path.into(),
                source: e,
            }
        }
    };
    let left = || {
        deadline
            .checked_duration_since(std::time::Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(io::Error::new(io::ErrorKind::TimedOut, "deadline"))
    };
    stream
        .set_write_timeout(Some(left().map_err(io_err)?))
        .map_err(io_err)?;
    // A daemon that refuses the connection (too many clients) answers and
    // closes at once: the write may then fail while its answer waits to be
    // read, and that answer says more than "broken pipe".
    let write_failed = match stream.write_all(&encode_frame(&body)) {
        Ok(()) => None,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ) =>
        {
            Some(e)
        }
        Err(e) => return Err(io_err(e)),
    };
    // Read with the time that is left, re-armed after each partial read.
    let mut read_exact = |buf: &mut [u8]| -> Result<(), ClientError> {
        let mut at = 0;
        while at < buf.len() {
            stream
                .set_read_timeout(Some(left().map_err(io_err)?))
                .map_err(io_err)?;
            match stream.read(&mut buf[at..]) {
                Ok(0) => {
                    return Err(ClientError::Io {
                        path: path.into(),
                        source: io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the daemon closed the connection",
                        ),
                    })
                }
                Ok(n) => at += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_err(e)),
            }
        }
        Ok(())
    };
    let mut len = [0u8; LEN_BYTES];
    if let Err(e) = read_exact(&mut len) {
        return Err(write_failed.map(io_err).unwrap_or(e));
    }
    let n = u32::from_be_bytes(len) as usize;
    if n > opts.max_reply_bytes {
        return Err(ClientError::ReplyTooLarge {
            bytes: n,
            limit: opts.max_reply_bytes,
        });
    }
    let mut body = vec![0u8; n];
    read_exact(&mut body)?;
    let env: ReplyEnvelope<serde_json::Value> =
        serde_json::from_slice(&body).map_err(|e| ClientError::Protocol(e.to_string()))?;
    let refused = |e: ErrorReply| match e.code {
        ErrorCode::VersionMismatch => ClientError::VersionMismatch { message: e.message },
        code => ClientError::Refused {
            code,
            message: e.message,
        },
    };
    if env.version != PROTOCOL_VERSION {
        if let Outcome::Error(e) = env.outcome {
            return Err(refused(e));
        }
        return Err(ClientError::VersionMismatch {
            message: format!(
                "the daemon speaks protocol version {}, this client {PROTOCOL_VERSION}: use the warden binary that matches the daemon",
                env.version
            ),
        });
    }
    match env.outcome {
        Outcome::Error(e) => Err(refused(e)),
        Outcome::Ok(_) if env.id != id => Err(ClientError::Protocol(format!(
            "reply to request {} where {id} was asked",
            env.id
        ))),
        Outcome::Ok(v) => {
            serde_json::from_value(v).map_err(|e| ClientError::Protocol(e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> GroupInfo {
        GroupInfo {
            name: "haclient".into(),
            gid: 105,
            members: vec!["alice".into()],
        }
    }

    #[test]
    fn root_and_group_members_are_privileged_by_any_of_the_three_ways() {
        let g = group();
        let cases = [
            ((0, 0, None, None, None), true, "root, even with no group"),
            ((1000, 105, None, None, Some(&g)), true, "gid of the peer"),
            (
                (1000, 1000, Some("alice"), Some(1000), Some(&g)),
                true,
                "listed",
            ),
            (
                (1001, 1001, Some("bob"), Some(105), Some(&g)),
                true,
                "primary group",
            ),
            (
                (1002, 1002, Some("carol"), Some(1002), Some(&g)),
                false,
                "stranger",
            ),
            (
                (1000, 105, None, None, None),
                false,
                "the group does not exist",
            ),
        ];
        for ((uid, gid, user, primary, grp), want, why) in cases {
            assert_eq!(is_privileged(uid, gid, user, primary, grp), want, "{why}");
        }
    }

    #[test]
    fn access_messages_name_the_user_and_the_group() {
        let peer = Peer {
            uid: 1002,
            gid: 1002,
            pid: 9,
            user: Some("carol".into()),
            privileged: false,
        };
        assert_eq!(
            check_access(&peer, Access::Write, "haclient", true),
            Err("permission denied: uid 1002 (carol) is neither root nor a member of group haclient, which changes need".into())
        );
        assert_eq!(check_access(&peer, Access::Read, "haclient", true), Ok(()));
        assert!(check_access(&peer, Access::Read, "haclient", false)
            .unwrap_err()
            .contains("does not open read-only requests to others"));
        let member = Peer {
            privileged: true,
            ..peer
        };
        assert_eq!(
            check_access(&member, Access::Write, "haclient", false),
            Ok(())
        );
    }

    #[test]
    fn envelopes_have_the_documented_shape() {
        let req = serde_json::to_string(&RequestEnvelope {
            version: 1,
            id: 7,
            request: serde_json::json!({"status": {}}),
        })
        .unwrap();
        assert_eq!(req, r#"{"version":1,"id":7,"request":{"status":{}}}"#);
        let ok = serde_json::to_string(&ReplyEnvelope {
            version: 1,
            id: 7,
            outcome: Outcome::Ok("fine"),
        })
        .unwrap();
        assert_eq!(ok, r#"{"version":1,"id":7,"ok":"fine"}"#);
        let err = serde_json::to_string(&ReplyEnvelope::<()> {
            version: 1,
            id: 7,
            outcome: error(ErrorCode::PermissionDenied, "no"),
        })
        .unwrap();
        assert_eq!(
            err,
            r#"{"version":1,"id":7,"error":{"code":"permission_denied","message":"no"}}"#
        );
        assert_eq!(encode_frame(b"{}"), vec![0, 0, 0, 2, b'{', b'}']);
    }
}
