"""The one way into the code that runs in the sandbox, as a program of its own:

    python -I <library>/inside/__main__.py serve CONTROL_FD HOME   # the process server (forkserver.py)
    python -I <library>/inside/__main__.py warm-up                 # load once what every run needs

The library folder (``sandbox/library.py``) holds this package and the course's ``utils/``.
``-I`` keeps the user's and the environment's paths out of sys.path; the library folder is
then the one entry this program adds, so ``inside`` and ``utils`` import as packages.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from inside import forkserver  # noqa: E402 -- found through the line above

match sys.argv[1:]:
    case ["serve", control_fd, home]:
        forkserver.main(control_fd, home)
    case ["warm-up"]:
        forkserver.warm_up()  # compiles utils' numba kernels; their cache is kept in the library
    case _:
        sys.exit(f"usage: {sys.argv[0]} serve CONTROL_FD HOME | warm-up")
