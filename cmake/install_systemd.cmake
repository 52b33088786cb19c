# Install-time part of install_rules.cmake: the systemd units and the config, with the binary's
# and the config directory's paths rewritten for the prefix of this install.
#
# Runs inside `cmake --install` (install(CODE)), where CMAKE_INSTALL_PREFIX is the prefix of
# this install (--prefix included) and $ENV{DESTDIR} the staging root. Set by the caller:
# QETL_SOURCE_DIR, QETL_STAGING_DIR, QETL_INSTALL_BINDIR, QETL_INSTALL_SYSCONFDIR,
# QETL_INSTALL_DATADIR, QETL_SYSTEMD_UNITDIR (relative to the prefix or absolute).

set(_qetl_prefix "${CMAKE_INSTALL_PREFIX}")
if(_qetl_prefix MATCHES "^(.+)/+$")
  set(_qetl_prefix "${CMAKE_MATCH_1}")
endif()

# Where install(... DESTINATION <relative>) puts things: under the prefix.
function(_qetl_under_prefix out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  elseif(_qetl_prefix STREQUAL "/")
    set(${out} "/${dir}" PARENT_SCOPE)
  else()
    set(${out} "${_qetl_prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

# GNUInstallDirs' CMAKE_INSTALL_FULL_SYSCONFDIR for this prefix: /etc for / and /usr,
# /etc/opt/<name> for /opt/<name>, <prefix>/etc otherwise (the same rules, applied to the
# install-time prefix instead of the configure-time one).
function(_qetl_full_sysconfdir out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  elseif(_qetl_prefix STREQUAL "/" OR _qetl_prefix STREQUAL "/usr")
    set(${out} "/${dir}" PARENT_SCOPE)
  elseif(_qetl_prefix MATCHES "^/opt/" AND NOT _qetl_prefix MATCHES "^/opt/homebrew/")
    set(${out} "/${dir}${_qetl_prefix}" PARENT_SCOPE)
  else()
    set(${out} "${_qetl_prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

_qetl_under_prefix(_qetl_bindir "${QETL_INSTALL_BINDIR}")
_qetl_under_prefix(_qetl_unitdir "${QETL_SYSTEMD_UNITDIR}")
_qetl_under_prefix(_qetl_datadir "${QETL_INSTALL_DATADIR}")
_qetl_full_sysconfdir(_qetl_sysconfdir "${QETL_INSTALL_SYSCONFDIR}")
set(_qetl_binary "${_qetl_bindir}/qonversion-etl")
set(_qetl_confdir "${_qetl_sysconfdir}/qonversion-etl")

# The paths go unquoted into ExecStart= and LoadCredential=, where whitespace, quotes,
# backslashes, '$' and '%' mean something else.
foreach(_qetl_path IN ITEMS "${_qetl_binary}" "${_qetl_confdir}")
  if(_qetl_path MATCHES "[ \t\n\"'\\\\$%;]")
    message(FATAL_ERROR "qonversion-etl: cannot write \"${_qetl_path}\" into the systemd units; "
                        "choose a prefix without whitespace, quotes, '\\\\', '$', '%' or ';'")
  endif()
endforeach()

# A private staging directory, so that installs running side by side do not share files.
string(RANDOM LENGTH 16 _qetl_token)
set(_qetl_stage "${QETL_STAGING_DIR}/${_qetl_token}")
file(MAKE_DIRECTORY "${_qetl_stage}")

function(_qetl_stage_rewritten source name)
  file(READ "${source}" text)
  string(REPLACE "/usr/bin/qonversion-etl" "${_qetl_binary}" text "${text}")
  string(REPLACE "/etc/qonversion-etl/" "${_qetl_confdir}/" text "${text}")
  file(WRITE "${_qetl_stage}/${name}" "${text}")
endfunction()

set(_qetl_units qonversion-etl.service qonversion-etl.timer qonversion-etl@.service qonversion-etl@.timer)
set(_qetl_staged_units "")
foreach(_qetl_unit IN LISTS _qetl_units)
  _qetl_stage_rewritten("${QETL_SOURCE_DIR}/systemd/${_qetl_unit}" "${_qetl_unit}")
  list(APPEND _qetl_staged_units "${_qetl_stage}/${_qetl_unit}")
endforeach()
file(INSTALL ${_qetl_staged_units} DESTINATION "${_qetl_unitdir}"
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# The default config: always as a reference copy in share/, and in the config directory only
# when there is no config there yet. The service's dynamic user reads the config, so it is
# world-readable: secrets belong in credentials, never in it.
_qetl_stage_rewritten("${QETL_SOURCE_DIR}/config/config.installed.toml" "config.toml")
file(INSTALL "${_qetl_stage}/config.toml" DESTINATION "${_qetl_datadir}/qonversion-etl"
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
set(_qetl_config "$ENV{DESTDIR}${_qetl_confdir}/config.toml")
if(EXISTS "${_qetl_config}" OR IS_SYMLINK "${_qetl_config}")
  message(STATUS "Keeping: ${_qetl_config} (an existing config is never overwritten; "
                 "the default is ${_qetl_datadir}/qonversion-etl/config.toml)")
else()
  file(INSTALL "${_qetl_stage}/config.toml" DESTINATION "${_qetl_confdir}"
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()

file(REMOVE_RECURSE "${_qetl_stage}")
