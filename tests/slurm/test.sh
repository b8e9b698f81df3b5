#!/usr/bin/env bash
# `workbench submit --slurm` and `reproduce --slurm` against a real Slurm: starts munge,
# slurmctld and slurmd on this machine (tests/slurm/cluster.sh), then
#   1. submits a sweep (2 keys x 2 seeds, 8 points) to a cluster whose arrays hold 3
#      tasks, so the points are shared out; compares the collected sweep file and every
#      point file with a local `workbench run` of the same file, bitwise;
#   2. deletes one point file: `status` names it missing, re-submitting runs only it;
#   3. a point that panics (injected) is named failed by `status`; the next submission
#      runs only it;
#   4. re-submitting while the tasks are queued submits nothing; then kills one task's run
#      with SIGKILL and cancels another task mid-point: only complete
#      point files are left, `status` names the rest missing, re-submitting finishes the
#      sweep equal to a local run, with no partial file left behind;
#   5. `reproduce --slurm` of a folder (a sweep and two plain experiments) equals a local
#      `reproduce` of it, with its report written by the job after the array;
#   6. `submit --requeue` of a sequence sweep that saves its training state: the task is
#      requeued (`scontrol requeue`) mid-point, resumes from the state, and the sweep
#      equals a local run;
#   7. the collecting job of a `--requeue` submission, started while a task of its array is
#      queued, submits itself again after the array and collects nothing; the new job
#      collects every point.
# Every daemon it started is stopped (by PID) on any exit. Fails loudly where Slurm is
# missing, unless WORKBENCH_EXPECT_SLURM=0 says it is not expected here.
#
# Usage: tests/slurm/test.sh WORKBENCH_BINARY
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$(realpath "${1:?usage: tests/slurm/test.sh WORKBENCH_BINARY}")

if [ "${WORKBENCH_EXPECT_SLURM:-1}" = 0 ]; then
  echo "slurm-test: not run: WORKBENCH_EXPECT_SLURM=0 says Slurm is not expected on this machine"
  exit 0
fi
for command in munge munged sbatch squeue scancel slurmctld slurmd; do
  if ! command -v "$command" >/dev/null 2>&1; then
    echo "slurm-test: FAILED: $command is not installed; scripts/setup.sh --tests installs slurm-wlm and munge (set WORKBENCH_EXPECT_SLURM=0 where Slurm cannot be installed)" >&2
    exit 1
  fi
done

