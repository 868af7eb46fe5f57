"""The `kb` console entry point: the root group from kb with every layer's commands attached."""
from __future__ import annotations

from kb.cli import cli

# Command name -> the layer module whose import registers it on the root group. Only the
# module of the command asked for is imported: `kb index` then skips Flask, SQLAlchemy and
# alembic (0.5 s of every command's start, measured with -X importtime).
COMMAND_MODULES = {
    "index": "indexer.cli", "verify": "indexer.cli", "model": "indexer.cli",
    "search": "search.cli",
    "bench": "bench.cli",
    "serve": "web.commands", "user": "web.commands",
    "db": "web.events.commands",
    "gap": "web.events.gap_commands",
    "report": "web.events.report_commands", "demo": "web.events.report_commands",
}
cli.lazy_commands.update(COMMAND_MODULES)


def main() -> None:
    """Run the `kb` command."""
    cli(prog_name="kb")
