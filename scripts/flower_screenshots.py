#!/usr/bin/env python3
"""Screenshots of what an operator sees after a run: Flower's task list and `copydesk show`.

    .venv/bin/python scripts/flower_screenshots.py [OUT_DIR]     # default /tmp/copydesk-screenshots

Serves the seed corpus's five pages (three sites on 127.0.0.2-4), a 404 and a PDF from local HTTP servers,
starts `copydesk run --flower` in the background on a fresh data directory (SQLite, embedded Redis),
queues the URLs with `copydesk enqueue`, pushes a folder with two saved pages (one holding no article)
with `copydesk push`, waits for the queue to drain, then takes headless-Chromium screenshots of Flower's
task list and of `copydesk show` for the largest cluster, and stops `copydesk run` with SIGTERM.
Needs `chromium` (apt-get install chromium). Not part of the test suite.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "corpus" / "seeds"
SITES = {
    "127.0.0.2": ["southfront-original.html"],
    "127.0.0.3": ["globalresearch-repost.html", "globalresearch-other.html"],
    "127.0.0.4": ["blog-repost.html", "blog-original-003.html"],
}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def serve(address: str, pages: dict[str, tuple[str, bytes]]) -> str:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ctype, body = pages.get(self.path, ("text/plain", b"not found"))
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((address, 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    return f"http://{address}:{server.server_address[1]}"


def copydesk(*args: str, env: dict[str, str], check: bool = True) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "worker.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    if check and done.returncode != 0:
        raise SystemExit(f"copydesk {' '.join(args)} failed: {done.stdout}{done.stderr}")
    print(f"$ copydesk {' '.join(args)}\n{done.stdout}{done.stderr}", end="")
    return done.stdout


def screenshot(url: str, out: Path, size: str = "1600,900") -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not browser:
        raise SystemExit("no chromium: apt-get install chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=8000",  # let Flower's table fetch its rows
                f"--screenshot={out}",
                f"--window-size={size}",
                url,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"screenshot: {out}")


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/copydesk-screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="copydesk-shots-"))
    urls = []
    for address, names in SITES.items():
        pages = {f"/{name}": ("text/html; charset=utf-8", (SEEDS / name).read_bytes()) for name in names}
        if address == "127.0.0.2":
            pages["/report.pdf"] = ("application/pdf", PDF)
        base = serve(address, pages)
        urls += [base + path for path in pages]
    urls.append(base + "/gone.html")  # a 404
    saved = data / "saved"
    saved.mkdir()
    (saved / "letter-to-the-editor.html").write_text(
        "<html><head><title>Letter</title></head><body><article><h1>A letter</h1>"
        + "".join(
            f"<p>{f'Paragraph {i} of a letter that was saved by hand and pushed as a file. ' * 3}</p>" for i in range(6)
        )
        + "</article></body></html>"
    )
    (saved / "menu-only.html").write_text(
        "<html><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav></body></html>"
    )
    port = 5599
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("COPYDESK_")},
        "COPYDESK_DATA_DIR": str(data / "data"),
        "COPYDESK_ALLOW_NETWORKS": "127.0.0.0/8",
        "COPYDESK_HOST_INTERVAL": "0.2",
    }
    log = open(data / "run.log", "wb")  # noqa: SIM115 - closed below
    run = subprocess.Popen(
        [sys.executable, "-m", "worker.cli", "run", "--flower", "--flower-port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthcheck", timeout=2) as reply:
                    if reply.read() == b"OK" and (data / "data" / "redis.url").exists():
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or run.poll() is not None:
                raise SystemExit(f"copydesk run did not come up: see {data / 'run.log'}")
            time.sleep(0.5)
        time.sleep(3)  # the worker's first events
        copydesk("enqueue", *urls, env=env)
        copydesk("push", str(saved), env=env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(2)
            state = json.loads(copydesk("status", "--json", env=env))
            if state.get("queued") == 0 and state.get("unacked") == 0 and state["documents"] >= 6:
                break
        time.sleep(2)
        copydesk("status", env=env)
        copydesk("failures", env=env)
        clusters = json.loads(copydesk("clusters", "--json", env=env))
        shown = copydesk("show", str(clusters[0]["id"]), env=env)
        screenshot(f"http://127.0.0.1:{port}/tasks", out / "flower-tasks.png", "2000,900")
        failures = copydesk("failures", env=env)
        page = out / "copydesk-show.html"
        page.write_text(
            "<html><body style='background:#111;color:#ddd;font:14px monospace;margin:16px'>"
            f"<pre style='white-space:pre-wrap'>$ copydesk show {clusters[0]['id']}\n{html.escape(shown)}"
            f"\n$ copydesk failures\n{html.escape(failures)}</pre></body></html>"
        )
        screenshot(page.as_uri(), out / "copydesk-show.png", "1400,900")
    finally:
        run.send_signal(signal.SIGTERM)
        try:
            run.wait(180)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
        log.close()
        print((data / "run.log").read_text(errors="replace").split("SIGTERM: stopping")[-1])


if __name__ == "__main__":
    main()
