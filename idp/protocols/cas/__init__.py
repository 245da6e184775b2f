"""CAS 2.0/3.0 for department sites that already speak CAS: login, ticket validation, single logout."""
from __future__ import annotations


def init_cas(app, core) -> None:
    from ...extensions import csrf
    from .single_logout import cas_logout_listener
    from .views import bp

    app.register_blueprint(bp)
    csrf.exempt(bp)
    core.logout_listeners.append(cas_logout_listener(core))
    core.site_name_resolvers.append(_service_name)


def _service_name(key: str) -> str | None:
    from .services import get_service_by_key

    service = get_service_by_key(key)
    return service.name if service is not None else None
