"""make bench, last step: every part's figures (the JSON files of one run) in ONE report.

Reads every ``*.json`` of ``--dir`` (default tests/bench/results/latest/, what the parts
wrote: core-cpython, core-jython, scaling-*, peers-*; the contract is in
tests/bench/README.md), prints one text report, and keeps it as
``tests/bench/results/<UTC date>-<short git sha>.txt`` and ``.json`` (all parts' documents
merged) with a PNG chart beside them (``.png``: the core figures' ratios per interpreter,
and every figure that carries a ``series``, e.g. throughput against executors and against
table size). The chart needs matplotlib (tests/bench/requirements.txt, which ``make bench``
installs); without it the PNG is skipped with a message.

    .venv/bin/python tests/bench/report.py [--dir DIR] [--out DIR] [--no-save]
"""
from __future__ import division, print_function

import argparse
import datetime
import glob
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
RESULTS = os.path.join(HERE, "results")
PART_ORDER = {"core": 0, "scaling": 1, "peers": 2}


def load(folder):
    """The parts' documents, core first, then scaling, then peers; by interpreter."""
    documents = []
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        try:
            with open(path) as handle:
                document = json.load(handle)
        except (OSError, ValueError) as error:
            print("report: %s is not readable JSON (%s): skipped" % (path, error))
            continue
        if not isinstance(document, dict) or "figures" not in document:
            print("report: %s has no figures: skipped" % path)
            continue
        document["file"] = os.path.basename(path)
        documents.append(document)
    documents.sort(key=lambda d: (PART_ORDER.get(d.get("part"), 9), d.get("interpreter") or ""))
    return documents


