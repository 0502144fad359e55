"""python -m charrnn {train,sample}: train a character-level network on a text file, then write with it."""

import argparse
import sys
from pathlib import Path

from .checkpoint import CheckpointError, load, save
from .train import train


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m charrnn", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("train", help="train on a UTF-8 text file")
    t.add_argument("file")
    t.add_argument("--steps", type=int, required=True)
    t.add_argument("--seq-length", type=int, default=25)
    t.add_argument("--hidden", type=int, default=100)
    t.add_argument("--layers", type=int, default=1)
    t.add_argument("--cell", choices=["rnn", "lstm"], default="rnn")
    t.add_argument("--optimizer", choices=["sgd", "adagrad"], default="adagrad")
    t.add_argument("--lr", type=float, default=0.1)
    t.add_argument("--clip", type=float, default=5.0, help="0 turns clipping off")
    t.add_argument("--clip-mode", choices=["elementwise", "norm"], default="elementwise")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", required=True, help="checkpoint to write (.npz)")
    s = commands.add_parser("sample", help="continue a prompt with a trained checkpoint")
    s.add_argument("checkpoint")
    s.add_argument("--prompt", required=True)
    s.add_argument("--temperature", type=float, default=1.0)
    s.add_argument("--length", type=int, default=200)
    s.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        return run_train(args) if args.command == "train" else run_sample(args)
    except (CheckpointError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def run_train(args):
    path = Path(args.file)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    text = path.read_text(encoding="utf-8")
    if not text:
        raise ValueError(f"{path} is empty: there is nothing to learn from")
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("training"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("loss {task.description}"),
        TimeRemainingColumn(),
        disable=not sys.stderr.isatty(),
    ) as bar:
        task = bar.add_task("", total=args.steps)
        vocabulary, model, losses = train(
            text,
            args.steps,
            args.seq_length,
            args.hidden,
            args.layers,
            args.cell,
            args.optimizer,
            args.lr,
            args.clip,
            args.clip_mode,
            args.seed,
            progress=lambda step, loss, _: bar.update(task, advance=1, description=f"{loss:.3f}"),
        )
    save(args.out, model, vocabulary)
    print(f"smooth loss {losses[0]:.3f} → {losses[-1]:.3f} after {args.steps} steps; wrote {args.out}")
    return 0


def run_sample(args):
    model, vocabulary = load(args.checkpoint)
    if args.temperature < 0:
        raise ValueError("the temperature must be 0 or more")
    prompt = vocabulary.encode(args.prompt)
    print(args.prompt + vocabulary.decode(model.sample(prompt, args.length, args.temperature, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
