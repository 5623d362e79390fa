#!/usr/bin/env python3
"""Writes the torch.save-format fixtures of the reader tests, without PyTorch.

Run once from this directory; the outputs are committed. torch.save writes a zip holding
<archive>/data.pkl (a protocol-2 pickle whose tensors are _rebuild_tensor_v2 calls over persistent
storage ids), <archive>/data/<key> (raw little-endian storage bytes) and <archive>/byteorder.
Fake `torch` modules stand in for the globals so that pickle emits the same opcodes.
"""
import collections
import io
import os
import pickle
import struct
import sys
import types
import zipfile

torch = types.ModuleType("torch")
utils = types.ModuleType("torch._utils")
sys.modules["torch"] = torch
sys.modules["torch._utils"] = utils


def _rebuild_tensor_v2(*args):
    raise RuntimeError("fixture writer only")


_rebuild_tensor_v2.__module__ = "torch._utils"
utils._rebuild_tensor_v2 = _rebuild_tensor_v2


class FloatStorage:
    pass


class HalfStorage:
    pass


FloatStorage.__module__ = "torch"
HalfStorage.__module__ = "torch"
torch.FloatStorage = FloatStorage
torch.HalfStorage = HalfStorage


class Storage:
    def __init__(self, key, cls, fmt, values):
        self.key, self.cls, self.fmt, self.values = key, cls, fmt, values

    def raw(self):
        return b"".join(struct.pack("<" + self.fmt, v) for v in self.values)


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def __reduce__(self):
        return (_rebuild_tensor_v2,
                (self.storage, self.offset, tuple(self.size), tuple(self.stride), False, collections.OrderedDict()))


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.cls, obj.key, "cpu", len(obj.values))
        return None


def write(path, state, storages, archive="archive", extra=None):
    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(state)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(archive + "/data.pkl", buf.getvalue())
        z.writestr(archive + "/byteorder", "little")
        for s in storages:
            z.writestr(archive + "/data/" + s.key, s.raw())
        for name, data in (extra or {}).items():
            z.writestr(name, data)


# a 2x3 float tensor, a transposed (non-contiguous) view of it, a half tensor and a non-tensor entry
s0 = Storage("0", FloatStorage, "f", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
s1 = Storage("1", HalfStorage, "e", [0.5, -2.0, 65504.0])
state = collections.OrderedDict()
state["layer.0.weight"] = Tensor(s0, 0, [2, 3], [3, 1])
state["layer.0.weight_t"] = Tensor(s0, 0, [3, 2], [1, 3])
state["layer.0.row1"] = Tensor(s0, 3, [3], [1])
state["half"] = Tensor(s1, 0, [3], [1])
state["step"] = 7
write("valid_state_dict.bin", state, [s0, s1])


# a pickle that would run os.system on load
class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/convsim-pwned",))


evil = io.BytesIO()
pickle.Pickler(evil, protocol=2).dump({"x": Evil()})
with zipfile.ZipFile("malicious_global.bin", "w") as z:
    z.writestr("archive/data.pkl", evil.getvalue())
    z.writestr("archive/byteorder", "little")

# the pre-1.6 format: a bare pickle stream, not a zip
with open("legacy_format.bin", "wb") as f:
    pickle.dump({"magic": 119547037146038801333356}, f, protocol=2)

# a zip entry that climbs out of the archive
write("path_traversal.bin", state, [s0, s1], extra={"../../evil.txt": b"x"})

# a storage entry shorter than its persistent id says
short = Storage("0", FloatStorage, "f", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
state2 = collections.OrderedDict(w=Tensor(short, 0, [2, 3], [3, 1]))
buf = io.BytesIO()
Pickler(buf, protocol=2).dump(state2)
with zipfile.ZipFile("short_storage.bin", "w") as z:
    z.writestr("archive/data.pkl", buf.getvalue())
    z.writestr("archive/byteorder", "little")
    z.writestr("archive/data/0", short.raw()[:12])

# a tensor view reaching past its storage
state3 = collections.OrderedDict(w=Tensor(s0, 4, [2, 3], [3, 1]))
write("view_out_of_range.bin", state3, [s0])

# a PEFT-style adapter_model.bin for the BERT-like test adapter (r=2, in=out=4)
a = Storage("0", FloatStorage, "f", [0.1 * k for k in range(8)])
b = Storage("1", FloatStorage, "f", [0.01 * k for k in range(8)])
adapter = collections.OrderedDict()
adapter["base_model.model.encoder.layer.0.attention.self.query.lora_A.weight"] = Tensor(a, 0, [2, 4], [4, 1])
adapter["base_model.model.encoder.layer.0.attention.self.query.lora_B.weight"] = Tensor(b, 0, [4, 2], [2, 1])
write("adapter_model.bin", adapter, [a, b])
print("fixtures written")
