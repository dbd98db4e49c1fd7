"""The command line: ``serve`` (default), ``doctor``, ``check-config``.

Exit codes: 0 all good; 1 ``doctor`` found a cause or a failed probe; 2 a
usage or config error (one line on stderr naming the field and the reason).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
from collections.abc import Sequence

from exporter import __version__
from exporter.config import Config, ConfigError, default_config, load_config
from exporter.config import _reader as reader
from exporter.hops import Hop
from exporter.logs import configure_logging

COMMANDS = ("serve", "doctor", "check-config")
CONFIG_ENV = "K8S_DNS_EXPORTER_CONFIG"
EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="k8s-dns-exporter",
        description="Probe every hop of the Kubernetes DNS path and name the documented cause.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def config_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--config",
            metavar="FILE",
            help=f"YAML config (default: ${CONFIG_ENV}, else the pod's own resolv.conf)",
        )
        sub.add_argument(
            "--resolv-conf",
            metavar="FILE",
            default="/etc/resolv.conf",
            help="resolv.conf to probe when no config is given (default: %(default)s)",
        )
        sub.add_argument(
            "--log-level", choices=("debug", "info", "warning", "error"), help="override log.level"
        )
        sub.add_argument(
            "--path.procfs",
            dest="procfs",
            metavar="DIR",
            help="the node's procfs (override node.procfs; in the DaemonSet /host/proc)",
        )
        sub.add_argument(
            "--path.rootfs",
            dest="rootfs",
            metavar="DIR",
            help="the node's root file system (override node.rootfs; in the DaemonSet /host)",
        )

    serve = commands.add_parser("serve", help="probe on a schedule and serve /metrics (default)")
    config_options(serve)
    serve.add_argument("--listen", metavar="HOST:PORT", help="override listen (e.g. 127.0.0.1:9958)")

    doctor = commands.add_parser("doctor", help="probe once, print the causes found, exit 1 if any")
    config_options(doctor)
    doctor.add_argument("--format", choices=("text", "json"), default="text")
    doctor.add_argument("--verbose", action="store_true", help="text: list every probe, not only failed ones")
    doctor.add_argument(
        "--rounds",
        type=int,
        default=1,
        metavar="N",
        help="probe rounds to run before diagnosing (default: %(default)s)",
    )

    doctor.add_argument(
        "--all-pods",
        action="store_true",
        help="probe every CoreDNS pod and every upstream, not a round's share of them "
        "(pods_per_round and upstreams_per_round 0)",
    )

    check = commands.add_parser("check-config", help="validate a config file; exit 2 if invalid")
    check.add_argument("file", metavar="FILE")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0] not in COMMANDS and args_list[0] not in ("-h", "--help", "--version")):
        args_list.insert(0, "serve")
    args = _parser().parse_args(args_list)
    if args.command == "check-config":
        return _check_config(args.file)
    try:
        config = _load(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "doctor":
        return _doctor(config, args)
    try:
        listen = reader.listen_address(args.listen, "--listen") if args.listen else config.listen
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(args.log_level or config.log.level, config.log.format)
    from exporter.serve import serve  # noqa: PLC0415 - only serve needs the scheduler

    return serve(config, _config_path(args), listen, adjust=lambda loaded: _flags(loaded, args))


def _config_path(args: argparse.Namespace) -> str | None:
    path: str | None = args.config or os.environ.get(CONFIG_ENV) or None
    return path


def _load(args: argparse.Namespace) -> Config:
    path = _config_path(args)
    if path is None:
        return _flags(default_config(args.resolv_conf), args)
    try:
        return _flags(load_config(path), args)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc.field}" if exc.field else path, exc.reason) from None


def _flags(config: Config, args: argparse.Namespace) -> Config:
    """The config with the command line's overrides (applied again on every reload)."""
    node = dataclasses.replace(
        config.node, procfs=args.procfs or config.node.procfs, rootfs=args.rootfs or config.node.rootfs
    )
    return dataclasses.replace(config, node=node)


def _check_config(path: str) -> int:
    try:
        config = load_config(path)
    except ConfigError as exc:
        where = f"{path}: {exc.field}" if exc.field else path
        print(f"error: {where}: {exc.reason}", file=sys.stderr)
        return EXIT_USAGE
    paths = [p for p, spec in config.paths.direct().items() if spec != ()]
    if config.paths.resolver is not None:
        paths.append(Hop.RESOLVER)
    print(f"ok: {path}: {len(config.names)} names, paths: {', '.join(paths)}")
    return EXIT_OK


def _doctor(config: Config, args: argparse.Namespace) -> int:
    if args.rounds < 1:
        print("error: --rounds: must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(args.log_level or "error", "console", stream=sys.stderr)
    from exporter.compose import build  # noqa: PLC0415 - serve and check-config need none of it
    from exporter.text import render_text  # noqa: PLC0415

    if args.all_pods:
        config = dataclasses.replace(config, pods_per_round=0, upstreams_per_round=0)
    runtime = build(config, one_shot=True)

    async def rounds() -> None:
        for job in runtime.jobs:  # readers first, so the round is diagnosed with their readings
            await job.run()
        for index in range(args.rounds):
            if index:
                await asyncio.sleep(config.interval)
            await runtime.probe_round()

    asyncio.run(rounds())
    report = runtime.report()
    if args.format == "json":
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(render_text(report, verbose=args.verbose), end="")
    return EXIT_OK if report.healthy else EXIT_PROBLEM
