"""nbgrader preprocessors for autograding and feedback, each fixing one thing nbgrader's own
pipeline gets wrong for this course (nbgrader_config.py puts them in place)."""

import copy

from nbconvert.preprocessors import Preprocessor
from nbgrader import preprocessors as nbg
from nbgrader import utils
from traitlets import Bool, List

# Feedback pages show each check's message as output text: wrap long lines instead of letting
# the advice run off the right edge of the page.
WRAP_CSS = "div.output_area pre, div.output_text pre { white-space: pre-wrap; overflow-wrap: anywhere; }"


class OverwriteCellsQuietly(nbg.OverwriteCells):
    """nbgrader's OverwriteCells without its false alarm on untouched cells with hidden tests.

    nbgrader stores a test cell's checksum before it removes the hidden tests and gives the
    release the checksum after, so autograding warns "Attribute 'checksum' … has changed" for
    every such cell of every submission, edited or not (nbgrader issue #1961).  Here the warning
    is kept only when the submitted cell differs from the released one."""

    def preprocess_cell(self, cell, resources, cell_index):
        self.submitted = cell  # read by report_change, which nbgrader calls without it
        return super().preprocess_cell(cell, resources, cell_index)

    def report_change(self, name, attr, old, new):
        if attr == "checksum" and new == self._released_checksum(name):
            return  # the cell as released: nothing changed but the hidden tests nbgrader removed
        super().report_change(name, attr, old, new)

    def _released_checksum(self, grade_id):
        released = copy.deepcopy(self.submitted)
        released.source = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id).source
        nbg.ClearHiddenTests(enforce_metadata=False)._remove_hidden_test_region(released)
        return utils.compute_checksum(released)


class HideHiddenTests(nbg.ClearHiddenTests):
    """ClearHiddenTests for feedback pages.  nbconvert configures ``display_data_priority`` on
    every preprocessor of an HTML export; ClearHiddenTests has that trait but does not declare it
    configurable, so traitlets warned "Config option … not recognized" on every run."""

    display_data_priority = List(nbg.ClearHiddenTests.display_data_priority.default_value).tag(config=True)


class WrapLongOutput(Preprocessor):
    """Adds WRAP_CSS to the page (after CSSHTMLHeaderPreprocessor, which resets the list)."""

    enabled = Bool(True)  # nbgrader registers its preprocessors without enabling them; nbgrader's own set this

    def preprocess(self, nb, resources):
        resources.setdefault("inlining", {}).setdefault("css", []).append(WRAP_CSS)
        return nb, resources
