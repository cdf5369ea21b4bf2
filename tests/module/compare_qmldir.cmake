# SPDX-License-Identifier: BSD-3-Clause
# cmake -DGOLDEN=<repo>/qmldir -DGENERATED=<build>/imports/QuickWebSockets/qmldir -P compare_qmldir.cmake
# Fails (and prints both) unless the two are equal once `#` comment lines and blank lines are dropped.

function(qws_read_qmldir path out)
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "qmldir check: ${path} does not exist (is the module built?)")
  endif()
  file(STRINGS "${path}" lines)
  set(kept "")
  foreach(line IN LISTS lines)
    string(STRIP "${line}" line)
    if(line STREQUAL "" OR line MATCHES "^#")
      continue()
    endif()
    string(APPEND kept "${line}\n")
  endforeach()
  set(${out} "${kept}" PARENT_SCOPE)
endfunction()

qws_read_qmldir("${GOLDEN}" golden)
qws_read_qmldir("${GENERATED}" generated)
if(NOT golden STREQUAL generated)
  message(FATAL_ERROR "The module's qmldir changed.\n"
    "--- golden ${GOLDEN} (comments stripped)\n${golden}"
    "+++ generated ${GENERATED}\n${generated}"
    "If the change is intended, update the top-level qmldir (keep its comments).")
endif()
message(STATUS "qmldir matches the golden copy (${GOLDEN})")
