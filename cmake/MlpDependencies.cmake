# Finds what the library links: OpenMP, zlib and OpenBLAS (its OpenMP build). Defines
#   mlp_openblas           interface target: OpenBLAS's library and the folder of its cblas.h
#   MLP_OPENBLAS_LIBDIR    the folder of that library (mlp.pc and mlpConfig.cmake record it)
#   MLP_OPENBLAS_RPATH     the same, or empty when the loader searches it anyway
# Every failure names the Debian package that fixes it.
find_package(OpenMP COMPONENTS C)
if(NOT OpenMP_C_FOUND)
  message(FATAL_ERROR "mlp: the C compiler has no OpenMP support (GCC has it built in; "
                      "with clang install libomp-dev)")
endif()
find_package(ZLIB)
if(NOT ZLIB_FOUND)
  message(FATAL_ERROR "mlp: zlib not found: install it (Debian: zlib1g-dev) or point "
                      "ZLIB_ROOT at it")
endif()

# OpenBLAS. Debian installs its pthread and OpenMP builds side by side; the OpenMP one must be
# used so that OpenBLAS and mlp share one OpenMP runtime and thread pool. Two ways to find it:
#  1. pkg-config, with the OpenMP build's openblas.pc first (Debian keeps it off the default
#     search path; MLP_OPENBLAS_PC_DIR names its folder);
#  2. otherwise CMake's FindBLAS with BLA_VENDOR=OpenBLAS (any layout: CMAKE_PREFIX_PATH or
#     BLA_PREFER_PKGCONFIG as FindBLAS documents) and the folder of OpenBLAS's cblas.h, the one
#     that holds openblas_config.h (MLP_OPENBLAS_INCLUDE_DIR).
set(MLP_OPENBLAS_PC_DIR "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp/pkgconfig"
    CACHE PATH "Directory of the OpenMP build's openblas.pc")
add_library(mlp_openblas INTERFACE IMPORTED GLOBAL)
set(_mlp_openblas_libs "")
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  set(_mlp_saved_pc_path "$ENV{PKG_CONFIG_PATH}")
  set(ENV{PKG_CONFIG_PATH} "${MLP_OPENBLAS_PC_DIR}:$ENV{PKG_CONFIG_PATH}")
  pkg_check_modules(OPENBLAS QUIET IMPORTED_TARGET GLOBAL openblas)
  set(ENV{PKG_CONFIG_PATH} "${_mlp_saved_pc_path}")
endif()
if(TARGET PkgConfig::OPENBLAS)
  target_link_libraries(mlp_openblas INTERFACE PkgConfig::OPENBLAS)
  set(_mlp_openblas_libs "${OPENBLAS_LINK_LIBRARIES}")
  message(STATUS "OpenBLAS ${OPENBLAS_VERSION} (pkg-config): ${_mlp_openblas_libs}")
else()
  set(BLA_VENDOR OpenBLAS)
  find_package(BLAS QUIET)
  if(BLAS_FOUND)
    list(GET BLAS_LIBRARIES 0 _mlp_blas_lib)
    get_filename_component(_mlp_blas_dir "${_mlp_blas_lib}" DIRECTORY)
    get_filename_component(_mlp_blas_dir_name "${_mlp_blas_dir}" NAME)
    # Next to the library (a source install: <prefix>/lib and <prefix>/include), or in the folder
    # named like the library's (Debian: lib/<arch>/openblas-openmp, include/<arch>/openblas-openmp).
    find_path(MLP_OPENBLAS_INCLUDE_DIR openblas_config.h
              HINTS "${_mlp_blas_dir}/../include" "${_mlp_blas_dir}/../../include"
              PATH_SUFFIXES "${_mlp_blas_dir_name}" openblas
              DOC "Folder of OpenBLAS's cblas.h and openblas_config.h")
    if(MLP_OPENBLAS_INCLUDE_DIR AND EXISTS "${MLP_OPENBLAS_INCLUDE_DIR}/cblas.h")
      target_link_libraries(mlp_openblas INTERFACE ${BLAS_LIBRARIES})
      if(BLAS_LINKER_FLAGS)
        target_link_options(mlp_openblas INTERFACE ${BLAS_LINKER_FLAGS})
      endif()
      target_include_directories(mlp_openblas INTERFACE "${MLP_OPENBLAS_INCLUDE_DIR}")
      set(_mlp_openblas_libs "${BLAS_LIBRARIES}")
      message(STATUS "OpenBLAS (FindBLAS): ${_mlp_openblas_libs}, "
                     "cblas.h in ${MLP_OPENBLAS_INCLUDE_DIR}")
      # bench/CMakeLists.txt links OpenBLAS under its pkg-config name.
      add_library(PkgConfig::OPENBLAS ALIAS mlp_openblas)
    else()
      message(STATUS "OpenBLAS library ${_mlp_blas_lib} found, but not its cblas.h")
    endif()
  endif()
