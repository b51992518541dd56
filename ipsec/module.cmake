# ipsec/module.cmake: the embedded charon (ipsec/charon_process) starts and reaps charon with ppp/pppd_launcher's
# generic spawn_process/try_reap/signal_process_group and writes its configuration with ppp/atomic_file; those
# are not pppd-specific, and l2tpvpn_ppp depends on nothing of ours, so ipsec may depend on it.
target_link_libraries(l2tpvpn_ipsec PUBLIC l2tpvpn_ppp)
