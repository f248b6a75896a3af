# Install rules: headers, libmlp.so (SONAME libmlp.so.<major>) and libmlp.a, the digits data, the
# CMake package (find_package(mlp CONFIG): mlp::mlp, mlp::mlp_static) and mlp.pc for pkg-config.
# With MLP_WITH_MPI also libmlp_mpi.a, mlp/mpi.h, the package's component mpi (mlp::mpi) and
# mlp-mpi.pc. Everything is relocatable: `cmake --install build --prefix /somewhere` gives a
# working tree.
include(CMakePackageConfigHelpers)

set(MLP_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/mlp"
    CACHE STRING "Where mlpConfig.cmake is installed (relative to the prefix)")
mark_as_advanced(MLP_INSTALL_CMAKEDIR)

# Export sets: the shared library needs nothing from the consumer, while the static one needs
# OpenMP, zlib and OpenBLAS found first; mlpConfig.cmake loads it only when they are found.
install(TARGETS mlp_shared EXPORT mlpTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS mlp_static EXPORT mlpStaticTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT mlpTargets NAMESPACE mlp:: DESTINATION ${MLP_INSTALL_CMAKEDIR})
install(EXPORT mlpStaticTargets NAMESPACE mlp:: DESTINATION ${MLP_INSTALL_CMAKEDIR})
# libmlp_mpi.a: a third export set, which links mlp::mlp_static and MPI::MPI_C; mlpConfig.cmake
# loads it for COMPONENTS mpi. mpi.h belongs to it: installed only with it.
if(MLP_WITH_MPI)
  install(TARGETS mlp_mpi EXPORT mlpMpiTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT mlpMpiTargets NAMESPACE mlp:: DESTINATION ${MLP_INSTALL_CMAKEDIR})
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/mlp" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
          FILES_MATCHING PATTERN "*.h")
else()
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/mlp" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
          FILES_MATCHING PATTERN "*.h" PATTERN "mpi.h" EXCLUDE)
endif()

configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/mlpConfig.cmake.in"
                              "${PROJECT_BINARY_DIR}/mlpConfig.cmake"
                              INSTALL_DESTINATION ${MLP_INSTALL_CMAKEDIR})
# Before 1.0 a minor release may change the API, so 0.1.x satisfies find_package(mlp 0.1) but not
# 0.2; from 1.0 on, the same major version is compatible.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_mlp_compat SameMinorVersion)
else()
  set(_mlp_compat SameMajorVersion)
endif()
write_basic_package_version_file("${PROJECT_BINARY_DIR}/mlpConfigVersion.cmake"
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY ${_mlp_compat})
install(FILES "${PROJECT_BINARY_DIR}/mlpConfig.cmake" "${PROJECT_BINARY_DIR}/mlpConfigVersion.cmake"
        DESTINATION ${MLP_INSTALL_CMAKEDIR})

# mlp.pc: the private dependencies of the static library, spelled out. OpenBLAS is named by the
# directory of its OpenMP build (with an rpath to it), not by Requires.private: openblas, because
# the openblas.pc on pkg-config's default path is whichever build Debian's alternatives chose.
set(MLP_PC_EXTRA_LIBS "")
if(MLP_DNNL_FOUND)
  set(MLP_PC_EXTRA_LIBS "-ldnnl")
endif()
if(MLP_LBFGS_FOUND)
  set(MLP_PC_EXTRA_LIBS "${MLP_PC_EXTRA_LIBS} -llbfgs")
endif()
set(MLP_PC_OPENMP_LIBS "")
foreach(_mlp_omp_lib IN LISTS OpenMP_C_LIB_NAMES)
  string(APPEND MLP_PC_OPENMP_LIBS " -l${_mlp_omp_lib}")
endforeach()
string(STRIP "${MLP_PC_OPENMP_LIBS}" MLP_PC_OPENMP_LIBS)
if(MLP_OPENBLAS_RPATH)
  set(MLP_PC_OPENBLAS_LIBS "-L\${openblas_libdir} -Wl,-rpath,\${openblas_libdir} -lopenblas")
else()
  set(MLP_PC_OPENBLAS_LIBS "-lopenblas")
endif()
foreach(_mlp_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_mlp_dir}}")
    set(MLP_PC_${_mlp_dir} "${CMAKE_INSTALL_${_mlp_dir}}")
  else()
    set(MLP_PC_${_mlp_dir} "\${prefix}/${CMAKE_INSTALL_${_mlp_dir}}")
  endif()
