"""`idp-gateway --config gateway.toml`: run the gateway with the built-in threaded server.

For production, run the same app under gunicorn:
    IDP_GATEWAY_CONFIG=/etc/idp-gateway.toml gunicorn -w 1 --threads 8 -b 127.0.0.1:4180 'idp_gateway.cli:app_from_env()'
(one worker process with the in-memory session store; several workers need a shared SessionStore).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from idp_rp import ConfigurationError

from .app import create_app
from .config import load_config


def app_from_env():
    return create_app(load_config(os.environ.get("IDP_GATEWAY_CONFIG")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="idp-gateway", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=os.environ.get("IDP_GATEWAY_CONFIG"),
                        help="TOML file; IDP_GATEWAY_* environment variables override its keys")
    parser.add_argument("--host", help="listen address (default from config, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (default from config, 4180)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config)
    except ConfigurationError as exc:
        print(f"idp-gateway: {exc}", file=sys.stderr)
        return 2
    from werkzeug.serving import run_simple

    run_simple(args.host or config.host, args.port or config.port, create_app(config), threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
