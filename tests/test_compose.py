"""docker-compose.yml cannot run here (no Docker engine), so check what can be checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from core.config import Settings
from core.names import SERVICE_QUEUES
from workers.registry import COMPONENTS

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _our_services() -> dict[str, dict[str, Any]]:
    return {
        name: svc
        for name, svc in _compose()["services"].items()
        if svc.get("image", "").startswith("oddsmith")
    }


def _setting_names() -> set[str]:
    names: set[str] = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        names.update(getattr(alias, "choices", []) or [])
    return names


def test_compose_runs_every_part_of_the_platform() -> None:
    services = _compose()["services"]
    for required in ("postgres", "temporal", "temporal-ui", "migrate", "api"):
        assert required in services
    for queue in SERVICE_QUEUES:
        assert f"worker-{queue}" in services


def test_every_oddsmith_command_in_compose_exists() -> None:
    from typer.main import get_command

    from cli.main import app

    cli = get_command(app)
    for name, service in _our_services().items():
        command = service["command"]
        assert command[0] == "oddsmith", name
        assert command[1] in cli.commands, f"{name}: unknown command {command[1]}"  # type: ignore[attr-defined]
        if command[1] == "worker":
            assert command[2] in COMPONENTS, f"{name}: unknown queue {command[2]}"


def test_every_environment_variable_in_compose_is_a_setting() -> None:
    names = _setting_names()
    for service_name, service in _our_services().items():
        env = service.get("environment", {})
        assert env, service_name
        for variable in env:
            assert variable in names, f"{service_name} sets {variable}, which no setting reads"


def test_temporal_gets_the_search_attributes_and_update_limit() -> None:
    compose = _compose()
    setup = " ".join(compose["services"]["temporal-setup"]["command"])
    assert "MarketId" in setup and "MarketStatus" in setup
    dynamic = yaml.safe_load((ROOT / "deploy/temporal/dynamicconfig.yaml").read_text())
    assert dynamic["history.maxInFlightUpdates"][0]["value"] >= 100
