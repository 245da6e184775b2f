"""``idp audit ...``: check and export the hash-chained audit log."""
from __future__ import annotations

import sys

import click

from .context import emit, get_app, json_option


@click.group("audit", help="Audit log.")
def audit():
    pass


@audit.command("verify", help="Check the hash chain; names every altered or missing record.")
@json_option
def audit_verify(as_json):
    from ..audit.log import verify
    with get_app().app_context():
        ok, problems = verify()
        emit(as_json, {"ok": ok, "problems": problems}, "audit chain intact" if ok else "\n".join(problems))
        if not ok:
            sys.exit(1)


@audit.command("export", help="Write audit records as JSON lines (oldest first).")
@click.option("--since", required=True, help="ISO 8601 time or YYYY-MM-DD (UTC unless an offset is given).")
@click.option("--until", help="Exclusive upper bound, same format.")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), help="File to write (default stdout).")
def audit_export(since, until, output):
    from ..audit.export import export_lines, parse_time
    start = parse_time(since, "--since")
    end = parse_time(until, "--until") if until else None
    with get_app().app_context():
        if output:
            with open(output, "w", encoding="utf-8") as out:
                count = export_lines(out, start, end)
            click.echo(f"wrote {count} record(s) to {output}", err=True)
        else:
            export_lines(sys.stdout, start, end)
