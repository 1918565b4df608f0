"""Where a JVM's CPU goes, from a Java Flight Recorder file, by the Python functions on the
stack: what jprofile.py's innermost frames cannot say (who called the costly frame).

Record any Jython process with the JVM's own recorder (a JDK's ``jfr`` tool reads it):

    JDK_JAVA_OPTIONS="-XX:StartFlightRecording=delay=45s,duration=120s,filename=/tmp/r.jfr,\
settings=profile" .venv/bin/python tests/bench/bench.py --only 4 --interpreter jython
    python3 tests/bench/jfrstacks.py /tmp/r.jfr --thread exchange-workflows

and it prints, over the execution samples of the threads whose name holds ``--thread``: the
innermost Python function of each sample (its own time and the Java under it), each Python
function's inclusive share, the top Java frames, and with ``--callers NAME`` who called NAME.
Python functions read ``module.function``; the script library's modules are compiled from
``code.py`` files, which Jython names ``_pyxN`` (N in load order), so find them by function.
Read the shares of a warm JVM: a recording taken while the JIT still compiles overweights
interpreted code.
"""
from __future__ import print_function

import argparse
import collections
import re
import subprocess

_PYTHON = re.compile(r"^\s+(?:org\.python\.pycode\.(_pyx\d+)|([\w.$]+)\$py)\.(\w+?)\$\d+\("
                     r"[^)]*\)(?: line: (\d+))?")
_THREAD = re.compile(r'sampledThread = "([^"]*)"')


def samples(path):
    """(thread name, [frame lines, innermost first]) of each execution sample."""
    text = subprocess.check_output(["jfr", "print", "--stack-depth", "96", "--events",
                                    "jdk.ExecutionSample", path]).decode("utf-8", "replace")
    for block in text.split("jdk.ExecutionSample {")[1:]:
        thread = _THREAD.search(block)
        frames = block.split("stackTrace = [", 1)[-1].split("\n")[1:]
        yield (thread.group(1) if thread else "?",
               [f for f in frames if f.strip() and f.strip() not in ("]", "}", "...")])


def pythonFrames(frames):
    """[(module.function, line)] of the Python frames, innermost first."""
    found = []
    for frame in frames:
        match = _PYTHON.match(frame)
        if match:
            found.append(("%s.%s" % (match.group(1) or match.group(2), match.group(3)),
                          match.group(4)))
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recording")
    parser.add_argument("--thread", default="", help="threads whose name holds this")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--callers", default=None, help="module.function: who called it")
    args = parser.parse_args(argv)
    innermost, inclusive, java, callers = (collections.Counter() for _ in range(4))
    count = 0
    for thread, frames in samples(args.recording):
        if args.thread not in thread or not frames:
            continue
        count += 1
        java[frames[0].strip().split("(")[0]] += 1
        python = pythonFrames(frames)
        if python:
            innermost[python[0][0]] += 1
        for name in set(name for name, _ in python):
            inclusive[name] += 1
        for index, (name, line) in enumerate(python[:-1]):
            if name == args.callers:
                caller, callerLine = python[index + 1]
                callers["%s line %s" % (caller, callerLine)] += 1
                break
    print("%d samples of threads named like %r" % (count, args.thread))
    for title, counter in (("innermost Python function", innermost),
                           ("inclusive", inclusive), ("top Java frame", java),
                           ("callers of %s" % args.callers, callers)):
        if counter:
            print("== %s" % title)
            for name, number in counter.most_common(args.top):
                print("%6.1f%%  %s" % (100.0 * number / max(1, count), name))


if __name__ == "__main__":
    main()
