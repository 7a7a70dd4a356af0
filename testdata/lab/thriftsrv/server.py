#!/usr/bin/env python3
"""thriftsrv: the lab's stand-in for a Thrift TThreadPoolServer.

A fixed pool of worker threads (10, Thrift's default) takes accepted
connections from a queue that the main thread fills; a worker serves one
connection until the peer closes it, reading 4-byte big-endian length
prefixed frames (Thrift's framed transport) and answering each with a
frame. There is no read timeout and no keepalive, as in the story: a peer
that goes silent without closing holds a worker forever. Errors are logged
the way TThreadPoolServer does (logger.exception), so a peer's RST shows up
as "[Errno 104] Connection reset by peer" with a traceback.
"""
import argparse
import logging
import os
import queue
import socket
import struct
import threading
import time

log = logging.getLogger("thrift.server.TServer")


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("TSocket read 0 bytes")
        buf += chunk
    return buf


def serve_client(sock):
    try:
        while True:
            (size,) = struct.unpack("!i", recv_exact(sock, 4))
            body = recv_exact(sock, size)
            time.sleep(0.05)  # "upload the picture"
            reply = b"OK " + body[:32]
            sock.sendall(struct.pack("!i", len(reply)) + reply)
    except EOFError:
        pass  # the peer closed: TTransportException, not logged
    except Exception as x:
        log.exception(x)
    finally:
        sock.close()


def worker(clients):
    while True:
        serve_client(clients.get())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=9455)
    ap.add_argument("--workers", type=int, default=10)
    ap.add_argument("--log", default=None)
    ap.add_argument("--duration", type=float, default=120)
    a = ap.parse_args()
    logging.basicConfig(filename=a.log, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    threading.Timer(a.duration, os._exit, [0]).start()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", a.port))
    srv.listen(128)
    clients = queue.Queue()
    for _ in range(a.workers):
        threading.Thread(target=worker, args=(clients,), daemon=True).start()
    log.info("Starting TThreadPoolServer on port %d with %d worker threads", a.port, a.workers)
    while True:
        c, _ = srv.accept()
        clients.put(c)


if __name__ == "__main__":
    main()