endif()
if(_mlp_openblas_libs STREQUAL "")
  message(FATAL_ERROR
    "mlp: OpenBLAS (with its cblas.h) not found. Install its OpenMP build (Debian: "
    "libopenblas-openmp-dev). Elsewhere: put the folder of its openblas.pc on PKG_CONFIG_PATH "
    "or set MLP_OPENBLAS_PC_DIR, or make find_package(BLAS) find it (CMAKE_PREFIX_PATH), and set "
    "MLP_OPENBLAS_INCLUDE_DIR if its headers are not found.")
endif()

# The directory of the OpenBLAS library that was found. Debian's alternatives may point the
# run-time name libopenblas.so.0 at the pthread build even though we linked the OpenMP one, so
# libmlp.so carries this directory as its RUNPATH and mlp.pc / mlpConfig.cmake record it for
# static users.
set(MLP_OPENBLAS_LIBDIR "")
foreach(_mlp_lib IN LISTS _mlp_openblas_libs)
  if(_mlp_lib MATCHES "openblas[^/]*$" AND IS_ABSOLUTE "${_mlp_lib}")
    get_filename_component(MLP_OPENBLAS_LIBDIR "${_mlp_lib}" DIRECTORY)
    get_filename_component(_mlp_real "${_mlp_lib}" REALPATH)
    if(_mlp_real MATCHES "pthread")
      message(WARNING "mlp: ${_mlp_lib} is OpenBLAS's pthread build (${_mlp_real}): its threads "
                      "compete with OpenMP's. Results stay correct; for speed install the OpenMP "
                      "build (Debian: libopenblas-openmp-dev)")
    endif()
    break()
  endif()
endforeach()
if(NOT MLP_OPENBLAS_LIBDIR)
  message(FATAL_ERROR "mlp: cannot tell OpenBLAS's directory from '${_mlp_openblas_libs}'")
endif()
# An RPATH entry is only needed (and only recorded) when that directory is not searched anyway.
if(MLP_OPENBLAS_LIBDIR IN_LIST CMAKE_C_IMPLICIT_LINK_DIRECTORIES)
  set(MLP_OPENBLAS_RPATH "")
else()
  set(MLP_OPENBLAS_RPATH "${MLP_OPENBLAS_LIBDIR}")
endif()

# liblbfgs (Debian: liblbfgs-dev), the L-BFGS of mlp_fit's solver LBFGS. Optional: without it the
# library builds and mlp_fit refuses LBFGS with a message saying why. Defines MLP_LBFGS_FOUND,
# MLP_LBFGS_INCLUDE_DIR and MLP_LBFGS_LIBRARY.
option(MLP_WITH_LBFGS "Build mlp_fit's LBFGS solver (needs liblbfgs)" ON)
set(MLP_LBFGS_FOUND OFF)
if(MLP_WITH_LBFGS)
  find_path(MLP_LBFGS_INCLUDE_DIR lbfgs.h)
  find_library(MLP_LBFGS_LIBRARY lbfgs)
  if(MLP_LBFGS_INCLUDE_DIR AND MLP_LBFGS_LIBRARY)
    set(MLP_LBFGS_FOUND ON)
  else()
    message(STATUS "mlp: liblbfgs not found (Debian: liblbfgs-dev): solver lbfgs left out")
  endif()
endif()

# oneDNN (Debian: libdnnl-dev), the provider of bf16 GEMMs (AMX / AVX512_BF16 matrix units) for
# MLP_PRECISION_BF16. Optional: without it the library builds, f32 is unchanged, and bf16 is
# refused with the reason. Debian's oneDNN uses GNU OpenMP, the runtime mlp and OpenBLAS share.
# Defines MLP_DNNL_FOUND, MLP_DNNL_INCLUDE_DIR and MLP_DNNL_LIBRARY.
option(MLP_WITH_DNNL "Build the bf16 GEMM provider (needs oneDNN)" ON)
set(MLP_DNNL_FOUND OFF)
if(MLP_WITH_DNNL)
  find_path(MLP_DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.h)
  find_library(MLP_DNNL_LIBRARY dnnl)
  if(MLP_DNNL_INCLUDE_DIR AND MLP_DNNL_LIBRARY)
    set(MLP_DNNL_FOUND ON)
  else()
    message(STATUS "mlp: oneDNN not found (Debian: libdnnl-dev): precision bf16 left out")
  endif()
endif()
