"""deploy/: every overlay renders with `kubectl kustomize` into objects valid for Kubernetes, shaped as promised."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions

from exporter import __version__
from exporter.config import Config
from lab.shipped import DEPLOY, NAMESPACE
from tests.conftest import REPO
from tests.deploy.shipped import OVERLAYS, find, one, render

CUSTOM = {"monitoring.coreos.com/v1", "security.openshift.io/v1"}
"""API groups of custom resources: not in the Kubernetes schemas, checked by hand below."""
VERSIONS = (all_versions()[0], all_versions()[-1])
"""The oldest and newest Kubernetes versions kubernetes-validate carries schemas for."""
WORKLOADS = (("DaemonSet", "k8s-dns-exporter-node"), ("Deployment", "k8s-dns-exporter-cluster"))
PORT = Config().listen[1]

overlays = pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)


README_SNIPPET = "# appended to deploy/overlays/prometheus-operator/kustomization.yaml\n"


@pytest.fixture(scope="module")
def combined(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], ...]:
    """The Operator overlay with the README's addition: a `release` label."""
    readme = (REPO / "README.md").read_text()
    start = readme.index(README_SNIPPET) + len(README_SNIPPET)
    snippet = readme[start : readme.index("```", start)]
    copy = tmp_path_factory.mktemp("checkout") / "deploy"
    shutil.copytree(DEPLOY, copy, ignore=shutil.ignore_patterns("__pycache__"))
    kustomization = copy / "overlays" / "prometheus-operator" / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + snippet)
    return render(kustomization.parent)


def test_there_are_the_two_overlays() -> None:
    assert [p.name for p in OVERLAYS] == ["openshift", "plain-prometheus", "prometheus-operator"]


@overlays
def test_overlay_renders_unique_objects_in_known_namespaces(overlay: Path) -> None:
    objects = render(overlay)
    keys = [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects]
    assert len(keys) == len(set(keys))
    namespaces = {o["metadata"].get("namespace") for o in objects} - {None}
    assert namespaces == {NAMESPACE, "kube-system"}
    in_kube_system = {(k, n) for k, ns, n in keys if ns == "kube-system"}
    assert {kind for kind, _ in in_kube_system} == {"Role", "RoleBinding"}, "nothing but read access there"


@overlays
@pytest.mark.parametrize("version", VERSIONS)
def test_objects_are_valid_kubernetes_objects(overlay: Path, version: str) -> None:
    for obj in render(overlay):
        if obj["apiVersion"] in CUSTOM:
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(map(str, exc.path))
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']} at {where}: {exc.message}")


@overlays
def test_custom_resources_only_in_the_operator_overlay(overlay: Path) -> None:
    kinds = sorted(o["kind"] for o in render(overlay) if o["apiVersion"] in CUSTOM)
    expected = {
        "prometheus-operator": ["PodMonitor", "PrometheusRule"],
        "openshift": ["PodMonitor", "PrometheusRule", "SecurityContextConstraints"],
    }
    assert kinds == expected.get(overlay.name, [])


def _pod_templates(objects: tuple[dict[str, Any], ...]) -> dict[str, dict[str, Any]]:
    return {name: one(objects, kind, name)["spec"]["template"] for kind, name in WORKLOADS}


def test_pod_monitor_scrapes_every_exporter_pod_and_labels_the_node() -> None:
    objects = render(DEPLOY / "overlays" / "prometheus-operator")
    monitor = one(objects, "PodMonitor", "k8s-dns-exporter")
    assert monitor["metadata"]["namespace"] == NAMESPACE
    spec = monitor["spec"]
    assert set(spec) <= {"selector", "podMetricsEndpoints", "namespaceSelector", "jobLabel"}
    selector = spec["selector"]["matchLabels"]
    for name, template in _pod_templates(objects).items():
        labels = template["metadata"]["labels"]
        assert selector.items() <= labels.items(), f"the PodMonitor does not select {name}"
        ports = {p["name"]: p["containerPort"] for c in template["spec"]["containers"] for p in c["ports"]}
        for endpoint in spec["podMetricsEndpoints"]:
            assert ports.get(endpoint["port"]) == PORT, f"{name} has no port {endpoint['port']}"
    (endpoint,) = spec["podMetricsEndpoints"]
    assert endpoint["path"] == "/metrics"
    assert {
        "action": "replace",
        "sourceLabels": ["__meta_kubernetes_pod_node_name"],
        "targetLabel": "node",
    } in endpoint["relabelings"]
    # The job label is <namespace>/<name>; the shipped alerts select job=~".*k8s-dns-exporter.*".
    assert "k8s-dns-exporter" in monitor["metadata"]["name"]