# shellcheck source=tests/slurm/cluster.sh
source "$here/cluster.sh"
work=$(mktemp -d /tmp/workbench-slurm.XXXXXX)
finish() {
  local status=$?
  cluster_stop
  if [ "$status" -ne 0 ]; then
    echo "slurm-test: FAILED (exit $status); the jobs' logs:" >&2
    tail -n 30 "$work"/*/logs/*.log >&2 2>/dev/null || true
    tail -n 40 "$work"/cluster/log/slurmctld.log "$work"/cluster/log/slurmd.log >&2 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

fail() {
  echo "slurm-test: FAILED: $*" >&2
  exit 1
}
step() { echo "slurm-test: $*" >&2; }
# The run's environment must not steer the backend differently for tasks and local runs.
unset WORKBENCH_BACKEND WORKBENCH_DTYPE WORKBENCH_INJECT_PANIC
wb() { "$bin" "$@"; }
same() { python3 "$here/same_results.py" "$@"; }
# Submits (stdout: the two job ids) and waits for both jobs to leave the queue.
submit_and_wait() {
  local ids
  ids=$("$bin" "$@" 2>"$work/submit.err") || {
    cat "$work/submit.err" >&2
    fail "submission failed: $*"
  }
  cat "$work/submit.err" >&2
  [ -n "$ids" ] || fail "nothing was submitted: $*"
  cluster_wait "$(echo "$ids" | tr ' ' ',')" 180
}
expect_line() { # expect_line TEXT PATTERN WHAT
  grep -Eq -- "$2" <<<"$1" || fail "$3: expected /$2/ in: $1"
}

CLUSTER_MAX_ARRAY_SIZE=3 cluster_start "$work/cluster"

# --- 1. a sweep, sharded into the cluster's 3-task arrays --------------------------------
sed -e '0,/^name = .*/s//name = "fig2_small"/' -e 's/^epochs = 1000/epochs = 50/' \
  -e 's/^mode = "expected".*/mode = "sampled"/' -e 's/^alpha = .*/alpha = [0.0, 0.01, 0.1]/' \
  "$root/experiments/fig2_weight_decay.toml" >"$work/fig2_small.toml"
cat >>"$work/fig2_small.toml" <<'EOF'

[sweep]
grid = { "optimizer.lr" = [0.01, 0.05], "bandit.beta" = [0.5, 1.0] }
seeds = 2
EOF
out="$work/cluster-results"
wb run "$work/fig2_small.toml" --out "$work/local" --quiet 2>/dev/null
step "1. submitting an 8-point sweep"
submit_and_wait submit "$work/fig2_small.toml" --slurm --out "$out" --time 00:05:00 --cpus-per-task 1
expect_line "$(cat "$work/submit.err")" "8 of 8 points in 3 task" "the submission"
[ "$(ls "$out"/logs/fig2_small-*_*.log | wc -l)" = 3 ] || fail "expected 3 task logs in $out/logs"
ls "$out"/slurm/bin/workbench-* >/dev/null || fail "no frozen binary in $out/slurm/bin"
status=$(wb status "$out/fig2_small")
expect_line "$status" "8 points: 8 done, 0 running, 0 queued, 0 failed, 0 missing" "status after the sweep"
same "$work/local" "$out" fig2_small

# --- 2. a lost point file is re-submitted alone --------------------------------------------
step "2. re-submitting a deleted point"
rm "$out/fig2_small/point-0002.h5"
expect_line "$(wb status "$out")" "7 done, 0 running, 0 queued, 0 failed, 1 missing \(2\)" "status of a deleted point"
submit_and_wait submit "$work/fig2_small.toml" --slurm --out "$out"
expect_line "$(cat "$work/submit.err")" "1 of 8 points in 1 task.*7 up to date" "the re-submission"
same "$work/local" "$out" fig2_small

# --- 3. a failed point is named, and re-run by the next submission ----------------------
step "3. a point that fails"
rm "$out/fig2_small/point-0005.h5"
WORKBENCH_INJECT_PANIC='fig2_small#5' submit_and_wait submit "$work/fig2_small.toml" --slurm --out "$out"
status=$(wb status "$out/fig2_small")
expect_line "$status" "7 done, 0 running, 0 queued, 1 failed \(5\), 0 missing" "status of a failed point"
expect_line "$status" "failed: point 5 .*injected by WORKBENCH_INJECT_PANIC" "the failed point's error"
submit_and_wait submit "$work/fig2_small.toml" --slurm --out "$out"
expect_line "$(cat "$work/submit.err")" "1 of 8 points" "the submission after a failure"
expect_line "$(wb status "$out/fig2_small")" "8 done" "status after the re-run"
same "$work/local" "$out" fig2_small

# --- 4. a task killed, another cancelled, mid-point ------------------------------------------
step "4. killing and cancelling tasks mid-point"
cat >"$work/seq_slow.toml" <<'EOF'
name = "seq_slow"
kind = "sequence_dpo"

[data]
source = "synthetic"
pairs = 24000
symbols = 8
prompt_len = [2, 6]
response_len = [1, 10]

[model]
d_model = 8
n_layers = 1
n_heads = 2
d_ff = 16
context = 18

[sft]
epochs = 1
batch_size = 64

[dpo]
epochs = 1
batch_size = 64

[analysis]
q = 10.0

[sweep]
grid = { "dpo.beta" = [0.1, 1.0] }
seeds = 2
EOF
wb run "$work/seq_slow.toml" --out "$work/local" --quiet --jobs 1 2>/dev/null
ids=$(wb submit "$work/seq_slow.toml" --slurm --out "$out" --max-array-size 2 --cpus-per-task 1 2>"$work/submit.err") \
  || { cat "$work/submit.err" >&2; fail "the sequence sweep was not submitted"; }
array=${ids%% *}
# Submitting again at once submits nothing: every point is queued or running.
again=$(wb submit "$work/seq_slow.toml" --slurm --out "$out" 2>&1) || fail "re-submission while queued: $again"
expect_line "$again" "nothing to submit \(0 up to date, 4 already queued or running\)" "a re-submission while queued"
# Wait until both tasks run, then give them a second into their first point (~2.5 s each).
for _ in $(seq 120); do
  [ "$(squeue --noheader --array --jobs="$array" --states=RUNNING | wc -l)" = 2 ] && break
  sleep 0.25
done
[ "$(squeue --noheader --array --jobs="$array" --states=RUNNING | wc -l)" = 2 ] || fail "the two tasks did not start"
sleep 1
pid=$(pgrep -f -- "--point 0-1 .*--expect-config" | head -n 1) || fail "task 0's workbench process not found"
kill -9 "$pid"
scancel "${array}_1"
cluster_wait "$(echo "$ids" | tr ' ' ',')" 120
status=$(wb status "$out/seq_slow")
expect_line "$status" "0 running, 0 queued, 0 failed" "status after the kill"
missing=$(sed -nE 's/.* ([0-9]+) missing.*/\1/p' <<<"$status" | head -n 1)
[ "${missing:-0}" -ge 2 ] || fail "points 0 and 2 were killed mid-run, yet: $status"
for f in "$out"/seq_slow/point-*.h5; do
  [ -e "$f" ] || continue
  python3 -c "import h5py, sys; h5py.File(sys.argv[1], 'r')['analysis']" "$f" \
    || fail "$f looks finished but is not a complete results file"
done
submit_and_wait submit "$work/seq_slow.toml" --slurm --out "$out" --cpus-per-task 1
expect_line "$(cat "$work/submit.err")" "$missing of 4 points" "the submission after the kill"
expect_line "$(wb status "$out/seq_slow")" "4 points: 4 done" "status after the re-run"
same "$work/local" "$out" seq_slow
leftovers=$(find "$out/seq_slow" -name '*.partial-*')
[ -z "$leftovers" ] || fail "partial files left: $leftovers"

# --- 5. reproduce --slurm -----------------------------------------------------------------
step "5. reproduce --slurm"
mkdir -p "$work/experiments"
cp "$work/fig2_small.toml" "$root/experiments/fig5_one_step.toml" \
  "$root/experiments/prop32_ratio_constraint.toml" "$work/experiments/"
wb reproduce --experiments "$work/experiments" --out "$work/local-all" --report "$work/local-report" --quiet 2>/dev/null
submit_and_wait reproduce --slurm --experiments "$work/experiments" --out "$work/all" --report "$work/report"
expect_line "$(cat "$work/submit.err")" "reproduce: 2 experiment\(s\) and 8 of 8 sweep points in 3 task" "reproduce --slurm"
status=$(wb status "$work/all")
expect_line "$status" "fig2_small .*8 done" "status of the reproduction"
expect_line "$status" "fig5_one_step: done" "status of a plain experiment"
expect_line "$status" "prop32_ratio_constraint: done" "status of a plain experiment"
names=$(cd "$work/local-all" && ls *.h5 | sed 's/\.h5$//')
# shellcheck disable=SC2086
same "$work/local-all" "$work/all" $names
[ -s "$work/report/report.html" ] || fail "the job after the array wrote no report"
expect_line "$(wb reproduce --slurm --experiments "$work/experiments" --out "$work/all" --report "$work/report" 2>&1)" \
  "nothing to submit \(10 up to date" "re-running reproduce --slurm"
# --- 6. a point requeued mid-run continues from its saved training state -------------------
step "6. scontrol requeue mid-point (submit --requeue)"
sed -e 's/^name = "seq_slow"/name = "seq_resume"/' -e 's/^pairs = 24000/pairs = 48000/' \
  -e 's/^epochs = 1/epochs = 2/' -e '/^\[sweep\]/,$d' "$work/seq_slow.toml" >"$work/seq_resume.toml"
cat >>"$work/seq_resume.toml" <<'EOF'
[output]
checkpoint_every = 5

[sweep]
grid = { "dpo.beta" = [0.1, 1.0] }
EOF
wb run "$work/seq_resume.toml" --out "$work/local" --quiet --jobs 1 2>/dev/null
ids=$(wb submit "$work/seq_resume.toml" --slurm --out "$out" --max-array-size 1 --cpus-per-task 1 \
  --requeue --signal-before 60 --time 00:10:00 2>"$work/submit.err") \
  || { cat "$work/submit.err" >&2; fail "the requeue sweep was not submitted"; }
array=${ids%% *}
grep -rq -- "--signal=B:USR1@60" "$out/slurm" || fail "no --signal line in the array script"
# Slurm delays a requeued job's start (BeginTime: about two minutes after it has completed,
# so that the new launch credential is newer than the old one's revocation); start it at
# once. First the requeue must have taken effect (a task that requeues itself is still
# RUNNING when it says so); then the job must have finished completing (plain PENDING), and
# a little more: a start forced while the old credential is still being revoked fails to
# launch, and Slurm holds the job ("launch failed requeued held"), which is released here.
start_now() {
  local said= line state reason pending_since=
  for _ in $(seq 480); do
    line=$(squeue --noheader --array --jobs="$1" --format='%T|%r' 2>/dev/null) || line=
    state=${line%%|*} reason=${line#*|}
    case "$state" in
      RUNNING) [ -n "$pending_since" ] && return 0 ;;
      "") [ -n "$pending_since" ] && return 0 ;; # started and already ended
      PENDING)
        [ -n "$pending_since" ] || pending_since=$SECONDS
        case "$reason" in
          *[Hh]eld*) said=$(scontrol release "$1" 2>&1) || true ;;
          BeginTime)
            if [ $((SECONDS - pending_since)) -ge 3 ]; then
              said=$(scontrol update JobId="$1" StartTime=now 2>&1) || true
              pending_since=$SECONDS
            fi
            ;;
        esac
        ;;
    esac
    sleep 0.25
  done
  squeue --array >&2 || true
  scontrol show job "$1" >&2 || true
  fail "could not start the requeued $1 (last: ${line:-gone}; scontrol said: ${said:-nothing})"
}
# Waits until $1 state files exist in the sweep's .state.
wait_states() {
  for _ in $(seq 480); do
    [ "$(find "$out/seq_resume/.state" -name '*.bpk' 2>/dev/null | wc -l)" -ge "$1" ] && return 0
    sleep 0.25
  done
  fail "no training state was saved"
}
# The first point's first saved state: requeue the task mid-point from outside.
wait_states 1
sleep 1
scontrol requeue "${array}_0" || fail "scontrol requeue ${array}_0 failed"
start_now "${array}_0"
# Resumed, it finishes point 0 (its state removed) and starts point 1: then Slurm's warning
# before a time limit (SIGUSR1 to the batch shell, as --signal=B:USR1 sends it): the point
# saves its state and stops, and the task requeues itself.
# (Generous limits: a requeued job restarts when Slurm next schedules it.)
for _ in $(seq 1440); do
  [ -e "$out/seq_resume/point-0000.h5" ] && [ "$(find "$out/seq_resume/.state" -name '*.bpk' | wc -l)" -ge 1 ] && break
  sleep 0.25
