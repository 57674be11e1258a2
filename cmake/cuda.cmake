# Decides whether the CUDA backend is built. AUTO builds it when nvcc is found (also in
# /usr/local/cuda/bin when that is not on PATH); ON insists; OFF never looks. EMU builds the CUDA
# backend for the CPU emulator (tests/cuda_emu/emulator): every kernel file compiled by the host
# compiler, the runtime and cuBLAS answered by the emulator, no toolkit needed; "the GPU" is the
# emulated device, so the CUDA test suite runs for real, slowly, on any machine.
set(MTMAP_WITH_CUDA OFF)
set(MTMAP_CUDA_EMULATED OFF)

# Options of every source compiled for the emulator: CUDA pragmas mean nothing to the host
# compiler; kernels pun types through reinterpret_cast as CUDA code does; no FMA contraction (the
# GPU code rounds every product); optimised even in Debug (fibers of unoptimised templates are slow).
set(MTMAP_EMU_KERNEL_OPTIONS -Wall -Wextra -Wno-unknown-pragmas -fno-strict-aliasing -ffp-contract=off -O2)

# mtmap_emu_wrappers(OUT a.cu ...): one generated .cpp per kernel file (kernels/cuda/NAME.cu), so
# each keeps its own translation unit as under nvcc.
function(mtmap_emu_wrappers out)
  set(files)
  foreach(src ${ARGN})
    get_filename_component(name ${src} NAME_WE)
    set(wrapper ${CMAKE_CURRENT_BINARY_DIR}/emu_${name}.cpp)
    file(CONFIGURE OUTPUT ${wrapper}
         CONTENT "// Generated: kernels/cuda/${name}.cu compiled for the CPU emulator.\n#include \"kernels/cuda/${name}.cu\"\n")
    list(APPEND files ${wrapper})
  endforeach()
  set(${out} ${files} PARENT_SCOPE)
endfunction()

if(MTMAP_CUDA STREQUAL "EMU")
  set(MTMAP_WITH_CUDA ON)
  set(MTMAP_CUDA_EMULATED ON)
  add_compile_definitions(MTMAP_CUDA_EMU)
  # <cuda_runtime_api.h>, <cublas_v2.h> resolve to the emulator's (before any system copy).
  include_directories(BEFORE ${PROJECT_SOURCE_DIR}/tests/cuda_emu/emulator/include)
  # The targets the CMake files link against: the emulator stands in for both.
  add_library(CUDA::cudart INTERFACE IMPORTED)
  add_library(CUDA::cublas INTERFACE IMPORTED)
  set_target_properties(CUDA::cudart CUDA::cublas PROPERTIES INTERFACE_LINK_LIBRARIES mtmap_cuda_emu)
elseif(NOT MTMAP_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      # Hopper (H100/H200) and Ampere; override with -DCMAKE_CUDA_ARCHITECTURES=...
      set(CMAKE_CUDA_ARCHITECTURES 90 80)
    endif()
    enable_language(CUDA)
    # CMake before 3.25.2 does not know nvcc (12.0+) accepts -std=c++20 and refuses the CUDA20 dialect.
    if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION AND CMAKE_CUDA_COMPILER_VERSION VERSION_GREATER_EQUAL 12.0)
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
      list(APPEND CMAKE_CUDA_COMPILE_FEATURES cuda_std_20)
    endif()
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    find_package(CUDAToolkit REQUIRED)
    set(MTMAP_WITH_CUDA ON)
  elseif(MTMAP_CUDA STREQUAL "ON")
    message(FATAL_ERROR "MTMAP_CUDA=ON but no CUDA compiler (nvcc) was found")
  endif()
endif()
