"""The code that runs inside the sandbox, and only these files.

``forkserver.py`` (started once per grader process), ``runner.py`` (the supervisor of one run,
and the student's process it starts), ``jail.py`` (the isolation the student's process enters),
``landlock.py`` and ``seccomp.py`` (its kernel filters), ``refcall.py`` (calls to the reference
functions held by the supervisor) and ``wire.py`` (the one protocol: framing, codec, bounds and
error for every message that crosses between the processes) are copied, with the course's
``utils/``, into a private read-only folder (``host.shared_library``) and import each other
there by plain module names.  They import only the standard library, numpy and each other;
``tests/grading/test_sandbox.py`` checks it.  The grader's side (``autograder.sandbox.host``)
imports ``wire`` and ``jail`` from here too.
"""
