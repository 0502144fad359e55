"""The release notebook as a student sees it, in Jupyter Notebook 7 and in JupyterLab (many
courses' and JupyterHub's default), in a real Chromium driven by Playwright.  A Jupyter server
from the project's environment is started on 127.0.0.1 (it serves both interfaces); the
filled-in notebook and the untouched release are each opened, run with Run > Run All Cells, and
read back from the page.  Screenshots go to out/test-artifacts/browser/, named by interface."""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from autograder.authoring import factory
from autograder.paths import COURSE_ROOT, NOTEBOOK, RELEASE_DIR

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright
except ImportError:  # the dev group pins it; this only guards a partial environment
    sync_playwright = None

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian: apt-get install chromium; make test does)"),
    pytest.mark.skipif(sync_playwright is None, reason="needs playwright (pip install --group dev)"),
]
ARTIFACTS = COURSE_ROOT / "out" / "test-artifacts" / "browser"
# Chromium as root in a container, with no network to reach: no sandbox, no background traffic.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]  # fmt: skip
TESTS = {"clip": "clip_test(clip, 10)", "sample": "sample_test(sample)", "optimize": "optimize_test(optimize)",
         "model": "model_test(model"}  # fmt: skip
SECONDS = 600


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    """A Jupyter server on 127.0.0.1 serving, for each interface, two copies of the release:
    filled-… (the solution pasted in, as a student who finished) and untouched-… (as handed out)."""
    root = tmp_path_factory.mktemp("jupyter")
    for interface in INTERFACES:  # a copy per interface: no kernel session shared between them
        for name in ("filled", "untouched"):
            shutil.copytree(RELEASE_DIR, root / f"{name}-{interface}", ignore=shutil.ignore_patterns("__pycache__"))
        factory.write(factory.notebook(), root / f"filled-{interface}" / NOTEBOOK)
    # Render every cell (JupyterLab otherwise draws only those on screen), so the page holds them all.
    settings = root / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(root / "settings"), "JUPYTER_RUNTIME_DIR": str(root / "rt")}
    server = subprocess.Popen(
        [sys.executable, "-m", "notebook", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--allow-root",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(root / "server.log", "wb"),  # noqa: SIM115
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("the Jupyter server did not start:\n" + (root / "server.log").read_text()[-2000:])
    yield base, token
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


INTERFACES = {
    "notebook7": "{base}/notebooks/{folder}/{notebook}?token={token}",
    "jupyterlab": "{base}/lab/tree/{folder}/{notebook}?reset&token={token}",  # reset: no other tab restored
}


def open_notebook(browser, jupyter, folder, interface):
    base, token = jupyter
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    address = INTERFACES[interface].format(base=base, folder=f"{folder}-{interface}", notebook=NOTEBOOK, token=token)
    page.goto(address)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    return page


def prompts(page):
    return page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()


def kernel_idle(page):
    return page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count() > 0


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    if what:
        pytest.fail(f"{what} within {seconds} s")
    return False


def started(page):
    return any("*" in prompt or any(ch.isdigit() for ch in prompt) for prompt in prompts(page))


def settled(page):
    """No cell queued or running ([*]) and the kernel idle, now and a second later."""
    for look in range(2):
        if any("*" in prompt for prompt in prompts(page)) or not kernel_idle(page):
            return False
        time.sleep(1 - look)
    return True


def run_all(page):
    """Run > Run All Cells, then wait until everything has run.  The menu is tried again if no
    cell started within two minutes (a kernel still connecting ignores it)."""
    dialogs = []
    for _ in range(3):
        click_past_dialogs(page, page.locator(".lm-MenuBar-itemLabel", has_text="Run").first, dialogs)
        click_past_dialogs(page, page.get_by_text("Run All Cells", exact=True), dialogs)
        if wait_for(lambda: started(page), 120, None):  # a loaded machine's kernel may take long; clicking
            # again too soon would queue a second Run All behind the first
            break
    else:
        pytest.fail(f"Run All Cells never started a cell (dialogs accepted on the way: {dialogs})")
    wait_for(lambda: settled(page), SECONDS, "the notebook did not finish")


def click_past_dialogs(page, target, dialogs, seconds=60):
    """Click ``target``.  A Notebook dialog that opens in the meantime (it takes every click) is
    accepted, its text added to ``dialogs``, and the click tried again, for up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        dialogs += accept_dialogs(page)
        try:
            target.click(timeout=5000)
            return
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise


def accept_dialogs(page):
    """Accept the dialog Notebook may show while a loaded machine starts the kernel (such as
    kernel selection), which would block every click; returns the texts of those accepted."""
    texts = []
    dialog = page.locator(".jp-Dialog")
    for _ in range(3):
        if not (dialog.count() and dialog.first.is_visible()):
            break
        texts.append(dialog.first.inner_text()[:200])
        dialog.first.locator(".jp-Dialog-button.jp-mod-accept").first.click()
        page.wait_for_timeout(500)
    return texts


def run_cell(page, code):
    """Shift+Enter in the cell whose input contains ``code``; waits for its new execution count."""
    prompt = cell(page, code).locator(".jp-InputPrompt")
    before = prompt.inner_text()
    click_past_dialogs(page, cell(page, code).locator(".jp-InputArea-editor"), [])
    page.keyboard.press("Shift+Enter")

    def ran():
        now = prompt.inner_text()
        return now not in (before, "") and "*" not in now and kernel_idle(page)

    wait_for(ran, SECONDS, f"the cell {code!r} did not run")


def cell(page, code):
    """The code cell whose input contains ``code``."""
    return page.locator(".jp-CodeCell").filter(has=page.locator(".jp-InputArea", has_text=code)).first


def output(page, code):
    return cell(page, code).locator(".jp-OutputArea").inner_text()


def no_errors(page):
    """No output shows an exception or anything on stderr."""
    outputs = "\n".join(page.locator(".jp-OutputArea").all_inner_texts())
    assert "Traceback" not in outputs and "Error" not in outputs, outputs[:3000]
    assert page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0


@pytest.mark.parametrize("interface", INTERFACES)
def test_does_the_finished_notebook_run_all_as_a_student_expects(browser, jupyter, interface):
    page = open_notebook(browser, jupyter, "filled", interface)
    run_all(page)
    page.screenshot(path=str(ARTIFACTS / f"{interface}-filled-run-all.png"), full_page=True)
    for name, code in TESTS.items():
        assert f"✓ {name}: all visible tests passed." in output(page, code), name
    names = [line for line in output(page, TESTS["model"]).splitlines() if line.strip() and "✓" not in line]
    assert names[-1] == "Trodonosaurus"  # the last name the 22,001-step run writes, on every computer
    assert "compiled by numba" in output(page, "print(training_path())")
    report = output(page, '"check.py"')  # the check cell shows check.py's report and nothing else
    assert report.strip().startswith("Checking Dinosaurus_Island.ipynb") and "The notebook can be graded." in report
    assert "CompletedProcess" not in report and sys.executable not in report
    no_errors(page)
    plot = cell(page, "plt.subplots").locator(".jp-OutputArea img")
    assert plot.count() == 1 and plot.bounding_box()["width"] > 300  # the optional section's two curves

    # Run All also ran the optional section; the tests still work when run again (its loop once
    # rebound `clip`, which broke them).
    for name in ("clip", "optimize"):
        run_cell(page, TESTS[name])
        assert output(page, TESTS[name]).count(f"✓ {name}: all visible tests passed.") >= 1, name
    no_errors(page)
    page.screenshot(path=str(ARTIFACTS / f"{interface}-filled-tests-run-again.png"))
    page.close()


@pytest.mark.parametrize("interface", INTERFACES)
def test_does_the_untouched_release_say_not_implemented_without_a_traceback(browser, jupyter, interface):
    """Run All on the release as handed out stops at the first exercise's test, which says in one
    line what to do (an exception without a traceback, so that nbgrader counts it as failed)."""
    page = open_notebook(browser, jupyter, "untouched", interface)
    run_all(page)
    page.screenshot(path=str(ARTIFACTS / f"{interface}-untouched-run-all.png"))
    first = output(page, TESTS["clip"]).strip()
    assert first.splitlines()[-1].endswith(
        "clip is not implemented yet: replace every None placeholder between ### START CODE HERE ### and "
        "### END CODE HERE ###."
    )
    assert [line for line in first.splitlines() if line] == [
        "Gradients for mValue=10",  # the test's heading, then one line: no traceback
        first.splitlines()[-1],
    ]
    outputs = "\n".join(page.locator(".jp-OutputArea").all_inner_texts())
    assert "Traceback" not in outputs and "File " not in outputs
    assert output(page, TESTS["sample"]) == ""  # Run All stopped there, as it does at any failed test
    page.close()
