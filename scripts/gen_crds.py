#!/usr/bin/env python3
"""Writes config/deploy/crds/: stand-ins for Calico's and Cilium's CRDs, with structural
OpenAPI v3 schemas for every kind Palisade reads, as Calico's (libcalico-go/config/crd) and
Cilium's (pkg/k8s/apis/cilium.io/client/crds/v2) own CRDs have them. The API server then
refuses a mistyped field (`order: first`, a port list that is a string) and prunes an unknown
one, which `kubectl apply` refuses before it is sent (its client-side validation); what a
schema cannot say (ports without a protocol, an entity Palisade does not support) is caught by
Palisade's decoder, which rejects the object with its field.

The schemas are written once here, so that the rule and the kinds that share it (a Calico
rule in four policy kinds, a label selector in every Cilium peer) cannot drift apart.
Usage: gen_crds.py [--check] [OUT_DIR]   (--check: exit 1 when the files differ)"""
import pathlib
import sys

import yaml


def string(**extra):
    return {"type": "string", **extra}


def integer(**extra):
    return {"type": "integer", **extra}


def boolean():
    return {"type": "boolean"}


def number():
    return {"type": "number"}


def array(items, **extra):
    return {"type": "array", "items": items, **extra}


def obj(properties, required=None, **extra):
    out = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    out.update(extra)
    return out


def string_map():
    return {"type": "object", "additionalProperties": {"type": "string"}}


def int_or_string():
    return {"x-kubernetes-int-or-string": True,
            "anyOf": [{"type": "integer"}, {"type": "string"}]}


def free_object():
    """A field Palisade rejects as unsupported whatever it holds: kept whole, so that the
    decoder sees it and names it (pruning it would enforce the object without it)."""
    return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


# --- Calico (crd.projectcalico.org/v1; projectcalico.org/v3 has the same spec) -----------

def calico_entity_rule():
    ports = array(int_or_string())
    return obj({
        "nets": array(string()), "notNets": array(string()),
        "selector": string(), "notSelector": string(), "namespaceSelector": string(),
        "ports": ports, "notPorts": ports,
        "serviceAccounts": obj({"names": array(string()), "selector": string()}),
        "services": obj({"name": string(), "namespace": string()}),
    })


def calico_icmp():
    return obj({"type": integer(minimum=0, maximum=254), "code": integer(minimum=0, maximum=255)})


def calico_rule():
    return obj({
        "action": string(enum=["Allow", "Deny", "Log", "Pass"]),
        "protocol": int_or_string(), "notProtocol": int_or_string(),
        "icmp": calico_icmp(), "notICMP": calico_icmp(),
        "ipVersion": integer(enum=[4, 6]),
        "source": calico_entity_rule(), "destination": calico_entity_rule(),
        "http": obj({"methods": array(string()),
                     "paths": array(obj({"exact": string(), "prefix": string()}))}),
        "metadata": obj({"annotations": string_map()}),
    }, required=["action"])


def calico_policy_spec(global_policy):
    spec = {
        "order": number(), "tier": string(), "selector": string(),
        "serviceAccountSelector": string(),
        "types": array(string(enum=["Ingress", "Egress"])),
        "ingress": array(calico_rule()), "egress": array(calico_rule()),
        "performanceHints": array(string()),
    }
    if global_policy:
        spec.update({"namespaceSelector": string(), "doNotTrack": boolean(),
                     "preDNAT": boolean(), "applyOnForward": boolean()})
    return obj(spec)


def staged(spec):
    spec = {"type": "object", "properties": dict(spec["properties"])}
    spec["properties"]["stagedAction"] = string(enum=["Set", "Delete", "Learn", "Ignore"])
    return spec


# --- Kubernetes NetworkPolicy, for Calico's StagedKubernetesNetworkPolicy ----------------

def label_selector():
    # nullable: an empty value (`reserved:host: ''`, as Cilium's docs write the host entity)
    # reaches a v1.20 API server's validation of a map as null, and would be refused.
    label_value = string(maxLength=63, pattern=r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$",
                         nullable=True)
    return obj({
        "matchLabels": {"type": "object", "additionalProperties": label_value},
        "matchExpressions": array(obj({
            "key": string(),
            "operator": string(enum=["In", "NotIn", "Exists", "DoesNotExist"]),
            "values": array(string()),
        }, required=["key", "operator"])),
    })


