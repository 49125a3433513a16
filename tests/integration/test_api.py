# SPDX-License-Identifier: Apache-2.0
"""The HTTP API against its contract (api/firecracker.yaml).

Runs `$FIGMENT --api-sock PATH` (default build/figment) and talks to it over
the Unix socket: every implemented path and method with bodies built from the
contract's schemas, each way a body can be wrong, wrong methods, unknown
paths, malformed HTTP on the raw socket, slow, half-closed, pipelined and many
clients. After each test figment must still be alive and serving.

The post-boot test needs /dev/kvm and a test guest (FIGMENT_TEST_KERNEL,
default build/guests/spin.bin); it is skipped without them.
Run: /usr/bin/python3 -m pytest tests/integration/test_api.py
"""
import copy
import json
import os
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import yaml

from conftest import kvm_usable

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIGMENT = os.environ.get("FIGMENT", os.path.join(ROOT, "build", "figment"))
CONTRACT = os.path.join(ROOT, "api", "firecracker.yaml")
TEST_KERNEL = os.environ.get("FIGMENT_TEST_KERNEL",
                             os.path.join(ROOT, "build", "guests", "spin.bin"))
MAX_BODY = 51200

with open(CONTRACT) as f:
    SPEC = yaml.safe_load(f)
DEFS = SPEC["definitions"]

# What figment implements; the contract's other paths are "not supported yet".
IMPLEMENTED = {"/", "/version", "/machine-config", "/boot-source",
               "/drives/{drive_id}", "/entropy", "/serial", "/actions", "/vm",
               "/vm/config", "/logger", "/metrics",
               "/network-interfaces/{iface_id}", "/vsock", "/mmds",
               "/mmds/config", "/balloon", "/balloon/statistics",
               "/balloon/hinting/start", "/balloon/hinting/status",
               "/balloon/hinting/stop"}
# Implemented, and exercised with real snapshots in test_snapshot.py: a body
# valid by the schema alone names files that are no snapshot.
SNAPSHOTS = {"/snapshot/create", "/snapshot/load"}
# Requests that only make sense after InstanceStart.
POST_BOOT_ONLY = {("/drives/{drive_id}", "patch"), ("/vm", "patch"),
                  ("/network-interfaces/{iface_id}", "patch"),
                  ("/balloon/hinting/start", "patch"),
                  ("/balloon/hinting/stop", "patch"),
                  ("/balloon/statistics", "get"),
                  ("/balloon/hinting/status", "get")}
# The TAP the network-interface bodies name (figment attaches, never
# creates): made for this module when we may (root, /dev/net/tun).
TAP = "figapi0"


@pytest.fixture(scope="module", autouse=True)
def tap_device():
    made = False
    if os.geteuid() == 0 and os.path.exists("/dev/net/tun"):
        made = subprocess.run(["ip", "tuntap", "add", TAP, "mode", "tap"],
                              capture_output=True).returncode == 0
    yield made
    if made:
        subprocess.run(["ip", "tuntap", "del", TAP, "mode", "tap"],
                       capture_output=True)


def needs_tap(path, tap_device):
    if "network-interfaces" in path and not tap_device:
        pytest.skip("no TAP device to attach to (needs root and /dev/net/tun)")
ALL_METHODS = ["GET", "PUT", "PATCH", "POST", "DELETE"]


# ---------------------------------------------------------------- client --

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def fault(self):
        return self.json()["fault_message"]


