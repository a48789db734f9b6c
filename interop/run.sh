#!/usr/bin/env bash
# Runs every interop/cases/*.py (except files starting with "_") against
# REAL Jina 3.20.2 + docarray 0.40.2, with jig built from this checkout.
#
# Where Jina comes from, first match wins:
#   JINA_HARNESS=DIR   a folder with env.sh (the harness; e.g. ../shared/interop),
#                      sourced before the cases run; it sets JINA_PY
#   JINA_PY=PYTHON     a Python that imports jina and docarray (e.g. after
#                      `pip install jina==3.20.2 docarray==0.40.2`); no env.sh needed
#   ../shared/interop  relative to the repository root, when it exists
# Without any of them it says Jina is absent and exits 0.
#
# Each case runs from the repository root as `$JINA_PY interop/cases/NAME.py`
# with JIG=<absolute path of bin/jig>, under a timeout of CASE_TIMEOUT seconds
# (default 300; a case that needs longer says so in its first lines with
# `# interop-timeout: SECONDS`). CASES='name1 name2' runs a subset. Exit
# status: 1 when any case failed.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [ -z "${JINA_HARNESS:-}" ] && [ -z "${JINA_PY:-}" ] && [ -f "$root/../shared/interop/env.sh" ]; then
  JINA_HARNESS="$(cd "$root/../shared/interop" && pwd)"
fi
if [ -n "${JINA_HARNESS:-}" ]; then
  if [ ! -f "$JINA_HARNESS/env.sh" ]; then
    echo "interop: JINA_HARNESS=$JINA_HARNESS has no env.sh" >&2
    exit 2
  fi
  JINA_HARNESS="$(cd "$JINA_HARNESS" && pwd)"
  export JINA_HARNESS
  # shellcheck source=/dev/null
  source "$JINA_HARNESS/env.sh" || { echo "interop: sourcing $JINA_HARNESS/env.sh failed" >&2; exit 2; }
  jina_from="harness $JINA_HARNESS"
elif [ -n "${JINA_PY:-}" ]; then
  jina_from="JINA_PY=$JINA_PY"
else
  echo "interop: Jina is absent (set JINA_HARNESS to the harness folder, or JINA_PY to a Python with jina==3.20.2 and docarray==0.40.2); skipping"
  exit 0
fi
export JINA_PY
export JINA_OPTOUT_TELEMETRY=1 JINA_HIDE_SURVEY=1 JINA_CHECK_VERSION=0
export JINA_LOG_LEVEL="${JINA_LOG_LEVEL:-WARNING}"

if ! version="$("$JINA_PY" -c 'import jina, docarray; print(f"jina {jina.__version__}, docarray {docarray.__version__}")' 2>&1)"; then
  echo "interop: $JINA_PY cannot import jina and docarray ($jina_from):" >&2
  echo "$version" >&2
  exit 2
fi
echo "interop: real $version via $jina_from"

export JIG="$root/bin/jig"
if [ ! -x "$JIG" ]; then
  echo "interop: $JIG missing (make interop builds it)" >&2
  exit 2
fi

timeout_s="${CASE_TIMEOUT:-300}"
if [ -n "${CASES:-}" ]; then
  files=()
  for c in $CASES; do files+=("interop/cases/${c%.py}.py"); done
else
  files=()
  for f in interop/cases/*.py; do
    case "$(basename "$f")" in _*) continue ;; esac
    files+=("$f")
  done
fi

passed=0 failed=0 failed_names=()
for f in "${files[@]}"; do
  name="$(basename "$f" .py)"
  echo "=== $name"
  case_timeout="$timeout_s"
  declared="$(head -n 20 "$f" | sed -n 's/^# interop-timeout: *\([0-9][0-9]*\).*/\1/p' | head -n 1)"
  if [ -n "$declared" ] && [ -z "${CASE_TIMEOUT:-}" ]; then case_timeout="$declared"; fi
  start=$(date +%s)
  # --kill-after: a case that ignores SIGTERM is killed; its children run in
  # their own sessions and are stopped by the case itself.
  timeout --kill-after=10 "$case_timeout" "$JINA_PY" "$f"
  rc=$?
  took=$(( $(date +%s) - start ))
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1)); echo "--- PASS $name (${took}s)"
  else
    failed=$((failed + 1)); failed_names+=("$name")
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
      echo "--- FAIL $name (timed out after ${case_timeout}s)"
    else
      echo "--- FAIL $name (exit $rc, ${took}s)"
    fi
  fi
done
echo "$passed passed, $failed failed${failed_names[*]:+ (${failed_names[*]})}"
[ $failed -eq 0 ]
