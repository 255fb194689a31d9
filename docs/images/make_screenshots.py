"""Make the README's screenshots of the web UI: the runs page and a trace.

Run from the repository root with windlass's venv (``.venv/bin/python
docs/images/make_screenshots.py``). It runs ``windlass demo --no-serve`` into a temporary
home (its LLM calls go to the tests' local OpenAI-compatible server), serves the UI over
that store on a loopback port and saves two 1280x720 PNGs next to this file, taken with
Debian's Chromium through Playwright.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]

from bench_ui import CHROMIUM, served  # noqa: E402
from openai_server import OpenAIServer  # noqa: E402

import windlass  # noqa: E402
from windlass.server.app import create_app  # noqa: E402
from windlass.tracking.backend import open_tracking  # noqa: E402


def main() -> None:
    """Run the demo, serve the UI and save the screenshots."""
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="windlass-shots-"))
    with OpenAIServer(api_key="sk-demo") as llm:
        env = {
            **os.environ,
            "WINDLASS_HOME": str(home),
            "WINDLASS_LLM_BASE_URL": llm.base_url,
            "WINDLASS_LLM_API_KEY": "sk-demo",
        }
        subprocess.run(
            [sys.executable, "-m", "windlass", "demo", "--no-serve", "--port", "0"],
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
    store = f"sqlite:///{home / 'windlass.db'}"
    windlass.set_tracking_uri(store)
    windlass.set_project("demo-support")
    (trace, *_) = windlass.search_traces().items
    windlass.set_tracking_uri(None)
    app = create_app(open_tracking(store, str(home / "artifacts")), auth=False)
    with served(app) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, env={"HOME": str(home), "PATH": os.environ["PATH"]}
        )
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{url}/projects/demo-churn/runs")
        page.locator("table.runs tbody tr").first.wait_for()
        page.screenshot(path=str(HERE / "ui-runs.png"))
        page.goto(f"{url}/projects/demo-support/traces/{trace.trace_id}")
        page.wait_for_load_state("networkidle")
        page.get_by_text("chat gpt-4o-mini").first.click()  # the LLM span: its chat shows
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(HERE / "ui-trace.png"))
        browser.close()
    print(f"saved {HERE / 'ui-runs.png'} and {HERE / 'ui-trace.png'}")


if __name__ == "__main__":
    main()