endforeach()
# mlp-mpi.pc: libmlp_mpi.a is static only, so Libs names everything it needs: itself, the static
# core (by file name: -lmlp would pick libmlp.so, which hides the internals libmlp_mpi uses, and a
# program must not hold two copies of the core), the core's dependencies and MPI's flags as
# FindMPI found them (with an rpath to MPI's library folders outside the default ones).
if(MLP_WITH_MPI)
  set(MLP_PC_MPI_CFLAGS "")
  foreach(_mlp_dir IN LISTS MPI_C_INCLUDE_DIRS)
    string(APPEND MLP_PC_MPI_CFLAGS " -I${_mlp_dir}")
  endforeach()
  foreach(_mlp_def IN LISTS MPI_C_COMPILE_DEFINITIONS)
    string(APPEND MLP_PC_MPI_CFLAGS " -D${_mlp_def}")
  endforeach()
  string(JOIN " " MLP_PC_MPI_LIBS ${MPI_C_LINK_FLAGS})
  set(_mlp_mpi_rpaths "")
  foreach(_mlp_lib IN LISTS MPI_C_LIBRARIES)
    string(APPEND MLP_PC_MPI_LIBS " ${_mlp_lib}")
    if(IS_ABSOLUTE "${_mlp_lib}")
      get_filename_component(_mlp_dir "${_mlp_lib}" DIRECTORY)
      if(NOT _mlp_dir IN_LIST CMAKE_C_IMPLICIT_LINK_DIRECTORIES AND
         NOT _mlp_dir IN_LIST _mlp_mpi_rpaths)
        list(APPEND _mlp_mpi_rpaths "${_mlp_dir}")
        string(APPEND MLP_PC_MPI_LIBS " -Wl,-rpath,${_mlp_dir}")
      endif()
    endif()
  endforeach()
  string(STRIP "${MLP_PC_MPI_CFLAGS}" MLP_PC_MPI_CFLAGS)
  string(STRIP "${MLP_PC_MPI_LIBS}" MLP_PC_MPI_LIBS)
endif()

# The prefix is only known at install time (cmake --install --prefix): fill everything else now,
# leave @MLP_PC_PREFIX@ for the install step.
set(MLP_PC_PREFIX "@MLP_PC_PREFIX@")
set(_mlp_pc_files mlp)
if(MLP_WITH_MPI)
  list(APPEND _mlp_pc_files mlp-mpi)
endif()
foreach(_mlp_pc IN LISTS _mlp_pc_files)
  configure_file("${CMAKE_CURRENT_LIST_DIR}/${_mlp_pc}.pc.in"
                 "${PROJECT_BINARY_DIR}/${_mlp_pc}.pc.in" @ONLY)
endforeach()
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(_mlp_pc_dest "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
else()
  set(_mlp_pc_dest "\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig")
endif()
# One generated file per prefix, so that two installs from one build tree cannot mix them up.
install(CODE "
  set(MLP_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  string(MD5 _mlp_pc_key \"\${CMAKE_INSTALL_PREFIX}\")
  foreach(_mlp_pc ${_mlp_pc_files})
    set(_mlp_pc_out \"${PROJECT_BINARY_DIR}/pkgconfig/\${_mlp_pc_key}/\${_mlp_pc}.pc\")
    configure_file(\"${PROJECT_BINARY_DIR}/\${_mlp_pc}.pc.in\" \"\${_mlp_pc_out}\" @ONLY)
    file(INSTALL DESTINATION \"${_mlp_pc_dest}\" TYPE FILE FILES \"\${_mlp_pc_out}\")
  endforeach()
")

# The digits data and its split, for `mlp train --data digits` (the installed CLI looks there).
install(FILES "${PROJECT_SOURCE_DIR}/data/digits.csv.gz"
              "${PROJECT_SOURCE_DIR}/data/digits_split_rs42_train.txt"
              "${PROJECT_SOURCE_DIR}/data/digits_split_rs42_test.txt"
              "${PROJECT_SOURCE_DIR}/data/README.md"
        DESTINATION ${MLP_INSTALL_DATADIR})
# Documentation: README, CHANGELOG and docs/*.md.
install(FILES "${PROJECT_SOURCE_DIR}/README.md" "${PROJECT_SOURCE_DIR}/CHANGELOG.md"
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY "${PROJECT_SOURCE_DIR}/docs/" DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.md")
