"""Run the lab by hand: ``python -m lab run --config examples/lab.yaml`` starts the lab
and the exporter against it; ``python -m lab up`` only holds the lab until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from lab.servers import LabError
from lab.topology import DEFAULT_PORT, Lab


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m lab")
    parser.add_argument("command", choices=("run", "up"))
    parser.add_argument("--config", default="examples/lab.yaml", help="exporter config for `run`")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args, rest = parser.parse_known_args()
    lab = Lab(port=args.port)
    try:
        lab.start()
    except LabError as exc:
        print(f"error: the lab did not start: {exc}", file=sys.stderr)
        return 2
    try:
        print(
            "lab up:",
            ", ".join(f"{role} {s.address}" for role, s in lab.servers.items()),
            flush=True,
        )
        if args.command == "up":
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait()
            return 0
        from exporter.cli import main as exporter_main  # noqa: PLC0415

        print(
            f"exporter: serving with {args.config}; open http://127.0.0.1:9958/ (Ctrl-C stops)",
            flush=True,
        )
        return exporter_main(["serve", "--config", args.config, *rest])
    finally:
        lab.close()


if __name__ == "__main__":
    sys.exit(main())
