#!/usr/bin/env python3
"""Writes the GPU check's demo data: the bundled adapter's value module and its W0, first LAYERS layers, values
copied byte for byte from data/ (no conversion). Usage: gpu_check_data.py DATA_DIR OUT_DIR LAYERS"""
import json
import os
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return header, data


def write(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def pick(header, data, keep):
    out = {}
    for name, info in header.items():
        if name != "__metadata__" and keep(name):
            b, e = info["data_offsets"]
            out[name] = (info["dtype"], info["shape"], data[b:e])
    return out


def main(data_dir, out_dir, layers):
    wanted = {f".layer.{l}.attention.self.value." for l in range(layers)}
    keep = lambda name: any(w in name for w in wanted) and name.endswith(".weight")
    base_h, base_d = read(os.path.join(data_dir, "bert-base-uncased.query-value.safetensors"))
    write(os.path.join(out_dir, "base.safetensors"), pick(base_h, base_d, keep))
    adapter = os.path.join(data_dir, "adapters", "bert-base-uncased-imdb-lora-r8")
    ad_h, ad_d = read(os.path.join(adapter, "adapter_model.safetensors"))
    os.makedirs(os.path.join(out_dir, "adapter"), exist_ok=True)
    write(os.path.join(out_dir, "adapter", "adapter_model.safetensors"), pick(ad_h, ad_d, keep))
    with open(os.path.join(adapter, "adapter_config.json")) as f:
        config = json.load(f)
    config["target_modules"] = ["value"]
    with open(os.path.join(out_dir, "adapter", "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
