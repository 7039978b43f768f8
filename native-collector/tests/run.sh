#!/bin/sh
# Runs every test program of one build directory and prints the totals.
# Usage: tests/run.sh BUILD_DIR   (RUN="qemu-aarch64 -L ..." for cross builds)
set -u
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
passed=0
failed=0

case "$build" in
  *-asan)
    # The ASan runtime must come first in LD_PRELOAD; children such as
    # /bin/sh are not ours, so leaks are not checked in the hooks test.
    asan_rt=$(${CC:-gcc} -print-file-name=libasan.so)
    hooks_env="LD_PRELOAD=$asan_rt ASAN_OPTIONS=detect_leaks=0"
    ;;
  *) hooks_env="" ;;
esac

run() {
  name=$1
  shift
  echo "== $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}

for t in ring_test policy_test text_test policy_fuzz stress_test; do
  run "$t" ${RUN:-} "$build/tests/$t"
done
skipped=0
if [ -n "${RUN:-}" ]; then
  # Under qemu-user the preloaded arm64 library cannot enter this machine's
  # /bin/sh and friends: the hooks test needs a native arm64 machine.
  echo "== hooks_test skipped (cross build under ${RUN%% *})"
  skipped=1
else
  run hooks_test env $hooks_env "$build/tests/hooks_test" "$build" "$here/trailhound-wrapper"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
