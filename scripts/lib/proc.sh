# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash disable=SC2034
#
# Process helpers: start in the background with a log, remember the PID,
# stop by PID (SIGTERM, then SIGKILL after a grace period). Never by name.

VFW_PIDS=()

# vfw_spawn LOG CMD...: start CMD in the background, output to LOG.
# Sets VFW_LAST_PID. `ip netns exec NS CMD` execs CMD, so the PID is CMD's.
vfw_spawn() {
	local log=$1
	shift
	"$@" </dev/null >"$log" 2>&1 &
	VFW_LAST_PID=$!
	VFW_PIDS+=("$VFW_LAST_PID")
}

# True while PID runs (a zombie child that we have not reaped does not count).
vfw_pid_alive() {
	local pid=$1 state
	[[ -r /proc/$pid/stat ]] || return 1
	state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
	[[ -n $state && $state != Z && $state != X ]]
}

# vfw_stop PID [GRACE_S]: SIGTERM, wait up to GRACE_S (default 10) for the
# exit, then SIGKILL. Sets VFW_STOP_RC to the exit status (128+sig when
# killed, 255 when not our child) and returns 0 if it exited by itself.
vfw_stop() {
	local pid=$1 grace=${2:-10} deadline killed=0
	VFW_STOP_RC=255
	[[ -n $pid ]] || return 0
	if vfw_pid_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		deadline=$((SECONDS + grace))
		while vfw_pid_alive "$pid" && ((SECONDS < deadline)); do
			sleep 0.1
		done
		if vfw_pid_alive "$pid"; then
			vfw_warn "PID $pid did not stop within ${grace}s of SIGTERM; sending SIGKILL"
			[[ -z ${VFW_STOP_DUMP:-} ]] || vfw_dump_threads "$pid" >"$VFW_STOP_DUMP" 2>&1 || true
			kill -KILL "$pid" 2>/dev/null || true
			killed=1
		fi
	fi
	VFW_STOP_RC=0
	wait "$pid" 2>/dev/null || VFW_STOP_RC=$?
	vfw_forget_pid "$pid"
	return "$killed"
}

# vfw_dump_threads PID: state and wait channel of each thread, and every
# thread's backtrace when gdb is installed (for hangs, before SIGKILL).
vfw_dump_threads() {
	local pid=$1 t
	for t in /proc/"$pid"/task/*; do
		printf '%s %s %s %s\n' "${t##*/}" "$(cat "$t/comm" 2>/dev/null)" \
			"$(awk '{ print $3 }' "$t/stat" 2>/dev/null)" "$(cat "$t/wchan" 2>/dev/null)"
	done
	if command -v gdb >/dev/null; then
		timeout 30 gdb -p "$pid" -batch -nx -ex 'thread apply all bt' 2>&1
	fi
}

vfw_forget_pid() {
	local p kept=()
	for p in "${VFW_PIDS[@]}"; do
		[[ $p == "$1" ]] || kept+=("$p")
	done
	VFW_PIDS=("${kept[@]}")
}

# Stop every process started with vfw_spawn, newest first.
vfw_stop_all() {
	local i
	for ((i = ${#VFW_PIDS[@]} - 1; i >= 0; i--)); do
		vfw_stop "${VFW_PIDS[i]}" 5 || true
	done
	VFW_PIDS=()
}

# vfw_wait_socket PATH PID TIMEOUT_S: wait for a Unix socket to accept a
# connection while PID is alive. Returns 1 on timeout or when PID died.
vfw_wait_socket() {
	local path=$1 pid=$2 timeout=${3:-20}
	local deadline=$((SECONDS + timeout))
	while ((SECONDS < deadline)); do
		if ! vfw_pid_alive "$pid"; then
			return 1
		fi
		if [[ -S $path ]] && "$VFW_PYTHON" - "$path" <<'PY' 2>/dev/null; then
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(1)
s.connect(sys.argv[1])
PY
			return 0
		fi
		sleep 0.2
	done
	return 1
}

# vfw_ctl_json SOCKET REQUEST_JSON: send one request line, print the reply
# line. Independent of vnetfwctl so harness problems and client problems
# are told apart.
vfw_ctl_json() {
	"$VFW_PYTHON" - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while not buf.endswith(b"\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
sys.stdout.write(buf.decode())
PY
}

# vfw_json_get JSON PATH...: print the value at a key path (dots), "" if absent.
# Example: vfw_json_get "$reply" stats.drops.route_none
vfw_json_get() {
	"$VFW_PYTHON" - "$1" "$2" <<'PY'
import json, sys
try:
    v = json.loads(sys.argv[1])
except ValueError:
    sys.exit(1)
for k in sys.argv[2].split("."):
    if isinstance(v, dict) and k in v:
        v = v[k]
    else:
        print("")
        sys.exit(0)
print(json.dumps(v) if isinstance(v, (dict, list)) else v)
PY
}

# vfw_ctl_has SOCKET WHAT: the server answers {"cmd":"show","what":WHAT}
# with ok:true. Used to probe for features (rules = ACL, nat = NAT).
vfw_ctl_has() {
	local r
	r=$(vfw_ctl_json "$1" "{\"cmd\":\"show\",\"what\":\"$2\"}" 2>/dev/null) || return 1
	[[ $(vfw_json_get "$r" ok) == True ]]
}

# vfw_rule_hits SOCKET NAME: hit counter of a security rule ("show rules"),
# 0 when the rule or the counter is unknown.
vfw_rule_hits() {
	local r
	r=$(vfw_ctl_json "$1" '{"cmd":"show","what":"rules"}' 2>/dev/null) || { echo 0; return 0; }
	"$VFW_PYTHON" - "$r" "$2" <<'PY'
import json, sys
try:
    rules = json.loads(sys.argv[1]).get("rules") or []
except ValueError:
    rules = []
for rule in rules:
    if isinstance(rule, dict) and rule.get("name") == sys.argv[2]:
        print(int(rule.get("hits", 0)))
        break
else:
    print(0)
PY
}
