"""The token store on SQL (SQLite, PostgreSQL), in the caller's SQLAlchemy session.

The token endpoint's statements are prepared (``storage.prepared``): they run once or twice per token
request, and there SQLAlchemy's per-statement overhead cost more than the statements (bench/README.md
has the figures). The rest (saving a code, revoking) uses plain Core statements.

On PostgreSQL an issuance is one statement (``_ISSUE_IN_ONE``): the claim, the token row and the audit
record are data-modifying CTEs of one INSERT, so the transaction is BEGIN, that statement and COMMIT
instead of a round trip per statement. SQLite runs in the process: there the three statements stay
apart (it has no data-modifying CTEs), at no round trip's cost.

A claim is an UPDATE that matches only an unclaimed row, run in the transaction that inserts the new
token: when two requests race, the second one's UPDATE waits for the first transaction (a row lock on
PostgreSQL, the writer queue and SQLite's own lock on SQLite) and then matches nothing; when the first
one rolls back, the second one gets the row. A request that fails midway leaves the code or refresh
token as it was, so the client's retry succeeds.
"""
from __future__ import annotations

import time
from dataclasses import fields

from sqlalchemy import bindparam, cast, insert, literal, select, update

from ..audit import log as audit_log
from ..identity.models import Person
from ..identity.service import PersonClaims
from . import writes
from .prepared import Prepared
from .token_hash import token_hash
from .token_models import AuthorizationCode, Token
from .tokens import AlreadyClaimed, NewCode, NewToken, StoredCode, StoredToken, TokenKind

_C = AuthorizationCode.__table__
_T = Token.__table__
_P = Person.__table__

_CODE_FIELDS = tuple(f.name for f in fields(StoredCode) if f.name != "person")
_PERSON_FIELDS = tuple(f.name for f in fields(PersonClaims))
_TOKEN_FIELDS = tuple(f.name for f in fields(StoredToken) if f.name != "person")
# Every column but the id: a prepared INSERT applies no column defaults.
_TOKEN_COLUMNS = tuple(c.name for c in _T.columns if c.name != "id")

# The code and, when enabled, its person: the token response needs both, one statement instead of two.
_FIND_CODE = Prepared(
    select(*(_C.c[name] for name in _CODE_FIELDS), *(_P.c[name] for name in _PERSON_FIELDS))
    .select_from(_C.outerjoin(_P, (_P.c.id == _C.c.person_id) & _P.c.disabled.is_(False)))
    .where(_C.c.code_hash == bindparam("b_hash"), _C.c.client_id == bindparam("b_client")))
_CLAIM_CODE = Prepared(update(_C).where(_C.c.id == bindparam("b_id"), _C.c.used_at.is_(None))
                       .values(used_at=bindparam("b_now")))
_NONCE_USED = Prepared(select(_C.c.id).where(_C.c.client_id == bindparam("b_client"), _C.c.nonce == bindparam("b_nonce"))
                       .limit(1))
# A token and, when enabled, its person: a refresh needs both, one statement instead of two.
_FIND_TOKEN = {
    kind: Prepared(select(*(_T.c[name] for name in _TOKEN_FIELDS), *(_P.c[name] for name in _PERSON_FIELDS))
                   .select_from(_T.outerjoin(_P, (_P.c.id == _T.c.person_id) & _P.c.disabled.is_(False)))
                   .where(_T.c[f"{kind}_hash"] == bindparam("b_hash")))
    for kind in ("access_token", "refresh_token")
}
_CLAIM_REFRESH = Prepared(update(_T).where(_T.c.id == bindparam("b_id"), _T.c.refresh_used.is_(False),
                                           _T.c.revoked.is_(False)).values(refresh_used=True))
_INSERT_TOKEN = Prepared(insert(_T).values({name: bindparam(name) for name in _TOKEN_COLUMNS}))
# The audit record written in the same transaction.
_AUDIT = (Prepared(audit_log.INSERT),)
_A = audit_log.INSERT.table


def _typed(column):
    """A parameter for ``column``, cast to its type and converted by it."""
    return cast(bindparam(column.name, type_=column.type), column.type)


def _issue_in_one(claim):
    """PostgreSQL: ``claim`` (an UPDATE of one unclaimed row, or None), the token row and its audit record
    as one statement. The INSERTs select from the CTE before them, so when the claim matches nothing,
    nothing is inserted and the statement changes 0 rows; else 1 (the audit record). Every value is cast:
    a parameter in a SELECT list has no column type to be inferred from."""
    values = select(*(_typed(_T.c[name]) for name in _TOKEN_COLUMNS))
    if claim is not None:
        values = values.select_from(claim.returning(literal(1)).cte("claimed"))
    new = insert(_T).from_select(list(_TOKEN_COLUMNS), values).returning(_T.c.id).cte("new")
    record = select(*(_typed(_A.c[name]) for name in ("at", "event", "data"))).select_from(new)
    return Prepared(insert(_A).from_select(["at", "event", "data"], record))


_ISSUE_IN_ONE = {"code": _issue_in_one(_CLAIM_CODE.statement), "refresh": _issue_in_one(_CLAIM_REFRESH.statement),
                 None: _issue_in_one(None)}


