"""WSGI entry point: ``gunicorn idp.wsgi:app`` (settings from ``IDP_*`` environment variables).

Run ``idp db upgrade`` first. Like ``idp run``, start-up creates the signing keys a fresh database lacks.
"""
from . import create_app

app = create_app()
with app.app_context():
    app.extensions["idp"].keys.ensure_active_keys()
