"""The app in a real browser: headless Chromium (Debian's `chromium`) driven by playwright
types a prompt, waits for the picture in the reply, asks a follow-up, runs two edits in the
editor tab, and saves screenshots; nothing in the page may log an error.

The built-in emoji model (assets/emoji) gets the same walk behind the app's model picker, on
the app as a user starts it (no --checkpoint): pick Emoji, "draw a thumbs up", then "make it
dark skin tone", and an edit in its editor.

Screenshots go to a temporary folder, or to $APP_SCREENSHOTS (the README's are made with
APP_SCREENSHOTS=assets/screenshots). $APP_TEST_CHECKPOINT runs the same check on another
checkpoint, e.g. the built-in model in assets/model, instead of the tiny scripted one.
"""

import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("gradio")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("no chromium on this machine: apt-get install chromium (.ci/run does)", allow_module_level=True)
pytest.importorskip("playwright", reason="no playwright: pip install playwright (.ci/run does)")
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from app_helpers import SCRIPTED_REPLY, AppServer, scripted_checkpoint  # noqa: E402
from transfusion.app.world import app_world  # noqa: E402
from transfusion.pipeline import BUILT_IN  # noqa: E402
from transfusion.shapesworld.app import example_images  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PROMPT = "draw a large red circle in the center on a white background"
TIMEOUT = 60_000  # ms: generous, for a slow shared CI machine


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    ckpt = os.environ.get("APP_TEST_CHECKPOINT") or scripted_checkpoint(tmp_path_factory.mktemp("tiny"))
    with AppServer(["--checkpoint", ckpt]) as s:
        yield s


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("APP_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_chat_and_editor_in_headless_chromium(server, shots):
    scripted = not os.environ.get("APP_TEST_CHECKPOINT")
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}")
                if r.failure != "net::ERR_ABORTED" else None)  # aborted: a finished event stream
        page.goto(server.url)

        # chat: a prompt, the picture in the reply, then a follow-up that edits it
        box = page.locator("#chat-input textarea")
        bot = page.locator('#chatbot [data-testid="bot"]')
        box.fill(PROMPT)
        box.press("Enter")
        expect(bot.locator("img")).to_have_count(1, timeout=TIMEOUT)
        if scripted:
            expect(bot.filter(has_text=SCRIPTED_REPLY)).to_have_count(1, timeout=TIMEOUT)
        expect(box).to_be_editable(timeout=TIMEOUT)
        box.fill("make the red circle blue")
        box.press("Enter")
        expect(bot.locator("img")).to_have_count(2, timeout=TIMEOUT)
        expect(box).to_be_editable(timeout=TIMEOUT)
        page.locator('#chatbot [role="log"]').evaluate("log => log.scrollTop = 0")  # the whole conversation
        page.screenshot(path=str(shots / "chat.png"), full_page=True)

        # editor: upload, edit, keep editing, edit again
        page.get_by_role("tab", name="Editor").click()
        page.locator("#edit-input input[type=file]").set_input_files(str(example_images()["red_circle"]))
        instruction = page.locator("#edit-instruction textarea")
        instruction.fill("make the red circle blue")
        page.locator("#edit-run").click()
        history = page.locator("#edit-history img")
        expect(history).to_have_count(2, timeout=TIMEOUT)  # the original and the result
        expect(page.locator("#edit-output img")).to_be_visible()
        page.locator("#edit-keep").click()
        instruction.fill("make the blue circle bigger")
        page.locator("#edit-run").click()
        expect(history).to_have_count(3, timeout=TIMEOUT)
        page.screenshot(path=str(shots / "editor.png"), full_page=True)

        page.get_by_role("tab", name="About").click()
        expect(page.get_by_text("What the model knows")).to_be_visible()
        browser.close()
    assert not problems, "\n".join(problems)


def test_bad_input_shows_a_reason_and_the_app_goes_on(server, tmp_path):
    notes = tmp_path / "notes.png"
    notes.write_bytes(b"these are notes, not a picture\n" * 10)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(server.url)
        box = page.locator("#chat-input textarea")
        bot = page.locator('#chatbot [data-testid="bot"]')
        # a file that is not a picture, in the chat
        page.locator("#chat-input input[type=file]").set_input_files(str(notes))
        box.fill("how many shapes are there?")
        box.press("Enter")
        expect(page.get_by_text("notes.png is not a picture")).to_be_visible(timeout=TIMEOUT)
        page.locator('#chat-input [data-testid="status-tracker"] button[aria-label="Clear"]').click()  # the error badge
        expect(box).to_have_value("how many shapes are there?")  # nothing lost: the message is still there
        # an empty instruction, in the editor
        page.get_by_role("tab", name="Editor").click()
        page.locator("#edit-input input[type=file]").set_input_files(str(example_images()["red_circle"]))
        page.locator("#edit-run").click()
        expect(page.get_by_text("Write an instruction")).to_be_visible(timeout=TIMEOUT)
        # and then both work
        page.get_by_role("tab", name="Chat").click()
        page.locator('#chat-input button[aria-label="Remove file"]').click()
        box.fill(PROMPT)
        box.press("Enter")
        expect(bot.locator("img")).to_have_count(1, timeout=TIMEOUT)
        page.get_by_role("tab", name="Editor").click()
        page.locator("#edit-instruction textarea").fill("make the red circle blue")
        page.locator("#edit-run").click()
        expect(page.locator("#edit-history img")).to_have_count(2, timeout=TIMEOUT)
        browser.close()


EMOJI = BUILT_IN.parent / "emoji"


@pytest.mark.skipif(not (EMOJI / "config.json").exists(), reason="the emoji model is not in assets/emoji yet")
def test_the_emoji_model_behind_the_picker(shots):
    problems = []
    picture, instruction = app_world(EMOJI, 64).edit_examples[0]
    with AppServer([]) as server, sync_playwright() as p:  # the built-in models, as a user starts the app
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.goto(server.url)
        page.locator("#model-picker").get_by_text("Emoji", exact=True).click()
        emoji = page.locator("#model_1")
        expect(emoji).to_be_visible(timeout=TIMEOUT)
        expect(page.locator("#model")).to_be_hidden()

        box = page.locator("#chat-input_1 textarea")
        bot = page.locator('#chatbot_1 [data-testid="bot"]')
        box.fill("draw a thumbs up")
        box.press("Enter")
        expect(bot.locator("img")).to_have_count(1, timeout=TIMEOUT)
        expect(box).to_be_editable(timeout=TIMEOUT)
        box.fill("make it dark skin tone")
        box.press("Enter")
        expect(bot.locator("img")).to_have_count(2, timeout=TIMEOUT)
        expect(box).to_be_editable(timeout=TIMEOUT)
        page.locator('#chatbot_1 [role="log"]').evaluate("log => log.scrollTop = 0")
        page.screenshot(path=str(shots / "emoji_chat.png"), full_page=True)

        emoji.get_by_role("tab", name="Editor").click()
        page.locator("#edit-input_1 input[type=file]").set_input_files(picture)
        page.locator("#edit-instruction_1 textarea").fill(instruction)
        page.locator("#edit-run_1").click()
        expect(page.locator("#edit-history_1 img")).to_have_count(2, timeout=TIMEOUT)
        expect(page.locator("#edit-output_1 img")).to_be_visible()
        page.screenshot(path=str(shots / "emoji_editor.png"), full_page=True)
        emoji.get_by_role("tab", name="About").click()
        expect(emoji.get_by_text("Noto Emoji by Google")).to_be_visible()
        browser.close()
    assert not problems, "\n".join(problems)
