"""Forms of the profile and settings pages."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length

from community.models.crm import CONNECTORS
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


class CrmLinkForm(FlaskForm):
    """Staff: link a member to an existing CRM contact by its id."""

    connector = SelectField("CRM", choices=[SelectChoice(name, name.title()) for name in CONNECTORS])
    contact_id = StringField(
        "Contact id",
        validators=[DataRequired(message="Give the CRM contact id."), Length(max=120, message="At most 120 characters.")],
        description="The contact's id in that CRM (Salesforce 003…, a HubSpot contact number).",
        render_kw={"maxlength": 120, "autocomplete": "off"},
    )
    submit = SubmitField("Link contact")


class PrivacyForm(FlaskForm):
    crm_sharing = BooleanField("Share my community activity with the company's customer records")
    submit = SubmitField("Save privacy settings")


class EmailForm(FlaskForm):
    new_email = EmailField(
        "New email address",
        validators=[DataRequired(message="Enter your new email address."), Length(max=254, message="At most 254 characters.")],
        render_kw={"autocomplete": "email", "maxlength": 254},
    )
    password = PasswordField("Current password", validators=[DataRequired(message="Enter your current password.")],
                             render_kw={"autocomplete": "current-password"})  # fmt: skip
    submit = SubmitField("Change email")
