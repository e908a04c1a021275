"""The reference app: a bare Flask hello-world served under the same gunicorn settings."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"
