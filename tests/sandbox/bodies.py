"""A function body run in the sandbox, as the sandbox's tests write them: ``def f():`` around
the body, one case named "only" with no arguments, and what it answered."""

import textwrap

from autograder.sandbox.limits import Limits
from autograder.sandbox.messages import Outcome, Task
from autograder.sandbox.run import run_task

ONE_CASE = [{"id": "only", "args": [], "kwargs": {}}]


def body_task(body: str, cases: list[dict] | None = None) -> Task:
    source = "def f():\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"
    return Task(function="f", student_source=source, dependencies={}, cases=cases or ONE_CASE)


def run_body(body: str, limits: Limits, cases: list[dict] | None = None) -> Outcome:
    return run_task(body_task(body, cases), limits)


def answer(outcome: Outcome):
    """What f() returned for the case "only"; its run must have answered it."""
    observed = outcome.cases().get("only")
    assert observed is not None and observed.ok, outcome
    return observed.result


def holding_memory(processes: int, megabytes: int, seconds: float) -> str:
    """A body that forks ``processes`` processes, each holding ``megabytes`` of touched (resident)
    memory for ``seconds``, all at once; it returns how many ended normally."""
    return f"""
import os, time
import numpy as np
children = []
for _ in range({processes}):
    pid = os.fork()
    if pid == 0:
        block = np.ones({megabytes} * 1024 * 1024 // 8)  # touched: resident
        time.sleep({seconds})
        os._exit(0)
    children.append(pid)
return sum(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0 for pid in children)
"""
