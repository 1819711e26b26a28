# opennebula-common.sh - shared code of the ocf:opennebula:* resource agents.
#
# Sourced by the agents, never executed: it is installed beside them in
# $OCF_ROOT/resource.d/opennebula/ with mode 0644 (cluster managers list only
# the executable files there as agents). POSIX sh only; tested with dash.
#
# Invariants:
#  * Needs nothing from resource-agents or Pacemaker ($OCF_ROOT/lib is never
#    read): the OCF codes, logging and exit reasons are defined here.
#  * A secret (the one_auth file's content) never enters a shell variable, a
#    command line, a log line or an exit reason: it flows from the file into
#    the HTTP client's stdin through a pipe.
#  * A health check never follows a proxy or a redirect and never waits longer
#    than the action's own timeout allows: the agent reports a failure with a
#    reason instead of being killed by the cluster manager.
#  * Only the process the agent started (command mode) or the named systemd
#    unit is ever stopped; nothing is killed by name.

# shellcheck disable=SC2034 # the full table, used by the agents that source it
OCF_SUCCESS=0
OCF_ERR_GENERIC=1
OCF_ERR_ARGS=2
OCF_ERR_UNIMPLEMENTED=3
OCF_ERR_PERM=4
OCF_ERR_INSTALLED=5
OCF_ERR_CONFIGURED=6
OCF_NOT_RUNNING=7

# ---------------------------------------------------------------------------
# Logging. The cluster manager records an agent's stderr with the action, so
# that is where every message goes; `ocf-exit-reason:` lines become the
# failure reason shown to users.
# ---------------------------------------------------------------------------
one_log() {
    _lvl=$1
    shift
    printf '%s: %s: %s\n' "$_lvl" "${OCF_RESOURCE_INSTANCE:-$AGENT}" "$*" >&2
}

one_exit_reason() {
    printf '%s%s\n' "${OCF_EXIT_REASON_PREFIX:-ocf-exit-reason:}" "$*" >&2
}

# one_fail RC MESSAGE: log an exit reason and return RC.
one_fail() {
    _rc=$1
    shift
    one_exit_reason "$*"
    return "$_rc"
}

# ---------------------------------------------------------------------------
# Parameters and time.
# ---------------------------------------------------------------------------

# one_param NAME DEFAULT: the value of OCF_RESKEY_NAME, or DEFAULT if unset or
# empty (an empty instance attribute means "not set").
one_param() {
    eval "_v=\${OCF_RESKEY_$1:-}"
    if [ -n "$_v" ]; then printf '%s' "$_v"; else printf '%s' "$2"; fi
}

one_is_true() {
    case "$1" in
    1 | [Tt][Rr][Uu][Ee] | [Yy][Ee][Ss] | [Yy] | [Oo][Nn]) return 0 ;;
    *) return 1 ;;
    esac
}

one_is_bool() {
    case "$1" in
    0 | 1 | [Tt][Rr][Uu][Ee] | [Ff][Aa][Ll][Ss][Ee] | [Yy][Ee][Ss] | [Nn][Oo] | [Yy] | [Nn] | [Oo][Nn] | [Oo][Ff][Ff]) return 0 ;;
    *) return 1 ;;
    esac
}

one_is_uint() {
    case "$1" in
    '' | *[!0-9]*) return 1 ;;
    *) return 0 ;;
    esac
}

one_now() { date +%s; }

one_nap() { sleep 0.2 2>/dev/null || sleep 1; }

# one_set_deadline DEFAULT_TIMEOUT_S: DEADLINE = when this action must be
# done, leaving a margin before the cluster manager's own timeout
# (OCF_RESKEY_CRM_meta_timeout, in ms) kills the agent.
one_set_deadline() {
    _ms=${OCF_RESKEY_CRM_meta_timeout:-}
    if one_is_uint "$_ms" && [ "$_ms" -ge 1000 ]; then
        _t=$((_ms / 1000))
    else
        _t=$1
    fi
    _margin=$((_t / 10))
    [ "$_margin" -lt 1 ] && _margin=1
    [ "$_margin" -gt 5 ] && _margin=5
    DEADLINE=$(($(one_now) + _t - _margin))
}

# one_time_left: seconds until DEADLINE (at least 1, so a check still runs).
one_time_left() {
    _left=$((DEADLINE - $(one_now)))
    [ "$_left" -lt 1 ] && _left=1
    echo "$_left"
}

