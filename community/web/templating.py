"""What every template sees: the brand, time filters."""

from dataclasses import dataclass
from datetime import datetime

from community.db import utcnow


@dataclass(frozen=True)
class Brand:
    name: str
    tagline: str
    logo_url: str | None
    primary_color: str
    support_url: str


def reltime(value: datetime | None, now: datetime | None = None) -> str:
    """'just now', '5 minutes ago', '3 days ago', then the date."""
    if value is None:
        return ""
    seconds = int(((now or utcnow()) - value).total_seconds())
    if seconds < 45:
        return "just now"
    for unit, size in (("minute", 60), ("hour", 3600), ("day", 86400)):
        limit = {"minute": 3600, "hour": 86400, "day": 86400 * 30}[unit]
        if seconds < limit:
            n = max(1, round(seconds / size))
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return value.strftime("%b %-d, %Y")


def isotime(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") + "Z" if value else ""


def init_app(app):
    import re

    color = app.config.get("BRAND_PRIMARY_COLOR") or "#2457c5"
    if not re.fullmatch(r"#[0-9a-fA-F]{3,8}", color):
        color = "#2457c5"
    brand = Brand(
        name=app.config["BRAND_NAME"], tagline=app.config["BRAND_TAGLINE"],
        logo_url=app.config.get("BRAND_LOGO_URL"), primary_color=color,
        support_url=app.config["BRAND_SUPPORT_URL"],
    )  # fmt: skip
    from flask_login import current_user

    # macros are imported without context; they still need to know who is looking
    app.jinja_env.globals["current_user"] = current_user
    app.jinja_env.filters["reltime"] = reltime
    app.jinja_env.filters["isotime"] = isotime
    from community.web import levels

    levels.init_app(app)  # level_of(reputation) next to names

    @app.context_processor
    def _brand():
        return {"brand": brand}
