"""The docs match the code, and the repository stands alone."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from config import Config

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
# Read by the code but not settings: set by gunicorn.conf.py for itself, or by the tests.
INTERNAL = re.compile(r"^(EVENTMATE_METRICS_DIR_|TEST_)")


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    return [ROOT / name for name in listed.stdout.splitlines() if (ROOT / name).is_file()]


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_nothing_in_the_repository_points_outside_it():
    outside = "../" + "shared"
    for path in tracked_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        assert outside not in text, path


def test_the_layout_names_every_package_and_module():
    layout = section("Layout")
    for entry in sorted((ROOT / "eventmate").iterdir()):
        if entry.name.startswith(("_", ".")) and entry.name != "__init__.py":
            continue
        name = f"`{entry.name}/`" if entry.is_dir() else f"`{entry.name}`"
        assert name in layout, f"README's Layout doesn't mention {name}"


def test_every_readme_section_the_code_cites_exists():
    headings = set(re.findall(r"^#+ (.+)$", README, re.MULTILINE))
    cited = []
    for path in tracked_files():
        if path.parent.name == "tests":
            continue
        if path.suffix in (".py", ".j2", ".sh") or path.parent.name == "scripts":
            text = path.read_text()
            found = re.findall(r'README, "([^"]+)"', text)
            cited += [(path, " ".join(title.split())) for title in found]
    assert cited  # gunicorn.conf.py cites some
    for path, title in cited:
        assert title in headings, f"{path.name} cites README section {title!r}"


def test_every_setting_read_from_the_environment_is_documented():
    names = set()
    for name in ("config.py", "gunicorn.conf.py", "deploy/nginx/render.py"):
        text = (ROOT / name).read_text()
        names |= set(re.findall(r'environ(?:\.get\(|\[)"([A-Z][A-Z0-9_]+)"', text))
    assert "SESSION_REDIS_URL" in names
    for name in sorted(names):
        if not INTERNAL.match(name):
            assert f"`{name}`" in README, f"README doesn't document {name}"


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        (r"brotli \(level (\d+)", Config.COMPRESS_BR_LEVEL),
        (r"A session lasts (\d+) hours", Config.PERMANENT_SESSION_LIFETIME.total_seconds() // 3600),
        (r"One budget of (\d+) requests/minute", int(Config.RATELIMIT_APPLICATION.split()[0])),
        (r"past (\d+) failures per 15 minutes", int(Config.LOGIN_ACCOUNT_CEILING.split()[0])),
        (r"waits (\d+) s before the password", Config.LOGIN_SLOWDOWN_SECONDS),
        (r"- (\d+) attempts a minute per client", int(Config.LOGIN_LIMIT_PER_IP.split()[0])),
        (r"- (\d+) attempts per 15 minutes", int(Config.LOGIN_LIMIT_PER_ACCOUNT.split()[0])),
        (r"it lasts (\d+) days and works once", Config.EMAIL_VERIFY_SECONDS // 86400),
        (r"Its link lasts (\d+) hour", Config.PASSWORD_RESET_SECONDS // 3600),
        (r"At most (\d+) reset emails", int(Config.PASSWORD_RESET_LIMIT_PER_ADDRESS.split()[0])),
        (r"(\d+) requests an\s+hour per", int(Config.PASSWORD_RESET_LIMIT_PER_IP.split()[0])),
        (r"Resend the link\" button \((\d+) an hour", int(Config.VERIFY_RESEND_LIMIT.split()[0])),
        (r"refusals count (\d+) per 15\s+minutes", int(Config.LOGIN_LIMIT_PER_ACCOUNT.split()[0])),
        (r"followed \(it lasts (\d+) day and works once", Config.EMAIL_CHANGE_SECONDS // 86400),
        (r"at most (\d+) requests an\s+hour per\s+acc", int(Config.EMAIL_CHANGE_LIMIT.split()[0])),
    ],
)
def test_numbers_in_the_readme_are_the_configs(claim, value):
    found = re.search(claim, README)
    assert found, claim
    assert float(found.group(1)) == float(value)
