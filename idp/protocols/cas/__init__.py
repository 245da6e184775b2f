"""CAS 2.0/3.0 for department sites that already speak CAS: login, ticket validation, single logout."""
from __future__ import annotations


def init_cas(app, core) -> None:
    from ...extensions import csrf
    from .single_logout import cas_logout_listener
    from .views import bp

    app.register_blueprint(bp)
    csrf.exempt(bp)
    core.logout_listeners.append(cas_logout_listener(core))
