// A guard-page allocator to preload under a fuzz target built without AddressSanitizer
// (`GUARD=overflow|underflow tools/fuzz.sh video_reader`, docs/reliability.md).
//
// Why: ASan checks only the code it compiled. A write past a heap block by code it did not compile
// (Debian's FFmpeg and its x86 assembly) is noticed late, if ever, when ASan recycles the block
// whose header was overwritten, and by then the fuzzer holds another input. Here every heap block
// of at least GUARD_MIN_SIZE bytes (default 256: frame and scratch buffers are larger), aligned
// (FFmpeg's av_malloc is posix_memalign) or not, gets its own mapping, with an inaccessible page
// right after its end (GUARD=overflow) or right before its start (GUARD=underflow). The first byte
// written out of bounds faults in the instruction that wrote it, whatever compiled it, with the
// guilty input in hand. A freed block stays inaccessible while GUARD_QUARANTINE (default 4096)
// later blocks are freed, so a write after free faults too. Smaller blocks go to glibc untouched.
//
// Overflow mode leaves up to alignment-1 bytes between a block's end and its guard (16 for malloc,
// FFmpeg's 64 for av_malloc). They are filled with a canary and checked when the block is freed: a
// write there aborts the program at the free, naming the block's size and the offset written.
//
// Built by tools/fuzz.sh: cc -O2 -shared -fPIC tools/guarded_malloc.c -o libguarded_malloc.so -lpthread
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

// glibc's own entry points: no dlsym (which allocates) needed to reach the real allocator.
extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);
extern void __libc_free(void*);
// glibc's malloc_usable_size has no __libc_ twin; found once, lazily (dlsym may allocate: through
// the functions below, which do not need it).
static size_t libc_usable_size(void* p) {
  static size_t (*real)(void*);
  if (real == NULL) real = (size_t (*)(void*))dlsym(RTLD_NEXT, "malloc_usable_size");
  return real(p);
}

enum { kPage = 4096, kTableBits = 20, kTableSize = 1 << kTableBits, kMaxQuarantine = 1 << 14, kCanary = 0xA5 };

typedef struct {
  void* user;    // what the program was given; NULL marks an empty slot
  void* base;    // the whole mapping, guard included
  size_t length; // of the mapping
  size_t size;   // the size asked for
} Block;

static Block table[kTableSize];  // open addressing, linear probing, keyed by `user`
static struct { void* base; size_t length; } quarantine[kMaxQuarantine];
static size_t quarantine_next, quarantine_used;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int mode = -1;  // 0: guard after the block; 1: guard before it
static size_t min_size = 256, quarantine_size = 4096;

// Read by this library's constructor, not at the first allocation: under the fuzz target something
// allocates before the C library has set up the environment, getenv then found nothing, and the
// mode latched there was overflow whatever GUARD said (the GUARD=underflow run of 2026-12-08 ran in
// overflow mode; docs/reliability.md). Blocks allocated before the constructor go to glibc
// unguarded.
__attribute__((constructor)) static void init(void) {
  const char* m = getenv("GUARD");  // getenv does not allocate
  mode = m != NULL && strcmp(m, "underflow") == 0 ? 1 : 0;
  const char* s = getenv("GUARD_MIN_SIZE");
  if (s != NULL) min_size = strtoull(s, NULL, 10);
  const char* q = getenv("GUARD_QUARANTINE");
  if (q != NULL) quarantine_size = strtoull(q, NULL, 10);
  if (quarantine_size > kMaxQuarantine) quarantine_size = kMaxQuarantine;
}

static size_t slot_of(const void* p) {
  uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
  return (size_t)(h >> (64 - kTableBits));
}

static Block* find(const void* p) {
  for (size_t i = slot_of(p);; i = (i + 1) & (kTableSize - 1)) {
    if (table[i].user == p) return &table[i];
    if (table[i].user == NULL) return NULL;
  }
}

static int insert(Block b) {
  size_t i = slot_of(b.user);
  for (size_t n = 0; n < kTableSize / 2; ++n, i = (i + 1) & (kTableSize - 1))
    if (table[i].user == NULL) {
      table[i] = b;
      return 1;
    }
  return 0;  // half full: refuse rather than degrade (the caller falls back to glibc)
}

// Linear probing's deletion without tombstones: later entries of the run move back into the hole.
static void erase(Block* b) {
  size_t hole = (size_t)(b - table);
  table[hole].user = NULL;
  for (size_t j = (hole + 1) & (kTableSize - 1); table[j].user != NULL; j = (j + 1) & (kTableSize - 1)) {
    size_t home = slot_of(table[j].user);
    int between = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!between) {
      table[hole] = table[j];
      table[j].user = NULL;
      hole = j;
    }
  }
}

