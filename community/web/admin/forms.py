"""Forms of the admin pages."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from community.models import ROLES
from community.services import categories
from community.services.policy import ROLE_LABELS


class CategoryForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[DataRequired(message="Enter a name."),
                    Length(max=categories.NAME_MAX, message=f"At most {categories.NAME_MAX} characters.")],  # fmt: skip
        render_kw={"maxlength": categories.NAME_MAX},
    )
    slug = StringField(
        "Slug",
        validators=[Optional(), Length(max=60, message="At most 60 characters.")],
        description="Used in the address (/categories/<slug>). Lowercase letters, digits and hyphens; "
        "leave empty to make one from the name.",
        render_kw={"maxlength": 60, "pattern": "[a-z0-9-]{2,60}", "autocomplete": "off"},
    )
    description = TextAreaField(
        "Description",
        validators=[Length(max=categories.DESCRIPTION_MAX, message=f"At most {categories.DESCRIPTION_MAX} characters.")],
        render_kw={"rows": 3, "maxlength": categories.DESCRIPTION_MAX},
    )
    position = IntegerField(
        "Position",
        default=0,
        validators=[Optional(),
                    NumberRange(min=categories.POSITION_MIN, max=categories.POSITION_MAX,
                                message="Enter a whole number from -10000 to 10000.")],  # fmt: skip
        description="Lower numbers are listed first.",
    )
    is_default = BooleanField("Default category (preselected when asking; only one can be the default)")
    submit = SubmitField("Save category")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=[SelectChoice(r, ROLE_LABELS.get(r, r)) for r in ROLES])
    submit = SubmitField("Change")
