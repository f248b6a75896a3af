# What the optional parts need beyond the library (which needs a C compiler, OpenBLAS and zlib
# only): the test suites CMocka; the benchmark harness a C++ compiler and Google Benchmark; the
# consumer test a C++ compiler for its C++ header check. When something is missing, the part that
# needs it is switched off (for this configure only: install the package and configure again) with
# a warning that says which package installs it, instead of a failing configure.
# Sets, for the top-level CMakeLists.txt:
#   MLP_BUILD_TESTS, MLP_BUILD_BENCH   switched OFF here when their dependencies are missing
#   mlp_cmocka                         interface target of CMocka (tests)
#   MLP_CXX_COMPILER                   a working C++ compiler, or empty (the consumer test)
# C++ is enabled (enable_language) only for the benchmark harness.

# mlp_part_off(<option> <why>...): switches <option> off for this configure, with a warning.
macro(mlp_part_off option)
  string(CONCAT _mlp_why ${ARGN})
  message(WARNING "mlp: ${option} switched off: ${_mlp_why}. Install it and configure again, or "
                  "pass -D${option}=OFF to build without it.")
  set(${option} OFF)
endmacro()

# A C++ compiler, only looked for when something can use it. A compiler the user named that does
# not exist counts as none; one that check_language did not find is looked for again next time.
set(MLP_CXX_COMPILER "")
if(MLP_BUILD_TESTS OR MLP_BUILD_BENCH)
  if(CMAKE_CXX_COMPILER MATCHES "NOTFOUND$")
    unset(CMAKE_CXX_COMPILER CACHE)
  endif()
  if(CMAKE_CXX_COMPILER)
    if(IS_ABSOLUTE "${CMAKE_CXX_COMPILER}")
      if(EXISTS "${CMAKE_CXX_COMPILER}")
        set(MLP_CXX_COMPILER "${CMAKE_CXX_COMPILER}")
      endif()
    else()
      find_program(_mlp_cxx_path NAMES "${CMAKE_CXX_COMPILER}" NO_CACHE)
      if(_mlp_cxx_path)
        set(MLP_CXX_COMPILER "${_mlp_cxx_path}")
      endif()
    endif()
  else()
    include(CheckLanguage)
    check_language(CXX)
    if(CMAKE_CXX_COMPILER)
      set(MLP_CXX_COMPILER "${CMAKE_CXX_COMPILER}")
    endif()
  endif()
endif()

if(MLP_BUILD_BENCH)
  if(NOT MLP_CXX_COMPILER)
    mlp_part_off(MLP_BUILD_BENCH "the benchmark harness is C++ and no C++ compiler was found "
                                 "(Debian: g++)")
  else()
    enable_language(CXX)
    set(CMAKE_CXX_STANDARD 17)
    set(CMAKE_CXX_STANDARD_REQUIRED ON)
    find_package(benchmark QUIET)
    find_package(OpenMP QUIET COMPONENTS CXX)
    if(NOT benchmark_FOUND)
      mlp_part_off(MLP_BUILD_BENCH "Google Benchmark not found (Debian: libbenchmark-dev)")
    elseif(NOT OpenMP_CXX_FOUND)
      mlp_part_off(MLP_BUILD_BENCH "the C++ compiler has no OpenMP support")
    endif()
  endif()
endif()

if(MLP_BUILD_TESTS)
  # cmocka.pc, or CMocka's own CMake package (which defines CMOCKA_LIBRARIES and
  # CMOCKA_INCLUDE_DIR but, in 1.1.5, no target).
  add_library(mlp_cmocka INTERFACE IMPORTED GLOBAL)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(CMOCKA QUIET IMPORTED_TARGET GLOBAL cmocka)
  endif()
  if(TARGET PkgConfig::CMOCKA)
    target_link_libraries(mlp_cmocka INTERFACE PkgConfig::CMOCKA)
  else()
    find_package(cmocka CONFIG QUIET)
    if(cmocka_FOUND AND CMOCKA_LIBRARIES)
      target_link_libraries(mlp_cmocka INTERFACE ${CMOCKA_LIBRARIES})
      target_include_directories(mlp_cmocka INTERFACE ${CMOCKA_INCLUDE_DIR})
    else()
      mlp_part_off(MLP_BUILD_TESTS "the test suites need CMocka, which was not found "
                                   "(Debian: libcmocka-dev)")
    endif()
  endif()
  if(MLP_BUILD_TESTS AND NOT MLP_CXX_COMPILER)
    message(STATUS "mlp: no C++ compiler (Debian: g++): the consumer test leaves out its C++ "
                   "header check")
  endif()
endif()
