"""The shapes: which manifests, what each distribution changes in them, and what is there to find."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Objects = list[dict[str, Any]]
Edit = Callable[[Objects], None]

AKS_COREDNS_IMAGE = "mcr.microsoft.com/oss/v2/kubernetes/coredns:v1.12.1"
EKS_COREDNS_IMAGE = "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/coredns:v1.11.4-eksbuild.2"
GKE_NODELOCAL_LABEL = "addon.gke.io/node-local-dns-ds-ready"


@dataclass(frozen=True)
class Shape:
    name: str
    manifests: tuple[str, ...]
    edits: tuple[Edit, ...] = ()
    nodes: int = 3
    node_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    kube_proxy: tuple[str, str, str] | None = ("kube-proxy", "config.conf", "iptables")
    """(ConfigMap, key, mode) of kube-proxy's configuration; ``None``: no kube-proxy ConfigMap."""
    metrics_server: bool = True
    resolver: Literal["service", "nodelocal"] = "service"
    """What the pods' resolv.conf names: the DNS Service, or the node cache (kubelet clusterDNS)."""
    dns: tuple[str, str] = ("kube-system", "kube-dns")
    """The cluster DNS Service (namespace, name) a correct discovery finds."""
    nodelocal: Literal["none", "here", "elsewhere", "localdns", "lrp"] = "none"
    """The node cache of node-1 (this node): none; a NodeLocal DaemonSet pod serving here; a
    DaemonSet whose pods run on other nodes only; an AKS LocalDNS-style node service (no pods);
    Cilium's local redirect policy (NodeLocal pods in the pod network, no link-local address)."""
    endpoints: int = 0
    """Extra endpoints over the DNS pods (dual-stack: 150 in all, in several EndpointSlices)."""
    dual_stack: bool = False
    source: str = ""


def _find(objects: Objects, kind: str, name: str | None = None) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name))


def _corefile(objects: Objects, configmap: str, text: str) -> None:
    _find(objects, "ConfigMap", configmap)["data"]["Corefile"] = text


def ipvs_nodelocal(objects: Objects) -> None:
    """IPVS mode: node-cache listens on the link-local address only (nodelocaldns README)."""
    daemonset = _find(objects, "DaemonSet", "node-local-dns")
    container = daemonset["spec"]["template"]["spec"]["containers"][0]
    container["args"][1] = container["args"][1].split(",")[0]
    data = _find(objects, "ConfigMap", "node-local-dns")["data"]
    service_ip = _find(objects, "Service", "kube-dns")["spec"]["clusterIP"]
    data["Corefile"] = data["Corefile"].replace(f" {service_ip}\n", "\n")


def gke_nodelocal(objects: Objects) -> None:
    """GKE schedules NodeLocal only on nodes it has labelled ready for it."""
    spec = _find(objects, "DaemonSet", "node-local-dns")["spec"]["template"]["spec"]
    spec["nodeSelector"] = {GKE_NODELOCAL_LABEL: "true"}


def eks(objects: Objects) -> None:
    """The EKS add-on: its image and the eks.amazonaws.com/component label on every object."""
    label = {"eks.amazonaws.com/component": "coredns"}
    deployment = _find(objects, "Deployment", "coredns")
    for obj in (deployment, _find(objects, "Service", "kube-dns")):
        obj["metadata"]["labels"].update(label)
    deployment["spec"]["selector"]["matchLabels"].update(label)
    template = deployment["spec"]["template"]
    template["metadata"]["labels"].update(label)
    template["spec"]["containers"][0]["image"] = EKS_COREDNS_IMAGE
    _corefile(
        objects,
        "coredns",
        ".:53 {\n    errors\n    health {\n        lameduck 5s\n      }\n    ready\n"
        "    kubernetes cluster.local in-addr.arpa ip6.arpa {\n      pods insecure\n"
        "      fallthrough in-addr.arpa ip6.arpa\n    }\n    prometheus :9153\n"
        "    forward . /etc/resolv.conf\n    cache 30\n    loop\n    reload\n    loadbalance\n}\n",
    )


AKS_COREFILE = """.:53 {
    errors
    ready
    health {
      lameduck 5s
    }
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
      ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
    import custom/*.override
}
import custom/*.server
"""


def aks(objects: Objects) -> None:
    """AKS: its Corefile importing coredns-custom, the custom volume, CoreDNS 1.12, the autoscaler."""
    _corefile(objects, "coredns", AKS_COREFILE)
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "coredns-custom", "namespace": "kube-system"},
            "data": {
                "forward.override": "forward corp.internal 10.1.0.4\n",
                # The on-premises zone its forwarder serves (the lab's private zone behind 10.1.0.4).
                "onprem.server": "corp.internal:53 {\n    errors\n    cache 30\n    forward . 10.1.0.4\n}\n",
            },
        }
    )
    deployment = _find(objects, "Deployment", "coredns")
    deployment["metadata"]["labels"]["version"] = "v20"
    spec = deployment["spec"]["template"]["spec"]
    container = spec["containers"][0]
    container["image"] = AKS_COREDNS_IMAGE
    container["volumeMounts"].append(
        {"name": "custom-config-volume", "mountPath": "/etc/coredns/custom", "readOnly": True}
    )
    spec["volumes"].append(
        {"name": "custom-config-volume", "configMap": {"name": "coredns-custom", "optional": True}}
    )
    objects.append(_autoscaler())