# one_check_budget: how long one health check may wait: check_timeout, but
# never past the deadline of the action.
one_check_budget() {
    _left=$(one_time_left)
    if [ "$CHECK_TIMEOUT" -lt "$_left" ]; then echo "$CHECK_TIMEOUT"; else echo "$_left"; fi
}

one_depth() {
    _d=${OCF_CHECK_LEVEL:-0}
    one_is_uint "$_d" || _d=0
    echo "$_d"
}

# ---------------------------------------------------------------------------
# Common parameters: how the service is run, where it answers.
# Each agent sets AGENT, DEFAULT_UNIT, DEFAULT_PORT and DEFAULT_PATH first.
# ---------------------------------------------------------------------------
one_common_init() {
    INSTANCE=${OCF_RESOURCE_INSTANCE:-$AGENT}
    STATE_DIR=${HA_RSCTMP:-/run/resource-agents}
    _safe=$(printf '%s' "$INSTANCE" | tr -c 'A-Za-z0-9_.:-' '_')
    UNIT=$(one_param unit "$DEFAULT_UNIT")
    case "$UNIT" in
    *.service | *.socket | *.target) ;;
    *) UNIT=$UNIT.service ;;
    esac
    START_CMD=$(one_param start_cmd "")
    STOP_CMD=$(one_param stop_cmd "")
    PID_FILE=$(one_param pid_file "$STATE_DIR/opennebula-$AGENT-$_safe.pid")
    LOG_FILE=$(one_param log_file "$STATE_DIR/opennebula-$AGENT-$_safe.log")
    if [ -n "$START_CMD" ]; then MODE="command"; else MODE="systemd"; fi
    HOST=$(one_param host 127.0.0.1)
    PORT=$(one_param port "$DEFAULT_PORT")
    URL=$(one_param url "")
    CHECK_TIMEOUT=$(one_param check_timeout "$DEFAULT_CHECK_TIMEOUT")
    HTTP_CLIENT=$(one_param http_client auto)
    if [ -z "$URL" ]; then
        case "$HOST" in
        *:*) URL="http://[$HOST]:$PORT$DEFAULT_PATH" ;; # IPv6 literal
        *) URL="http://$HOST:$PORT$DEFAULT_PATH" ;;
        esac
    fi
}

