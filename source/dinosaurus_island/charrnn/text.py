"""The vocabulary of a text: its distinct characters, numbered in sorted order."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Vocabulary:
    chars: str

    @classmethod
    def of(cls, text):
        if not text:
            raise ValueError("the text is empty: there is nothing to learn from")
        return cls("".join(sorted(set(text))))

    def __len__(self):
        return len(self.chars)

    def encode(self, text):
        index = {ch: ix for ix, ch in enumerate(self.chars)}
        unknown = sorted({ch for ch in text if ch not in index})
        if unknown:
            raise ValueError(f"characters the model never saw: {''.join(unknown)!r}")
        return [index[ch] for ch in text]

    def decode(self, indices):
        return "".join(self.chars[ix] for ix in indices)
