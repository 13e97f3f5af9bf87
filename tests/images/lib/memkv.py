"""The fdb stand-in's key-value operations on a dict, for the stand-in tests
that run mgmtd in their own process (test_standin_migrate.py,
test_standin_admincli.py). Not in the images (build.sh installs lib/standin only)."""
import copy
import threading

from standin.fdbserver import Server


class MemKV:
    """The fdb stand-in's operations on a dict (values copied, as JSON would)."""

    def __init__(self):
        self.d, self.lock = {}, threading.Lock()

    def get(self, key):
        with self.lock:
            return copy.deepcopy(self.d.get(key))

    def put(self, key, value):
        with self.lock:
            self.d[key] = copy.deepcopy(value)

    def put_new(self, key, value):
        with self.lock:
            if key in self.d:
                return False
            self.d[key] = copy.deepcopy(value)
            return True

    def delete(self, key):
        with self.lock:
            self.d.pop(key, None)

    def list(self, prefix):
        with self.lock:
            return {k: copy.deepcopy(v) for k, v in self.d.items() if k.startswith(prefix)}

    def lease(self, key, owner, length):
        with self.lock:
            self.d[key] = Server.next_lease(self.d.get(key), owner, length)
            return copy.deepcopy(self.d[key])
