"""Forms of the profile and settings pages."""

from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from community.services.accounts import ABOUT_MAX, NAME_MAX


class ProfileForm(FlaskForm):
    display_name = StringField(
        "Display name",
        validators=[DataRequired(message="Enter a display name."), Length(max=NAME_MAX, message=f"At most {NAME_MAX} characters.")],
        render_kw={"autocomplete": "nickname", "maxlength": NAME_MAX},
    )
    about = TextAreaField(
        "About you",
        validators=[Length(max=ABOUT_MAX, message=f"At most {ABOUT_MAX} characters.")],
        description=f"Markdown, at most {ABOUT_MAX} characters. Shown on your profile.",
        render_kw={"rows": 8, "data-preview-target": "about-preview", "maxlength": ABOUT_MAX},
    )
    submit = SubmitField("Save profile")


class TokenForm(FlaskForm):
    name = StringField(
        "Token name",
        validators=[DataRequired(message="Name the token (1 to 60 characters)."),
                    Length(max=60, message="Name the token (1 to 60 characters).")],  # fmt: skip
        description="What the token is for, e.g. “CI script”.",
        render_kw={"maxlength": 60, "autocomplete": "off"},
    )
    submit = SubmitField("Create token")
