# Install tests (label "install"): `cmake --install` of this build into temporary trees, the
# units checked by systemd-analyze, and the installed service's ExecStart= line run against the
# mock API. Included by tests/CMakeLists.txt.

# Not finding it fails the tests that need it (with the package to install), never skips them.
find_program(QETL_SYSTEMD_ANALYZE systemd-analyze)
if(NOT QETL_SYSTEMD_ANALYZE)
  message(WARNING "systemd-analyze not found (Debian package: systemd): the install tests that check the units will fail")
  set(QETL_SYSTEMD_ANALYZE "")
endif()

qetl_test_binary(install_tests install LABELS install LIBS SQLiteCpp)
if(TARGET install_tests)
  # The tests install whatever this build holds: the binary must be built first.
  add_dependencies(install_tests qonversion-etl)
  target_compile_definitions(install_tests PRIVATE
    QETL_CMAKE_COMMAND="${CMAKE_COMMAND}"
    QETL_BUILD_DIR="${CMAKE_BINARY_DIR}"
    QETL_SYSTEMD_ANALYZE="${QETL_SYSTEMD_ANALYZE}")
endif()
