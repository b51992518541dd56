# ipsec/module.cmake: the embedded charon (ipsec/charon_process) spawns, reaps and stops charon and writes its
# configuration with the generic OS helpers of common/os (l2tpvpn_os); ipsec depends on no other module of ours.
target_link_libraries(l2tpvpn_ipsec PUBLIC l2tpvpn_os)
