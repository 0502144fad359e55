"""Turn solution regions into the scaffold students fill in.

nbgrader's ClearSolutions replaces every ``### BEGIN SOLUTION`` … ``### END SOLUTION``
region with one fixed stub (``raise NotImplementedError()``).  Our students get the
familiar scaffold instead: the region is replaced by its *stub lines*, the lines that
start with ``#>``, with the marker removed:

    ### BEGIN SOLUTION
    #> x = None
    x = np.zeros((vocab_size, 1))
    ### END SOLUTION

becomes ``x = None`` in the release.  A code region without stub lines is an error, so
no exercise can silently ship as a bare ``raise NotImplementedError()``.
"""

import re

from nbgrader.preprocessors import ClearSolutions

STUB_MARK = re.compile(r"^(\s*)#> ?(.*)$")


def scaffold_lines(region_lines):
    """The stub lines of one solution region, with ``#>`` removed and indentation kept."""
    stubs = []
    for line in region_lines:
        match = STUB_MARK.match(line)
        if match:
            stubs.append((match.group(1) + match.group(2)).rstrip())
    return stubs


class ScaffoldSolutions(ClearSolutions):
    """ClearSolutions that keeps each region's ``#>`` stub lines as the student's scaffold."""

    def _replace_solution_region(self, cell, language):
        if cell.cell_type != "code":
            return super()._replace_solution_region(cell, language)

        new_lines, region, in_solution, replaced = [], [], False, False
        for line in cell.source.split("\n"):
            if self.begin_solution_delimeter in line:
                if in_solution:
                    raise RuntimeError("encountered nested begin solution statements")
                in_solution, region = True, []
            elif self.end_solution_delimeter in line and in_solution:
                stubs = scaffold_lines(region)
                if not stubs:
                    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "?")
                    raise RuntimeError(
                        f"solution region in cell {grade_id!r} has no '#>' stub lines; "
                        "write the lines students should see, each starting with '#> '"
                    )
                new_lines.extend(stubs)
                in_solution, replaced = False, True
            elif in_solution:
                region.append(line)
            else:
                new_lines.append(line)
        if in_solution:
            raise RuntimeError("no end solution statement found")
        cell.source = "\n".join(new_lines)
        return replaced
