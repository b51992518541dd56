#!/usr/bin/python3
"""L2TP setup benchmark: l2tpvpnd against xl2tpd, same shapes, one run (docs/benchmarks.md).

Runs tests/bench/l2tp_loadgen (our LAC load generator) against each LNS on loopback with IPsec off, reads the
LNS's CPU (/proc/PID/schedstat) and memory (/proc/PID/status VmRSS) around each phase, and writes
OUT/results.json, OUT/report.md and, when python3-matplotlib is installed, PNG plots. It prints numbers and
never judges them; it exits non-zero only when a setup did not complete (correctness under load) or a tool is
missing.

  tests/bench/setup_bench.py --build build            # the documented shapes (several minutes)
  tests/bench/setup_bench.py --build build --ci       # the small CI shape (ctest -L bench)

Needs root for xl2tpd's pppd stand-in (a bind mount over /usr/sbin/pppd in a private mount namespace);
without root, or without /usr/sbin/xl2tpd, only l2tpvpnd is measured. Traffic stays on 127.0.0.1.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

XL2TPD = "/usr/sbin/xl2tpd"
PPPD = "/usr/sbin/pppd"


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_tcp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ns(pid):
    """CPU time of the process (all its threads) in ns; children are not included."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0])
    except OSError:
        return 0


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children_of(pid):
    """The children of every thread of `pid` (l2tpvpnd starts pppd from a thread of its own, and /proc lists a
    child under the thread that started it)."""
    kids = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return kids


def raise_nofile():
    """In pty mode each session holds two descriptors in the LNS (the pty master and, in l2tpvpnd, pppd's report
    socket): 10,000 sessions need more than 20,000 (the unit file's LimitNOFILE=65536 in production). Raised as
    far as this host lets us: without CAP_SYS_RESOURCE only up to the hard limit."""
    import resource
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (65536, max(hard, 65536)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    """One LNS under test, started fresh for each shape."""

    def __init__(self, kind, work, build, pppd, pty_sessions):
        self.kind, self.work, self.build, self.pppd = kind, work, build, pppd
        self.port = free_udp_port()
        self.status_port = free_tcp_port()
        self.proc = None
        self.log = None
        self.pty_sessions = pty_sessions

    def start(self):
        d = tempfile.mkdtemp(prefix=f"{self.kind}-", dir=self.work)
        self.dir = d
        self.log = open(os.path.join(d, "log"), "w")
        if self.kind == "l2tpvpnd":
            conf = os.path.join(d, "l2tpvpnd.conf")
            with open(conf, "w") as f:
                f.write(f"""[log]
level = {os.environ.get("L2TPVPN_BENCH_LOG_LEVEL", "warn")}
[l2tp]
listen = 127.0.0.1
port = {self.port}
max_tunnels = 65535
max_tunnels_per_peer = 65535
max_sessions_per_tunnel = 1000
max_control_rate = 0
[status]
enabled = true
listen = 127.0.0.1
port = {self.status_port}
[control]
socket = {d}/control.sock
[server]
runtime_dir = {d}/run
[users]
file = {d}/users
[ppp]
pppd = {self.pppd}
plugin = {os.path.join(self.build, "l2tpvpn.so")}
data_path = pty
max_sessions_per_peer = 65535
max_unauthenticated_per_peer = 65535
max_unauthenticated = 65535
[pool]
range = 10.200.0.1-10.200.255.254
server_address = 10.199.0.1
[ipsec]
required = no
[firewall]
manage = no
""")
            os.chmod(conf, 0o600)
            argv = [os.path.join(self.build, "l2tpvpnd"), "-c", conf]
        else:
            with open(os.path.join(d, "xl2tpd.conf"), "w") as f:
                f.write(f"""[global]
listen-addr = 127.0.0.1
port = {self.port}
access control = no
[lns default]
ip range = 10.201.0.1-10.201.255.254
local ip = 10.199.0.2
require authentication = no
pppoptfile = {d}/options
length bit = yes
""")
            open(os.path.join(d, "options"), "w").close()
            open(os.path.join(d, "secrets"), "w").close()
            xl = (f"{XL2TPD} -D -c {d}/xl2tpd.conf -s {d}/secrets -p {d}/xl2tpd.pid -C {d}/control")
            bind = f"mount --bind {self.pppd} {PPPD} && " if self.pppd != PPPD else ""
            # A private mount namespace: the stand-in replaces pppd for this xl2tpd only; /run/xl2tpd is its own.
            script = f"mount -t tmpfs tmpfs /run && mkdir -p /run/xl2tpd /run/lock && {bind}exec {xl}"
            argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", script]
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=raise_nofile)
        time.sleep(0.3)
        for _ in range(50):  # wait for the UDP port
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited at start; see {d}/log")
            if self.kind == "xl2tpd" or self.http("/healthz") is not None:
                break
            time.sleep(0.1)
        time.sleep(0.3)

    def http(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.status_port}{path}", timeout=5) as r:
                return r.read()
        except Exception:  # noqa: BLE001 - not up yet, or not l2tpvpnd
            return None

    def stop(self):
        lg = getattr(self, "loadgen", None)
        if lg and lg.poll() is None:
            lg.kill()
            lg.wait()
        if not getattr(self, "kids", None) and self.proc:
            self.kids = children_of(self.proc.pid)
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # xl2tpd leaves its pppds (stand-ins) behind when killed: end them by the pids we know, each only while its
        # command line still names our work or build directory (a pid may have passed to another process).
        for pid in getattr(self, "kids", []):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmdline = f.read().decode(errors="replace")
                if self.dir in cmdline or self.build in cmdline:
                    os.kill(pid, 9)
            except OSError:
                pass
        if self.log:
            self.log.close()


