"""CRLs fetched once for the whole deployment.

The node holding the ``crl.publish`` job fetches every configured CRL from its CA and stores a copy in
the database; every node's refresher (``pki.refresh``) then loads its in-memory cache from those copies
instead of asking the CA itself. A copy older than ``max_age`` (the job stopped running) is not used:
the node fetches from the CA as before, so a stalled job never leaves a node on an outdated CRL.
"""
from __future__ import annotations

import logging
import time

from sqlalchemy import Float, LargeBinary, String, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..storage import writes
from .fetch import FetchError, fetch
from .revocation import parse_crl

log = logging.getLogger(__name__)


class CrlCopy(db.Model):
    __tablename__ = "crl_copies"

    source: Mapped[str] = mapped_column(String(2048), primary_key=True)  # the profile's CRL location
    data: Mapped[bytes] = mapped_column(LargeBinary)  # as the CA serves it (DER or PEM)
    fetched_at: Mapped[float] = mapped_column(Float)


_T = CrlCopy.__table__


class SharedCrls:
    """A fetcher for the revocation checker that reads the stored copies, and the job that stores them."""

    def __init__(self, engine, max_age: float, *, fetcher=fetch, clock=time.time):
        self.engine = engine
        self.max_age = max_age
        self.fetcher = fetcher
        self.clock = clock

    def __call__(self, location: str, **kwargs) -> bytes:
        if kwargs.get("body") is None:  # a CRL (an OCSP request goes to the responder as before)
            try:
                with self.engine.connect() as conn:
                    row = conn.execute(select(_T.c.data, _T.c.fetched_at).where(_T.c.source == location)).first()
            except SQLAlchemyError as exc:  # e.g. a database not migrated yet: ask the CA
                log.warning("cannot read the stored copy of CRL %s: %s", location, exc)
                row = None
            if row is not None and self.clock() - row.fetched_at <= self.max_age:
                return row.data
        return self.fetcher(location, **kwargs)

    def publish(self, store) -> list[str]:
        """Fetch every configured CRL from its CA and store the copies (the ``crl.publish`` job).
        Returns the problems; a source that fails keeps its previous copy."""
        store.reload_if_changed()
        problems = []
        sources = {source: profile.revocation.timeout_seconds for profile in store.profiles.values()
                   if profile.revocation.mode == "crl" for source in profile.revocation.crl_urls}
        for source, timeout in sorted(sources.items()):
            try:
                data = self.fetcher(source, timeout=timeout)
                parse_crl(data)
            except (FetchError, ValueError) as exc:
                problems.append(str(exc))
                log.warning("CRL publication: %s", exc)
                continue
            self._store(source, data)
        return problems

    def _store(self, source: str, data: bytes) -> None:
        now = self.clock()
        with self.engine.connect() as conn, writes.serialized(conn), conn.begin():
            if conn.execute(update(_T).where(_T.c.source == source).values(data=data, fetched_at=now)).rowcount:
                return
            conn.execute(insert(_T).values(source=source, data=data, fetched_at=now))
