"""Take the README's screenshots of the web chat: ``python scripts/webchat_screenshot.py`` (needs Chromium).

Starts ``python -m bot run`` with only the web chat on the repository's knowledge base (SQLite in a temporary
folder), opens the bot's ``/demo`` page in headless Chromium, asks a question typed without diacritics, and
writes ``docs/webchat.png`` (desktop) and ``docs/webchat-phone.png`` (375×667).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "cach cai dat vneid tren dien thoai"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    browser_path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if browser_path is None:
        raise SystemExit("no Chromium found: run scripts/ensure-browser.sh")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": "", "ZALO_APP_ID": "", "WEBCHAT_ENABLED": "true",
               "DATABASE_URL": f"sqlite:///{tmp}/bot.db", "KNOWLEDGE_DIR": str(ROOT / "knowledge"),
               "HTTP_PORT": str(port), "LOG_LEVEL": "WARNING"}
        bot = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp, env=env, stdin=subprocess.DEVNULL)
        try:
            for _ in range(300):
                try:
                    with urllib.request.urlopen(base + "/healthz", timeout=2):
                        break
                except OSError:
                    time.sleep(0.1)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=browser_path, headless=True, args=["--no-sandbox"])
                for name, viewport in (("webchat.png", (1100, 760)), ("webchat-phone.png", (375, 667))):
                    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
                    page.goto(base + "/demo")
                    widget = page.locator("#troly-so-widget")
                    widget.locator(".msg.bot").first.wait_for()
                    box = widget.get_by_role("textbox")
                    box.fill(QUESTION)
                    box.press("Enter")
                    widget.locator(".msg.bot").nth(1).wait_for()
                    widget.locator(".msg.me").last.scroll_into_view_if_needed()  # the question, then the answer
                    widget.locator(".log").evaluate("e => { e.scrollTop = e.querySelector('.msg.me').offsetTop - 8; }")
                    page.wait_for_timeout(300)
                    page.screenshot(path=str(ROOT / "docs" / name))
                    page.close()
                browser.close()
        finally:
            bot.terminate()
            bot.wait(20)


if __name__ == "__main__":
    main()
