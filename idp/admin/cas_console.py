"""Console pages for CAS services under /admin/cas/ (on the console blueprint; made by ``registry_console``)."""
from __future__ import annotations

from flask_babel import lazy_gettext as N_

from . import cas
from .console import bp
from .forms import CasServiceForm
from .registry_console import PageMessages, add_registry_pages

add_registry_pages(bp, cas.registry, "cas", CasServiceForm, PageMessages(
    not_found=N_("There is no CAS service with this id."),
    registered=N_("CAS service %(name)s registered."),
    disabled=N_("CAS service disabled: its tickets are no longer issued or validated."),
    enabled=N_("CAS service enabled."),
    deleted=N_("CAS service %(name)s deleted.")))
