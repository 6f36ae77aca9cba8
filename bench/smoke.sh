#!/usr/bin/env bash
# smoke.sh — the ctest bench.smoke: `run.sh ARGS` completes and prints its
# table.  No timing is checked: a loaded CI machine must not fail it.
set -euo pipefail
output=$(bash "$(dirname "${BASH_SOURCE[0]}")/run.sh" "$@")
printf '%s\n' "$output"
if ! grep -q '^| figure ' <<<"$output"; then
  echo "smoke.sh: run.sh printed no table" >&2
  exit 1
fi
