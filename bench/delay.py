"""The delay server (bench/delay_server.c): compiled at run time, started on loopback addresses."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "delay_server.c"


def build(workdir: Path) -> Path:
    """Compile the server with the system C compiler into ``workdir``."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise RuntimeError("no C compiler (cc): apt-get install gcc")
    binary = workdir / "delay_server"
    subprocess.run([compiler, "-O2", "-o", str(binary), str(SOURCE)], check=True)  # noqa: S603
    return binary


@dataclass
class DelayServer:
    binary: Path
    port: int
    delay_us: int
    addresses: Sequence[str]
    held: dict[str, float] = field(default_factory=dict)
    """After stop: ``replies``, ``held_p50_us``, ``held_max_us`` as the server counted them."""

    def truth_us(self, count: int = 1000, address: str | None = None) -> float:
        """The median round trip a precise client sees: the delay plus loopback (bench/delay_server.c)."""
        out = subprocess.run(  # noqa: S603 - our own binary
            [str(self.binary), "probe", address or self.addresses[0], str(self.port), str(count)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return _fields(out)["rtt_p50_us"]


@contextmanager
def delay_server(
    binary: Path, port: int, delay_us: int, addresses: Sequence[str], *, cpus: str | None = None
) -> Iterator[DelayServer]:
    command = [str(binary), "serve", str(port), str(delay_us), *addresses]
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        process.kill()
        raise RuntimeError("the delay server did not start")
    server = DelayServer(binary, port, delay_us, addresses)
    try:
        yield server
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
        server.held = _fields(out)


def _fields(text: str) -> dict[str, float]:
    words = text.split()
    return {key: float(value) for key, value in zip(words[::2], words[1::2], strict=False)}
