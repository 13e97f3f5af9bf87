#!/usr/bin/env python3
"""Write a `docker load` archive (docker-archive format) without a daemon.

usage: mkarchive.py OUT.docker REPO:TAG CONFIG.json LAYER.tar[.gz]...

CONFIG.json holds the image's runtime config (Env, Cmd, Entrypoint,
WorkingDir). Layers are uncompressed or gzip tars; diff_ids are computed
over the uncompressed bytes, as docker requires. Output is deterministic.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

EPOCH = 0


def diff_id(path):
    h = hashlib.sha256()
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), EPOCH, 0o644
    tar.addfile(info, io.BytesIO(data))


def add_dir(tar, name):
    info = tarfile.TarInfo(name)
    info.type, info.mtime, info.mode = tarfile.DIRTYPE, EPOCH, 0o755
    tar.addfile(info)


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    out, ref, conf_path, layers = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    with open(conf_path, encoding="utf-8") as f:
        runtime = json.load(f)
    ids = [diff_id(p) for p in layers]
    config = {"architecture": "amd64", "os": "linux", "created": "1970-01-01T00:00:00Z",
              "config": runtime, "rootfs": {"type": "layers", "diff_ids": ids},
              "history": [{"created": "1970-01-01T00:00:00Z",
                           "created_by": f"m3fs stand-in layer {os.path.basename(p)}"}
                          for p in layers]}
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    names = []
    with tarfile.open(out + ".tmp", "w", format=tarfile.PAX_FORMAT) as tar:
        for path, did in zip(layers, ids):
            d = did[7:]
            add_dir(tar, d)
            name = f"{d}/layer.tar"
            info = tar.gettarinfo(path, arcname=name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = EPOCH, 0, 0, "", ""
            with open(path, "rb") as f:
                tar.addfile(info, f)
            names.append(name)
        add_bytes(tar, config_name, config_bytes)
        manifest = [{"Config": config_name, "RepoTags": [ref], "Layers": names}]
        add_bytes(tar, "manifest.json", json.dumps(manifest).encode())
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
