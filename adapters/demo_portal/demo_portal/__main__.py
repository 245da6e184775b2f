"""`python -m demo_portal [--port N] [--title T] ...`; unset options come from DEMO_PORTAL_* env vars."""

from __future__ import annotations

import argparse
import logging
import sys

from idp_rp import ConfigurationError


def main(argv: list[str] | None = None) -> int:
    from . import create_app

    parser = argparse.ArgumentParser(prog="demo_portal", description="Demo department portal")
    for name in ("title", "port", "base_url", "issuer", "client_id", "client_secret", "other_portal_url",
                 "other_portal_title", "secret_key", "step_up_acr"):
        parser.add_argument("--" + name.replace("_", "-"), dest=name)
    parser.add_argument("--host", default="127.0.0.1")
    args = vars(parser.parse_args(argv))
    host = args.pop("host")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_app(**args)
    except ConfigurationError as exc:
        print(f"demo_portal: {exc}", file=sys.stderr)
        return 2
    app.run(host=host, port=app.config["PORTAL"]["port"], threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
