#!/usr/bin/env python3
# Writes the seed inputs in tests/fuzz/corpus/<harness>/ (checked in; rerun
# after changing an input format). Each seed is a well-formed case so the
# fuzzer starts from requests that reach deep into the code.
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4


def desc(addr, length, flags=0, nxt=0):
    return struct.pack("<QIHH", addr, length, flags, nxt)


class Ram:
    def __init__(self, size):
        self.b = bytearray(size)

    def put(self, gpa, data):
        self.b[gpa:gpa + len(data)] = data

    def trimmed(self):
        return bytes(self.b.rstrip(b"\0"))


def write(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def rings(ram, descs, heads, desc_gpa, avail_gpa, table=None):
    for i, dsc in enumerate(descs):
        ram.put(desc_gpa + 16 * i, dsc)
    for i, h in enumerate(heads):
        ram.put(avail_gpa + 4 + 2 * i, struct.pack("<H", h))
    ram.put(avail_gpa + 2, struct.pack("<H", len(heads)))
    if table:
        gpa, entries = table
        for i, dsc in enumerate(entries):
            ram.put(gpa + 16 * i, dsc)


# fuzz_virtqueue: 12-byte header, then RAM from gpa 0.
def vq_seed(name, flags, descs, heads, table=None, adds=0):
    ram = Ram(0x10000)
    rings(ram, descs, heads, 0x1000, 0x3000, table)
    hdr = struct.pack("<BBHHHHH", 4, flags, 0x1000, 0x3000, 0x4000, 100, adds)
    write("fuzz_virtqueue", name, hdr + ram.trimmed())


vq_seed("simple", 0, [desc(0x8000, 16, F_NEXT, 1),
                      desc(0x9000, 512, F_NEXT | F_WRITE, 2),
                      desc(0xa000, 1, F_WRITE)], [0])
vq_seed("two_chains_event_idx", 2, [desc(0x8000, 64), desc(0x9000, 64, F_WRITE)],
        [0, 1], adds=1)
vq_seed("indirect", 1, [desc(0x6000, 48, F_INDIRECT)], [0],
        table=(0x6000, [desc(0x8000, 16, F_NEXT, 1),
                        desc(0x9000, 100, F_NEXT | F_WRITE, 2),
                        desc(0xa000, 1, F_WRITE)]))
vq_seed("loop", 0, [desc(0x8000, 16, F_NEXT, 1), desc(0x8000, 16, F_NEXT, 0)], [0])
vq_seed("hold", 4 | 2, [desc(0x8000, 8)] * 4, [0, 1, 2, 3])

# fuzz_virtio_blk: options, queue size exponent, then RAM (desc 0,
# avail 0x1000, used 0x2000).
T_IN, T_OUT, T_FLUSH, T_GET_ID, T_DISCARD, T_WZ = 0, 1, 4, 8, 11, 13


def blk_seed(name, opt, reqs, indirect=False):
    ram = Ram(0x10000)
    descs, heads = [], []
    hdr_gpa, data_gpa, st_gpa = 0x3000, 0x4000, 0x8000
    for k, (typ, sector, dlen, dwrite, payload) in enumerate(reqs):
        h = hdr_gpa + 16 * k
        ram.put(h, struct.pack("<IIQ", typ, 0, sector))
        dgpa = data_gpa + 0x800 * k
        if payload:
            ram.put(dgpa, payload)
        chain = [(h, 16, 0)]
        if dlen:
            chain.append((dgpa, dlen, F_WRITE if dwrite else 0))
        chain.append((st_gpa + k, 1, F_WRITE))
        if indirect:
            tgpa = 0x9000 + 0x100 * k
            for i, (a, ln, fl) in enumerate(chain):
                nxt = F_NEXT if i < len(chain) - 1 else 0
                ram.put(tgpa + 16 * i, desc(a, ln, fl | nxt, i + 1))
            heads.append(len(descs))
            descs.append(desc(tgpa, 16 * len(chain), F_INDIRECT))
            continue
        heads.append(len(descs))
        base = len(descs)
        for i, (a, ln, fl) in enumerate(chain):
            nxt = F_NEXT if i < len(chain) - 1 else 0
            descs.append(desc(a, ln, fl | nxt, base + i + 1))
    rings(ram, descs, heads, 0, 0x1000)
    write("fuzz_virtio_blk", name, bytes([opt, 5]) + ram.trimmed())


dz = struct.pack("<QII", 2, 4, 0)
blk_seed("read", 0, [(T_IN, 1, 1024, True, None)])
blk_seed("write", 0, [(T_OUT, 3, 512, False, b"\x5a" * 512)])
blk_seed("mixed", 2, [(T_IN, 0, 512, True, None), (T_FLUSH, 0, 0, False, None),
                      (T_GET_ID, 0, 20, True, None),
                      (T_OUT, 60, 2048, False, b"\x01" * 2048)])
blk_seed("discard_zeroes", 0, [(T_DISCARD, 0, 16, False, dz),
                               (T_WZ, 0, 16, False, dz)])
blk_seed("indirect", 1, [(T_IN, 7, 512, True, None), (T_OUT, 8, 512, False, None)],
         indirect=True)
blk_seed("read_only_write", 4, [(T_OUT, 1, 512, False, None)])
blk_seed("out_of_range", 0, [(T_IN, 63, 1024, True, None),
                             (T_IN, 2**64 - 1, 512, True, None)])


# fuzz_virtio_mmio: device byte, then 11-byte ops (opcode, 10 argument bytes).
def op(code, off=0, val=b""):
    args = struct.pack("<H", off) + val
    return bytes([code]) + args.ljust(10, b"\0")[:10]


def poke(gpa, data8):
    return op(4, gpa, data8.ljust(8, b"\0"))


def mmio_seed(name, dev, ops):
    write("fuzz_virtio_mmio", name, bytes([dev]) + b"".join(ops))


regs = [0x0, 0x4, 0x8, 0xc, 0x10, 0x34, 0x44, 0x60, 0x70, 0xfc, 0x100, 0x108]
reads = [op(0 | (2 << 3), r) for r in regs]
up = bytes([5]) + struct.pack("<II", 0x30000000, 0) + bytes([4, 0])
rng_chain = [poke(0, desc(0x8000, 64, F_WRITE)[:8]),
             poke(8, desc(0x8000, 64, F_WRITE)[8:]),
             poke(0x1002, struct.pack("<H", 1)),
             op(3, 0, struct.pack("<I", 0))]
mmio_seed("rng_up_and_kick", 0, reads + [up] + rng_chain + reads + [op(6)])
blk_read = [poke(0x3000, struct.pack("<IIQ", 0, 0, 1)[:8]),
            poke(0x3008, struct.pack("<IIQ", 0, 0, 1)[8:]),
            poke(0, desc(0x3000, 16, F_NEXT, 1)[:8]),
            poke(8, desc(0x3000, 16, F_NEXT, 1)[8:]),
            poke(16, desc(0x4000, 512, F_NEXT | F_WRITE, 2)[:8]),
            poke(24, desc(0x4000, 512, F_NEXT | F_WRITE, 2)[8:]),
            poke(32, desc(0x5000, 1, F_WRITE)[:8]),
            poke(40, desc(0x5000, 1, F_WRITE)[8:]),
            poke(0x1002, struct.pack("<H", 1)),
            op(1, 0x50, struct.pack("<I", 0))]
mmio_seed("blk_up_and_read", 1, [up] + blk_read + reads + [op(7, 0, b"\xff" * 4)])
manual = [op(1, 0x70, struct.pack("<I", s)) for s in (1, 3)] + \
    [op(1, 0x24, struct.pack("<I", 1)), op(1, 0x20, struct.pack("<I", 1)),
     op(1, 0x70, struct.pack("<I", 0xb)), op(1, 0x38, struct.pack("<I", 8)),
     op(1, 0x90, struct.pack("<I", 0x1000)), op(1, 0xa0, struct.pack("<I", 0x2000)),
     op(1, 0x44, struct.pack("<I", 1)), op(1, 0x70, struct.pack("<I", 0xf))]
mmio_seed("manual_bring_up", 0, manual + reads)
widths = [op(c | (w << 3), o) for c in (0, 2) for w in range(4)
          for o in (0, 1, 2, 3, 0x70, 0x100, 0x103)]
mmio_seed("widths", 1, widths)


# fuzz_snapshot: a mode byte (bit 0: the harness fixes the CRC), then a
# snapshot state file as docs/snapshot-format.md describes it.
def snapshot(sections, vendor=b"GenuineIntel", fms=0x000906ea):
    import zlib
    start = 48 + 24 * len(sections)
    table, payload = b"", b""
    for typ, inst, data in sections:
        payload += b"\0" * (-len(payload) % 8)
        table += struct.pack("<IIQQ", typ, inst, start + len(payload), len(data))
        payload += data
    total = start + len(payload) + 4
    hdr = struct.pack("<8sIII12sIIQ", b"FIGSNAP\0", 1, 1, 48, vendor, fms,
                      len(sections), total)
    body = hdr + table + payload
    return body + struct.pack("<I", zlib.crc32(body))


def snap_seed(name, mode, sections, **kw):
    write("fuzz_snapshot", name, bytes([mode]) + snapshot(sections, **kw))


snap_seed("empty", 0, [])
snap_seed("small", 0, [(1, 0, b"hello"), (1, 1, bytes(range(1, 17))),
                       (2, 0, b""), (3, 7, b"\1\2\3")])
vcpu = struct.pack("<QQQ", 0xfff0, 0x8000, 0x202) + struct.pack("<I", 5) + b"vcpu0"
snap_seed("vcpus", 2, [(0x100, i, vcpu) for i in range(4)] +
          [(0x200, 0, struct.pack("<BHIQ", 1, 2, 3, 4))], vendor=b"AuthenticAMD",
          fms=0x00a50f00)
snap_seed("crc_fixup", 1 | 8, [(5, 1, b"\xaa" * 24), (5, 2, b"\x55" * 9),
                               (6, 0, struct.pack("<I", 40) + b"x" * 40)])


def net_seed(name, features, qexp, frame_len, rx_bufs, tx_chain):
    """fuzz_virtio_net: features, queue sizes, a frame length, then guest
    RAM with the receive ring at 0 (buffers from 0x10000) and the transmit
    ring at 0x4000 (its chain from 0x20000)."""
    ram = Ram(0x30000)
    descs = [desc(0x10000 + 0x1000 * i, n, F_WRITE) for i, n in enumerate(rx_bufs)]
    rings(ram, descs, list(range(len(rx_bufs))), 0, 0x1000)
    tx = []
    for i, n in enumerate(tx_chain):
        last = i == len(tx_chain) - 1
        tx.append(desc(0x20000 + 0x1000 * i, n, 0 if last else F_NEXT, i + 1))
    rings(ram, tx, [0], 0x4000, 0x5000)
    head = struct.pack("<Q", features) + bytes(qexp) + struct.pack(">H", frame_len)
    write("fuzz_virtio_net", name, head + ram.trimmed())


ALL_NET = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 5) | (0xf << 7) | (0x7 << 11) | (1 << 15) | (1 << 16)
net_seed("mergeable", ALL_NET, [4, 4], 1000, [512, 512, 512], [12, 100])
net_seed("plain", 1 << 5, [3, 3], 1500, [4096], [12, 40, 20])
net_seed("short_chain", ALL_NET, [4, 2], 20, [8], [6])


