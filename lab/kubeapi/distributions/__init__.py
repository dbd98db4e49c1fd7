"""Cluster shapes of real distributions, built from their public manifests (``manifests/``).

Each shape names the manifests it starts from (every file says where it came from, at which
commit, and how its placeholders were filled), what it changes in them the way that
distribution does, and what a correct exporter finds on it. ``load`` turns the manifests into
the objects an API server holds once the controllers have run: pods of every Deployment and
DaemonSet (status, conditions, containerStatuses with imageIDs, ownerReferences, nodeName),
the EndpointSlices of every Service (ready/serving/terminating, nodeName, targetRef, the
resolved target ports), DaemonSet status, nodes and metrics.k8s.io.

The lab stands in for the cluster's addresses: the DNS Service's ClusterIP becomes the lab's
``service`` host, the DNS pods the lab's ``pod-N`` hosts, the node cache's link-local address
the lab's ``nodelocal`` host, the ``forward`` targets the lab's upstreams, and every DNS port
the lab's port. Names, labels, namespaces, port names and everything else stay as shipped.

==========================  =====================================================================
shape                       what it is
==========================  =====================================================================
kubeadm                     CoreDNS (coredns.yaml.base), kube-proxy iptables
kubeadm-nodelocal           + NodeLocal DNSCache (nodelocaldns.yaml), iptables mode
kubeadm-nodelocal-ipvs      + NodeLocal DNSCache, IPVS mode (-localip without the kube-dns VIP)
gke-kube-dns                kube-dns (kubedns + dnsmasq + sidecar) with stubDomains; NodeLocal with
                            nodeSelector addon.gke.io/node-local-dns-ds-ready=true, which this
                            node lacks
eks                         the EKS CoreDNS add-on (v1.11.4-eksbuild.2), kube-proxy-config, no
                            metrics-server
aks                         CoreDNS + coredns-autoscaler, coredns-custom with forward.override and
                            a .server, CoreDNS 1.12
aks-localdns                aks, with pods resolving through LocalDNS at 169.254.10.11 (no
                            DaemonSet: a node service)
k3s                         one server node, one replica, coredns-custom by absolute import
rke2                        rke2-coredns chart: Service rke2-coredns-rke2-coredns, udp-53/tcp-53,
                            NodeLocal on the host network
rke2-cilium-lrp             rke2 with Cilium's local redirect policy: NodeLocal pods in the pod
                            network, nothing on 169.254.20.10, no kube-proxy
openshift                   openshift-dns/dns-default: DaemonSet on every node, 53 -> 5353, image
                            by digest, the operator's NetworkPolicies, no kube-proxy
openshift-dnsnameresolver   openshift with the ocp_dnsnameresolver plugin in the Corefile
kubespray                   Service coredns, DaemonSet/ConfigMap nodelocaldns on 169.254.25.10,
                            kube-proxy IPVS
dual-stack                  kubeadm, IPv4+IPv6 Service, 150 endpoints over four EndpointSlices per
                            family, some not ready, some terminating
==========================  =====================================================================
"""

from __future__ import annotations

from lab.kubeapi.distributions.build import Loaded, load
from lab.kubeapi.distributions.shapes import HEALTHY, SHAPES, Shape

__all__ = ["HEALTHY", "SHAPES", "Loaded", "Shape", "load"]
