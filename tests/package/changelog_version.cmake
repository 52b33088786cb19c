# Fails unless the newest entry of the Debian changelog (packaging/changelog) is VERSION.
# cmake -DCHANGELOG=<file> -DVERSION=<project version> -P changelog_version.cmake
find_program(PARSECHANGELOG dpkg-parsechangelog)
if(NOT PARSECHANGELOG)
  message(FATAL_ERROR "dpkg-parsechangelog not found (Debian package: dpkg-dev)")
endif()
execute_process(COMMAND ${PARSECHANGELOG} -l ${CHANGELOG} -S Version
                OUTPUT_VARIABLE newest OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${CHANGELOG}: dpkg-parsechangelog failed (${status})")
endif()
if(NOT newest STREQUAL VERSION)
  message(FATAL_ERROR "${CHANGELOG}: the newest entry is ${newest}, the project is ${VERSION}: "
                      "add an entry for ${VERSION} (dch -v ${VERSION}, or by hand in the same format)")
endif()
message(STATUS "${CHANGELOG}: newest entry ${newest}")
