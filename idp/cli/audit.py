"""``idp audit ...``: check, seal and export the hash-chained audit log."""
from __future__ import annotations

import sys

import click

from .context import emit, get_app, json_option


@click.group("audit", help="Audit log.")
def audit():
    pass


@audit.command("verify", help="Check the sealed chain and its signed checkpoints; names every altered, moved "
                              "or missing record, and counts the records not sealed yet.")
@click.option("--against", "against", type=click.File("r", encoding="utf-8"),
              help="An earlier `idp audit export`: the chain must still reach every checkpoint it carries.")
@json_option
def audit_verify(against, as_json):
    from ..audit.export import read_anchors
    from ..audit.verification import check
    anchors, keys = read_anchors(against) if against is not None else ([], [])
    with get_app().app_context():
        report = check(anchors=tuple(anchors), anchor_keys=tuple(keys))
        text = "\n".join(["audit chain intact" if report.ok else "\n".join(report.problems), *report.summary()])
        emit(as_json, report.as_dict(), text)
        if not report.ok:
            sys.exit(1)


@audit.command("seal", help="Seal every record waiting for it now and sign a checkpoint of the chain head "
                            "(the server's job runner does this every IDP_AUDIT_SEAL_SECONDS).")
def audit_seal():
    from ..audit.sealing import seal_all
    from ..extensions import db
    app = get_app()
    with app.app_context():
        count = seal_all(db.engine, app.extensions["idp"].keys.signing_key("ES256"))
    click.echo(f"sealed {count} record(s)")


@audit.command("export", help="Write sealed audit records as JSON lines (oldest first), then the signed "
                              "checkpoints covering them and the keys that signed those.")
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
