# What `cmake --install` puts where (GNUInstallDirs, relative to the prefix unless absolute):
#   bin/qonversion-etl
#   lib/systemd/system/qonversion-etl{,@}.{service,timer}   (QETL_SYSTEMD_UNITDIR)
#   <sysconfdir>/qonversion-etl/config.toml                  (/etc for the prefix /usr; never overwritten)
#   share/qonversion-etl/{postgres,sqlite,examples}/*.sql
#   share/qonversion-etl/config.toml                         (the pristine default config)
#
# The units and the config name the binary and the config directory by their /usr paths in the
# source tree. They are rewritten when installed, from the prefix given at install time
# (`cmake --install build --prefix /opt/x` works like a configure-time CMAKE_INSTALL_PREFIX),
# so that is done by cmake/install_systemd.cmake at install time, not here.

set(QETL_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Where the systemd units go: relative to the install prefix, or absolute")

# First, so that a prefix the units cannot name is refused before anything is installed.
# Variables are fixed now (paths of this build); CMAKE_INSTALL_PREFIX and DESTDIR are read when
# the install runs.
install(CODE "
  set(QETL_SOURCE_DIR \"${CMAKE_SOURCE_DIR}\")
  set(QETL_STAGING_DIR \"${CMAKE_BINARY_DIR}/install-staging\")
  set(QETL_INSTALL_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(QETL_INSTALL_SYSCONFDIR \"${CMAKE_INSTALL_SYSCONFDIR}\")
  set(QETL_INSTALL_DATADIR \"${CMAKE_INSTALL_DATADIR}\")
  set(QETL_SYSTEMD_UNITDIR \"${QETL_SYSTEMD_UNITDIR}\")
  include(\"${CMAKE_SOURCE_DIR}/cmake/install_systemd.cmake\")
")

install(TARGETS qonversion-etl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(DIRECTORY ${CMAKE_SOURCE_DIR}/sql/postgres ${CMAKE_SOURCE_DIR}/sql/sqlite ${CMAKE_SOURCE_DIR}/sql/examples
        DESTINATION ${CMAKE_INSTALL_DATADIR}/qonversion-etl
        FILES_MATCHING PATTERN "*.sql")
