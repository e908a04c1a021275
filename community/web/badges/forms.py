"""Forms of the manage page: define a manual badge, award it, revoke an award."""

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from community.models import TIERS

REASON_HELP = "5 to 300 characters; recorded with the award and shown to staff."


class DefineForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="Enter a name."), Length(max=60, message="At most 60 characters.")],
                       render_kw={"maxlength": 60})  # fmt: skip
    tier = SelectField("Tier", choices=[SelectChoice(t, t.title()) for t in TIERS])
    description = TextAreaField("Description", validators=[Length(max=500, message="At most 500 characters.")],
                                render_kw={"rows": 3, "maxlength": 500})  # fmt: skip
    submit = SubmitField("Create badge")


class AwardForm(FlaskForm):
    badge = SelectField("Badge", choices=[])
    user = StringField("Member", validators=[DataRequired(message="Enter the member's email or id.")],
                       description="The member's email address or user id.", render_kw={"autocomplete": "off"})  # fmt: skip
    reason = StringField("Reason", validators=[DataRequired(message="Give a reason.")], description=REASON_HELP,
                         render_kw={"maxlength": 300})  # fmt: skip
    submit = SubmitField("Award badge")


class RevokeForm(FlaskForm):
    revoke_reason = StringField("Reason for revoking", validators=[DataRequired(message="Give a reason.")],
                                render_kw={"maxlength": 300})  # fmt: skip
    submit = SubmitField("Revoke")
