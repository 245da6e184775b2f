"""``idp certs ...``: generate the demo PKI, report on trusted CA certificates and CRLs, refresh CRLs.

The ``certs`` click group is self-contained; the main ``idp`` command registers it. ``status`` and
``refresh`` read the trust profiles the server trusts: IDP_TRUST_PROFILES_DIR as the server reads it
(environment, then the IDP_ENV_FILE file, then the default), unless ``--profiles`` names another directory.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from .errors import ProfileError
from .sm2 import SM2Error
from .status import collect_status
from .store import TrustStore

DEMO_PROFILES = "certs/profiles"


def _profiles_dir(option: str | None) -> str:
    if option:
        return option
    from ..config import setting_value
    from ..errors import ConfigError
    try:
        return setting_value("trust_profiles_dir")
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


profiles_option = click.option(
    "--profiles", "profiles_dir", default=None, metavar="DIR",
    help="Directory of trust profiles (default: IDP_TRUST_PROFILES_DIR, as the server reads it).")


@click.group("certs")
def certs() -> None:
    """Certificate trust profiles and the demo PKI."""


@certs.command("demo")
@click.option("--out", "out_dir", default="certs/demo", show_default=True,
              type=click.Path(file_okay=False), help="Where to write the demo PKI.")
@click.option("--profiles", "profiles_dir", default=DEMO_PROFILES, show_default=True,
              type=click.Path(file_okay=False), help="Where to write the demo trust profiles.")
def demo_command(out_dir: str, profiles_dir: str) -> None:
    """Generate three demo CAs, their users' certificates, CRLs and trust profiles."""
    from .demo import generate
    try:
        manifest = generate(out_dir, profiles_dir)
    except OSError as exc:
        raise click.ClickException(f"cannot write the demo PKI: {exc.strerror}: {exc.filename}")
    except SM2Error as exc:
        raise click.ClickException(f"cannot create the SM2 demo CA: {exc}")
    click.echo(f"demo PKI: {len(manifest['cas'])} CAs, {len(manifest['certificates'])} "
               f"certificates in {out_dir} (keys and .p12 in {Path(out_dir) / 'private'}, "
               f"password {manifest['password']!r}); profiles in {profiles_dir}")


@certs.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@profiles_option
def status_command(as_json: bool, profiles_dir: str | None) -> None:
    """List trusted CA certificates and CRLs with days to expiry (warns under 30 days)."""
    profiles_dir = _profiles_dir(profiles_dir)
    if not Path(profiles_dir).is_dir():
        raise click.ClickException(f"no trust profile directory at {profiles_dir}")
    try:
        store = TrustStore.from_directory(profiles_dir)
        report = collect_status(store, dt.datetime.now(dt.timezone.utc))
    except (ProfileError, OSError, ValueError) as exc:
        raise click.ClickException(str(exc).splitlines()[0])
    if as_json:
        click.echo(json.dumps({"profiles_dir": str(profiles_dir), **report}, ensure_ascii=False, indent=2))
    else:
        click.echo(f"trust profiles in {profiles_dir}")
        for ca in report["ca_certificates"]:
            flag = {"ok": "", "warning": "  WARNING: expires soon", "expired": "  EXPIRED"}[ca["state"]]
            click.echo(f"CA   {ca['profile']:<16} {ca['role']:<12} {ca['days_left']:>6} days  "
                       f"{ca['subject']}{flag}")
        for crl in report["crls"]:
            flag = {"ok": "", "warning": "  WARNING: next update soon",
                    "expired": "  EXPIRED"}[crl["state"]]
            days = "-" if crl["days_left"] is None else crl["days_left"]
            click.echo(f"CRL  {crl['issuer']:<40} {days:>6} days  {crl['revoked']} revoked  "
                       f"{crl['source']}{flag}")
        for problem in report["problems"]:
            click.echo(f"problem: {problem}", err=True)
        if not report["profiles"]:
            click.echo("no trust profiles loaded", err=True)
    bad = report["problems"] or any(x["state"] == "expired"
                                    for x in report["ca_certificates"] + report["crls"])
    if bad:
        raise SystemExit(1)


@certs.command("refresh")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@profiles_option
def refresh_command(as_json: bool, profiles_dir: str | None) -> None:
    """Fetch every configured CRL once and report it (exit status 1 when one cannot be loaded)."""
    profiles_dir = _profiles_dir(profiles_dir)
    from .refresh import refresh_once
    if not Path(profiles_dir).is_dir():
        raise click.ClickException(f"no trust profile directory at {profiles_dir}")
    try:
        store = TrustStore.from_directory(profiles_dir)
    except (ProfileError, OSError, ValueError) as exc:
        raise click.ClickException(str(exc).splitlines()[0])
    problems = refresh_once(store)
    crls = [{"source": source, "issuer": crl.issuer.rfc4514_string(),
             "next_update": crl.next_update_utc.isoformat() if crl.next_update_utc else None}
            for source, crl in sorted(store.revocation.cached_crls().items())]
    if as_json:
        click.echo(json.dumps({"profiles_dir": str(profiles_dir), "crls": crls, "problems": problems},
                              ensure_ascii=False, indent=2))
    else:
        click.echo(f"trust profiles in {profiles_dir}")
        for crl in crls:
            click.echo(f"CRL  {crl['issuer']:<40} next update {crl['next_update'] or '-'}  {crl['source']}")
        for problem in problems:
            click.echo(f"problem: {problem}", err=True)
        if not crls and not problems:
            click.echo("no CRL is configured", err=True)
    if problems:
        raise SystemExit(1)