done
[ -e "$out/seq_resume/point-0000.h5" ] || {
  squeue --array >&2 || true
  scontrol show job "${array}_0" >&2 || true
  fail "point 0 did not finish after the requeue"
}
sleep 1
scancel --batch --signal=USR1 "${array}_0" || fail "scancel --signal=USR1 failed"
for _ in $(seq 240); do
  grep -q "requeued" "$out"/logs/seq_resume-*.log 2>/dev/null && break
  sleep 0.25
done
grep -q "requeued" "$out"/logs/seq_resume-*.log || fail "the task did not requeue itself on SIGUSR1"
start_now "${array}_0"
# Slurm counts a requeued task as ended, so the collecting job (afterany) may start while
# the task waits to run again: it then submits itself again after the array. Wait until
# every job has left the queue.
for _ in $(seq 1200); do
  [ -z "$(squeue --noheader 2>/dev/null)" ] && break
  sleep 0.25
done
[ -z "$(squeue --noheader)" ] || { squeue --array >&2; fail "jobs still queued 300 s after the requeue"; }
collected=$(cat "$out"/logs/seq_resume-collect-*.log)
expect_line "$collected" "seq_resume.h5: 2 done, 0 failed, 0 missing" "the collecting job's log"
! grep -q "missing (" <<<"$collected" || fail "a collecting job collected before the points were done: $collected"
grep -q "collecting after them" <<<"$collected" && step "   (the collecting job started early and submitted itself again)"
resumed=$(grep -h "resuming" "$out"/logs/seq_resume-*.log) || true
[ "$(wc -l <<<"$resumed")" -ge 2 ] || fail "expected two resumed points in the logs, got: $resumed"
echo "$resumed" >&2
expect_line "$(wb status "$out/seq_resume")" "2 points: 2 done" "status after the requeue"
same "$work/local" "$out" seq_resume
leftovers=$(find "$out/seq_resume/.state" -type f)
[ -z "$leftovers" ] || fail "state files left: $leftovers"

