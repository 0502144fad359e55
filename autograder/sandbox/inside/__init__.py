"""The code that runs inside the sandbox, and only this package.

``__main__.py`` is its one entry: it starts ``forkserver.py`` (the process server, once per
grader process), which forks one ``supervisor.py`` per run, which forks the ``student.py``
process that runs the student's code.  ``jail.py`` is the isolation that process enters
(``landlock.py`` and ``seccomp.py`` its kernel filters); ``refcall.py`` serves its calls to the
reference functions, held by the supervisor; ``recorder.py`` notes chosen calls;
``tracer.py`` follows a call line by line for the feedback; and ``wire.py`` is the one
protocol (framing, codec, bounds and error) for every message between the processes.

The package is copied, with the course's ``utils/``, into a private read-only folder
(``sandbox/library.py``) and runs there as the package ``inside``; its modules import only the
standard library, numpy, ``utils`` and each other, by relative imports
(``tests/sandbox/test_sandbox.py`` checks it).  The grader imports ``wire``, ``jail``,
``landlock`` and ``tracer`` from here too, as ``autograder.sandbox.inside``.
"""