# one_validate_params: checks of the common parameters' syntax, which hold
# on every node alike (OCF_ERR_CONFIGURED). Prints the reason.
one_validate_params() {
    if ! one_is_uint "$PORT" || [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
        one_fail $OCF_ERR_CONFIGURED "port='$PORT' is not a TCP port number (1-65535)"
        return
    fi
    [ -n "$HOST" ] || {
        one_fail $OCF_ERR_CONFIGURED "host is empty: expected an address or name, e.g. 127.0.0.1"
        return
    }
    case "$URL" in
    http://?* | https://?*) ;;
    *)
        one_fail $OCF_ERR_CONFIGURED "url='$URL' must start with http:// or https://"
        return
        ;;
    esac
    if ! one_is_uint "$CHECK_TIMEOUT" || [ "$CHECK_TIMEOUT" -lt 1 ]; then
        one_fail $OCF_ERR_CONFIGURED "check_timeout='$CHECK_TIMEOUT' must be a whole number of seconds >= 1"
        return
    fi
    case "$HTTP_CLIENT" in
    auto | curl | python3) ;;
    *)
        one_fail $OCF_ERR_CONFIGURED "http_client='$HTTP_CLIENT': expected auto, curl or python3"
        return
        ;;
    esac
    if [ "$MODE" = command ]; then
        case "$PID_FILE" in
        /*) ;;
        *)
            one_fail $OCF_ERR_CONFIGURED "pid_file='$PID_FILE' must be an absolute path"
            return
            ;;
        esac
    fi
    return $OCF_SUCCESS
}

# one_validate_common: the parameters, then what this node must have
# installed (OCF_ERR_INSTALLED). Prints the reason and returns the OCF code.
one_validate_common() {
    one_validate_params || return
    case "$HTTP_CLIENT" in
    auto)
        command -v curl >/dev/null 2>&1 || command -v python3 >/dev/null 2>&1 || {
            one_fail $OCF_ERR_INSTALLED "neither curl nor python3 is installed: one of them is needed for the health check"
            return
        }
        ;;
    *)
        command -v "$HTTP_CLIENT" >/dev/null 2>&1 || {
            one_fail $OCF_ERR_INSTALLED "http_client=$HTTP_CLIENT but $HTTP_CLIENT is not installed"
            return
        }
        ;;
    esac
    if [ "$MODE" = systemd ]; then
        command -v systemctl >/dev/null 2>&1 || {
            one_fail $OCF_ERR_INSTALLED "systemctl not found: without systemd, set start_cmd (and pid_file) to run the service directly"
            return
        }
        _load=$(systemctl show -p LoadState --value "$UNIT" 2>&1)
        case "$_load" in
        loaded) ;;
        not-found)
            one_fail $OCF_ERR_INSTALLED "systemd unit $UNIT is not installed on this node"
            return
            ;;
        *)
            one_fail $OCF_ERR_INSTALLED "cannot query systemd unit $UNIT: $(echo "$_load" | head -n 1)"
            return
            ;;
        esac
        if [ "$(systemctl is-enabled "$UNIT" 2>/dev/null)" = enabled ]; then
            one_log WARNING "systemd unit $UNIT is enabled: it starts at boot outside cluster control; run 'systemctl disable $UNIT'"
        fi
    else
        set -f
        # shellcheck disable=SC2086 # word splitting wanted: first word of the command
        set -- $START_CMD
        set +f
        [ "$1" = exec ] && shift
        command -v "$1" >/dev/null 2>&1 || {
            one_fail $OCF_ERR_INSTALLED "start_cmd: program '$1' not found on this node"
            return
        }
    fi
    return $OCF_SUCCESS
}

# ---------------------------------------------------------------------------
# The service's process: a systemd unit, or a foreground command the agent
# runs in a session of its own and tracks with pid_file.
# ---------------------------------------------------------------------------

# one_session_pids SID: the live (not zombie) processes of session SID, one
# per line. Builtins only: this runs on every monitor.
one_session_pids() {
    _sid=$1
    for _f in /proc/[0-9]*/stat; do
        read -r _line 2>/dev/null <"$_f" || continue
        # fields after the command name: state ppid pgrp session ...
        set -f
        # shellcheck disable=SC2086 # split into fields
        set -- ${_line##*) }
        set +f
        if [ "$4" = "$_sid" ] && [ "$1" != Z ] && [ "$1" != X ]; then
            _p=${_f#/proc/}
            echo "${_p%/stat}"
        fi
    done
}

# one_cmd_pid: prints the PID recorded in pid_file and returns 0 if the
# session the agent created for start_cmd (its ID is that PID) still has a
# live process. A session rather than one process: wrappers that fork (and
# services that daemonise without setsid) stay tracked, and an unrelated
# process that reuses the PID is not mistaken for the service.
one_cmd_pid() {
    [ -r "$PID_FILE" ] || return 1
    read -r _pid 2>/dev/null <"$PID_FILE" || return 1
    one_is_uint "$_pid" || return 1
    [ -n "$(one_session_pids "$_pid")" ] || return 1
    echo "$_pid"
}

# one_signal_session SIG SID: signal every process of the session, as
# systemd's default KillMode=control-group does for a unit.
one_signal_session() {
    for _p in $(one_session_pids "$2"); do
        kill "-$1" "$_p" 2>/dev/null
    done
}

# one_svc_up: 0 if the unit or the tracked process is up (including starting
# or stopping), 1 if it is down. Sets SVC_WHAT for messages.
one_svc_up() {
    if [ "$MODE" = systemd ]; then
        SVC_WHAT="unit $UNIT"
        _state=$(systemctl is-active "$UNIT" 2>/dev/null)
        SVC_STATE=${_state:-unknown}
        case "$_state" in
        active | reloading | activating | deactivating | refreshing) return 0 ;;
        *) return 1 ;;
        esac
    else
        if _p=$(one_cmd_pid); then
            SVC_WHAT="start_cmd session $_p (pid_file $PID_FILE)"
            return 0
        fi
        SVC_WHAT="start_cmd process (pid_file $PID_FILE)"
        return 1
    fi
}

