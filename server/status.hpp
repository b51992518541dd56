// Status documents built from the daemon's state (pure): the JSON of /status and the Prometheus text of /metrics.
// The schema is documented in docs/status.md; tests check documents against it.
//
// Thread-safety: pure functions over const state.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "server/l2tp/endpoint.hpp"

namespace l2tpvpn {

// {"tunnels": [...], "drops": {...}, "stats": {...}}: one entry per tunnel with its sessions and channel stats.
nlohmann::json l2tp_status(const l2tp::Endpoint& endpoint);

// Prometheus text exposition format (version 0.0.4) for the L2TP part: gauges for tunnels/sessions by state,
// counters for datagrams, drops by reason, retransmissions.
std::string l2tp_metrics(const l2tp::Endpoint& endpoint);

// Escapes a Prometheus label value.
std::string prometheus_label(const std::string& v);

}  // namespace l2tpvpn
