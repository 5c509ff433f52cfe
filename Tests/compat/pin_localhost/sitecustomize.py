"""Resolves *.localhost to loopback for a test child process, as an /etc/hosts entry would (see the README)."""
import socket

_real_getaddrinfo = socket.getaddrinfo


def _pinned(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if isinstance(name, str) and name.lower().endswith(".localhost"):
        host = "127.0.0.1"
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _pinned