def k8s_policy_spec():
    port = obj({"protocol": string(enum=["TCP", "UDP", "SCTP"]), "port": int_or_string(),
                "endPort": integer()})
    peer = obj({"podSelector": label_selector(), "namespaceSelector": label_selector(),
                "ipBlock": obj({"cidr": string(), "except": array(string())},
                               required=["cidr"])})
    return obj({
        "podSelector": label_selector(),
        "policyTypes": array(string(enum=["Ingress", "Egress"])),
        "ingress": array(obj({"from": array(peer), "ports": array(port)})),
        "egress": array(obj({"to": array(peer), "ports": array(port)})),
    })


# --- Cilium (cilium.io/v2) ---------------------------------------------------------------

ENTITIES = ["all", "world", "cluster", "host", "init", "ingress", "unmanaged", "remote-node",
            "health", "none", "kube-apiserver"]


def cilium_port_rule():
    dns = array(obj({"matchName": string(), "matchPattern": string()}))
    return obj({
        "ports": array(obj({
            "port": string(pattern=r"^(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}"
                                   r"|[1-5][0-9]{4}|[0-9]{1,4})|([a-zA-Z0-9]-?)*[a-zA-Z](-?[a-zA-Z0-9])*$"),
            "endPort": integer(minimum=0, maximum=65535),
            "protocol": string(enum=["TCP", "UDP", "SCTP", "ICMP", "ICMPV6", "ANY"]),
        }, required=["port"])),
        "rules": obj({
            "http": array(obj({
                "method": string(), "path": string(), "host": string(),
                "headers": array(string()),
                "headerMatches": array(obj({
                    "name": string(), "value": string(),
                    "mismatch": string(enum=["LOG", "ADD", "DELETE", "REPLACE"]),
                    "secret": obj({"name": string(), "namespace": string()}, required=["name"]),
                }, required=["name"])),
            })),
            "dns": dns,
            "kafka": array(free_object()),
            "l7proto": string(),
            "l7": array(string_map()),
        }),
        "serverNames": array(string()),
        "terminatingTLS": free_object(), "originatingTLS": free_object(),
        "listener": free_object(),
    })


def cilium_icmps():
    return array(obj({"fields": array(obj({
        "type": int_or_string(), "family": string(enum=["IPv4", "IPv6"]),
    }, required=["type"]))}))


def cilium_cidr_set():
    return array(obj({"cidr": string(), "except": array(string()), "cidrGroupRef": string()}))


def cilium_peer_rule(direction, deny):
    side = "from" if direction == "ingress" else "to"
    rule = {
        side + "Endpoints": array(label_selector()),
        side + "Requires": array(label_selector()),
        side + "CIDR": array(string()),
        side + "CIDRSet": cilium_cidr_set(),
        side + "Entities": array(string(enum=ENTITIES)),
        side + "Groups": array(free_object()),
        side + "Nodes": array(label_selector()),
        "toPorts": array(cilium_port_rule()),
        "icmps": cilium_icmps(),
    }
    if not deny:
        rule["authentication"] = obj({"mode": string(enum=["disabled", "required",
                                                           "test-always-fail"])})
    if direction == "egress":
        rule["toServices"] = array(free_object())
        if not deny:
            rule["toFQDNs"] = array(obj({"matchName": string(), "matchPattern": string()}))
    return obj(rule)


def cilium_rule():
    return obj({
        "endpointSelector": label_selector(),
        "nodeSelector": label_selector(),
        "ingress": array(cilium_peer_rule("ingress", False)),
        "ingressDeny": array(cilium_peer_rule("ingress", True)),
        "egress": array(cilium_peer_rule("egress", False)),
        "egressDeny": array(cilium_peer_rule("egress", True)),
        "labels": array(obj({"key": string(), "value": string(), "source": string()},
                            required=["key"])),
        "description": string(),
        "enableDefaultDeny": obj({"ingress": boolean(), "egress": boolean()}),
    })


# --- The CRDs ------------------------------------------------------------------------------

