"""The authenticated person as Authlib's grants see it ("grant user")."""
from __future__ import annotations

from dataclasses import dataclass

from ...identity.authorisations import ActingContext
from ...identity.models import Entity, Person
from ...identity.service import PersonClaims


@dataclass
class Principal:
    person: Person | PersonClaims
    client: object | None = None
    auth_time: int | None = None
    acr: str | None = None
    amr: tuple = ()
    sid: str | None = None
    entity: Entity | None = None
    acting: ActingContext | None = None  # how the person acts for ``entity``
    context_lost: bool = False  # the grant was for an enterprise context the person no longer holds

    def get_user_id(self) -> str:
        return self.person.public_id
