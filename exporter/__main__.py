"""``python -m exporter`` runs the same command line as ``k8s-dns-exporter``."""

from __future__ import annotations

import sys

from exporter.cli import main

sys.exit(main())
