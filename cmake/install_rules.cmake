# What `cmake --install` puts where (GNUInstallDirs, relative to the prefix unless absolute):
#   bin/qonversion-etl
#   lib/systemd/system/qonversion-etl{,@}.{service,timer}   (QETL_SYSTEMD_UNITDIR)
#   <sysconfdir>/qonversion-etl/config.toml                  (/etc for the prefix /usr; never overwritten)
#   share/qonversion-etl/{postgres,sqlite,examples}/*.sql
#   share/qonversion-etl/config.toml                         (the pristine default config)
#   share/qonversion-etl/monitoring/qonversion-etl.rules.yml (Prometheus alert rules)
#   share/qonversion-etl/dbt/{sources.yml,README.md}         (dbt source definitions)
#   share/doc/qonversion-etl/{README.md,metabase.md,copyright,changelog.gz}
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
  # Set by CPack (cmake/packaging.cmake) for the Debian package.
  if(DEFINED QETL_PACKAGE_SYSTEMD_UNITDIR)
    set(QETL_SYSTEMD_UNITDIR \"\${QETL_PACKAGE_SYSTEMD_UNITDIR}\")
  endif()
  include(\"${CMAKE_SOURCE_DIR}/cmake/install_systemd.cmake\")
")

install(TARGETS qonversion-etl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(DIRECTORY ${CMAKE_SOURCE_DIR}/sql/postgres ${CMAKE_SOURCE_DIR}/sql/sqlite ${CMAKE_SOURCE_DIR}/sql/examples
        DESTINATION ${CMAKE_INSTALL_DATADIR}/qonversion-etl
        FILES_MATCHING PATTERN "*.sql")

install(FILES ${CMAKE_SOURCE_DIR}/monitoring/qonversion-etl.rules.yml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/qonversion-etl/monitoring)
install(FILES ${CMAKE_SOURCE_DIR}/dbt/sources.yml ${CMAKE_SOURCE_DIR}/dbt/README.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/qonversion-etl/dbt)

# Documentation where Debian looks for it: the copyright file, and the changelog compressed
# the way dpkg tools expect (gzip -9, no name or time stamp in the header, so that two builds
# of one tree give the same bytes). Compressed at install time, into a directory of this
# install's own, so that installs running side by side do not share the file.
find_program(QETL_GZIP gzip REQUIRED)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/metabase.md ${CMAKE_SOURCE_DIR}/packaging/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(CODE "
  string(RANDOM LENGTH 16 _qetl_token)
  set(_qetl_gz_dir \"${CMAKE_BINARY_DIR}/install-staging/changelog-\${_qetl_token}\")
  file(MAKE_DIRECTORY \"\${_qetl_gz_dir}\")
  execute_process(COMMAND \"${QETL_GZIP}\" -9nc \"${CMAKE_SOURCE_DIR}/packaging/changelog\"
                  OUTPUT_FILE \"\${_qetl_gz_dir}/changelog.gz\" RESULT_VARIABLE _qetl_gzip_status)
  if(NOT _qetl_gzip_status EQUAL 0)
    message(FATAL_ERROR \"gzip of packaging/changelog failed: \${_qetl_gzip_status}\")
  endif()
  if(IS_ABSOLUTE \"${CMAKE_INSTALL_DOCDIR}\")
    set(_qetl_docdir \"${CMAKE_INSTALL_DOCDIR}\")
  else()
    set(_qetl_docdir \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}\")
  endif()
  file(INSTALL \"\${_qetl_gz_dir}/changelog.gz\" DESTINATION \"\${_qetl_docdir}\"
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  file(REMOVE_RECURSE \"\${_qetl_gz_dir}\")
")
