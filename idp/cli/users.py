"""``idp users ...``: natural persons and the administrator role."""
from __future__ import annotations

import sys

import click

from ..errors import IdpError
from .context import emit, get_app, json_option

EMPTY_PASSWORD = "the password is empty"


def _acceptable(value: str) -> str:
    """Refuse a typed password at once, so that the operator types another instead of starting over."""
    from ..identity.passwords import MIN_PASSWORD_LENGTH
    if not value:
        raise click.UsageError(EMPTY_PASSWORD)
    if len(value) < MIN_PASSWORD_LENGTH:
        raise click.UsageError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    return value


def read_new_password(from_stdin: bool) -> str:
    """The new person's password: typed twice without echo, or one line of standard input (scripts).
    Never an argument: arguments end up in the shell history and in every process listing."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise IdpError("--password-stdin: no password on standard input (give it as one line)")
        return _or_fail(line.rstrip("\r\n"))
    # on stderr: standard output stays the command's result (--json)
    return click.prompt("Password", hide_input=True, confirmation_prompt=True, default="", show_default=False,
                        value_proc=_acceptable, err=True)


def _or_fail(password: str) -> str:
    if not password:
        raise IdpError(f"{EMPTY_PASSWORD}: --password-stdin reads the first line of standard input")
    return password


@click.group("users", help="Natural persons.")
def users():
    pass


@users.command("add", help="Add a person keyed by national ID number. Asks for the password twice (not "
                            "shown), or reads it as one line of standard input with --password-stdin.")
@click.option("--id-number", required=True)
@click.option("--name", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--phone")
@click.option("--email")
@click.option("--admin", is_flag=True, help="Grant the administrator role.")
@json_option
def users_add(id_number, name, password_stdin, phone, email, admin, as_json):
    from ..identity.service import create_person
    app = get_app()  # a missing database or bad settings stop the command before it asks for a password
    password = read_new_password(password_stdin)
    with app.app_context():
        person = create_person(id_number=id_number, name=name, password=password, phone=phone, email=email,
                               is_admin=admin)
        emit(as_json, {"sub": person.public_id, "name": person.name},
             f"added {person.name} (sub {person.public_id})")


@users.command("set-admin", help="Grant an existing person the administrator role (or take it away with "
                                 "--revoke). ID: the person's ID number, phone or email.")
@click.argument("username", metavar="ID")
@click.option("--revoke", is_flag=True, help="Take the administrator role away.")
@json_option
def users_set_admin(username, revoke, as_json):
    from ..identity.service import set_admin
    app = get_app()
    with app.app_context():
        person, changed = set_admin(username, not revoke)
        if changed:
            app.extensions["idp"].audit("person.admin_revoked" if revoke else "person.admin_granted",
                                        person=person.public_id, by="cli")
        state = "is an administrator" if person.is_admin else "is not an administrator"
        emit(as_json, {"sub": person.public_id, "name": person.name, "is_admin": person.is_admin,
                       "changed": changed},
             f"{person.name} (sub {person.public_id}) {state}" + ("" if changed else " (unchanged)"))
