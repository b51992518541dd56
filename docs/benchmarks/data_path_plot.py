#!/usr/bin/python3
"""Bar plot of tests/vm/scenarios/data_path_bench.sh's results (docs/benchmarks/data_path.md).

usage: data_path_plot.py OUT.png [LABEL=]RESULTS [[LABEL=]RESULTS...]

Each RESULTS file is one boot's data_path_bench.results (one line per iperf3 run: CFG DIR REP MBIT/S MBYTES ...)
and gets a panel of its own: absolute numbers move between boots with the host's load, so only bars of one boot
are compared. A bar is the median Mbit/s of a configuration in one direction, its whisker the range of the runs;
the label above it is the median's ratio to the ceiling of the same direction. Needs python3-matplotlib.
"""
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)

CONFIGS = ["ceiling", "ceiling_mss", "kernel", "xl2tpd", "pty"]
LABELS = {
    "ceiling": "ESP only\n(ceiling)",
    "ceiling_mss": "ESP only,\nMSS 1310",
    "kernel": "l2tpvpnd\nkernel",
    "xl2tpd": "xl2tpd\nkernel",
    "pty": "l2tpvpnd\npty",
}
DIRECTIONS = [("fwd", "client -> server", "#4c72b0"), ("rev", "server -> client", "#dd8452")]


def read_runs(path):
    """{(cfg, dir): [Mbit/s, ...]} from one results file; lines that do not parse are skipped."""
    runs = {}
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) < 4:
                continue
            try:
                runs.setdefault((fields[0], fields[1]), []).append(float(fields[3]))
            except ValueError:
                continue
    return runs


def panel(ax, runs, title):
    width = 0.38
    top = max((max(v) for v in runs.values()), default=1)
    for d, (direction, label, colour) in enumerate(DIRECTIONS):
        ceiling = runs.get(("ceiling", direction))
        ceiling_median = statistics.median(ceiling) if ceiling else None
        for i, cfg in enumerate(CONFIGS):
            values = runs.get((cfg, direction))
            if not values:
                continue
            med = statistics.median(values)
            x = i + (d - 0.5) * width
            ax.bar(x, med, width, color=colour, label=label if i == 0 else None,
                   yerr=[[med - min(values)], [max(values) - med]], capsize=3)
            if ceiling_median:
                ax.text(x, max(values) * 1.02, "%.2f" % (med / ceiling_median), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(CONFIGS)))
    ax.set_xticklabels([LABELS[c] for c in CONFIGS], fontsize=8)
    ax.set_ylabel("TCP Mbit/s (this machine's)")
    ax.set_title(title, fontsize=9)
    ax.set_ylim(0, top * 1.3)  # room for the ratio labels and the legend above the tallest whisker
    ax.legend(fontsize=8, ncol=2, loc="upper center")


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    files = argv[2:]
    cols = min(len(files), 2)
    rows = (len(files) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 4.2 * rows), squeeze=False)
    for ax in axes.flat[len(files):]:
        ax.set_visible(False)
    for n, arg in enumerate(files):
        label, _, path = arg.rpartition("=")
        panel(axes[n // cols][n % cols], read_runs(path), "boot %s: median of the runs, whiskers min-max,\nlabels: ratio to the ceiling"
              % (label or n + 1))
    fig.suptitle("TCP through ESP (AES-256-CBC + HMAC-SHA1-96), PPP MTU 1350, qemu TCG guest", fontsize=10)
    fig.tight_layout()
    fig.savefig(argv[1], dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
