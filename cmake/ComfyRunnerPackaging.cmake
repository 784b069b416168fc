# Debian packages with CPack: `cmake --build build --target package` (or `cd build && cpack -G DEB`) makes
#   comfy-runner         the service, comfy-sim, the systemd unit, /etc/comfy-runner/config.toml (a conffile),
#                        the example workflows, the man page and the docs;
#   comfy-runner-monitor the desktop monitor, its desktop entry, AppStream metainfo and icons.
# Dependencies come from dpkg-shlibdeps; scripts/package-test.sh builds, lints, installs and purges them.
include(GNUInstallDirs)

set(CR_PKG_DIR "${PROJECT_SOURCE_DIR}/packaging")
set(CR_PKG_OUT "${PROJECT_BINARY_DIR}/packaging")
file(MAKE_DIRECTORY "${CR_PKG_OUT}")

# Compressed, timestamp-free man pages and changelogs, as Debian wants them.
configure_file("${CR_PKG_DIR}/debian/changelog.in" "${CR_PKG_OUT}/changelog" @ONLY)
set(CR_PKG_GZ)
foreach(pair "comfy-runner.1;${CR_PKG_DIR}/comfy-runner.1" "comfy-runner-monitor.1;${CR_PKG_DIR}/comfy-runner-monitor.1"
             "comfy-sim.1;${CR_PKG_DIR}/comfy-sim.1"
             "changelog.Debian;${CR_PKG_OUT}/changelog")
    list(GET pair 0 name)
    list(GET pair 1 source)
    add_custom_command(OUTPUT "${CR_PKG_OUT}/${name}.gz"
        COMMAND gzip -9nc "${source}" > "${CR_PKG_OUT}/${name}.gz"
        DEPENDS "${source}" VERBATIM)
    list(APPEND CR_PKG_GZ "${CR_PKG_OUT}/${name}.gz")
endforeach()
add_custom_target(cr_package_files ALL DEPENDS ${CR_PKG_GZ})

# comfy-runner (component "service").
install(FILES "${CR_PKG_DIR}/comfy-runner.service" DESTINATION /lib/systemd/system COMPONENT service)
install(FILES "${PROJECT_SOURCE_DIR}/resources/comfy-runner.toml" DESTINATION /etc/comfy-runner
        RENAME config.toml COMPONENT service)
install(DIRECTORY "${PROJECT_SOURCE_DIR}/workflows/" DESTINATION ${CMAKE_INSTALL_DATADIR}/comfy-runner/workflows
        COMPONENT service FILES_MATCHING PATTERN "*.json")
# The Grafana dashboard built on /metrics (docs/metrics.md), to import into Grafana.
install(FILES "${CR_PKG_DIR}/grafana/comfy-runner-dashboard.json" DESTINATION ${CMAKE_INSTALL_DATADIR}/comfy-runner/grafana
        COMPONENT service)
install(FILES "${CR_PKG_OUT}/comfy-runner.1.gz" "${CR_PKG_OUT}/comfy-sim.1.gz" DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT service)
install(FILES "${CR_PKG_DIR}/debian/copyright" "${CR_PKG_OUT}/changelog.Debian.gz" "${PROJECT_SOURCE_DIR}/README.md"
              "${PROJECT_SOURCE_DIR}/config_example.toml" "${PROJECT_SOURCE_DIR}/docs/api.md"
              "${PROJECT_SOURCE_DIR}/docs/relay-protocol.md" "${PROJECT_SOURCE_DIR}/docs/workflows.md"
              "${PROJECT_SOURCE_DIR}/docs/metrics.md" "${PROJECT_SOURCE_DIR}/docs/webhooks.md"
              "${PROJECT_SOURCE_DIR}/docs/cluster.md"
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/comfy-runner COMPONENT service)

