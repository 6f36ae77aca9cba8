#!/usr/bin/env bash
# Checks that every C and C++ source in the tree is formatted with the
# project's .clang-format (clang-format 14, Debian 12). --fix rewrites them.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
tool=$(command -v clang-format-14 || command -v clang-format || true)
if [ -z "$tool" ]; then
  echo "format: clang-format not found (apt-get install clang-format)" >&2
  exit 1
fi
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.c')
if [ "${1:-}" = --fix ]; then
  "$tool" -i "${files[@]}"
  exit 0
fi
if ! "$tool" --dry-run -Werror "${files[@]}"; then
  echo "format: the files above are not formatted; run: bash .ci/format.sh --fix" >&2
  exit 1
fi
echo "format: ${#files[@]} files formatted" >&2
