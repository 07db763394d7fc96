#!/usr/bin/env bash
# Stops the single-node Slurm started by scripts/slurm-up.sh: slurmd, slurmctld, then munged.
# Idempotent. `--purge` also removes the state directory (jobs, spool, logs).
#
#   WEFT_SLURM_DIR   state directory used by slurm-up.sh (default /var/lib/weft-slurm)
set -euo pipefail

dir="${WEFT_SLURM_DIR:-/var/lib/weft-slurm}"
purge=""
case "${1:-}" in
  --purge) purge=1 ;;
  "") ;;
  *) echo "usage: $0 [--purge]" >&2; exit 2 ;;
esac

log() { echo "slurm-down: $*"; }

# A process is alive if it exists and is not a zombie (daemonizing leaves short-lived zombies that
# pgrep and kill -0 still see until init reaps them).
alive() { # pid
  local st
  st="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# pids of a running daemon: from its pid file and by exact process name.
daemon_pids() { # name pidfile
  local pid
  {
    [ ! -f "$2" ] || cat "$2" 2>/dev/null || true
    pgrep -x "$1" || true
  } | sort -un | while read -r pid; do
    [ -n "$pid" ] && alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] \
      && echo "$pid"
  done
  return 0
}

stop_daemon() { # name pidfile
  local pids pid i
  pids="$(daemon_pids "$1" "$2")"
  if [ -z "$pids" ]; then log "$1 is not running"; return 0; fi
  log "stopping $1 (pid $(echo $pids))"
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  for i in $(seq 50); do
    [ -n "$(daemon_pids "$1" "$2")" ] || { rm -f "$2"; return 0; }
    sleep 0.2
  done
  log "$1 did not stop in 10 s; killing it"
  for pid in $(daemon_pids "$1" "$2"); do kill -9 "$pid" 2>/dev/null || true; done
  rm -f "$2"
}

stop_daemon slurmd "$dir/slurmd.pid"
stop_daemon slurmctld "$dir/slurmctld.pid"
stop_daemon munged /run/munge/munged.pid

if [ -n "$purge" ]; then
  log "removing $dir"
  rm -rf "$dir"
fi
