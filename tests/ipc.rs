//! The CLI socket: framing, size limits, protocol versions, errors a user
//! can act on, and who may do what (peer credentials; the tests that run a
//! client as another uid need root and say SKIP otherwise).

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener as StdListener, UnixStream as StdStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use warden::shell::ipc::{
    self, Access, ClientError, ClientOptions, ErrorCode, IpcRequest, ServerConfig, ServerError,
};

/// The test's request type: one read, several writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Req {
    Status,
    Set {
        key: String,
        value: String,
    },
    /// Answer with `n` bytes.
    Big {
        n: usize,
    },
    /// Carry `data` in the request.
    Blob {
        data: String,
    },
    /// Answer after `ms`.
    Slow {
        ms: u64,
    },
    /// Drop the reply handle without answering.
    Ignore,
}

impl IpcRequest for Req {
    fn access(&self) -> Access {
        match self {
            Req::Status => Access::Read,
            _ => Access::Write,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Rep {
    Status { nodes: Vec<String>, uid: u32 },
    Done { key: String },
    Bytes { data: String },
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("warden-ipc-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        // Other uids must reach the socket inside.
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        Dir(d)
    }
    fn sock(&self) -> PathBuf {
        self.0.join("run/warden.sock")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A daemon stand-in: answers requests as `Req` says.
fn start(rt: &tokio::runtime::Runtime, config: ServerConfig) -> ipc::ServerHandle {
    let _guard = rt.enter();
    let (handle, mut rx) = ipc::serve::<Req, Rep>(config).unwrap();
    rt.spawn(async move {
        while let Some(inc) = rx.recv().await {
            match inc.request {
                Req::Status => inc.reply.ok(Rep::Status {
                    nodes: vec!["n1".into(), "n2".into()],
                    uid: inc.peer.uid,
                }),
                Req::Set { key, value } if value == "fail" => {
                    inc.reply.fail(format!("cannot set {key}"))
                }
                Req::Set { key, .. } => inc.reply.ok(Rep::Done { key }),
                Req::Big { n } => inc.reply.ok(Rep::Bytes {
                    data: "x".repeat(n),
                }),
                Req::Blob { data } => inc.reply.ok(Rep::Done {
                    key: data.len().to_string(),
                }),
                Req::Slow { ms } => {
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        inc.reply.ok(Rep::Done { key: "slow".into() });
                    });
                }
                Req::Ignore => drop(inc.reply),
            }
        }
    });
    handle
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn config(path: PathBuf) -> ServerConfig {
    ServerConfig {
        path,
        // A group that exists everywhere and that no test user is in.
        group: "root".into(),
        ..ServerConfig::default()
    }
}

/// Checks "<prefix> N <suffix>" with N in `range` (frame sizes include
/// the request id, whose digits vary).
fn says(message: &str, prefix: &str, range: std::ops::Range<usize>, suffix: &str) {
    let n = message
        .strip_prefix(prefix)
        .and_then(|m| m.strip_suffix(suffix))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("{message:?} is not {prefix:?} N {suffix:?}"));
    assert!(range.contains(&n), "{message}: not in {range:?}");
}

fn ask(path: &Path, req: &Req) -> Result<Rep, ClientError> {
    ipc::request(path, req, &ClientOptions::default())
}

/// Sends raw bytes as one frame and returns the reply frame's JSON.
fn raw(path: &Path, body: &[u8]) -> Value {
    let mut s = StdStream::connect(path).unwrap();
    s.write_all(&ipc::encode_frame(body)).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut reply = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut reply).unwrap();
    serde_json::from_slice(&reply).unwrap()
}

#[test]
fn a_round_trip_and_several_exchanges_on_one_connection() {
    let rt = runtime();
    let dir = Dir::new("roundtrip");
    let server = start(&rt, config(dir.sock()));
    assert_eq!(server.path(), dir.sock());
    let uid = nix::unistd::getuid().as_raw();
    assert_eq!(
        ask(&dir.sock(), &Req::Status).unwrap(),
        Rep::Status {
            nodes: vec!["n1".into(), "n2".into()],
            uid
        }
    );
    let mut conn = ipc::connect(&dir.sock()).unwrap();
    for key in ["a", "b", "c"] {
        let rep: Rep = ipc::exchange(
            &mut conn,
            &dir.sock(),
            &Req::Set {
                key: key.into(),
                value: "1".into(),
            },
            &ClientOptions::default(),
        )
        .unwrap();
        assert_eq!(rep, Rep::Done { key: key.into() });
    }
    // The wire format, byte for byte.
    let reply = raw(
        &dir.sock(),
        br#"{"version":1,"id":42,"request":{"set":{"key":"k","value":"v"}}}"#,
    );
    assert_eq!(
        reply,
        json!({"version": 1, "id": 42, "ok": {"done": {"key": "k"}}})
    );
    // A failure the daemon reports reaches the user as it is.
    match ask(
        &dir.sock(),
        &Req::Set {
            key: "k".into(),
            value: "fail".into(),
        },
    ) {
        Err(ClientError::Refused { code, message }) => {
            assert_eq!(
                (code, message.as_str()),
                (ErrorCode::Failed, "cannot set k")
            )
        }
        other => panic!("{other:?}"),
    }
    drop(server);
    assert!(!dir.sock().exists(), "the socket goes with the server");
}

#[test]
fn bad_frames_and_other_versions_get_clear_errors() {
    let rt = runtime();
    let dir = Dir::new("bad");
    let _server = start(&rt, config(dir.sock()));
    let cases: &[(&[u8], Value)] = &[
        (
            b"{not json",
            json!({"version": 1, "id": 0, "error": {"code": "bad_request",
                "message": "not JSON: key must be a string at line 1 column 2"}}),
        ),
        (
            br#"{"id":3,"request":"status"}"#,
            json!({"version": 1, "id": 3, "error": {"code": "bad_request",
                "message": "the request has no protocol version"}}),
        ),
        (
            br#"{"version":2,"id":5,"request":"status"}"#,
            json!({"version": 1, "id": 5, "error": {"code": "version_mismatch",
                "message": "the client speaks protocol version 2, this daemon speaks 1: use the warden binary that matches the daemon"}}),
        ),
        (
            br#"{"version":1,"id":6,"request":"frobnicate"}"#,
            json!({"version": 1, "id": 6, "error": {"code": "bad_request",
                "message": "bad request: unknown variant `frobnicate`, expected one of `status`, `set`, `big`, `blob`, `slow`, `ignore`"}}),
        ),
    ];
    for (body, want) in cases {
        assert_eq!(
            &raw(&dir.sock(), body),
            want,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn a_daemon_of_another_version_is_reported_as_such() {
    let dir = Dir::new("otherversion");
    std::fs::create_dir_all(dir.sock().parent().unwrap()).unwrap();
    let listener = StdListener::bind(dir.sock()).unwrap();
    let t = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut len = [0u8; 4];
        s.read_exact(&mut len).unwrap();
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        s.read_exact(&mut body).unwrap();
        s.write_all(&ipc::encode_frame(br#"{"version":2,"id":1,"ok":{}}"#))
            .unwrap();
    });
    match ask(&dir.sock(), &Req::Status) {
        Err(e @ ClientError::VersionMismatch { .. }) => assert_eq!(
            e.to_string(),
            "the daemon speaks protocol version 2, this client 1: use the warden binary that matches the daemon"
        ),
        other => panic!("{other:?}"),
    }
    t.join().unwrap();
}

#[test]
fn requests_and_replies_over_the_limits_are_refused() {
    let rt = runtime();
    let dir = Dir::new("limits");
    let _server = start(
        &rt,
        ServerConfig {
            max_request_bytes: 1024,
            max_reply_bytes: 2048,
            ..config(dir.sock())
        },
    );
    let blob = |n: usize| Req::Blob {
        data: "y".repeat(n),
    };
    assert_eq!(
        ask(&dir.sock(), &blob(900)).unwrap(),
        Rep::Done { key: "900".into() }
    );
    // Over the server's request limit: refused before it is read.
    match ask(&dir.sock(), &blob(2000)) {
        Err(ClientError::Refused { code, message }) => {
            assert_eq!(code, ErrorCode::TooLarge);
            says(
                &message,
                "the request has ",
                2040..2080,
                " bytes, over the limit of 1024",
            );
        }
        other => panic!("{other:?}"),
    }
    // Over the client's own limit: not sent at all.
    let small = ClientOptions {
        max_request_bytes: 100,
        max_reply_bytes: 100,
        ..ClientOptions::default()
    };
    match ipc::request::<_, Rep>(&dir.sock(), &blob(200), &small) {
        Err(e @ ClientError::RequestTooLarge { .. }) => says(
            &e.to_string(),
            "the request has ",
            240..280,
            " bytes, over the limit of 100",
        ),
        other => panic!("{other:?}"),
    }
    // A reply over the server's limit becomes an error reply.
    match ask(&dir.sock(), &Req::Big { n: 3000 }) {
        Err(ClientError::Refused { code, message }) => {
            assert_eq!(code, ErrorCode::TooLarge);
            says(
                &message,
                "the reply has ",
                3030..3070,
                " bytes, over the limit of 2048",
            );
        }
        other => panic!("{other:?}"),
    }
    // A reply over the client's limit is not read.
    match ipc::request::<_, Rep>(&dir.sock(), &Req::Big { n: 500 }, &small) {
        Err(e @ ClientError::ReplyTooLarge { .. }) => says(
            &e.to_string(),
            "the daemon's reply announces ",
            530..570,
            " bytes, over the limit of 100",
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_daemon_a_stale_socket_a_slow_or_silent_daemon() {
    let dir = Dir::new("absent");
    let path = dir.sock();
    assert_eq!(
        ask(&path, &Req::Status).unwrap_err().to_string(),
        format!(
            "warden is not running on this node (no socket at {})",
            path.display()
        )
    );
    // A socket left behind by a daemon that died.
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    drop(StdListener::bind(&path).unwrap());
    assert_eq!(
        ask(&path, &Req::Status).unwrap_err().to_string(),
        format!(
            "warden is not running on this node (nothing listens on {})",
            path.display()
        )
    );
    // A new daemon replaces the stale socket, and refuses to start twice.
    let rt = runtime();
    let server = start(&rt, config(path.clone()));
    {
        let _g = rt.enter();
        match ipc::serve::<Req, Rep>(config(path.clone())) {
            Err(e @ ServerError::AlreadyRunning(_)) => assert_eq!(
                e.to_string(),
                format!(
                    "another warden daemon is already listening on {}",
                    path.display()
                )
            ),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("started twice"),
        }
    }
    let quick = ClientOptions {
        timeout_ms: 300,
        ..ClientOptions::default()
    };
    match ipc::request::<_, Rep>(&path, &Req::Slow { ms: 3000 }, &quick) {
        Err(e @ ClientError::Timeout { .. }) => assert_eq!(
            e.to_string(),
            format!("warden did not answer within 300 ms ({})", path.display())
        ),
        other => panic!("{other:?}"),
    }
    match ask(&path, &Req::Ignore) {
        Err(ClientError::Refused { code, message }) => {
            assert_eq!(code, ErrorCode::Unavailable);
            assert_eq!(message, "the daemon dropped the request without answering");
        }
        other => panic!("{other:?}"),
    }
    drop(server);
    // Never replaces something that is not a socket.
    std::fs::write(&path, b"precious").unwrap();
    let _g = rt.enter();
    assert!(matches!(
        ipc::serve::<Req, Rep>(config(path.clone())),
        Err(ServerError::NotASocket(_))
    ));
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
}

#[test]
fn stalled_frames_and_too_many_connections_are_bounded() {
    let rt = runtime();
    let dir = Dir::new("bounds");
    let _server = start(
        &rt,
        ServerConfig {
            max_connections: 1,
            frame_timeout_ms: 200,
            idle_timeout_ms: 60_000,
            ..config(dir.sock())
        },
    );
    // A client that starts a frame and stalls is cut off.
    let mut stalled = StdStream::connect(dir.sock()).unwrap();
    stalled.write_all(&[0, 0, 0, 10, b'{']).unwrap();
    stalled
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(
        stalled.read(&mut buf).unwrap(),
        0,
        "closed after the frame timeout"
    );
    drop(stalled);
    // One connection at a time: an open one holds the only place (one
    // exchange on it proves the server has taken it).
    let mut idle = ipc::connect(&dir.sock()).unwrap();
    let _: Rep = ipc::exchange(
        &mut idle,
        &dir.sock(),
        &Req::Status,
        &ClientOptions::default(),
    )
    .unwrap();
    match ask(&dir.sock(), &Req::Status) {
        Err(ClientError::Refused { code, message }) => {
            assert_eq!(code, ErrorCode::Unavailable);
            assert_eq!(
                message,
                "the daemon already serves 1 connections; try again"
            );
        }
        other => panic!("{other:?}"),
    }
    drop(idle);
    // Its place is free again once it closes.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match ask(&dir.sock(), &Req::Status) {
            Ok(_) => break,
            Err(_) if std::time::Instant::now() < deadline => {
                rt.block_on(async { tokio::time::sleep(Duration::from_millis(20)).await })
            }
            Err(e) => panic!("{e}"),
        }
    }
}

// ---------------------------------------------------- other uids (root)

const HELPER_ENV: &str = "WARDEN_IPC_HELPER";

/// Not a test: the client the credential tests run as another uid.
#[test]
#[ignore = "helper: run as another uid by the credential tests"]
fn ipc_client_helper() {
    let spec = std::env::var(HELPER_ENV).expect("run by the credential tests");
    let (path, req) = spec.split_once('\n').unwrap();
    let req: Req = serde_json::from_str(req).unwrap();
    let result = match ask(Path::new(path), &req) {
        Ok(rep) => json!({"ok": rep}),
        Err(ClientError::Refused { code, message }) => json!({"code": code, "message": message}),
        Err(e) => json!({"client_error": e.to_string()}),
    };
    println!("RESULT {result}");
}

/// A copy of this test binary that any uid may run.
fn helper_exe(dir: &Dir) -> PathBuf {
    let exe = dir.0.join("ipc-helper");
    if !exe.exists() {
        std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    exe
}

/// Runs `req` as `uid`/`gid` (no supplementary groups) and returns what
/// the client got.
fn as_user(dir: &Dir, uid: u32, gid: u32, req: &Req) -> Value {
    let out = Command::new(helper_exe(dir))
        .args(["--ignored", "--exact", "ipc_client_helper", "--nocapture"])
        .env(
            HELPER_ENV,
            format!(
                "{}\n{}",
                dir.sock().display(),
                serde_json::to_string(req).unwrap()
            ),
        )
        .uid(uid)
        .gid(gid)
        .current_dir("/")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.find("RESULT ").map(|at| &l[at + 7..]))
        .unwrap_or_else(|| {
            panic!(
                "no result from the helper: {stdout} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    serde_json::from_str(line).unwrap()
}

fn root_or_skip(test: &str) -> bool {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP {test}: needs root (runs clients as other uids)");
        return false;
    }
    true
}

/// `nobody` and a group it is not in (`daemon`).
fn users() -> Option<(u32, u32, u32)> {
    let nobody = nix::unistd::User::from_name("nobody").ok().flatten()?;
    let daemon = nix::unistd::Group::from_name("daemon").ok().flatten()?;
    Some((
        nobody.uid.as_raw(),
        nobody.gid.as_raw(),
        daemon.gid.as_raw(),
    ))
}

fn set() -> Req {
    Req::Set {
        key: "stonith-enabled".into(),
        value: "false".into(),
    }
}

#[test]
fn only_root_and_the_group_may_change_and_others_read_only_if_allowed() {
    let name = "only_root_and_the_group_may_change_and_others_read_only_if_allowed";
    if !root_or_skip(name) {
        return;
    }
    let Some((nobody, nogroup, daemon_gid)) = users() else {
        eprintln!("SKIP {name}: no user nobody or group daemon");
        return;
    };
    let rt = runtime();
    let dir = Dir::new("creds");
    let cfg = ServerConfig {
        group: "daemon".into(),
        read_only_for_all: true,
        ..config(dir.sock())
    };
    let server = start(&rt, cfg.clone());
    let mode = std::fs::metadata(dir.sock()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o666, "read-only for all: everyone may connect");

    // A stranger may read, and the daemon sees its real uid...
    assert_eq!(
        as_user(&dir, nobody, nogroup, &Req::Status),
        json!({"ok": {"status": {"nodes": ["n1", "n2"], "uid": nobody}}})
    );
    // ...but not change anything.
    assert_eq!(
        as_user(&dir, nobody, nogroup, &set()),
        json!({"code": "permission_denied", "message":
            format!("permission denied: uid {nobody} (nobody) is neither root nor a member of group daemon, which changes need")})
    );
    // The same user with the group's gid may.
    assert_eq!(
        as_user(&dir, nobody, daemon_gid, &set()),
        json!({"ok": {"done": {"key": "stonith-enabled"}}})
    );
    drop(server);

    // Without read-only access for all, the socket is the group's...
    let server = start(
        &rt,
        ServerConfig {
            read_only_for_all: false,
            ..cfg
        },
    );
    let meta = std::fs::metadata(dir.sock()).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(std::os::unix::fs::MetadataExt::gid(&meta), daemon_gid);
    // ...so the kernel turns a stranger away, with a message that says why.
    assert_eq!(
        as_user(&dir, nobody, nogroup, &Req::Status),
        json!({"client_error": format!(
            "permission denied on {}: run as root or as a member of the cluster group (haclient by default)",
            dir.sock().display())})
    );
    assert_eq!(
        as_user(&dir, nobody, daemon_gid, &Req::Status)["ok"]["status"]["uid"],
        nobody
    );
    // And if someone opens the socket's mode, the daemon still refuses.
    std::fs::set_permissions(dir.sock(), std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(
        as_user(&dir, nobody, nogroup, &Req::Status),
        json!({"code": "permission_denied", "message":
            format!("permission denied: uid {nobody} (nobody) is neither root nor a member of group daemon, and this daemon does not open read-only requests to others")})
    );
    drop(server);
}
