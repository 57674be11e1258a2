# `cmake --install BUILD --prefix P`: the engine as a library (docs/api.md). Installs
#   P/include/mtmap/<layer>/...h        the public headers, at their paths in this tree (they include
#                                       each other project-root-relative: "engine/core/tensor.h")
#   P/lib/libmtmap_*.a                  the static libraries (the kernels' ones too: the engine links
#                                       them privately, and a static library's private links travel)
#   P/lib/cmake/mtmap/                  mtmapConfig.cmake, its version file and the exported targets
# so that an outside project writes `find_package(mtmap)` and links mtmap::engine, mtmap::losses,
# mtmap::cortex, mtmap::io, mtmap::analysis, ... Backend-private headers (engine/backend/cpu_backend.h,
# cuda_backend.h, engine/cuda/ but the stream handles), the kernels (but the parameter structs of
# kernels/common/ that the backend contract and the ops' headers use), the CLI, the study runner and
# the benchmarks are not installed.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

if(MTMAP_CUDA_EMULATED)
  # The emulated CUDA build links the CPU emulator of the CUDA runtime, a test aid that is not part
  # of the library: nothing to install there.
  message(STATUS "mtmap: no install rules in the emulated CUDA build (MTMAP_CUDA=EMU)")
  return()
endif()

set(MTMAP_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/mtmap)
set(MTMAP_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/mtmap)

# The exported libraries: mtmap_<name> becomes mtmap::<name>.
set(mtmap_export_targets mtmap_kernels_cpu mtmap_engine mtmap_dist mtmap_formats mtmap_models mtmap_losses mtmap_cortex
    mtmap_io mtmap_training)
if(MTMAP_WITH_CUDA)
  list(APPEND mtmap_export_targets mtmap_kernels_cuda)
endif()
foreach(t mtmap_io_video mtmap_analysis mtmap_analysis_probe)
  if(TARGET ${t})
    list(APPEND mtmap_export_targets ${t})
  endif()
endforeach()
foreach(t ${mtmap_export_targets})
  string(REGEX REPLACE "^mtmap_" "" name ${t})
  set_target_properties(${t} PROPERTIES EXPORT_NAME ${name})
  target_include_directories(${t} INTERFACE $<INSTALL_INTERFACE:${MTMAP_INSTALL_INCLUDEDIR}>)
endforeach()

# The public headers, chosen by folder; what is left out is named. tests/package/ compiles every
# installed header on its own against the installed tree, so a public header that includes one
# left out here fails there.
set(mtmap_public_headers)
function(mtmap_public_headers_of dir)
  cmake_parse_arguments(arg "" "" "EXCEPT" ${ARGN})
  file(GLOB found RELATIVE ${PROJECT_SOURCE_DIR} CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${dir}/*.h)
  foreach(except ${arg_EXCEPT})
    list(REMOVE_ITEM found ${except})
  endforeach()
  set(mtmap_public_headers ${mtmap_public_headers} ${found} PARENT_SCOPE)
endfunction()

foreach(dir core tensor context autograd ops nn optim random)
  mtmap_public_headers_of(engine/${dir})
endforeach()
# The communicator interface and data parallel; the MPI one includes mpi.h and stays inside.
mtmap_public_headers_of(engine/dist EXCEPT engine/dist/mpi_communicator.h)
# The backend contract is public (an op written outside the engine, as losses/ does, calls it);
# the two backends behind it are private to engine/ (tools/check_layers.py).
mtmap_public_headers_of(engine/backend EXCEPT engine/backend/cpu_backend.h engine/backend/cuda_backend.h)
# The kernels' parameter structs and shared scalar math that the contract and the ops' headers
# include; the kernels themselves (cpu/, cuda/) and the CUDA conv's tiling internals are not.
mtmap_public_headers_of(kernels/common EXCEPT kernels/common/conv3d_igemm.h kernels/common/conv3d_taps.h
                        kernels/common/fast_divmod.h)
if(MTMAP_MINIMAL)
  mtmap_public_headers_of(formats EXCEPT formats/png_image.h)  # no libpng, no png_image.cpp
else()
  mtmap_public_headers_of(formats)
endif()
mtmap_public_headers_of(models)
mtmap_public_headers_of(losses)
mtmap_public_headers_of(cortex EXCEPT cortex/sheet_grid.h)  # the swap's bucket grid: internal
mtmap_public_headers_of(training)
if(MTMAP_WITH_CUDA)
  # The CUDA feeder takes its streams as arguments: the stream handles are public with it.
  list(APPEND mtmap_public_headers engine/cuda/stream.h)
  mtmap_public_headers_of(io)
else()
  mtmap_public_headers_of(io EXCEPT io/cuda_feeder.h)
endif()
if(TARGET mtmap_io_video)
  mtmap_public_headers_of(io/video)
endif()
if(TARGET mtmap_analysis)
  mtmap_public_headers_of(analysis)
  mtmap_public_headers_of(analysis/probe)
endif()
foreach(h ${mtmap_public_headers})
  get_filename_component(dir ${h} DIRECTORY)
  install(FILES ${PROJECT_SOURCE_DIR}/${h} DESTINATION ${MTMAP_INSTALL_INCLUDEDIR}/${dir} COMPONENT devel)
endforeach()

install(TARGETS ${mtmap_export_targets} EXPORT mtmapTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT devel)
install(EXPORT mtmapTargets NAMESPACE mtmap:: DESTINATION ${MTMAP_INSTALL_CMAKEDIR} COMPONENT devel)

# What the config file needs to find the third-party libraries the exported targets link.
set(MTMAP_HAS_VIDEO OFF)
set(MTMAP_HAS_ANALYSIS OFF)
set(MTMAP_HAS_PNG OFF)
if(TARGET mtmap_io_video)
  set(MTMAP_HAS_VIDEO ON)
endif()
if(TARGET mtmap_analysis)
  set(MTMAP_HAS_ANALYSIS ON)
endif()
if(NOT MTMAP_MINIMAL)
  set(MTMAP_HAS_PNG ON)
endif()
set(MTMAP_HAS_MPI ${MTMAP_WITH_MPI})
set(MTMAP_CUDA_TOOLKIT_ROOT "")
if(MTMAP_WITH_CUDA AND CUDAToolkit_BIN_DIR)
  get_filename_component(MTMAP_CUDA_TOOLKIT_ROOT ${CUDAToolkit_BIN_DIR} DIRECTORY)
endif()
if(MTMAP_SANITIZE)
  # Libraries built with the sanitizers need their runtimes at the consumer's link.
  target_link_options(mtmap_engine INTERFACE $<INSTALL_INTERFACE:-fsanitize=address,undefined>)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/mtmapConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/mtmapConfig.cmake
                              INSTALL_DESTINATION ${MTMAP_INSTALL_CMAKEDIR})
# 0.x: a minor version may break the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/mtmapConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/mtmapConfig.cmake ${PROJECT_BINARY_DIR}/mtmapConfigVersion.cmake
        DESTINATION ${MTMAP_INSTALL_CMAKEDIR} COMPONENT devel)
