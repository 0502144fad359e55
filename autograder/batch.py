"""``python -m autograder grade``: grade many notebooks, in parallel, resumably.

Every finished submission is appended to ``OUT.json.partial.jsonl`` at once; a batch that is
killed and started again regrades only what is not in there (same file, same references).
The reports are written when the batch is done, each atomically.
"""

import hashlib
import json
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from .grading import Grader
from .paths import REFERENCES_DIR
from .report import SubmissionResult, write_reports
from .submission import find_notebooks


def file_digest(path):
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def references_digest():
    digest = hashlib.sha256()
    for path in sorted(REFERENCES_DIR.glob("*.json")):
        if path.name != "timing.json":
            digest.update(path.read_bytes())
    return digest.hexdigest()


class Progress:
    """A rich progress bar, or nothing."""

    def __init__(self, total, enabled):
        self.bar = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("grading"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
            )
            self.task = self.bar.add_task("", total=total)

    def __enter__(self):
        if self.bar:
            self.bar.start()
        return self

    def advance(self, text):
        if self.bar:
            self.bar.update(self.task, advance=1, description=text)

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()


def load_partial(path, references):
    """{(path, digest): SubmissionResult} from an interrupted run (a torn last line is ignored)."""
    done = {}
    if not path.exists():
        return done
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
            if entry["references"] == references:
                done[(entry["path"], entry["digest"])] = SubmissionResult.from_dict(entry["result"])
        except (ValueError, KeyError, TypeError):
            continue
    return done


def internal_error_result(path, student, error):
    """The grader itself failed on this submission: say so, never invent a grade."""
    return SubmissionResult(str(path), student, {}, [f"internal grader error, please regrade: {error}"])


def grade_batch(paths, json_path, csv_path=None, gradescope_dir=None, jobs=1, progress=True, only=None):
    notebooks = find_notebooks(paths)
    if not notebooks:
        raise FileNotFoundError("no notebooks found in " + ", ".join(str(p) for p in paths))
    json_path = Path(json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)  # fail now, not after an hour of grading
    partial_path = json_path.with_name(json_path.name + ".partial.jsonl")
    grader = Grader()
    references = references_digest()
    done = load_partial(partial_path, references) if not only else {}
    partial_path.touch()
    lock = threading.Lock()
    results = {}

    def grade_one(path, student):
        digest = file_digest(path)
        key = (str(path), digest)
        if key in done:
            return key, done[key], False
        try:
            result = grader.grade(path, student, only=only)
        except Exception as error:  # a bug of ours must not stop the class's batch
            result = internal_error_result(path, student, f"{type(error).__name__}: {error}")
            traceback.print_exc()
        return key, result, True

    with Progress(len(notebooks), progress) as bar, ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(grade_one, path, student): path for path, student in notebooks}
        for future in as_completed(futures):
            key, result, fresh = future.result()
            results[key[0]] = result
            if fresh and not only and not any(e.startswith("internal grader error") for e in result.errors):
                with lock, partial_path.open("a") as file:
                    file.write(
                        json.dumps(
                            {
                                "path": key[0],
                                "digest": key[1],
                                "references": references,
                                "result": result.to_dict(),
                            }
                        )
                        + "\n"
                    )
            bar.advance(f"{result.student}: {result.score:g}")

    ordered = [results[str(path)] for path, _ in notebooks]
    write_reports(ordered, json_path, csv_path, gradescope_dir)
    partial_path.unlink(missing_ok=True)
    return ordered
