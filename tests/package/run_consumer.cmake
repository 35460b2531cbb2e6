# Installs simdgrad into a staging prefix, then builds and runs tests/package against it, once
# with find_package(simdgrad) and once with pkg-config.
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BINARY_DIR}" --prefix "${prefix}"
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/package" -B "${WORK_DIR}/build"
                        -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}/build" RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer failed: ${rc}")
endif()
foreach(exe consumer consumer_static)
  execute_process(COMMAND "${WORK_DIR}/build/${exe}" RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "${exe} failed: ${rc}")
  endif()
endforeach()
# pkg-config
find_program(PKG_CONFIG pkg-config)
if(PKG_CONFIG)
  file(GLOB_RECURSE pcfile "${prefix}/*/simdgrad.pc")
  get_filename_component(pcdir "${pcfile}" DIRECTORY)
  set(ENV{PKG_CONFIG_PATH} "${pcdir}")
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs simdgrad OUTPUT_VARIABLE flags
                  RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(rc)
    message(FATAL_ERROR "pkg-config simdgrad failed")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  execute_process(COMMAND c++ -std=c++17 "${SOURCE_DIR}/tests/package/consumer.cpp" ${flags}
                          -Wl,-rpath,${pcdir}/.. -o "${WORK_DIR}/consumer_pc"
                  RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "building with pkg-config flags failed")
  endif()
  execute_process(COMMAND "${WORK_DIR}/consumer_pc" RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "consumer_pc failed: ${rc}")
  endif()
endif()
message(STATUS "package consumer: ok")
