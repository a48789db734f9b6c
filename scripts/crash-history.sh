#!/bin/sh
# The crash history of issue 17 (item 1), RUNS times in a row (default 20)
# on one 3-replica RAFT cluster of real child processes serving the
# SimpleIndexer under /index load from 4 writers: SIGSTOP the leader for
# 6 s, SIGCONT it, kill -9 it, start it, then stop and start the whole
# cluster. Each round must end with all replicas serving, every replica's
# /count equal to the acknowledged documents, and no store damaged.
# Everything binds 127.0.0.1. About 12 s per round.
set -eu
cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}
JIG_CRASH_HISTORY_RUNS=$RUNS exec go test -tags chaos -count=1 -timeout 30m \
  -run '^TestChaosCrashHistory$' -v ./consensus/