// The slack between a block and its guard page (overflow mode) still holds the canary; if not, the
// program is stopped here: the write happened between the allocation and now.
static void check_slack(const Block* b) {
  if (mode != 0) return;
  const unsigned char* end = (const unsigned char*)b->user + b->size;
  const unsigned char* guard = (const unsigned char*)b->base + b->length - kPage;
  for (const unsigned char* q = end; q < guard; ++q)
    if (*q != kCanary) {
      char msg[160];
      int n = snprintf(msg, sizeof msg, "guarded_malloc: a write %zu bytes past the end of a %zu-byte block, found "
                       "when it was freed\n", (size_t)(q - end), b->size);
      if (n > 0) write(2, msg, (size_t)n);
      abort();
    }
}

static void retire(void* base, size_t length) {
  if (quarantine_size == 0) {
    munmap(base, length);
    return;
  }
  mprotect(base, length, PROT_NONE);
  madvise(base, length, MADV_DONTNEED);
  if (quarantine_used == quarantine_size) {
    munmap(quarantine[quarantine_next].base, quarantine[quarantine_next].length);
  } else {
    ++quarantine_used;
  }
  quarantine[quarantine_next].base = base;
  quarantine[quarantine_next].length = length;
  quarantine_next = (quarantine_next + 1) % quarantine_size;
}

// A block of `size` bytes aligned to `align` (a power of two) beside a guard page; NULL when the
// mapping fails or the table is full.
static void* guarded(size_t size, size_t align) {
  if (align < 16) align = 16;
  if (align > kPage) return NULL;
  size_t span = (size + align - 1) & ~(align - 1);
  if (span == 0) span = align;
  size_t data_pages = (span + kPage - 1) / kPage;
  size_t length = (data_pages + 1) * kPage;
  char* base = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return NULL;
  char* user;
  if (mode == 0) {
    mprotect(base + data_pages * kPage, kPage, PROT_NONE);
    user = base + data_pages * kPage - span;
  } else {
    mprotect(base, kPage, PROT_NONE);
    user = base + kPage;
  }
  if (mode == 0) memset(user + size, kCanary, span - size);  // what check_slack looks at
  Block b = {user, base, length, size};
  if (!insert(b)) {
    munmap(base, length);
    return NULL;
  }
  return user;
}

static void* allocate(size_t size, size_t align) {
  if (mode < 0 || size < min_size) return NULL;  // before the constructor, or small: glibc's
  pthread_mutex_lock(&lock);
  void* p = guarded(size, align);
  pthread_mutex_unlock(&lock);
  return p;
}

void* malloc(size_t size) {
  void* p = allocate(size, 16);
  return p != NULL ? p : __libc_malloc(size);
}

void* calloc(size_t n, size_t size) {
  if (size != 0 && n > SIZE_MAX / size) {
    errno = ENOMEM;
    return NULL;
  }
  void* p = allocate(n * size, 16);  // a fresh mapping is zero
  return p != NULL ? p : __libc_calloc(n, size);
}

void* memalign(size_t align, size_t size) {
  void* p = allocate(size, align);
  return p != NULL ? p : __libc_memalign(align, size);
}

int posix_memalign(void** out, size_t align, size_t size) {
  if (align == 0 || (align & (align - 1)) != 0 || align % sizeof(void*) != 0) return EINVAL;
  void* p = memalign(align, size);
  if (p == NULL) return ENOMEM;
  *out = p;
  return 0;
}

void* aligned_alloc(size_t align, size_t size) { return memalign(align, size); }
void* valloc(size_t size) { return memalign(kPage, size); }
void* pvalloc(size_t size) { return memalign(kPage, (size + kPage - 1) & ~(size_t)(kPage - 1)); }

// The size of a guarded block, or (size_t)-1 when `p` is glibc's.
static size_t guarded_size(void* p) {
  pthread_mutex_lock(&lock);
  Block* b = find(p);
  size_t size = b != NULL ? b->size : (size_t)-1;
  pthread_mutex_unlock(&lock);
  return size;
}

void free(void* p) {
  if (p == NULL) return;
  pthread_mutex_lock(&lock);
  Block* b = find(p);
  if (b != NULL) {
    check_slack(b);
    void* base = b->base;
    size_t length = b->length;
    erase(b);
    retire(base, length);
    pthread_mutex_unlock(&lock);
    return;
  }
  pthread_mutex_unlock(&lock);
  __libc_free(p);
}

void cfree(void* p) { free(p); }

size_t malloc_usable_size(void* p) {
  if (p == NULL) return 0;
  size_t size = guarded_size(p);
  return size != (size_t)-1 ? size : libc_usable_size(p);
}

void* realloc(void* p, size_t size) {
  if (p == NULL) return malloc(size);
  size_t old = guarded_size(p);
  if (old == (size_t)-1 && size < min_size) return __libc_realloc(p, size);
  // FFmpeg's av_realloc passes av_malloc'd (guarded) blocks to realloc: a new guarded block each time.
  void* q = malloc(size);
  if (q == NULL) return NULL;
  if (old == (size_t)-1) old = libc_usable_size(p);
  memcpy(q, p, old < size ? old : size);
  free(p);
  return q;
}