def _autoscaler() -> dict[str, Any]:
    labels = {"k8s-app": "coredns-autoscaler"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "coredns-autoscaler", "namespace": "kube-system", "labels": dict(labels)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "serviceAccountName": "coredns-autoscaler",
                    "priorityClassName": "system-node-critical",
                    "containers": [
                        {
                            "name": "autoscaler",
                            "image": "mcr.microsoft.com/oss/v2/kubernetes/autoscaler/cluster-proportional-autoscaler:v1.8.11",
                            "command": [
                                "/cluster-proportional-autoscaler",
                                "--namespace=kube-system",
                                "--configmap=coredns-autoscaler",
                                "--target=deployment/coredns",
                                '--default-params={"ladder":{"coresToReplicas":[[1,2],[512,3]],"nodesToReplicas":[[1,2],[8,3]]}}',
                                "--logtostderr=true",
                                "--v=2",
                            ],
                            "resources": {"requests": {"cpu": "20m", "memory": "10Mi"}},
                        }
                    ],
                },
            },
        },
    }


def k3s_single_node(objects: Objects) -> None:
    """k3s writes the node's address into NodeHosts."""
    _find(objects, "ConfigMap", "coredns")["data"]["NodeHosts"] = "10.0.0.11 node-1\n"


def cilium_lrp(objects: Objects) -> None:
    """rke2-coredns with nodelocal.use_cilium_lrp: the node-cache pods stay in the pod network, set
    up no interface and no iptables, and Cilium redirects the kube-dns VIP to this node's pod."""
    spec = _find(objects, "DaemonSet", "node-local-dns")["spec"]["template"]["spec"]
    spec["hostNetwork"] = False
    spec.pop("initContainers", None)
    container = spec["containers"][0]
    container["args"] += ["-skipteardown=true", "-setupinterface=false", "-setupiptables=false"]
    container["livenessProbe"]["httpGet"].pop("host", None)
    container["volumeMounts"] = [m for m in container["volumeMounts"] if m["name"] != "xtables-lock"]


DNSNAMERESOLVER = """    ocp_dnsnameresolver {
        namespaces openshift-ovn-kubernetes
    }
"""


def ocp_dnsnameresolver(objects: Objects) -> None:
    """The Corefile the operator writes with the DNSNameResolver feature on
    (pkg/operator/controller/testdata/default_corefile_ocp_dnsnameresolver)."""
    data = _find(objects, "ConfigMap", "dns-default")["data"]
    data["Corefile"] = data["Corefile"].replace("    reload\n}", "    reload\n" + DNSNAMERESOLVER + "}", 1)


def dual_stack(objects: Objects) -> None:
    spec = _find(objects, "Service", "kube-dns")["spec"]
    spec["clusterIPs"] = [spec["clusterIP"], "fd00:10:96::a"]
    spec["ipFamilies"] = ["IPv4", "IPv6"]
    spec["ipFamilyPolicy"] = "RequireDualStack"


KUBEADM = ("kubeadm-coredns.yaml",)
NODELOCAL = ("kubeadm-coredns.yaml", "nodelocaldns.yaml")

SHAPES: dict[str, Shape] = {
    s.name: s
    for s in (
        Shape("kubeadm", KUBEADM, source="kubernetes/kubernetes coredns.yaml.base"),
        Shape("kubeadm-nodelocal", NODELOCAL, nodelocal="here", source="+ nodelocaldns.yaml"),
        Shape(
            "kubeadm-nodelocal-ipvs",
            NODELOCAL,
            (ipvs_nodelocal,),
            kube_proxy=("kube-proxy", "config.conf", "ipvs"),
            nodelocal="here",
        ),
        Shape(
            "gke-kube-dns",
            ("kube-dns.yaml", "nodelocaldns.yaml"),
            (gke_nodelocal,),
            node_labels={"node-2": {GKE_NODELOCAL_LABEL: "true"}, "node-3": {GKE_NODELOCAL_LABEL: "true"}},
            nodelocal="elsewhere",
        ),
        Shape(
            "eks",
            KUBEADM,
            (eks,),
            kube_proxy=("kube-proxy-config", "config", "iptables"),
            metrics_server=False,
        ),
        Shape("aks", KUBEADM, (aks,)),
        Shape("aks-localdns", KUBEADM, (aks,), resolver="nodelocal", nodelocal="localdns"),
        Shape("k3s", ("k3s-coredns.yaml",), (k3s_single_node,), nodes=1, kube_proxy=None),
        Shape(
            "rke2",
            ("rke2-coredns.yaml",),
            kube_proxy=None,
            dns=("kube-system", "rke2-coredns-rke2-coredns"),
            nodelocal="here",
        ),
        Shape(
            "rke2-cilium-lrp",
            ("rke2-coredns.yaml",),
            (cilium_lrp,),
            kube_proxy=None,
            dns=("kube-system", "rke2-coredns-rke2-coredns"),
            nodelocal="lrp",
        ),
        Shape(
            "openshift",
            ("openshift-dns.yaml",),
            nodes=2,
            kube_proxy=None,
            dns=("openshift-dns", "dns-default"),
        ),
        Shape(
            "openshift-dnsnameresolver",
            ("openshift-dns.yaml",),
            (ocp_dnsnameresolver,),
            nodes=2,
            kube_proxy=None,
            dns=("openshift-dns", "dns-default"),
        ),
        Shape(
            "kubespray",
            ("kubespray.yaml",),
            kube_proxy=("kube-proxy", "config.conf", "ipvs"),
            resolver="nodelocal",
            dns=("kube-system", "coredns"),
            nodelocal="here",
        ),
        Shape("dual-stack", KUBEADM, (dual_stack,), endpoints=148, dual_stack=True),
    )
}

HEALTHY = tuple(name for name, shape in SHAPES.items() if not shape.dual_stack)
"""The shapes a lab can answer in full (dual-stack's 150 endpoints are checked by discovery alone)."""
