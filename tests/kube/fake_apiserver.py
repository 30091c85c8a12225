#!/usr/bin/env python3
"""A Kubernetes API server for tests: the list/watch protocol on the wire, over HTTP or HTTPS,
with the faults a real cluster shows (errors, throttling, garbage, dropped or stalled watches,
compaction, CRD groups coming and going) injected on demand through /fake/* endpoints.

  fake_apiserver.py --port 0 --port-file PATH [--tls-cert C --tls-key K [--client-ca CA]]
                    [--token T] [--page-limit-max N] [--seed-file F.json] [--without-group G]...

It binds 127.0.0.1, writes the port it got to --port-file once listening and serves until
SIGTERM. tests/kube/README.md describes the control API and where it differs from a real
kube-apiserver. Standard library only."""
import argparse
import base64
import binascii
import bisect
import collections
import json
import os
import select
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


class Resource:
    def __init__(self, group, version, plural, kind, namespaced):
        self.group, self.version, self.plural = group, version, plural
        self.kind, self.namespaced = kind, namespaced
        self.api_version = f"{group}/{version}" if group else version
        # As kubectl and the server's messages name it: "pods", "tiers.crd.projectcalico.org".
        self.qualified = f"{plural}.{group}" if group else plural

    def discovery(self):
        return {"name": self.plural, "singularName": self.kind.lower(),
                "namespaced": self.namespaced, "kind": self.kind,
                "verbs": ["create", "delete", "get", "list", "update", "watch"]}


