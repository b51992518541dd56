# ppp/module.cmake: the pppd plugin l2tpvpn.so (ppp/plugin/l2tpvpn_plugin.c), built against the ppp-dev headers
# (/usr/include/pppd). It is C and is loaded by pppd, so it gets its own flags rather than l2tpvpn_flags (which
# carries C++-only warnings). Without ppp-dev the target is skipped with a message; CI installs ppp-dev.
find_path(L2TPVPN_PPPD_INCLUDE_DIR pppd/pppd.h)
if(L2TPVPN_PPPD_INCLUDE_DIR)
  file(STRINGS ${L2TPVPN_PPPD_INCLUDE_DIR}/pppd/patchlevel.h _pppd_version_line REGEX "^#define[ \t]+VERSION")
  string(REGEX REPLACE ".*\"([^\"]+)\".*" "\\1" L2TPVPN_PPPD_VERSION "${_pppd_version_line}")
  add_library(l2tpvpn_pppd_plugin MODULE ${CMAKE_CURRENT_LIST_DIR}/plugin/l2tpvpn_plugin.c)
  set_target_properties(l2tpvpn_pppd_plugin PROPERTIES OUTPUT_NAME l2tpvpn PREFIX "" C_STANDARD 11
                                                       C_VISIBILITY_PRESET hidden)
  # pppd's headers are not warning-clean; -isystem keeps their warnings out of -Werror.
  target_include_directories(l2tpvpn_pppd_plugin SYSTEM PRIVATE ${L2TPVPN_PPPD_INCLUDE_DIR})
  target_compile_options(l2tpvpn_pppd_plugin PRIVATE -Wall -Wextra -Wshadow -Wimplicit-fallthrough)
  if(L2TPVPN_WERROR)
    target_compile_options(l2tpvpn_pppd_plugin PRIVATE -Werror)
  endif()
  # pppd resolves its own symbols (add_options, phase, ...) when it dlopen()s us: leave them undefined.
  # pppd loads a plugin named without a path from its compiled-in directory: /usr/lib/pppd/<version> on Debian,
  # not the multiarch libdir (GNUInstallDirs' LIBDIR is lib/x86_64-linux-gnu under debhelper).
  set(L2TPVPN_PPPD_PLUGIN_DIR lib/pppd/${L2TPVPN_PPPD_VERSION}
      CACHE STRING "pppd's plugin directory, relative to the install prefix")
  install(TARGETS l2tpvpn_pppd_plugin LIBRARY DESTINATION ${L2TPVPN_PPPD_PLUGIN_DIR})
else()
  message(STATUS "ppp-dev headers (pppd/pppd.h) not found: not building the l2tpvpn pppd plugin")
endif()
