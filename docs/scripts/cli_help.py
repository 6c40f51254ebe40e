"""The help text of every `minigrad` command, for docs/reference/cli.md.

    .venv/bin/python docs/scripts/cli_help.py        (or: make docs-images)

Writes docs/reference/cli-commands.txt: a Markdown fragment with one section per command,
each holding what `minigrad COMMAND --help` prints at a width of 100 columns. The commands
are read from the parser, so a new command appears by itself. `train` takes a task's
options, so its help is shown once as it is (the tasks) and once for the task `echo`. Only
the built-in cells and tasks are listed: plugins installed on this machine are not minigrad's.
"""

import contextlib
import io
import os
from pathlib import Path

os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal's width: fix it

from minigrad import cli, plugins  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "reference" / "cli-commands.txt"
EXAMPLE_ARGUMENTS = {"train": [[], ["echo"]]}  # a command whose options depend on its argument
plugins.host = plugins.PluginHost(entry_points=False)  # the built-ins only


def help_text(words: list[str]) -> str:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.suppress(SystemExit):
        cli.main([*words, "--help"])
    text = printed.getvalue()
    if not text.startswith("usage:"):
        raise SystemExit(f"minigrad {' '.join(words)} --help printed no help: {text!r}")
    return text


parser = cli.build_parser()
commands = parser._subparsers._group_actions[0]  # argparse keeps the sub-commands here
sections = ["<!-- written by docs/scripts/cli_help.py: do not edit -->\n"]
for name in ["", *commands.choices]:
    summary = next((a.help for a in commands._choices_actions if a.dest == name), None)
    parts = [f"## `minigrad {name}`" if name else "## `minigrad`"]
    if summary:
        parts.append(summary[0].upper() + summary[1:] + ".")
    for arguments in EXAMPLE_ARGUMENTS.get(name, [[]]):
        words = [name, *arguments] if name else []
        parts.append(f"```text\n$ minigrad {' '.join([*words, '--help'])}\n{help_text(words)}```")
    sections.append("\n\n".join(parts) + "\n")
OUT.write_text("\n".join(sections), encoding="utf-8")
print(f"wrote {OUT}")
