# A real single-node Slurm for the tests, on this machine (sourced by tests/slurm/test.sh).
#
#   cluster_start DIR   config, state, spool and logs in DIR; munged (unless one answers
#                       already), slurmctld and slurmd started, each PID recorded
#   cluster_stop        cancels every job, stops every daemon cluster_start started (by
#                       PID, then waits for it to go), whatever state the test left
#
# Runs as root without cgroups: proctrack/linuxproc, task/none, no accounting. Ports are
# picked from the shell's PID so that a cluster already running here is left alone.

CLUSTER_PIDS=()

cluster_log() { echo "slurm-test: $*" >&2; }

# Starts munged as the munge user unless a munge daemon answers already.
cluster_munge() {
  if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    cluster_log "munged already answers; using it"
    return 0
  fi
  if [ ! -s /etc/munge/munge.key ]; then
    cluster_log "writing a munge key"
    install -d -o munge -g munge -m 700 /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
  install -d -o munge -g munge -m 755 /run/munge
  install -d -o munge -g munge -m 700 /var/lib/munge /var/log/munge
  runuser -u munge -- munged
  local pid
  pid=$(cat /run/munge/munged.pid)
  CLUSTER_PIDS+=("$pid")
  cluster_log "started munged (pid $pid)"
  for _ in $(seq 50); do
    munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  cluster_log "munged does not answer"
  return 1
}

# Records the PID a daemon writes to $1 (once it has written it: at most 10 s).
cluster_pid() {
  for _ in $(seq 100); do
    if [ -s "$1" ]; then
      CLUSTER_PIDS+=("$(cat "$1")")
      return 0
    fi
    sleep 0.1
  done
  cluster_log "no pid file $1 after 10 s"
  return 1
}

cluster_start() {
  local dir=$1 host cpus port
  host=$(hostname -s)
  cpus=$(nproc)
  port=$((20000 + ($$ % 5000) * 2))
  mkdir -p "$dir/state" "$dir/spool" "$dir/log"
  export SLURM_CONF="$dir/slurm.conf"
  cat >"$SLURM_CONF" <<EOF
ClusterName=workbench-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
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
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SchedulerParameters=sched_interval=1
MaxArraySize=${CLUSTER_MAX_ARRAY_SIZE:-1001}
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  cluster_munge || return 1
  slurmctld -f "$SLURM_CONF" || { cluster_log "slurmctld did not start"; return 1; }
  cluster_pid "$dir/slurmctld.pid" || return 1
  slurmd -f "$SLURM_CONF" || { cluster_log "slurmd did not start"; return 1; }
  cluster_pid "$dir/slurmd.pid" || return 1
  cluster_log "started slurmctld and slurmd on $host (port $port, $cpus CPUs)"
  for _ in $(seq 100); do
    if sinfo --noheader --format=%t 2>/dev/null | grep -qx idle; then
      return 0
    fi
    sleep 0.2
  done
  cluster_log "the node is not idle after 20 s:"
  sinfo >&2 || true
  tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
  return 1
}

cluster_stop() {
  if [ -n "${SLURM_CONF:-}" ]; then
    scancel --full --quiet --user=root 2>/dev/null || true
  fi
  local pid
  # Newest first: slurmd, slurmctld, then munged.
  for ((i = ${#CLUSTER_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${CLUSTER_PIDS[i]}
    [ -n "$pid" ] || continue
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null || true
    fi
    cluster_log "stopped pid $pid"
  done
  CLUSTER_PIDS=()
  # A daemon that died before writing its pid file, or whose file was lost: found by the
  # configuration file only this cluster uses.
  if [ -n "${SLURM_CONF:-}" ]; then
    for pid in $(pgrep -f -- "-f $SLURM_CONF" || true); do
      kill -9 "$pid" 2>/dev/null && cluster_log "stopped pid $pid (no pid file)"
    done
  fi
}

# Waits (at most $2 seconds) until none of the job ids in $1 (comma-separated) is queued.
cluster_wait() {
  local jobs=$1 limit=$2 start=$SECONDS
  while [ $((SECONDS - start)) -lt "$limit" ]; do
    if [ -z "$(squeue --noheader --jobs="$jobs" 2>/dev/null)" ]; then
      return 0
    fi
    sleep 0.5
  done
  cluster_log "jobs $jobs still queued after $limit s:"
  squeue >&2 || true
  return 1
}
