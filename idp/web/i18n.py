"""Locale selection: an explicit choice (?lang=, remembered), then Accept-Language, then the default."""
from __future__ import annotations

import os
from urllib.parse import urlencode

from flask import request, session

from ..extensions import babel

LOCALES = ("zh", "en")


def select_locale() -> str:
    from flask import current_app
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in LOCALES:
        return session["lang"]
    default = current_app.config["IDP_SETTINGS"].default_locale
    if not request.headers.get("Accept-Language"):
        return default
    return request.accept_languages.best_match(LOCALES, default=default)


def lang_url(code: str) -> str:
    """This page (same path and parameters) in another language."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [code]
    return request.path + "?" + urlencode(args, doseq=True)


def init_i18n(app) -> None:
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["IDP_SETTINGS"].default_locale
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = os.path.join(os.path.dirname(__file__), "translations")
    babel.init_app(app, locale_selector=select_locale)

    @app.template_filter("datetime")
    def format_timestamp(value):
        from datetime import datetime, timezone
        from flask_babel import format_datetime
        return format_datetime(datetime.fromtimestamp(value, timezone.utc), "yyyy-MM-dd HH:mm")

    @app.context_processor
    def inject_locale():
        from flask_babel import get_locale
        return {"current_locale": str(get_locale() or "zh"), "lang_url": lang_url}
