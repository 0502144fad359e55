"""nbgrader settings for the Dinosaurus Island course directory (this folder)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # for autograder.*

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader import preprocessors as nbg  # noqa: E402

from autograder.assign.scaffold import ScaffoldSolutions  # noqa: E402

c = get_config()  # noqa: F821 -- provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "dinosaurus-island"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".pytest_cache"]

# nbgrader's own pipeline with one change: ScaffoldSolutions in place of ClearSolutions, so
# the release shows the START CODE HERE scaffold instead of `raise NotImplementedError()`.
# Order matters: checksums and saved cells are taken before the hidden tests are cleared,
# and taken again after, as nbgrader itself does.
c.GenerateAssignment.preprocessors = [
    nbg.IncludeHeaderFooter,
    nbg.InstantiateTests,
    nbg.LockCells,
    ScaffoldSolutions,
    nbg.ClearOutput,
    nbg.CheckCellMetadata,
    nbg.ComputeChecksums,
    nbg.SaveCells,
    nbg.ClearHiddenTests,
    nbg.ClearMarkScheme,
    nbg.ComputeChecksums,
    nbg.CheckCellMetadata,
]

# Autograding: the hidden-test regions import autograder.nbgrader_hook, so kernels started by
# nbgrader get the course folder on their path.  The training cell runs 22,001 steps, and its
# hidden region grades the submission once more in the sandbox: give cells 15 minutes.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (c.CourseDirectory.root, os.environ.get("PYTHONPATH", "")) if p)
c.Execute.timeout = 900
c.Execute.interrupt_on_timeout = True

# Feedback shows each check's message but not the code of the hidden-test regions.
c.GenerateFeedback.preprocessors = [nbg.GetGrades, nbg.ClearHiddenTests, CSSHTMLHeaderPreprocessor]
