"""An in-memory CRM connector for the admin, CLI, job and service tests (import as ``crm_recorder``).

``use(monkeypatch, app)`` makes every ``crm_base.get`` return one Recorder. It records the members
and fields of every batch (``sent``, ``batches``), refuses the emails in ``refuse`` (a permanent per-record error), raises a retryable
503 while ``down``, and answers ``ping`` unless ``ping_error`` is set.
"""

from community.integrations import crm_base
from community.integrations.crm_base import DeliveryError, RecordResult


class Recorder(crm_base.Connector):
    name = "hubspot"
    batch_size = 3
    required_fields = ("email",)

    def __init__(self, config):
        super().__init__(config)
        self.sent: list[int] = []
        self.batches: list[list[tuple[int, dict]]] = []  # each batch: (member id, CRM fields sent)
        self.refuse: set[str] = set()
        self.down = False
        self.ping_error: str | None = None

    def upsert(self, records):
        if self.down:
            raise DeliveryError("hubspot: HTTP 503", status=503)
        self.sent.extend(r.user_id for r in records)
        self.batches.append([(r.user_id, dict(r.fields)) for r in records])
        return [RecordResult(user_id=r.user_id, ok=r.email not in self.refuse, contact_id=f"c{r.user_id}",
                             error="INVALID_EMAIL" if r.email in self.refuse else None) for r in records]  # fmt: skip

    def ping(self):
        if self.ping_error:
            raise DeliveryError(self.ping_error, retryable=False, status=401)
        return "hubspot: portal 42 answers"


def use(monkeypatch, app) -> Recorder:
    connector = Recorder(app.config)
    monkeypatch.setattr(crm_base, "get", lambda name, config: connector)
    return connector
