// Makes one heap access that tools/guarded_malloc.c must catch (or, for "inside", must let pass), so
// the test below knows the allocator the fuzzing diagnostics rely on still catches what it claims.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: guarded_malloc_probe inside|after|after-slack|before|after-aligned|use-after-free\n");
    return 2;
  }
  const std::string_view what = argv[1];
  // volatile: the compiler must not drop or move the out-of-bounds store.
  volatile unsigned char* p = static_cast<unsigned char*>(std::malloc(1000));
  void* aligned = nullptr;
  if (posix_memalign(&aligned, 64, 1000) != 0) return 3;
  if (what == "inside") {
    for (int i = 0; i < 1000; ++i) p[i] = 1;
  } else if (what == "after") {
    p[1008] = 1;  // malloc's blocks end within 16 bytes of their guard
  } else if (what == "after-slack") {
    p[1003] = 1;  // within the alignment slack: the canary catches it at the free
    std::free(const_cast<unsigned char*>(p));
  } else if (what == "before") {
    p[-1] = 1;
  } else if (what == "after-aligned") {
    static_cast<volatile unsigned char*>(aligned)[1024] = 1;  // av_malloc's 64-byte alignment
  } else if (what == "use-after-free") {
    std::free(const_cast<unsigned char*>(p));
    p[10] = 1;
  } else {
    return 2;
  }
  std::puts("no fault");
  return 0;
}
