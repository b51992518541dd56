#!/usr/bin/python3
"""The include graph of the tree, checked (ctest include_graph, label unit).

1. No cycles: a header never includes, directly or through others, itself.
2. The pure modules (protocol cores and the lifecycle core) sit below their adapters: they include no header of
   an adapter, no socket, thread or Boost.Asio header, and never read a clock (time is passed in).

Prints each violation with the file and line; exit 1 when there is one.
"""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIRS = ["common", "server", "ipsec", "ppp", "cli"]

# Pure modules: fed bytes, events and time, they return values and actions.
PURE = [
    r"^server/l2tp/", r"^server/vpn/", r"^server/status\.", r"^server/config\.", r"^server/firewall\.",
    r"^server/connection_limit\.",
    r"^ppp/(pppd_args|pppd_exit|ip_pool|plugin_report|hdlc|ipv4)\.",
    r"^ipsec/(vici_message|vici_packet|vici_session|charon_link|profile|sa_registry|traffic_selector)\.",
    r"^common/(bytes|result|display)\.",
    r"^cli/(render|client_setup|args)\.",
]
# Adapters and drivers: what a pure module must never include.
ADAPTERS = [
    r"^server/(daemon|session_manager|ipsec_supervisor|l2tp_driver|http_server|control_server|firewall_manager|xfrm_purge|link_stats)\.hpp$",
    r"^server/kernel/", r"^common/os/", r"^ppp/(pty|pppd_launcher)\.hpp$", r"^ipsec/vici_client\.hpp$",
]
FORBIDDEN_SYSTEM = [r"^boost/asio", r"^sys/socket\.h$", r"^netinet/", r"^thread$", r"^mutex$", r"^unistd\.h$"]
CLOCK = re.compile(r"\b(steady_clock|system_clock|high_resolution_clock|Clock)::now\(\)|\btime\(nullptr\)")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def files():
    for d in DIRS:
        for base, _, names in os.walk(os.path.join(ROOT, d)):
            for n in names:
                if n.endswith((".hpp", ".cpp")):
                    yield os.path.relpath(os.path.join(base, n), ROOT)


def main():
    graph, problems = {}, []
    for f in sorted(files()):
        deps = []
        with open(os.path.join(ROOT, f), encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                m = INCLUDE.match(line)
                pure = any(re.search(p, f) for p in PURE)
                if m:
                    kind, target = m.groups()
                    if kind == '"':
                        deps.append(target)
                        if pure and any(re.search(a, target) for a in ADAPTERS):
                            problems.append(f"{f}:{lineno}: pure module includes adapter {target}")
                    elif pure and any(re.search(s, target) for s in FORBIDDEN_SYSTEM):
                        problems.append(f"{f}:{lineno}: pure module includes <{target}>")
                elif pure and CLOCK.search(line.split("//")[0]):
                    problems.append(f"{f}:{lineno}: pure module reads the clock")
        graph[f] = deps
    # Cycles among headers (depth-first search, white/grey/black).
    colour, stack = {}, []

    def visit(h):
        colour[h] = 1
        stack.append(h)
        for d in graph.get(h, []):
            if not d.endswith(".hpp") or d not in graph:
                continue
            if colour.get(d) == 1:
                problems.append("include cycle: " + " -> ".join(stack[stack.index(d):] + [d]))
            elif not colour.get(d):
                visit(d)
        stack.pop()
        colour[h] = 2

    for h in graph:
        if h.endswith(".hpp") and not colour.get(h):
            visit(h)
    for p in problems:
        print(p)
    pure_count = sum(1 for f in graph if any(re.search(p, f) for p in PURE))
    print(f"{len(graph)} files, {pure_count} in pure modules, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
