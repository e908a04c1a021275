"""Forms of the auth pages. Field rules mirror the services; the services have the last word."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from community.services.accounts import NAME_MAX, PASSWORD_MAX, PASSWORD_MIN

_PASSWORD_HELP = f"At least {PASSWORD_MIN} characters."


def _password(label: str, *, rules: bool = True) -> PasswordField:
    validators = [DataRequired(message="Enter a password.")]
    if rules:
        msg = f"Password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters."
        validators.append(Length(min=PASSWORD_MIN, max=PASSWORD_MAX, message=msg))
    return PasswordField(label, validators=validators, description=_PASSWORD_HELP if rules else None,
                         render_kw={"autocomplete": "new-password"})  # fmt: skip


def _confirm(other: str) -> PasswordField:
    return PasswordField(
        "Confirm password",
        validators=[DataRequired(message="Repeat the password."), EqualTo(other, message="The passwords do not match.")],
    )


def _email() -> EmailField:
    return EmailField(
        "Email",
        validators=[DataRequired(message="Enter your email address."), Length(max=254, message="That email is too long.")],
        render_kw={"autocomplete": "email"},
    )


class RegisterForm(FlaskForm):
    email = _email()
    display_name = StringField(
        "Display name",
        validators=[DataRequired(message="Enter a display name."), Length(max=NAME_MAX, message=f"At most {NAME_MAX} characters.")],
        description="Shown next to your questions and answers.",
        render_kw={"autocomplete": "nickname", "maxlength": NAME_MAX},
    )
    password = _password("Password")
    confirm = _confirm("password")
    submit = SubmitField("Create account")


class LoginForm(FlaskForm):
    email = _email()
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password.")],
                             render_kw={"autocomplete": "current-password"})  # fmt: skip
    remember = BooleanField("Remember me on this device")
    submit = SubmitField("Log in")


class ForgotPasswordForm(FlaskForm):
    email = _email()
    submit = SubmitField("Send me a link")


class ResetPasswordForm(FlaskForm):
    password = _password("New password")
    confirm = _confirm("password")
    submit = SubmitField("Set new password")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(message="Enter your current password.")],
                                     render_kw={"autocomplete": "current-password"})  # fmt: skip
    new_password = _password("New password")
    confirm = _confirm("new_password")
    submit = SubmitField("Change password")
