"""Write examples/submissions/: a correct notebook, one with typical mistakes, one that crashes.

    .venv/bin/python -m autograder.authoring.examples   (part of `make regenerate`)

A test checks that the committed examples are what this script writes.
"""

import nbformat

from ..paths import EXAMPLES_DIR
from . import factory, styles

CRASHES = {
    "clip": factory.edited(
        "clip",
        "    ### START CODE HERE ###",
        "    ### START CODE HERE ###\n    import sys\n    sys.exit('giving up')",
    ),
    "sample": factory.edited("sample", "while idx != newline_ix and step != 50:", "while True:  # the loop never ends"),
    "optimize": "import os\nos._exit(3)\n\n" + factory.solution("optimize"),
    "model": factory.edited(
        "model",
        "        ### START CODE HERE ###\n",
        "        ### START CODE HERE ###\n        huge = np.ones((200_000, 200_000))  # 320 GB\n",
    ),
}

EXAMPLES = {
    "correct": styles.STYLES,
    "mistakes": {
        "clip": styles.CLIP_NO_OUT,
        "sample": styles.SAMPLE_ARGMAX,
        "optimize": styles.OPTIMIZE_FIXED_RATE,
        "model": styles.MODEL_NO_NEWLINE,
    },
    "crash": CRASHES,
}


def build():
    """{file name: notebook text} of every example."""
    return {f"{name}.ipynb": nbformat.writes(factory.notebook(cells)) + "\n" for name, cells in EXAMPLES.items()}


if __name__ == "__main__":
    EXAMPLES_DIR.mkdir(parents=True, exist_ok=True)
    for filename, text in build().items():
        (EXAMPLES_DIR / filename).write_text(text)
        print("wrote", EXAMPLES_DIR / filename)
