"""The ``minigrad`` command line (argparse). Bad input gets one line and exit status 2."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import textwrap
import time
import typing
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

import minigrad as mg
from minigrad.allocator import tune_malloc
from minigrad.errors import GradcheckError, ShapeError
from minigrad.plugins import PluginError, PluginWarning, Provided, broken, conflicts, lookup, one_line, provided
from minigrad.testing import CellContractError, check_cell
from minigrad.viz.output import FORMATS


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors; ``names`` (a command) adds the cells or tasks it takes to its help."""

    def __init__(self, *args: Any, names: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.names = names

    def error(self, message: str) -> None:  # one line instead of usage + error
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")

    def format_help(self) -> str:  # the plugins are listed only when help is asked for: loading them costs time
        text = super().format_help()
        if self.names:
            text += "".join(_listing(title, items) for title, items in names_for(self.names).items())
        return text


def names_for(command: str) -> dict[str, dict[str, Provided]]:
    """The cells or tasks a command's positional argument takes, by title: ``{"tasks": {name: Provided}}``."""
    cells = provided("minigrad_cells", mg.nn.Cell)
    tasks = provided("minigrad_tasks", mg.Task)
    if command == "generate":
        return {"generative tasks": {n: p for n, p in tasks.items() if p.cls.generate is not mg.Task.generate}}
    if command in ("graph", "explore"):
        return {"cells": cells, "tasks": tasks}
    if command == "gradcheck":
        return {"cells": cells}
    return {"tasks": tasks}


def summary(cls: type) -> str:
    """A plugin class's one-line description: the first paragraph of its docstring, else of its module's."""
    doc = cls.__dict__.get("__doc__") or sys.modules[cls.__module__].__doc__ or ""
    return " ".join(doc.strip().split("\n\n")[0].replace("``", "").split())  # ``code`` marks read as noise here


def _listing(title: str, items: dict[str, Provided]) -> str:
    """``title:`` and one row per item, its summary wrapped to the terminal as argparse wraps help."""
    width = shutil.get_terminal_size().columns - 2
    indent = max(map(len, items), default=0) + 4
    rows = [
        textwrap.fill(
            summary(item.cls),
            width,
            initial_indent=f"  {name}".ljust(indent),
            subsequent_indent=" " * indent,
            break_on_hyphens=False,
        )
        for name, item in sorted(items.items())
    ]
    return f"\n{title}:\n" + "\n".join(rows or ["  (none registered)"]) + "\n"


def _missing(command: str, metavar: str) -> UsageError:
    """The error for a command run without its CELL or TASK, naming the choices."""
    choices = "; ".join(f"{title}: {', '.join(sorted(items)) or 'none'}" for title, items in names_for(command).items())
    return UsageError(f"minigrad {command}: {metavar} is missing; {choices}")


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def cmd_plugins(args: argparse.Namespace) -> int:
    """List every cell and task, where it comes from, and the plugins that failed to load."""
    rows = [("NAME", "KIND", "MODULE", "FROM")]
    for hook, base in (("minigrad_cells", mg.nn.Cell), ("minigrad_tasks", mg.Task)):
        for name, item in sorted(provided(hook, base).items()):
            rows.append((name, item.kind, item.cls.__module__, item.plugin.origin))
    print(_table(rows))
    for hook in ("minigrad_cells", "minigrad_tasks"):
        for message in conflicts(hook).values():
            print(f"conflict: {message}")
    for plugin in broken():
        print(f"broken: {plugin}")
    return 0


def cmd_gradcheck(args: argparse.Namespace) -> int:
    """Check every named cell (all registered cells when none is named) against finite differences."""
    cells = provided("minigrad_cells", mg.nn.Cell)
    names = args.cells or sorted(cells)
    for name in names:
        if name not in cells:
            lookup("minigrad_cells", mg.nn.Cell, name)  # raises: unknown, or claimed by two plugins
    _warn_broken()
    failures = 0
    width = max(map(len, names))
    for name in names:
        start = time.perf_counter()
        try:
            worst = check_cell(cells[name].cls, steps=args.steps)
        except Exception as error:  # a plugin's bug fails its own line; the other cells are still checked
            failures += 1
            reason = str(error) if isinstance(error, (GradcheckError, CellContractError)) else one_line(error)
            print(f"{name.ljust(width)}  FAIL  {reason}")
            continue
        print(f"{name.ljust(width)}  ok    worst gradient error {worst:.1e}  ({time.perf_counter() - start:.1f} s)")
    return 1 if failures else 0


def lecture_loss(
    cell: type, steps: int, layers: int, bidirectional: bool, hidden_size: int, input_size: int, seed: int
) -> mg.Tensor:
    """A small instance of ``cell`` in the lecture's shape: x_t -> s_t (U, W) -> z_t = V s_t + b_v,
    loss_t = (z_t - y_t)², loss = Σ loss_t; parameters labelled with the lecture's letters."""
    mg.manual_seed(seed)
    rng = mg.default_rng()
    layer = mg.nn.Recurrent(  # fuse_input=False: x_t U inside every step, as the lecture draws it
        cell, input_size, hidden_size, num_layers=layers, bidirectional=bidirectional, fuse_input=False
    )
    head = mg.nn.Linear(hidden_size * (2 if bidirectional else 1), 1)
    for name, parameter in layer.named_parameters():
        for prefix, letter in (("weight_ih", "U"), ("weight_hh", "W")):
            if name.startswith(prefix):
                parameter.name = f"{name} ({letter})"
    head.weight.name, head.bias.name = "V", "b_v"
    x = mg.tensor(rng.uniform(0, 1, (1, steps, input_size)), name="x")
    y = rng.uniform(0, 1, (1, steps, 1))
    output, _ = layer(x)
    losses = []
    for t in range(steps):
        with mg.time_step(t + 1, layer=layers - 1, direction="forward"):
            z = head(output[:, t])
            z.name = "z_t"
            loss_t = ((z - y[:, t]) ** 2).sum()
            loss_t.name = "loss_t"
        losses.append(loss_t)
    loss = mg.stack(losses).sum()
    loss.name = "loss"
    return loss


def task_loss(task_class: type, args: argparse.Namespace) -> mg.Tensor:
    """The task's model on one (seeded) training example, the loss named; options given override the
    task's defaults. The input projection stays inside every step, as the lecture draws it."""
    given = {"steps": args.steps, "num_layers": args.layers, "hidden_size": args.hidden_size}
    overrides = {name: value for name, value in given.items() if value is not None}
    if args.bidirectional:
        overrides["bidirectional"] = True
    task = task_class(task_class.Config(seed=args.seed, **overrides))
    train = task.make_data(np.random.default_rng([args.seed, 1]))["train"]
    pick = np.random.default_rng([args.seed, 3]).integers(len(train[0]))  # a seeded example, not always the first
    example = tuple(a[pick : pick + 1] for a in train)
    mg.manual_seed(args.seed)
    model = task.build_model()
    for module in model.modules():
        if isinstance(module, mg.nn.Recurrent):
            module.fuse_input = False
    loss = task.loss(model, example)
    loss.name = "loss"
    return loss


def attention_context(loss: mg.Tensor, step: int, name: str) -> mg.Tensor:
    """The context c_t of decoding step ``step`` on the loss's tape: what attention computed there."""
    from minigrad.viz.tape import collect

    for node in collect(loss):
        if node.name == "c_t" and node.tags.get("direction") == "decoder" and node.tags.get("step") == step:
            return node
    raise UsageError(f"minigrad graph: {name} has no attention at decoding step {step} (an attention model decodes fewer steps, or none)")


def example(command: str, args: argparse.Namespace, suffixes: Sequence[str]) -> Callable[[], mg.Tensor]:
    """Check CELL|TASK and -o's suffix (one line each); return what builds the example's loss:
    a small instance of the cell in the lecture's shape, or the task's model on one example."""
    if args.name is None:
        raise _missing(command, "CELL|TASK")
    cells = provided("minigrad_cells", mg.nn.Cell)
    tasks = provided("minigrad_tasks", mg.Task)
    if args.name not in cells and args.name not in tasks:
        raise UsageError(
            f"minigrad {command}: {args.name!r} is neither a cell ({', '.join(sorted(cells))}) "
            f"nor a task ({', '.join(sorted(tasks))})"
        )
    if Path(args.output).suffix.lstrip(".").lower() not in suffixes:
        wanted = ", ".join("." + s for s in suffixes[:-1]) + (" or " if len(suffixes) > 1 else "") + "." + suffixes[-1]
        raise UsageError(f"minigrad {command}: -o must end in {wanted}, got {args.output!r}")
    if args.name in tasks and args.name not in cells:
        return lambda: task_loss(tasks[args.name].cls, args)
    return lambda: lecture_loss(
        cells[args.name].cls, args.steps or 3, args.layers or 1, args.bidirectional, args.hidden_size or 3,
        args.input_size, args.seed,
    )  # fmt: skip


def cmd_graph(args: argparse.Namespace) -> int:
    """Draw a small instance of a cell, or a task's model on one example: unrolled (or folded),
    optionally coloured by gradient."""
    loss = example("graph", args, FORMATS)()
    if args.attention_step:
        loss = attention_context(loss, args.attention_step, args.name)
    picture = mg.viz.draw(loss, folded=args.folded, grad=args.grad, max_nodes=args.max_nodes)
    print(f"wrote {mg.viz.render(picture, args.output)}")
    return 0


def cmd_explore(args: argparse.Namespace) -> int:
    """Write the explorer's page for one forward and backward pass of the example `graph` draws."""
    loss = example("explore", args, ("html",))()
    steps = len({n.tags["step"] for n in mg.viz.tape.collect(loss) if n.tags.get("step") is not None})
    title = " · ".join([args.name, f"{steps} steps"] + (["bidirectional"] if args.bidirectional else []))
    mg.viz.explore(loss, args.output, max_nodes=args.max_nodes, title=title)
    print(f"wrote {Path(args.output)}")
    return 0


def cmd_gradflow(args: argparse.Namespace) -> int:
    """Train each cell on remember-the-first-input and plot ‖∂loss/∂h_t‖ before and after."""
    from tqdm import tqdm

    from minigrad.gradflow import FlowResult, plot_flows, run_experiment

    names = [name.strip() for name in args.cells.split(",") if name.strip()]
    cells = provided("minigrad_cells", mg.nn.Cell)
    if not names:
        raise UsageError(f"minigrad gradflow: --cells names no cell; registered: {', '.join(sorted(cells))}")
    for name in names:
        if name not in cells:
            lookup("minigrad_cells", mg.nn.Cell, name)  # raises, naming the cells there are
    if Path(args.output).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise UsageError(f"minigrad gradflow: -o must end in .png, .svg or .pdf, got {args.output!r}")
    results = []
    show = not args.quiet and sys.stderr.isatty()
    for name in names:
        with tqdm(total=args.iterations, desc=f"training {name}", disable=not show, leave=False) as bar:
            results.append(
                run_experiment(
                    name, args.steps, args.hidden_size, args.iterations, args.batch_size, args.lr, args.seed,
                    curriculum=not args.no_curriculum, progress=bar.update,
                )
            )
    rows = [("CELL", "‖∂L/∂h_1‖/‖∂L/∂h_T‖ AT INIT", "AFTER TRAINING", "TEST ACCURACY", "CHANCE")]
    for r in results:
        rows.append(
            (r.cell, f"{FlowResult.ratio(r.at_init):.1e}", f"{FlowResult.ratio(r.trained):.1e}", f"{r.accuracy:.3f}", f"{r.chance:.2f}")
        )
    schedule = "full length throughout" if args.no_curriculum else "lengths growing from 10 over the first half"
    print(
        f"remember-the-first-input, {args.steps} steps, {args.iterations} Adam steps of batch {args.batch_size} "
        f"({schedule}), hidden {args.hidden_size}, seed {args.seed}"
    )
    print(_table(rows))
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(f"minigrad: matplotlib is not installed, so {args.output} was not drawn: pip install 'minigrad[plot]'")
        return 0
    print(f"wrote {plot_flows(results, args.output)}")
    return 0


def task_parser(task_class: type, prog: str) -> argparse.ArgumentParser:
    """Options derived from the task's Config dataclass: ``hidden_size`` -> ``--hidden-size``,
    each with the help its field declares (``metadata={"help": ...}``) and its default."""
    parser = _Parser(prog=prog, description=summary(task_class), argument_default=argparse.SUPPRESS)
    types = typing.get_type_hints(task_class.Config)
    unused = getattr(task_class.Config, "unused_options", ())
    for field in dataclasses.fields(task_class.Config):
        if field.name in unused:  # e.g. --steps for a task whose sequences are as long as they come
            continue
        flag, kind = "--" + field.name.replace("_", "-"), types[field.name]
        text = f"{field.metadata.get('help', '')} (default {field.default})".strip()
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, help=text)
        elif typing.get_origin(kind) is typing.Literal:
            parser.add_argument(flag, choices=typing.get_args(kind), help=text)
        else:
            parser.add_argument(flag, type=kind if kind is str else _number(kind), help=text)
    return parser


