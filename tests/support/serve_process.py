"""`asnet serve` as a child process on a free 127.0.0.1 port, for the
tests that need a real server: started, waited for until `/health` answers, stopped."""

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOST = "127.0.0.1"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class ServeProcess:
    """`serve --weights WEIGHTS --host 127.0.0.1 --port <free> *args`, its output in
    `log_path`; `url` is where it answers."""

    def __init__(self, weights, args, log_path):
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "asnet_keras", "serve", "--weights", str(weights),
             "--host", HOST, "--port", str(self.port), *args],
            cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3"),
            stdout=self._log, stderr=subprocess.STDOUT)

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_healthy(self, timeout=180):
        """Return once `/health` answers 200; fail the test (with the log) if the process
        exits or `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                self._log.close()
                pytest.fail(f"serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"serve did not answer /health within {timeout} s:\n{self.log()}")
            time.sleep(0.3)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if not self._log.closed:
            self._log.close()