def user_net_seed(name, cut, frames, tail=b""):
    """fuzz_user_net: how the stream is cut, then length-prefixed frames."""
    data = bytes([cut]) + b"".join(struct.pack(">I", len(f)) + f for f in frames) + tail
    write("fuzz_user_net", name, data)


user_net_seed("two_frames", 3, [b"\x11" * 60, b"\x22" * 1500])
user_net_seed("torn", 0, [b"\x33" * 64], struct.pack(">I", 100) + b"x" * 10)
user_net_seed("bad_length", 9, [b"\x44" * 14], struct.pack(">I", 0x7fffffff))
def vsock_pkt(op, src_port, dst_port, payload=b"", flags=0, buf_alloc=65536,
              fwd_cnt=0, src_cid=3, dst_cid=2, typ=1):
    return struct.pack("<QQIIIHHIII", src_cid, dst_cid, src_port, dst_port,
                       len(payload), typ, op, flags, buf_alloc, fwd_cnt) + payload


def vsock_seed(name, packets, line=b"", hosts=0, port=52, ndata=8,
               shut=0, close=0, rx_bufs=8, rx_len=4096, qexp=(4, 4, 2)):
    """fuzz_virtio_vsock: features, queue sizes, host programs (the first
    writes @line), then guest RAM: the receive ring at 0 (buffers from
    0x10000), the transmit ring at 0x4000 (one packet per chain, from
    0x20000), the event ring at 0x8000 (buffers from 0x38000)."""
    ram = Ram(0x40000)
    rx = [desc(0x10000 + 0x1000 * i, rx_len, F_WRITE) for i in range(rx_bufs)]
    rings(ram, rx, list(range(rx_bufs)), 0, 0x1000)
    tx = []
    for i, p in enumerate(packets):
        gpa = 0x20000 + 0x1000 * i
        ram.put(gpa, p)
        tx.append(desc(gpa, len(p)))
    rings(ram, tx, list(range(len(tx))), 0x4000, 0x5000)
    rings(ram, [desc(0x38000, 4, F_WRITE), desc(0x38010, 4, F_WRITE)], [0, 1],
          0x8000, 0x9000)
    head = struct.pack("<Q", 1 << 32) + bytes(qexp) + bytes([hosts, port, ndata, shut, close])
    head += line.ljust(32, b"\0")[:32]
    assert len(head) == 48
    write("fuzz_virtio_vsock", name, head + ram.trimmed())


