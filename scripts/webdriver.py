"""A minimal WebDriver client over plain HTTP, for the measurement scripts: starts
chromedriver, opens headless Chromium sessions, runs scripts, takes screenshots."""
import base64
import contextlib
import json
import socket
import subprocess
import time
import urllib.request

CHROME_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--window-size=1280,720", "--no-first-run", "--hide-scrollbars"]


class Driver:
    """chromedriver on a free loopback port, stopped on exit."""

    def __enter__(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        self.proc = subprocess.Popen(["chromedriver", f"--port={port}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                self.call("GET", "/status")
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("chromedriver did not start")

    def __exit__(self, *exc):
        self.proc.terminate()

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"{}")

    @contextlib.contextmanager
    def session(self):
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": {"args": CHROME_ARGS}}}}
        sid = self.call("POST", "/session", caps)["value"]["sessionId"]
        try:
            yield Session(self, sid)
        finally:
            self.call("DELETE", f"/session/{sid}")


class Session:
    """One browser session."""

    def __init__(self, driver, sid):
        self.driver, self.sid = driver, sid

    def go(self, url):
        self.driver.call("POST", f"/session/{self.sid}/url", {"url": url})

    def run(self, script, *args):
        return self.driver.call("POST", f"/session/{self.sid}/execute/sync",
                                {"script": script, "args": list(args)})["value"]

    def wait(self, script, seconds=15):
        """Polls `script` until it returns something truthy; returns it."""
        end = time.time() + seconds
        while time.time() < end:
            value = self.run(script)
            if value:
                return value
            time.sleep(0.05)
        raise TimeoutError(f"waited {seconds} s for: {script}")

    def screenshot(self, path):
        png = self.driver.call("GET", f"/session/{self.sid}/screenshot")["value"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(png))