# --- 7. a collecting job started while the array is queued collects after it -------------
step "7. the collecting job started early (submit --requeue)"
early="$work/early"
ids=$(wb submit "$work/fig2_small.toml" --slurm --out "$early" --requeue --cpus-per-task 1 \
  --sbatch-arg=--begin=now+30 2>"$work/submit.err") \
  || { cat "$work/submit.err" >&2; fail "the early-collect sweep was not submitted"; }
array=${ids%% *}
# The array waits 30 s (--begin): run its collecting job's script now, as Slurm would.
said=$(bash "$early"/slurm/fig2_small-1-collect.sh "$array") || fail "the collecting script failed: $said"
expect_line "$said" "tasks queued again \(requeued\): collecting after them as job [0-9]+" "the early collecting job"
again=${said##* }
expect_line "$(squeue --noheader --jobs="$again" --format='%E')" "afterany:${array}" "the new collecting job's dependency"
[ ! -e "$early/fig2_small.h5" ] || fail "the early collecting job wrote the sweep file"
scontrol update JobId="$array" StartTime=now >/dev/null 2>&1 || true
cluster_wait "$(echo "$ids" | tr ' ' ','),$again" 180
expect_line "$(cat "$early/logs/fig2_small-collect-$again.log")" "fig2_small.h5: 8 done, 0 failed, 0 missing" "the new collecting job's log"
same "$work/local" "$early" fig2_small

step "passed"
