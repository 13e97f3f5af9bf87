#!/usr/bin/env python3
"""check_config.py [--all] [--quiet] FILE...

Checks each 3FS config file the way the stand-in program that loads it does
(tests/images/lib/standin/schema.py): its keys and types against the schema
of the file its basename names (`storage_main.toml` -> schema/storage_main.json),
then the values the program checks at load. Prints one line per file and
exits 1 if any file fails. With --all, every invalid key or wrong type of a
file is listed instead of the first only (values are then not checked);
with --quiet, files that pass are not listed.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "images", "lib"))
os.environ.setdefault("STANDIN_SCHEMA_DIR", os.path.join(HERE, "schema"))

from standin import contract, schema  # noqa: E402
from standin.common import Fail, load_toml  # noqa: E402


def check_one(path, list_all):
    """Messages of what is wrong with `path` (empty: accepted)."""
    name = os.path.basename(path)
    if not name.endswith(".toml"):
        return [f"{path}: not a .toml file: name it after the 3FS file it is"]
    role = name[:-len(".toml")]
    try:
        data = load_toml(path, "config file")
        if list_all:
            return [p.msg for p in contract.check(role, data, path, problems=[])]
        schema.check_file(role, data, path)
    except Fail as e:
        return [f"{e.msg} ({e.name})"]
    return []


def main(argv):
    list_all, quiet = "--all" in argv, "--quiet" in argv
    files = [a for a in argv if a not in ("--all", "--quiet")]
    if not files:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    bad = 0
    for path in files:
        problems = check_one(path, list_all)
        bad += bool(problems)
        for msg in problems:
            print(msg)
        if not problems and not quiet:
            print(f"{path}: ok")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
