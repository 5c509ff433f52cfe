"""Hostile clients held open around a measurement (the `get-secret-hostile` scenario): 2,000 connections that never
send a byte, 200 slowloris TLS connections that send a header line now and then and never finish (reopened when
Coffre closes them at its idle timeout), and one client that sends, in a loop, a request with 100 KB of headers
(431) and one with a 5 MiB body (413). Loopback only; everything stops when the block ends.
"""

import contextlib
import resource
import socket
import ssl
import threading
import time

IDLE = 2000
SLOW = 200


@contextlib.contextmanager
def clients(port: int, ca_file: str, host: str, token: str):
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    stop = threading.Event()
    context = ssl.create_default_context(cafile=ca_file)
    address = ("127.0.0.1", port)
    idle = [socket.create_connection(address) for _ in range(IDLE)]
    threads = [threading.Thread(target=slowloris, args=(stop, context, address, host), daemon=True),
               threading.Thread(target=oversized, args=(stop, context, address, host, token), daemon=True)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        for connection in idle:
            connection.close()


def open_slow(context, address, host):
    connection = context.wrap_socket(socket.create_connection(address), server_hostname="localhost")
    connection.sendall(f"GET /secrets/bench-get?api-version=7.5 HTTP/1.1\r\nHost: {host}\r\n".encode())
    return connection


def slowloris(stop, context, address, host):
    connections = [open_slow(context, address, host) for _ in range(SLOW)]
    round = 0
    while not stop.wait(1.0):
        round += 1
        for index, connection in enumerate(connections):
            try:
                connection.sendall(b"X-Slow-%d: 1\r\n" % round)
            except (OSError, ssl.SSLError):
                connection.close()
                with contextlib.suppress(OSError, ssl.SSLError):
                    connections[index] = open_slow(context, address, host)
    for connection in connections:
        connection.close()


def oversized(stop, context, address, host, token):
    requests = [
        f"GET /secrets/bench-get?api-version=7.5 HTTP/1.1\r\nHost: {host}\r\nX-Filler: {'a' * 100_000}\r\n\r\n".encode(),
        (f"PUT /secrets/bench-big?api-version=7.5 HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
         f"Content-Type: application/json\r\nContent-Length: {5 << 20}\r\nConnection: close\r\n\r\n").encode() + b"a" * (5 << 20),
    ]
    while not stop.is_set():
        for request in requests:
            with contextlib.suppress(OSError, ssl.SSLError):
                with context.wrap_socket(socket.create_connection(address), server_hostname="localhost") as connection:
                    connection.settimeout(30)
                    connection.sendall(request)
                    while connection.recv(65536):
                        pass