CALICO, CILIUM = "crd.projectcalico.org", "cilium.io"
RESOURCES = [
    Resource("", "v1", "namespaces", "Namespace", False),
    Resource("", "v1", "nodes", "Node", False),
    Resource("", "v1", "pods", "Pod", True),
    Resource("", "v1", "serviceaccounts", "ServiceAccount", True),
    Resource("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True),
    Resource(CALICO, "v1", "networkpolicies", "NetworkPolicy", True),
    Resource(CALICO, "v1", "stagednetworkpolicies", "StagedNetworkPolicy", True),
    Resource(CALICO, "v1", "stagedkubernetesnetworkpolicies", "StagedKubernetesNetworkPolicy",
             True),
    Resource(CALICO, "v1", "networksets", "NetworkSet", True),
    Resource(CALICO, "v1", "globalnetworkpolicies", "GlobalNetworkPolicy", False),
    Resource(CALICO, "v1", "stagedglobalnetworkpolicies", "StagedGlobalNetworkPolicy", False),
    Resource(CALICO, "v1", "tiers", "Tier", False),
    Resource(CALICO, "v1", "globalnetworksets", "GlobalNetworkSet", False),
    Resource(CALICO, "v1", "hostendpoints", "HostEndpoint", False),
    Resource(CILIUM, "v2", "ciliumnetworkpolicies", "CiliumNetworkPolicy", True),
    Resource(CILIUM, "v2", "ciliumclusterwidenetworkpolicies", "CiliumClusterwideNetworkPolicy",
             False),
]
BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_KIND = {(r.api_version, r.kind): r for r in RESOURCES}
GROUP_VERSIONS = {}  # group -> version; one version per group is all this server serves
for _r in RESOURCES:
    GROUP_VERSIONS[_r.group] = _r.version

REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
           405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 429: "TooManyRequests",
           500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
MAX_SNAPSHOTS = 256        # paginated lists whose continue token still works
MAX_WATCH_SECONDS = 3600   # cap on timeoutSeconds, as the real server caps it too
PEER_CHECK_SECONDS = 0.5   # how often an idle watch looks whether its client went away


def status(code, message, reason=None, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason or REASONS.get(code, "Unknown"), "code": code}
    if details:
        body["details"] = details
    return body


class ApiError(Exception):
    def __init__(self, code, message, reason=None, details=None, headers=()):
        super().__init__(message)
        self.code, self.headers = code, list(headers)
        self.body = status(code, message, reason, details)


def not_found(res, name):
    return ApiError(404, f'{res.qualified} "{name}" not found',
                    details={"name": name, "group": res.group, "kind": res.plural})


def now_timestamp():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def with_metadata(obj):
    """A shallow copy whose metadata can be changed: stored objects are never mutated, so
    the event log and list snapshots can share them."""
    copy = dict(obj)
    copy["metadata"] = dict(obj.get("metadata") or {})
    return copy


class Store:
    """Objects, one resourceVersion counter for all of them, and per-resource event logs.
    The caller holds the state's lock."""

    def __init__(self, notify, first_rv=1000):
        self.notify = notify
        self.rv = first_rv
        self.compacted = 0  # watches and continue tokens older than this answer 410
        self.objects = {r: {} for r in RESOURCES}  # (namespace, name) -> object
        self.log = {r: [] for r in RESOURCES}      # (rv, type, namespace, object), rv rising
        self.snapshots = collections.OrderedDict()  # id -> (resource, namespace, rv, items)
        self.next_snapshot = 1

    def _commit(self, res, event_type, obj):
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.log[res].append((self.rv, event_type, obj["metadata"].get("namespace", ""), obj))
        self.notify()

    def create(self, res, obj):
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if key in self.objects[res]:
            raise ApiError(409, f'{res.qualified} "{meta["name"]}" already exists',
                           "AlreadyExists",
                           {"name": meta["name"], "group": res.group, "kind": res.plural})
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_timestamp()
        self.objects[res][key] = obj
        self._commit(res, "ADDED", obj)
        return obj

    def replace(self, res, obj, check_version=True):
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        old = self.objects[res].get(key)
        if old is None:
            raise not_found(res, meta["name"])
        sent = meta.get("resourceVersion")
        if check_version and sent and sent != old["metadata"]["resourceVersion"]:
            raise ApiError(409, f'Operation cannot be fulfilled on {res.qualified} '
                           f'"{meta["name"]}": the object has been modified; please apply '
                           "your changes to the latest version and try again", "Conflict")
        meta["uid"] = old["metadata"]["uid"]
        meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
        self.objects[res][key] = obj
        self._commit(res, "MODIFIED", obj)
        return obj

    def delete(self, res, namespace, name):
        old = self.objects[res].pop((namespace, name), None)
        if old is None:
            raise not_found(res, name)
        # The DELETED event carries the last state at the deletion's resourceVersion.
        gone = with_metadata(old)
        self._commit(res, "DELETED", gone)
        return gone

    def get(self, res, namespace, name):
        obj = self.objects[res].get((namespace, name))
        if obj is None:
            raise not_found(res, name)
        return obj

    def compact(self):
        # The real server's compaction writes a key, which bumps the revision: every
        # resourceVersion a client holds is then older than the compacted one.
        self.rv += 1
        self.compacted = self.rv
        self.notify()

    def list(self, res, namespace, limit, token):
        """One page: (items without kind/apiVersion, resourceVersion, continue token or None,
        remaining item count)."""
        if token:
            sid, offset = decode_continue(token)
            snap = self.snapshots.get(sid)
            if snap is None or snap[2] < self.compacted:
                raise ApiError(410, "The provided continue parameter is too old to display a "
                               "consistent list result. You can start a new list without the "
                               "continue parameter.", "Expired")
            if snap[:2] != (res, namespace):
                raise ApiError(400, "continue key is not valid: it belongs to another list")
            rv, items = snap[2], snap[3]
        else:
            rv, offset = self.rv, 0
            # Sorted as etcd keys sort, and like the real server's lists, items without
            # kind and apiVersion.
            items = [{k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
                     for key, obj in sorted(self.objects[res].items())
                     if namespace is None or key[0] == namespace]
            sid = None
        end = offset + limit
        if end >= len(items):
            return items[offset:], rv, None, 0
        if sid is None:
            sid = self.next_snapshot
            self.next_snapshot += 1
            self.snapshots[sid] = (res, namespace, rv, items)
            while len(self.snapshots) > MAX_SNAPSHOTS:
                self.snapshots.popitem(last=False)
        return items[offset:end], rv, encode_continue(sid, end, rv), len(items) - end

    def events_after(self, res, rv):
        """Where in the resource's log the first event newer than rv is."""
        return bisect.bisect_right(self.log[res], rv, key=lambda e: e[0])

    def events_from(self, res, namespace, position):
        log = self.log[res]
        batch = [e for e in log[position:] if namespace is None or e[2] == namespace]
        return batch, len(log)


def encode_continue(sid, offset, rv):
    raw = json.dumps({"s": sid, "o": offset, "rv": rv}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token):
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        fields = json.loads(raw)
        sid, offset = fields["s"], fields["o"]
        if type(sid) is not int or type(offset) is not int or offset < 0:
            raise ValueError("bad fields")
        return sid, offset
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as e:
        raise ApiError(400, f"continue key is not valid: {e}") from None


class Watch:
    def __init__(self, sock, path):
        self.sock, self.path = sock, path
        self.dropped = False


class State:
    """Everything the handlers share, under one condition variable: writes and fault changes
    notify it, and open watches wait on it."""

    def __init__(self, args):
        self.cond = threading.Condition()
        self.store = Store(self.cond.notify_all, args.initial_resource_version)
        self.installed = set(GROUP_VERSIONS) - set(args.without_group)
        self.tokens = {args.token} if args.token else None  # None: no authentication
        self.page_limit_max = args.page_limit_max
        self.bookmark_interval = args.bookmark_interval
        self.watch_410_default = args.watch_410_as_http
        self.watch_410_as_http = args.watch_410_as_http
        self.faults = []   # pending: dicts with kind, count, path_prefix, watch and parameters
        self.stalled = False
        self.watches = set()
        self.requests = collections.Counter()
        self.lists = collections.Counter()
        self.watches_opened = collections.Counter()
        self.unauthorized = 0
        self.last_request = None

    def take_faults(self, path, is_watch):
        """The pending faults this GET consumes: at most one of each kind."""
        taken = {}
        with self.cond:
            for fault in self.faults:
                if fault["kind"] in taken or not path.startswith(fault["path_prefix"]):
                    continue
                if fault["watch"] is not None and fault["watch"] != is_watch:
                    continue
                taken[fault["kind"]] = fault
                fault["count"] -= 1
            self.faults = [f for f in self.faults if f["count"] != 0]
        return taken

    def control(self, body):
        """POST /fake/faults."""
        if not isinstance(body, dict):
            raise ApiError(400, "a fault is a JSON object")
        known = {"drop_watches", "status", "retry_after", "message", "garbage", "garbage_mode",
                 "slow_ms", "count", "path_prefix", "watch", "compact", "stall_watch",
                 "install_group", "uninstall_group", "watch_410_as_http", "tokens"}
        unknown = sorted(set(body) - known)
        if unknown:
            raise ApiError(400, f"unknown fault fields: {', '.join(unknown)}")
        common = {"count": body.get("count", 1), "path_prefix": body.get("path_prefix", ""),
                  "watch": body.get("watch")}
        if type(common["count"]) is not int or common["count"] == 0:
            raise ApiError(400, "count is a non-zero integer (negative: until reset)")
        for field in ("status", "slow_ms", "retry_after"):
            if field in body and type(body[field]) is not int:
                raise ApiError(400, f"{field} is an integer")
        if not isinstance(common["path_prefix"], str) or common["watch"] not in (None, True,
                                                                                  False):
            raise ApiError(400, "path_prefix is a string, watch true or false")
        tokens = body.get("tokens", [])
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ApiError(400, "tokens is a list of strings")
        if body.get("garbage_mode", "line") not in ("line", "close"):
            raise ApiError(400, 'garbage_mode is "line" or "close"')
        for group in (body.get("install_group"), body.get("uninstall_group")):
            if group is not None and group not in GROUP_VERSIONS:
                raise ApiError(400, f"no such group: {group}")
        with self.cond:
            if "status" in body:
                self.faults.append(dict(common, kind="status", status=body["status"],
                                        retry_after=body.get("retry_after", 1),
                                        message=body.get("message", "injected fault")))
            if body.get("garbage"):
                self.faults.append(dict(common, kind="garbage",
                                        mode=body.get("garbage_mode", "line")))
            if "slow_ms" in body:
                self.faults.append(dict(common, kind="slow", ms=body["slow_ms"]))
            if body.get("compact"):
                self.store.compact()
            if "stall_watch" in body:
                self.stalled = bool(body["stall_watch"])
            if body.get("install_group"):
                self.installed.add(body["install_group"])
            if body.get("uninstall_group"):
                self.installed.discard(body["uninstall_group"])
            if "watch_410_as_http" in body:
                self.watch_410_as_http = bool(body["watch_410_as_http"])
            if "tokens" in body:
                self.tokens = set(body["tokens"])
            if body.get("drop_watches"):
                self.drop_watches()
            self.cond.notify_all()
            return {"resourceVersion": str(self.store.rv), "pending_faults": len(self.faults)}

    def drop_watches(self):
        """Ends every open watch without its terminating chunk: the socket is shut down under
        the writer (at the TCP level, so TLS sends no close_notify either)."""
        for w in self.watches:
            w.dropped = True
            try:
                socket.socket.shutdown(w.sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def reset_faults(self):
        with self.cond:
            self.faults = []
            self.stalled = False
            self.watch_410_as_http = self.watch_410_default
            self.cond.notify_all()

    def load_objects(self, objects):
        """POST /fake/objects and --seed-file: create or replace each object, by its
        apiVersion and kind."""
        if not isinstance(objects, list):
            raise ApiError(400, 'expected {"objects": [...]}')
        created = replaced = 0
        with self.cond:
            for obj in objects:
                res = BY_KIND.get((obj.get("apiVersion"), obj.get("kind")) if
                                  isinstance(obj, dict) else None)
                if res is None:
                    raise ApiError(400, f"no resource for {json.dumps(obj)[:200]}")
                namespace = (obj.get("metadata") or {}).get("namespace") or "default"
                obj = prepare(res, obj, namespace if res.namespaced else None)
                key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
                if key in self.store.objects[res]:
                    self.store.replace(res, obj, check_version=False)
                    replaced += 1
                else:
                    self.store.create(res, obj)
                    created += 1
            return {"created": created, "replaced": replaced,
                    "resourceVersion": str(self.store.rv)}

    def stats(self):
        with self.cond:
            active = collections.Counter(w.path for w in self.watches)
            return {
                "requests": dict(self.requests), "lists": dict(self.lists),
                "watches_opened": dict(self.watches_opened), "active_watches": dict(active),
                "totals": {"requests": sum(self.requests.values()),
                           "lists": sum(self.lists.values()),
                           "watches_opened": sum(self.watches_opened.values()),
                           "active_watches": len(self.watches)},
                "unauthorized": self.unauthorized, "last_request": self.last_request,
                "resourceVersion": str(self.store.rv),
                "compactedResourceVersion": str(self.store.compacted),
                "installed_groups": sorted(g for g in self.installed if g), "pending_faults": self.faults,
                "stall_watch": self.stalled, "watch_410_as_http": self.watch_410_as_http,
            }


def prepare(res, obj, namespace):
    """A posted object made storable: a name, the namespace of its URL, kind and apiVersion
    filled in when missing (those it came with are kept)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata", {}), dict):
        raise ApiError(400, "the body is not an object with metadata")
    obj = with_metadata(obj)
    meta = obj["metadata"]
    if not isinstance(meta.get("name"), str) or not meta["name"]:
        raise ApiError(400, "metadata.name: Required value: name is required")
    if namespace is None:
        meta.pop("namespace", None)
    elif meta.setdefault("namespace", namespace) != namespace:
        raise ApiError(400, "the namespace of the provided object does not match the "
                       "namespace sent on the request")
    # kind and apiVersion first, as a real server writes them.
    return {"apiVersion": obj.pop("apiVersion", res.api_version),
            "kind": obj.pop("kind", res.kind), **obj}


def truthy(value):
    return value in ("1", "true", "True")


def query_int(query, name, default):
    value = query.get(name, "")
    if value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, f"{name}: invalid value {value!r}") from None
    if number < 0:
        raise ApiError(400, f"{name}: must be non-negative")
    return number


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-apiserver"
    timeout = 300  # idle keep-alive connections are closed after this
    abrupt = False  # set when a watch was dropped: the connection ends without a goodbye

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def log_message(self, format, *args):
        if not self.server.quiet:
            super().log_message(format, *args)

    @property
    def state(self):
        return self.server.state

    def dispatch(self, method):
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            # Read the body first, whatever the answer: left unread it would be taken for
            # the next request on the connection.
            body = self.read_body()
            if url.path in ("/healthz", "/livez", "/readyz"):
                self.send_bytes(200, b"ok", "text/plain")
            elif url.path.startswith("/fake/"):
                self.fake_control(method, url.path, body)
            else:
                self.api(method, url.path, query, body)
        except ApiError as e:
            self.send_json(e.code, e.body, e.headers)
        except OSError:  # the client went away (ssl.SSLError is an OSError too)
            self.close_connection = True
        except Exception as e:  # a bug here: the client sees a 500, the log the traceback
            traceback.print_exc()
            self.close_connection = True
            try:
                self.send_json(500, status(500, f"fake API server error: {e!r}"))
            except OSError:
                pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise ApiError(400, "chunked request bodies are not supported")
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def json_body(self, body):
        try:
            return json.loads(body)
        except ValueError as e:
            raise ApiError(400, f"the body is not JSON: {e}") from None

    def send_bytes(self, code, data, content_type, headers=()):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, code, obj, headers=()):
        data = json.dumps(obj, separators=(",", ":")).encode()
        self.send_bytes(code, data, "application/json", headers)

    def fake_control(self, method, path, body):
        st = self.state
        if (method, path) == ("GET", "/fake/stats"):
            self.send_json(200, st.stats())
        elif (method, path) == ("POST", "/fake/faults"):
            self.send_json(200, st.control(self.json_body(body)))
        elif (method, path) == ("POST", "/fake/reset_faults"):
            st.reset_faults()
            self.send_json(200, {})
        elif (method, path) == ("POST", "/fake/objects"):
            doc = self.json_body(body)
            objects = doc.get("objects", doc.get("items")) if isinstance(doc, dict) else None
            self.send_json(200, st.load_objects(objects))
        else:
            raise ApiError(404, f"no control endpoint {method} {path}")

    def authenticate(self, path):
        st = self.state
        auth = self.headers.get("Authorization")
        bearer = auth[7:] if auth and auth.startswith("Bearer ") else None
        cert = self.connection.getpeercert() if isinstance(self.connection,
                                                           ssl.SSLSocket) else None
        subject = dict(x[0] for x in cert["subject"]) if cert else {}
        with st.cond:
            st.requests[path] += 1
            st.last_request = {"path": path, "authorization": auth is not None,
                               "bearer": bearer, "client_cert_cn": subject.get("commonName")}
            # A verified client certificate authenticates as it does on a real server.
            if st.tokens is None or bearer in st.tokens or cert:
                return
            st.unauthorized += 1
        raise ApiError(401, "Unauthorized")

    def api(self, method, path, query, body):
        self.authenticate(path)
        is_watch = method == "GET" and truthy(query.get("watch", ""))
        faults = self.state.take_faults(path, is_watch) if method == "GET" else {}
        if "slow" in faults:
            time.sleep(faults["slow"]["ms"] / 1000)
        if "status" in faults:
            fault = faults["status"]
            code = fault["status"]
            headers = [("Retry-After", str(fault["retry_after"]))] if code in (429, 503) else []
            raise ApiError(code, fault["message"], headers=headers)
        if "garbage" in faults and not is_watch:
            self.send_bytes(200, b"<html>this is not JSON {\n", "application/json")
            return
        target = self.route(path)
        if not isinstance(target, tuple):
            if method != "GET":
                raise ApiError(405, f"{method} is not allowed on {path}")
            self.send_json(200, target)
            return
        res, namespace, name = target
        if name is None and res.namespaced and namespace is None and method != "GET":
            raise ApiError(405, f"{method} needs a namespace: /namespaces/NS/{res.plural}")
        st = self.state
        if method == "GET" and name is None:
            if "labelSelector" in query or "fieldSelector" in query:
                raise ApiError(400, "labelSelector and fieldSelector are not implemented by "
                               "the fake API server")
            if is_watch:
                self.watch(res, namespace, query, faults.get("garbage"), path)
            else:
                self.list(res, namespace, query, path)
            return
        key_ns = namespace or ""
        with st.cond:
            if method == "GET" and name is not None:
                self.send_json(200, st.store.get(res, key_ns, name))
            elif method == "POST" and name is None:
                obj = prepare(res, self.json_body(body), namespace)
                self.send_json(201, st.store.create(res, obj))
            elif method == "PUT" and name is not None:
                obj = prepare(res, self.json_body(body), namespace)
                if obj["metadata"]["name"] != name:
                    raise ApiError(400, "the name of the object does not match the name on "
                                   "the URL")
                self.send_json(200, st.store.replace(res, obj))
            elif method == "DELETE" and name is not None:
                self.send_json(200, st.store.delete(res, key_ns, name))
            else:
                raise ApiError(405, f"{method} is not allowed on {path}")

    def route(self, path):
        """A discovery document, or (resource, namespace or None, name or None)."""
        parts = [unquote(p) for p in path.strip("/").split("/")]
        missing = ApiError(404, "the server could not find the requested resource")
        with self.state.cond:
            installed = set(self.state.installed)
        if parts[0] == "api":
            if len(parts) == 1:
                return {"kind": "APIVersions", "versions": ["v1"],
                        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                        "serverAddress": self.host()}]}
            group, rest = "", parts[1:]
        elif parts[0] == "apis":
            if len(parts) == 1:
                return {"kind": "APIGroupList", "apiVersion": "v1",
                        "groups": [self.group_doc(g) for g in GROUP_VERSIONS
                                   if g and g in installed]}
            group, rest = parts[1], parts[2:]
            if group not in installed or not group:
                raise missing
            if not rest:
                return dict(self.group_doc(group), kind="APIGroup", apiVersion="v1")
        elif parts == ["version"]:
            return {"major": "1", "minor": "20", "gitVersion": "v1.20.2-fake",
                    "platform": "linux/amd64"}
        else:
            raise missing
        version, rest = rest[0], rest[1:]
        if GROUP_VERSIONS.get(group) != version:
            raise missing
        if not rest:
            api_version = f"{group}/{version}" if group else version
            return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version,
                    "resources": [r.discovery() for r in RESOURCES
                                  if (r.group, r.version) == (group, version)]}
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        res = BY_PATH.get((group, version, rest[0]))
        if res is None or len(rest) > 2 or (namespace is not None and not res.namespaced):
            raise missing
        name = rest[1] if len(rest) == 2 else None
        if name is not None and res.namespaced and namespace is None:
            raise missing
        return res, namespace, name

    def group_doc(self, group):
        gv = {"groupVersion": f"{group}/{GROUP_VERSIONS[group]}",
              "version": GROUP_VERSIONS[group]}
        return {"name": group, "versions": [gv], "preferredVersion": gv}

    def host(self):
        return "%s:%d" % self.server.server_address[:2]

    def list(self, res, namespace, query, path):
        limit = query_int(query, "limit", 0) or self.state.page_limit_max
        limit = min(limit, self.state.page_limit_max)
        with self.state.cond:
            self.state.lists[path] += 1
            items, rv, token, remaining = self.state.store.list(
                res, namespace, limit, query.get("continue", ""))
        metadata = {"resourceVersion": str(rv)}
        if token:
            metadata["continue"] = token
            metadata["remainingItemCount"] = remaining
        self.send_json(200, {"kind": res.kind + "List", "apiVersion": res.api_version,
                             "metadata": metadata, "items": items})

    # The watch stream: one JSON event per line, each line in its own chunk.

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def write_event(self, event_type, obj):
        line = json.dumps({"type": event_type, "object": obj}, separators=(",", ":"))
        self.write_chunk(line.encode() + b"\n")

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")

    def peer_gone(self):
        # A watch's client sends nothing more on its connection; anything readable (end of
        # file, a TLS close_notify) means it has gone.
        try:
            return bool(select.select([self.connection], [], [], 0)[0])
        except (OSError, ValueError):
            return True

    def watch(self, res, namespace, query, garbage, path):
        st = self.state
        rv_param = query.get("resourceVersion", "")
        try:
            start = None if rv_param in ("", "0") else int(rv_param)
        except ValueError:
            raise ApiError(400, f"resourceVersion: invalid value {rv_param!r}") from None
        timeout = min(query_int(query, "timeoutSeconds", 0) or 300, MAX_WATCH_SECONDS)
        bookmarks = truthy(query.get("allowWatchBookmarks", ""))
        watch = Watch(self.connection, path)
        with st.cond:
            if start is None:
                start = st.store.rv
            too_old = start < st.store.compacted
            expired = ApiError(410, f"too old resource version: {start} "
                               f"({st.store.compacted})", "Expired")
            if too_old and st.watch_410_as_http:
                raise expired
            position = st.store.events_after(res, start)
            st.watches_opened[path] += 1
            st.watches.add(watch)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if too_old:
                self.write_event("ERROR", expired.body)
                self.end_stream()
                return
            self.stream(res, namespace, position, timeout, bookmarks, garbage, watch)
        except OSError:
            self.close_connection = True
        finally:
            with st.cond:
                st.watches.discard(watch)
            if watch.dropped:
                self.close_connection = self.abrupt = True

    def stream(self, res, namespace, position, timeout, bookmarks, garbage, watch):
        st = self.state
        now = time.monotonic()
        deadline = now + timeout
        next_bookmark = now + st.bookmark_interval if bookmarks else float("inf")
        first = True  # the replay goes out at once, even when empty, then the garbage fault
        while True:
            with st.cond:
                while True:
                    if watch.dropped:
                        return
                    now = time.monotonic()
                    wake = float("inf")
                    if not st.stalled:
                        batch, position = st.store.events_from(res, namespace, position)
                        if batch or first or now >= next_bookmark or now >= deadline:
                            break
                        wake = min(deadline, next_bookmark)
                    st.cond.wait(min(wake - now, PEER_CHECK_SECONDS))
                    if self.peer_gone():
                        self.close_connection = True
                        return
                current = st.store.rv
            for _, event_type, _, obj in batch:
                self.write_event(event_type, obj)
            if first and garbage:
                self.write_chunk(b"this is not a watch event {\n")
                if garbage["mode"] == "close":
                    self.end_stream()
                    return
            first = False
            now = time.monotonic()
            if now >= next_bookmark:
                self.write_event("BOOKMARK", {"kind": res.kind, "apiVersion": res.api_version,
                                              "metadata": {"resourceVersion": str(current)}})
                next_bookmark = now + st.bookmark_interval
            if now >= deadline:
                self.end_stream()
                return


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, state, ssl_context, quiet):
        self.state, self.ssl_context, self.quiet = state, ssl_context, quiet
        super().__init__(address, Handler)

    def finish_request(self, request, client_address):
        if self.ssl_context is None:
            return super().finish_request(request, client_address)
        # The handshake runs here, in the connection's thread, not in the accept loop.
        try:
            request.settimeout(10)
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except OSError:
            return
        try:
            tls.settimeout(None)
            handler = self.RequestHandlerClass(tls, client_address, self)
            if not handler.abrupt:
                tls.settimeout(0.5)
                tls.unwrap()  # close_notify, as a real server's orderly close sends
        except OSError:
            pass
        finally:
            tls.close()


def load_seed(state, path):
    with open(path) as f:
        doc = json.load(f)
    state.load_objects(doc.get("objects", doc.get("items")) if isinstance(doc, dict) else doc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--client-ca", help="accept client certificates signed by this CA")
    parser.add_argument("--token", help="require Authorization: Bearer TOKEN")
    parser.add_argument("--page-limit-max", type=int, default=500)
    parser.add_argument("--seed-file")
    parser.add_argument("--without-group", action="append", default=[],
                        choices=sorted(g for g in GROUP_VERSIONS if g))
    parser.add_argument("--watch-410-as-http", action="store_true",
                        help="answer a too-old watch with HTTP 410, not an ERROR event")
    parser.add_argument("--bookmark-interval", type=float, default=1.0)
    parser.add_argument("--initial-resource-version", type=int, default=1000,
                        help="where the counter starts: a restarted server given a higher one "
                             "than before looks like a real one whose etcd kept counting")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.page_limit_max < 1:
        parser.error("--page-limit-max must be at least 1")

    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            context.load_verify_locations(args.client_ca)
            context.verify_mode = ssl.CERT_OPTIONAL
    state = State(args)
    if args.seed_file:
        load_seed(state, args.seed_file)
    server = Server(("127.0.0.1", args.port), state, context, args.quiet)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{server.server_address[1]}\n")
    os.replace(tmp, args.port_file)
    print(f"fake-apiserver: {'https' if context else 'http'}://127.0.0.1:"
          f"{server.server_address[1]}", file=sys.stderr, flush=True)
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
