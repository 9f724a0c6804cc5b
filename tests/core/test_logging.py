import io
import json
import logging

from apps.core.log_filters import RedactPersonalData, redact


def test_email_addresses_and_secrets_are_masked():
    text = "login failed for jane.doe+x@example.co.uk password=hunter2 token: abc123"
    assert redact(text) == "login failed for [email] password=[redacted] token: [redacted]"


def test_log_lines_are_json_without_personal_data():
    from pythonjsonlogger.json import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactPersonalData())
    logger = logging.getLogger("qms.test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    # Independent of the root level, which a test worker may have raised.
    logger.setLevel(logging.INFO)
    try:
        logger.warning("sending to %s", "bob@example.com", extra={"recipient": "bob@example.com", "email_id": 7})
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue().strip())
    assert line["message"] == "sending to [email]"
    assert line["recipient"] == "[email]"
    assert line["email_id"] == 7