# one_svc_launch: starts the unit or the command. Returns an OCF code.
one_svc_launch() {
    if [ "$MODE" = systemd ]; then
        _err=$(timeout "$(one_time_left)" systemctl start "$UNIT" 2>&1)
        _rc=$?
        if [ "$_rc" -ne 0 ]; then
            one_fail $OCF_ERR_GENERIC "systemctl start $UNIT failed (exit $_rc): $(echo "$_err" | tail -n 1); see journalctl -u $UNIT"
            return
        fi
        return $OCF_SUCCESS
    fi
    mkdir -p "$(dirname "$PID_FILE")" "$(dirname "$LOG_FILE")" || {
        one_fail $OCF_ERR_PERM "cannot create the directory of $PID_FILE or $LOG_FILE"
        return
    }
    rm -f "$PID_FILE"
    printf '%s %s: start_cmd: %s\n' "$(date '+%F %T')" "$INSTANCE" "$START_CMD" >>"$LOG_FILE" 2>/dev/null || {
        one_fail $OCF_ERR_PERM "cannot write log_file $LOG_FILE"
        return
    }
    # setsid: the service leads its own session and process group, so stop
    # can signal all of it and one_cmd_pid can recognise it. The inner sh
    # writes its own PID, which the service keeps through exec.
    (
        # shellcheck disable=SC2016 # expanded by the inner sh
        setsid sh -c 'echo $$ >"$1" && exec sh -c "$2"' opennebula-start \
            "$PID_FILE" "$START_CMD" </dev/null >>"$LOG_FILE" 2>&1 &
    )
    while [ ! -s "$PID_FILE" ] && [ "$(one_now)" -lt "$DEADLINE" ]; do one_nap; done
    [ -s "$PID_FILE" ] || {
        one_fail $OCF_ERR_GENERIC "start_cmd did not start (no PID in $PID_FILE); see $LOG_FILE"
        return
    }
    return $OCF_SUCCESS
}

# one_svc_stop: stops the unit or the command's process group. Idempotent.
one_svc_stop() {
    if [ "$MODE" = systemd ]; then
        command -v systemctl >/dev/null 2>&1 || return $OCF_SUCCESS
        _load=$(systemctl show -p LoadState --value "$UNIT" 2>/dev/null)
        [ "$_load" = not-found ] && return $OCF_SUCCESS
        _err=$(timeout "$(one_time_left)" systemctl stop "$UNIT" 2>&1)
        _rc=$?
        if one_svc_up; then
            one_fail $OCF_ERR_GENERIC "systemctl stop $UNIT failed (exit $_rc, state $SVC_STATE): $(echo "$_err" | tail -n 1)"
            return
        fi
        return $OCF_SUCCESS
    fi
    if ! _pid=$(one_cmd_pid); then
        rm -f "$PID_FILE"
        return $OCF_SUCCESS
    fi
    if [ -n "$STOP_CMD" ]; then
        MAINPID=$_pid timeout "$(one_time_left)" sh -c "$STOP_CMD" </dev/null >>"$LOG_FILE" 2>&1 ||
            one_log WARNING "stop_cmd exited with status $?; signalling session $_pid"
    else
        one_signal_session TERM "$_pid"
        # a stopped process (SIGSTOP, a debugger) holds SIGTERM pending
        # until it runs again: wake it, as systemd does, so that it exits
        # cleanly now instead of being killed at the stop timeout
        one_signal_session CONT "$_pid"
    fi
    # wait for a clean exit until shortly before the deadline, then force
    _soft=$((DEADLINE - 2))
    while one_cmd_pid >/dev/null && [ "$(one_now)" -lt "$_soft" ]; do one_nap; done
    if one_cmd_pid >/dev/null; then
        one_log WARNING "session $_pid did not exit after SIGTERM; sending SIGKILL"
        one_signal_session KILL "$_pid"
        _i=0
        while one_cmd_pid >/dev/null && [ $_i -lt 10 ]; do
            one_nap
            _i=$((_i + 1))
        done
    fi
    if one_cmd_pid >/dev/null; then
        one_fail $OCF_ERR_GENERIC "processes of session $_pid (pid_file $PID_FILE) survived SIGKILL: $(one_session_pids "$_pid" | tr '\n' ' ')"
        return
    fi
    rm -f "$PID_FILE"
    return $OCF_SUCCESS
}