OP_REQ, OP_RESP, OP_RST, OP_SHUT, OP_RW, OP_CU, OP_CR = range(1, 8)
vsock_seed("guest_connects", [vsock_pkt(OP_REQ, 1000, 1234),
                              vsock_pkt(OP_RW, 1000, 1234, b"hello"),
                              vsock_pkt(OP_CR, 1000, 1234),
                              vsock_pkt(OP_SHUT, 1000, 1234, flags=3)])
vsock_seed("host_connects", [vsock_pkt(OP_RESP, 52, 1 << 30),
                             vsock_pkt(OP_RW, 52, 1 << 30, b"back"),
                             vsock_pkt(OP_RST, 52, 1 << 30)],
           line=b"CONNECT 52\n", hosts=3)
vsock_seed("hostile", [vsock_pkt(OP_RW, 1, 2, b"x")[:30],
                       vsock_pkt(9, 1000, 1234),
                       vsock_pkt(OP_REQ, 1000, 1234, typ=2),
                       vsock_pkt(OP_REQ, 1000, 1234, src_cid=7),
                       vsock_pkt(OP_REQ, 1000, 1234, dst_cid=5),
                       vsock_pkt(OP_REQ, 1001, 4321),
                       vsock_pkt(OP_REQ, 1002, 1234, buf_alloc=0),
                       vsock_pkt(OP_RW, 1002, 1234, b"y" * 3000)],
           line=b"CONNECT x\n", hosts=1, rx_len=44, shut=0xff, close=1)
