#!/usr/bin/env bash
# Installs (if needed), configures and starts a single-node Slurm 22.05 on loopback, for tests and
# CI on Debian 12 running as root without systemd. Idempotent: running daemons with an unchanged
# configuration are left alone; a changed slurm.conf (the old one is backed up) restarts them.
# Exits 0 once `sinfo` reports the node usable, non-zero (with log tails) otherwise.
#
#   WEFT_SLURM_DIR       state, spool, pid and log directory (default /var/lib/weft-slurm)
#   WEFT_SLURM_TIMEOUT   seconds to wait for the node to become usable (default 60)
set -euo pipefail

dir="${WEFT_SLURM_DIR:-/var/lib/weft-slurm}"
timeout="${WEFT_SLURM_TIMEOUT:-60}"
conf=/etc/slurm/slurm.conf
node=localhost

cleanup_files=()
cleanup() { [ ${#cleanup_files[@]} -eq 0 ] || rm -f "${cleanup_files[@]}"; }
trap cleanup EXIT

log() { echo "slurm-up: $*"; }
die() { echo "slurm-up: error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root"

# --- install -----------------------------------------------------------------------------------
if ! command -v sbatch >/dev/null || [ ! -x /usr/sbin/slurmctld ] || [ ! -x /usr/sbin/slurmd ] \
   || [ ! -x /usr/sbin/munged ]; then
  log "installing slurm-wlm"
  # Keep the packages' init scripts from starting daemons with the stock config: this script
  # starts them itself. Only add a policy-rc.d if there is none (Docker images ship one).
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
    cleanup_files+=(/usr/sbin/policy-rc.d)
  fi
  install_ok=1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm || install_ok=""
  if [ -z "$install_ok" ]; then
    log "install failed; running apt-get update and retrying"
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm \
      && install_ok=1
  fi
  [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
  [ -n "$install_ok" ] || die "apt-get install slurm-wlm failed"
fi

# --- configuration -----------------------------------------------------------------------------
cpus="$(nproc)"
mem_mib=$(( $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024 ))
# slurmd drains a node whose RealMemory exceeds what it measures: leave 2% (at least 64 MiB).
reserve=$(( mem_mib / 50 )); [ "$reserve" -ge 64 ] || reserve=64
real_mem=$(( mem_mib - reserve )); [ "$real_mem" -ge 1 ] || real_mem=1
def_mem_per_cpu=$(( real_mem / cpus ))

mkdir -p "$dir/state" "$dir/spool" "$dir/log" /etc/slurm
new_conf="$(mktemp)"
cleanup_files+=("$new_conf")
# Memory is a consumable resource (CR_CPU_Memory): `--mem` is checked against RealMemory and jobs
# without it get DefMemPerCPU (RealMemory / CPUs) per CPU, so a default job never claims the node.
cat >"$new_conf" <<EOF
# Written by weft scripts/slurm-up.sh: single-node Slurm on loopback for tests.
ClusterName=weft
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=$def_mem_per_cpu
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$real_mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

conf_changed=""
if [ -f "$conf" ] && cmp -s "$new_conf" "$conf"; then
  log "$conf is up to date"
else
  if [ -f "$conf" ]; then
    base="$conf.bak.$(date +%Y%m%d%H%M%S)"; backup="$base"; n=1
    while [ -e "$backup" ]; do backup="$base.$n"; n=$((n + 1)); done
    cp -p "$conf" "$backup"
    log "backed up the previous $conf to $backup"
  fi
  install -m 644 "$new_conf" "$conf"
  conf_changed=1
  log "wrote $conf (CPUs=$cpus RealMemory=$real_mem MiB)"
fi

# --- daemons -----------------------------------------------------------------------------------
. "$(dirname "$0")/slurm-daemons.sh"

start_daemon() { # name pidfile command...
  local name="$1" pidfile="$2"; shift 2
  local pids
  pids="$(daemon_pids "$name" "$pidfile")"
  if [ -n "$pids" ]; then
    log "$name already running (pid $(echo $pids))"
    return 0
  fi
  log "starting $name"
  "$@" </dev/null >"$dir/log/$name.start.log" 2>&1 \
    || { cat "$dir/log/$name.start.log" >&2; die "$name failed to start"; }
}

diagnostics() {
  echo "---- sinfo -R / scontrol show node ----" >&2
  sinfo -R >&2 2>&1 || true
  scontrol show node "$node" >&2 2>&1 || true
  for f in "$dir/log/slurmctld.log" "$dir/log/slurmd.log" /var/log/munge/munged.log \
           "$dir"/log/*.start.log; do
    [ -s "$f" ] || continue
    echo "---- tail $f ----" >&2
    tail -n 25 "$f" >&2
  done
}

# munge: the package creates /etc/munge/munge.key; create one if it is missing.
if [ ! -s /etc/munge/munge.key ]; then
  log "creating /etc/munge/munge.key"
  mkdir -p /etc/munge
  if command -v mungekey >/dev/null; then
    mungekey --create --keyfile=/etc/munge/munge.key
  else
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
fi
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
start_daemon munged /run/munge/munged.pid runuser -u munge -- /usr/sbin/munged
for i in $(seq 25); do munge -n </dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.2; done
munge -n </dev/null | unmunge >/dev/null 2>&1 || { diagnostics; die "munge does not work"; }

# Daemons running with another configuration must restart. $dir/applied.conf is the configuration
# last seen working, so a run interrupted between writing slurm.conf and restarting is redone.
if [ -n "$conf_changed" ] || ! cmp -s "$conf" "$dir/applied.conf"; then
  stop_daemon slurmd "$dir/slurmd.pid"
  stop_daemon slurmctld "$dir/slurmctld.pid"
fi
start_daemon slurmctld "$dir/slurmctld.pid" /usr/sbin/slurmctld
for i in $(seq 50); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.2; done
start_daemon slurmd "$dir/slurmd.pid" /usr/sbin/slurmd -N "$node"

# --- wait until the node is usable -------------------------------------------------------------
deadline=$(( SECONDS + timeout ))
resumed=""
state=""
while :; do
  state="$(sinfo -h -n "$node" -o %T 2>/dev/null | head -n1 || true)"
  case "$state" in
    idle|mixed|allocated|completing)
      log "node $node is $state ($(sinfo -h -n "$node" -o '%c CPUs, %m MiB'))"
      cp "$conf" "$dir/applied.conf"
      exit 0 ;;
    down*|drain*)
      # e.g. "Node unexpectedly rebooted" after a restart: ask once for the node back.
      if [ -z "$resumed" ] && [ $(( deadline - SECONDS )) -lt $(( timeout - 5 )) ]; then
        log "node is $state; trying to resume it"
        scontrol update NodeName="$node" State=RESUME 2>/dev/null || true
        resumed=1
      fi ;;
  esac
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "slurm-up: error: node not usable after ${timeout}s (state: '${state:-none}')" >&2
    diagnostics
    exit 1
  fi
  sleep 0.5
done
