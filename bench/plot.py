"""Latency against concurrency, one line per backend set, Rasa alone for comparison (matplotlib, `bench` extra)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def plot(report: Mapping[str, Any], path: Path) -> bool:
    """Write the PNG; False when matplotlib is not installed (`pip install -e '.[bench]'`)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullLocator
    except ImportError:
        return False
    figure, (p50_axis, p99_axis) = plt.subplots(1, 2, figsize=(11, 4.5), sharex=True)
    for run in report["runs"]:
        levels = [level["concurrency"] for level in run["levels"]]
        for axis, key in ((p50_axis, "p50_ms"), (p99_axis, "p99_ms")):
            axis.plot(
                levels,
                [lv["turns"]["all_turns"][key] for lv in run["levels"]],
                marker="o",
                label=f"Pana turn, {run['backends']}",
            )
            axis.plot(
                levels,
                [lv["rasa_parse"][key] for lv in run["levels"]],
                linestyle="--",
                marker="x",
                label=f"Rasa alone ({run['backends']} run)",
            )
    levels_seen = sorted({level["concurrency"] for run in report["runs"] for level in run["levels"]})
    load = report["machine"]["load_average_start"][0]
    for axis, title in ((p50_axis, "p50"), (p99_axis, "p99")):
        axis.set_title(f"{title} latency, {report['runs'][0]['workers'] if report['runs'] else '?'} worker(s)")
        axis.set_xlabel("people at once")
        axis.set_ylabel("ms")
        axis.set_yscale("log")
        axis.set_xscale("log")
        axis.set_xticks(levels_seen, [str(level) for level in levels_seen])
        axis.xaxis.set_minor_locator(NullLocator())
        axis.grid(True, which="both", alpha=0.3)
    p99_axis.legend(fontsize=7)
    figure.suptitle(f"Pana benchmark {report['stamp']} ({report['machine']['cpus']} CPUs, load {load:.1f} at start)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
