"""``idp run``: the development server."""
from __future__ import annotations

import click

from .context import get_app


@click.command("run", help="Development server.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=click.IntRange(1, 65535), show_default=True)
def run(host, port):
    app = get_app()
    with app.app_context():
        app.extensions["idp"].keys.ensure_active_keys()
    if app.extensions["idp"].settings.jobs_enabled:
        from ..jobs.schedule import start_runner
        start_runner(app)
    app.run(host=host, port=port, threaded=True, use_reloader=False)
