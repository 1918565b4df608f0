"""A supervised product changeover: the operator confirms the line is clear, may hold it
(a jam), resume it, or stop it; the hold and stop handlers bring the line to a safe state.

Started from a Perspective button:
    exchange.workflows.api.service.enqueue("changeover", inputs={"line": "Line-2", "toProduct": "P-7"})
While it waits for the operator's answer it holds no gateway thread.
"""
from __future__ import absolute_import, division, print_function

import time

from exchange.workflows.engine.runtime import prompt, setEvent, sleep, step, workflow


@step
def stop_conveyor(line):
    time.sleep(0.1)  # write the conveyor's run command off, wait for zero speed
    return {"line": line, "conveyor": "stopped"}


@step
def purge_line(line, seconds):
    time.sleep(0.2)  # open the purge valve for ``seconds``
    return {"line": line, "purgedSeconds": seconds}


@step
def load_recipe(line, product):
    time.sleep(0.2)  # write the recipe's setpoints to the PLC
    return {"line": line, "product": product}


@step
def start_conveyor(line):
    time.sleep(0.1)
    return {"line": line, "conveyor": "running"}


def line_to_safe_state(line):
    """The hold and stop handler: conveyor off (a step, so it is recorded and replayed)."""
    stop_conveyor(line)


@workflow(timeoutSeconds=3600, onHold=line_to_safe_state, onStop=line_to_safe_state)
def changeover(line, toProduct):
    setEvent("phase", "stopping")
    stop_conveyor(line)
    purge_line(line, 30)
    sleep(1.5)  # let the line drain (durable: a restart sleeps only the rest)
    setEvent("phase", "waiting for the operator")
    answer = prompt("%s: is the line clear of product?" % line, options=["yes", "no"],
                    timeoutSeconds=600)
    if answer["response"] != "yes":
        return {"line": line, "changedTo": None, "reason": "line not clear",
                "answeredBy": answer["user"]}
    setEvent("phase", "loading recipe")
    load_recipe(line, toProduct)
    start_conveyor(line)
    setEvent("phase", "running")
    return {"line": line, "changedTo": toProduct, "confirmedBy": answer["user"],
            "comment": answer["comment"]}