vsock_seed("half_close", [vsock_pkt(OP_REQ, 1000, 1234),
                          vsock_pkt(OP_SHUT, 1000, 1234, flags=2),
                          vsock_pkt(OP_RW, 1000, 1234, b"late"),
                          vsock_pkt(OP_CU, 1000, 1234, buf_alloc=10, fwd_cnt=5)],
           shut=1, ndata=31)


def mmds_seg(flags, data=b"", port=0, dseq=0, dack=0, wnd=65535):
    return bytes([1, flags, port, dseq & 0xff, dack & 0xff]) + struct.pack(">H", wnd) + bytes([len(data)]) + data


def mmds_seed(name, mode, records):
    """fuzz_mmds: V1/V2 (bit 0), imds_compat (bit 1), then records (see the
    harness): 0 raw frame, 1 segment, 2 time, 3 read."""
    write("fuzz_mmds", name, bytes([mode]) + b"".join(records))


SYN, ACK, PSH, FIN, RST = 2, 16, 8, 1, 4
READ = b"\x03"
mmds_seed("get_v1", 0, [mmds_seg(SYN), READ, mmds_seg(ACK),
                        mmds_seg(ACK | PSH, b"GET /latest/meta-data/ HTTP/1.0\r\n\r\n"),
                        READ, mmds_seg(ACK), READ, mmds_seg(ACK | FIN), READ])
mmds_seed("token_v2", 1, [mmds_seg(SYN), READ, mmds_seg(ACK),
                          mmds_seg(ACK | PSH, b"PUT /latest/api/token HTTP/1.1\r\n"
                                   b"X-metadata-token-ttl-seconds: 60\r\n\r\n"),
                          READ, mmds_seg(ACK),
                          mmds_seg(ACK | PSH, b"GET /big HTTP/1.1\r\nAccept: application/json\r\n\r\n"),
                          READ, mmds_seg(ACK, wnd=100), READ, b"\x02\x05", READ])
mmds_seed("timeouts", 2, [mmds_seg(SYN, port=1), READ] + [b"\x02\x09", READ] * 8)
arp = (b"\xff" * 6 + b"\x06\x00\xac\x10\x00\x02\x08\x06" + b"\x00\x01\x08\x00\x06\x04\x00\x01"
       + b"\x06\x00\xac\x10\x00\x02\xac\x10\x00\x02" + b"\x00" * 6 + b"\xa9\xfe\xa9\xfe")
