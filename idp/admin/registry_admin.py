"""What the admin does alike to each registry of sites (CAS services, SAML service providers), shared by
the console and the API: find a record by the id in a URL, show it as JSON, and register, change, disable
or enable and delete one, each audited.

A registry is described by a ``RegistryAdmin``: its names, the shape check of API input and the calls into
its protocol's registry, which raise ``ValidationError`` on bad settings; the admin turns that into the
registry's ``InvalidInput`` subclass.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


def _nothing(_record) -> dict:
    return {}


@dataclass(frozen=True)
class RegistryAdmin:
    """Admin operations on one registry. Its records have ``id``, ``name``, ``disabled``, ``created_at`` and
    ``to_public_dict()``; audit records name a record by its id, its name and its ``address``."""
    kind: str                # "cas_service": audit events admin.<kind>.*, route endpoints, template names
    noun: str                # "service": a record in templates; its id is <noun>_id in URLs and audit records
    what: str                # "CAS service": in the API's messages
    address: str             # "service_url": the attribute that says where the site is
    error: type[InvalidInput]
    parse: Callable[..., dict]                  # (body, *, partial) -> settings from an API body
    find: Callable[[int], Any]                  # id -> the record, disabled or not, or None
    list_all: Callable[[], list]
    register: Callable[..., Any]                # (**settings) -> the new record
    change: Callable[..., Any]                  # (record, **changes)
    set_disabled_by_id: Callable[[int, bool], Any]
    delete_by_id: Callable[[int], None]
    created_data: Callable[[Any], dict] = _nothing  # what the audit records of a registration and of a
    updated_data: Callable[[Any], dict] = _nothing  # change carry beside the id, name and address

    @property
    def id_key(self) -> str:
        return f"{self.noun}_id"

    def by_url_id(self, raw: str):
        """The record a URL segment names, or None."""
        record_id = parse_id(raw)
        return self.find(record_id) if record_id is not None else None

    def view(self, record) -> dict:
        return {**record.to_public_dict(), "created_at": iso_time(record.created_at)}

    def create(self, settings: dict, actor: str):
        try:
            record = self.register(**settings)
        except ValidationError as exc:
            raise self.error(str(exc)) from None
        self._audit("created", actor, self._names(record), **self.created_data(record))
        return record

    def update(self, record, changes: dict, actor: str):
        try:
            self.change(record, **changes)
        except ValidationError as exc:
            raise self.error(str(exc)) from None
        self._audit("updated", actor, self._names(record), fields=sorted(changes), **self.updated_data(record))
        return record

    def set_disabled(self, record, disabled: bool, actor: str):
        self.set_disabled_by_id(record.id, disabled)
        self._audit("disabled" if disabled else "enabled", actor, self._names(record))
        return record

    def delete(self, record, actor: str) -> None:
        names = self._names(record)  # read before the record is gone
        self.delete_by_id(record.id)
        self._audit("deleted", actor, names)

    def _names(self, record) -> dict:
        return {self.id_key: record.id, "name": record.name, self.address: getattr(record, self.address)}

    def _audit(self, action: str, actor: str, names: dict, **data) -> None:
        current_app.extensions["idp"].audit(f"admin.{self.kind}.{action}", actor=actor, **names, **data)
