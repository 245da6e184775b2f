"""idp.wsgi's application, started as the image starts it, behind a pause a request can ask for
(``X-Test-Pause: seconds``): a test holds requests in progress while it stops the server."""
from __future__ import annotations

import time

from idp.wsgi import app as idp_app


def app(environ, start_response):
    pause = environ.get("HTTP_X_TEST_PAUSE")
    if pause:
        time.sleep(float(pause))
    return idp_app(environ, start_response)
