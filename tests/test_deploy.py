"""deploy/ checked without docker: the compose file parses and wires what README promises; units are hardened."""

from __future__ import annotations

import configparser
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "compose.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_compose_has_every_part_of_a_production_host(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"caddy", "pana-1", "pana-2", "rasa-1", "rasa-2", "postgres", "redis"}
    for worker in ("pana-1", "pana-2"):
        env = services[worker]["environment"]
        assert env["RASA_URL"] == "http://rasa-1:5005,http://rasa-2:5005", "every worker balances over both replicas"
        assert env["DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert env["PANA_PUBLIC_URL"].startswith("https://${PANA_DOMAIN"), "Twilio signatures are checked over this URL"
        for replica in ("rasa-1", "rasa-2"):
            assert services[worker]["depends_on"][replica] == {"condition": "service_healthy"}, "model loaded first"
            assert services[replica]["build"]["dockerfile"] == "deploy/Dockerfile.rasa"
        assert "postgres" in services[worker]["depends_on"]
        assert services[worker]["build"]["dockerfile"] == "deploy/Dockerfile.bot"


def test_only_the_proxy_is_reachable_from_outside(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert compose["networks"]["backend"]["internal"] is True
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"caddy"}
    assert all(services[name]["networks"] == ["backend"] for name in services if name != "caddy")


def test_caddy_proxies_exactly_the_webhooks_to_the_compose_workers(compose: dict[str, Any]) -> None:
    caddyfile = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    upstreams = set(re.findall(r"(pana-\d+):8080", caddyfile))
    assert upstreams == {s for s in compose["services"] if s.startswith("pana-")}
    assert "/telegram/webhook" in caddyfile and "/whatsapp/webhook" in caddyfile and "/whatsapp/status" in caddyfile
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in compose["services"]["caddy"]["volumes"]


def test_dockerfiles_build_from_the_files_the_repository_has() -> None:
    root = DEPLOY.parent
    for dockerfile in ("Dockerfile.bot", "Dockerfile.rasa"):
        text = (DEPLOY / dockerfile).read_text(encoding="utf-8")
        for source in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.MULTILINE):
            for path in source.split():
                assert (root / path).exists(), f"{dockerfile} copies {path}, which is not in the repository"
    assert "nlu/requirements.txt" in (DEPLOY / "Dockerfile.rasa").read_text(encoding="utf-8")


def test_the_rasa_image_has_the_components_its_config_names() -> None:
    """A component named by module path in nlu/config.yml must be in the image, or training there fails."""
    config = yaml.safe_load((DEPLOY.parent / "nlu" / "config.yml").read_text(encoding="utf-8"))
    packages = {step["name"].split(".")[0] for step in config["pipeline"] if "." in step["name"]}
    dockerfile = (DEPLOY / "Dockerfile.rasa").read_text(encoding="utf-8")
    assert packages, "config.yml names Pana's own classifier (nlu/pana_rasa)"
    assert {p for p in packages if f"COPY nlu/{p} ./{p}" not in dockerfile} == set()


@pytest.mark.parametrize("unit", ["pana.service", "pana@.service", "pana-rasa.service"])
def test_systemd_units_are_hardened(unit: str) -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "systemd" / unit, encoding="utf-8")
    service = parser["Service"]
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    assert service["User"] == "pana" or service.get("DynamicUser") == "yes"
    assert service["EnvironmentFile"] == "/etc/pana/pana.env"
    assert service["ReadWritePaths"]
    assert parser["Install"]["WantedBy"] == "multi-user.target"


def test_pana_serve_starts_only_once_rasa_has_loaded_its_model() -> None:
    rasa_unit = (DEPLOY / "systemd" / "pana-rasa.service").read_text(encoding="utf-8")
    post = re.search(r"^ExecStartPost=\S+ /opt/pana/(\S+)", rasa_unit, re.MULTILINE)
    assert post is not None and (DEPLOY.parent / post.group(1)).exists()
    for unit in ("pana.service", "pana@.service"):
        assert "pana-rasa.service" in (DEPLOY / "systemd" / unit).read_text(encoding="utf-8")