def crd(group, kind, plural, scope, version, spec_schema, short_names=None, extra=None,
        status=False, note=""):
    properties = {"apiVersion": string(), "kind": string(), "metadata": {"type": "object"}}
    properties.update(extra or {"spec": spec_schema})
    if status:
        properties["status"] = free_object()
    names = {"kind": kind, "listKind": kind + "List", "plural": plural,
             "singular": kind.lower()}
    if short_names:
        names["shortNames"] = short_names
    version_entry = {"name": version, "served": True, "storage": True,
                     "schema": {"openAPIV3Schema": {"type": "object", "properties": properties}}}
    if status:
        version_entry["subresources"] = {"status": {}}
    doc = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": f"{plural}.{group}"},
           "spec": {"group": group, "names": names, "scope": scope, "versions": [version_entry]}}
    owner = "Calico" if "calico" in group else "Cilium"
    header = (f"# {kind} ({group}/{version}), {scope.lower()}: a stand-in for {owner}'s own CRD,\n"
              f"# with a schema of the same fields, so that a cluster without {owner} (and\n"
              f"# scripts/kube-apiserver.sh) can hold these objects. A cluster running {owner}\n"
              f"# already has this CRD: do not apply this file there. See config/deploy/README.md.\n"
              + note +
              "# Written by scripts/gen_crds.py: edit that, not this.\n")
    return f"{group}_{plural}.yaml", header + yaml.safe_dump(doc, sort_keys=False, width=100)


def all_crds():
    calico = "crd.projectcalico.org"
    prune = ("# Unknown fields are pruned by the API server; `kubectl apply` refuses them first.\n")
    np = calico_policy_spec(False)
    gnp = calico_policy_spec(True)
    out = [
        crd(calico, "NetworkPolicy", "networkpolicies", "Namespaced", "v1", np, note=prune),
        crd(calico, "GlobalNetworkPolicy", "globalnetworkpolicies", "Cluster", "v1", gnp,
            note=prune),
        crd(calico, "StagedNetworkPolicy", "stagednetworkpolicies", "Namespaced", "v1",
            staged(np), note=prune),
        crd(calico, "StagedGlobalNetworkPolicy", "stagedglobalnetworkpolicies", "Cluster", "v1",
            staged(gnp), note=prune),
        crd(calico, "StagedKubernetesNetworkPolicy", "stagedkubernetesnetworkpolicies",
            "Namespaced", "v1", staged(k8s_policy_spec()), note=prune),
        crd(calico, "Tier", "tiers", "Cluster", "v1",
            obj({"order": number(), "defaultAction": string(enum=["Deny", "Pass"])}),
            note=prune),
        crd(calico, "NetworkSet", "networksets", "Namespaced", "v1",
            obj({"nets": array(string())}), note=prune),
        crd(calico, "GlobalNetworkSet", "globalnetworksets", "Cluster", "v1",
            obj({"nets": array(string()), "allowedEgressDomains": array(string())}),
            note=prune),
        crd(calico, "HostEndpoint", "hostendpoints", "Cluster", "v1",
            obj({"node": string(), "interfaceName": string(), "expectedIPs": array(string()),
                 "profiles": array(string()),
                 "ports": array(obj({"name": string(), "port": integer(minimum=0, maximum=65535),
                                     "protocol": int_or_string()}, required=["name", "port"]))}),
            note=prune),
    ]
    cilium_fields = {"spec": cilium_rule(), "specs": array(cilium_rule())}
    for kind, plural, scope, short in (
            ("CiliumNetworkPolicy", "ciliumnetworkpolicies", "Namespaced", ["cnp", "ciliumnp"]),
            ("CiliumClusterwideNetworkPolicy", "ciliumclusterwidenetworkpolicies", "Cluster",
             ["ccnp"])):
        out.append(crd("cilium.io", kind, plural, scope, "v2", None, short_names=short,
                       extra=cilium_fields, status=True,
                       note=prune + "# status is the agents' (a subresource, as in Cilium's).\n"))
    return out


def main() -> int:
    args = sys.argv[1:]
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    out_dir = pathlib.Path(args[0]) if args else \
        pathlib.Path(__file__).resolve().parent.parent / "config/deploy/crds"
    stale = []
    for name, text in all_crds():
        path = out_dir / name
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            path.write_text(text)
    for p in stale:
        print(f"{p}: not what scripts/gen_crds.py writes (run it)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
