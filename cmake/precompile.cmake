# Precompiled headers for the outside headers that cost the most to parse (g++ 12 at -O3 on a
# Zen 3 core, an empty file that includes only the header: CLI/CLI.hpp 11.1 s, nlohmann/json.hpp
# 3.2 s, catch2/catch.hpp 1.9 s, fmt/ranges.h 1.2 s), only where it paid. Measured on a Zen 3
# machine, a Release build without CUDA, each target's compile time summed over its files, against
# the same files without: mtmap_engine 88 s -> 63 s (fmt in 30 of its 33 files), test_engine
# 63 s -> 41 s, the mtmap program 205 s -> 192 s, each counting the header's own compile (3-13 s).
# Targets with fewer files, or whose files spend their time elsewhere, came out even or slower
# (test_analysis 45 s -> 59 s, mtmap_study 37 s -> 46 s): they are left without.
# The sources still include what they use; -DMTMAP_PCH=OFF builds without, to check that.
option(MTMAP_PCH "Precompile the heaviest outside headers (CLI11, nlohmann/json, Catch2, fmt)" ON)

set(MTMAP_PCH_FMT fmt/format.h fmt/ranges.h)
set(MTMAP_PCH_JSON nlohmann/json.hpp ${MTMAP_PCH_FMT})
set(MTMAP_PCH_TEST catch2/catch.hpp ${MTMAP_PCH_FMT})

# mtmap_precompile(<target> <header>...): the headers precompiled for the target's C++ files
# (nvcc compiles the .cu files without). A target this build does not make is passed over.
function(mtmap_precompile target)
  if(NOT MTMAP_PCH OR NOT TARGET ${target})
    return()
  endif()
  set(headers)
  foreach(h IN LISTS ARGN)
    list(APPEND headers "$<$<COMPILE_LANGUAGE:CXX>:<${h}>>")
  endforeach()
  target_precompile_headers(${target} PRIVATE ${headers})
endfunction()

# Called once every target exists (the end of the top-level CMakeLists.txt).
function(mtmap_precompile_targets)
  mtmap_precompile(mtmap_engine ${MTMAP_PCH_FMT})
  mtmap_precompile(mtmap CLI/CLI.hpp ${MTMAP_PCH_JSON})
  # test_cuda: its 15 files are test_engine's kind (Catch, fmt, the engine), in CUDA builds.
  foreach(t test_engine test_cuda)
    mtmap_precompile(${t} ${MTMAP_PCH_TEST})
  endforeach()
endfunction()
