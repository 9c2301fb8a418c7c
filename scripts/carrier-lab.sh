#!/usr/bin/env bash
# A carrier lab on one machine: O2 UK's header enrichment of January 2012, reproduced.
#
#   sudo scripts/carrier-lab.sh up       build it and print what to try
#   sudo scripts/carrier-lab.sh status   what is running
#   sudo scripts/carrier-lab.sh down     remove everything (idempotent; also after a failed up)
#
# Three network namespaces joined by two veth pairs:
#
#   PREFIX-phone  192.0.2.2/24 ── 192.0.2.1/24  PREFIX-carrier  198.51.100.1/24 ── 198.51.100.2/24  PREFIX-server
#                 (PREFIX-ph)      (PREFIX-cp)                  (PREFIX-cs)         (PREFIX-sv)
#
# (RFC 5737 documentation ranges; the traffic never leaves the namespaces, so
# several labs with different prefixes can run side by side.) The carrier routes
# between them and runs squid as a transparent intercepting proxy: an iptables
# nat PREROUTING REDIRECT sends the phone's TCP port 80 to squid's
# `http_port 3129 intercept`, which adds one header and strips another. Port 8080
# is routed untouched: the clean control. The server runs `headerwatch reflect`
# on both ports.
#
# Settings (environment; sudo resets it, so give them after sudo:
# `sudo HW_LAB_PREFIX=lab2 scripts/carrier-lab.sh up`, and the same prefix to status and down):
#   HW_LAB_PREFIX        name prefix of namespaces and interfaces (default hwlab; [a-z0-9]{1,9})
#   HW_LAB_INJECT_NAME   header squid adds            (default x-up-calling-line-id)
#   HW_LAB_INJECT_VALUE  its value                    (default 447700900123, Ofcom's drama range)
#   HW_LAB_STRIP         request header squid removes (default Accept-Language; empty: none)
#   HW_LAB_VIA           on|off: squid's own Via header (default off)
#   HW_LAB_XFF           squid's forwarded_for: on|off|transparent|delete|truncate (default delete)
#   HEADERWATCH          the headerwatch command (default: on PATH, else this checkout's .venv)
#   HW_LAB_STATE         state directory (default /run/headerwatch-lab/PREFIX; root's alone)
#   HW_LAB_KEEP_FAILED   if set, a failed up leaves what it built (for debugging; then: down)
#
# Via is off and X-Forwarded-For deleted by default so that the configured header is
# the only one added (squid's forwarded_for off still sends "X-Forwarded-For:
# unknown"); turn them on to see what a stock squid adds as well.
set -euo pipefail
# What the lab writes (the reflectors' records, squid's config, lab.env) holds the
# phone number: every file is its owner's alone, as headerwatch's own records are.
umask 077

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")

prefix=${HW_LAB_PREFIX:-hwlab}
inject_name=${HW_LAB_INJECT_NAME:-x-up-calling-line-id}
inject_value=${HW_LAB_INJECT_VALUE:-447700900123}
strip=${HW_LAB_STRIP-Accept-Language}
via=${HW_LAB_VIA:-off}
xff=${HW_LAB_XFF:-delete}
labs_dir=/run/headerwatch-lab
state=${HW_LAB_STATE:-$labs_dir/$prefix}

if [[ ! $prefix =~ ^[a-z0-9]{1,9}$ ]]; then
  echo "carrier-lab: HW_LAB_PREFIX must be 1-9 of [a-z0-9] (interface names are at most 15 bytes): $prefix" >&2
  exit 2
fi
if [[ ! $inject_name =~ ^[A-Za-z0-9-]+$ ]] || [[ -n $strip && ! $strip =~ ^[A-Za-z0-9-]+$ ]]; then
  echo "carrier-lab: header names are letters, digits and '-'" >&2
  exit 2