def run_shape(args, kind, shape, pppd, label):
    tunnels, sessions, in_flight = shape["tunnels"], shape["sessions"], shape.get("in_flight", args.in_flight)
    srv = Server(kind, args.work, args.build, pppd, tunnels * sessions)
    srv.start()
    pid = srv.proc.pid
    rss0 = rss_kib(pid)
    lat_file = os.path.join(args.out, f"lat-{label}-{kind}.txt")
    release = os.path.join(srv.dir, "release")
    argv = [args.loadgen, "--port", str(srv.port), "--tunnels", str(tunnels), "--sessions", str(sessions),
            "--in-flight", str(in_flight), "--hold-ms", "600000", "--release-file", release, "--teardown",
            "--hello-s", str(shape.get("hello_s", 60)), "--timeout-s", str(shape.get("timeout_s", 120)),
            "--latencies", lat_file]
    try:
        return measure(args, kind, shape, srv, argv, release, label, tunnels, sessions, in_flight, pppd, rss0)
    finally:
        srv.stop()


def measure(args, kind, shape, srv, argv, release, label, tunnels, sessions, in_flight, pppd, rss0):
    pid = srv.proc.pid
    cpu0 = cpu_ns(pid)
    t0 = time.monotonic()
    lg = subprocess.Popen(["nice", "-n", "10"] + argv, stdout=subprocess.PIPE, text=True)
    srv.loadgen = lg
    out = {"server": kind, "shape": label, "tunnels": tunnels, "sessions_per_tunnel": sessions,
           "in_flight": in_flight, "pppd": pppd, "rss_idle_kib": rss0}
    result = None
    for line in lg.stdout:
        if line.startswith("LOADGEN up"):
            out["server_cpu_setup_ns"] = cpu_ns(pid) - cpu0
            out["wall_setup_s"] = time.monotonic() - t0
            # The L2TP setup is done; each session's pppd may still be starting. Wait (bounded) until all run.
            want = tunnels * sessions
            end = time.monotonic() + shape.get("ppp_wait_s", 120)
            kids = children_of(pid)
            while want and len(kids) < want and time.monotonic() < end:
                time.sleep(0.02)
                kids = children_of(pid)
            if want and len(kids) >= want:
                out["ppp_started_s"] = round(time.monotonic() - t0, 3)
                out["server_cpu_to_ppp_ns"] = cpu_ns(pid) - cpu0
            time.sleep(0.3)
            out["rss_held_kib"] = rss_kib(pid)
            srv.kids = children_of(pid)
            out["children_held"] = len(srv.kids)
            if kind == "l2tpvpnd":
                for path in ("/status", "/metrics"):
                    worst, size, cpu = 0.0, 0, 0
                    for _ in range(3):
                        s = time.monotonic()
                        c = cpu_ns(pid)
                        body = srv.http(path)
                        worst = max(worst, time.monotonic() - s)
                        cpu = max(cpu, cpu_ns(pid) - c)
                        size = len(body) if body else 0
                    out[f"{path[1:]}_ms"] = round(worst * 1000, 2)
                    out[f"{path[1:]}_cpu_ms"] = round(cpu / 1e6, 2)  # the LNS's CPU for one answer: load aside
                    out[f"{path[1:]}_bytes"] = size
            # Everything stays up at least hold_ms after the setup (HELLOs and their acks flow meanwhile).
            time.sleep(max(0.0, shape.get("hold_ms", 1000) / 1000 - (time.monotonic() - t0 - out["wall_setup_s"])))
            open(release, "w").close()
        elif line.startswith("LOADGEN result "):
            result = json.loads(line[len("LOADGEN result "):])
    lg.wait()
    out["loadgen"] = result
    out["loadgen_exit"] = lg.returncode
    out["server_cpu_total_ns"] = cpu_ns(pid) - cpu0
    time.sleep(shape.get("settle_s", 2))
    out["rss_after_teardown_kib"] = rss_kib(pid)
    if kind == "l2tpvpnd" and shape.get("after_hold"):
        # Closed tunnels are held for RFC 2661's stop hold (31 s); once they are gone the daemon hands the freed
        # heap back (malloc_trim, checked every 5 s). Sampled when /metrics counts no tunnel, plus one check.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            body = srv.http("/metrics") or b""
            if not any(line.startswith(b"l2tpvpn_tunnels{") and not line.endswith(b" 0")
                       for line in body.splitlines()):
                break
            time.sleep(1)
        time.sleep(6)
        out["rss_after_hold_kib"] = rss_kib(pid)
    out["server_alive"] = srv.proc.poll() is None
    if result:
        units = tunnels * max(1, sessions)
        out["rss_per_unit_bytes"] = round((out.get("rss_held_kib", rss0) - rss0) * 1024 / max(1, units))
        dg = result.get("setup_datagrams_sent", 0) + result.get("setup_datagrams_received", 0)
        out["ns_per_datagram"] = round(out.get("server_cpu_setup_ns", 0) / dg) if dg else None
        setups = tunnels + tunnels * sessions
        out["cpu_us_per_setup"] = round(out.get("server_cpu_setup_ns", 0) / 1000 / max(1, setups), 1)
    return out


