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
