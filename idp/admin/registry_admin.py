"""What the admin does alike to each registry of sites (CAS services, SAML service providers), shared by
the console and the API: find a record by the id in a URL, show it as JSON, and register, change, disable
or enable and delete one, each audited.

A registry subclasses ``RegistryAdmin``: its names (class constants), the shape check of API input
(``parse``) and the calls into its protocol's registry (the hooks). The registry raises
``ValidationError`` on bad settings; the admin turns it into the registry's ``InvalidInput`` subclass.
"""
from __future__ import annotations

from flask import current_app

from ..errors import ValidationError
from .api_support import InvalidInput
from .service import iso_time

MAX_ID = 2**31 - 1


def parse_id(raw: str) -> int | None:
    """A record id from a URL segment; None when it cannot name a record."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or not 0 < int(raw) <= MAX_ID:
        return None
    return int(raw)


class RegistryAdmin:
    """Admin operations on one registry. Records have ``id``, ``name``, ``disabled``, ``created_at`` and
    ``to_public_dict()``; audit records name a record by its id, name and ``address``."""

    kind: str              # "cas_service": audit events admin.<kind>.*, route endpoints, template names
    noun: str              # "service": the record's name in templates; its id is <noun>_id in URLs and audit
    what: str              # "CAS service": in the API's messages
    address: str           # "service_url": the attribute that says where the site is
    error: type[InvalidInput]

    @property
    def id_key(self) -> str:
        return f"{self.noun}_id"

    # -- hooks -------------------------------------------------------------------------------------

    def parse(self, body, *, partial: bool) -> dict:
        """Settings from an API body (known fields of the right types); ``partial``: a change."""
        raise NotImplementedError

    def find(self, record_id: int):
        raise NotImplementedError

    def all(self) -> list:
        raise NotImplementedError

    def _register(self, settings: dict):
        raise NotImplementedError

    def _change(self, record, changes: dict) -> None:
        raise NotImplementedError

    def _set_disabled(self, record, disabled: bool) -> None:
        raise NotImplementedError

    def _remove(self, record_id: int) -> None:
        raise NotImplementedError

    def _created_data(self, record) -> dict:
        """What the audit record of a registration carries beside the id, name and address."""
        return {}

    def _updated_data(self, record) -> dict:
        """What the audit record of a change carries beside the id, name, address and changed fields."""
        return {}

    # -- operations --------------------------------------------------------------------------------

    def by_url_id(self, raw: str):
        """The record a URL segment names, or None."""
        record_id = parse_id(raw)
        return self.find(record_id) if record_id is not None else None

    def view(self, record) -> dict:
        return {**record.to_public_dict(), "created_at": iso_time(record.created_at)}

    def create(self, settings: dict, actor: str):
        try:
            record = self._register(settings)
        except ValidationError as exc:
            raise self.error(str(exc)) from None
        self._audit("created", actor, self._names(record), **self._created_data(record))
        return record

    def update(self, record, changes: dict, actor: str):
        try:
            self._change(record, changes)
        except ValidationError as exc:
            raise self.error(str(exc)) from None
        self._audit("updated", actor, self._names(record), fields=sorted(changes), **self._updated_data(record))
        return record

    def set_disabled(self, record, disabled: bool, actor: str):
        self._set_disabled(record, disabled)
        self._audit("disabled" if disabled else "enabled", actor, self._names(record))
        return record

    def delete(self, record, actor: str) -> None:
        names = self._names(record)  # read before the record is gone
        self._remove(record.id)
        self._audit("deleted", actor, names)

    def _names(self, record) -> dict:
        return {self.id_key: record.id, "name": record.name, self.address: getattr(record, self.address)}

    def _audit(self, action: str, actor: str, names: dict, **data) -> None:
        current_app.extensions["idp"].audit(f"admin.{self.kind}.{action}", actor=actor, **names, **data)
