"""A private Apache httpd for tests: its own ServerRoot, pid file, logs, runtime and mutex directories,
listening on one free loopback port; the site configuration comes from an adapters/apache template.

    with ApacheServer(modules=["auth_cas"], site=text) as apache:
        requests.get(apache.url("/"))
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import string
import subprocess
import tempfile
import time
from pathlib import Path

from helpers import free_port, stop_process

APACHE = shutil.which("apache2") or shutil.which("httpd") or "/usr/sbin/apache2"
MODULES_DIR = Path("/usr/lib/apache2/modules")
ADAPTER_DIR = Path(__file__).resolve().parents[2] / "adapters" / "apache"
BASE_MODULES = ["mpm_event", "authn_core", "authz_core", "authz_user", "dir", "include"]
# modules whose structure is not named <name>_module (as in their /etc/apache2/mods-available/*.load)
MODULE_SYMBOLS = {"shib": "mod_shib"}


def apache_missing(module: str | None = None) -> str | None:
    """Why Apache (with ``module``) cannot run here, or None."""
    if not Path(APACHE).exists():
        return "apache2 is not installed (Debian package apache2)"
    if module and not (MODULES_DIR / f"mod_{module}.so").exists():
        package = {"auth_cas": "libapache2-mod-auth-cas", "auth_openidc": "libapache2-mod-auth-openidc",
                   "auth_mellon": "libapache2-mod-auth-mellon", "shib": "libapache2-mod-shib"}[module]
        return f"mod_{module} is not installed (Debian package {package})"
    return None


def render(template: str, **values) -> str:
    """Substitute the template's ${NAME} variables, as the envsubst command in its header does."""
    return string.Template((ADAPTER_DIR / template).read_text(encoding="utf-8")).safe_substitute(**values)


class ApacheServer:
    def __init__(self, *, modules: list[str], port: int | None = None, log_level: str = "info"):
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        # Apache's children run as an unprivileged user when started as root: a world-readable directory.
        self.root = Path(tempfile.mkdtemp(prefix="idp-apache-"))
        self.root.chmod(0o755)
        self.user = None
        if os.geteuid() == 0:
            for name in ("www-data", "daemon", "nobody"):
                try:
                    self.user = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue
        self.docroot = self.root / "www"
        shutil.copytree(ADAPTER_DIR / "www", self.docroot)
        for sub in ("run", "logs"):
            (self.root / sub).mkdir()
        self.cache_dir = self.writable_dir("cache")
        self.modules = BASE_MODULES + list(modules)
        self.log_level = log_level
        self.process: subprocess.Popen | None = None

    def writable_dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(exist_ok=True)
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)
        path.chmod(0o700)
        return path

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    @property
    def error_log(self) -> str:
        log = self.root / "logs" / "error.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def start(self, site: str) -> "ApacheServer":
        (self.root / "site.conf").write_text(site, encoding="utf-8")
        loads = "\n".join(f"LoadModule {MODULE_SYMBOLS.get(m, m + '_module')} {MODULES_DIR}/mod_{m}.so"
                           for m in self.modules)
        user = f"User {self.user.pw_name}\nGroup #{self.user.pw_gid}\n" if self.user is not None else ""
        (self.root / "httpd.conf").write_text(
            f'ServerRoot "{self.root}"\n'
            f"Listen 127.0.0.1:{self.port}\n"
            f"ServerName 127.0.0.1:{self.port}\n"
            f'PidFile "{self.root}/run/httpd.pid"\n'
            f'DefaultRuntimeDir "{self.root}/run"\n'
            f"Mutex file:{self.root}/run default\n"
            f'ErrorLog "{self.root}/logs/error.log"\n'
            f"LogLevel {self.log_level}\n"
            f"{user}"
            f"{loads}\n"
            "StartServers 1\nServerLimit 2\nThreadsPerChild 16\nMaxRequestWorkers 32\nMinSpareThreads 1\n"
            "MaxSpareThreads 32\n"
            'DocumentRoot "' + str(self.docroot) + '"\n'
            f'Include "{self.root}/site.conf"\n', encoding="utf-8")
        check = subprocess.run([APACHE, "-t", "-f", str(self.root / "httpd.conf")], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"apache configuration refused: {check.stderr or check.stdout}")
        self.process = subprocess.Popen([APACHE, "-f", str(self.root / "httpd.conf"), "-DFOREGROUND"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"apache exited: {self.process.stderr.read().decode(errors='replace')}"
                                   f"\n{self.error_log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("apache did not start listening within 15 s\n" + self.error_log)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "ApacheServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
