#!/usr/bin/env bash
# Coverage-guided fuzzing of every reader of untrusted input (Jazzer through JUnit), each target for 40 s a round.
# The corpus grows in analysis-core/.cifuzz-corpus/ from round to round; a finding fails the run and is written under
# analysis-core/src/test/resources/.../*Inputs/<target>/crash-*, where plain `mvn verify` replays it from then on.
# Usage: bench/fuzz.sh [ROUNDS]   (CI runs one round; a long campaign runs many)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds="${1:-1}"
targets=(ReaderFuzzTest#safetensors ReaderFuzzTest#torchZip ReaderFuzzTest#shardedIndex ReaderFuzzTest#adapterConfig
         PickleFuzzTest#unpickle CheckpointFuzzTest#checkpointToReport)
# Maven's logger writes colour resets even with -B -q: stripped, so the CI log is plain text
mvn -q -B -DskipTests install -pl analysis-core -am 2>&1 | sed 's/\x1b\[[0-9;]*m//g'   # pipefail keeps mvn's status
total=0
for ((round = 1; round <= rounds; round++)); do
  for t in "${targets[@]}"; do
    log="$(mktemp)"
    if ! JAZZER_FUZZ=1 mvn -B -q surefire:test -pl analysis-core -Dtest="$t" -DfailIfNoTests=false > "$log" 2>&1; then
      grep -E "FuzzTestFinding|Caused by|crash-|Exception" "$log" | head -20 >&2
      echo "fuzz: finding in $t (round $round)" >&2
      exit 1
    fi
    execs=$(grep -Eo '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | tr -dc 0-9)
    echo "fuzz: $t round $round: ${execs:-0} executions, no finding"
    total=$((total + ${execs:-0}))
    rm -f "$log"
  done
done
echo "fuzz: $total executions in all, no finding"
