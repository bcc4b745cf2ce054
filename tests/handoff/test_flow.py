"""A case from the person's request to their rating, through the Telegram adapter on both sides."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.core import payloads
from bot.storage.handoff_tables import AuditRow, CaseNoteRow, CaseRow, LawyerMessageRow, RelayRow
from bot.storage.tables import ContactRow, RemoteErasureRow
from tests.conftest import record
from tests.handoff.conftest import LAWYER_A, LAWYER_B, USER, HandoffStack, _update_ids
from tests.telegram.fake_bot_api import private_message

pytestmark = pytest.mark.asyncio

QUESTION = "Мне отказали в статусе беженца, как обжаловать?"


async def open_case(stack: HandoffStack, *, chat_id: int = USER, text: str = "Мне нужен юрист") -> str:
    """Ask for a lawyer and agree to share; the consent payload that was pressed."""
    await stack.write(text, chat_id=chat_id)
    asked = stack.new_to(chat_id)
    consent = next(p for params in asked for p in stack.buttons(params) if p.startswith("case:consent:"))
    await stack.press(consent, chat_id=chat_id)
    return consent


async def test_a_case_from_request_to_rating(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru", "kk"))
    await stack.add_lawyer(LAWYER_B, "Dana", ("kk",))
    await stack.write(QUESTION)
    stack.new_to(USER)

    await stack.write("Мне нужен юрист")
    asked = stack.new_to(USER)
    buttons = [p for params in asked for p in stack.buttons(params)]
    assert any(p.startswith("case:consent:") for p in buttons) and payloads.case("decline") in buttons
    assert "lawyer" in asked[-1]["text"].lower() or "юрист" in asked[-1]["text"].lower()
    async with record(stack.app)() as session:
        assert await session.scalar(select(func.count()).select_from(CaseRow)) == 0, "no case before consent"

    consent = next(p for p in buttons if p.startswith("case:consent:"))
    await stack.press(consent)
    told = stack.text_to(USER)
    assert "#1" in told, "the person learns their case number"
    assert "1" in told and "Asia/Almaty" in told, "their place in the queue and the working hours"

    announced = stack.new_to(LAWYER_A)
    assert len(announced) == 1 and "#1" in announced[0]["text"]
    assert stack.buttons(announced[0]) == ["take:1"]
    assert QUESTION not in announced[0]["text"], "announcements never show the person's words"
    assert stack.new_to(LAWYER_B) == [], "Dana does not speak Russian: not announced to her"

    await stack.press("take:1", chat_id=LAWYER_A)
    card = stack.text_to(LAWYER_A)
    assert "#1" in card and QUESTION in card, "the lawyer who took it sees the conversation"
    taken = stack.text_to(USER)
    assert "Aigerim" in taken and "#1" in taken

    await stack.write("Мой паспорт забрали в миграционной полиции")
    relayed = stack.new_to(LAWYER_A)
    assert [m["text"] for m in relayed] == ["#1: Мой паспорт забрали в миграционной полиции"]
    assert stack.new_to(USER) == [], "Pana does not answer from content while a lawyer holds the case"

    await stack.write("Приходите завтра в 10:00 <с документами>", chat_id=LAWYER_A, reply_to=stack.last_id_to(LAWYER_A))
    answer = stack.new_to(USER)
    assert len(answer) == 1
    label = stack.tr("Lawyer {name} (case #{case}):").format(name="Aigerim", case=1)
    assert answer[0]["text"].startswith(label), "marked as a lawyer's words"
    assert answer[0]["text"].endswith("Приходите завтра в 10:00 &lt;с документами&gt;"), "escaped for HTML"

    await stack.write("И возьмите справку", chat_id=LAWYER_A)  # plain message after /take: the current case
    assert stack.text_to(USER).endswith("И возьмите справку")

    await stack.write("/note 1 сложный случай, нужна апелляция", chat_id=LAWYER_A)
    assert "#1" in stack.text_to(LAWYER_A)
    assert stack.new_to(USER) == [], "notes are internal"

    await stack.write("/menu")  # the person can still open the menu explicitly
    menu = stack.new_to(USER)
    assert menu and any(p.startswith("menu:") for p in stack.buttons(menu[-1]))
    assert stack.new_to(LAWYER_A) == []

    await stack.write("/close 1 помогли подать жалобу", chat_id=LAWYER_A)
    assert "#1" in stack.text_to(LAWYER_A)
    closing = stack.new_to(USER)
    assert "#1" in closing[-1]["text"] and "помогли" not in closing[-1]["text"], "the outcome note is internal"
    assert stack.buttons(closing[-1]) == [f"case:rate:1:{n}" for n in range(1, 6)]

    await stack.press("case:rate:1:5")
    assert stack.tr("Thank you for your rating. It helps us improve.") in stack.text_to(USER)

    async with record(stack.app)() as session:
        case = (await session.execute(select(CaseRow))).scalar_one()
        audit = (await session.execute(select(AuditRow).order_by(AuditRow.id))).scalars().all()
        relays = (await session.execute(select(RelayRow))).scalars().all()
        notes = (await session.execute(select(CaseNoteRow))).scalars().all()
    assert (case.status, case.rating, case.outcome) == ("closed", 5, "помогли подать жалобу")
    assert [n.text for n in notes] == ["сложный случай, нужна апелляция"]
    assert {r.status for r in relays} == {"sent"}, "every relayed message was delivered"
    assert len([r for r in relays if r.direction == "to_lawyer"]) == 1
    actions = [(a.actor, a.action) for a in audit if a.actor != "admin"]
    assert actions == [
        ("user", "opened"),
        ("system", "announced"),
        ("lawyer", "took"),
        ("lawyer", "replied"),
        ("lawyer", "replied"),
        ("lawyer", "noted"),
        ("lawyer", "closed"),
        ("user", "rated"),
    ]
    assert {c.name for c in AuditRow.__table__.columns} == {
        "id",
        "at",
        "actor",
        "lawyer_id",
        "action",
        "case_id",
        "staff_id",
        "subject_staff_id",  # the console account an admin acted on (a staff id, never a person's)
    }


async def test_asking_again_shows_the_open_case(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await open_case(stack)
    stack.new_to(USER)
    await stack.write("/lawyer")
    again = stack.new_to(USER)
    assert "#1" in again[0]["text"]
    assert not any(p.startswith("case:consent:") for params in again for p in stack.buttons(params))
    await stack.press(payloads.case("consent", "-", "a"))  # an old consent button pressed once more
    async with record(stack.app)() as session:
        assert await session.scalar(select(func.count()).select_from(CaseRow)) == 1


async def test_consent_can_be_declined_by_typing_no(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await stack.write("Мне нужен юрист")
    stack.new_to(USER)
    await stack.write("нет")
    declined = stack.new_to(USER)
    assert any(p.startswith("menu:") for p in stack.buttons(declined[-1]))
    async with record(stack.app)() as session:
        assert await session.scalar(select(func.count()).select_from(CaseRow)) == 0
    assert stack.new_to(LAWYER_A) == []


async def test_consent_can_be_given_by_typing_yes(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await stack.write("Мне нужен юрист")
    await stack.write("да")
    assert "#1" in stack.text_to(USER)
    assert "#1" in stack.text_to(LAWYER_A)


async def test_consent_can_be_given_in_kazakh(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("kk",))
    await stack.write("Маған заңгер керек")
    await stack.write("иә")
    assert "#1" in stack.text_to(LAWYER_A)


async def test_a_delete_word_at_the_consent_question_shares_nothing(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await stack.write("Мне нужен юрист")
    stack.new_to(LAWYER_A)
    await stack.write("удалить")
    async with record(stack.app)() as session:
        assert await session.scalar(select(func.count()).select_from(CaseRow)) == 0
    assert stack.new_to(LAWYER_A) == []


async def test_without_registered_lawyers_the_person_gets_the_organisations(stack: HandoffStack) -> None:
    await stack.write("Мне нужен юрист")
    told = stack.text_to(USER)
    assert any(o.name.ru in told for o in stack.app.catalog.organisations(("legal_aid",)))


async def test_lawyer_is_released_and_the_person_is_told(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await stack.add_lawyer(LAWYER_B, "Dana", ("ru",))
    await open_case(stack)
    await stack.write("/take 1", chat_id=LAWYER_A)
    stack.new_to(USER), stack.new_to(LAWYER_A), stack.new_to(LAWYER_B)
    await stack.write("/mine", chat_id=LAWYER_A)
    assert "#1" in stack.text_to(LAWYER_A)
    await stack.write("/release 1", chat_id=LAWYER_A)
    assert "#1" in stack.text_to(USER), "the person is told their case is back in the queue"
    assert "take:1" in stack.buttons(stack.new_to(LAWYER_B)[-1]), "and it is announced again"
    await stack.write("Вы здесь?")
    assert not any("Вы здесь?" in m["text"] for m in stack.new_to(LAWYER_A)), "no longer relayed to Aigerim"


async def test_a_reply_to_an_unrelated_message_never_reaches_a_person(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await open_case(stack)
    await stack.write("/queue", chat_id=LAWYER_A)
    await stack.write("/take 1", chat_id=LAWYER_A)
    stack.new_to(USER)
    queue_message = stack.messages_to(LAWYER_A)[0][0]  # the announcement: not a message of the case
    await stack.write("этот ответ не для клиента", chat_id=LAWYER_A, reply_to=queue_message)
    assert stack.new_to(USER) == []


async def test_person_deleting_their_data_deletes_the_case_but_not_the_audit_trail(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await open_case(stack)
    await stack.write("/forget")
    await stack.press(payloads.DELETE_YES)
    async with record(stack.app)() as session:
        assert await session.scalar(select(func.count()).select_from(CaseRow)) == 0
        assert await session.scalar(select(func.count()).select_from(ContactRow)) == 0
        assert await session.scalar(select(func.count()).select_from(AuditRow).where(AuditRow.case_id == 1)) >= 1
    stack.new_to(LAWYER_A)
    await stack.write("/take 1", chat_id=LAWYER_A)
    assert stack.text_to(LAWYER_A) == stack.tr("Case #{case} does not exist or is closed.").format(case=1)


async def test_withdrawing_removes_the_relays_from_the_lawyers_chat_and_tells_the_lawyer(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await open_case(stack)
    await stack.press("take:1", chat_id=LAWYER_A)
    await stack.write("Меня держат на складе в Капчагае")
    relayed = stack.messages_to(LAWYER_A)
    assert "Капчагае" in relayed[-1][1]["text"]
    async with record(stack.app)() as session:
        in_lawyer_chat = set((await session.execute(select(LawyerMessageRow.message_id))).scalars())
    assert str(relayed[-1][0]) in in_lawyer_chat
    stack.new_to(LAWYER_A)

    await stack.write("/forget")
    await stack.press(payloads.DELETE_YES)
    await stack.app.handoff.worker.run_once()

    deleted = {
        (call.params["chat_id"], call.params["message_id"])
        for call in stack.api.calls
        if call.method == "deleteMessage"
    }
    assert {(str(LAWYER_A), message_id) for message_id in in_lawyer_chat} <= deleted
    withdrawn = stack.tr(
        "The person in case #{case} withdrew and deleted their data. Pana removed the messages it relayed from "
        "them in the last 48 hours from this chat; please delete anything else you kept."
    ).format(case=1)
    assert stack.text_to(LAWYER_A) == withdrawn
    async with record(stack.app)() as session:
        assert await session.scalar(select(func.count()).select_from(RemoteErasureRow)) == 0, "all done"
    await stack.app.handoff.worker.run_once()
    assert stack.new_to(LAWYER_A) == [], "told once"


async def test_a_kazakh_speaker_sends_a_voice_note_and_a_captioned_photo_during_a_case(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_B, "Dana", ("kk",))
    await stack.write("Маған заңгер керек", language="kk")
    await stack.write("иә", language="kk")
    await stack.press("take:1", chat_id=LAWYER_B)
    stack.new_to(USER), stack.new_to(LAWYER_B)

    voice = {"voice": {"file_id": "v1", "file_unique_id": "u1", "duration": 3}}
    await stack.post(private_message(next(_update_ids), "", chat_id=USER, language="kk", **voice))
    assert "жаз" in stack.text_to(USER).lower(), "asked, in Kazakh, to write in words"
    assert stack.new_to(LAWYER_B) == [], "nothing the lawyer cannot read"

    photo = {"photo": [{"file_id": "p1", "file_unique_id": "p1", "width": 90, "height": 90}], "caption": "Куәлігім"}
    await stack.post(private_message(next(_update_ids), "", chat_id=USER, language="kk", **photo))
    assert "Куәлігім" in stack.text_to(LAWYER_B), "the caption reaches the lawyer"
    assert "жаз" in stack.text_to(USER).lower(), "and the person learns the photo itself did not"


async def test_a_note_on_a_closed_case_is_refused(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await open_case(stack)
    await stack.write("/take 1", chat_id=LAWYER_A)
    await stack.write("/close 1 advised", chat_id=LAWYER_A)
    stack.new_to(LAWYER_A)
    await stack.write("/note 1 called back later", chat_id=LAWYER_A)
    refused = stack.tr("Case #{case} is not yours (any more). /mine lists your cases.").format(case=1)
    assert refused in stack.text_to(LAWYER_A)
    async with record(stack.app)() as session:
        assert await session.scalar(select(func.count()).select_from(CaseNoteRow)) == 0
