#!/bin/sh
# tools/guarded_malloc.c catches what docs/reliability.md says it catches: a write past a block
# (overflow mode), before one (underflow mode), past an aligned block, into the slack before the
# guard (found at the free), after a free; and lets an access inside pass.
# Usage: test_guarded_malloc.sh LIBGUARDED PROBE
set -u
lib=$1 probe=$2
fail=0
expect() {  # expect GUARD ACCESS fault|pass
  GUARD=$1 LD_PRELOAD=$lib "$probe" "$2" >/dev/null 2>&1
  rc=$?
  if [ "$3" = fault ] && [ $rc -ne 139 ]; then
    echo "FAIL: GUARD=$1 $2: exit $rc, expected a segmentation fault (139)"; fail=1
  elif [ "$3" = abort ] && [ $rc -ne 134 ]; then
    echo "FAIL: GUARD=$1 $2: exit $rc, expected an abort at the free (134)"; fail=1
  elif [ "$3" = pass ] && [ $rc -ne 0 ]; then
    echo "FAIL: GUARD=$1 $2: exit $rc, expected 0"; fail=1
  else
    echo "ok: GUARD=$1 $2 -> $3"
  fi
}
expect overflow inside pass
expect underflow inside pass
expect overflow after fault
expect overflow after-aligned fault
expect overflow after-slack abort
expect underflow before fault
expect overflow use-after-free fault
expect underflow use-after-free fault
# Without the allocator the same stray write goes unnoticed: the faults above are its doing.
"$probe" after >/dev/null 2>&1 || { echo "FAIL: the probe faulted without the allocator"; fail=1; }
exit $fail
