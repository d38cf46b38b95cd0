#!/usr/bin/env bash
# Runs the stages of `make test`. A stage is one or two groups of make targets;
# two groups run side by side (the machine has at least two cores, and every
# group is one single-threaded process: pytest, a notebook kernel, sphinx).
# Each group writes its own log, printed whole when the stage ends, so the
# output of the two never interleaves. The first failing stage stops the run.
#   tests/stages.sh "title" "targets of group 1" ["targets of group 2"]
set -uo pipefail
MAKE=${MAKE:-make}
logs=_build/test-logs
mkdir -p "$logs"
title=$1; shift
echo "== $title"
pids=(); names=()
start=$(date +%s)
for group in "$@"; do
  name=${group// /+}
  (
    s=$(date +%s)
    for target in $group; do
      $MAKE --no-print-directory "$target" || exit 1
    done
    echo "   ($group: $(( $(date +%s) - s )) s)"
  ) > "$logs/$name.log" 2>&1 &
  pids+=($!); names+=("$name")
done
status=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then status=1; failed=${names[$i]}; fi
done
for name in "${names[@]}"; do cat "$logs/$name.log"; done
echo "   stage wall time: $(( $(date +%s) - start )) s"
if [ $status -ne 0 ]; then echo "FAILED in: $failed (log: $logs/$failed.log)"; fi
exit $status
