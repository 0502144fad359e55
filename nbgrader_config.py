"""nbgrader settings for the Dinosaurus Island course directory (this folder)."""

import os
import sys
import warnings

# The one sys.path edit of the instructor tools: the `nbgrader` command's sys.path does not hold
# the course directory, and nbgrader imports autograder.* from this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# nbgrader runs `alembic` as a command when it creates gradebook.db: find it beside the Python
# running nbgrader, so that `.venv/bin/nbgrader …` works without activating the environment.
os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])

# Fail closed.  traitlets logs an exception raised while loading a config file and goes on with
# nbgrader's defaults, whose autograde runs every student cell in a kernel: a course copy that
# cannot import the grader must stop nbgrader, never grade that way.  (SystemExit is not an
# Exception: traitlets lets it through.)
try:
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
    from nbgrader import preprocessors as nbg

    from autograder.authoring.releasing.feedback import HideHiddenTests, OverwriteCellsQuietly, WrapLongOutput
    from autograder.authoring.releasing.scaffold import ScaffoldSolutions
    from autograder.nbgrader_hook import GradeInSandbox
except Exception as error:
    raise SystemExit(
        f"nbgrader_config.py could not load the course's grader ({type(error).__name__}: {error}); nbgrader "
        "stops here rather than run students' code with its own defaults.  Is this a whole copy of the course "
        "(README, 'For instructors': utils/, charrnn/ and assignment.py are links into source/)?"
    ) from error

c = get_config()  # noqa: F821 -- provided by nbgrader when it loads this file

# nbgrader 0.9.6's gradebook code trips SQLAlchemy 2's autoflush check the first time it
# autogrades a student ("Object of type <SubmittedAssignment> not in session"); the grades are
# stored all the same.  Not ours to fix, and not a problem to report to the instructor.
warnings.filterwarnings("ignore", message=r"Object of type <Submitted\w+> not in session")

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

# Autograding executes no cell: nbgrader's Execute step, which would run the student's code in a
# kernel beside the grader, is replaced by GradeInSandbox, which grades the submitted notebook in
# the sandbox, as `python -m autograder grade` does, and writes each function's feedback and
# points into its test cell (autograder/nbgrader_hook.py).
c.Autograde.autograde_preprocessors = [
    GradeInSandbox,
    nbg.IgnorePattern,
    ClearMetadataPreprocessor,
    nbg.LimitOutput,
    nbg.SaveAutoGrades,
    nbg.AssignLatePenalties,
    nbg.CheckCellMetadata,
]

# nbgrader's sanitising steps, with OverwriteCells replaced by one that does not warn about every
# untouched test cell (see autograder/authoring/releasing/feedback.py).
c.Autograde.sanitize_preprocessors = [
    nbg.ClearOutput,
    nbg.DeduplicateIds,
    nbg.OverwriteKernelspec,
    OverwriteCellsQuietly,
    nbg.CheckCellMetadata,
]

# Feedback shows each check's message, wrapped to the page, but not the code of the hidden-test regions.
c.GenerateFeedback.preprocessors = [nbg.GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor, WrapLongOutput]