# ---------------------------------------------------------------------------
# Health checks over HTTP and TCP: curl if installed (or chosen), otherwise
# python3's standard library. Each returns
#   0 answered (HTTP_STATUS holds the status code),
#   1 nothing listens (connection refused / unreachable),
#   2 no answer in time (connected, or connecting, but silent),
#   3 some other failure (PROBE_ERROR says which).
# ---------------------------------------------------------------------------
one_client() {
    case "$HTTP_CLIENT" in
    curl | python3) echo "$HTTP_CLIENT" ;;
    *) if command -v curl >/dev/null 2>&1; then echo curl; else echo python3; fi ;;
    esac
}

# Responses larger than this are cut off: a health check has no use for them.
ONE_MAX_RESPONSE_BYTES=67108864

# shellcheck disable=SC2016 # python source, not shell
ONE_PY_HTTP='
import http.client, socket, ssl, sys, urllib.parse
method, url, timeout, out, limit = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
u = urllib.parse.urlsplit(url)
path = (u.path or "/") + ("?" + u.query if u.query else "")
try:
    if u.scheme == "https":
        c = http.client.HTTPSConnection(u.hostname, u.port or 443, timeout=timeout,
                                        context=ssl._create_unverified_context())
    else:
        c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    body = sys.stdin.buffer.read() if method == "POST" else None
    headers = {"Content-Type": "text/xml"} if body is not None else {}
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read(limit)
    if out != "-":
        with open(out, "wb") as f:
            f.write(data)
    print(r.status)
except (ConnectionRefusedError, OSError) as e:
    if isinstance(e, (socket.timeout, TimeoutError)):
        sys.exit(2)
    if isinstance(e, (ConnectionRefusedError,)) or getattr(e, "errno", None) in (101, 111, 113):
        sys.exit(1)
    print(type(e).__name__ + ": " + str(e), file=sys.stderr)
    sys.exit(3)
except Exception as e:
    print(type(e).__name__ + ": " + str(e), file=sys.stderr)
    sys.exit(3)
'

# shellcheck disable=SC2016 # python source, not shell
ONE_PY_TCP='
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()
except (socket.timeout, TimeoutError):
    sys.exit(2)
except ConnectionRefusedError:
    sys.exit(1)
except OSError as e:
    if e.errno in (101, 111, 113):
        sys.exit(1)
    print(type(e).__name__ + ": " + str(e), file=sys.stderr)
    sys.exit(3)
'

# one_http METHOD URL TIMEOUT OUTFILE: one HTTP request; for POST the body
# comes from stdin (so no secret is ever on a command line).
one_http() {
    HTTP_STATUS=000
    PROBE_ERROR=
    _errf=${TMP_DIR:-/tmp}/.err.$$
    if [ "$(one_client)" = curl ]; then
        if [ "$1" = POST ]; then
            HTTP_STATUS=$(curl -sS -k --noproxy '*' -X POST -H 'Content-Type: text/xml' \
                --data-binary @- --connect-timeout "$3" --max-time "$3" \
                --max-filesize $ONE_MAX_RESPONSE_BYTES -o "$4" -w '%{http_code}' "$2" 2>"$_errf")
        else
            HTTP_STATUS=$(curl -sS -k --noproxy '*' --connect-timeout "$3" --max-time "$3" \
                --max-filesize $ONE_MAX_RESPONSE_BYTES -o "$4" -w '%{http_code}' "$2" </dev/null 2>"$_errf")
        fi
        _rc=$?
        PROBE_ERROR=$(head -c 300 "$_errf" 2>/dev/null | tr '\n' ' ')
        rm -f "$_errf"
        case $_rc in
        0) return 0 ;;
        7) return 1 ;;
        28) return 2 ;;
        *) return 3 ;;
        esac
    fi
    if [ "$1" = POST ]; then
        HTTP_STATUS=$(timeout -k 1 $(($3 + 1)) python3 -c "$ONE_PY_HTTP" POST "$2" "$3" "$4" \
            $ONE_MAX_RESPONSE_BYTES 2>"$_errf")
    else
        HTTP_STATUS=$(timeout -k 1 $(($3 + 1)) python3 -c "$ONE_PY_HTTP" GET "$2" "$3" "$4" \
            $ONE_MAX_RESPONSE_BYTES </dev/null 2>"$_errf")
    fi
    _rc=$?
    PROBE_ERROR=$(head -c 300 "$_errf" 2>/dev/null | tr '\n' ' ')
    rm -f "$_errf"
    case $_rc in
    0) return 0 ;;
    1) return 1 ;;
    2 | 124 | 137) return 2 ;;
    *) return 3 ;;
    esac
}

