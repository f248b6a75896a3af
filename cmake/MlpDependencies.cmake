# Finds what the library links: OpenMP, OpenBLAS (its OpenMP build) and zlib.
find_package(OpenMP REQUIRED COMPONENTS C)
find_package(ZLIB REQUIRED)
find_package(PkgConfig REQUIRED)

# Debian installs OpenBLAS's pthread and OpenMP builds side by side; the OpenMP one must be used so
# that OpenBLAS and mlp share one OpenMP runtime and thread pool. Its pkg-config file is not on the
# default search path, so look there first.
set(MLP_OPENBLAS_PC_DIR "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp/pkgconfig"
    CACHE PATH "Directory of the OpenMP build's openblas.pc")
set(_mlp_saved_pc_path "$ENV{PKG_CONFIG_PATH}")
set(ENV{PKG_CONFIG_PATH} "${MLP_OPENBLAS_PC_DIR}:$ENV{PKG_CONFIG_PATH}")
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET GLOBAL openblas)
set(ENV{PKG_CONFIG_PATH} "${_mlp_saved_pc_path}")
message(STATUS "OpenBLAS ${OPENBLAS_VERSION}: ${OPENBLAS_LINK_LIBRARIES}")

# The directory of the OpenBLAS library that was found. Debian's alternatives may point the
# run-time name libopenblas.so.0 at the pthread build even though we linked the OpenMP one, so
# libmlp.so carries this directory as its RUNPATH and mlp.pc / mlpConfig.cmake record it for
# static users.
set(MLP_OPENBLAS_LIBDIR "")
foreach(_mlp_lib IN LISTS OPENBLAS_LINK_LIBRARIES)
  if(_mlp_lib MATCHES "openblas[^/]*$" AND IS_ABSOLUTE "${_mlp_lib}")
    get_filename_component(MLP_OPENBLAS_LIBDIR "${_mlp_lib}" DIRECTORY)
    break()
  endif()
endforeach()
if(NOT MLP_OPENBLAS_LIBDIR)
  message(FATAL_ERROR "mlp: cannot tell OpenBLAS's directory from '${OPENBLAS_LINK_LIBRARIES}'")
endif()
# An RPATH entry is only needed (and only recorded) when that directory is not searched anyway.
if(MLP_OPENBLAS_LIBDIR IN_LIST CMAKE_C_IMPLICIT_LINK_DIRECTORIES)
  set(MLP_OPENBLAS_RPATH "")
else()
  set(MLP_OPENBLAS_RPATH "${MLP_OPENBLAS_LIBDIR}")
endif()