def _task_class(name: str) -> type:
    return lookup("minigrad_tasks", mg.Task, name).cls


def cmd_train(args: argparse.Namespace) -> int:
    """Train a task; write model.safetensors, metrics.json and loss.png to --out."""
    from minigrad.checkpoint import load_with_extras
    from minigrad.train import LAST, Trainer

    if args.task is None:
        raise _missing("train", "TASK")
    task_class = _task_class(args.task)
    parser = task_parser(task_class, f"minigrad train {args.task}")
    parser.add_argument("--out", help="output directory (default out/TASK)")
    parser.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--jit", action=argparse.BooleanOptionalAction, default=None,
                        help="replay the recorded training step with mg.jit (default: where the task's step qualifies)")  # fmt: skip
    given = vars(parser.parse_args(args.options))
    out = Path(given.pop("out", None) or given.get("resume") or Path("out") / args.task)
    resume, quiet, jit = given.pop("resume", None), given.pop("quiet", False), given.pop("jit", None)
    values = {}
    if resume:  # the configuration the run started with; options given now (e.g. --epochs) override
        values = load_with_extras(Path(resume) / LAST)[1]["config"]
        out = Path(resume)
    config = task_class.Config(**{**values, **given})
    lookup("minigrad_cells", mg.nn.Cell, config.cell)  # an unknown cell: one line, now
    trainer = Trainer(task_class(config), out, progress=not quiet and sys.stdout.isatty(), jit=jit)
    metrics = trainer.fit(resume=bool(resume))
    print(json.dumps(metrics))
    written = [out / "model.safetensors", out / "metrics.json", *([] if trainer.plot_note else [out / "loss.png"])]
    print(f"wrote {', '.join(map(str, written + trainer.reports))}")
    if trainer.plot_note:
        print(f"minigrad: {trainer.plot_note}", file=sys.stderr)
    return 0