# one_tcp HOST PORT TIMEOUT: does anything accept a TCP connection? Uses
# python3: the TCP-checked service (noVNC's websockify) is a python3 program,
# so python3 is there wherever the check is needed.
one_tcp() {
    PROBE_ERROR=
    _errf=${TMP_DIR:-/tmp}/.err.$$
    timeout -k 1 $(($3 + 1)) python3 -c "$ONE_PY_TCP" "$1" "$2" "$3" </dev/null 2>"$_errf"
    _rc=$?
    PROBE_ERROR=$(head -c 300 "$_errf" 2>/dev/null | tr '\n' ' ')
    rm -f "$_errf"
    case $_rc in
    0 | 1 | 2) return "$_rc" ;;
    124 | 137) return 2 ;;
    *) return 3 ;;
    esac
}

# one_describe_probe_failure RC WHERE: a sentence for an exit reason.
one_describe_probe_failure() {
    case $1 in
    1) echo "nothing accepts connections on $2" ;;
    2) echo "no answer from $2 within ${3}s" ;;
    *) echo "request to $2 failed: ${PROBE_ERROR:-unknown error}" ;;
    esac
}

# one_tmpdir: a private directory for response bodies (they may hold VM
# templates), removed when the agent exits.
one_tmpdir() {
    TMP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/opennebula-$AGENT.XXXXXX") || {
        one_exit_reason "cannot create a temporary directory in ${TMPDIR:-/tmp}"
        exit $OCF_ERR_GENERIC
    }
    trap 'rm -rf "$TMP_DIR"' EXIT
    trap 'rm -rf "$TMP_DIR"; exit 1' HUP INT TERM
}

# ---------------------------------------------------------------------------
# Meta-data pieces (ra-api-1.dtd and OCF 1.1's RelaxNG schema both accept
# them: content types string, integer and boolean only).
# ---------------------------------------------------------------------------

# one_meta_param NAME TYPE DEFAULT SHORTDESC LONGDESC [REQUIRED]
one_meta_param() {
    cat <<EOF
<parameter name="$1" unique="0" required="${6:-0}">
<longdesc lang="en">$5</longdesc>
<shortdesc lang="en">$4</shortdesc>
<content type="$2" default="$3" />
</parameter>
EOF
}

one_meta_common_params() {
    one_meta_param unit string "$DEFAULT_UNIT" "systemd unit" \
        "The systemd unit that runs the service (default mode). The agent starts and stops it with systemctl; the unit must be disabled ('systemctl disable') so that only the cluster starts it. Ignored when start_cmd is set."
    one_meta_param start_cmd string "" "Command that runs the service (no systemd)" \
        "For systems without systemd: a command that runs the service in the foreground, like the ExecStart of a Type=simple unit (for example '/usr/bin/oned -f'; add 'runuser -u oneadmin --' to drop root). The agent runs it with sh -c in a session of its own, records its PID in pid_file and sends its output to log_file. Setting it selects command mode; unit is then ignored."
    one_meta_param stop_cmd string "" "Command that stops the service (command mode)" \
        "Command mode only: run with sh -c to stop the service, with the service's PID in \$MAINPID. Whatever it does, the agent then waits for the process to exit and sends SIGKILL to its process group when the stop timeout is near. Default: SIGTERM to the process group."
    one_meta_param pid_file string "\${HA_RSCTMP}/opennebula-$AGENT-\${OCF_RESOURCE_INSTANCE}.pid" "PID file (command mode)" \
        "Command mode only: where the agent records the PID of start_cmd. Absolute path. HA_RSCTMP defaults to /run/resource-agents."
    one_meta_param log_file string "\${HA_RSCTMP}/opennebula-$AGENT-\${OCF_RESOURCE_INSTANCE}.log" "Output of start_cmd (command mode)" \
        "Command mode only: file that receives the standard output and error of start_cmd and stop_cmd (appended)."
    one_meta_param host string 127.0.0.1 "Address the health check connects to" \
        "Address or name where the service answers on this node. Keep the loopback address unless the service listens elsewhere: a floating address could be answered by another node."
    one_meta_param port integer "$DEFAULT_PORT" "TCP port of the service" \
        "TCP port the health check connects to."
}

