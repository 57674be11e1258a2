// The CPU emulation of the CUDA kernel dialect (emu.h): fibers, barriers, warp exchanges, the
// tensor-core instructions' fragment layouts, deferred cp.async copies and global-read checks, and
// the schedule (thread order, cp.async landing, per-block static shared memory) chosen on purpose.
#include "tests/cuda_emu/emulator/emu.h"

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

#include <algorithm>
#include <array>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define MTMAP_EMU_ASAN 1
#else
#define MTMAP_EMU_ASAN 0
#endif

// The bounds of the section holding every static __shared__ variable (emu.h's __shared__), defined
// by the linker when the program has one; weak, so a program without any links too.
extern "C" {
extern unsigned char __start_mtmap_emu_shared[] __attribute__((weak));
extern unsigned char __stop_mtmap_emu_shared[] __attribute__((weak));
}

namespace mtmap::emu {

namespace {

// AddressSanitizer needs bigger frames (redzones); a kernel's locals are a few KB at most.
constexpr size_t kStackBytes = MTMAP_EMU_ASAN ? 512 * 1024 : 128 * 1024;

enum class Wait : uint8_t { none, block_barrier, warp_exchange, grid_barrier };

// ---- execution contexts -----------------------------------------------------------------------
// On x86-64 a switch saves the callee-saved registers and the FP control words on the old stack
// and pops them from the new one: no system call (glibc's swapcontext also saves the signal mask,
// a system call per switch, which made the emulator spend half its time in the kernel).
#if defined(__x86_64__)
struct Context {
  void* sp = nullptr;
};
extern "C" void mtmap_emu_switch(void** save_sp, void* load_sp);
asm(R"(
  .text
  .globl mtmap_emu_switch
  .type mtmap_emu_switch, @function
mtmap_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $16, %rsp
  stmxcsr 8(%rsp)
  fnstcw (%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr 8(%rsp)
  fldcw (%rsp)
  addq $16, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size mtmap_emu_switch, .-mtmap_emu_switch
  .section .note.GNU-stack,"",@progbits
  .text
)");
// A fresh context whose first switch "returns" into entry() with the stack aligned as after a call.
void make_context(Context& c, char* stack, size_t bytes, void (*entry)()) {
  uintptr_t top = (reinterpret_cast<uintptr_t>(stack) + bytes) & ~uintptr_t(15);
  auto* sp = reinterpret_cast<uint64_t*>(top);
  *--sp = 0;                                    // entry's return address: it never returns
  *--sp = reinterpret_cast<uint64_t>(entry);    // popped by ret; rsp ≡ 8 (mod 16) inside entry
  for (int i = 0; i < 6; ++i) *--sp = 0;        // rbp rbx r12 r13 r14 r15
  *--sp = 0x1f80;                               // MXCSR default (8(%rsp) after the next line)
  *--sp = 0x037f;                               // x87 control word default
  c.sp = sp;
}
void switch_context(Context& from, Context& to) { mtmap_emu_switch(&from.sp, to.sp); }
#else
struct Context {
  ucontext_t uc{};
};
void make_context(Context& c, char* stack, size_t bytes, void (*entry)()) {
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack;
  c.uc.uc_stack.ss_size = bytes;
  c.uc.uc_link = nullptr;
  makecontext(&c.uc, entry, 0);
}
void switch_context(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
#endif

struct Copy {
  void* dst;
  unsigned char bytes[16];
};

struct Fiber {
  Context ctx;
  std::unique_ptr<char[]> stack;
  dim3 tid;
  unsigned linear = 0;
  bool done = false;
  Wait wait = Wait::none;
  std::vector<Copy> uncommitted;          // cp.async issued since the last commit
  std::deque<std::vector<Copy>> groups;   // committed, not yet landed (oldest first)
  void* asan_fake_stack = nullptr;
  struct Block* block = nullptr;
};

struct Warp {
  unsigned lanes = 0;  // live lanes
  unsigned arrived = 0;
  uint64_t generation = 0;
  alignas(16) unsigned char slot[2][32][kSlotBytes];
};

// One CTA's state: its warps, barrier and dynamic shared memory.
struct Block {
  dim3 index;
  std::vector<Warp> warps;
  unsigned threads = 0, live = 0, exited = 0;
  unsigned barrier_arrived = 0;
  uint64_t barrier_generation = 0;
  unsigned barrier_count = 0;       // predicates true so far (__syncthreads_count/and/or)
  unsigned barrier_result[2] = {};  // the count of each generation, by parity
  unsigned barrier_size[2] = {};    // threads that took part
  std::vector<unsigned char> smem_storage;
  unsigned char* dynamic_smem = nullptr;  // 128-byte aligned inside the storage
  std::vector<unsigned char> static_smem;  // this block's static __shared__ while another block runs
};

struct Launch {
  dim3 grid, block;
  BlockBody body = nullptr;
  void* closure = nullptr;
  bool cooperative = false;  // every block at once, with a grid-wide barrier
  std::vector<Block> blocks;  // the blocks running now: one, or all of a cooperative grid
  std::vector<Fiber> fibers;  // their threads, block after block
  size_t dynamic_smem_bytes = 0;
  unsigned grid_arrived = 0, grid_live = 0;
  uint64_t grid_generation = 0;
  uint64_t progress = 0;
  Fiber* current = nullptr;
  Context scheduler;
  const void* scheduler_stack = nullptr;
  size_t scheduler_stack_bytes = 0;
  std::string error;
  Schedule schedule;
  uint64_t number = 0;        // launches in this process before this one
  uint64_t random_state = 0;  // splitmix64, from (schedule.seed, number)
  Block* static_owner = nullptr;  // whose static __shared__ the section holds now
};

// splitmix64: small, and the same sequence on every platform (std::shuffle's algorithm is not).
uint64_t next_random(Launch& L) {
  uint64_t z = (L.random_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// ---- static __shared__: one section, poisoned per block, swapped per block in a cooperative grid --
unsigned char* static_shared_begin() { return __start_mtmap_emu_shared; }

void prepare_static_shared(unsigned char* p, size_t bytes) {
#if MTMAP_EMU_ASAN
  // A compiler that puts redzones between the section's variables must not see them as overflows.
  __asan_unpoison_memory_region(p, bytes);
#else
  (void)p, (void)bytes;
#endif
}

void poison_static_shared() {
  const size_t bytes = static_shared_bytes();
  if (bytes == 0) return;
  prepare_static_shared(static_shared_begin(), bytes);
  std::memset(static_shared_begin(), 0xff, bytes);  // NaN: uninitialised, as on a GPU
}

// Makes the section hold block b's static __shared__ variables (saving the previous owner's).
void activate_static_shared(Launch& L, Block& b) {
  const size_t bytes = static_shared_bytes();
  if (bytes == 0 || L.static_owner == &b) return;
  unsigned char* section = static_shared_begin();
  prepare_static_shared(section, bytes);
  if (L.static_owner) std::memcpy(L.static_owner->static_smem.data(), section, bytes);
  std::memcpy(section, b.static_smem.data(), bytes);
  L.static_owner = &b;
}

thread_local Launch* g_launch = nullptr;

Launch& launch_state() {
  if (!g_launch) throw std::logic_error("cuda emulator: a device function was called outside a kernel launch");
  return *g_launch;
}

std::string str(const dim3& d) {
  return "(" + std::to_string(d.x) + "," + std::to_string(d.y) + "," + std::to_string(d.z) + ")";
}

std::string where(const Fiber& f) { return "block " + str(f.block->index) + " thread " + str(f.tid); }

// The fibers' turn order for the next round of the scheduler.
void arrange(Launch& L, std::vector<size_t>& order) {
  switch (L.schedule.order) {
    case ThreadOrder::ascending:
      break;
    case ThreadOrder::descending:
      std::iota(order.rbegin(), order.rend(), size_t(0));
      break;
    case ThreadOrder::random:
      for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[size_t(next_random(L) % i)]);
      break;
  }
}

// ---- fiber switches, annotated for AddressSanitizer -------------------------------------------
void enter_fiber(Launch& L, Fiber& f) {
  L.current = &f;
#if MTMAP_EMU_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, f.stack.get(), kStackBytes);
  switch_context(L.scheduler, f.ctx);
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
  switch_context(L.scheduler, f.ctx);
#endif
}

void fiber_resumed(Launch& L, Fiber& f) {
#if MTMAP_EMU_ASAN
  __sanitizer_finish_switch_fiber(f.asan_fake_stack, &L.scheduler_stack, &L.scheduler_stack_bytes);
#else
  (void)L, (void)f;
#endif
}

// Back to the scheduler; returns when the scheduler resumes this fiber.
void yield() {
  Launch& L = launch_state();
  Fiber& f = *L.current;
#if MTMAP_EMU_ASAN
  __sanitizer_start_switch_fiber(&f.asan_fake_stack, L.scheduler_stack, L.scheduler_stack_bytes);
#endif
  switch_context(f.ctx, L.scheduler);
  fiber_resumed(L, f);
}

void fail(Launch& L, const std::string& what) {
  if (L.error.empty()) L.error = what;
}

void land(std::vector<Copy>& group) {
  for (Copy& c : group) std::memcpy(c.dst, c.bytes, 16);
  group.clear();
}

void fiber_main() {
  Launch& L = *g_launch;
  Fiber& f = *L.current;
  Block& b = *f.block;
  fiber_resumed(L, f);
  try {
    L.body(L.closure);
  } catch (const std::exception& e) {
    fail(L, where(f) + ": " + e.what());
  }
  // Copies still in flight land (the kernel's end waits for them, as the hardware's does).
  for (auto& g : f.groups) land(g);
  land(f.uncommitted);
  f.done = true;
  --b.live;
  ++b.exited;
  --L.grid_live;
  ++L.progress;
  --b.warps[f.linear / 32].lanes;
  if (b.barrier_arrived > 0)
    fail(L, where(f) + " exited while " + std::to_string(b.barrier_arrived) +
                " thread(s) of its block wait at __syncthreads()");
  if (b.warps[f.linear / 32].arrived > 0)
    fail(L, where(f) + " exited while lanes of its warp wait in a warp-wide operation");
  if (L.grid_arrived > 0) fail(L, where(f) + " exited while threads of the grid wait at the grid barrier");
#if MTMAP_EMU_ASAN
  __sanitizer_start_switch_fiber(nullptr, L.scheduler_stack, L.scheduler_stack_bytes);
#endif
  Context dead;  // this fiber is never resumed
  switch_context(dead, L.scheduler);
}

std::string waiting_summary(const Launch& L) {
  unsigned at_block = 0, at_warp = 0, at_grid = 0, exited = 0;
  for (const Fiber& f : L.fibers) {
    exited += f.done;
    if (f.done) continue;
    at_block += f.wait == Wait::block_barrier;
    at_warp += f.wait == Wait::warp_exchange;
    at_grid += f.wait == Wait::grid_barrier;
  }
  return std::to_string(at_block) + " thread(s) at __syncthreads(), " + std::to_string(at_warp) +
         " in a warp-wide operation, " + std::to_string(at_grid) + " at the grid barrier, " + std::to_string(exited) +
         " exited";
}

// Runs the given blocks (one, or a whole cooperative grid) to completion on L.fibers.
void run_blocks(Launch& L, const std::vector<dim3>& indices) {
  const unsigned n = L.block.x * L.block.y * L.block.z;
  L.blocks.resize(indices.size());
  L.grid_arrived = 0;
  L.grid_live = unsigned(indices.size()) * n;
  for (size_t bi = 0; bi < indices.size(); ++bi) {
    Block& b = L.blocks[bi];
    b.index = indices[bi];
    b.threads = b.live = n;
    b.exited = b.barrier_arrived = b.barrier_count = 0;
    b.warps.assign((n + 31) / 32, Warp{});
    for (unsigned w = 0; w < b.warps.size(); ++w) b.warps[w].lanes = std::min(32u, n - 32 * w);
    if (L.dynamic_smem_bytes) {
      if (b.smem_storage.size() != L.dynamic_smem_bytes + 128) {
        b.smem_storage.assign(L.dynamic_smem_bytes + 128, 0);
        uintptr_t a = reinterpret_cast<uintptr_t>(b.smem_storage.data());
        b.dynamic_smem = b.smem_storage.data() + ((128 - a % 128) % 128);
      }
      std::memset(b.dynamic_smem, 0xff, L.dynamic_smem_bytes);  // NaN: uninitialised
    }
    if (indices.size() > 1) b.static_smem.assign(static_shared_bytes(), 0xff);
    for (unsigned i = 0; i < n; ++i) {
      Fiber& f = L.fibers[bi * n + i];
      f.block = &b;
      f.tid = dim3(i % L.block.x, i / L.block.x % L.block.y, i / (L.block.x * L.block.y));
      f.linear = i;
      f.done = false;
      f.wait = Wait::none;
      f.uncommitted.clear();
      f.groups.clear();
#if MTMAP_EMU_ASAN
      // The stack is reused from the previous block, whose frames were left, not unwound.
      __asan_unpoison_memory_region(f.stack.get(), kStackBytes);
#endif
      make_context(f.ctx, f.stack.get(), kStackBytes, fiber_main);
    }
  }
  // One block: the section is its own, poisoned. A cooperative grid: each block's copy is swapped in
  // when one of its threads takes a turn.
  L.static_owner = nullptr;
  if (indices.size() == 1) {
    poison_static_shared();
    L.static_owner = &L.blocks[0];
  }
  const size_t count = indices.size() * n;
  std::vector<size_t> order(count);
  std::iota(order.begin(), order.end(), size_t(0));
  while (L.grid_live > 0 && L.error.empty()) {
    uint64_t before = L.progress;
    arrange(L, order);
    for (size_t i : order) {
      Fiber& f = L.fibers[i];
      if (f.done) continue;
      if (indices.size() > 1) activate_static_shared(L, *f.block);
      enter_fiber(L, f);
      if (!L.error.empty()) break;
    }
    if (L.error.empty() && L.grid_live > 0 && L.progress == before)
      fail(L, "deadlock in block " + str(indices.size() == 1 ? indices[0] : dim3(0, 0, 0)) +
                  (indices.size() == 1 ? "" : " (cooperative grid)") + ": " + waiting_summary(L));
  }
}

// ---- the process's schedule ----------------------------------------------------------------------
struct ScheduleState {
  std::mutex mu;
  bool loaded = false;
  Schedule schedule;
  std::string error;  // a bad environment variable, reported at the next launch
  uint64_t launches = 0;
};
ScheduleState& schedule_state() {
  static ScheduleState* s = new ScheduleState;
  return *s;
}

// Reads MTMAP_EMU_ORDER, MTMAP_EMU_CP_ASYNC and MTMAP_EMU_SEED once (with the state's lock held).
void load_schedule(ScheduleState& st) {
  if (st.loaded) return;
  st.loaded = true;
  if (const char* v = std::getenv("MTMAP_EMU_ORDER")) {
    const std::string s = v;
    if (s == "ascending") st.schedule.order = ThreadOrder::ascending;
    else if (s == "descending") st.schedule.order = ThreadOrder::descending;
    else if (s == "random") st.schedule.order = ThreadOrder::random;
    else st.error = "MTMAP_EMU_ORDER='" + s + "': expected ascending, descending or random";
  }
  if (const char* v = std::getenv("MTMAP_EMU_CP_ASYNC")) {
    const std::string s = v;
    if (s == "wait") st.schedule.landing = CpAsyncLanding::at_wait;
    else if (s == "issue") st.schedule.landing = CpAsyncLanding::at_issue;
    else if (s == "random") st.schedule.landing = CpAsyncLanding::random;
    else st.error = "MTMAP_EMU_CP_ASYNC='" + s + "': expected wait, issue or random";
  }
  if (const char* v = std::getenv("MTMAP_EMU_SEED")) {
    char* end = nullptr;
    const unsigned long long seed = std::strtoull(v, &end, 10);
    if (*v == '\0' || *end != '\0') st.error = "MTMAP_EMU_SEED='" + std::string(v) + "': expected an unsigned integer";
    else st.schedule.seed = seed;
  }
}

// Every launch runs alone: the static __shared__ section is one per process.
std::mutex& launch_mutex() {
  static std::mutex* m = new std::mutex;
  return *m;
}

struct Registry {
  std::mutex mu;  // cudaMalloc may be called from any thread
  std::map<uintptr_t, size_t> buffers;  // begin → bytes
};
// Never destroyed: buffers are unregistered from static destructors at exit.
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

}  // namespace

Schedule schedule() {
  ScheduleState& st = schedule_state();
  std::lock_guard<std::mutex> lock(st.mu);
  load_schedule(st);
  return st.schedule;
}

void set_schedule(const Schedule& s) {
  ScheduleState& st = schedule_state();
  std::lock_guard<std::mutex> lock(st.mu);
  load_schedule(st);
  st.schedule = s;
}

std::string describe(const Schedule& s) {
  const char* order = s.order == ThreadOrder::ascending ? "ascending" : s.order == ThreadOrder::descending ? "descending" : "random";
  const char* landing = s.landing == CpAsyncLanding::at_wait ? "at the wait" : s.landing == CpAsyncLanding::at_issue ? "at issue" : "random";
  return std::string("thread order ") + order + ", cp.async landing " + landing + ", seed " + std::to_string(s.seed);
}

size_t static_shared_bytes() {
  if (!__start_mtmap_emu_shared || !__stop_mtmap_emu_shared) return 0;
  return size_t(__stop_mtmap_emu_shared - __start_mtmap_emu_shared);
}

// ---- built-ins ------------------------------------------------------------------------------------
const dim3& thread_idx() { return launch_state().current->tid; }
const dim3& block_idx() { return launch_state().current->block->index; }
const dim3& block_dim() { return launch_state().block; }
const dim3& grid_dim() { return launch_state().grid; }
unsigned lane_id() { return launch_state().current->linear % 32; }
void* dynamic_shared_memory() { return launch_state().current->block->dynamic_smem; }

void kernel_error(const std::string& what) { throw std::runtime_error(what); }

unsigned sync_block_count(bool predicate) {
  Launch& L = launch_state();
  Fiber& f = *L.current;
  Block& b = *f.block;
  if (b.exited > 0)
    kernel_error("__syncthreads() reached after " + std::to_string(b.exited) + " thread(s) of the block exited");
  const uint64_t generation = b.barrier_generation;
  ++b.barrier_arrived;
  b.barrier_count += predicate;
  ++L.progress;
  if (b.barrier_arrived == b.live) {
    // Kept by parity: a thread released here may reach the next barrier before the others read it.
    b.barrier_result[generation & 1] = b.barrier_count;
    b.barrier_size[generation & 1] = b.barrier_arrived;
    b.barrier_arrived = 0;
    b.barrier_count = 0;
    ++b.barrier_generation;
  } else {
    f.wait = Wait::block_barrier;
    while (b.barrier_generation == generation) yield();
    f.wait = Wait::none;
  }
  return b.barrier_result[generation & 1];
}

void sync_block() { sync_block_count(false); }

bool sync_block_and(bool predicate) {
  Block& b = *launch_state().current->block;
  const uint64_t generation = b.barrier_generation;
  unsigned count = sync_block_count(predicate);
  return count == b.barrier_size[generation & 1];
}

void sync_grid() {
  Launch& L = launch_state();
  Fiber& f = *L.current;
  if (!L.cooperative) kernel_error("a grid-wide barrier in a kernel not launched cooperatively");
  const uint64_t generation = L.grid_generation;
  ++L.grid_arrived;
  ++L.progress;
  if (L.grid_arrived == L.grid_live) {
    L.grid_arrived = 0;
    ++L.grid_generation;
  } else {
    f.wait = Wait::grid_barrier;
    while (L.grid_generation == generation) yield();
    f.wait = Wait::none;
  }
}

const unsigned char* warp_exchange(const void* mine, size_t bytes) {
  if (bytes > kSlotBytes) kernel_error("warp exchange of more than kSlotBytes");
  Launch& L = launch_state();
  Fiber& f = *L.current;
  Warp& w = f.block->warps[f.linear / 32];
  const unsigned expected = std::min(32u, f.block->threads - f.linear / 32 * 32);
  if (w.lanes != expected) kernel_error("warp-wide operation after a lane of the warp exited");
  // Two slots, alternating by generation: a lane can deposit for the next exchange only after
  // every lane arrived at this one, i.e. after all of them read the previous one's slot.
  const uint64_t generation = w.generation;
  unsigned char* slot = &w.slot[generation & 1][0][0];
  std::memcpy(slot + size_t(f.linear % 32) * kSlotBytes, mine, bytes);
  ++w.arrived;
  ++L.progress;
  if (w.arrived == w.lanes) {
    w.arrived = 0;
    ++w.generation;
  } else {
    f.wait = Wait::warp_exchange;
    while (w.generation == generation) yield();
    f.wait = Wait::none;
  }
  return slot;
}

// ---- global memory ----------------------------------------------------------------------------
DeviceBuffer::DeviceBuffer(const void* p, size_t bytes) : p_(p) {
  std::lock_guard<std::mutex> lock(registry().mu);
  registry().buffers[reinterpret_cast<uintptr_t>(p)] = bytes;
}
DeviceBuffer::~DeviceBuffer() {
  std::lock_guard<std::mutex> lock(registry().mu);
  registry().buffers.erase(reinterpret_cast<uintptr_t>(p_));
}

void check_global_read(const void* p, size_t bytes, const char* what) {
  std::unique_lock<std::mutex> lock(registry().mu);
  auto& b = registry().buffers;
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = b.upper_bound(a);
  if (it != b.begin()) {
    --it;
    if (a >= it->first && a + bytes <= it->first + it->second) return;
  }
  lock.unlock();
  kernel_error(std::string(what) + " of " + std::to_string(bytes) + " bytes at " + std::to_string(a) +
               " is outside every device buffer");
}

void check_alignment(const void* p, size_t alignment, const char* what) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (alignment > 1 && a % alignment != 0)
    kernel_error(std::string(what) + " at " + std::to_string(a) + ": misaligned address (needs " +
                 std::to_string(alignment) + "-byte alignment)");
}

// ---- tensor-core instructions ---------------------------------------------------------------------
namespace {
float bf16_lo(uint32_t r) { return __uint_as_float(r << 16); }
float bf16_hi(uint32_t r) { return __uint_as_float(r & 0xffff0000u); }
float tf32(uint32_t r) { return __uint_as_float(r & 0xffffe000u); }

struct MmaRegs {
  uint32_t a[4], b[2];
};

// Every lane's A and B registers, exchanged across the warp and copied out once: an mma reads each
// lane's registers 4-16 times, and under AddressSanitizer each copy out of the exchange is an
// intercepted memcpy (a third of the sanitized igemm tests' time when every read copied).
std::array<MmaRegs, 32> warp_mma_regs(const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  MmaRegs mine{{a[0], a[1], a[2], a[3]}, {b[0], b[1]}};
  const unsigned char* all = warp_exchange(&mine, sizeof mine);
  std::array<MmaRegs, 32> regs;
  for (int lane = 0; lane < 32; ++lane) regs[size_t(lane)] = detail::lane_value<MmaRegs>(all, lane);
  return regs;
}
}  // namespace

// Lane l = 4g + t (PTX ISA, "Matrix fragments for mma.m16n8k16"):
//   A[r][k] sits in lane 4·(r % 8) + (k % 8) / 2, register (r ≥ 8) + 2·(k ≥ 8), half k % 2;
//   B[k][n] in lane 4·n + (k % 8) / 2, register (k ≥ 8), half k % 2;
//   the lane's d[e] is C[g + 8·(e ≥ 2)][2t + e % 2].
void mma_m16n8k16_bf16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  const std::array<MmaRegs, 32> regs = warp_mma_regs(a, b);
  auto A = [&](int r, int k) {
    uint32_t v = regs[4 * (r % 8) + (k % 8) / 2].a[(r >= 8) + 2 * (k >= 8)];
    return k % 2 ? bf16_hi(v) : bf16_lo(v);
  };
  auto B = [&](int k, int n) {
    uint32_t v = regs[4 * n + (k % 8) / 2].b[k >= 8];
    return k % 2 ? bf16_hi(v) : bf16_lo(v);
  };
  const int lane = int(lane_id()), g = lane / 4, t = lane % 4;
  for (int e = 0; e < 4; ++e) {
    int r = g + 8 * (e >= 2), c = 2 * t + e % 2;
    double s = 0;
    for (int k = 0; k < 16; ++k) s += double(A(r, k)) * double(B(k, c));
    d[e] = float(double(d[e]) + s);
  }
}

//   A[r][k] in lane 4·(r % 8) + k % 4, register (r ≥ 8) + 2·(k ≥ 4); B[k][n] in lane 4·n + k % 4,
//   register (k ≥ 4); C as above.
void mma_m16n8k8_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  const std::array<MmaRegs, 32> regs = warp_mma_regs(a, b);
  auto A = [&](int r, int k) { return tf32(regs[4 * (r % 8) + k % 4].a[(r >= 8) + 2 * (k >= 4)]); };
  auto B = [&](int k, int n) { return tf32(regs[4 * n + k % 4].b[k >= 4]); };
  const int lane = int(lane_id()), g = lane / 4, t = lane % 4;
  for (int e = 0; e < 4; ++e) {
    int r = g + 8 * (e >= 2), c = 2 * t + e % 2;
    double s = 0;
    for (int k = 0; k < 8; ++k) s += double(A(r, k)) * double(B(k, c));
    d[e] = float(double(d[e]) + s);
  }
}

// Matrix i's row j comes from the address of lane 8i + j (16 bytes, 8 b16 elements). Lane l gets
// elements (l/4, 2(l%4)) and (l/4, 2(l%4)+1) of each matrix, or of its transpose with .trans.
template <int NUM>
void ldmatrix(uint32_t (&r)[NUM], const void* row_address, bool trans) {
  static_assert(NUM == 1 || NUM == 2 || NUM == 4);
  // The row addresses the instruction reads (lanes below 8·NUM) are 16-byte rows.
  if (int(lane_id()) < 8 * NUM) check_alignment(row_address, 16, "ldmatrix");
  const unsigned char* all = warp_exchange(&row_address, sizeof row_address);
  const int lane = int(lane_id());
  auto element = [&](int m, int row, int col) {
    auto* p = detail::lane_value<const uint16_t*>(all, 8 * m + row);
    return uint32_t(p[col]);
  };
  for (int m = 0; m < NUM; ++m) {
    int i = lane / 4, j = 2 * (lane % 4);
    uint32_t lo = trans ? element(m, j, i) : element(m, i, j);
    uint32_t hi = trans ? element(m, j + 1, i) : element(m, i, j + 1);
    r[m] = lo | (hi << 16);
  }
}
template void ldmatrix<1>(uint32_t (&)[1], const void*, bool);
template void ldmatrix<2>(uint32_t (&)[2], const void*, bool);
template void ldmatrix<4>(uint32_t (&)[4], const void*, bool);

uint32_t cvt_rna_tf32(float f) {
  uint32_t u = __float_as_uint(f);
  if ((u & 0x7f800000u) == 0x7f800000u) return u;  // Inf and NaN pass unchanged
  return (u + 0x1000u) & 0xffffe000u;              // half an ulp on the magnitude: ties away from 0
}

// ---- cp.async ---------------------------------------------------------------------------------------
void cp_async_16(void* smem, const void* gmem, int src_bytes) {
  Launch& L = launch_state();
  Fiber& f = *L.current;
  Copy c{smem, {}};
  if (src_bytes < 0 || src_bytes > 16) kernel_error("cp.async with a source size outside 0..16");
  check_alignment(smem, 16, "cp.async (shared destination)");
  check_alignment(gmem, 16, "cp.async (global source)");
  if (src_bytes > 0) {
    check_global_read(gmem, size_t(src_bytes), "cp.async");
    std::memcpy(c.bytes, gmem, size_t(src_bytes));
  }
  const CpAsyncLanding landing = L.schedule.landing;
  if (landing == CpAsyncLanding::at_issue || (landing == CpAsyncLanding::random && (next_random(L) & 1))) {
    std::memcpy(c.dst, c.bytes, 16);  // the earliest a GPU may land it
    return;
  }
  f.uncommitted.push_back(c);
}

void cp_async_commit() {
  Fiber& f = *launch_state().current;
  f.groups.push_back(std::move(f.uncommitted));
  f.uncommitted.clear();
}

void cp_async_wait(int pending_groups) {
  Fiber& f = *launch_state().current;
  while (f.groups.size() > size_t(std::max(0, pending_groups))) {
    land(f.groups.front());
    f.groups.pop_front();
  }
}

// ---- launches -------------------------------------------------------------------------------------
void run_grid(dim3 grid, dim3 block, size_t dynamic_smem_bytes, BlockBody body, void* closure, bool cooperative) {
  if (g_launch) throw std::logic_error("cuda emulator: a launch from inside a kernel");
  const unsigned n = block.x * block.y * block.z;
  if (n == 0 || n > 1024) throw std::invalid_argument("cuda emulator: block of " + std::to_string(n) + " threads");
  const uint64_t blocks = uint64_t(grid.x) * grid.y * grid.z;
  if (blocks == 0) throw std::invalid_argument("cuda emulator: empty grid");
  if (grid.y > 65535 || grid.z > 65535) throw std::invalid_argument("cuda emulator: grid " + str(grid) + " too tall");
  if (cooperative && blocks > uint64_t(kCooperativeBlocks))
    throw std::invalid_argument("cuda emulator: cooperative grid of " + std::to_string(blocks) +
                                " blocks, more than can be resident (" + std::to_string(kCooperativeBlocks) + ")");
  ScheduleState& st = schedule_state();
  Launch L;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    load_schedule(st);
    if (!st.error.empty()) throw std::invalid_argument("cuda emulator: " + st.error);
    L.schedule = st.schedule;
    L.number = st.launches++;
  }
  L.random_state = L.schedule.seed * 0x2545f4914f6cdd1dull + L.number;
  std::lock_guard<std::mutex> one_at_a_time(launch_mutex());
  L.grid = grid;
  L.block = block;
  L.body = body;
  L.closure = closure;
  L.cooperative = cooperative;
  L.dynamic_smem_bytes = dynamic_smem_bytes;
  L.fibers.resize(cooperative ? size_t(blocks) * n : n);
  for (Fiber& f : L.fibers) f.stack.reset(new char[kStackBytes]);
  g_launch = &L;
  std::vector<dim3> all;
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) all.push_back(dim3(x, y, z));
  if (cooperative) {
    run_blocks(L, all);
  } else {
    for (const dim3& b : all) {
      if (!L.error.empty()) break;
      run_blocks(L, {b});
    }
  }
  g_launch = nullptr;
  if (!L.error.empty())
    throw std::runtime_error("cuda emulator (launch " + std::to_string(L.number) + ", " + describe(L.schedule) +
                             "): " + L.error);
}

}  // namespace mtmap::emu
