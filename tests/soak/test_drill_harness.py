"""The Redis drills judge only their own campaign's messages at the shared SMTP sink, and a
duplicate really sent fails them (#27): the full soak once failed a clean drill because it
counted the previous drill's 500 invitations as its own."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from tests.soak.drills import judge_invitations
from tests.soak.smtp_sink import SmtpSink


@pytest.fixture
def sink():
    server = SmtpSink()
    yield server
    server.stop()


def _send(sink: SmtpSink, *message_ids: str) -> None:
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:
        for message_id in message_ids:
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = "qms@example.com", "c@example.org", "Survey"
            message["Message-ID"] = message_id
            message.set_content("How did we do?")
            client.send_message(message)


def _invitation(pk: int, sequence: int = 0) -> str:
    return f"<survey-{pk}-{sequence}@qms.example.com>"


def test_each_invitation_once_passes_whatever_an_earlier_drill_left_at_the_sink(sink):
    earlier_drill = [_invitation(pk) for pk in range(1, 6)]
    this_drill = [_invitation(pk) for pk in range(6, 11)]
    _send(sink, *earlier_drill, *this_drill, "<complaint-ack-3@qms.example.com>")
    own, problems = judge_invitations(sink.messages, set(range(6, 11)))
    assert problems == []
    assert sum(own.values()) == len(own) == 5


def test_one_invitation_sent_twice_fails_the_drill(sink):
    _send(sink, *[_invitation(pk) for pk in range(6, 11)], _invitation(8))
    _own, problems = judge_invitations(sink.messages, set(range(6, 11)))
    assert problems == ["1 invitation e-mails reached the sink more than once"]


def test_a_missing_invitation_or_a_second_send_fails_the_drill(sink):
    _send(sink, *[_invitation(pk) for pk in range(6, 10)], _invitation(7, sequence=1))
    _own, problems = judge_invitations(sink.messages, set(range(6, 11)))
    assert problems == [
        "1 invitations never reached the sink",
        "1 e-mails were later sends of an invitation sent once",
    ]
