#!/usr/bin/env bash
# `tlc train` under mpirun: 2 ranks log what 1 process logs; a checkpoint resumes with the other
# world size (2 -> 1 equals 1 -> 2); a batch that does not split and mismatched settings are
# errors before training; a killed, a throwing and a silent rank each end the job in bounded time
# with a message naming the rank. Usage: dist_cli.sh TLC MPIEXEC FAULT
set -euo pipefail
tlc=$(realpath "$1")
mpiexec=$2
fault=$3
work=$(mktemp -d)
trap 'pkill -KILL -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
src=$(cd "$(dirname "$0")/../.." && pwd)

mkdir -p "$work/photos"
for f in astronaut_portrait autumn_leaves moss_texture; do cp "$src/data/photos/$f.png" "$work/photos/"; done
common=(--set data.dir="$work/photos" --set data.holdout_every=3 --set model.arch=unet --set model.module=gn
        --set model.width=8 --set data.patch=32 --set data.batch=4 --set train.checkpoint_every=5 --threads 1)

# The loss column of a log, one value per line.
losses() { tail -n +2 "$1/log.csv" | cut -d, -f2; }
# The largest difference between two columns of numbers.
max_diff() { paste -d' ' <(losses "$1") <(losses "$2") | awk '{d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d} END {print m + 0}'; }

# 1 process x batch 4 and 2 ranks x 2 patches: the same log (the printed losses have 6 digits).
"$tlc" train --out "$work/one" "${common[@]}" --set train.iters=12 2> "$work/one.txt"
"$mpiexec" -n 2 "$tlc" train --out "$work/two" "${common[@]}" --set train.iters=12 2> "$work/two.txt"
grep -q "batch 4, 12 iterations on 2 ranks (mpi)" "$work/two.txt" || fail "the start line names no world size: $(head -1 "$work/two.txt")"
grep -q '"run.ranks":"2"' "$work/two/config.json" || fail "config.json does not record 2 ranks"
[ "$(wc -l < "$work/two/log.csv")" -eq 13 ] || fail "rank 0 should log 12 rows, once"
d=$(max_diff "$work/one" "$work/two")
awk -v d="$d" 'BEGIN {exit !(d < 1e-3)}' || fail "2 ranks log other losses than 1 process (max diff $d)"
[ -f "$work/two/model.safetensors" ] || fail "2 ranks wrote no model"

# Resume across world sizes: 6 iterations, then 12 with the other world size, both ways round.
"$mpiexec" -n 2 "$tlc" train --out "$work/a" "${common[@]}" --set train.iters=6 2> /dev/null
"$tlc" train --resume "$work/a" --set train.iters=12 2> "$work/a.txt"
grep -q "resumed .*iter_00000006" "$work/a.txt" || fail "1 process did not resume the 2-rank checkpoint"
"$tlc" train --out "$work/b" "${common[@]}" --set train.iters=6 2> /dev/null
"$mpiexec" -n 2 "$tlc" train --resume "$work/b" --set train.iters=12 2> "$work/b.txt"
grep -q "resumed .*iter_00000006" "$work/b.txt" || fail "2 ranks did not resume the 1-process checkpoint"
d=$(max_diff "$work/a" "$work/b")
awk -v d="$d" 'BEGIN {exit !(d < 1e-3)}' || fail "2->1 and 1->2 resumes differ (max diff $d)"

# Errors before training, printed once, with nothing written.
set +e
"$mpiexec" -n 3 "$tlc" train --out "$work/odd" "${common[@]}" --set train.iters=2 > "$work/odd.txt" 2>&1
rc=$?
set -e
[ $rc -ne 0 ] || fail "a batch of 4 over 3 ranks should fail"
[ "$(grep -c "cannot be split over 3 ranks" "$work/odd.txt")" -eq 1 ] || fail "the split error, once: $(cat "$work/odd.txt")"
[ ! -e "$work/odd" ] || fail "a refused run left a folder"
set +e
"$mpiexec" -n 2 bash -c 'lr=1e-3; [ "${OMPI_COMM_WORLD_RANK:-0}" = 1 ] && lr=2e-3; exec "$0" "$@" --set train.lr=$lr' \
  "$tlc" train --out "$work/mixed" "${common[@]}" --set train.iters=2 > "$work/mixed.txt" 2>&1
rc=$?
set -e
[ $rc -ne 0 ] || fail "ranks with different settings should fail"
grep -q "rank 1 and rank 0 differ in the settings" "$work/mixed.txt" || fail "no mismatch message: $(cat "$work/mixed.txt")"
[ ! -e "$work/mixed/log.csv" ] || fail "mismatched ranks started training"