def number(value, unit=""):
    """A figure's value as text, with its unit."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    size = abs(value)
    if size >= 100:
        text = "%.0f" % value
    elif size >= 1:
        text = "%.2f" % value
    else:
        text = "%.4f" % value
    return text + (" " + unit if unit else "")


def ratioText(value):
    if value is None:
        return "n/a"
    if value < 0.1:
        return "%.3fx" % value
    return "%.1fx" % value if value >= 10 else "%.2fx" % value


def table(rows, indent="   "):
    """Rows of text cells, columns aligned; the first row a header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append(indent + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if index == 0:
            lines.append(indent + "  ".join("-" * w for w in widths))
    return lines


def metText(figure):
    met = figure.get("met")
    if met is None:
        return ""
    return "met" if met else "NOT met"


def partLines(document):
    """The figures of one part and interpreter: engine, baseline, ratio, aim."""
    machine = document.get("machine") or {}
    lines = ["", "== %s, %s%s (%s CPUs, PostgreSQL %s)" % (
        document.get("part"), document.get("interpreter"),
        ", --quick" if document.get("quick") else "", machine.get("cpus", "?"),
        machine.get("postgres", "?"))]
    rows = [("#", "figure", "engine", "baseline", "ratio", "aim", "")]
    notes = []
    for figure in document["figures"]:
        unit = figure.get("unit") or ""
        baseline = number(figure.get("baseline"), unit)
        if figure.get("baselineLabel"):
            baseline += " (%s)" % figure["baselineLabel"]
        rows.append((str(figure.get("id", "")), figure.get("title") or "",
                     number(figure.get("engine"), unit), baseline,
                     ratioText(figure.get("ratio")), figure.get("aim") or "", metText(figure)))
        if figure.get("notes"):
            notes.append("   %s: %s" % (figure.get("id"), figure["notes"]))
    lines.extend(table(rows))
    if notes:
        lines.append("   notes:")
        lines.extend("   " + note for note in notes)
    return lines


def shareLines(documents):
    """Where each figure's system.db time goes, per interpreter (issue 18: the engine's own
    cost apart from the simulator's)."""
    rows = [("#", "interpreter", "per", "system.db", "driver", "of it SELECT 1", "simulator's own",
             "own/system.db")]
    for document in documents:
        previous = None
        for figure in document["figures"]:
            share = figure.get("simulator")
            if not share or share == previous:  # (a figure's second row, same calls)
                continue
            previous = share
            own = share.get("ownShare")
            rows.append((str(figure.get("id")), document.get("interpreter") or "",
                         share.get("per") or "", number(share.get("dbMs"), "ms"),
                         number(share.get("driverMs"), "ms"),
                         number(share.get("validationMs"), "ms"),
                         number(share.get("ownMs"), "ms"),
                         "%.0f%%" % (100 * own) if own is not None else "n/a"))
    if len(rows) == 1:
        return []
    return (["", "== the simulator's share (thread time in system.db per unit: the driver - "
                 "pgJDBC or psycopg2, with the SELECT 1 test-on-borrow a gateway's pool also "
                 "sends - and the simulator's own pool, locks and bookkeeping, Java on a "
                 "gateway)"] + table(rows))


def comparisonLines(documents):
    """The same core figure on both interpreters: the ratios side by side, and how much
    slower (or faster) Jython's engine figure is than CPython's."""
    core = dict((d.get("interpreter", "").split()[0], d) for d in documents
                if d.get("part") == "core")
    if len(core) < 2 or "cpython" not in core or "jython" not in core:
        return []
    cpython = dict((f["id"], f) for f in core["cpython"]["figures"])
    rows = [("#", "figure", "ratio cpython", "ratio jython", "jython cost / cpython cost")]
    for figure in core["jython"]["figures"]:
        other = cpython.get(figure["id"])
        if other is None:
            continue
        slower = None
        a, b = figure.get("engine"), other.get("engine")
        if a and b:
            slower = (b / a) if figure.get("higherIsBetter") else (a / b)
        rows.append((figure["id"], figure.get("title") or "", ratioText(other.get("ratio")),
                     ratioText(figure.get("ratio")), ratioText(slower)))
    return ["", "== core figures on both interpreters"] + table(rows)


def peerLines(documents):
    """Each peer figure beside the engine's figure it names (``compareTo``, or its first
    lettered companion of the same unit: 5c for statements) and the one ``aimAt`` names
    (the engine at the peer's own settings: shown only when its ``settings`` are the peer
    figure's ``aimAtSettings``), per interpreter: how many times the engine does better
    than the peer (engine / peer for a rate, peer / engine for a cost). The aim (e.g. "the
    engine at least 10x DBOS") is the peer figure's, judged on ``aimAt``'s figure when it
    is shown, else on ``compareTo``'s."""
    core = [d for d in documents if d.get("part") == "core"]
    peers = [d for d in documents if d.get("part") == "peers"]
    rows = [("peer figure", "peer", "engine (interpreter)", "engine better by", "aim", "")]
    for document in peers:
        for figure in document["figures"]:
            target, unit, value = figure.get("compareTo"), figure.get("unit"), figure.get("engine")
            for own in core:
                same = [f for f in own["figures"] if f.get("unit") == unit]
                mine = [f for f in same if f["id"] == target or (
                    f["id"].startswith(target) and f["id"][len(target):].isalpha())][:1]
                mine += [f for f in same if f["id"] == figure.get("aimAt") and f not in mine
                         and figure.get("aimAtSettings")
                         and f.get("settings") == figure.get("aimAtSettings")]
                mine = [f for f in mine if f.get("engine")]
                if not mine or not value:
                    continue
                judged = mine[-1]["id"]
                for engineFigure in mine:
                    better = (engineFigure["engine"] / value if figure.get("higherIsBetter")
                              else value / engineFigure["engine"])
                    aim = (figure.get("aim") or "") if engineFigure["id"] == judged else ""
                    met = ""
                    if aim and "10x" in aim:
                        met = "met" if better >= 10 else "NOT met"
                    rows.append(("%s %s" % (figure.get("peer") or "", figure.get("id")),
                                 number(value, unit),
                                 "%s (%s %s)" % (number(engineFigure["engine"], unit),
                                                 engineFigure["id"], own.get("interpreter")),
                                 ratioText(better), aim, met))
    if len(rows) == 1:
        return []
    return ["", "== the peer in the same run (engine better by: >1 = the engine is faster)"] + \
        table(rows)


def gitHead():
    try:
        with open(os.devnull, "w") as quiet:
            return subprocess.check_output(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                           stderr=quiet).decode().strip()
    except (OSError, subprocess.CalledProcessError):
        return "nogit"


def render(documents, stamp, head):
    lines = ["exchange.workflows bench report, %s UTC, commit %s" % (stamp, head),
             "ratio = engine cost / baseline cost (1.0 = as fast as the baseline; higher = "
             "slower); parts: %s" % ", ".join("%s %s" % (d.get("part"), d.get("interpreter"))
                                             for d in documents)]
    for document in documents:
        lines.extend(partLines(document))
    lines.extend(comparisonLines(documents))
    lines.extend(peerLines(documents))
    lines.extend(shareLines(documents))
    return "\n".join(lines) + "\n"


def shorten(text, size):
    return text if len(text) <= size else text[:size - 2] + ".."


def chart(documents, path):
    """The PNG: core ratios per interpreter (log scale), then every figure's series."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report: matplotlib is not installed (pip install -r tests/bench/requirements.txt)"
              ": the PNG chart is skipped")
        return None
    series = [(d, f) for d in documents for f in d["figures"]
              if isinstance(f.get("series"), dict) and f["series"].get("x")]
    core = [d for d in documents if d.get("part") == "core"]
    panels = (1 if core else 0) + len(series)
    if not panels:
        print("report: nothing to chart")
        return None
    columns = 2 if panels > 1 else 1
    rowsCount = (panels + columns - 1) // columns
    figure, axes = plt.subplots(rowsCount, columns, figsize=(8 * columns, 5 * rowsCount),
                                squeeze=False)
    cells = [ax for row in axes for ax in row]
    index = 0
    if core:
        ax = cells[index]
        index += 1
        ids = []
        for document in core:
            for f in document["figures"]:
                if f.get("ratio") and f["id"] not in ids:
                    ids.append(f["id"])
        width = 0.8 / len(core)
        for k, document in enumerate(core):
            byId = dict((f["id"], f.get("ratio")) for f in document["figures"])
            values = [byId.get(i) or 0 for i in ids]
            ax.barh([y + k * width for y in range(len(ids))], values, height=width,
                    label=document.get("interpreter"))
        ax.set_yticks([y + width * (len(core) - 1) / 2 for y in range(len(ids))])
        titles = dict((f["id"], f.get("title") or "") for d in core for f in d["figures"])
        ax.set_yticklabels(["%s %s" % (i, shorten(titles.get(i, ""), 34)) for i in ids],
                           fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xlabel("engine cost / baseline cost (log; 1 = as fast as the baseline)")
        ax.set_title("core figures: ratio to their baselines")
        ax.legend(fontsize=8)
    for document, f in series:
        ax = cells[index]
        index += 1
        s = f["series"]
        ax.plot(s["x"], s["y"], marker="o", label="%s %s" % (document.get("part"),
                                                             document.get("interpreter")))
        if s.get("baseline"):
            ax.plot(s["x"], s["baseline"], linestyle="--", label="baseline")
        ax.set_xlabel(s.get("xLabel") or "")
        ax.set_ylabel(s.get("yLabel") or f.get("unit") or "")
        if s.get("xLog"):
            ax.set_xscale("log")
        ax.set_title("%s %s: %s" % (f.get("id"), document.get("interpreter"),
                                    f.get("title") or ""), fontsize=9)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
    for ax in cells[index:]:
        ax.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default=os.path.join(RESULTS, "latest"),
                        help="where the parts' JSON files are")
    parser.add_argument("--out", default=RESULTS, help="where the report is kept")
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    documents = load(args.dir)
    if not documents:
        print("report: no figures in %s (run make bench)" % args.dir)
        return 1
    now = datetime.datetime.utcnow()
    head = gitHead()
    text = render(documents, now.strftime("%Y-%m-%d %H:%M"), head)
    print("")
    print(text, end="")
    if args.no_save:
        return 0
    if not os.path.isdir(args.out):
        os.makedirs(args.out)
    base = os.path.join(args.out, "%s-%s" % (now.strftime("%Y-%m-%d"), head))
    with open(base + ".txt", "w") as handle:
        handle.write(text)
    with open(base + ".json", "w") as handle:
        json.dump({"generated": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "commit": head,
                   "parts": documents}, handle, indent=1, sort_keys=True)
    png = chart(documents, base + ".png")
    print("")
    print("report kept as %s.txt and .json%s" % (os.path.relpath(base),
                                                   " and .png" if png else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