def pppd_start_bound(n, plugin):
    """pppd's own start cost, measured directly: n starts with the argv shape l2tpvpnd gives it on a pty (this
    kernel has no PPP, so pppd stops at its kernel-support check after loading our plugin and parsing its options;
    what is measured is exec + dynamic linking + options + plugin + that check). Sequential, and two at a time
    (this machine has two cores): the latter is the throughput bound for sessions whose pppd must start."""
    if not os.path.exists(PPPD):
        return None
    import pty
    master, slave = pty.openpty()
    name = os.ttyname(slave)
    argv = [PPPD, name, "nodetach", "noauth", "plugin", plugin, "nodefaultroute", "local", "lcp-echo-interval", "30",
            "lcp-echo-failure", "4", "mtu", "1350", "mru", "1350", "10.199.0.1:10.200.0.2"]
    codes = {}
    t0 = time.monotonic()
    for _ in range(n):
        p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        codes[p.returncode] = codes.get(p.returncode, 0) + 1
    seq = time.monotonic() - t0
    t0 = time.monotonic()
    running = []
    for _ in range(n):
        if len(running) >= 2:
            running.pop(0).wait()
        running.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for p in running:
        p.wait()
    par = time.monotonic() - t0
    os.close(master)
    os.close(slave)
    return {"starts": n, "sequential_s": round(seq, 3), "sequential_per_s": round(n / seq, 1),
            "two_at_a_time_s": round(par, 3), "starts_per_s": round(n / par, 1), "exit_codes": codes,
            "note": "pppd exits at its kernel-support check (no /dev/ppp on this host)"}


