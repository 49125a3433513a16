"""OCI images for the container tests, built with umoci (Debian's) from a
busybox rootfs: the tests make their own images, nothing is fetched."""
import json
import os
import shutil
import subprocess
from pathlib import Path

BUSYBOX = "/bin/busybox"
APPLETS = ["sh", "echo", "cat", "id", "pwd", "env", "ls", "true", "false", "sleep",
           "wc", "head", "sha256sum", "dd", "printf", "test", "hostname", "sync"]

PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
GROUP = "root:x:0:\nstaff:x:50:app\napp:x:1000:\n"


def sh(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    assert r.returncode == 0, f"{cmd}: {r.stdout}{r.stderr}"
    return r.stdout


def busybox_rootfs(root):
    """A busybox rootfs in @root: /bin/busybox, absolute applet symlinks,
    /etc/passwd and /etc/group with a user app (1000) in group staff."""
    root = Path(root)
    (root / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy(BUSYBOX, root / "bin" / "busybox")
    for a in APPLETS:
        os.symlink("/bin/busybox", root / "bin" / a)
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    (root / "home" / "app").mkdir(parents=True)
    os.chown(root / "home" / "app", 1000, 1000)
    (root / "srv" / "app").mkdir(parents=True)
    (root / "srv" / "app" / "hello.txt").write_text("hello from the image\n")


def busybox_image(layout, tag="latest", config=None, extra_layer=None):
    """An OCI layout at @layout (umoci init/new/unpack/repack/config) with
    the busybox rootfs, and optionally a second layer made by
    @extra_layer(rootfs_path). @config: umoci config flags."""
    layout = str(layout)
    work = Path(layout + ".work")
    sh(["umoci", "init", "--layout", layout])
    sh(["umoci", "new", "--image", f"{layout}:{tag}"])
    sh(["umoci", "unpack", "--image", f"{layout}:{tag}", str(work)])
    busybox_rootfs(work / "rootfs")
    sh(["umoci", "repack", "--image", f"{layout}:{tag}", str(work)])
    if extra_layer:
        shutil.rmtree(work)
        sh(["umoci", "unpack", "--image", f"{layout}:{tag}", str(work)])
        extra_layer(work / "rootfs")
        sh(["umoci", "repack", "--image", f"{layout}:{tag}", str(work)])
    shutil.rmtree(work)
    if config:
        sh(["umoci", "config", "--image", f"{layout}:{tag}"] + config)
    sh(["umoci", "gc", "--layout", layout])
    return layout


def manifest_digest(layout):
    idx = json.loads((Path(layout) / "index.json").read_text())
    return idx["manifests"][0]["digest"]


def blob(layout, digest):
    return Path(layout) / "blobs" / "sha256" / digest.split(":", 1)[1]


def manifest(layout):
    return json.loads(blob(layout, manifest_digest(layout)).read_text())


def _put_blob(layout, data):
    import hashlib
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    blob(layout, d).write_bytes(data)
    return d


def replace_layer(layout, data, index=0):
    """Puts @data in as layer @index, with a manifest and index that name it
    correctly (so only the layer's content is wrong)."""
    m = manifest(layout)
    m["layers"][index]["digest"] = _put_blob(layout, data)
    m["layers"][index]["size"] = len(data)
    mb = json.dumps(m).encode()
    idx = json.loads((Path(layout) / "index.json").read_text())
    idx["manifests"][0]["digest"] = _put_blob(layout, mb)
    idx["manifests"][0]["size"] = len(mb)
    (Path(layout) / "index.json").write_text(json.dumps(idx))


def tar_bytes(members, gzip=True):
    """A tar of (name, kind, data) members: kind 'f' file, 'l' symlink (data
    the target), 'h' hard link, 'c' character device."""
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gzip else "w") as t:
        for name, kind, data in members:
            ti = tarfile.TarInfo(name)
            if kind == "f":
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
                continue
            ti.type = {"l": tarfile.SYMTYPE, "h": tarfile.LNKTYPE, "c": tarfile.CHRTYPE}[kind]
            if kind in "lh":
                ti.linkname = data
            t.addfile(ti)
    return buf.getvalue()
