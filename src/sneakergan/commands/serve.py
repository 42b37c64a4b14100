"""`sneakergan serve`: the sneaker studio, a web page and JSON API on the bundled models or your runs."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import socket

from sneakergan.commands.checks import add_run_options, check_device, check_exists, check_range
from sneakergan.config import PRECISIONS
from sneakergan.errors import ConfigError

log = logging.getLogger("sneakergan")

MAX_TIMEOUT = 3600.0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="the sneaker studio: a web page and JSON API that generate sneakers",
                       description="Serve the sneaker studio: a page that shows generated sneakers (both stages), "
                                   "morphs between two of them and downloads them, and its JSON API (/docs).")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; the studio has no login)")
    p.add_argument("--port", type=int, default=8000, help="default 8000")
    add_run_options(p)
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", choices=PRECISIONS, default="auto", help="as for generate (the same default, so "
                   "the studio's sneakers are those of `generate` with the same seed)")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds a request may take, waiting for the models included (default 60; then 503/504)")
    p.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    check_range("--port", args.port, 1, 65535)
    if not 0.1 <= args.timeout <= MAX_TIMEOUT:  # also refuses nan
        raise ConfigError(f"--timeout must be between 0.1 and {MAX_TIMEOUT:g} seconds, got {args.timeout:g}")
    check_device(args.device)
    check_exists("--run", args.run)
    check_exists("--sr-run", args.sr_run)
    try:
        import uvicorn

        from sneakergan.serve import create_app
        from sneakergan.serve.app import host_names
    except ImportError as exc:
        raise ConfigError(f"sneakergan serve needs fastapi and uvicorn ({exc}); install the studio's extra: "
                          "pip install 'sneakergan[serve]'") from None
    listener = listen(args.host, args.port)
    allowed_hosts = host_names(args.host)  # other Host names get a 400 (DNS rebinding)
    try:
        app = create_app(args.run, args.sr_run, args.device, args.precision, args.timeout,
                         allowed_hosts=allowed_hosts)
    except BaseException:
        listener.close()
        raise
    host = f"[{args.host}]" if ":" in args.host else args.host
    log.info("sneaker studio: http://%s:%d/  (API docs: /docs; Ctrl-C stops it)", host, args.port)
    if not _is_loopback(args.host):
        log.warning("listening on %s: anyone who can reach this machine can use the studio (it has no login)",
                    args.host)
    if allowed_hosts == ["*"]:
        log.warning("listening on all interfaces: the studio accepts any Host name (listen on one address to "
                    "have it checked)")
    server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="warning"))
    try:
        server.run(sockets=[listener])
    except KeyboardInterrupt:  # uvicorn shuts down gracefully, then re-raises the Ctrl-C it caught
        pass
    finally:
        listener.close()
    log.info("sneaker studio stopped")
    return 0


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port), or a one-line ConfigError (taken port, unknown host)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(f"--host {host}: not an address of this machine ({exc})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait for TIME_WAIT
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
