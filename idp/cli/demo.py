"""``idp demo``: seed the demo realm (idp.demo) and run the server with the two demo portals."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import click

from ..demo import DEMO_ADMIN, DEMO_CITIZEN, parse_portal_ports, portal_secret, seed
from .context import get_app


@click.command("demo", help="Seed the demo realm and run the server plus two demo portals (Ctrl-C stops all).")
@click.option("--host", default="localhost", show_default=True)
@click.option("--port", default=8000, type=click.IntRange(1, 65535), show_default=True)
@click.option("--portal-ports", default="9001,9002", show_default=True, help="Ports of the two demo portals.")
@click.option("--seed-only", is_flag=True, help="Only create the demo data.")
def demo(host, port, portal_ports, seed_only):
    from ..migrate import upgrade
    ports = parse_portal_ports(portal_ports)
    app = get_app(create_database=True)
    upgrade(app)
    portals = seed(app, host, ports)
    issuer = app.extensions["idp"].settings.issuer
    click.echo(f"demo citizen: ID number {DEMO_CITIZEN['id_number']} / password {DEMO_CITIZEN['password']}")
    click.echo(f"demo administrator ({issuer}/admin/): ID number {DEMO_ADMIN['id_number']} / "
               f"password {DEMO_ADMIN['password']}")
    if seed_only:
        return
    children = []
    for index, portal in enumerate(portals):
        other = portals[1 - index]
        env = dict(os.environ, DEMO_PORTAL_TITLE=portal["name"], DEMO_PORTAL_PORT=str(portal["port"]),
                   DEMO_PORTAL_BASE_URL=portal["base_url"], DEMO_PORTAL_ISSUER=issuer,
                   DEMO_PORTAL_CLIENT_ID=portal["client_id"], DEMO_PORTAL_CLIENT_SECRET=portal["client_secret"],
                   DEMO_PORTAL_OTHER_PORTAL_URL=other["base_url"] + "/profile",
                   DEMO_PORTAL_OTHER_PORTAL_TITLE=other["name"], DEMO_PORTAL_SILENT_LOGIN="true",
                   DEMO_PORTAL_SECRET_KEY=portal_secret(app.extensions["idp"].settings.secret_key, "cookie"))
        children.append(subprocess.Popen([sys.executable, "-m", "demo_portal", "--host", host], env=env))
        click.echo(f"portal {portal['name']}: {portal['base_url']}/")
    click.echo(f"identity server: {issuer}/")

    def stop(*_):
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    try:
        time.sleep(0.2)
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        stop()