class SqlTokenStore:
    def __init__(self, session):
        """``session``: a SQLAlchemy session or scoped session (the app's ``db.session``)."""
        self._session = session

    # --- codes ---------------------------------------------------------------------------
    def save_code(self, code: NewCode) -> None:
        values = dict(code)
        values["code_hash"] = token_hash(values.pop("code"))
        with writes.session_write(self._session) as conn:
            conn.execute(insert(_C).values(used_at=None, **values))

    def find_code(self, code: str, client_id: str) -> StoredCode | None:
        row = _FIND_CODE.first(writes.read_connection(self._session), {"b_hash": token_hash(code), "b_client": client_id})
        if row is None:
            return None
        code_fields, person_fields = row[:len(_CODE_FIELDS)], row[len(_CODE_FIELDS):]
        return StoredCode(*code_fields, PersonClaims(*person_fields) if person_fields[0] is not None else None)

    def nonce_used(self, client_id: str, nonce: str) -> bool:
        return _NONCE_USED.first(self._session.connection(), {"b_client": client_id, "b_nonce": nonce}) is not None

    def consume_code(self, code_id: int) -> bool:
        with writes.session_write(self._session) as conn:
            return self._claim_code(conn, code_id)

    # --- tokens --------------------------------------------------------------------------
    def find_token(self, value: str, kind: TokenKind) -> StoredToken | None:
        row = _FIND_TOKEN[kind].first(writes.read_connection(self._session), {"b_hash": token_hash(value)})
        if row is None:
            return None
        token_fields, person_fields = row[:len(_TOKEN_FIELDS)], row[len(_TOKEN_FIELDS):]
        return StoredToken(*token_fields, PersonClaims(*person_fields) if person_fields[0] is not None else None)

    def issue(self, token: NewToken, *, audit: dict, code_id: int | None = None,
              refresh_id: int | None = None) -> None:
        row = dict(token)
        refresh = row.pop("refresh_token")
        row.update(access_token_hash=token_hash(row.pop("access_token")),
                   refresh_token_hash=token_hash(refresh) if refresh else None,
                   revoked=False, access_revoked=False, refresh_used=False)
        # Nothing else writes through another connection meanwhile (SQLite would wait on its own lock).
        with writes.session_write(self._session) as conn:
            if conn.dialect.name == "postgresql":
                event = self._issue_in_one(conn, row, audit, code_id, refresh_id)
            else:
                event = self._issue_apart(conn, row, audit, code_id, refresh_id)
        audit_log.announce("token.issued", event)

    def _issue_in_one(self, conn, row: dict, audit: dict, code_id: int | None, refresh_id: int | None) -> dict:
        event = audit_log.sanitize(audit)
        row.update(audit_log.row("token.issued", event))
        if code_id is not None:
            claimed = _ISSUE_IN_ONE["code"].execute(conn, dict(row, b_id=code_id, b_now=time.time()))
        elif refresh_id is not None:
            claimed = _ISSUE_IN_ONE["refresh"].execute(conn, dict(row, b_id=refresh_id))
        else:
            claimed = _ISSUE_IN_ONE[None].execute(conn, row)
        if claimed != 1:
            raise AlreadyClaimed("the authorization code or refresh token has already been used or revoked")
        return event

    def _issue_apart(self, conn, row: dict, audit: dict, code_id: int | None, refresh_id: int | None) -> dict:
        if code_id is not None and not self._claim_code(conn, code_id):
            raise AlreadyClaimed("the authorization code has already been used")
        if refresh_id is not None and not self._claim_refresh(conn, refresh_id):
            raise AlreadyClaimed("the refresh token has already been used or revoked")
        _INSERT_TOKEN.execute(conn, row)
        return audit_log.append(conn, "token.issued", audit, statements=_AUDIT)

    def _claim_code(self, conn, code_id: int) -> bool:
        return _CLAIM_CODE.execute(conn, {"b_id": code_id, "b_now": time.time()}) == 1

    def _claim_refresh(self, conn, token_id: int) -> bool:
        return _CLAIM_REFRESH.execute(conn, {"b_id": token_id}) == 1

    # --- revocation ----------------------------------------------------------------------
    def revoke_grant(self, *, family_id: str | None = None, code_id: int | None = None,
                     sid: str | None = None) -> int:
        given = [(column, value) for column, value in (("family_id", family_id), ("code_id", code_id),
                                                       ("sid", sid)) if value is not None]
        if len(given) != 1:
            raise ValueError("revoke_grant takes exactly one of family_id, code_id, sid")
        column, value = given[0]
        with writes.session_write(self._session) as conn:
            return conn.execute(update(_T).where(_T.c[column] == value, _T.c.revoked.is_(False))
                                .values(revoked=True)).rowcount

    def revoke_acting(self, *, person_id: int, entity_id: int) -> int:
        with writes.session_write(self._session) as conn:
            return conn.execute(update(_T).where(_T.c.person_id == person_id, _T.c.entity_id == entity_id,
                                                 _T.c.revoked.is_(False)).values(revoked=True)).rowcount

    def revoke_access(self, token_id: int) -> None:
        with writes.session_write(self._session) as conn:
            conn.execute(update(_T).where(_T.c.id == token_id).values(access_revoked=True))

    def revoke_client(self, client_id: str) -> int:
        with writes.session_write(self._session) as conn:
            conn.execute(update(_C).where(_C.c.client_id == client_id, _C.c.used_at.is_(None))
                         .values(used_at=time.time()))
            return conn.execute(update(_T).where(_T.c.client_id == client_id, _T.c.revoked.is_(False))
                                .values(revoked=True)).rowcount
