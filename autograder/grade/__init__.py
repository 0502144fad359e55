"""Grading, on the grader's side of the sandbox: read a submission (``submission``), run each graded
function in the sandbox and judge what came back against the stored references (``grading``,
``expected``), over a class locally or on Dask (``batch``, ``cluster``), and write the results
(``report``, ``canvas``, ``gradescope``, ``similarity``).  nbgrader's autograde reaches it through
``autograder.nbgrader_hook``, kept at the top as the notebooks' hidden cells (and gradebooks) name it.

Nothing here runs student code in this process, and nothing here imports ``autograder.authoring``.
"""
