"""The server's background jobs, and starting their runner in a server process."""
from __future__ import annotations

import atexit

from ..audit.sealing import BATCH, seal_pending
from ..extensions import db
from ..identity.authorisations import end_expired
from .runner import Job, Runner

# Key transitions are also applied lazily when a worker reloads its keys (each one a conditional
# UPDATE, so done once); the job makes them happen on time when no request comes.
KEY_TRANSITION_SECONDS = 10
BACKCHANNEL_RETRY_SECONDS = 2
# Authorisations past their date give no token, refresh or CAS validation from that moment (each checks
# the date); this job ends the sessions acting under them, as a revocation does, within this many seconds.
AUTHORISATION_EXPIRY_SECONDS = 60
SEAL_BATCHES_PER_RUN = 20  # then the lease is renewed before sealing more


def seal_audit(core) -> int:
    """Seal what waits (up to SEAL_BATCHES_PER_RUN batches), signing with the active ES256 key."""
    key = core.keys.signing_key("ES256")
    total = 0
    for _ in range(SEAL_BATCHES_PER_RUN):
        done = seal_pending(db.engine, key)
        total += done.records
        if done.records < BATCH:
            break
    return total


def apply_key_transitions(core) -> None:
    """Promote and retire the OIDC keys whose time has come, then those of the other key sets."""
    core.keys.apply_due_transitions()
    for transitions in core.key_transitions:
        transitions()


def server_jobs(core) -> list[Job]:
    settings = core.settings
    jobs = [
        Job("audit.seal", settings.audit_seal_seconds, lambda: seal_audit(core)),
        Job("backchannel.retry", BACKCHANNEL_RETRY_SECONDS, lambda: core.notifier.deliver_due(db.engine)),
        Job("keys.transitions", KEY_TRANSITION_SECONDS, lambda: apply_key_transitions(core)),
        Job("authorisations.expire", AUTHORISATION_EXPIRY_SECONDS, lambda: end_expired(core)),
    ]
    if core.shared_crls is not None:  # IDP_CRL_REFRESH_SECONDS > 0
        jobs.append(Job("crl.publish", settings.crl_refresh_seconds, lambda: core.shared_crls.publish(core.trust)))
    return jobs


def start_runner(app) -> Runner:
    """Start this process's runner (stopped, and its leases released, when the process exits)."""
    core = app.extensions["idp"]
    runner = Runner(app, server_jobs(core), lease_seconds=core.settings.job_lease_seconds).start()
    core.runner = runner
    atexit.register(runner.stop)
    return runner