def test_prometheus_rule_has_the_shape_the_operator_expects(tmp_path: Path) -> None:
    rule = one(render(DEPLOY / "overlays" / "prometheus-operator"), "PrometheusRule", "k8s-dns-exporter")
    assert set(rule["spec"]) == {"groups"}
    for group in rule["spec"]["groups"]:
        assert set(group) <= {"name", "interval", "rules"}, group.get("name")
        assert group["rules"], group.get("name")
        for entry in group["rules"]:
            assert ("record" in entry) != ("alert" in entry)
            assert isinstance(entry["expr"], str)
    rules = tmp_path / "spec.rules.yml"
    rules.write_text(yaml.safe_dump(rule["spec"]))
    result = subprocess.run(
        ["promtool", "check", "rules", str(rules)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_daemonset_is_in_the_pod_network_with_the_host_mounted_read_only() -> None:
    for overlay in OVERLAYS:
        pod = one(render(overlay), "DaemonSet", "k8s-dns-exporter-node")["spec"]["template"]["spec"]
        assert not pod.get("hostNetwork", False)
        assert not pod.get("hostPID", False)
        assert pod["dnsPolicy"] == "ClusterFirst"
        assert {"operator": "Exists"} in pod["tolerations"], "tolerates every taint"
        host = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
        assert sorted(host.values()) == ["/", "/proc"]
        (container,) = pod["containers"]
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert {mounts[n]["mountPath"]: p for n, p in host.items()} == {"/host/proc": "/proc", "/host": "/"}
        assert all(mounts[name].get("readOnly") is True for name in host)
        env = {e["name"]: e for e in container["env"]}
        assert env["NODE_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}


def _security(pod: dict[str, Any], container: dict[str, Any]) -> dict[str, Any]:
    """The effective security settings: the container's over the pod's."""
    return {**pod.get("securityContext", {}), **container.get("securityContext", {})}


@pytest.mark.parametrize(("kind", "name"), WORKLOADS)
def test_every_container_has_resources_probes_and_a_locked_down_security_context(
    kind: str, name: str
) -> None:
    for overlay in OVERLAYS:
        pod = one(render(overlay), kind, name)["spec"]["template"]["spec"]
        assert pod.get("initContainers", []) == []
        for container in pod["containers"]:
            where = f"{overlay.name}: {kind}/{name} {container['name']}"
            resources = container["resources"]
            assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}, where
            assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}, where
            assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}, where
            assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"metrics": PORT}, where
            assert container["args"] == ["serve"], where
            env = {e["name"]: e.get("value") for e in container["env"]}
            config_volume = next(v for v in pod["volumes"] if v["name"] == "config")
            mount = next(m for m in container["volumeMounts"] if m["name"] == "config")
            assert env["K8S_DNS_EXPORTER_CONFIG"] == f"{mount['mountPath']}/config.yaml", where
            assert config_volume["configMap"]["name"].startswith(name + "-"), where
            security = _security(pod, container)
            assert security["runAsNonRoot"] is True, where
            assert isinstance(security["runAsUser"], int), where
            assert security["runAsUser"] > 0, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"] == {"drop": ["ALL"]}, where
            assert security["seccompProfile"] == {"type": "RuntimeDefault"}, where
            assert security.get("privileged", False) is False, where


def test_cluster_instance_runs_two_replicas_with_the_node_resolv_conf() -> None:
    objects = render(DEPLOY / "base")
    deployment = one(objects, "Deployment", "k8s-dns-exporter-cluster")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["template"]["spec"]["dnsPolicy"] == "Default"
    assert one(objects, "PodDisruptionBudget", "k8s-dns-exporter-cluster")["spec"]["minAvailable"] == 1


def test_services_headless_for_the_node_agents_and_normal_for_the_cluster_instance() -> None:
    objects = render(DEPLOY / "base")
    templates = _pod_templates(objects)
    node, cluster = (
        one(objects, "Service", "k8s-dns-exporter-node"),
        one(objects, "Service", "k8s-dns-exporter-cluster"),
    )
    assert node["spec"]["clusterIP"] == "None"
    assert cluster["spec"].get("clusterIP") is None
    assert cluster["spec"]["type"] == "ClusterIP"
    for service, workload in ((node, "k8s-dns-exporter-node"), (cluster, "k8s-dns-exporter-cluster")):
        labels = templates[workload]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items()
        other = templates[({w for _, w in WORKLOADS} - {workload}).pop()]["metadata"]["labels"]
        assert not service["spec"]["selector"].items() <= other.items(), "each Service selects one workload"
        assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(PORT, "metrics")]