def read_response(sock, buf=b""):
    """Reads one response from @sock; returns (Response, leftover bytes)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response: %r" % buf)
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("ascii").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside a body")
        rest += chunk
    return Response(status, headers, rest[:n]), rest[n:]


def connect(path, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def build_request(method, path, body=None, headers=None):
    data = b""
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: localhost"]
    if body is not None:
        lines += ["Content-Type: application/json", "Content-Length: %d" % len(data)]
    lines += headers or []
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


class Client:
    """One keep-alive connection."""

    def __init__(self, path):
        self.path = path
        self.sock = connect(path)
        self.buf = b""

    def request(self, method, path, body=None):
        self.sock.sendall(build_request(method, path, body))
        resp, self.buf = read_response(self.sock, self.buf)
        if resp.headers.get("connection") == "close":
            self.sock.close()
            self.sock = connect(self.path)
            self.buf = b""
        return resp

    def close(self):
        self.sock.close()


def raw(path, data, timeout=5):
    """Sends raw bytes, returns everything read until the server closes."""
    s = connect(path, timeout)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    return out


def status_of(data):
    assert data.startswith(b"HTTP/1.1 "), data[:200]
    return int(data.split()[1])


# --------------------------------------------------------------- fixture --

class Figment:
    def __init__(self, workdir):
        self.workdir = workdir
        self.sock = os.path.join(workdir, "api.sock")
        self.log = open(os.path.join(workdir, "figment.log"), "wb")
        t0 = time.monotonic()
        self.proc = subprocess.Popen([FIGMENT, "--api-sock", self.sock],
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        while True:
            try:
                connect(self.sock).close()
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if self.proc.poll() is not None or time.monotonic() - t0 > 10:
                    raise RuntimeError("figment did not open its API socket")
                time.sleep(0.005)
        self.startup_s = time.monotonic() - t0
        self.client = Client(self.sock)

    def file(self, name, size=1 << 20):
        p = os.path.join(self.workdir, name)
        with open(p, "wb") as f:
            f.truncate(size)
        return p

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        self.client.close()
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def fc():
    if not os.access(FIGMENT, os.X_OK):
        pytest.skip("no figment binary at %s (set FIGMENT)" % FIGMENT)
    with tempfile.TemporaryDirectory(prefix="figment-api-") as d:
        f = Figment(d)
        try:
            yield f
            # Whatever a test did, figment still serves.
            assert f.alive(), "figment died"
            r = Client(f.sock)
            assert r.request("GET", "/").status == 200
            r.close()
        finally:
            f.stop()


# ------------------------------------------------- bodies from the schema --

def resolve(schema):
    if "$ref" in schema:
        return DEFS[schema["$ref"].split("/")[-1]]
    return schema


def example(schema, fc, name=""):
    """A valid value for @schema, using figment-supported choices."""
    schema = resolve(schema)
    t = schema.get("type", "object")
    if "enum" in schema:
        return schema.get("default", schema["enum"][0])
    if t == "object":
        props = schema.get("properties", {})
        keep = set(schema.get("required", []))
        # Optional fields figment supports, so bodies exercise them too.
        # path_on_host: optional in the contract (vhost-user), required by figment.
        keep |= {"path_on_host", "is_read_only", "cache_type", "io_engine", "smt", "boot_args",
                 "initrd_path", "level", "show_level", "serial_out_path",
                 "emit_id", "track_dirty_pages", "huge_pages", "cpu_template"}
        keep &= set(props)
        return {k: example(props[k], fc, k) for k in sorted(keep)}
    if t == "string":
        if name == "drive_id":
            return "rootfs"
        if name == "iface_id":
            return "eth0"
        if name == "host_dev_name":
            return TAP
        if name == "guest_mac":
            return "06:00:ac:10:00:02"
        if name == "uds_path":
            return os.path.join(fc.workdir, "v.sock")  # bound at the start
        if name in ("log_path", "metrics_path", "serial_out_path"):
            return os.path.join(fc.workdir, name + ".out")
        if "path" in name:
            return fc.file(name)
        return "console=ttyS0" if name == "boot_args" else "x"
    if t == "integer":
        lo = schema.get("minimum", 1)
        return max(lo, 128 if name == "mem_size_mib" else 1)
    if t == "boolean":
        return False
    if t == "array":
        return ["eth0"] if name == "network_interfaces" else []
    raise AssertionError("no example for %r" % schema)


def wrong_type(schema):
    schema = resolve(schema)
    t = schema.get("type", "object")
    return {"string": 12, "integer": "12", "boolean": "true", "object": 7,
            "array": {}}[t]


def operations():
    """(path, method, body schema or None) for the implemented endpoints."""
    for path, item in SPEC["paths"].items():
        if path not in IMPLEMENTED:
            continue
        for method, op in item.items():
            schema = None
            for p in op.get("parameters", []):
                if p.get("in") == "body":
                    schema = p["schema"]
            yield path, method, schema


def concrete(path):
    return path.replace("{drive_id}", "rootfs").replace("{iface_id}", "eth0")


def body_ops():
    return [(p, m, s) for p, m, s in operations() if s is not None]


def op_id(op):
    return "%s %s" % (op[1].upper(), op[0])


def prepare(fc, path):
    """Makes the state a request needs (a drive to patch...)."""
    if path == "/metrics":
        return
    fc.client.request("PUT", "/boot-source",
                      {"kernel_image_path": fc.file("vmlinux")})
    if path == "/mmds/config":  # an interface to name (user mode: no TAP)
        fc.client.request("PUT", "/network-interfaces/eth0",
                          {"iface_id": "eth0", "user_net": {}})
    if path == "/mmds":  # a store to patch
        fc.client.request("PUT", "/mmds", {"seed": "x"})
    if path.startswith("/balloon"):  # a balloon to ask about
        fc.client.request("PUT", "/balloon",
                          {"amount_mib": 0, "deflate_on_oom": False,
                           "stats_polling_interval_s": 1,
                           "free_page_hinting": True})


def valid_body(fc, path, method, schema):
    body = example(schema, fc)
    if path == "/actions":
        body = {"action_type": "FlushMetrics"}
    return body


# ------------------------------------------------------------ the tests --

def test_startup_time(fc):
    # Not a benchmark; bench/api_latency.py measures it properly.
    assert fc.startup_s < 5


def test_gets_match_schema(fc):
    for path, method, _ in operations():
        if method != "get":
            continue
        prepare(fc, path)
        r = fc.client.request("GET", concrete(path))
        if (path, method) in POST_BOOT_ONLY:
            assert r.status == 400 and "before starting" in r.fault, (path, r.body)
            continue
        assert r.status == 200, (path, r.body)
        assert r.headers["content-type"] == "application/json"
        op = SPEC["paths"][path]["get"]
        schema = resolve(op["responses"][200]["schema"])
        body = r.json()
        for req in schema.get("required", []):
            assert req in body, (path, req, body)
        for k, v in body.items():
            prop = schema.get("properties", {}).get(k)
            if prop is None or v is None:
                continue
            t = resolve(prop).get("type", "object")
            pytype = {"string": str, "integer": int, "boolean": bool,
                      "object": dict, "array": list}[t]
            assert isinstance(v, pytype), (path, k, v)


def test_machine_config_defaults(fc):
    r = fc.client.request("GET", "/machine-config").json()
    assert r["vcpu_count"] == 1 and r["mem_size_mib"] == 128
    assert r["smt"] is False


@pytest.mark.parametrize("op", body_ops(), ids=op_id)
def test_valid_body_accepted(fc, op, tap_device):
    path, method, schema = op
    needs_tap(path, tap_device)
    prepare(fc, path)
    r = fc.client.request(method.upper(), concrete(path),
                          valid_body(fc, path, method, schema))
    if (path, method) in POST_BOOT_ONLY:
        assert r.status == 400 and "before starting" in r.fault
    else:
        assert r.status == 204, r.body


@pytest.mark.parametrize("op", body_ops(), ids=op_id)
def test_missing_required_fields(fc, op):
    path, method, schema = op
    good = valid_body(fc, path, method, schema)
    required = resolve(schema).get("required", [])
    if method == "patch" and path == "/machine-config":
        required = []  # every field of a PATCH is optional
    for field in required:
        body = copy.deepcopy(good)
        del body[field]
        r = fc.client.request(method.upper(), concrete(path), body)
        assert r.status == 400, (field, r.body)
        assert field in r.fault, (field, r.fault)


@pytest.mark.parametrize("op", body_ops(), ids=op_id)
def test_wrong_types(fc, op):
    path, method, schema = op
    good = valid_body(fc, path, method, schema)
    props = resolve(schema).get("properties", {})
    for field, prop in props.items():
        body = copy.deepcopy(good)
        body[field] = wrong_type(prop)
        r = fc.client.request(method.upper(), concrete(path), body)
        assert r.status == 400, (field, r.body)
        assert "fault_message" in r.json()
        if field in body and field != "action_type":
            assert field in r.fault, (field, r.fault)


@pytest.mark.parametrize("op", body_ops(), ids=op_id)
def test_unknown_field(fc, op):
    path, method, schema = op
    if resolve(schema).get("additionalProperties") is True:
        pytest.skip("free-form JSON (the metadata store): any field goes")
    body = valid_body(fc, path, method, schema)
    body["no_such_field"] = 1
    r = fc.client.request(method.upper(), concrete(path), body)
    assert r.status == 400
    assert "no_such_field" in r.fault


@pytest.mark.parametrize("op", body_ops(), ids=op_id)
def test_not_an_object(fc, op):
    path, method, _ = op
    for body in ([], "x", 1, None):
        r = fc.client.request(method.upper(), concrete(path), body)
        assert r.status == 400, (body, r.body)


@pytest.mark.parametrize("op", body_ops(), ids=op_id)
def test_duplicate_keys(fc, op):
    path, method, schema = op
    body = valid_body(fc, path, method, schema)
    if not body:
        body = {"x": 1}
    key, val = next(iter(body.items()))
    text = json.dumps(body)[:-1] + ", %s: %s}" % (json.dumps(key), json.dumps(val))
    r = fc.client.request(method.upper(), concrete(path), text.encode())
    assert r.status == 400
    assert key in r.fault and "duplicate" in r.fault


def integer_fields(schema, prefix=()):
    schema = resolve(schema)
    for k, p in schema.get("properties", {}).items():
        p2 = resolve(p)
        if p2.get("type") == "integer":
            yield prefix + (k,), p2
        elif p2.get("type", "object") == "object" and "properties" in p2:
            yield from integer_fields(p2, prefix + (k,))


@pytest.mark.parametrize("op", body_ops(), ids=op_id)
def test_out_of_range(fc, op):
    path, method, schema = op
    good = valid_body(fc, path, method, schema)
    for keys, prop in integer_fields(schema):
        if len(keys) > 1:
            continue  # nested rate limiters: covered in the unit tests
        bad_values = [-1, 2**63, 2**64, 1.5]
        if "maximum" in prop:
            bad_values.append(prop["maximum"] + 1)
        if "minimum" in prop and prop["minimum"] > 0:
            bad_values.append(prop["minimum"] - 1)
        for v in bad_values:
            body = copy.deepcopy(good)
            body[keys[0]] = v
            r = fc.client.request(method.upper(), concrete(path), body)
            assert r.status == 400, (keys, v, r.body)
            assert "fault_message" in r.json()


def test_invalid_enum_values(fc):
    cases = [("/machine-config", {"vcpu_count": 1, "mem_size_mib": 64, "huge_pages": "1G"}),
             ("/logger", {"level": "Loud"}),
             ("/actions", {"action_type": "Explode"})]
    for path, body in cases:
        r = fc.client.request("PUT", path, body)
        assert r.status == 400, (path, r.body)


def test_wrong_methods(fc):
    for path, item in SPEC["paths"].items():
        allowed = {m.upper() for m in item}
        for method in ALL_METHODS:
            if method in allowed:
                continue
            body = None if method == "GET" else {}
            r = fc.client.request(method, concrete(path.replace("{iface_id}", "eth0")
                                                   .replace("{id}", "p0")), body)
            assert r.status == 400, (method, path, r.body)
            assert "Invalid request method and/or path" in r.fault


def test_unknown_paths(fc):
    for path in ["/nope", "/machine-config/", "/drives", "/drives/a/b",
                 "/vm/config/x", "//", "/MACHINE-CONFIG"]:
        r = fc.client.request("GET", path)
        assert r.status == 400, (path, r.body)
        assert "fault_message" in r.json()


def test_unsupported_features(fc):
    for path, item in SPEC["paths"].items():
        if path in IMPLEMENTED or path in SNAPSHOTS:
            continue
        for method in item:
            body = None if method == "get" else {}
            p = path.replace("{iface_id}", "eth0").replace("{id}", "p0")
            r = fc.client.request(method.upper(), p, body)
            assert r.status == 400, (method, path)
            assert "not supported" in r.fault, r.fault


def test_body_rules(fc):
    assert "Empty PUT request" in fc.client.request("PUT", "/boot-source").fault
    assert "Empty PATCH request" in fc.client.request("PATCH", "/vm").fault
    r = fc.client.request("GET", "/machine-config", {})
    assert r.status == 400 and "cannot have a body" in r.fault
    r = fc.client.request("PUT", "/boot-source", b"{not json")
    assert r.status == 400 and "JSON" in r.fault


def test_drive_rules(fc):
    c = fc.client
    img = fc.file("disk.img")
    ok = {"drive_id": "rootfs", "path_on_host": img, "is_root_device": True}
    assert c.request("PUT", "/drives/rootfs", ok).status == 204
    assert c.request("PUT", "/drives/rootfs", ok).status == 204  # update
    r = c.request("PUT", "/drives/other", ok)
    assert r.status == 400 and "does not match" in r.fault
    r = c.request("PUT", "/drives/second", dict(ok, drive_id="second"))
    assert r.status == 400 and "root" in r.fault
    r = c.request("PUT", "/drives/bad-id", dict(ok, drive_id="bad-id"))
    assert r.status == 400
    for i in range(15):
        d = {"drive_id": "d%d" % i, "path_on_host": img, "is_root_device": False}
        assert c.request("PUT", "/drives/d%d" % i, d).status == 204
    d = {"drive_id": "d99", "path_on_host": img, "is_root_device": False}
    r = c.request("PUT", "/drives/d99", d)
    assert r.status == 400 and "too many" in r.fault
    cfg = c.request("GET", "/vm/config").json()
    assert len(cfg["drives"]) == 16


def test_user_mode_interface_rules(fc):
    """figment's `user_net` field (no TAP, no root): accepted, shown back
    with its forwards spelled out, and every bad form refused with a 400."""
    c = fc.client
    ok = {"iface_id": "u0", "user_net": {"backend": "slirp",
                                          "hostfwd": ["tcp::2222-:22", "udp:127.0.0.1:5353-10.0.2.15:53"]}}
    r = c.request("PUT", "/network-interfaces/u0", ok)
    assert r.status == 204, r.body
    assert c.request("PUT", "/network-interfaces/u1", {"iface_id": "u1", "user_net": {}}).status == 204
    nets = c.request("GET", "/vm/config").json()["network-interfaces"]
    assert nets[0] == {"iface_id": "u0", "user_net": {
        "backend": "slirp", "hostfwd": ["tcp:127.0.0.1:2222-:22", "udp:127.0.0.1:5353-:53"]}}
    assert nets[1]["user_net"]["backend"] == "passt"  # the default
    for body, words in [
        ({"iface_id": "u2", "user_net": {"backend": "vde"}}, "backend"),
        ({"iface_id": "u2", "user_net": "on"}, "object"),
        ({"iface_id": "u2", "user_net": {"hostfwd": ["tcp:2222:22"]}}, "hostfwd"),
        ({"iface_id": "u2", "user_net": {"hostfwd": ["tcp::2222-10.0.2.99:22"]}}, "hostfwd"),
        ({"iface_id": "u2", "user_net": {"hostfwd": ["tcp::0-:22"]}}, "hostfwd"),
        ({"iface_id": "u2", "user_net": {"hostfwd": ["tcp::2-:22"] * 9}}, "at most"),
        ({"iface_id": "u2", "user_net": {"hostfwd": ["tcp::2222-:80"]}}, "forwarded twice"),
        ({"iface_id": "u2", "user_net": {}, "host_dev_name": TAP}, "not both"),
        ({"iface_id": "u2", "user_net": {"bogus": 1}}, "bogus"),
        ({"iface_id": "u2"}, "host_dev_name"),
    ]:
        r = c.request("PUT", "/network-interfaces/u2", body)
        assert r.status == 400 and words in r.fault, (body, r.body)


def test_mmds_store(fc):
    """The metadata store: empty until a PUT, PATCH merges (RFC 7396), the
    contract's size limit, objects only; it takes calls before boot without
    making the machine configured."""
    c = fc.client
    r = c.request("GET", "/mmds")
    assert r.status == 200 and r.json() == {}
    r = c.request("PATCH", "/mmds", {"a": 1})
    assert r.status == 400 and "not initialized" in r.fault
    assert c.request("PUT", "/mmds", {"a": {"b": 1, "c": 2}, "d": 1}).status == 204
    assert c.request("PATCH", "/mmds", {"a": {"b": None, "e": [1]}, "d": None}).status == 204
    assert c.request("GET", "/mmds").json() == {"a": {"c": 2, "e": [1]}}
    r = c.request("PUT", "/mmds", [1, 2])
    assert r.status == 400 and "JSON object" in r.fault
    assert c.request("PUT", "/mmds", {"k": "x" * 40000}).status == 204
    r = c.request("PATCH", "/mmds", {"k2": "y" * 20000})
    assert r.status == 400 and "doesn't fit" in r.fault
    assert len(c.request("GET", "/mmds").json()["k"]) == 40000


def test_mmds_config_rules(fc):
    c = fc.client
    assert c.request("PUT", "/network-interfaces/eth0",
                     {"iface_id": "eth0", "user_net": {}}).status == 204
    for body, words in [
        ({"network_interfaces": []}, "empty"),
        ({"network_interfaces": ["eth1"]}, "does not correspond"),
        ({"network_interfaces": ["eth0", "eth0"]}, "twice"),
        ({"network_interfaces": ["eth0"], "ipv4_address": "10.1.2.3"}, "link local"),
        ({"network_interfaces": ["eth0"], "ipv4_address": "169.254.0.9"}, "link local"),
        ({"network_interfaces": ["eth0"], "ipv4_address": "169.254.1.300"}, "link local"),
        ({"network_interfaces": ["eth0"], "version": "V3"}, "version"),
        ({"network_interfaces": [""]}, "network_interfaces"),
    ]:
        r = c.request("PUT", "/mmds/config", body)
        assert r.status == 400 and words in r.fault, (body, r.body)
    assert c.request("PUT", "/mmds/config", {"network_interfaces": ["eth0"], "version": "V2",
                                             "ipv4_address": "169.254.170.2",
                                             "imds_compat": True}).status == 204
    assert c.request("GET", "/vm/config").json()["mmds-config"] == {
        "version": "V2", "network_interfaces": ["eth0"],
        "ipv4_address": "169.254.170.2", "imds_compat": True}


def test_vm_config_reflects_puts(fc):
    c = fc.client
    k = fc.file("vmlinux")
    assert c.request("PUT", "/boot-source", {"kernel_image_path": k,
                                             "boot_args": "console=ttyS0"}).status == 204
    assert c.request("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 256}).status == 204
    assert c.request("PATCH", "/machine-config", {"smt": True}).status == 204
    assert c.request("PUT", "/entropy", {}).status == 204
    cfg = c.request("GET", "/vm/config").json()
    assert cfg["boot-source"] == {"kernel_image_path": k, "boot_args": "console=ttyS0"}
    assert cfg["machine-config"]["vcpu_count"] == 2
    assert cfg["machine-config"]["smt"] is True
    assert cfg["entropy"] == {}
    assert cfg["network-interfaces"] == []


def test_flush_metrics_writes_a_line(fc):
    path = os.path.join(fc.workdir, "metrics.json")
    assert fc.client.request("PUT", "/metrics", {"metrics_path": path}).status == 204
    r = fc.client.request("PUT", "/actions", {"action_type": "FlushMetrics"})
    assert r.status == 204
    with open(path) as f:
        line = json.loads(f.readline())
    assert "utc_timestamp_ms" in line


def test_instance_start_needs_a_kernel(fc):
    r = fc.client.request("PUT", "/actions", {"action_type": "InstanceStart"})
    assert r.status == 400 and "kernel" in r.fault


def test_post_boot_rules(fc):
    if not kvm_usable():
        pytest.skip("/dev/kvm is missing or not usable")
    if not os.path.exists(TEST_KERNEL):
        pytest.skip("no test guest at %s" % TEST_KERNEL)
    c = fc.client
    disk = fc.file("disk.img")
    assert c.request("PUT", "/boot-source", {"kernel_image_path": TEST_KERNEL}).status == 204
    assert c.request("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64}).status == 204
    assert c.request("PUT", "/drives/data", {"drive_id": "data", "path_on_host": disk,
                                             "is_root_device": False}).status == 204
    r = c.request("PUT", "/actions", {"action_type": "InstanceStart"})
    assert r.status == 204, r.body
    assert c.request("GET", "/").json()["state"] in ("Running", "Paused")
    for path, body in [("/machine-config", {"vcpu_count": 1, "mem_size_mib": 64}),
                       ("/boot-source", {"kernel_image_path": TEST_KERNEL}),
                       ("/drives/x", {"drive_id": "x", "path_on_host": disk,
                                      "is_root_device": False}),
                       ("/entropy", {}), ("/serial", {}),
                       ("/mmds/config", {"network_interfaces": []}),
                       ("/logger", {"level": "Info"}),
                       ("/actions", {"action_type": "InstanceStart"})]:
        r = c.request("PUT", path, body)
        assert r.status == 400, (path, r.body)
    r = c.request("PATCH", "/machine-config", {"vcpu_count": 1})
    assert r.status == 400
    assert c.request("GET", "/machine-config").status == 200
    assert c.request("GET", "/vm/config").status == 200
    assert c.request("PUT", "/actions", {"action_type": "FlushMetrics"}).status == 204
    # the store takes calls whatever the VM does
    assert c.request("PUT", "/mmds", {"after": "boot"}).status == 204
    assert c.request("GET", "/mmds").json() == {"after": "boot"}
    r = c.request("PATCH", "/drives/data", {"drive_id": "data", "path_on_host": fc.file("d2.img")})
    assert r.status == 204, r.body
    assert c.request("PATCH", "/vm", {"state": "Paused"}).status == 204
    assert c.request("GET", "/").json()["state"] == "Paused"
    assert c.request("PATCH", "/vm", {"state": "Resumed"}).status == 204


# ---------------------------------------------------- malformed HTTP --

@pytest.mark.parametrize("data,status", [
    (b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\n" + b"X-A: " + b"b" * 9000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(100)) + b"\r\n", 431),
    (b"PUT /boot-source HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1), 413),
    (b"PUT /boot-source HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413),
    (b"PUT /boot-source HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 400),
    (b"PUT /boot-source HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400),
    (b"PUT /boot-source HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 400),
    (b"PUT /boot-source HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 501),
    (b"GET / HTTP/1.1\n\n", 400),
    (b"GET / HTTP/3.0\r\n\r\n", 505),
    (b"\x00\x01\x02\x03garbage\xff\xfe\r\n\r\n", 400),
    (b"GET /\xc3\xa9 HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400),
])
def test_malformed_http(fc, data, status):
    out = raw(fc.sock, data)
    assert status_of(out) == status, out[:300]
    assert b"Connection: close" in out
    assert b"fault_message" in out


def test_body_at_limit_accepted(fc):
    body = json.dumps({"kernel_image_path": "k" * (MAX_BODY - 40)})
    body = body + " " * (MAX_BODY - len(body))
    r = fc.client.request("PUT", "/boot-source", body.encode())
    # A well-formed body of exactly the limit reaches the decoder.
    assert r.status == 400 and "kernel_image_path" in r.fault


def test_body_without_content_length(fc):
    out = raw(fc.sock, b'PUT /boot-source HTTP/1.1\r\n\r\n{"kernel_image_path": "/k"}')
    first, rest = read_response_bytes(out)
    assert status_of(first) == 400  # an empty PUT
    assert status_of(rest) == 400   # the body is garbage as a request


def read_response_bytes(data):
    head, rest = data.split(b"\r\n\r\n", 1)
    n = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
    return head + b"\r\n\r\n" + rest[:n], rest[n:]


def test_lying_content_length_short(fc):
    out = raw(fc.sock, b"PUT /entropy HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}xyz\r\n\r\n")
    first, rest = read_response_bytes(out)
    assert status_of(first) == 204
    assert status_of(rest) == 400


def test_lying_content_length_long(fc):
    s = connect(fc.sock)
    s.sendall(b"PUT /entropy HTTP/1.1\r\nContent-Length: 100\r\n\r\n{}")
    s.shutdown(socket.SHUT_WR)  # the rest never comes
    assert s.recv(100) == b""   # closed without an answer
    s.close()


def test_pipelined(fc):
    reqs = (build_request("GET", "/version")
            + build_request("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 64})
            + build_request("GET", "/machine-config")
            + build_request("GET", "/nope"))
    s = connect(fc.sock)
    s.sendall(reqs)
    buf = b""
    got = []
    for _ in range(4):
        r, buf = read_response(s, buf)
        got.append(r)
    s.close()
    assert [r.status for r in got] == [200, 204, 200, 400]
    assert got[2].json()["vcpu_count"] == 2


def test_half_closed_client_gets_answers(fc):
    s = connect(fc.sock)
    s.sendall(build_request("GET", "/") + build_request("GET", "/version"))
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data.count(b"HTTP/1.1 200 OK") == 2


def test_slow_client(fc):
    s = connect(fc.sock)
    for b in build_request("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 96}):
        s.send(bytes([b]))
        time.sleep(0.001)
    r, _ = read_response(s)
    assert r.status == 204
    s.close()


def test_others_served_while_one_is_slow(fc):
    slow = connect(fc.sock)
    slow.sendall(b"PUT /machine-config HTTP/1.1\r\nContent-Length: 50\r\n\r\n{")
    t0 = time.monotonic()
    assert fc.client.request("GET", "/").status == 200
    assert time.monotonic() - t0 < 1
    slow.close()


@pytest.mark.skipif(not os.environ.get("FIGMENT_SLOW_TESTS"),
                    reason="waits for the 30 s client timeout (FIGMENT_SLOW_TESTS=1)")
def test_idle_client_is_dropped(fc):
    s = connect(fc.sock, timeout=40)
    s.sendall(b"GET / HTTP/1.1\r\n")
    data = s.recv(1000)
    assert data == b"" or status_of(data) == 408


def test_garbage_then_serving(fc):
    for junk in [os.urandom(5000), b"\r\n" * 10, b"\x16\x03\x01" + os.urandom(300)]:
        out = raw(fc.sock, junk)
        assert out == b"" or status_of(out) >= 400
    assert fc.client.request("GET", "/").status == 200


def test_client_vanishes_mid_request(fc):
    for _ in range(20):
        s = connect(fc.sock)
        s.sendall(b"PUT /machine-config HTTP/1.1\r\nContent-Length: 30\r\n\r\n{\"vc")
        s.close()
    assert fc.client.request("GET", "/").status == 200


def test_many_clients(fc):
    socks = []
    try:
        for _ in range(100):
            socks.append(connect(fc.sock))
        answered = refused = 0
        for s in socks:
            try:
                s.sendall(build_request("GET", "/version"))
                r, _ = read_response(s)
                if r.status == 200:
                    answered += 1
                else:
                    refused += 1
            except (ConnectionError, BrokenPipeError, OSError):
                refused += 1
        assert answered >= 60  # the limit is 64, the fixture holds one
        assert answered + refused == 100
    finally:
        for s in socks:
            s.close()
    # Slots come back once clients leave.
    time.sleep(0.1)
    assert Client(fc.sock).request("GET", "/").status == 200


def test_concurrent_clients(fc):
    errors = []

    def worker(n):
        try:
            c = Client(fc.sock)
            for i in range(50):
                r = c.request("PUT", "/machine-config",
                              {"vcpu_count": 1 + (n % 2), "mem_size_mib": 64 + i})
                assert r.status == 204
                assert c.request("GET", "/machine-config").status == 200
            c.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_expect_100_continue(fc):
    s = connect(fc.sock)
    body = json.dumps({"vcpu_count": 1, "mem_size_mib": 64}).encode()
    s.sendall(b"PUT /machine-config HTTP/1.1\r\nExpect: 100-continue\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body))
    r, buf = read_response(s)
    assert r.status == 100
    s.sendall(body)
    r, _ = read_response(s, buf)
    assert r.status == 204
    s.close()


def test_out_of_fds_does_not_spin():
    """With its fd limit reached, figment cannot accept: it must wait for a
    free fd instead of spinning on a listening socket that stays readable,
    and serve again once clients leave."""
    if not os.access(FIGMENT, os.X_OK):
        pytest.skip("no figment binary at %s (set FIGMENT)" % FIGMENT)
    import resource

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (24, 24))

    with tempfile.TemporaryDirectory(prefix="figment-api-") as d:
        sock = os.path.join(d, "api.sock")
        p = subprocess.Popen([FIGMENT, "--api-sock", sock],
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, preexec_fn=low_limit)
        socks = []
        try:
            t0 = time.monotonic()
            while True:
                try:
                    connect(sock).close()
                    break
                except (FileNotFoundError, ConnectionRefusedError):
                    assert p.poll() is None and time.monotonic() - t0 < 10
                    time.sleep(0.005)
            for _ in range(30):  # more than the fds left: some wait in the backlog
                socks.append(connect(sock))
            time.sleep(0.3)

            def cpu_ticks():
                with open("/proc/%d/stat" % p.pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                return int(fields[11]) + int(fields[12])

            c0 = cpu_ticks()
            time.sleep(1)
            used = cpu_ticks() - c0
            assert used < 0.3 * os.sysconf("SC_CLK_TCK"), \
                "figment burnt %d ticks in 1 s while out of fds" % used
            for s in socks:
                s.close()
            socks = []
            time.sleep(0.5)
            c = Client(sock)
            assert c.request("GET", "/").status == 200
            c.close()
            assert p.poll() is None
        finally:
            for s in socks:
                s.close()
            p.terminate()
            p.wait(5)


# ------------------------------------- files named in a request (containment) --

def test_boot_source_files_are_opened_at_the_call(fc):
    """As Firecracker: a kernel or initrd that cannot be opened fails
    PUT /boot-source itself, with the reason."""
    c = fc.client
    missing = os.path.join(fc.workdir, "no-such-kernel")
    r = c.request("PUT", "/boot-source", {"kernel_image_path": missing})
    assert r.status == 400 and missing in r.fault and "No such file" in r.fault
    r = c.request("PUT", "/boot-source", {"kernel_image_path": fc.workdir})
    assert r.status == 400 and "is a directory" in r.fault
    r = c.request("PUT", "/boot-source", {"kernel_image_path": fc.file("k"),
                                          "initrd_path": missing})
    assert r.status == 400 and "initrd" in r.fault
    # nothing of the refused calls was kept
    kept = c.request("GET", "/vm/config").json().get("boot-source") or {}
    assert kept.get("kernel_image_path") != missing
    assert c.request("PUT", "/boot-source", {"kernel_image_path": fc.file("k")}).status == 204


def test_drive_file_is_opened_at_the_call(fc):
    c = fc.client
    missing = os.path.join(fc.workdir, "no-such-disk")
    r = c.request("PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": missing,
                                            "is_root_device": True, "is_read_only": False})
    assert r.status == 400 and missing in r.fault
    assert c.request("GET", "/vm/config").json().get("drives", []) == []


def _fifo(fc, name):
    p = os.path.join(fc.workdir, name)
    os.mkfifo(p)
    return p


def test_fifo_paths_never_wedge_the_api(fc):
    """A FIFO with nobody on the other end used to block the API thread in
    open() for good; now each call answers at once."""
    c = fc.client
    t0 = time.monotonic()
    r = c.request("PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": _fifo(fc, "d"),
                                            "is_root_device": False, "is_read_only": True})
    assert r.status == 400 and "is a FIFO" in r.fault
    r = c.request("PUT", "/boot-source", {"kernel_image_path": _fifo(fc, "k")})
    assert r.status == 400 and "is a FIFO" in r.fault
    r = c.request("PUT", "/logger", {"log_path": _fifo(fc, "log"), "level": "Info"})
    assert r.status == 400 and "no reader" in r.fault
    r = c.request("PUT", "/metrics", {"metrics_path": _fifo(fc, "metrics")})
    assert r.status == 400 and "no reader" in r.fault
    assert time.monotonic() - t0 < 5
    assert c.request("GET", "/").status == 200


def test_logger_fifo_with_a_reader_is_accepted(fc):
    p = _fifo(fc, "log")
    rd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    try:
        r = fc.client.request("PUT", "/logger", {"log_path": p, "level": "Info"})
        assert r.status == 204, r.body
    finally:
        os.close(rd)


@pytest.mark.parametrize("ident", ["4a0e2f6c-9b9e-4d5f-8c8e-0f2a1b3c4d5e", "vm-1", "a" * 64])
def test_instance_id_as_firecracker_accepts(ident, tmp_path):
    sock = str(tmp_path / "s")
    p = subprocess.Popen([FIGMENT, "--api-sock", sock, "--id", ident],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        for _ in range(500):
            if os.path.exists(sock) or p.poll() is not None:
                break
            time.sleep(0.01)
        assert p.poll() is None, p.stderr.read()
        c = Client(sock)
        assert c.request("GET", "/").json()["id"] == ident
        c.close()
    finally:
        p.terminate()
        p.wait(5)


@pytest.mark.parametrize("ident", ["a/b", "..", "a_b", "a" * 65, ""])
def test_instance_id_refused(ident, tmp_path):
    r = subprocess.run([FIGMENT, "--api-sock", str(tmp_path / "s"), "--id", ident],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "invalid --id" in r.stderr


def test_vsock_rules(fc):
    c = fc.client
    uds = os.path.join(fc.workdir, "v.sock")
    r = c.request("PUT", "/vsock", {"guest_cid": 3, "uds_path": uds})
    assert r.status == 204, r.body
    cfg = c.request("GET", "/vm/config").json()
    assert cfg["vsock"] == {"guest_cid": 3, "uds_path": uds}
    # the deprecated vsock_id is taken; a second PUT replaces the first
    r = c.request("PUT", "/vsock", {"vsock_id": "vsock0", "guest_cid": 42,
                                    "uds_path": uds})
    assert r.status == 204, r.body
    assert c.request("GET", "/vm/config").json()["vsock"]["guest_cid"] == 42
    bad = [({"guest_cid": 2, "uds_path": uds}, "guest_cid"),
           ({"guest_cid": 0, "uds_path": uds}, "guest_cid"),
           ({"guest_cid": 4294967295, "uds_path": uds}, "guest_cid"),
           ({"guest_cid": 3, "uds_path": "/tmp/" + "x" * 110}, "uds_path"),
           ({"guest_cid": 3, "uds_path": ""}, "uds_path"),
           ({"guest_cid": 3, "uds_path": "/no/such/folder/v.sock"}, "does not exist"),
           ({"guest_cid": 3, "uds_path": fc.file("regular")}, "not a Unix socket"),
           ({"guest_cid": 3, "uds_path": fc.workdir + "/"}, "folder"),
           ({"guest_cid": "3", "uds_path": uds}, "guest_cid"),
           ({"guest_cid": 3}, "uds_path")]
    for body, word in bad:
        r = c.request("PUT", "/vsock", body)
        assert r.status == 400, (body, r.body)
        assert word in r.fault, (body, r.fault)
    # the refused calls changed nothing
    assert c.request("GET", "/vm/config").json()["vsock"]["guest_cid"] == 42
    for override in ({"uds_path": 1}, {"uds_path": ""}, {"path": uds},
                     {"uds_path": "/tmp/" + "y" * 110}, "x"):
        r = c.request("PUT", "/snapshot/load", {"snapshot_path": "s",
                                                "mem_file_path": "m",
                                                "vsock_override": override})
        assert r.status == 400 and "vsock_override" in r.fault, (override, r.fault)


def test_snapshot_bodies_are_checked(fc):
    c = fc.client
    r = c.request("PUT", "/snapshot/load", {"snapshot_path": "s", "mem_file_path": "m", "bogus": 1})
    assert r.status == 400 and "bogus" in r.fault
    r = c.request("PUT", "/snapshot/load", {"snapshot_path": "s", "mem_file_path": "m",
                                            "resume_vm": "yes"})
    assert r.status == 400 and "resume_vm" in r.fault
    r = c.request("PUT", "/snapshot/load", {"mem_file_path": "m"})
    assert r.status == 400 and "snapshot_path" in r.fault
    r = c.request("PUT", "/snapshot/load", {"snapshot_path": "s"})
    assert r.status == 400 and "mem_backend" in r.fault
    r = c.request("PUT", "/snapshot/load", {"snapshot_path": "s", "mem_backend": {
        "backend_type": "Floppy", "backend_path": "m"}})
    assert r.status == 400 and "backend_type" in r.fault
    r = c.request("PUT", "/snapshot/create", {"snapshot_path": "s", "mem_file_path": "m",
                                              "snapshot_type": "Partial"})
    assert r.status == 400 and "snapshot_type" in r.fault
    r = c.request("PUT", "/snapshot/create", {"snapshot_path": "s", "mem_file_path": "m"})
    assert r.status == 400 and r.fault  # no VM to snapshot yet
    # garbage where a snapshot should be: refused by the VMM, API still up
    r = c.request("PUT", "/snapshot/load", {"snapshot_path": fc.file("junk", 4096),
                                            "mem_file_path": fc.file("mem")})
    assert r.status == 400 and "not a figment snapshot" in r.fault, r.fault
    assert c.request("GET", "/").status == 200


def test_balloon_rules_before_boot(fc):
    c = fc.client
    # nothing configured: every balloon call says so
    r = c.request("GET", "/balloon")
    assert r.status == 400 and "No balloon device" in r.fault
    r = c.request("PATCH", "/balloon", {"amount_mib": 1})
    assert r.status == 400 and "No balloon device" in r.fault
    r = c.request("PATCH", "/balloon/statistics", {"stats_polling_interval_s": 1})
    assert r.status == 400 and "No balloon device" in r.fault
    assert c.request("GET", "/vm/config").json()["balloon"] is None
    r = c.request("PUT", "/balloon", {"amount_mib": 64, "deflate_on_oom": True,
                                      "stats_polling_interval_s": 5,
                                      "free_page_reporting": True})
    assert r.status == 204, r.body
    assert c.request("GET", "/balloon").json() == {
        "amount_mib": 64, "deflate_on_oom": True, "stats_polling_interval_s": 5,
        "free_page_hinting": False, "free_page_reporting": True}
    assert c.request("GET", "/vm/config").json()["balloon"]["amount_mib"] == 64
    # PATCHes before boot change the configuration
    assert c.request("PATCH", "/balloon", {"amount_mib": 32}).status == 204
    assert c.request("PATCH", "/balloon/statistics",
                     {"stats_polling_interval_s": 0}).status == 204
    got = c.request("GET", "/balloon").json()
    assert got["amount_mib"] == 32 and got["stats_polling_interval_s"] == 0
    bad = [("PUT", "/balloon", {"amount_mib": 129, "deflate_on_oom": False}, "larger than the guest's RAM"),
           ("PUT", "/balloon", {"amount_mib": 1, "deflate_on_oom": False,
                                "stats_polling_interval_s": 65536}, "stats_polling_interval_s"),
           ("PUT", "/balloon", {"amount_mib": 1}, "deflate_on_oom"),
           ("PATCH", "/balloon", {"amount_mib": 200}, "larger than the guest's RAM"),
           ("PATCH", "/balloon", {"amount_mib": 1, "deflate_on_oom": True}, "deflate_on_oom"),
           ("PATCH", "/balloon/statistics", {"stats_polling_interval_s": -1},
            "stats_polling_interval_s"),
           ("PATCH", "/balloon/hinting/start", {"acknowledge_on_stop": 1}, "acknowledge_on_stop"),
           ("PATCH", "/balloon/hinting/start", None, "before starting"),
           ("PATCH", "/balloon/hinting/stop", None, "before starting"),
           ("PATCH", "/balloon/hinting/stop", {"x": 1}, "x"),
           ("GET", "/balloon/statistics", None, "before starting"),
           ("GET", "/balloon/hinting/status", None, "before starting")]
    for method, path, body, word in bad:
        r = c.request(method, path, body)
        assert r.status == 400, (method, path, body, r.body)
        assert word in r.fault, (method, path, r.fault)
    assert c.request("GET", "/balloon").json()["amount_mib"] == 32, "refused calls change nothing"
    # a smaller machine than the balloon fails at the start, clearly
    assert c.request("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 16}).status == 204
    c.request("PUT", "/boot-source", {"kernel_image_path": fc.file("vmlinux")})
    r = c.request("PUT", "/actions", {"action_type": "InstanceStart"})
    assert r.status == 400 and "larger than the guest's RAM" in r.fault, r.body


def test_balloon_after_boot(fc):
    if not kvm_usable():
        pytest.skip("/dev/kvm is missing or not usable")
    if not os.path.exists(TEST_KERNEL):
        pytest.skip("no test guest at %s" % TEST_KERNEL)
    c = fc.client
    assert c.request("PUT", "/boot-source", {"kernel_image_path": TEST_KERNEL}).status == 204
    assert c.request("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64}).status == 204
    assert c.request("PUT", "/balloon", {"amount_mib": 8, "deflate_on_oom": False,
                                         "stats_polling_interval_s": 2}).status == 204
    r = c.request("PUT", "/actions", {"action_type": "InstanceStart"})
    assert r.status == 204, r.body
    # the contract's pre-boot calls are refused now
    r = c.request("PUT", "/balloon", {"amount_mib": 1, "deflate_on_oom": False})
    assert r.status == 400 and "after starting" in r.fault
    # the target moves (the test guest has no driver: it never inflates)
    assert c.request("PATCH", "/balloon", {"amount_mib": 16}).status == 204
    assert c.request("GET", "/balloon").json()["amount_mib"] == 16
    assert c.request("GET", "/vm/config").json()["balloon"]["amount_mib"] == 16
    r = c.request("PATCH", "/balloon", {"amount_mib": 65})
    assert r.status == 400 and "larger than the guest's RAM" in r.fault
    st = c.request("GET", "/balloon/statistics")
    assert st.status == 200, st.body
    assert st.json() == {"target_pages": 16 * 256, "actual_pages": 0,
                         "target_mib": 16, "actual_mib": 0}
    # statistics stay on: the interval changes, 0 is refused
    assert c.request("PATCH", "/balloon/statistics",
                     {"stats_polling_interval_s": 9}).status == 204
    r = c.request("PATCH", "/balloon/statistics", {"stats_polling_interval_s": 0})
    assert r.status == 400 and "enable/disable" in r.fault
    assert c.request("GET", "/balloon").json()["stats_polling_interval_s"] == 9
    # hinting was not configured
    for method, path in [("PATCH", "/balloon/hinting/start"),
                         ("PATCH", "/balloon/hinting/stop"),
                         ("GET", "/balloon/hinting/status")]:
        r = c.request(method, path, {} if method == "PATCH" else None)
        assert r.status == 400 and "not enabled" in r.fault, (path, r.body)
    r = c.request("PUT", "/actions", {"action_type": "FlushMetrics"})
    assert r.status == 204


def test_balloon_stats_off_after_boot(fc):
    if not kvm_usable():
        pytest.skip("/dev/kvm is missing or not usable")
    if not os.path.exists(TEST_KERNEL):
        pytest.skip("no test guest at %s" % TEST_KERNEL)
    c = fc.client
    assert c.request("PUT", "/boot-source", {"kernel_image_path": TEST_KERNEL}).status == 204
    assert c.request("PUT", "/balloon", {"amount_mib": 0, "deflate_on_oom": True,
                                         "free_page_hinting": True}).status == 204
    assert c.request("PUT", "/actions", {"action_type": "InstanceStart"}).status == 204
    r = c.request("GET", "/balloon/statistics")
    assert r.status == 400 and "not enabled" in r.fault
    r = c.request("PATCH", "/balloon/statistics", {"stats_polling_interval_s": 3})
    assert r.status == 400 and "enable/disable" in r.fault
    # hinting is configured, but no driver took it
    assert c.request("GET", "/balloon/hinting/status").json() == {"host_cmd": 0}
    r = c.request("PATCH", "/balloon/hinting/start")
    assert r.status == 400 and "driver" in r.fault
