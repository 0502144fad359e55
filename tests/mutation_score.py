"""``python tests/mutation_score.py``: per module, how many of mutmut's mutants the tests killed.

Reads ``mutmut results --all true`` (run after ``mutmut run``; ``make mutate`` does both) and
prints one line per module: killed, survived, the score, then the surviving mutants' names
(``mutmut show NAME`` prints the change)."""

import re
import subprocess
import sys
from collections import defaultdict

LINE = re.compile(r"^\s*(?P<name>[\w.ǁ]+?)\.x[ǁ_](?P<rest>\S+): (?P<status>.+)$")


def main():
    listing = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
    modules = defaultdict(lambda: defaultdict(list))
    for line in listing.splitlines():
        match = LINE.match(line)
        if match:
            modules[match["name"]][match["status"].strip()].append(line.split(":")[0].strip())
    total_killed = total = 0
    for module, statuses in sorted(modules.items()):
        killed, count = len(statuses["killed"]), sum(len(names) for names in statuses.values())
        total_killed, total = total_killed + killed, total + count
        print(f"{module:45} {killed:4} of {count:4} killed  {killed / count:6.1%}")
        for status, names in sorted(statuses.items()):
            if status != "killed":
                print(f"    {status}: {len(names)}")
    print(f"{'all':45} {total_killed:4} of {total:4} killed  {total_killed / max(total, 1):6.1%}")


if __name__ == "__main__":
    main()
