#!/usr/bin/env python3
"""Test HTTP server for `m3fs artifact download`: serves a directory on
127.0.0.1 with Range support, and injects faults on request.

Control (out of band, never requested by m3fs):
  GET /_ctl/fault?path=/dir/file&kind=KIND[&count=N][&after=BYTES][&code=C][&bps=B]
      kinds: drop     send `after` body bytes then cut the connection
             stall    send `after` body bytes then go silent (until the client leaves)
             status   answer HTTP `code` without a body
             norange  ignore a Range header (answer 200 with the whole file)
             throttle send at most `bps` bytes per second
      count: how many requests the fault applies to (default 1, -1 = always)
  GET /_ctl/stats   JSON list of every request: path, range, status, proxied
  GET /_ctl/reset   forget faults and stats
Requests in proxy form ("GET http://host/path") are served too and marked
proxied, so the client's use of http_proxy can be checked.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
FAULTS = {}   # path -> list of fault dicts
STATS = []


def take_fault(path, kinds):
    with LOCK:
        for f in FAULTS.get(path, []):
            if f["kind"] in kinds and f["count"] != 0:
                if f["count"] > 0:
                    f["count"] -= 1
                return dict(f)
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root = "."

    def log_message(self, fmt, *args):
        sys.stderr.write("server: " + (fmt % args) + "\n")

    def record(self, path, status, proxied):
        with LOCK:
            STATS.append({"path": path, "range": self.headers.get("Range"),
                          "status": status, "proxied": proxied})

    def reply(self, code, body=b"", ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def control(self, url):
        q = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/_ctl/fault":
            f = {"kind": q["kind"], "count": int(q.get("count", 1)),
                 "after": int(q.get("after", 0)), "code": int(q.get("code", 500)),
                 "bps": int(q.get("bps", 1 << 20))}
            with LOCK:
                FAULTS.setdefault(q["path"], []).append(f)
            return self.reply(200, b"ok\n")
        if url.path == "/_ctl/stats":
            with LOCK:
                body = json.dumps(STATS).encode()
            return self.reply(200, body, "application/json")
        if url.path == "/_ctl/reset":
            with LOCK:
                FAULTS.clear()
                STATS.clear()
            return self.reply(200, b"ok\n")
        return self.reply(404, b"no such control\n")

    def parse_range(self, size):
        """(start, end) inclusive, or None for the whole file, or 'bad'."""
        h = self.headers.get("Range")
        if not h or not h.startswith("bytes=") or "," in h:
            return None
        a, _, b = h[6:].partition("-")
        if not a:
            return None
        start = int(a)
        end = int(b) if b else size - 1
        if start >= size or end < start:
            return "bad"
        return start, min(end, size - 1)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        proxied = self.path.startswith("http://")
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/_ctl/"):
            return self.control(url)
        path = urllib.parse.unquote(url.path)
        fault = take_fault(path, ("status",))
        if fault:
            self.record(path, fault["code"], proxied)
            return self.reply(fault["code"], b"injected failure\n")
        full = os.path.realpath(os.path.join(self.root, path.lstrip("/")))
        if not full.startswith(self.root + os.sep) or not os.path.isfile(full):
            self.record(path, 404, proxied)
            return self.reply(404, b"not found\n")
        self.send_file(path, full, proxied)

    def send_file(self, path, full, proxied):
        size = os.path.getsize(full)
        rng = self.parse_range(size)
        if rng and take_fault(path, ("norange",)):
            rng = None
        if rng == "bad":
            self.record(path, 416, proxied)
            self.send_response(416)
            self.send_header("Content-Range", "bytes */%d" % size)
            self.send_header("Content-Length", "0")
            return self.end_headers()
        start, end = rng if rng else (0, size - 1)
        status = 206 if rng else 200
        self.record(path, status, proxied)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if rng:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        if self.command == "HEAD":
            return
        self.stream(path, full, start, end - start + 1)

    def stream(self, path, full, start, length):
        cut = take_fault(path, ("drop", "stall"))
        slow = take_fault(path, ("throttle",))
        limit = min(length, cut["after"]) if cut else length
        sent, t0 = 0, time.monotonic()
        with open(full, "rb") as f:
            f.seek(start)
            while sent < limit:
                chunk = f.read(min(65536, limit - sent))
                if not chunk:
                    break
                self.wfile.write(chunk)
                sent += len(chunk)
                if slow:
                    ahead = sent / slow["bps"] - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
        if not cut:
            return
        self.wfile.flush()
        if cut["kind"] == "stall":
            self.connection.settimeout(120)
            try:
                while self.connection.recv(1024):
                    pass
            except OSError:
                pass
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    Handler.root = os.path.realpath(args.root)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
