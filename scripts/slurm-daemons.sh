# Shared by slurm-up.sh and slurm-down.sh (sourced; the caller defines `log`).

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