# Waits for background job PID to end: fails when it is still alive after SECONDS, or exited 0.
ends_failing_within() {  # PID SECONDS WHAT
  local pid=$1 limit=$2 t=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    t=$((t + 1))
    [ $t -le "$limit" ] || { kill -KILL "$pid"; fail "$3: still running after $limit s"; }
  done
  if wait "$pid"; then fail "$3: exited 0"; fi
}

wait_for_rows() {  # DIR N: until DIR/log.csv has more than N rows (at most 20 s)
  for _ in $(seq 100); do
    [ -f "$1/log.csv" ] && [ "$(wc -l < "$1/log.csv")" -gt "$2" ] && return 0
    sleep 0.2
  done
  fail "$1/log.csv did not reach $2 rows"
}

# Faults end the job in bounded time, naming the rank.
ends_within() {  # SECONDS LOG COMMAND...: runs the command, which must fail within SECONDS
  local limit=$1 log=$2
  shift 2
  "$@" > "$log" 2>&1 &
  ends_failing_within $! "$limit" "$*"
}
ends_within 30 "$work/throw.txt" "$mpiexec" -n 2 "$fault" throw
grep -q "rank 1 of 2: error: planted fault" "$work/throw.txt" || fail "no message for a throwing rank: $(cat "$work/throw.txt")"
TLC_DIST_TIMEOUT=3 ends_within 30 "$work/hang.txt" "$mpiexec" -n 2 "$fault" hang
grep -q "rank 0 of 2: error: all-reduce of 1 floats did not complete within 3 s" "$work/hang.txt" || fail "no message for a silent rank: $(cat "$work/hang.txt")"

# SIGUSR1 to mpirun (forwarded to every rank): the ranks stop together, rank 0 checkpoints, and
# the run resumes from there.
"$mpiexec" -n 2 "$tlc" train --out "$work/int" "${common[@]}" --set train.iters=100000 > "$work/int.txt" 2>&1 &
job=$!
wait_for_rows "$work/int" 3
kill -USR1 $job
ends_failing_within $job 30 "mpirun after SIGUSR1"
grep -q "continue with: tlc train --resume $work/int" "$work/int.txt" || fail "no resume hint: $(cat "$work/int.txt")"
at=$(sed -n 's/^interrupted at iteration \([0-9]*\):.*/\1/p' "$work/int.txt")
[ -n "$at" ] || fail "no interrupted iteration: $(cat "$work/int.txt")"
"$tlc" train --resume "$work/int" --set train.iters=$((at + 1)) 2> "$work/int2.txt"
grep -q "resumed .*iter_$(printf %08d "$at")" "$work/int2.txt" || fail "did not resume at $at: $(cat "$work/int2.txt")"

# Ctrl-C on mpirun: Open MPI kills the ranks a second after its SIGTERM, with or without a fresh
# checkpoint; the newest complete checkpoint is intact and resumes.
"$mpiexec" -n 2 "$tlc" train --out "$work/ctrlc" "${common[@]}" --set train.iters=100000 > "$work/ctrlc.txt" 2>&1 &
job=$!
wait_for_rows "$work/ctrlc" 7
kill -INT $job
ends_failing_within $job 30 "mpirun after Ctrl-C"
last=$(ls "$work/ctrlc/checkpoints"/iter_*.safetensors | tail -n 1)
at=$(basename "$last" .safetensors | sed 's/^iter_0*//')
"$tlc" train --resume "$work/ctrlc" --set train.iters=$((at + 1)) 2> "$work/ctrlc2.txt" ||
  fail "the checkpoint left by Ctrl-C does not resume: $(cat "$work/ctrlc2.txt")"
grep -q "resumed .*iter_$(printf %08d "$at")" "$work/ctrlc2.txt" || fail "did not resume at $at"

# A rank killed in the middle of training: the launcher ends the job and names the rank.
"$mpiexec" -n 2 "$tlc" train --out "$work/killed" "${common[@]}" --set train.iters=100000 > "$work/killed.txt" 2>&1 &
job=$!
wait_for_rows "$work/killed" 7
victim=""
for p in $(pgrep -f -- "--out $work/killed"); do
  if tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then victim=$p; fi
done
[ -n "$victim" ] || fail "found no rank 1 process"
kill -KILL "$victim"
ends_failing_within $job 30 "a job with a killed rank"
grep -Eq "rank 1.*(signal 9|Killed)" "$work/killed.txt" || fail "no message naming the killed rank: $(cat "$work/killed.txt")"
ls "$work/killed/checkpoints"/iter_*.safetensors > /dev/null 2>&1 || fail "no checkpoint kept"
echo "ok"