def test_image_and_version_label_follow_the_package_version() -> None:
    for overlay in OVERLAYS:
        for kind, name in WORKLOADS:
            obj = one(render(overlay), kind, name)
            (container,) = obj["spec"]["template"]["spec"]["containers"]
            assert container["image"] == f"k8s-dns-exporter:{__version__}"
            assert obj["metadata"]["labels"]["app.kubernetes.io/version"] == __version__


def test_plain_prometheus_overlay_annotates_the_pods_for_scraping() -> None:
    objects = render(DEPLOY / "overlays" / "plain-prometheus")
    for name, template in _pod_templates(objects).items():
        assert template["metadata"]["annotations"] == {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(PORT),
            "prometheus.io/path": "/metrics",
        }, name
    for obj in objects:
        if obj["kind"] not in ("DaemonSet", "Deployment"):
            assert "prometheus.io/scrape" not in obj["metadata"].get("annotations", {}), obj["kind"]


def test_readme_label_addition_reaches_the_monitor_and_the_rules(
    combined: tuple[dict[str, Any], ...],
) -> None:
    (monitor,) = find(combined, "PodMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    (rule,) = find(combined, "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_daemonset_lands_only_on_linux_nodes_that_run_pods_and_is_not_preempted_first() -> None:
    for overlay in OVERLAYS:
        objects = render(overlay)
        pod = one(objects, "DaemonSet", "k8s-dns-exporter-node")["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"}
        (term,) = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
            "nodeSelectorTerms"
        ]
        excluded = {e["key"]: set(e["values"]) for e in term["matchExpressions"] if e["operator"] == "NotIn"}
        assert excluded == {"type": {"virtual-kubelet"}, "eks.amazonaws.com/compute-type": {"fargate"}}
        # A node like a Fargate one carries the label and is excluded; an ordinary node matches.
        fargate = {"kubernetes.io/os": "linux", "eks.amazonaws.com/compute-type": "fargate"}
        assert any(fargate.get(key) in values for key, values in excluded.items())
        ordinary = {"kubernetes.io/os": "linux", "type": "worker"}
        assert not any(ordinary.get(key) in values for key, values in excluded.items())
        priority = one(objects, "PriorityClass", pod["priorityClassName"])
        assert 0 < priority["value"] < 1_000_000_000, "above workloads, below the system classes"
        assert priority["globalDefault"] is False


def test_openshift_scc_admits_both_workloads_as_rendered_and_nothing_more() -> None:
    """What OpenShift's SCC admission checks, on the pods the overlay renders: the fixed UID, the
    volume types, no privilege, no host namespaces, capabilities dropped, seccomp, read-only root."""
    objects = render(DEPLOY / "overlays" / "openshift")
    scc = one(objects, "SecurityContextConstraints", "k8s-dns-exporter")
    assert scc["allowPrivilegedContainer"] is False
    assert scc["allowPrivilegeEscalation"] is False
    assert not any(scc[f"allowHost{k}"] for k in ("IPC", "Network", "PID", "Ports"))
    assert scc["runAsUser"]["type"] == "MustRunAs"
    for name, template in _pod_templates(objects).items():
        pod = template["spec"]
        assert not any(pod.get(key) for key in ("hostNetwork", "hostPID", "hostIPC")), name
        kinds = {key for volume in pod["volumes"] for key in volume if key != "name"}
        assert kinds <= set(scc["volumes"]), (name, kinds)
        if "hostPath" in kinds:
            assert scc["allowHostDirVolumePlugin"] is True
        for container in pod["containers"]:
            security = _security(pod, container)
            assert security["runAsUser"] == scc["runAsUser"]["uid"], name
            assert security["capabilities"]["drop"] == scc["requiredDropCapabilities"], name
            assert security["readOnlyRootFilesystem"] is scc["readOnlyRootFilesystem"], name
            assert "runtime/default" in scc["seccompProfiles"], name
            assert security["seccompProfile"] == {"type": "RuntimeDefault"}, name
            assert not security.get("privileged", False), name
    node = one(objects, "DaemonSet", "k8s-dns-exporter-node")["spec"]["template"]["spec"]
    assert node["securityContext"]["seLinuxOptions"] == {"type": "spc_t"}
    assert scc["seLinuxContext"]["type"] == "RunAsAny"
