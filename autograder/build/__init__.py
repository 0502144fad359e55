"""Instructor-side builders: submissions made from the instructor's solution (``factory``), the
styles and mistakes students write (``styles``), and the example submissions (``examples``).
Used by the tests, the benchmarks and ``make regenerate``; never by grading."""