def fmt(v, digits=0):
    if v is None:
        return "-"
    return f"{v:,.{digits}f}"


def report(results, meta, out_dir):
    lines = [f"# Setup benchmark ({meta['mode']})", "",
             f"Machine: {meta['machine']}. Absolute numbers are this machine's; the ratios are the claim.", ""]
    by = {}
    for r in results:
        by.setdefault(r["shape"], {})[r["server"]] = r
    lines += ["| shape | server | tunnels/s | sessions/s (L2TP) | sessions/s (pppd started) | tunnel p50/p99 ms | ICCN ack p50/p99 ms | ICCN ack on the wire p50/p99 ms | CPU µs/setup |"
               " ns/datagram | RSS B/unit | ID collisions (tunnel/session) | retransmissions (setup / all) | complete |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for shape, servers in by.items():
        for kind in ("xl2tpd", "l2tpvpnd"):
            r = servers.get(kind)
            if not r or not r.get("loadgen"):
                continue
            g = r["loadgen"]
            lines.append(
                f"| {shape} | {kind} | {fmt(g['tunnels_per_s'])} | {fmt(g['sessions_per_s'])} | "
                f"{fmt(g['sessions_up'] / r['ppp_started_s'] if r.get('ppp_started_s') else None)} | "
                f"{fmt(g['tunnel_setup_ms']['p50'], 1)} / {fmt(g['tunnel_setup_ms']['p99'], 1)} | "
                f"{fmt(g['iccn_ack_ms']['p50'], 2)} / {fmt(g['iccn_ack_ms']['p99'], 2)} | "
                f"{fmt(g.get('iccn_ack_wire_ms', {}).get('p50'), 2)} / {fmt(g.get('iccn_ack_wire_ms', {}).get('p99'), 2)} | "
                f"{fmt(r.get('cpu_us_per_setup'), 1)} | {fmt(r.get('ns_per_datagram'))} | "
                f"{fmt(r.get('rss_per_unit_bytes'))} | {g['tunnel_id_collisions']} / {g['session_id_collisions']} | "
                f"{g['setup_retransmissions']} / {g['retransmissions']} | {'yes' if g['complete'] else 'NO'} |")
    lines += ["", "| shape | l2tpvpnd / xl2tpd setup rate | xl2tpd / l2tpvpnd ICCN ack p50 | xl2tpd / l2tpvpnd CPU per setup |",
              "|---|---|---|---|"]
    for shape, servers in by.items():
        a, b = servers.get("l2tpvpnd"), servers.get("xl2tpd")
        if not (a and b and a.get("loadgen") and b.get("loadgen")):
            continue
        ga, gb = a["loadgen"], b["loadgen"]
        key = "sessions_per_s" if a["sessions_per_tunnel"] else "tunnels_per_s"
        rate = ga[key] / gb[key] if gb[key] else None
        ack = (gb["iccn_ack_ms"]["p50"] / ga["iccn_ack_ms"]["p50"]) if ga["iccn_ack_ms"]["p50"] else None
        cpu = (b["cpu_us_per_setup"] / a["cpu_us_per_setup"]) if a.get("cpu_us_per_setup") else None
        lines.append(f"| {shape} | {fmt(rate, 1)}x | {fmt(ack, 1)}x | {fmt(cpu, 1)}x |")
    extra = [r for r in results if r["server"] == "l2tpvpnd" and r.get("status_ms") is not None]
    if extra:
        lines += ["", "| shape | /status ms, CPU ms (bytes) | /metrics ms, CPU ms | RSS idle / held / after teardown / after the stop hold KiB | pppd children "
                      "held | hold: control messages sent / retransmitted / unacked at end |",
                  "|---|---|---|---|---|---|"]
        for r in extra:
            h = (r.get("loadgen") or {}).get("hold", {})
            lines.append(f"| {r['shape']} | {r['status_ms']}, {r.get('status_cpu_ms')} ({r['status_bytes']}) | "
                         f"{r['metrics_ms']}, {r.get('metrics_cpu_ms')} | "
                         f"{r['rss_idle_kib']} / {r.get('rss_held_kib')} / {r['rss_after_teardown_kib']} / "
                         f"{r.get('rss_after_hold_kib', '-')} | "
                         f"{r.get('children_held')} | {h.get('control_sent')} / {h.get('retransmissions')} / "
                         f"{h.get('unacked_at_end')} |")
    if meta.get("pppd_bound"):
        b = meta["pppd_bound"]
        lines += ["", f"pppd start bound: {b['starts']} starts, sequential {b['sequential_s']} s "
                      f"({b['sequential_per_s']}/s), two at a time {b['two_at_a_time_s']} s ({b['starts_per_s']}/s); "
                      f"{b['note']}; exit codes {b['exit_codes']}."]
    real = [r for r in results if r["pppd"] == PPPD and r.get("loadgen")]
    if real and meta.get("pppd_bound"):
        bound = meta["pppd_bound"]["starts_per_s"]
        lines += ["", "| real pppd | sessions | ended by the LNS (pppd exited) | last ended at s | pppd runs/s | "
                      "of the bound | ICCN ack p50/p99 ms |", "|---|---|---|---|---|---|---|"]
        for r in real:
            g = r["loadgen"]
            n, last = g["sessions_ended_by_lns"], g["last_end_by_lns_s"]
            rate = n / last if last else None
            lines.append(f"| {r['server']} | {g['sessions_up']} | {n} | {fmt(last, 2)} | {fmt(rate)} | "
                         f"{fmt(rate / bound if rate else None, 2)}x | {fmt(g['iccn_ack_ms']['p50'], 2)} / "
                         f"{fmt(g['iccn_ack_ms']['p99'], 2)} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write(text)
    return text


def plots(results, sweep, out_dir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plots skipped: python3-matplotlib is not installed (apt-get install python3-matplotlib)")
        return []
    made = []
    colors = {"l2tpvpnd": "tab:blue", "xl2tpd": "tab:orange"}
    if sweep:
        fig, ax = plt.subplots(figsize=(6, 4))
        for kind in ("l2tpvpnd", "xl2tpd"):
            pts = sorted((r["in_flight"], r["loadgen"]["tunnels_per_s"]) for r in sweep
                         if r["server"] == kind and r.get("loadgen"))
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=kind, color=colors[kind])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("tunnel setups in flight")
        ax.set_ylabel("tunnels set up per second")
        ax.set_title("Setup rate against setups in flight (this machine)")
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
        p = os.path.join(out_dir, "setup_rate_vs_in_flight.png")
        fig.tight_layout()
        fig.savefig(p, dpi=100)
        made.append(p)
    # Latency CDFs from the latency files of the shapes that have sessions.
    for kind_lat, title in (("iccn_ack", "ICCN ack latency"), ("tunnel", "Tunnel setup latency")):
        fig, ax = plt.subplots(figsize=(6, 4))
        any_line = False
        for r in results:
            if kind_lat == "iccn_ack" and not r["sessions_per_tunnel"]:
                continue
            path = os.path.join(out_dir, f"lat-{r['shape']}-{r['server']}.txt")
            if not os.path.exists(path):
                continue
            vals = sorted(float(l.split()[1]) for l in open(path) if l.startswith(kind_lat + " "))
            if not vals:
                continue
            ys = [(i + 1) / len(vals) for i in range(len(vals))]
            ax.plot(vals, ys, label=f"{r['server']} {r['shape']}",
                    linestyle="-" if r["server"] == "l2tpvpnd" else "--")
            any_line = True
        if any_line:
            ax.set_xscale("log")
            ax.set_xlabel("ms")
            ax.set_ylabel("fraction")
            ax.set_title(f"{title} CDF (this machine)")
            ax.legend(fontsize=7)
            ax.grid(True, which="both", alpha=0.3)
            p = os.path.join(out_dir, f"cdf_{kind_lat}.png")
            fig.tight_layout()
            fig.savefig(p, dpi=100)
            made.append(p)
    fig, ax = plt.subplots(figsize=(6, 4))
    for kind in ("l2tpvpnd", "xl2tpd"):
        pts = sorted((r["tunnels"] * r["sessions_per_tunnel"], (r.get("rss_held_kib", 0) - r["rss_idle_kib"]) / 1024)
                     for r in results if r["server"] == kind and r["sessions_per_tunnel"] and r.get("loadgen"))
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=kind, color=colors[kind])
    ax.set_xlabel("sessions held")
    ax.set_ylabel("LNS RSS growth (MiB)")
    ax.set_title("LNS memory against sessions (this machine)")
    ax.legend()
    ax.grid(True, alpha=0.3)
    p = os.path.join(out_dir, "rss_vs_sessions.png")
    fig.tight_layout()
    fig.savefig(p, dpi=100)
    made.append(p)
    return made


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True, help="the CMake build directory")
    ap.add_argument("--out", default=None, help="where results, report and plots go (default BUILD/bench-setup)")
    ap.add_argument("--ci", action="store_true", help="the small CI shape only")
    ap.add_argument("--in-flight", type=int, default=100)
    ap.add_argument("--only", default=None, help="comma-separated shape names to run")
    ap.add_argument("--no-xl2tpd", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the servers' configurations and logs")
    ap.add_argument("--pty-max", type=int, default=0,
                    help="raise kernel.pty.max to this for the run (each pty-mode session holds a pty; the default "
                         "4096 caps both LNSs below 10,000 sessions); restored afterwards")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    args.out = os.path.abspath(args.out or os.path.join(args.build, "bench-setup"))
    os.makedirs(args.out, exist_ok=True)
    args.loadgen = os.path.join(args.build, "tests", "bench", "l2tp_loadgen")
    standin = os.path.join(args.build, "tests", "bench", "pppd_standin")
    for p in (args.loadgen, standin, os.path.join(args.build, "l2tpvpnd")):
        if not os.path.exists(p):
            print(f"missing {p}: build it first")
            return 2
    args.work = tempfile.mkdtemp(prefix="l2tp-setup-bench.")
    servers = ["xl2tpd", "l2tpvpnd"]
    if args.no_xl2tpd or not os.path.exists(XL2TPD) or os.geteuid() != 0:
        print("xl2tpd not measured: needs /usr/sbin/xl2tpd and root (pppd stand-in bind mount)")
        servers = ["l2tpvpnd"]

    if args.ci:
        shapes = {"200x0": {"tunnels": 200, "sessions": 0, "in_flight": 50, "hold_ms": 300},
                  "20x5 stand-in": {"tunnels": 20, "sessions": 5, "in_flight": 50, "hold_ms": 300},
                  "200x1 stand-in": {"tunnels": 200, "sessions": 1, "in_flight": 50, "hold_ms": 300}}
        sweep_values = []
    else:
        shapes = {
            "1000x0": {"tunnels": 1000, "sessions": 0},
            "10000x0": {"tunnels": 10000, "sessions": 0, "timeout_s": 240},
            "1000x1 stand-in": {"tunnels": 1000, "sessions": 1, "timeout_s": 60, "ppp_wait_s": 30},
            # The stand-in that leaves its pty alone: no LNS watches 1,000 open ptys (xl2tpd's pty mode degrades
            # with them; with a kernel data path neither LNS has a pty at all).
            "1000x1 stand-in, pty unused": {"tunnels": 1000, "sessions": 1, "pppd": "notty"},
            "10x50 stand-in": {"tunnels": 10, "sessions": 50},
            # 10,000 sessions held: l2tpvpnd only. xl2tpd in pty mode sets up about ten sessions a second once
            # a thousand ptys are open (1000x1 above), so these would take it most of an hour.
            "100x100 stand-in": {"tunnels": 100, "sessions": 100, "timeout_s": 240, "hold_ms": 12000,
                                 "hello_s": 5, "servers": ["l2tpvpnd"], "after_hold": True},
            "10000x1 stand-in": {"tunnels": 10000, "sessions": 1, "timeout_s": 300, "hold_ms": 12000,
                                 "hello_s": 5, "settle_s": 8, "servers": ["l2tpvpnd"], "after_hold": True},
            # pppd cannot run here (no /dev/ppp): each starts, fails its kernel check and exits; the LNS then ends
            # the session (CDN). Its rate of starts is compared with pppd_start_bound.
            "1000x1 real pppd": {"tunnels": 1000, "sessions": 1, "pppd": PPPD, "ppp_wait_s": 0, "hold_ms": 8000,
                                 "timeout_s": 60},
        }
        sweep_values = [1, 10, 100, 400]
    if args.only:
        keep = set(args.only.split(","))
        shapes = {k: v for k, v in shapes.items() if k in keep}
        sweep_values = [] if "sweep" not in keep else sweep_values

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanups below
    old_pty_max = None
    if args.pty_max:
        with open("/proc/sys/kernel/pty/max") as f:
            old_pty_max = f.read().strip()
        with open("/proc/sys/kernel/pty/max", "w") as f:
            f.write(str(args.pty_max))
    results, sweep = [], []
    failed = False
    try:
        for label, shape in shapes.items():
            pppd = shape.get("pppd", standin)
            if pppd == "notty":
                pppd = standin + "_notty"
            for kind in servers:
                if kind not in shape.get("servers", servers):
                    continue
                print(f"== {label} against {kind}", flush=True)
                r = run_shape(args, kind, shape, pppd, label)
                results.append(r)
                g = r.get("loadgen") or {}
                print(f"   {json.dumps({k: v for k, v in r.items() if k != 'loadgen'})}")
                print(f"   loadgen: {json.dumps(g)}", flush=True)
                # Correctness under load: every setup of our own LNS completes and nothing is left after teardown.
                if kind == "l2tpvpnd" and pppd != PPPD and not g.get("complete"):
                    failed = True
        for n in sweep_values:
            for kind in servers:
                label = f"sweep1000x0 in-flight {n}"
                print(f"== {label} against {kind}", flush=True)
                r = run_shape(args, kind, {"tunnels": 1000, "sessions": 0, "in_flight": n, "hold_ms": 0,
                                           "settle_s": 0}, standin, label)
                sweep.append(r)
                print(f"   tunnels/s {r['loadgen']['tunnels_per_s'] if r.get('loadgen') else '-'}", flush=True)
    finally:
        if old_pty_max is not None:
            with open("/proc/sys/kernel/pty/max", "w") as f:
                f.write(old_pty_max)
    meta = {"mode": "ci" if args.ci else "full", "machine": machine(),
            "pppd_bound": None if args.ci else pppd_start_bound(200, os.path.join(args.build, "l2tpvpn.so"))}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"meta": meta, "results": results, "sweep": sweep}, f, indent=1)
    print(report(results, meta, args.out))
    for p in plots(results, sweep, args.out):
        print(f"plot: {p}")
    if not args.keep:
        shutil.rmtree(args.work, ignore_errors=True)
    return 1 if failed else 0


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 30)
    return f"{os.cpu_count()} x {cpu}, {mem} GiB RAM, Linux {os.uname().release}"


if __name__ == "__main__":
    sys.exit(main())
