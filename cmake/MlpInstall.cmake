# Install rules: headers, libmlp.so (SONAME libmlp.so.<major>) and libmlp.a, the digits data, the
# CMake package (find_package(mlp CONFIG): mlp::mlp, mlp::mlp_static) and mlp.pc for pkg-config.
# Everything is relocatable: `cmake --install build --prefix /somewhere` gives a working tree.
include(CMakePackageConfigHelpers)

set(MLP_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/mlp"
    CACHE STRING "Where mlpConfig.cmake is installed (relative to the prefix)")
mark_as_advanced(MLP_INSTALL_CMAKEDIR)

# Two export sets: the shared library needs nothing from the consumer, while the static one needs
# OpenMP, zlib and OpenBLAS found first; mlpConfig.cmake loads it only when they are found.
install(TARGETS mlp_shared EXPORT mlpTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS mlp_static EXPORT mlpStaticTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
# mpi.h belongs to libmlp_mpi (MLP_WITH_MPI), which is not installed: leave it out.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/mlp" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h" PATTERN "mpi.h" EXCLUDE)
install(EXPORT mlpTargets NAMESPACE mlp:: DESTINATION ${MLP_INSTALL_CMAKEDIR})
install(EXPORT mlpStaticTargets NAMESPACE mlp:: DESTINATION ${MLP_INSTALL_CMAKEDIR})

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
# The prefix is only known at install time (cmake --install --prefix): fill everything else now,
# leave @MLP_PC_PREFIX@ for the install step.
set(MLP_PC_PREFIX "@MLP_PC_PREFIX@")
configure_file("${CMAKE_CURRENT_LIST_DIR}/mlp.pc.in" "${PROJECT_BINARY_DIR}/mlp.pc.in" @ONLY)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(_mlp_pc_dest "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
else()
  set(_mlp_pc_dest "\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig")
endif()
# One generated file per prefix, so that two installs from one build tree cannot mix them up.
install(CODE "
  set(MLP_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  string(MD5 _mlp_pc_key \"\${CMAKE_INSTALL_PREFIX}\")
  set(_mlp_pc \"${PROJECT_BINARY_DIR}/pkgconfig/\${_mlp_pc_key}/mlp.pc\")
  configure_file(\"${PROJECT_BINARY_DIR}/mlp.pc.in\" \"\${_mlp_pc}\" @ONLY)
  file(INSTALL DESTINATION \"${_mlp_pc_dest}\" TYPE FILE FILES \"\${_mlp_pc}\")
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
