"""deploy/: the Kubernetes manifests validated against the Kubernetes API schemas (kubernetes-validate)
and the compose file against the Compose Specification (compose-spec), both strict about unknown
fields, and both checked against the code they deploy: every setting they give is a real IDP_* setting
and their values pass the server's start-up checks, the probe paths answer, ports, user and shutdown timeouts are the
Dockerfile's."""
from __future__ import annotations

import re
import secrets
import shlex
from pathlib import Path

import pytest
import yaml

from idp import create_app
from idp.cli import cli
from idp.config import Settings
from idp.errors import ConfigError
from idp.extensions import db

import dockerfile
import helpers

kubernetes_validate = pytest.importorskip("kubernetes_validate")
compose_spec = pytest.importorskip("compose_spec")

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
COMPOSE = ROOT / "deploy" / "compose"
# The oldest Kubernetes release still commonly run by provinces' platforms, and the newest schema known.
KUBERNETES_VERSIONS = ("1.28.0", kubernetes_validate.latest_version())


def seconds(duration: str | int) -> float:
    return compose_spec.parse_duration(duration) if isinstance(duration, str) else float(duration)


# -- the manifests ---------------------------------------------------------------------------------

def k8s_documents() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs.extend((path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc)
    return docs


def k8s(kind: str, name: str = "idp") -> dict:
    found = [doc for _, doc in k8s_documents() if doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def container(workload: dict) -> dict:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return only


def compose() -> dict:
    parsed = compose_spec.PyOptions(apply_merge=True).from_yaml((COMPOSE / "compose.yaml").read_text())
    parsed.validate()
    return parsed.to_dict()


def idp_nodes(services: dict) -> dict:
    return {name: s for name, s in services.items() if re.fullmatch(r"idp-\d+", name)}


def env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (COMPOSE / ".env.example").read_text().splitlines()
             if line.strip() and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:?message} and ${VAR:-default}; a missing variable fails the test."""
    def one(match):
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if name in variables:
            return variables[name]
        assert op in (":-", "-"), f"${{{name}}} is not set by .env.example"
        return rest
    return re.sub(r"\$\{(\w+)(?:(:?[?-])([^}]*))?\}", one, value).replace("$$", "$")


def real_secrets() -> dict[str, str]:
    return {"IDP_SECRET_KEY": secrets.token_urlsafe(48), "IDP_PAIRWISE_SALT": secrets.token_urlsafe(48),
            "IDP_MASTER_KEY": random_master_key()}


def random_master_key() -> str:
    import base64
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def is_setting(name: str) -> bool:
    return name in Settings.env_names() or name.startswith("GRANIAN_")


# -- Kubernetes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_kubernetes_manifest_is_valid_for_the_api(version):
    problems = []
    for filename, doc in k8s_documents():
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            problems.append(f"{filename} {doc['kind']}/{doc['metadata']['name']} at {where}: {exc.message}")
    assert problems == []
    kinds = {doc["kind"] for _, doc in k8s_documents()}
    assert {"Deployment", "Service", "ConfigMap", "Secret", "Job", "PodDisruptionBudget",
            "HorizontalPodAutoscaler", "NetworkPolicy"} <= kinds


def test_the_validator_refuses_what_a_cluster_would():
    """The strict validation catches a misspelt field and a wrong type, so the test above can fail."""
    deployment = yaml.safe_load(yaml.safe_dump(k8s("Deployment")))
    container(deployment)["readinesProbe"] = container(deployment).pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)
    deployment = yaml.safe_load(yaml.safe_dump(k8s("Deployment")))
    deployment["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def test_kustomization_lists_the_manifests_that_exist():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    assert all((K8S / name).is_file() for name in listed)
    # The Secret is created by the operator (never from the example); the Job runs once per release.
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml",
                                                            "migrate-job.yaml"}


def test_the_deployment_runs_the_image_as_the_dockerfile_builds_it():
    deployment = k8s("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    node = container(deployment)
    assert deployment["spec"]["replicas"] >= 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert [p["containerPort"] for p in node["ports"]] == [dockerfile.port()]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == dockerfile.uid()
    assert node["securityContext"]["readOnlyRootFilesystem"] is True
    assert node["securityContext"]["allowPrivilegeEscalation"] is False
    assert node["securityContext"]["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"] for m in node["volumeMounts"]}
    assert "/tmp" in mounts  # the only writable directory Python needs with a read-only root
    config = k8s("ConfigMap", "idp-config")["data"]
    assert config["IDP_TRUST_PROFILES_DIR"] in mounts


def test_a_draining_pod_finishes_its_requests_before_it_is_killed():
    pod = k8s("Deployment")["spec"]["template"]["spec"]
    pre_stop = container(k8s("Deployment"))["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    # endpoints drain during preStop; then granian gets SIGTERM and may take its whole kill timeout
    assert pod["terminationGracePeriodSeconds"] >= int(pre_stop[1]) + dockerfile.kill_timeout() + 1


def test_probes_are_wired_to_the_health_endpoints_and_answer(tmp_path):
    node = container(k8s("Deployment"))
    paths = {kind: node[kind]["httpGet"]["path"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert paths == {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    port_names = {p["name"] for p in node["ports"]}
    assert all(node[kind]["httpGet"]["port"] in port_names for kind in paths)
    app = create_app(helpers.make_settings(tmp_path, create_schema=True))
    try:
        adapter = app.url_map.bind("localhost")
        for path in set(paths.values()):
            assert adapter.match(path, method="GET")
            # the kubelet asks for the pod's address and port as the Host
            response = app.test_client().get(path, headers={"Host": f"10.244.1.7:{dockerfile.port()}"})
            assert response.status_code == 200, (path, response.get_data(as_text=True))
    finally:
        with app.app_context():
            db.engine.dispose()


def test_service_budget_autoscaler_and_policy_select_the_deployments_pods():
    deployment = k8s("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]

    def selects(selector):
        return selector.items() <= labels.items()

    assert selects(deployment["spec"]["selector"]["matchLabels"])
    service = k8s("Service")
    assert selects(service["spec"]["selector"])
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= {p["name"] for p in container(deployment)["ports"]}
    pdb = k8s("PodDisruptionBudget")
    assert selects(pdb["spec"]["selector"]["matchLabels"])
    hpa = k8s("HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "idp"}
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"] <= deployment["spec"]["replicas"]
    policy = k8s("NetworkPolicy")
    assert selects(policy["spec"]["podSelector"]["matchLabels"])
    ingress = k8s("Ingress")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}


def test_the_migration_job_runs_the_real_upgrade_command():
    job = k8s("Job", "idp-migrate")
    command = container(job)["command"]
    assert command[0] == "idp"
    group = cli.get_command(None, command[1])
    assert group is not None and group.get_command(None, command[2]) is not None
    assert container(job)["image"] == container(k8s("Deployment"))["image"]
    assert container(job)["envFrom"] == container(k8s("Deployment"))["envFrom"]


def test_every_variable_the_manifests_set_is_a_setting_and_together_they_start_a_server():
    config = k8s("ConfigMap", "idp-config")["data"]
    secret = k8s("Secret", "idp-secrets")["stringData"]
    unknown = sorted(name for name in [*config, *secret] if not is_setting(name))
    assert unknown == []
    refs = {ref.get("configMapRef", ref.get("secretRef"))["name"] for ref in container(k8s("Deployment"))["envFrom"]}
    assert refs == {"idp-config", "idp-secrets"}
    settings = Settings.from_env({**config, **secret, **real_secrets()})
    assert settings.session_backend == "redis" and settings.issuer.startswith("https://")
    assert settings.database_url.startswith("postgresql://") and "target_session_attrs=read-write" in settings.database_url


def test_the_example_secret_cannot_start_a_server():
    config = k8s("ConfigMap", "idp-config")["data"]
    secret = k8s("Secret", "idp-secrets")["stringData"]
    assert all("REPLACE-ME" in value for value in secret.values())
    with pytest.raises(ConfigError) as info:
        Settings.from_env({**config, **secret})
    named = " ".join(info.value.problems)
    assert all(name in named for name in ("IDP_SECRET_KEY", "IDP_MASTER_KEY", "IDP_PAIRWISE_SALT"))


# -- Compose ---------------------------------------------------------------------------------------

def test_the_compose_file_follows_the_compose_specification():
    services = compose()["services"]
    assert {"postgres", "postgres-standby", "redis-primary", "redis-replica", "idp-migrate", "nginx"} <= set(services)
    assert len([s for s in services if s.startswith("sentinel-")]) == 3
    assert len(idp_nodes(services)) >= 2
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE / source).exists(), f"{name} mounts missing {source}"


def test_the_compose_validator_refuses_a_misspelt_field():
    text = (COMPOSE / "compose.yaml").read_text().replace("stop_grace_period:", "stop_grace_periods:", 1)
    with pytest.raises(ValueError):
        compose_spec.PyOptions(apply_merge=True).from_yaml(text).validate()


def test_compose_nodes_are_configured_with_real_settings_that_start_a_server():
    services = compose()["services"]
    variables = {**env_example(), **real_secrets()}
    for name, service in [*idp_nodes(services).items(), ("idp-migrate", services["idp-migrate"])]:
        environment = {k: interpolate(str(v), variables) for k, v in service["environment"].items()}
        assert sorted(k for k in environment if not is_setting(k)) == [], name
        settings = Settings.from_env(environment)
        assert settings.session_backend == "redis"
        assert "target_session_attrs=read-write" in settings.database_url
        assert settings.redis_url.startswith("redis+sentinel://")
        for host in re.findall(r"[@,]([\w-]+):\d+", settings.database_url + settings.redis_url):
            assert host in services, f"{name}: {host} is no service"


def test_the_example_env_file_cannot_start_a_server():
    services = compose()["services"]
    environment = {k: interpolate(str(v), env_example()) for k, v in services["idp-1"]["environment"].items()}
    with pytest.raises(ConfigError):
        Settings.from_env(environment)


def test_compose_nodes_drain_and_are_checked_like_the_pods():
    services = compose()["services"]
    for name, node in idp_nodes(services).items():
        assert seconds(node["stop_grace_period"]) > dockerfile.kill_timeout(), name
        check = " ".join(node["healthcheck"]["test"])
        assert f"127.0.0.1:{dockerfile.port()}/readyz" in check
        assert node["read_only"] is True
    assert services["idp-migrate"]["command"] == ["idp", "db", "upgrade"]
    for node in idp_nodes(services).values():
        assert node["depends_on"]["idp-migrate"]["condition"] == "service_completed_successfully"


def test_nginx_balances_over_every_node_and_only_nginx_is_trusted():
    services = compose()["services"]
    conf = (COMPOSE / "nginx.conf").read_text()
    upstream = re.search(r"upstream idp_nodes \{(.*?)\}", conf, re.S).group(1)
    servers = re.findall(r"^\s*server ([\w-]+):(\d+)", upstream, re.M)
    assert sorted(servers) == sorted((name, str(dockerfile.port())) for name in idp_nodes(services))
    nginx_address = services["nginx"]["networks"]["backend"]["ipv4_address"]
    for name, node in idp_nodes(services).items():
        assert node["environment"]["IDP_TRUSTED_PROXIES"] == nginx_address, name
        assert node["environment"]["IDP_CLIENT_CERT_HEADER"].lower() in conf.lower()
    assert "ssl_verify_client optional_no_ca;" in conf
    assert "proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;" in conf


def test_postgres_connections_fit_the_servers_limit():
    """Every process of every node may hold IDP_DB_POOL_SIZE + IDP_DB_MAX_OVERFLOW connections
    (README "Deploying"); with the migration and the server's reserved ones they fit max_connections."""
    services = compose()["services"]
    command = services["postgres"]["command"]
    max_connections = int(next(a.split("=")[1] for a in command if a.startswith("max_connections=")))
    total = 0
    for node in idp_nodes(services).values():
        env = node["environment"]
        total += int(env["GRANIAN_WORKERS"]) * (int(env["IDP_DB_POOL_SIZE"]) + int(env["IDP_DB_MAX_OVERFLOW"]))
    assert total + 1 + 3 <= max_connections  # idp-migrate, superuser_reserved_connections
    config = k8s("ConfigMap", "idp-config")["data"]
    per_pod = int(config["GRANIAN_WORKERS"]) * (int(config["IDP_DB_POOL_SIZE"]) + int(config["IDP_DB_MAX_OVERFLOW"]))
    hpa_comment = (K8S / "hpa.yaml").read_text()
    assert f"= {k8s('HorizontalPodAutoscaler')['spec']['maxReplicas'] * per_pod}," in hpa_comment


def test_the_standby_script_is_the_one_compose_runs():
    standby = compose()["services"]["postgres-standby"]
    script = (COMPOSE / "postgres" / "standby-entrypoint.sh").read_text()
    assert shlex.split(" ".join(standby["entrypoint"]))[-1] == "/standby-entrypoint.sh"
    assert "--write-recovery-conf" in script and "--host=postgres" in script
