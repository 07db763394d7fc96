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

. "$(dirname "$0")/slurm-daemons.sh"

stop_daemon slurmd "$dir/slurmd.pid"
stop_daemon slurmctld "$dir/slurmctld.pid"
stop_daemon munged /run/munge/munged.pid

if [ -n "$purge" ]; then
  log "removing $dir"
  rm -rf "$dir"
fi
