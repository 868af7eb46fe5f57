"""The `kb` console entry point: the root group from kb with every layer's commands attached."""
from __future__ import annotations

from kb.cli import cli

# Importing a layer's cli module registers its commands on the root group.
import indexer.cli  # noqa: E402,F401
import search.cli  # noqa: E402,F401
import bench.cli  # noqa: E402,F401
import web.commands  # noqa: E402,F401
import web.events.commands  # noqa: E402,F401
import web.events.gap_commands  # noqa: E402,F401
import web.events.report_commands  # noqa: E402,F401


def main() -> None:
    """Run the `kb` command."""
    cli(prog_name="kb")
