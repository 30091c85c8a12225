#!/usr/bin/env python3
"""The CRDs of config/deploy/crds/ against a real API server (already holding them):

1. Every policy object of the guides' manifests (../shared/spec/seed-policies/ and the
   conformance scenarios made from them, tests/conformance/seed*.yaml) that Calico or Cilium
   accepts is accepted (kubectl's client-side validation, then the server's, with --dry-run=server):
   Calico's projectcalico.org/v3 objects are sent as crd.projectcalico.org/v1, the same
   schema. The one the guides got wrong in a way Calico's own schema refuses is refused, with
   the field: guide 000's allow-monitoring-access writes a rule's namespaceSelector as a map
   (Calico's CRD: `type: string`).
2. Objects with an unknown field are refused by kubectl before they are sent, and objects
   with a mistyped field or a value outside an enum are refused by the server itself
   (--validate=false, so that kubectl's own check is out of the way).
Usage: crd_schema_check.py KUBECTL KUBECONFIG FILE|DIR...   (a scenario file's objects count)"""
import pathlib
import subprocess
import sys

import yaml

POLICY_KINDS = {"NetworkPolicy", "GlobalNetworkPolicy", "Tier", "NetworkSet", "GlobalNetworkSet",
                "HostEndpoint", "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"}


def refusal_expected(doc: dict):
    """What the refusal of a seed object must name, when Calico's own CRD refuses it too;
    None when it must be accepted."""
    def walk(node):
        if isinstance(node, dict):
            yield node
            for v in node.values():
                yield from walk(v)
        elif isinstance(node, list):
            for v in node:
                yield from walk(v)
    for node in walk(doc.get("spec")):
        if doc["apiVersion"].startswith("crd.projectcalico.org") and \
                isinstance(node.get("namespaceSelector"), dict):
            return "namespaceSelector"
    return None


CNP = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
       "metadata": {"name": "schema-check", "namespace": "default"},
       "spec": {"endpointSelector": {"matchLabels": {"app": "db"}},
                "egress": [{"toEntities": ["world"],
                            "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]}]}}
GNP = {"apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkPolicy",
       "metadata": {"name": "schema-check"},
       "spec": {"order": 10, "selector": "app == 'db'",
                "ingress": [{"action": "Deny", "source": {"nets": ["10.0.0.0/8"]}}]}}


def edited(base: dict, path: list, value) -> dict:
    """A deep copy of base with the dict at path[:-1] given key path[-1] = value, or, when
    value is DELETE, without that key."""
    out = yaml.safe_load(yaml.safe_dump(base))
    node = out
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


DELETE = object()


def renamed(base: dict, path: list, new_name: str) -> dict:
    out = yaml.safe_load(yaml.safe_dump(base))
    node = out
    for key in path[:-1]:
        node = node[key]
    node[new_name] = node.pop(path[-1])
    return out


def main() -> int:
    kubectl, kubeconfig = sys.argv[1], sys.argv[2]
    files = []
    for arg in sys.argv[3:]:
        path = pathlib.Path(arg)
        files += sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    failures = []

    def apply(obj: dict, validate: bool = True):
        args = [kubectl, "--kubeconfig", kubeconfig, "apply", "--dry-run=server", "-f", "-"]
        if not validate:
            args.append("--validate=false")
        return subprocess.run(args, input=yaml.safe_dump(obj), capture_output=True, text=True,
                              timeout=60)

    # Namespaces the seeds' objects go into (the guides create them with kubectl).
    namespaces = set()
    objects = []
    for path in files:
        docs = []
        for doc in yaml.safe_load_all(path.read_text()):
            docs += doc["objects"] if isinstance(doc, dict) and "objects" in doc else [doc]
        for doc in docs:
            if not isinstance(doc, dict) or doc.get("kind") not in POLICY_KINDS:
                continue
            if doc["apiVersion"] == "projectcalico.org/v3":
                doc["apiVersion"] = "crd.projectcalico.org/v1"
            if doc["apiVersion"] not in ("crd.projectcalico.org/v1", "cilium.io/v2"):
                continue  # networking.k8s.io: the API server's own schema, not ours
            namespaces.add(doc["metadata"].get("namespace", "default"))
            objects.append((path.name, doc))
    for ns in sorted(namespaces - {"default"}):
        subprocess.run([kubectl, "--kubeconfig", kubeconfig, "create", "namespace", ns],
                       capture_output=True, text=True, timeout=60)
    accepted = 0
    for file, doc in objects:
        name = doc["metadata"]["name"]
        what = f"{file}: {doc['kind']} {name}"
        r = apply(doc)
        expected = refusal_expected(doc)
        if expected:
            if r.returncode == 0 or expected not in r.stderr:
                failures.append(f"{what} should be refused, naming {expected}: "
                                f"{r.stdout}{r.stderr}")
            else:
                print(f"ok: {what} refused, as by Calico's CRD ({expected})")
        elif r.returncode != 0:
            failures.append(f"{what} refused: {r.stderr.strip()}")
        else:
            accepted += 1
    print(f"ok: {accepted} seed policy objects accepted")
    if accepted < 15:
        failures.append(f"only {accepted} seed objects were checked")

    for base in (CNP, GNP):
        r = apply(base)
        if r.returncode != 0:
            failures.append(f"the valid {base['kind']} is refused: {r.stderr.strip()}")
    unknown = [
        ("CiliumNetworkPolicy with egresDeny", renamed(CNP, ["spec", "egress"], "egresDeny")),
        ("CiliumNetworkPolicy with toPort", renamed(CNP, ["spec", "egress", 0, "toPorts"],
                                                    "toPort")),
        ("GlobalNetworkPolicy with notNet", renamed(GNP, ["spec", "ingress", 0, "source", "nets"],
                                                    "notNet")),
        ("GlobalNetworkPolicy with an unknown spec field", edited(GNP, ["spec", "badField"], 1)),
    ]
    for what, obj in unknown:
        r = apply(obj)
        if r.returncode == 0 or "unknown field" not in r.stderr:
            failures.append(f"{what} is not refused by kubectl as an unknown field: "
                            f"{r.stdout}{r.stderr}")
        else:
            print(f"ok: {what} refused by kubectl")
    mistyped = [
        ("GlobalNetworkPolicy with order: first", edited(GNP, ["spec", "order"], "first")),
        ("GlobalNetworkPolicy with action: Allowed",
         edited(GNP, ["spec", "ingress", 0, "action"], "Allowed")),
        ("GlobalNetworkPolicy with nets as a string",
         edited(GNP, ["spec", "ingress", 0, "source", "nets"], "10.0.0.0/8")),
        ("CiliumNetworkPolicy with an integer port",
         edited(CNP, ["spec", "egress", 0, "toPorts", 0, "ports", 0, "port"], 443)),
        ("CiliumNetworkPolicy with entity wrld",
         edited(CNP, ["spec", "egress", 0, "toEntities"], ["wrld"])),
        ("CiliumNetworkPolicy with protocol tcp",
         edited(CNP, ["spec", "egress", 0, "toPorts", 0, "ports", 0, "protocol"], "tcp")),
    ]
    for what, obj in mistyped:
        r = apply(obj, validate=False)
        if r.returncode == 0 or not ("Invalid value" in r.stderr or "Unsupported value" in r.stderr):
            failures.append(f"{what} is not refused by the server: {r.stdout}{r.stderr}")
        else:
            print(f"ok: {what} refused by the server")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
