"""``python -m cpn COMMAND``: ``demo`` (the main job, :mod:`cpn.demo`), ``experiment
aisid-vs-dns`` (the AISID paper's DNS comparison, :mod:`cpn.experiment_dns`), ``cqf`` (CQF
per-hop delay beside best effort, :mod:`cpn.cqf_check`), ``diff-dumps`` (where two per-request
dumps differ, :mod:`cpn.dump`). Other commands
register themselves in :data:`COMMANDS` (name -> ``main(argv) -> int``)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from . import cqf_check, demo, dump, experiment_dns

COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "demo": demo.main,
    "experiment": experiment_dns.main,
    "cqf": cqf_check.main,
    "diff-dumps": dump.main,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print(
            "usage: python -m cpn {" + ",".join(COMMANDS) + "} [options]  (COMMAND --help)",
            file=sys.stderr if argv and argv[0] not in ("-h", "--help") else sys.stdout,
        )
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
