"""Forms of the reputation rules page and the moderator adjustment.

Rule, level and privilege values are text fields on purpose: the service validates them
(reputation_rules.validate_*) and its messages ("Enter a whole number.", "Must be between 0 and
1,000,000.") are the ones shown beside the fields.
"""

from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import Length

from community.services import reputation_rules

NUMBER = {"inputmode": "numeric", "autocomplete": "off", "size": 8}


class LevelRow(Form):
    name = StringField("Name", render_kw={"maxlength": 30})
    min = StringField("From reputation", render_kw=NUMBER)
    remove = BooleanField("Remove")


class RulesForm(FlaskForm):
    preset = SelectField(
        "Preset",
        choices=[SelectChoice(k, v) for k, v in reputation_rules.PRESET_LABELS.items()],
        description="The rules of a preset fill the form with “Load the preset's rules”; Apply stores the choice.",
    )
    levels = FieldList(FormField(LevelRow), min_entries=1, max_entries=30)
    reason = StringField(
        "Reason for the change",
        validators=[Length(max=300, message="At most 300 characters.")],
        description="Recorded with the rebuild.",
        render_kw={"maxlength": 300},
    )
    preview = SubmitField("Preview")
    apply = SubmitField("Apply")
    add_level = SubmitField("Add a level")
    load_preset = SubmitField("Load the preset's rules")


for _name, _label, _low, _high in reputation_rules.RULE_FIELDS:
    setattr(RulesForm, _name, StringField(_label, description=f"{_low:,} to {_high:,}", render_kw=NUMBER))
for _name, (_default, _label, _description) in reputation_rules.PRIVILEGES.items():
    setattr(RulesForm, _name, StringField(_label[:1].upper() + _label[1:], description=_description, render_kw=NUMBER))


class AdjustForm(FlaskForm):
    delta = StringField("Change", description="A whole number, e.g. 50 or -20.", render_kw=NUMBER)
    reason = StringField("Reason", description="Shown in the member's reputation history.",
                         render_kw={"maxlength": 300})  # fmt: skip
    submit = SubmitField("Adjust reputation")
