"""Starts the pinned moto server with the extensions reconcile's tests need.

moto is less faithful than AWS in a few places that matter to reconcile. Each patch below
reproduces one documented AWS behaviour; nothing here changes what reconcile itself does.

1. CreateService keeps `deploymentConfiguration`.
   AWS: CreateService stores the given deploymentConfiguration and DescribeServices returns it,
   with AWS's defaults (maximumPercent 200, minimumHealthyPercent 100, circuit breaker off)
   for anything not given (ECS API reference, CreateService / DeploymentConfiguration).
   moto 5.2.5 drops it on create (it only round-trips through UpdateService).

2. CreateService keeps `healthCheckGracePeriodSeconds`.
   AWS: CreateService stores it and DescribeServices returns it (ECS API reference, CreateService).
   moto 5.2.5 ignores it on create (UpdateService already stores it).

3. CreateService is idempotent by `clientToken`, and only by it.
   AWS: a CreateService repeated with the same clientToken returns the service the first call
   created; creating a service whose name is already ACTIVE in the cluster without that token
   fails with InvalidParameterException "Creation of service was not idempotent."
   (ECS API reference, CreateService: clientToken). moto 5.2.5 silently replaces the service.

Usage: python launch.py HOST PORT
"""

import sys

from moto.core.responses import ActionResult
from moto.ecs import responses as ecs_responses
from moto.ecs.exceptions import InvalidParameterException

DEFAULT_DEPLOYMENT_CONFIGURATION = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}

_original_create_service = ecs_responses.EC2ContainerServiceResponse.create_service


def _create_service(self):
    cluster = self.ecs_backend._get_cluster(self._get_param("cluster", "default"))
    key = f"{cluster.name}:{self._get_param('serviceName')}"
    token = self._get_param("clientToken")
    existing = self.ecs_backend.services.get(key)
    if existing is not None and existing.status == "ACTIVE":
        if token is not None and getattr(existing, "client_token", None) == token:
            return ActionResult({"service": existing})
        raise InvalidParameterException("Creation of service was not idempotent.")
    result = _original_create_service(self)
    service = self.ecs_backend.services[key]
    service.client_token = token
    given = self._get_param("deploymentConfiguration") or {}
    configuration = dict(DEFAULT_DEPLOYMENT_CONFIGURATION)
    configuration.update(given)
    service.deployment_configuration = configuration
    grace = self._get_param("healthCheckGracePeriodSeconds")
    if grace is not None:
        service.health_check_grace_period_seconds = grace
    return result


ecs_responses.EC2ContainerServiceResponse.create_service = _create_service


def main():
    host, port = sys.argv[1], sys.argv[2]
    from moto.server import main as moto_main

    moto_main(["-H", host, "-p", port])


if __name__ == "__main__":
    main()
