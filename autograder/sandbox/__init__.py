"""The sandbox that runs student code.

The grader's side, one idea per module:

- ``run.py``: one run (``run_task(Task, Limits) -> Outcome``): its scratch folder, its start,
  the watch over its cost, the kill of all it left;
- ``machine.py``: which protections this machine allows (the isolation rung), in words too;
- ``limits.py``: how much a run may use, fitted to a container's memory limit;
- ``library.py``: the read-only library folder the sandboxed code runs from;
- ``server.py``: the handle on the process server that forks each run;
- ``meter.py`` and ``cgroups.py``: measuring and capping a run's processes;
- ``events.py``: decoding, with bounds, what a run reported, into the dataclasses of
  ``messages.py`` (the ``Task`` going in; a ``PhaseReport`` and an ``Observation`` per case
  coming out).

``inside/`` is the code that runs in the sandbox itself, and only it: a package with one entry
point (``inside/__main__.py``) that imports nothing but the standard library, numpy and utils.
"""
