"""WSGI entry point: ``gunicorn idp.wsgi:app`` (settings from ``IDP_*`` environment variables and the file
named by ``IDP_ENV_FILE``, read as every ``idp`` command reads them).

Run ``idp db upgrade`` first. Like ``idp run``, start-up creates the signing keys a fresh database lacks,
and starts the background job runner (IDP_JOBS_ENABLED).
"""
import gc

from . import create_app

app = create_app()
with app.app_context():
    app.extensions["idp"].keys.ensure_active_keys()
if app.extensions["idp"].settings.jobs_enabled:
    from .jobs.schedule import start_runner
    start_runner(app)

# The application and its libraries (some 140,000 objects) live as long as the process: move them
# out of the collector's sight, or every full collection walks them all again (a pause of tens of
# milliseconds every thousand or so requests; about 3 % of the token endpoint's time).
gc.collect()
gc.freeze()
