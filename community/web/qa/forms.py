"""Forms of the Q&A pages. They carry input and errors; the rules live in ``services.rules``."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField

from community.services import rules

TITLE_HELP = f"Be specific: {rules.TITLE_MIN} to {rules.TITLE_MAX} characters."
BODY_HELP = f"Markdown. {rules.BODY_MIN} to {rules.BODY_MAX:,} characters."
TAGS_HELP = (
    f"{rules.TAGS_MIN} to {rules.TAGS_MAX} tags, separated by spaces or commas. Lowercase letters, digits "
    f"and + # . - only, at most {rules.TAG_MAX_LEN} characters each."
)
COMMENT_HELP = f"{rules.COMMENT_MIN} to {rules.COMMENT_MAX} characters; inline Markdown (*emphasis*, `code`, links)."
REASON_HELP = f"Optional, at most {rules.REASON_MAX} characters: what did you change and why?"


class AskForm(FlaskForm):
    title = StringField("Title", description=TITLE_HELP)
    body = TextAreaField("Body", description=BODY_HELP)
    tags = StringField("Tags", description=TAGS_HELP)
    category = SelectField("Category", choices=[], validate_choice=False)
    preview = SubmitField("Preview")
    submit = SubmitField("Post your question")


class AnswerForm(FlaskForm):
    body = TextAreaField("Your answer", description=BODY_HELP)
    submit = SubmitField("Post your answer")


class CommentForm(FlaskForm):
    body = TextAreaField("Comment", description=COMMENT_HELP)
    submit = SubmitField("Add comment")


class EditQuestionForm(FlaskForm):
    title = StringField("Title", description=TITLE_HELP)
    body = TextAreaField("Body", description=BODY_HELP)
    tags = StringField("Tags", description=TAGS_HELP)
    reason = StringField("Edit summary", description=REASON_HELP)
    submit = SubmitField("Save edits")


class EditAnswerForm(FlaskForm):
    body = TextAreaField("Answer", description=BODY_HELP)
    reason = StringField("Edit summary", description=REASON_HELP)
    submit = SubmitField("Save edits")


class AcceptForm(FlaskForm):
    answer_id = HiddenField()