def _task_from_checkpoint(command: str, task_name: str | None, checkpoint: str) -> tuple[Any, Any]:
    """The task and its trained model, rebuilt from a checkpoint alone."""
    from minigrad.checkpoint import CheckpointError, check_compatible, load

    if task_name is None:
        raise _missing(command, "TASK")
    task_class = _task_class(task_name)
    state_dict, metadata = load(checkpoint)
    if metadata.get("task") != task_name:
        raise UsageError(f"minigrad: {checkpoint} holds task {metadata.get('task')!r}, not {task_name!r}")
    try:
        config = task_class.Config(**metadata["config"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{checkpoint}: its configuration does not fit task {task_name!r} ({error})") from None
    task = task_class(config)
    model = task.build_model()
    check_compatible(model, state_dict, metadata, {"task": task_name}, path=checkpoint)
    return task, model.eval()  # inference: dropout off


def cmd_eval(args: argparse.Namespace) -> int:
    """Recompute a checkpoint's test metrics from the checkpoint alone."""
    from minigrad.viz.output import write_atomically

    task, model = _task_from_checkpoint(args.command, args.task, args.checkpoint)
    data = task.make_data(np.random.default_rng([task.config.seed, 1]))
    with mg.no_grad():
        metrics = task.evaluate(model, data["test"], "test")
    print(json.dumps(metrics))
    target = Path(args.checkpoint).with_name("eval-metrics.json")
    write_atomically(target, (json.dumps(metrics, indent=2) + "\n").encode())
    print(f"wrote {target}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """Sample from a generative task's checkpoint, each output fed back as the next input."""
    task, model = _task_from_checkpoint(args.command, args.task, args.checkpoint)
    prompt = args.prompt_option if args.prompt_option is not None else args.prompt
    with mg.no_grad():
        try:
            text = task.generate(model, prompt or "", args.length, args.temperature, np.random.default_rng(args.seed))
        except NotImplementedError as error:
            raise UsageError(f"minigrad generate: {error}") from None
    print(text)
    return 0


def _warn_broken() -> None:
    """Broken plugins and contested names, one line each on stderr: they are skipped, not hidden."""
    for plugin in broken():
        print(f"minigrad: warning: {plugin}", file=sys.stderr)
    for message in conflicts("minigrad_cells").values():
        print(f"minigrad: warning: {message}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="minigrad", description="Autodiff that shows backpropagation unrolling through time.")
    parser.add_argument("--version", action="version", version=f"minigrad {mg.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    plugins = commands.add_parser("plugins", help="list cells and tasks and where each comes from")
    plugins.set_defaults(run=cmd_plugins)

    gradcheck = commands.add_parser(
        "gradcheck",
        help="check cells' gradients against finite differences (all cells when none is named)",
        names="gradcheck",
    )
    gradcheck.add_argument("cells", nargs="*", metavar="CELL", help="registered cell names")
    gradcheck.add_argument("--steps", type=_positive_int, default=4, help="time steps to unroll (default 4)")
    gradcheck.set_defaults(run=cmd_gradcheck)

    graph = commands.add_parser(
        "graph",
        help="draw a cell, or a task's model, unrolled through time (or folded) with the lecture's names",
        names="graph",
    )
    _example_options(graph, "FILE.svg, .png, .pdf or .dot")
    graph.add_argument("--folded", action="store_true", help="lay every step onto one: the recurrent edge as a loop")
    graph.add_argument("--grad", action="store_true", help="colour nodes by the size of their gradient")
    graph.add_argument("--attention-step", type=_positive_int, metavar="K",
                       help="attention tasks: draw only what decoding step K's context c_K is computed from")  # fmt: skip
    graph.set_defaults(run=cmd_graph)

    explore = commands.add_parser(
        "explore",
        help="write an interactive page that steps through the forward and backward pass of what graph draws",
        names="explore",
    )
    _example_options(explore, "FILE.html: one self-contained page")
    explore.set_defaults(run=cmd_explore)

    flow = commands.add_parser(
        "gradflow", help="how the gradient fades through time: each cell before and after training"
    )
    flow.add_argument("--cells", default="rnn,lstm,gru", help="comma-separated cells (default rnn,lstm,gru)")
    flow.add_argument("--steps", type=_positive_int, default=100, help="sequence length (default 100)")
    flow.add_argument("-o", "--output", default="flow.png", help="the plot: .png, .svg or .pdf (default flow.png)")
    flow.add_argument("--hidden-size", type=_positive_int, default=32, help="hidden units (default 32)")
    flow.add_argument("--iterations", type=_positive_int, default=1000, help="training steps per cell (default 1000)")
    flow.add_argument("--batch-size", type=_positive_int, default=32, help="sequences per step (default 32)")
    flow.add_argument("--lr", type=_positive_float, default=0.01, help="Adam's learning rate (default 0.01)")
    flow.add_argument("--seed", type=int, default=0, help="seed for data and initialisation (default 0)")
    flow.add_argument(
        "--no-curriculum", action="store_true", help="train on full-length sequences from the start (default: grow them)"
    )
    flow.add_argument("--quiet", action="store_true", help="no progress bar")
    flow.set_defaults(run=cmd_gradflow)

    train = commands.add_parser("train", help="train a task (minigrad train TASK --help lists its options)", names="train")
    train.add_argument("task", nargs="?", metavar="TASK", help="a registered task (listed below)")
    train.add_argument("options", nargs=argparse.REMAINDER, help="the task's options (minigrad train TASK --help)")
    train.set_defaults(run=cmd_train)

    evaluate = commands.add_parser("eval", help="recompute a checkpoint's test metrics", names="eval")
    evaluate.add_argument("task", nargs="?", metavar="TASK", help="the task the checkpoint was trained on")
    evaluate.add_argument("--checkpoint", required=True, help="DIR/model.safetensors from minigrad train")
    evaluate.set_defaults(run=cmd_eval)

    generate = commands.add_parser("generate", help="sample from a generative task's checkpoint", names="generate")
    generate.add_argument("task", nargs="?", metavar="TASK", help="a generative task (listed below)")
    generate.add_argument("prompt", nargs="?", help="the text to start from")
    generate.add_argument("--prompt", dest="prompt_option", metavar="TEXT", help="the same, as an option")
    generate.add_argument("--checkpoint", required=True, help="DIR/model.safetensors from minigrad train")
    generate.add_argument("--length", type=_positive_int, default=20, help="characters to add (default 20)")
    generate.add_argument("--temperature", type=float, default=1.0, help="0: always the likeliest (default 1)")
    generate.add_argument("--seed", type=int, default=0, help="seed for sampling (default 0)")
    generate.set_defaults(run=cmd_generate)
    return parser


def _example_options(parser: argparse.ArgumentParser, output: str) -> None:
    """The options of `graph` and `explore`: which example, its sizes, and the file to write."""
    parser.add_argument("name", nargs="?", metavar="CELL|TASK", help="a registered cell or task (listed below)")
    parser.add_argument("-o", "--output", required=True, help=output)
    parser.add_argument("--steps", type=_positive_int, help="time steps to unroll (default: 3, or the task's)")
    parser.add_argument("--layers", type=_positive_int, help="stacked layers (default: 1, or the task's)")
    parser.add_argument("--bidirectional", action="store_true", help="a forward and a reverse direction")
    parser.add_argument("--hidden-size", type=_positive_int, help="hidden units (default: 3, or the task's)")
    parser.add_argument("--input-size", type=_positive_int, default=1, help="input features (default 1)")
    parser.add_argument("--max-nodes", type=_positive_int, default=300, help="past this many ops, one node per step")
    parser.add_argument("--seed", type=int, default=0, help="initialisation seed (default 0)")


def _number(kind: type, positive: bool = False) -> Callable[[str], Any]:
    """An argparse type: text read as ``kind`` (int or float), above zero if ``positive``, or a one-line complaint."""
    wanted = ("a positive " if positive else "an " if kind is int else "a ") + ("integer" if kind is int else "number")

    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if positive and not value > 0:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {value}")
        return value

    return convert


_positive_int, _positive_float = _number(int, positive=True), _number(float, positive=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 a check failed, 2 bad input)."""
    tune_malloc()  # the command's own process only: importing minigrad leaves a host program's malloc alone
    warnings.simplefilter("ignore", PluginWarning)  # broken plugins are listed by the commands themselves
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra and args.command == "generate" and args.prompt is None and len(extra) == 1:
            args.prompt = extra[0]  # `generate TASK --checkpoint F PROMPT`: the prompt after the options
        elif extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        run: Callable[[argparse.Namespace], int] = args.run
        return run(args)
    except BrokenPipeError:  # `minigrad ... | head`: the reader has gone, which is no error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so Python's exit flush stays quiet
        return 0
    except (UsageError, PluginError, ShapeError, ValueError, OSError) as error:
        print(f"{error}" if isinstance(error, UsageError) else f"minigrad: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("minigrad: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
