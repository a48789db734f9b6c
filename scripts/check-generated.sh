#!/usr/bin/env bash
# Checks that the committed generated code is current: `make proto`
# regenerates proto/*pb from proto/*.proto, and the result must be what is
# committed (no diff, no new file). Run by .ci/run; run it yourself after
# editing a .proto file.
#
# The generated files name the protoc that made them in a header comment
# ("protoc v3.21.12"; Debian bookworm's protobuf-compiler, which `make
# proto` installs). Another protoc version changes only that comment when
# the output is otherwise the same, so the comparison ignores a hunk made
# only of that comment line (git diff -I) and nothing else: a protoc that
# generates different code (descriptor bytes, types, methods) still fails
# the check. The plugin versions are pinned in the Makefile and their
# header lines are compared like any other line.
set -euo pipefail
cd "$(dirname "$0")/.."
make proto
# Either header shape: "// \tprotoc        vX.Y.Z" (protoc-gen-go) and
# "// - protoc             vX.Y.Z" (protoc-gen-go-grpc).
version_line='^//[[:space:]]+(-[[:space:]]+)?protoc[[:space:]]+v[0-9][0-9.]*$'
status=0
if ! git diff --exit-code -I "$version_line" -- proto/; then
  echo "check-generated: proto/ differs from what \`make proto\` generates (diff above); run \`make proto\` and commit the result" >&2
  status=1
fi
untracked=$(git ls-files --others --exclude-standard -- proto/)
if [ -n "$untracked" ]; then
  echo "check-generated: \`make proto\` made files that are not committed:" >&2
  echo "$untracked" >&2
  status=1
fi
if [ "$status" -eq 0 ] && ! git diff --quiet -- proto/; then
  echo "check-generated: ok (only the protoc version comment differs: $(protoc --version))"
elif [ "$status" -eq 0 ]; then
  echo "check-generated: ok (generated code is current)"
fi
exit "$status"