fi
if [[ $inject_value == *'"'* || $inject_value == *'%'* ]]; then
  echo "carrier-lab: HW_LAB_INJECT_VALUE may not contain '\"' or '%' (squid logformat)" >&2
  exit 2
fi

phone_ns=$prefix-phone carrier_ns=$prefix-carrier server_ns=$prefix-server
phone_if=$prefix-ph carrier_phone_if=$prefix-cp carrier_server_if=$prefix-cs server_if=$prefix-sv
phone_ip=192.0.2.2 carrier_phone_ip=192.0.2.1
carrier_server_ip=198.51.100.1 server_ip=198.51.100.2
lab_net=192.0.2.0/24
squid_port=3129
# squid will not run as root: it works as this user, in a directory of its own.
squid_user=proxy
id -u "$squid_user" >/dev/null 2>&1 || squid_user=nobody

say() { printf 'carrier-lab: %s\n' "$*" >&2; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

# The command that runs ACTION on this lab, to print for the user to type: sudo
# (when this ran through sudo or without root) with the settings on its command
# line, since sudo resets the environment. down and status need only where the lab
# is; up needs every setting given.
lab_command() {
  local action=$1 var words=() vars=(HW_LAB_PREFIX HW_LAB_STATE)
  if [[ -n ${SUDO_USER:-} || $EUID -ne 0 ]]; then
    words+=(sudo)
  fi
  if [[ $action == up ]]; then
    vars=(HEADERWATCH HW_LAB_PREFIX HW_LAB_STATE HW_LAB_INJECT_NAME HW_LAB_INJECT_VALUE
          HW_LAB_STRIP HW_LAB_VIA HW_LAB_XFF HW_LAB_KEEP_FAILED)
  fi
  for var in "${vars[@]}"; do
    if [[ -n ${!var+set} ]]; then
      words+=("$var=$(printf '%q' "${!var}")")
    fi
  done
  words+=("$(printf '%q' "$0")" "$action")
  printf '%s\n' "${words[*]}"
}

# Prefixes of the labs whose carrier namespace exists (to name them when asked about another).
labs_up() {
  ip netns list | awk '{print $1}' | sed -n 's/^\([a-z0-9]\{1,9\}\)-carrier$/\1/p' | paste -sd' ' -
}

need_root() {
  if [[ $EUID -ne 0 ]]; then
    say "needs root (network namespaces, iptables, squid): $(lab_command "$1")"
    exit 2
  fi
}

headerwatch_cmd() {
  if [[ -n ${HEADERWATCH:-} ]]; then
    printf '%s\n' "$HEADERWATCH"
  elif command -v headerwatch >/dev/null; then
    command -v headerwatch
  elif [[ -x $repo/.venv/bin/headerwatch ]]; then
    printf '%s\n' "$repo/.venv/bin/headerwatch"
  else
    return 1
  fi
}

# Wait until something listens on TCP port $2 in namespace $1 (up to ~10 s), or
# until the process of pid file $3 has died.
wait_listen() {
  local ns=$1 port=$2 pidfile=$3 i
  for ((i = 0; i < 100; i++)); do
    if in_ns "$ns" ss -Hltn "sport = :$port" | grep -q .; then
      return 0
    fi
    kill -0 "$(cat "$pidfile")" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# Start "$@" in namespace $1 in the background, its own session, output to $2.{out,err}.
start_bg() {
  local ns=$1 base=$2; shift 2
  # 9>&-: up's copy of its stderr (on_up_exit's) stays with up, not with what it starts.
  setsid ip netns exec "$ns" "$@" </dev/null >"$base.out" 2>"$base.err" 9>&- &
  echo $! >"$base.pid"
}

write_squid_conf() {
  local dir=$1
  cat >"$dir/squid.conf" <<EOF
# squid for the headerwatch carrier lab ($prefix): a transparent intercepting proxy, no cache.
# The phone's TCP port 80 reaches this port through an iptables REDIRECT; squid
# reads the original destination from netfilter (SO_ORIGINAL_DST) and forwards
# there. Requests go to an IP literal, so the Host header matches that
# destination and squid's Host verification (always on for intercepted traffic)
# passes.
http_port $squid_port intercept
# squid wants one ordinary forward-proxy port besides the intercepting one.
http_port 127.0.0.1:3128

acl lab_phone src $lab_net
http_access allow lab_phone
http_access deny all

# The enrichment: what the carrier adds and strips.
request_header_add $inject_name "$inject_value" all
EOF
  if [[ -n $strip ]]; then
    echo "request_header_access $strip deny all" >>"$dir/squid.conf"
  fi
  cat >>"$dir/squid.conf" <<EOF

via $via
forwarded_for $xff

# A proxy, not a cache; everything private to this lab's directory, its files squid's alone.
cache_effective_user $squid_user
umask 077
cache deny all
cache_mem 8 MB
visible_hostname carrier.$prefix.lab
pid_filename $dir/instance.pid
cache_log $dir/cache.log
access_log stdio:$dir/access.log
coredump_dir $dir
netdb_filename none
pinger_enable off
logfile_rotate 0
shutdown_lifetime 0 seconds
dns_nameservers 127.0.0.1
EOF
}

# An up that stops half-way (an error, Ctrl-C) removes what it built, unless
# HW_LAB_KEEP_FAILED is set (to read squid's logs); `down` removes it later.
on_up_exit() {
  local rc=$?
  if ((rc)); then
    if [[ -n ${HW_LAB_KEEP_FAILED:-} ]]; then
      say "up failed (status $rc); left as it is (HW_LAB_KEEP_FAILED); remove it with: $(lab_command down)" 2>&9
    else
      say "up failed (status $rc); cleaning up" 2>&9
      cmd_down >/dev/null 2>&1 || true
    fi
  fi
}

cmd_up() {
  local missing=() tool
  for tool in ip iptables squid ss setsid; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  if ((${#missing[@]})); then
    say "missing: ${missing[*]} (Debian: apt-get install iproute2 iptables squid)"
    exit 2
  fi
  local hw
  if ! hw=$(headerwatch_cmd); then
    say "no headerwatch found; name it: $(HEADERWATCH=/path/to/venv/bin/headerwatch lab_command up)"
    exit 2
  fi
  if ns_exists "$phone_ns" || ns_exists "$carrier_ns" || ns_exists "$server_ns" || [[ -e $state ]]; then
    say "lab '$prefix' is already (partly) up; first run: $(lab_command down)"
    exit 1
  fi

  # From here on, a failure tears down whatever was built. So does Ctrl-C, SIGTERM or
  # SIGHUP: bash runs the EXIT trap for them too, but with status 0, which reads as
  # success; exiting with the signal's status is what on_up_exit can tell.
  # A signal's trap runs where the command it cut short left stderr (a step's
  # 2>/dev/null): on_up_exit speaks on fd 9, the stderr up was started with.
  exec 9>&2
  trap on_up_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP

  # The directory above holds labs' directories only; it is made if missing and left
  # as it is (it may be shared, like /tmp). The lab's own is new (not one planted
  # there meanwhile) and root's; squid's group may pass through it to squid's directory.
  (umask 022 && mkdir -p -- "$(dirname "$state")")
  mkdir -m 0710 -- "$state"
  chgrp -- "$(id -gn "$squid_user")" "$state"
  printf '%s\n' "$hw" >"$state/headerwatch"

  local ns
  for ns in "$phone_ns" "$carrier_ns" "$server_ns"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  ip link add name "$phone_if" netns "$phone_ns" type veth peer name "$carrier_phone_if" netns "$carrier_ns"
  ip link add name "$carrier_server_if" netns "$carrier_ns" type veth peer name "$server_if" netns "$server_ns"

  local spec ifname addr
  for spec in "$phone_ns $phone_if $phone_ip" "$carrier_ns $carrier_phone_if $carrier_phone_ip" \
              "$carrier_ns $carrier_server_if $carrier_server_ip" "$server_ns $server_if $server_ip"; do
    read -r ns ifname addr <<<"$spec"
    # IPv4 only: no router solicitations or DAD on the wire being watched.
    in_ns "$ns" sh -c "echo 1 > /proc/sys/net/ipv6/conf/$ifname/disable_ipv6" 2>/dev/null || true
    ip -n "$ns" addr add "$addr/24" dev "$ifname"
    ip -n "$ns" link set "$ifname" up
  done
  ip -n "$phone_ns" route add default via "$carrier_phone_ip"
  ip -n "$server_ns" route add default via "$carrier_server_ip"
  in_ns "$carrier_ns" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'

  # The interception: the phone's port 80, and only that, goes to squid.
  in_ns "$carrier_ns" iptables -t nat -A PREROUTING -i "$carrier_phone_if" -p tcp --dport 80 \
    -j REDIRECT --to-ports "$squid_port"

  local sq=$state/squid
  mkdir -p "$sq"
  write_squid_conf "$sq"
  chown -R -- "$squid_user:" "$sq"
  in_ns "$carrier_ns" squid -k parse -f "$sq/squid.conf" >"$sq/parse.log" 2>&1 || {
    say "squid rejected its config:"; grep -iE 'error|fatal' "$sq/parse.log" >&2 || cat "$sq/parse.log" >&2
    exit 1
  }
  start_bg "$carrier_ns" "$sq/squid" squid -N -d 1 -f "$sq/squid.conf"
  if ! wait_listen "$carrier_ns" "$squid_port" "$sq/squid.pid"; then
    say "squid did not start listening on $squid_port:"; tail -n 20 "$sq/squid.err" >&2
    exit 1
  fi

  local port
  for port in 80 8080; do
    # Both sign their echoes with one key (made by the first where there is none):
    # give the capture side the same file (--echo-key) and it believes only them.
    start_bg "$server_ns" "$state/reflect-$port" "$hw" reflect --port "$port" --echo-key "$state/echo.key"
  done
  for port in 80 8080; do
    if ! wait_listen "$server_ns" "$port" "$state/reflect-$port.pid"; then
      say "headerwatch reflect did not start on port $port:"; cat "$state/reflect-$port.err" >&2
      exit 1
    fi
  done
  write_env >"$state/lab.env"
  trap - EXIT INT TERM HUP
  exec 9>&-
  print_summary "$hw"
}

# The lab's names and addresses as KEY=VALUE lines (for scripts and tests).
write_env() {
  local var
  for var in prefix phone_ns carrier_ns server_ns phone_if carrier_phone_if carrier_server_if \
             server_if phone_ip carrier_phone_ip carrier_server_ip server_ip squid_port \
             inject_name inject_value strip state; do
    printf '%s=%s\n' "$var" "${!var}"
  done
}

print_summary() {
  local hw=${1#"$PWD"/} ex="ip netns exec"  # headerwatch shown relative to here when below here
  if [[ -n ${SUDO_USER:-} ]]; then
    ex="sudo $ex"
  fi
  printf "carrier lab '%s' is up\n" "$prefix"
  printf '  %-8s %-14s %-10s %s\n' \
    phone "$phone_ns" "$phone_if" "$phone_ip (default route via the carrier)" \
    carrier "$carrier_ns" "$carrier_phone_if" "$carrier_phone_ip" \
    "" "" "$carrier_server_if" "$carrier_server_ip" \
    server "$server_ns" "$server_if" "$server_ip (headerwatch reflect on ports 80 and 8080)"
  cat <<EOF
  squid on the carrier: port 80 from the phone is redirected to $squid_port (intercept); 8080 is routed untouched
    adds    $inject_name: $inject_value
    strips  ${strip:-(nothing)}
  files in $state (root's): reflect-80.out (what the server received), squid/access.log,
    echo.key (the key the reflectors sign their echoes with)

Try:
  # the probe: what the network added and removed, port 80 against the clean 8080
  $ex $phone_ns $hw probe --fail-on-identity --echo-key $state/echo.key http://$server_ip/ http://$server_ip:8080/
  # the tethered laptop's own capture, headless; then in another shell a plain request
  $ex $phone_ns $hw live -i $phone_if --format jsonl --fail-on-identity --echo-key $state/echo.key
  $ex $phone_ns curl -s http://$server_ip/x -o /dev/null
  # the dashboard on the phone's side, and the carrier's view of its own traffic
  $ex $phone_ns $hw live -i $phone_if
  $ex $carrier_ns $hw live -i $carrier_server_if --format table
When done:
  $(lab_command down)
EOF
}

# Stop what the lab started (pid files first, then anything left in its
# namespaces), delete the namespaces (with them the veth pairs and iptables
# rules) and the state directory. Safe to run any number of times.
cmd_down() {
  local pidfile pid ns
  if ! ns_exists "$phone_ns" && ! ns_exists "$carrier_ns" && ! ns_exists "$server_ns" \
     && [[ ! -e $state ]]; then
    echo "carrier lab '$prefix' was not up; nothing to remove (labs up: $(labs_up | grep . || echo none))"
    return 0
  fi
  if [[ -d $state ]]; then
    while IFS= read -r pidfile; do
      pid=$(cat "$pidfile" 2>/dev/null || true)
      [[ $pid =~ ^[0-9]+$ ]] && kill -TERM "$pid" 2>/dev/null || true
    done < <(find "$state" -name '*.pid')
  fi
  for ns in "$phone_ns" "$carrier_ns" "$server_ns"; do
    ns_exists "$ns" || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      kill -TERM "$pid" 2>/dev/null || true
    done
  done
  local i left
  for ((i = 0; i < 30; i++)); do
    left=""
    for ns in "$phone_ns" "$carrier_ns" "$server_ns"; do
      ns_exists "$ns" && left+=$(ip netns pids "$ns" 2>/dev/null || true)
    done
    [[ -z $left ]] && break
    sleep 0.1
  done
  for ns in "$phone_ns" "$carrier_ns" "$server_ns"; do
    ns_exists "$ns" || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      kill -KILL "$pid" 2>/dev/null || true
    done
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$state"
  rmdir "$labs_dir" 2>/dev/null || true
  echo "carrier lab '$prefix' is down"
}

cmd_status() {
  local ns up=0
  for ns in "$phone_ns" "$carrier_ns" "$server_ns"; do
    if ns_exists "$ns"; then
      up=1
      echo "$ns: processes $(ip netns pids "$ns" | tr '\n' ' ')"
      ip -n "$ns" -brief addr show | grep -v '^lo' | sed 's/^/  /'
    else
      echo "$ns: absent"
    fi
  done
  if ns_exists "$carrier_ns"; then
    echo "squid:   $(in_ns "$carrier_ns" ss -Hltnp "sport = :$squid_port" | grep -q . && echo "listening on $squid_port" || echo "not listening")"
  fi
  if ns_exists "$server_ns"; then
    local port
    for port in 80 8080; do
      echo "reflect: $(in_ns "$server_ns" ss -Hltn "sport = :$port" | grep -q . && echo "listening on $port" || echo "not listening on $port")"
    done
  fi
  ((up)) || { echo "labs up: $(labs_up | grep . || echo none)"; return 3; }
}

case ${1:-} in
  up) need_root up; cmd_up ;;
  down) need_root down; cmd_down ;;
  status) need_root status; cmd_status ;;
  *)
    echo "usage: $0 up|down|status   (settings: see the top of this script)" >&2
    exit 2
    ;;
esac
