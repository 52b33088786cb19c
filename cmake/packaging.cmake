# The Debian package: `cmake --build build --target package` (or `scripts/package`) makes
# qonversion-etl_<version>_<arch>.deb in the build directory from exactly what
# `cmake --install --prefix /usr` installs (cmake/install_rules.cmake), with:
#   - the units in Debian 12's unit directory, /lib/systemd/system (what debhelper uses there);
#   - /etc/qonversion-etl/config.toml as a conffile: an edited config survives upgrades, and
#     removal without purge;
#   - Depends from dpkg-shlibdeps on the binary, plus what it needs that no library names;
#   - the maintainer scripts of packaging/: reload systemd, stop the timers on removal, delete
#     the configuration on purge. Nothing is enabled or started.

# Whoever publishes the package names themselves here (-DQETL_PACKAGE_MAINTAINER="Name <mail>").
set(QETL_PACKAGE_MAINTAINER "qonversion-etl maintainers <qonversion-etl@example.org>"
    CACHE STRING "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME qonversion-etl)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${QETL_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "nightly snapshots of Qonversion customer metrics into SQL")
# The extended description; CPack puts the summary above it as the synopsis.
set(CPACK_PACKAGE_DESCRIPTION [=[Qonversion's analytics API answers only the current state of the customers
first seen in a date range, for one combination of filters, and keeps no
history. qonversion-etl asks it for every combination in a configured matrix
(platform, country, product, first-seen window and more) and upserts one
timestamped row per combination into SQLite or PostgreSQL, so that a nightly
run builds the history the API does not keep, ready for SQL, dbt and BI tools.
.
The package holds the program, a hardened systemd service with its nightly
timer (not enabled: systemctl enable --now qonversion-etl.timer), per-app
templates, a default configuration, the SQL schema and example queries,
Prometheus alert rules for its metrics file and dbt source definitions.]=])
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

# Everything under /usr except the config (absolute in the install rules).
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Read by the install rules while CPack stages the package (a plain `cmake --install` keeps
# QETL_SYSTEMD_UNITDIR): Debian 12's own packages ship their units there.
set(CPACK_CUSTOM_INSTALL_VARIABLES "QETL_PACKAGE_SYSTEMD_UNITDIR=/lib/systemd/system")
# Directories the install rules create implicitly, whatever the umask of whoever builds.
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
# Debian ships stripped binaries (symbols would belong in a -dbgsym package).
set(CPACK_STRIP_FILES ON)

# The libraries' packages, from dpkg-shlibdeps. Beside them: systemd for the units (247 brought
# LoadCredential= and ProtectProc=, which they use) and the CA certificates that the TLS
# connection to the API is verified against (libcurl only recommends them).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd (>= 247), ca-certificates")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus-node-exporter, postgresql-client")

set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/conffiles
    ${CMAKE_SOURCE_DIR}/packaging/postinst
    ${CMAKE_SOURCE_DIR}/packaging/prerm
    ${CMAKE_SOURCE_DIR}/packaging/postrm)
# Maintainer scripts 0755 and control files 0644, whatever the checkout's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

set(CPACK_VERBATIM_VARIABLES TRUE)
include(CPack)