# comfy-runner-monitor (component "monitor").
if(COMFY_RUNNER_BUILD_MONITOR)
    install(FILES "${PROJECT_SOURCE_DIR}/resources/comfy-runner-monitor.desktop"
            DESTINATION ${CMAKE_INSTALL_DATADIR}/applications COMPONENT monitor)
    install(FILES "${PROJECT_SOURCE_DIR}/resources/org.comfyrunner.Monitor.metainfo.xml"
            DESTINATION ${CMAKE_INSTALL_DATADIR}/metainfo COMPONENT monitor)
    install(FILES "${PROJECT_SOURCE_DIR}/resources/icons/comfy-runner.svg"
            DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps COMPONENT monitor)
    foreach(size 16 32 48 64 128 256)
        install(FILES "${PROJECT_SOURCE_DIR}/resources/icons/comfy-runner-${size}.png"
                DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/${size}x${size}/apps RENAME comfy-runner.png
                COMPONENT monitor)
    endforeach()
    install(FILES "${CR_PKG_OUT}/comfy-runner-monitor.1.gz" DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT monitor)
    install(FILES "${CR_PKG_DIR}/debian/copyright" "${CR_PKG_OUT}/changelog.Debian.gz" "${PROJECT_SOURCE_DIR}/docs/monitor.md"
            DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/comfy-runner-monitor COMPONENT monitor)
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME comfy-runner)
set(CPACK_PACKAGE_VENDOR "comfy_runner developers")
set(CPACK_PACKAGE_CONTACT "comfy_runner developers <comfy-runner@example.org>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL service)
if(COMFY_RUNNER_BUILD_MONITOR)
    list(APPEND CPACK_COMPONENTS_ALL monitor)
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_SERVICE_PACKAGE_NAME comfy-runner)
set(CPACK_DEBIAN_SERVICE_PACKAGE_SECTION net)
# The SQLite driver is a plugin: dpkg-shlibdeps cannot see it.
set(CPACK_DEBIAN_SERVICE_PACKAGE_DEPENDS "libqt6sql6-sqlite")
# The PostgreSQL driver only for [store] url = "postgresql://..." (several runners, docs/cluster.md).
set(CPACK_DEBIAN_SERVICE_PACKAGE_RECOMMENDS "libqt6sql6-psql")
# Descriptions: the first line is the synopsis, the rest the extended text (lines under 80 columns). CPack
# would put CPACK_PACKAGE_DESCRIPTION_SUMMARY (the project's DESCRIPTION) before every component's text
# unless it is CPack's own default, so it is set to that default.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CMAKE_PROJECT_NAME} built using CMake")
set(CPACK_DEBIAN_SERVICE_DESCRIPTION "REST API and live event relay in front of ComfyUI
comfy-runner runs beside ComfyUI, the node-graph image generation server.
It loads API-format workflows, lets clients change their inputs and run them
over HTTP (blocking, or as jobs with ids, cancel and outputs), and relays every
ComfyUI event, binary KSampler previews included, to any number of WebSocket
and Server-Sent Events clients.
.
This package holds the service with its systemd unit, and comfy-sim, a ComfyUI
simulator for trying it out without a GPU.")
set(CPACK_DEBIAN_SERVICE_PACKAGE_CONTROL_EXTRA
    "${CR_PKG_DIR}/debian/conffiles;${CR_PKG_DIR}/debian/postinst;${CR_PKG_DIR}/debian/prerm;${CR_PKG_DIR}/debian/postrm")
set(CPACK_DEBIAN_MONITOR_PACKAGE_NAME comfy-runner-monitor)
set(CPACK_DEBIAN_MONITOR_PACKAGE_SECTION graphics)
# The platform plugins (xcb, wayland) are plugins too.
set(CPACK_DEBIAN_MONITOR_PACKAGE_DEPENDS "qt6-qpa-plugins")
set(CPACK_DEBIAN_MONITOR_DESCRIPTION "desktop monitor of comfy-runner: live previews, jobs and events
The desktop monitor of comfy-runner: a Qt Widgets application that connects
to a comfy-runner service and shows the KSampler previews as they arrive, the
progress of every job, the jobs with their outputs and every event, and runs
workflows with their named parameters.")
include(CPack)
