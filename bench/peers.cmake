# GEMM peers for simdgrad_bench: OpenBLAS, BLIS and Eigen, each configured as its expert user
# would on this machine (see bench/bench_gemm.cpp and docs/gemm.md).
#
# OpenBLAS and BLIS both export cblas_sgemm and sgemm_. BLIS is linked (and called through its
# own API, bli_sgemm); OpenBLAS is opened at run time with dlopen(RTLD_LOCAL | RTLD_DEEPBIND)
# after OPENBLAS_CORETYPE is set (OpenBLAS reads it in its load-time constructor, so a linked
# OpenBLAS would have chosen its kernels before main), and cblas_sgemm is taken from that handle.
# Either way no cblas_sgemm resolves to the wrong library; the benchmark context prints which
# file and which kernels each peer runs.

# OpenBLAS (Debian: libopenblas0-pthread), opened at run time.
find_file(SIMDGRAD_OPENBLAS_SO NAMES libopenblas.so.0 libopenblas.so
          PATHS /usr/lib/x86_64-linux-gnu/openblas-pthread /usr/lib/aarch64-linux-gnu/openblas-pthread
                /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib
          NO_DEFAULT_PATH)
if(SIMDGRAD_OPENBLAS_SO)
  message(STATUS "simdgrad bench: OpenBLAS ${SIMDGRAD_OPENBLAS_SO} (dlopen)")
  target_compile_definitions(simdgrad_bench PRIVATE
    SIMDGRAD_BENCH_OPENBLAS_SO="${SIMDGRAD_OPENBLAS_SO}")
  target_link_libraries(simdgrad_bench PRIVATE ${CMAKE_DL_LIBS})
endif()

# BLIS (Debian: libblis-openmp-dev), linked.
find_path(SIMDGRAD_BLIS_INCLUDE blis.h
          PATHS /usr/include/x86_64-linux-gnu/blis-openmp /usr/include/aarch64-linux-gnu/blis-openmp
                /usr/include/blis /usr/include
          NO_DEFAULT_PATH)
find_library(SIMDGRAD_BLIS_LIB NAMES blis
             PATHS /usr/lib/x86_64-linux-gnu/blis-openmp /usr/lib/aarch64-linux-gnu/blis-openmp
             NO_DEFAULT_PATH)
if(SIMDGRAD_BLIS_INCLUDE AND SIMDGRAD_BLIS_LIB)
  message(STATUS "simdgrad bench: BLIS ${SIMDGRAD_BLIS_LIB}")
  set_source_files_properties("${CMAKE_CURRENT_SOURCE_DIR}/bench_gemm.cpp" PROPERTIES
    INCLUDE_DIRECTORIES "${SIMDGRAD_BLIS_INCLUDE}")
  target_compile_definitions(simdgrad_bench PRIVATE SIMDGRAD_BENCH_BLIS=1)
  target_link_libraries(simdgrad_bench PRIVATE "${SIMDGRAD_BLIS_LIB}")
endif()

# Eigen (header-only). Its vector width is fixed at compile time, so bench_gemm.cpp is compiled
# for the build machine (-march=native): Eigen then uses AVX-512 where the CPU has it. simdgrad
# itself is not affected (it is a separate library with its own per-ISA kernels).
find_package(Eigen3 CONFIG QUIET)
if(TARGET Eigen3::Eigen)
  message(STATUS "simdgrad bench: Eigen ${Eigen3_VERSION}")
  target_link_libraries(simdgrad_bench PRIVATE Eigen3::Eigen)
  target_compile_definitions(simdgrad_bench PRIVATE SIMDGRAD_BENCH_EIGEN=1)
  if(NOT CMAKE_CROSSCOMPILING)
    set_property(SOURCE "${CMAKE_CURRENT_SOURCE_DIR}/bench_gemm.cpp" APPEND PROPERTY
      COMPILE_OPTIONS -march=native)
  endif()
endif()
