"""Where the API server is and how to authenticate: the pod's service account, or a kubeconfig.

Only what a bearer token or a client certificate needs is read; kubeconfig
``exec`` and ``auth-provider`` plugins (cloud logins) are refused with a clear
error, because they would run programs the node agent has no business running.
The token file is re-read on every request, so a rotated service-account token
is picked up.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


class CredentialsError(Exception):
    """The API cannot be reached with what is configured (said in one line)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    server: str
    """``https://host:port`` (a path prefix is kept)."""
    ca_file: str | None = None
    token: str | None = None
    token_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False
    tls_server_name: str | None = None

    def bearer(self) -> str | None:
        if self.token_file:
            try:
                return Path(self.token_file).read_text().strip() or None
            except OSError as exc:
                raise CredentialsError(f"cannot read token file {self.token_file}: {exc.strerror}") from None
        return self.token

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.cert_file and self.key_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context


def in_cluster(environ: Mapping[str, str] = os.environ, account: str = SERVICE_ACCOUNT) -> Credentials:
    host = environ.get("KUBERNETES_SERVICE_HOST", "")
    port = environ.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise CredentialsError("not in a pod: KUBERNETES_SERVICE_HOST/PORT are not set")
    token = os.path.join(account, "token")
    if not os.path.isfile(token):
        raise CredentialsError(f"no service account token at {token} (automountServiceAccountToken off?)")
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return Credentials(server=f"https://{netloc}", ca_file=os.path.join(account, "ca.crt"), token_file=token)


def from_kubeconfig(path: str, context: str | None = None) -> Credentials:
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise CredentialsError(f"cannot read kubeconfig {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise CredentialsError(f"kubeconfig {path} is not YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise CredentialsError(f"kubeconfig {path} is not a mapping")
    name = context or doc.get("current-context")
    if not name:
        raise CredentialsError(f"kubeconfig {path} has no current-context; set kubernetes.context")
    ctx = _named(doc, "contexts", "context", name, path)
    cluster = _named(doc, "clusters", "cluster", ctx.get("cluster"), path)
    user = _named(doc, "users", "user", ctx.get("user"), path) if ctx.get("user") else {}
    for plugin in ("exec", "auth-provider"):
        if plugin in user:
            raise CredentialsError(
                f"kubeconfig user {ctx.get('user')!r} logs in through {plugin!r}, which is not supported "
                "here; use a token, a client certificate or the in-cluster service account"
            )
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith("https://"):
        raise CredentialsError(f"kubeconfig cluster {ctx.get('cluster')!r} has no https:// server")
    base = os.path.dirname(os.path.abspath(path))
    return Credentials(
        server=server.rstrip("/"),
        ca_file=_file_or_data(cluster, "certificate-authority", base),
        token=user.get("token"),
        token_file=_path(user.get("tokenFile"), base),
        cert_file=_file_or_data(user, "client-certificate", base),
        key_file=_file_or_data(user, "client-key", base),
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
        tls_server_name=cluster.get("tls-server-name"),
    )


def _named(doc: dict[str, Any], section: str, key: str, name: Any, path: str) -> dict[str, Any]:
    for entry in doc.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name and isinstance(entry.get(key), dict):
            found: dict[str, Any] = entry[key]
            return found
    raise CredentialsError(f"kubeconfig {path} has no {key} named {name!r}")


def _path(value: Any, base: str) -> str | None:
    if not value:
        return None
    return os.path.join(base, os.path.expanduser(str(value)))


def _file_or_data(section: dict[str, Any], key: str, base: str) -> str | None:
    """A file path for ``key``, writing ``key-data`` (base64 PEM) to a private file if that is given."""
    data = section.get(f"{key}-data")
    if not data:
        return _path(section.get(key), base)
    try:
        pem = base64.b64decode(data, validate=True)
    except ValueError:
        raise CredentialsError(f"kubeconfig {key}-data is not base64") from None
    handle, name = tempfile.mkstemp(prefix="k8s-dns-exporter-", suffix=".pem")
    with os.fdopen(handle, "wb") as out:
        out.write(pem)
    return name
