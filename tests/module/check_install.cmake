# SPDX-License-Identifier: BSD-3-Clause
# cmake -DBUILD_DIR=… -DWORK_DIR=… -DQMLDIR=<relative QML dir> -DTST_QML=… -DSMOKE=… -P check_install.cmake
# Installs the build into a scratch prefix, then checks what a user of the install gets: the QML module
# (loaded from the installed tree by a Qt Quick Test), and find_package(QuickWebSockets) for C++.
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")

set(module "${prefix}/${QMLDIR}/QuickWebSockets")
foreach(f qmldir libquickwebsocketsplugin.so QuickWebSocketsQml.qmltypes ConnectionList.qml MessageLog.qml)
  if(NOT EXISTS "${module}/${f}")
    message(FATAL_ERROR "not installed: ${module}/${f}")
  endif()
endforeach()
file(GLOB config "${prefix}/lib*/cmake/QuickWebSockets/QuickWebSocketsConfig.cmake")
if(NOT config)
  message(FATAL_ERROR "no QuickWebSocketsConfig.cmake under ${prefix}")
endif()
foreach(h websocketserver.h websocket.h corsauthenticator.h websocketprotocol.h stats.h quickwebsockets_global.h)
  if(NOT EXISTS "${prefix}/include/QuickWebSockets/${h}")
    message(FATAL_ERROR "header not installed: ${h}")
  endif()
endforeach()

# The QML module from the installed tree only (the plugin must find its libraries by its run path).
set(ENV{QT_QPA_PLATFORM} offscreen)
set(ENV{QML_IMPORT_PATH} "")
run("${TST_QML}" -import "${module}/.." -input "${SMOKE}")

# A C++ consumer of the package.
file(MAKE_DIRECTORY "${WORK_DIR}/consumer")
file(WRITE "${WORK_DIR}/consumer/CMakeLists.txt" [=[
cmake_minimum_required(VERSION 3.24)
project(consumer LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(QuickWebSockets REQUIRED)
add_executable(consumer main.cpp)
target_link_libraries(consumer PRIVATE QuickWebSockets::QuickWebSockets)
]=])
file(WRITE "${WORK_DIR}/consumer/main.cpp" [=[
#include <QtCore/QCoreApplication>
#include <websocketserver.h>
#include <cstdio>
int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    qws::WebSocketServer server(QStringLiteral("consumer"), qws::WebSocketServer::NonSecureMode);
    if (!server.listen(QHostAddress::LocalHost, 0))
        return 1;
    std::printf("listening on %d\n", int(server.serverPort()));
    return 0;
}
]=])
run(${CMAKE_COMMAND} -S "${WORK_DIR}/consumer" -B "${WORK_DIR}/consumer/build" -G Ninja
    "-DCMAKE_PREFIX_PATH=${prefix}" -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build "${WORK_DIR}/consumer/build")
run("${WORK_DIR}/consumer/build/consumer")
if(NOT run_output MATCHES "listening on [1-9]")
  message(FATAL_ERROR "consumer did not listen: ${run_output}")
endif()
message(STATUS "install check passed: ${prefix}")
