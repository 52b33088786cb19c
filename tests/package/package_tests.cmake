# Package tests: the Debian package's contents (label "package"), the Prometheus alert rules
# (label "monitoring") and the dbt sources against the PostgreSQL comments (labels "package" and
# "postgres"). Included by tests/CMakeLists.txt. A missing tool fails its test with the Debian
# package to install (scripts/install-deps installs them all), never skips it.

find_program(QETL_PROMTOOL promtool)
if(NOT QETL_PROMTOOL)
  message(WARNING "promtool not found (Debian package: prometheus): the monitoring tests will fail")
  set(QETL_PROMTOOL promtool)
endif()

# promtool's verdict on the rules file itself: syntax, PromQL, templates.
add_test(NAME monitoring_rules_check
         COMMAND ${QETL_PROMTOOL} check rules ${CMAKE_SOURCE_DIR}/monitoring/qonversion-etl.rules.yml)
# Every alert fed series where it must fire and where it must not.
add_test(NAME monitoring_rules_test
         COMMAND ${QETL_PROMTOOL} test rules tests/qonversion-etl.test.yml
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}/monitoring)
# The rules on a metrics file this build's binary wrote (a run failing before it fetches).
add_test(NAME monitoring_rules_on_real_metrics_file
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/alerts_on_real_metrics.py $<TARGET_FILE:qonversion-etl>
                 ${QETL_PROMTOOL} ${CMAKE_SOURCE_DIR}/monitoring/qonversion-etl.rules.yml)
set_tests_properties(monitoring_rules_check monitoring_rules_test monitoring_rules_on_real_metrics_file
                     PROPERTIES LABELS monitoring TIMEOUT 120)

# dbt/sources.yml is what scripts/dbt-sources generates from the schema this build's binary
# migrates: every description equal to its PostgreSQL COMMENT, the unique keys valid SQL.
add_test(NAME dbt_sources_match_postgres_comments
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/scripts/dbt-sources $<TARGET_FILE:qonversion-etl>
                 --check ${CMAKE_SOURCE_DIR}/dbt/sources.yml)
set_tests_properties(dbt_sources_match_postgres_comments PROPERTIES LABELS "package;postgres" TIMEOUT 120)

# The changelog names the version being packaged: a new version needs its entry.
add_test(NAME package_changelog_names_project_version
         COMMAND ${CMAKE_COMMAND} -DCHANGELOG=${CMAKE_SOURCE_DIR}/packaging/changelog
                 -DVERSION=${PROJECT_VERSION} -P ${CMAKE_CURRENT_LIST_DIR}/changelog_version.cmake)
# The .deb this build makes, taken apart: what lands where, conffiles, maintainer scripts,
# Depends, and lintian without errors.
add_test(NAME package_contents
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/package_contents.sh ${CMAKE_CPACK_COMMAND} ${CMAKE_BINARY_DIR}
                 ${PROJECT_VERSION})
set_tests_properties(package_changelog_names_project_version package_contents PROPERTIES LABELS package TIMEOUT 300)
