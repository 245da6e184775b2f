"""``idp keys ...``: the signing keys, their rotation and the master key that wraps them."""
from __future__ import annotations

import click

from ..errors import ConfigError
from .context import emit, get_app, json_option


@click.group("keys", help="Signing keys.")
def keys():
    pass


def _keys():
    return get_app().extensions["idp"].keys


def _key_line(d: dict) -> str:
    return f"{d['kid']}\t{d['alg']}\t{d['status']}"  # the schedule (activates_at, retires_at) is in --json


@keys.command("list", help="List signing keys, their state and schedule (due transitions are applied).")
@json_option
def keys_list(as_json):
    with get_app().app_context():
        manager = _keys()
        manager.ensure_active_keys()
        rows = [manager.describe(k) for k in manager.list_keys()]
        emit(as_json, rows, "\n".join(_key_line(r) for r in rows))


@keys.command("rotate", help="Create the next key: published now, signing after IDP_KEY_PREPUBLISH_SECONDS; "
                             "the current key then stays published until its tokens have expired.")
@click.option("--alg", type=click.Choice(["RS256", "ES256"]), help="Only this algorithm (default: all).")
@click.option("--now", "immediate", is_flag=True,
              help="Sign with the new key at once (compromised key); relying parties must refetch JWKS.")
@json_option
def keys_rotate(alg, immediate, as_json):
    with get_app().app_context():
        manager = _keys()
        rows = [manager.describe(k) for k in manager.rotate(alg, immediate=immediate)]
        emit(as_json, rows, "\n".join(
            f"new pending key {r['kid']} ({r['alg']}), published now, signing from {r['activates_at']}"
            if r["status"] == "pending" else f"new active key {r['kid']} ({r['alg']})" for r in rows))


@keys.command("retire", help="Stop publishing a key that does not sign (previous or pending). Previous keys "
                             "are also retired automatically once every token they signed has expired.")
@click.argument("kid")
@json_option
def keys_retire(kid, as_json):
    with get_app().app_context():
        manager = _keys()
        row = manager.retire(kid)
        emit(as_json, manager.describe(row), f"retired {row.kid}")


@keys.command("rewrap", help="Re-encrypt every private signing key under a new master key.")
@click.option("--new-master-key-file", type=click.Path(exists=True, dir_okay=False),
              help="File holding the new base64url 32-byte master key.")
@click.option("--new-master-key", envvar="IDP_NEW_MASTER_KEY", show_envvar=True,
              help="The new master key itself (prefer the file or the environment variable).")
@json_option
def keys_rewrap(new_master_key_file, new_master_key, as_json):
    from ..config import _parse_master_key
    if bool(new_master_key_file) == bool(new_master_key):
        raise click.UsageError("give exactly one of --new-master-key-file or IDP_NEW_MASTER_KEY")
    raw = open(new_master_key_file, encoding="ascii").read().strip() if new_master_key_file else new_master_key
    try:
        key = _parse_master_key(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the new master key is invalid: {exc}") from None
    with get_app().app_context():
        count = _keys().rewrap(key)
        emit(as_json, {"rewrapped": count},
             f"re-encrypted {count} signing key(s). Now restart every worker with the new IDP_MASTER_KEY "
             "(and the old one as IDP_MASTER_KEY_PREVIOUS until all have restarted).")
