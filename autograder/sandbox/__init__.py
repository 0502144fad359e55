"""The sandbox that runs student code.

``host`` (with ``cgroups``) is the grader's side: it prepares the isolation, starts the run and
reads back what the run reported, with bounds, as the dataclasses of ``messages`` (an
``Observation`` per case).  ``inside/`` is the code that runs in the sandbox itself, and only it:
it imports nothing but the standard library and numpy.
"""
