"""Console pages for SAML service providers under /admin/saml/ (on the console blueprint; made by
``registry_console``). The list and a provider's page name the attributes as the form does."""
from __future__ import annotations

from flask_babel import lazy_gettext as N_

from . import saml
from .console import bp
from .forms import SAML_ATTRIBUTE_LABELS, SamlProviderForm
from .registry_console import PageMessages, add_registry_pages

add_registry_pages(bp, saml.registry, "saml", SamlProviderForm, PageMessages(
    not_found=N_("There is no SAML service provider with this id."),
    registered=N_("SAML service provider %(name)s registered."),
    disabled=N_("SAML service provider disabled: its requests are refused."),
    enabled=N_("SAML service provider enabled."),
    deleted=N_("SAML service provider %(name)s deleted.")),
    page_context=lambda: {"labels": dict(SAML_ATTRIBUTE_LABELS)})