one_meta_tail_params() {
    one_meta_param check_timeout integer "$DEFAULT_CHECK_TIMEOUT" "Seconds a health check waits for an answer" \
        "How long one health check waits for the service to answer. A service whose process is up but that does not answer in time has failed (OCF_ERR_GENERIC with an exit reason). The check never waits past the action's own timeout."
    one_meta_param http_client string auto "HTTP client: auto, curl or python3" \
        "Which program performs the health checks: curl, python3 (standard library only), or auto (curl if installed, otherwise python3). One of them must be installed."
}

one_usage() {
    echo "usage: $0 {start|stop|monitor|status|validate-all|meta-data|usage}"
}

# one_dispatch ACTION: maps the OCF action to the agent's functions
# (agent_start, agent_stop, agent_monitor, agent_validate, agent_meta_data).
one_dispatch() {
    case "${1:-}" in
    meta-data)
        agent_meta_data
        exit $OCF_SUCCESS
        ;;
    usage | help)
        one_usage
        exit $OCF_SUCCESS
        ;;
    start | stop | monitor | status | validate-all) ;;
    *)
        one_usage >&2
        exit $OCF_ERR_UNIMPLEMENTED
        ;;
    esac
    one_tmpdir
    case "$1" in
    start)
        one_set_deadline "$DEFAULT_START_TIMEOUT"
        agent_start
        ;;
    stop)
        one_set_deadline "$DEFAULT_STOP_TIMEOUT"
        agent_stop
        ;;
    monitor | status)
        one_set_deadline "$DEFAULT_MONITOR_TIMEOUT"
        agent_monitor
        ;;
    validate-all)
        one_set_deadline 30
        agent_validate
        ;;
    esac
}

# ---------------------------------------------------------------------------
# The web services (sunstone, fireedge, flow, gate, novnc): one
# implementation; each agent file only sets its defaults:
#   AGENT DEFAULT_UNIT DEFAULT_PORT DEFAULT_PATH DEFAULT_CHECK SERVICE_TITLE
#   SERVICE_LONGDESC
# ---------------------------------------------------------------------------

web_init() {
    one_common_init
    CHECK=$(one_param check "$DEFAULT_CHECK")
}

web_validate_params() {
    one_validate_params || return
    case "$CHECK" in
    http | tcp) ;;
    *)
        one_fail $OCF_ERR_CONFIGURED "check='$CHECK': expected http or tcp"
        return
        ;;
    esac
    return $OCF_SUCCESS
}

agent_validate() {
    web_init
    web_validate_params || return
    one_validate_common || return
    if [ "$CHECK" = tcp ] && ! command -v python3 >/dev/null 2>&1; then
        one_fail $OCF_ERR_INSTALLED "check=tcp needs python3, which is not installed"
        return
    fi
    return $OCF_SUCCESS
}

# web_check TIMEOUT: one health check; 0 if the service answers (at depth 10
# an HTTP answer must not be a server error). Sets WEB_PROBLEM otherwise.
web_check() {
    WEB_PROBLEM=
    if [ "$CHECK" = tcp ]; then
        one_tcp "$HOST" "$PORT" "$1"
        _rc=$?
        [ $_rc = 0 ] && return 0
        WEB_PROBLEM=$(one_describe_probe_failure $_rc "$HOST:$PORT" "$1")
        return $_rc
    fi
    one_http GET "$URL" "$1" /dev/null
    _rc=$?
    if [ $_rc != 0 ]; then
        WEB_PROBLEM=$(one_describe_probe_failure $_rc "$URL" "$1")
        return $_rc
    fi
    case "$HTTP_STATUS" in
    [1-5][0-9][0-9]) ;;
    *)
        WEB_PROBLEM="$URL did not answer with an HTTP status line"
        return 3
        ;;
    esac
    if [ "$(one_depth)" -ge 10 ]; then
        case "$HTTP_STATUS" in
        5*)
            WEB_PROBLEM="$URL answers HTTP $HTTP_STATUS (server error)"
            return 3
            ;;
        esac
    fi
    return 0
}

web_where() {
    if [ "$CHECK" = tcp ]; then echo "$HOST:$PORT"; else echo "$URL"; fi
}

