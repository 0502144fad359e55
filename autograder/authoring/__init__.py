"""The instructor's authoring tools, which make things and never grade: the release
(``releasing``, run by
``python -m autograder assign``; its nbgrader preprocessors are also named in nbgrader_config.py),
the stored references and mistake signatures (``references``, run by ``python -m autograder
references``), the Sonnets weights (``weights``), submissions made from the instructor's solution
(``factory``), the styles and mistakes students write (``styles``), the example submissions
(``examples``) and the audit of the hidden checks (``audit``).  Used by the CLI, the tests, the
benchmarks and ``make regenerate``; grading never imports them."""
