"""The code that runs inside the sandbox, and only these five files.

``forkserver.py`` (started once per grader process), ``runner.py`` (the supervisor of one run,
and the student's process it starts), ``jail.py`` (the isolation the student's process enters),
``refcall.py`` (calls to the reference functions held by the supervisor) and ``wire.py`` (how
values cross, as data) are copied, with the course's ``utils/``, into a private read-only folder
(``host.shared_library``) and import each other there by plain module names.  They import only
the standard library, numpy and each other; ``tests/grading/test_sandbox.py`` checks it.  The
grader's side (``autograder.sandbox.host``) imports ``wire``, ``refcall`` and ``jail`` from here too.
"""