agent_monitor() {
    web_init
    # a stopped service is "not running" whatever the configuration says:
    # probes must never fail on a node where it is not running
    one_svc_up || return $OCF_NOT_RUNNING
    web_validate_params || return
    if web_check "$(one_check_budget)"; then
        return $OCF_SUCCESS
    fi
    one_fail $OCF_ERR_GENERIC "$SVC_WHAT is up but $WEB_PROBLEM"
}

agent_start() {
    agent_validate || return
    _how="is up"
    if one_svc_up; then
        if web_check "$(one_check_budget)"; then
            one_log INFO "already running and answering on $(web_where)"
            return $OCF_SUCCESS
        fi
    else
        # an answer while the service is down comes from another instance
        # outside cluster control: starting ours would fail or fight it
        if web_check 2; then
            one_fail $OCF_ERR_GENERIC "$(web_where) answers although $SVC_WHAT is not running: another instance outside cluster control?"
            return
        fi
        one_svc_launch || return
        _how="started"
    fi
    while :; do
        if ! one_svc_up; then
            if [ "$MODE" = command ]; then
                one_fail $OCF_ERR_GENERIC "start_cmd exited during start; see $LOG_FILE"
            else
                one_fail $OCF_ERR_GENERIC "$SVC_WHAT stopped during start (state $SVC_STATE); see journalctl -u $UNIT"
            fi
            return
        fi
        web_check "$(one_check_budget)" && break
        if [ "$(one_now)" -ge "$DEADLINE" ]; then
            one_fail $OCF_ERR_GENERIC "$SVC_WHAT $_how but does not answer: $WEB_PROBLEM"
            return
        fi
        one_nap
    done
    one_log INFO "started; answers on $(web_where)"
    return $OCF_SUCCESS
}

agent_stop() {
    web_init
    one_svc_stop
}

agent_meta_data() {
    if [ "$DEFAULT_CHECK" = tcp ]; then
        _how="by default a TCP connection to port $DEFAULT_PORT (check=tcp)"
    else
        _how="by default an HTTP GET of http://127.0.0.1:$DEFAULT_PORT$DEFAULT_PATH, where any HTTP status line counts as an answer (check=http)"
    fi
    cat <<EOF
<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="$AGENT" version="1.0">
<version>1.1</version>
<longdesc lang="en">$SERVICE_LONGDESC

Runs the service through its systemd unit ($DEFAULT_UNIT), or, on systems without systemd, through start_cmd. The monitor checks that the unit or process is up and that the service answers: $_how. A service whose process is up but which does not answer within check_timeout has failed. With OCF_CHECK_LEVEL=10 an HTTP answer must also not be a server error (5xx).

Needs curl or python3 for the HTTP check and python3 for the TCP check. The shared file opennebula-common.sh must be installed beside the agent.</longdesc>
<shortdesc lang="en">$SERVICE_TITLE</shortdesc>
<parameters>
EOF
    one_meta_common_params
    one_meta_param url string "" "URL the HTTP check fetches" \
        "Full URL for the HTTP health check (http:// or https://; certificates are not verified). Default: http://HOST:PORT$DEFAULT_PATH."
    one_meta_param check string "$DEFAULT_CHECK" "Health check: http or tcp" \
        "http: GET the URL; any HTTP status line proves the service answers. tcp: a TCP connection to host:port is enough."
    one_meta_tail_params
    cat <<EOF
</parameters>
<actions>
<action name="start" timeout="${DEFAULT_START_TIMEOUT}s" />
<action name="stop" timeout="${DEFAULT_STOP_TIMEOUT}s" />
<action name="monitor" timeout="${DEFAULT_MONITOR_TIMEOUT}s" interval="20s" depth="0" />
<action name="monitor" timeout="${DEFAULT_MONITOR_TIMEOUT}s" interval="60s" depth="10" />
<action name="validate-all" timeout="30s" />
<action name="meta-data" timeout="5s" />
</actions>
</resource-agent>
EOF
}

# one_web_main ACTION: the entry point of the web service agents.
one_web_main() {
    DEFAULT_CHECK_TIMEOUT=10
    DEFAULT_START_TIMEOUT=60
    DEFAULT_STOP_TIMEOUT=60
    DEFAULT_MONITOR_TIMEOUT=20
    one_dispatch "$@"
}
