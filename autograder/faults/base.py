"""A catalogued mistake: an id, the sentence a student reads, and the edits of the solution that make it."""

from dataclasses import dataclass


class MistakeDoesNotApply(LookupError):
    """The reference solution changed, and a catalogued edit no longer finds its text."""


@dataclass(frozen=True)
class Mistake:
    id: str  # short and unique within its function, e.g. "skips-dby"
    explanation: str  # what the student reads: what their code does, and what to do instead
    edits: tuple  # ((old, new), …): each old text occurs exactly once in the reference

    def applied_to(self, reference_source):
        """The reference's source (in ``ast.unparse`` form, see solution.compact) with the edits made."""
        source = reference_source
        for old, new in self.edits:
            if source.count(old) != 1:
                raise MistakeDoesNotApply(
                    f"mistake {self.id!r}: {old!r} occurs {source.count(old)} times in the reference solution "
                    "(it must occur once); update the catalogue in autograder/faults/"
                )
            source = source.replace(old, new)
        return source


def mistake(id, explanation, *edits):
    return Mistake(id, explanation, tuple(edits))
