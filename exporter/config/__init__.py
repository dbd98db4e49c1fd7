"""One typed config: YAML file (or defaults), validated once into frozen dataclasses."""

from __future__ import annotations

from exporter.config._reader import ConfigError
from exporter.config.load import default_config, load_config, parse_config
from exporter.config.model import (
    AUTO,
    TRANSPORTS,
    CapacityConfig,
    Config,
    DiagnosisConfig,
    Expect,
    KubernetesConfig,
    LeaseConfig,
    LogConfig,
    NameSpec,
    NodeConfig,
    PathsConfig,
    ResolvConfTargets,
    ResolverTarget,
    Server,
    TargetSpec,
    Thresholds,
)

__all__ = [
    "AUTO",
    "TRANSPORTS",
    "CapacityConfig",
    "Config",
    "ConfigError",
    "DiagnosisConfig",
    "Expect",
    "KubernetesConfig",
    "LeaseConfig",
    "LogConfig",
    "NameSpec",
    "NodeConfig",
    "PathsConfig",
    "ResolvConfTargets",
    "ResolverTarget",
    "Server",
    "TargetSpec",
    "Thresholds",
    "default_config",
    "load_config",
    "parse_config",
]
