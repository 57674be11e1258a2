/* Counts a program's OpenMP parallel regions by the function they run (an LD_PRELOAD shim over
 * libgomp's GOMP_parallel), printing the busiest at exit: where a step's region starts come from,
 * each a thread wake-up under OMP_WAIT_POLICY=PASSIVE (docs/perf/cpu.md).
 *   gcc -O2 -shared -fPIC -o /tmp/omp_region_count.so tools/omp_region_count.c -ldl
 *   LD_PRELOAD=/tmp/omp_region_count.so build/tools/mtmap bench --no-peer --step-only --reps 1 --rounds 1
 * Each line: regions, offset in its object, object; `addr2line -f -C -e OBJECT OFFSET` names it.
 * Regions whose if() clause made them one-thread are counted apart (they wake nobody). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SLOTS 4096
static void* fns[SLOTS];
static unsigned long counts[SLOTS], regions, one_thread;

typedef void (*parallel_fn)(void (*)(void*), void*, unsigned, unsigned);

void GOMP_parallel(void (*fn)(void*), void* data, unsigned threads, unsigned flags) {
  static parallel_fn real;
  if (!real) real = (parallel_fn)dlsym(RTLD_NEXT, "GOMP_parallel");
  __atomic_fetch_add(&regions, 1, __ATOMIC_RELAXED);
  if (threads == 1) {
    __atomic_fetch_add(&one_thread, 1, __ATOMIC_RELAXED);
  } else {
    unsigned h = (unsigned)(((uintptr_t)fn >> 4) % SLOTS);
    while (fns[h] && fns[h] != (void*)fn) h = (h + 1) % SLOTS;
    fns[h] = (void*)fn;
    counts[h]++;
  }
  real(fn, data, threads, flags);
}

static int by_count(const void* a, const void* b) {
  unsigned long x = counts[*(const int*)a], y = counts[*(const int*)b];
  return x < y ? 1 : x > y ? -1 : 0;
}

__attribute__((destructor)) static void report(void) {
  static int order[SLOTS];
  for (int i = 0; i < SLOTS; ++i) order[i] = i;
  qsort(order, SLOTS, sizeof(int), by_count);
  fprintf(stderr, "OpenMP regions: %lu (%lu of them one-thread)\n", regions, one_thread);
  for (int i = 0; i < 30 && counts[order[i]]; ++i) {
    Dl_info info;
    dladdr(fns[order[i]], &info);
    fprintf(stderr, "%8lu 0x%lx %s\n", counts[order[i]], (unsigned long)((char*)fns[order[i]] - (char*)info.dli_fbase),
            info.dli_fname);
  }
}
