"""Console page of the CA trust status: /admin/certificates (on the console blueprint)."""
from __future__ import annotations

from flask import render_template

from .certificates import WARN_DAYS, trust_status
from .console import bp


@bp.get("/certificates")
def certificates():
    return render_template("admin/certificates.html", report=trust_status(), warn_days=WARN_DAYS)