mmds_seed("arp_and_strays", 0, [b"\x00" + bytes([len(arp)]) + arp, READ,
                                mmds_seg(ACK, port=2), mmds_seg(RST, port=3), READ])


def balloon_seed(name, cfg, queues, hint=0, target=4, interval=1, poison=(0, 0)):
    """fuzz_virtio_balloon: features, queue sizes, the configuration bits
    (1 stats, 2 hinting, 4 reporting, 8 deflate_on_oom), a config write,
    the host's calls, then guest RAM: queue q's ring at 0x4000 * q, each
    @queues[q] a list of (payload or length, writable) buffers from
    0x20000 + 0x4000 * q."""
    ram = Ram(0x40000)
    for q, bufs in enumerate(queues):
        descs = []
        for i, (payload, writable) in enumerate(bufs):
            gpa = 0x20000 + 0x4000 * q + 0x1000 * i
            if isinstance(payload, bytes):
                ram.put(gpa, payload)
                length = len(payload)
            else:
                length = payload
            descs.append(desc(gpa, length, F_WRITE if writable else 0))
        rings(ram, descs, list(range(len(descs))), 0x4000 * q, 0x4000 * q + 0x1000)
    head = struct.pack("<Q", (1 << 32) | 0x3f) + bytes([4] * 5) + bytes([cfg, poison[0], poison[1],
                                                                    hint, target, interval, 0])
    assert len(head) == 20
    write("fuzz_virtio_balloon", name, head + ram.trimmed())


def pfns(*p):
    return struct.pack("<%dI" % len(p), *p)


def stats(*pairs):
    return b"".join(struct.pack("<HQ", t, v) for t, v in pairs)


balloon_seed("inflate_deflate", 0, [[(pfns(0x30, 0x31, 0x32, 0x30, 0x9999), False)],
                                    [(pfns(0x31, 0x40), False)]])
balloon_seed("stats_and_reporting", 1 | 4 | 8,
             [[(pfns(0x35), False)], [], [(stats((4, 1000), (5, 1 << 20), (99, 1)), False),
                                           (stats((4, 7)), False)],
              [(0x3000, True), (0x1800, True)]], interval=3)
balloon_seed("hinting_run", 2, [[], [], [(struct.pack("<I", 2), False), (0x2000, True),
                                          (struct.pack("<I", 0), False)]], hint=1 | 2)
balloon_seed("poisoned_reports", 4, [[], [], [(0x2000, True)]], poison=(12, 0xaa))

def layer_seed(name, members, compress=""):
    """fuzz_oci_layer: a layer tar of (name, kind, data): 'f' file, 'd' folder,
    'l' symlink, 'h' hard link (data the target), 'c' device."""
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w" + (":" + compress if compress else ""),
                      format=tarfile.USTAR_FORMAT) as t:
        for mname, kind, mdata in members:
            ti = tarfile.TarInfo(mname)
            ti.mtime = 1700000000
            if kind == "f":
                ti.size = len(mdata)
                t.addfile(ti, io.BytesIO(mdata))
                continue
            ti.type = {"d": tarfile.DIRTYPE, "l": tarfile.SYMTYPE, "h": tarfile.LNKTYPE,
                       "c": tarfile.CHRTYPE}[kind]
            if kind in "lh":
                ti.linkname = mdata
            t.addfile(ti)
    data = buf.getvalue()
    if compress == "gz":  # a fixed gzip header time, so reruns write the same bytes
        data = data[:4] + b"\0\0\0\0" + data[8:]
    write("fuzz_oci_layer", name, data)


layer_seed("files", [("etc", "d", None), ("etc/passwd", "f", b"root:x:0:0::/:/bin/sh\n"),
                     ("bin/busybox", "f", b"\x7fELF"), ("bin/sh", "l", "/bin/busybox"),
                     ("bin/ls", "h", "bin/busybox")])
layer_seed("whiteouts", [("etc/.wh.passwd", "f", b""), ("var/.wh..wh..opq", "f", b""),
                         ("var/new", "f", b"n")])
layer_seed("escapes", [("../x", "f", b"x"), ("link", "l", "../outside"), ("link/keep", "f", b"y"),
                       ("h", "h", "../outside/keep"), ("link/.wh.keep", "f", b"")])
layer_seed("device", [("dev/mem", "c", None)])
layer_seed("gzip", [("a", "f", b"a" * 300), ("b", "l", "a")], compress="gz")
