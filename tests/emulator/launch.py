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

4. ModifyDBInstance defers what AWS defers.
   AWS: without ApplyImmediately, changes of DBInstanceClass, AllocatedStorage, EngineVersion,
   MultiAZ and StorageType are not applied but reported under PendingModifiedValues until the next
   maintenance window (RDS User Guide, "Settings for DB instances"; ModifyDBInstance
   ApplyImmediately). moto 5.2.5 applies every change at once and has no PendingModifiedValues.
   The emulator has no maintenance window: deferred values stay pending.

5. CreateReplicationGroup honours NumCacheClusters.
   AWS: with cluster mode disabled, NumCacheClusters is the primary plus its replicas
   (ElastiCache API reference, CreateReplicationGroup). moto 5.2.5 ignores it and creates replicas
   only from ReplicasPerNodeGroup.

6. A replication group's member clusters are cache clusters.
   AWS: DescribeCacheClusters with a member's id (MemberClusters of DescribeReplicationGroups)
   describes it, with the group's engine version, node type, subnet group, parameter group,
   security groups and maintenance window (ElastiCache API reference, DescribeCacheClusters).
   moto 5.2.5 answers CacheClusterNotFound for members.

7. A re-created DB instance gets its own first automated backup.
   AWS: automated backups retained after DeleteDBInstance (DeleteAutomatedBackups false) are kept
   as retained automated backups, apart from the snapshots of a new instance of the same name
   (RDS User Guide, "Retaining automated backups"). moto 5.2.5 keeps them as snapshots named
   rds:ID-YYYY-MM-DD-HH-MM and fails CreateDBInstance of the same name within that minute
   with DBSnapshotAlreadyExists.

8. ECS deployments roll out, complete, or fail and roll back.
   AWS: UpdateService with a new task definition starts a new PRIMARY deployment (rolloutState
   IN_PROGRESS) while the previous one stays ACTIVE; once the new tasks run, the deployment is
   COMPLETED and the old one removed. When its tasks keep failing to start, the deployment circuit
   breaker marks it FAILED ("ECS deployment circuit breaker: tasks failed to start.") and, with
   rollback on, starts a new deployment of the last completed task definition; tasks a deployment
   started carry its id as startedBy (ECS Developer Guide, "Deployment circuit breaker",
   "Deployment types: rolling update"; DescribeServices Deployment). moto 5.2.5 never advances a
   deployment. Here each DescribeServices moves an in-progress deployment one step (pending, then
   running or failed), compressing minutes into two reads.

9. Tasks exit with their command's status, and tasks whose image cannot be pulled never start.
   AWS: a stopped task reports each container's exitCode and stoppedReason "Essential container
   in task exited"; a task whose image does not exist stops with stopCode TaskFailedToStart,
   stoppedReason "CannotPullContainerError: ..." and no exit code (ECS Developer Guide, "Stopped
   task error codes"). Its awslogs lines are in stream PREFIX/CONTAINER/TASK_ID. moto 5.2.5
   reports exit code 0 for every task, starts every task, and writes no logs. Here a container
   runs its command only as far as `echo TEXT` (a log line) and `exit N` (its status, default 0);
   a task stops at its second DescribeTasks; a failing service deployment's tasks stop as they
   start and write their lines too. An image named by digest (`REPO@sha256:...`) is
   pulled when the repository holds that digest, as by tag.

10. Fargate containers may leave out container-level memory.
   AWS: on Fargate, container memory and memoryReservation are optional; containers share the
   task's memory (ECS Developer Guide, task definition parameters, "memory"). moto 5.2.5's RunTask
   fails with a 500 when a container has neither.

11. CreateService keeps `enableExecuteCommand`.
   AWS: CreateService stores enableExecuteCommand and DescribeServices returns it (false when it
   was not given); UpdateService changes it (ECS API reference, CreateService, UpdateService).
   moto 5.2.5 ignores it on create (UpdateService already stores it) and leaves it out of
   DescribeServices until then.

12. Services keep `capacityProviderStrategy`, `enableECSManagedTags` and
   `availabilityZoneRebalancing`.
   AWS: CreateService stores a capacity provider strategy in place of a launch type, and
   DescribeServices returns it without `launchType`; UpdateService with a strategy moves the
   service off its launch type (with forceNewDeployment). enableECSManagedTags is stored (false
   when not given). availabilityZoneRebalancing defaults to ENABLED on CreateService
   (ECS API reference, CreateService, UpdateService). moto 5.2.5 ignores all three on create and
   keeps the launch type after an update with a strategy.

13. An ECR image's digest is the SHA-256 of its manifest.
   AWS: "the image digest is the SHA-256 of the image manifest" (ECR User Guide, image
   manifests; the Docker registry's content digest), so two manifests are two digests and a tag
   pushed again with other bytes names another digest. moto 5.2.5 hashes the layers' digests
   joined, so every manifest without layers (the ones tests push) shares one digest.

14. ECR layers are blobs: uploaded bytes are kept, served by a download URL, and required by
   PutImage.
   AWS: CompleteLayerUpload stores the layer (its digest is the SHA-256 of the bytes);
   GetDownloadUrlForLayer answers a short-lived URL from which the layer's bytes are read over
   HTTPS (a presigned S3 URL); PutImage fails with LayersNotFoundException when the manifest's
   config or a layer is not in the repository, and with ReferencedImagesNotFoundException when a
   manifest list / image index names a manifest the repository does not hold (ECR API
   reference: CompleteLayerUpload, GetDownloadUrlForLayer, PutImage). moto 5.2.5 keeps only
   each layer's size, has no GetDownloadUrlForLayer, and puts any manifest. Here the URL is the
   emulator's own (`/_emulator/ecr-layer/...`, plain HTTP), served by a small WSGI layer in front
   of moto.

15. ECS keeps a record of each service deployment and of the service revision it deployed.
   AWS: every deployment of a service (CreateService, an UpdateService that changes what runs,
   a forced deployment) is a service deployment (ListServiceDeployments,
   DescribeServiceDeployments) from the running service revisions to a new target revision
   (DescribeServiceRevisions: the task definition and each container's image with the digest
   ECS resolved). Its status ends SUCCESSFUL, ROLLBACK_SUCCESSFUL after the circuit breaker
   rolled it back (`rollback` names the revision it went back to), or STOPPED (stopped by the
   circuit breaker without rollback, or by a newer deployment); ListServiceDeployments pages by
   maxResults / nextToken (ECS API reference: ListServiceDeployments, ServiceDeployment,
   ServiceRevision). moto 5.2.5 has none of these calls.

16. DynamoDB writes to an item are atomic with their condition.
   AWS: a PutItem / UpdateItem / DeleteItem with a ConditionExpression evaluates the condition
   and writes as one atomic operation; of two concurrent conditional writes to one item, at most
   one succeeds (DynamoDB Developer Guide, "Condition expressions", "Conditional writes"). moto
   5.2.5's server answers requests on threads and checks the condition, then writes, without a
   lock: two `attribute_not_exists` puts racing each other can both succeed (two applies would
   both take the lock). Here DynamoDB requests are answered one at a time.

17. FilterLogEvents honours logStreamNamePrefix.
   AWS: FilterLogEvents with logStreamNamePrefix searches only the group's streams whose names
   start with it; with no such stream it answers no events (CloudWatch Logs API reference,
   FilterLogEvents). moto 5.2.5 ignores the parameter and searches every stream of the group.
   Here the prefix is turned into the list of matching stream names moto does honour.

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
    service.enable_execute_command = bool(self._get_param("enableExecuteCommand", False))
    strategy = self._get_param("capacityProviderStrategy")
    if strategy:
        service.capacity_provider_strategy = strategy
        service.launch_type = None
    service.enable_ecs_managed_tags = bool(self._get_param("enableECSManagedTags", False))
    service.availability_zone_rebalancing = self._get_param("availabilityZoneRebalancing", "ENABLED")
    # Recorded once the settings above are in place (patch 15, defined further down).
    _record_deployment(self.ecs_backend, service, service.deployments[0])
    return result


ecs_responses.EC2ContainerServiceResponse.create_service = _create_service


# 4. RDS deferral.
from moto.rds import models as rds_models  # noqa: E402

DEFERRED_BY_RDS = ("DBInstanceClass", "AllocatedStorage", "EngineVersion", "MultiAZ", "StorageType")
_original_modify_db_instance = rds_models.RDSBackend.modify_db_instance


def _modify_db_instance(self, db_instance_identifier, db_kwargs):
    apply_now = str(db_kwargs.get("ApplyImmediately", "false")).lower() == "true"
    if not apply_now:
        database = self.describe_db_instances(db_instance_identifier)[0]
        pending = dict(getattr(database, "pending_modified_values", None) or {})
        for key in DEFERRED_BY_RDS:
            if key in db_kwargs:
                pending[key] = db_kwargs.pop(key)
        database.pending_modified_values = pending or None
    return _original_modify_db_instance(self, db_instance_identifier, db_kwargs)


rds_models.RDSBackend.modify_db_instance = _modify_db_instance

# 7. Retained automated backups do not block a new instance's first backup.
_original_save_automated_backup = rds_models.DBInstance.save_automated_backup


def _save_automated_backup(self):
    stamp = rds_models.utcnow().strftime("%Y-%m-%d-%H-%M")
    retained = f"rds:{self.db_instance_identifier}-{stamp}"
    snapshots = self.backend.database_snapshots
    if retained in snapshots:
        snapshots[f"{retained}-retained"] = snapshots.pop(retained)
    return _original_save_automated_backup(self)


rds_models.DBInstance.save_automated_backup = _save_automated_backup


# 5 and 6. ElastiCache replication group members.
from moto.elasticache import models as elasticache_models  # noqa: E402

_original_create_replication_group = elasticache_models.ElastiCacheBackend.create_replication_group


def _create_replication_group(self, **kwargs):
    if kwargs.get("num_cache_clusters") and not kwargs.get("replicas_per_node_group"):
        kwargs["replicas_per_node_group"] = int(kwargs["num_cache_clusters"]) - 1
    return _original_create_replication_group(self, **kwargs)


_original_describe_cache_clusters = elasticache_models.ElastiCacheBackend.describe_cache_clusters


def _member_cluster(self, group, member_id):
    cluster = elasticache_models.CacheCluster(
        account_id=self.account_id, region_name=self.region_name, cache_cluster_id=member_id,
        cache_node_type=group.cache_node_type, replication_group_id=group.replication_group_id,
        az_mode=None, preferred_availability_zone=None, num_cache_nodes=1, engine=group.engine,
        engine_version=group.engine_version,
        cache_parameter_group_name=group.cache_parameter_group_name,
        cache_subnet_group_name=group.cache_subnet_group_name,
        transit_encryption_enabled=group.transit_encryption_enabled, network_type=None,
        ip_discovery=None, snapshot_name=None,
        preferred_maintenance_window=group.preferred_maintenance_window, port=group.port,
        notification_topic_arn=None, auto_minor_version_upgrade=group.auto_minor_version_upgrade,
        snapshot_retention_limit=None, snapshot_window=None, auth_token=None, outpost_mode=None,
        preferred_outpost_arn=None, preferred_availability_zones=None,
        cache_security_group_names=None, security_group_ids=group.security_group_ids, tags=None,
        snapshot_arns=None, preferred_outpost_arns=None, log_delivery_configurations=[],
        cache_node_ids_to_remove=None, cache_node_ids_to_reboot=None,
    )
    cluster.security_groups = [
        {"SecurityGroupId": group_id, "Status": "active"} for group_id in group.security_group_ids or []
    ]
    if group.cache_parameter_group_name:
        cluster.cache_parameter_group = {
            "CacheParameterGroupName": group.cache_parameter_group_name,
            "ParameterApplyStatus": "in-sync",
        }
    return cluster


def _describe_cache_clusters(self, cache_cluster_id=None):
    if cache_cluster_id and cache_cluster_id not in self.cache_clusters:
        for group in self.replication_groups.values():
            if cache_cluster_id in group.member_clusters:
                return [_member_cluster(self, group, cache_cluster_id)]
    return _original_describe_cache_clusters(self, cache_cluster_id)


elasticache_models.ElastiCacheBackend.create_replication_group = _create_replication_group
elasticache_models.ElastiCacheBackend.describe_cache_clusters = _describe_cache_clusters


# 8 and 9. ECS deployments and task outcomes.
import re  # noqa: E402

from moto.core.utils import utcnow  # noqa: E402
from moto.ecr import models as ecr_models  # noqa: E402
from moto.ecs import models as ecs_models  # noqa: E402
from moto.logs import models as logs_models  # noqa: E402
from moto.moto_api._internal import mock_random  # noqa: E402

ECS = ecs_models.EC2ContainerServiceBackend
_steps = {}  # deployment id or task arn -> DescribeServices / DescribeTasks reads so far


def _command_text(command):
    return " ".join(command or [])


def _outcome(backend, task_definition, overrides=None):
    """(exit code or None, stopped reason, log lines) of a task of this definition."""
    container = task_definition.container_definitions[0]
    command = container.get("command")
    for override in (overrides or {}).get("containerOverrides", []):
        if override.get("name") == container.get("name") and override.get("command"):
            command = override["command"]
    image = container.get("image", "")
    match = re.match(r"^(\d{12})\.dkr\.ecr\.[^/]+/([^:@]+)(?::(.+)|@(sha256:[0-9a-f]+))$", image)
    if match:
        account, repository, tag, digest = match.groups()
        repositories = ecr_models.ecr_backends[account][backend.region_name].repositories
        repo = repositories.get(repository)
        present = repo is not None and any(
            (tag is not None and tag in i.image_tags) or (digest is not None and i.image_digest == digest)
            for i in repo.images)
        if not present:
            return None, (
                "CannotPullContainerError: pull image manifest has been retried 1 time(s): "
                f"failed to resolve ref {image}: not found"
            ), []
    text = _command_text(command)
    lines = re.findall(r"echo\s+['\"]?([^;'\"&]*)", text)
    codes = re.findall(r"exit\s+(\d+)", text)
    code = int(codes[-1]) if codes else 0
    return code, "Essential container in task exited", [line.strip() for line in lines]


def _write_logs(backend, task, task_definition, lines):
    container = task_definition.container_definitions[0]
    options = (container.get("logConfiguration") or {}).get("options") or {}
    group, prefix = options.get("awslogs-group"), options.get("awslogs-stream-prefix")
    if not group or not prefix or not lines:
        return
    stream = f"{prefix}/{container.get('name')}/{task.id}"
    logs = logs_models.logs_backends[backend.account_id][backend.region_name]
    try:
        logs.create_log_stream(group, stream)
        now = int(utcnow().timestamp() * 1000)
        logs.put_log_events(group, stream, [{"timestamp": now + i, "message": line} for i, line in enumerate(lines)])
    except Exception:  # the group is missing: AWS would not have started the task either
        pass


def _stop(task, code, reason, stop_code):
    task.status = "STOPPED"
    task.desired_status = "STOPPED"
    task.stopped_reason = reason
    task.stop_code = stop_code
    for container in task.containers:
        container.last_status = "STOPPED"
        container.exitCode = code
        container.exit_code = code


_original_requirements = ECS._calculate_task_resource_requirements


def _requirements(task_definition):
    saved = [dict(c) for c in task_definition.container_definitions]
    for container in task_definition.container_definitions:
        if not any(k in container for k in ("memory", "memoryReservation", "Memory", "MemoryReservation")):
            container["memory"] = 0
    try:
        return _original_requirements(task_definition)
    finally:
        task_definition.container_definitions[:] = saved


ECS._calculate_task_resource_requirements = staticmethod(_requirements)

_original_run_task = ECS.run_task


def _run_task(self, cluster_str, task_definition_str, count, overrides, *args, **kwargs):
    tasks = _original_run_task(self, cluster_str, task_definition_str, count, overrides, *args, **kwargs)
    definition = self.describe_task_definition(task_definition_str)
    code, reason, lines = _outcome(self, definition, overrides)
    for task in tasks:
        if code is None:
            _stop(task, None, reason, "TaskFailedToStart")
        else:
            task.reconcile_outcome = (code, reason, lines, definition)
            _steps[task.task_arn] = 0
    return tasks


_original_describe_tasks = ECS.describe_tasks


def _describe_tasks(self, cluster_str, tasks):
    described = _original_describe_tasks(self, cluster_str, tasks)
    for task in described:
        outcome = getattr(task, "reconcile_outcome", None)
        if outcome is None:
            continue
        _steps[task.task_arn] = _steps.get(task.task_arn, 0) + 1
        if _steps[task.task_arn] >= 2:
            code, reason, lines, definition = outcome
            _stop(task, code, reason, "EssentialContainerExited")
            _write_logs(self, task, definition, lines)
            task.reconcile_outcome = None
        else:
            task.status = "RUNNING"
    return described


def _deployment(service, task_definition):
    deployment_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
    now = utcnow()
    return {
        "createdAt": now, "desiredCount": service.desired_count, "failedTasks": 0, "id": deployment_id,
        "launchType": service.launch_type, "pendingCount": 0, "runningCount": 0,
        "rolloutState": "IN_PROGRESS", "rolloutStateReason": f"ECS deployment {deployment_id} in progress.",
        "platformVersion": service.platform_version, "networkConfiguration": service.network_configuration,
        "platformFamily": "FARGATE", "status": "PRIMARY", "taskDefinition": task_definition, "updatedAt": now,
    }


def _event(service, message):
    service.events.insert(0, {"id": str(mock_random.uuid4()), "createdAt": utcnow(),
                              "message": f"(service {service.name}) {message}"})


_original_update_service = ECS.update_service


def _update_service(self, service_properties):
    cluster = self._get_cluster(service_properties.get("cluster", "default"))
    name = service_properties.get("service", "").split("/")[-1]
    before = self.services.get(f"{cluster.name}:{name}")
    previous = before.task_definition if before else None
    force = service_properties.get("force_new_deployment")
    service = _original_update_service(self, service_properties)
    if service_properties.get("capacity_provider_strategy"):
        service.launch_type = None
    if service.task_definition != previous or force:
        for deployment in service.deployments:
            if deployment["status"] == "PRIMARY":
                deployment["status"] = "ACTIVE"
        service.deployments.insert(0, _deployment(service, service.task_definition))
        service.running_count = 0
        _record_deployment(self, service, service.deployments[0])
    return service


_original_describe_services = ECS.describe_services


def _advance(self, cluster, service, deployment):
    steps = _steps[deployment["id"]] = _steps.get(deployment["id"], 0) + 1
    definition = self.describe_task_definition(deployment["taskDefinition"])
    code, reason, lines = _outcome(self, definition)
    desired = service.desired_count
    deployment["desiredCount"] = desired
    deployment["updatedAt"] = utcnow()
    if code == 0:
        if steps == 1:
            deployment["pendingCount"], deployment["runningCount"] = desired, 0
            return
        deployment.update(pendingCount=0, runningCount=desired, rolloutState="COMPLETED",
                          rolloutStateReason=f"ECS deployment {deployment['id']} completed.")
        service.deployments[:] = [d for d in service.deployments if d is deployment]
        service.running_count, service.pending_count = desired, 0
        _event(service, "has reached a steady state.")
        _deployment_ended(deployment, True)
        return
    # The deployment's tasks stop as soon as they start.
    for task in self.run_task(cluster.name, deployment["taskDefinition"], max(desired, 1), None,
                              started_by=deployment["id"], tags=None, launch_type="FARGATE",
                              networking_configuration=service.network_configuration,
                              group=f"service:{service.name}"):
        _stop(task, code, reason, "TaskFailedToStart" if code is None else "EssentialContainerExited")
        _write_logs(self, task, definition, lines)
        task.reconcile_outcome = None
    deployment["failedTasks"] += max(desired, 1)
    _event(service, f"has started {max(desired, 1)} tasks: task failed: {reason}.")
    breaker = (service.deployment_configuration or {}).get("deploymentCircuitBreaker") or {}
    if steps < 2 or not breaker.get("enable"):
        return
    deployment.update(rolloutState="FAILED",
                      rolloutStateReason="ECS deployment circuit breaker: tasks failed to start.")
    _event(service, f"(deployment {deployment['id']}) deployment failed: tasks failed to start.")
    previous = next((d for d in service.deployments if d["status"] == "ACTIVE"), None)
    if breaker.get("rollback") and previous is not None:
        deployment["status"] = "ACTIVE"
        rollback = _deployment(service, previous["taskDefinition"])
        service.deployments[:] = [rollback, deployment]
        service.task_definition = previous["taskDefinition"]
        _event(service, f"(deployment {deployment['id']}) rolling back to deployment {previous['id']}.")
        _deployment_ended(deployment, False, "ECS deployment circuit breaker: tasks failed to start.", rollback)
    else:
        _deployment_ended(deployment, False, "ECS deployment circuit breaker: tasks failed to start.")


def _describe_services(self, cluster_str, service_names_or_arns):
    services, failures = _original_describe_services(self, cluster_str, service_names_or_arns)
    cluster = self._get_cluster(cluster_str)
    for service in services:
        for deployment in list(service.deployments):
            if deployment.get("rolloutState") == "IN_PROGRESS":
                _advance(self, cluster, service, deployment)
                break
    return services, failures


# 13. ECR digests are the manifest's SHA-256.
import hashlib  # noqa: E402


def _create_digest(self):
    self._image_digest = "sha256:" + hashlib.sha256(self.image_manifest.encode("utf-8")).hexdigest()


ecr_models.Image._create_digest = _create_digest


# 14. ECR layers are blobs.
import json  # noqa: E402
import threading  # noqa: E402
import urllib.parse  # noqa: E402

from moto.core.exceptions import ServiceException  # noqa: E402
from moto.ecr import responses as ecr_responses  # noqa: E402

_blobs = {}  # (account, region, repository, digest) -> bytes
_blobs_lock = threading.Lock()


class LayersNotFoundException(ServiceException):
    code = "LayersNotFoundException"


class ReferencedImagesNotFoundException(ServiceException):
    code = "ReferencedImagesNotFoundException"


class LayerInaccessibleException(ServiceException):
    code = "LayerInaccessibleException"


_original_complete_layer_upload = ecr_models.ECRBackend.complete_layer_upload


def _complete_layer_upload(self, repository_name, upload_id, layer_digests, registry_id=None):
    repository = self._get_repository(repository_name, registry_id)
    upload = repository.uploads.get(upload_id)
    data = bytes(upload.layer_parts) if upload is not None else b""
    result = _original_complete_layer_upload(self, repository_name, upload_id, layer_digests, registry_id)
    with _blobs_lock:
        _blobs[(self.account_id, self.region_name, repository_name, result["layerDigest"])] = data
    return result


_IMAGE_MANIFESTS = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
)
_original_put_image = ecr_models.ECRBackend.put_image


def _put_image(self, repository_name, image_manifest, image_tag, image_manifest_mediatype=None, digest=None):
    repository = self.repositories.get(repository_name)
    if repository is not None:
        try:
            manifest = json.loads(image_manifest)
        except ValueError:
            manifest = {}
        media_type = image_manifest_mediatype or manifest.get("mediaType")
        if media_type in _IMAGE_MANIFESTS or "layers" in manifest:
            blobs = [manifest.get("config", {}).get("digest")] + [layer.get("digest") for layer in manifest.get("layers", [])]
            missing = [blob for blob in blobs if blob and blob not in repository.layers]
            if missing:
                raise LayersNotFoundException(
                    f"The following layers were not found in the repository with name '{repository_name}': {', '.join(missing)}")
        elif "manifests" in manifest:
            held = {image.get_image_digest() for image in repository.images}
            missing = [child["digest"] for child in manifest["manifests"] if child.get("digest") not in held]
            if missing:
                raise ReferencedImagesNotFoundException(
                    f"The following referenced images were not found: {', '.join(missing)}")
    return _original_put_image(self, repository_name, image_manifest, image_tag, image_manifest_mediatype, digest)


def _get_download_url_for_layer(self):
    repository_name = self._get_param("repositoryName")
    digest = self._get_param("layerDigest")
    backend = self.ecr_backend
    repository = backend._get_repository(repository_name, self._get_param("registryId"))
    with _blobs_lock:
        held = (backend.account_id, backend.region_name, repository_name, digest) in _blobs
    if not held:
        raise LayerInaccessibleException(f"The layer '{digest}' is not available in repository '{repository_name}'")
    host = self.headers.get("Host", "localhost")
    path = "/".join(urllib.parse.quote(part, safe="") for part in
                    (backend.account_id, backend.region_name, repository.name, digest))
    return ActionResult({"downloadUrl": f"http://{host}/_emulator/ecr-layer/{path}", "layerDigest": digest})


def _serve_blobs(app):
    def serve(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/_emulator/ecr-layer/"):
            return app(environ, start_response)
        parts = [urllib.parse.unquote(part) for part in path[len("/_emulator/ecr-layer/"):].split("/")]
        with _blobs_lock:
            data = _blobs.get(tuple(parts)) if len(parts) == 4 else None
        if data is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such layer"]
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(data)))])
        return [data]
    return serve


ecr_models.ECRBackend.complete_layer_upload = _complete_layer_upload
ecr_models.ECRBackend.put_image = _put_image
ecr_responses.ECRResponse.get_download_url_for_layer = _get_download_url_for_layer


# 15. Service deployments and service revisions.
_service_deployments = {}  # service deployment arn -> record, in creation order
_service_revisions = {}  # service revision arn -> record
_deployment_records = {}  # ECS deployment id -> (service deployment arn, is the rollback)


def _image_digest(backend, image):
    match = re.match(r"^(\d{12})\.dkr\.ecr\.[^/]+/([^:@]+)(?::(.+)|@(sha256:[0-9a-f]+))$", image)
    if not match:
        return None
    account, repository, tag, digest = match.groups()
    if digest:
        return digest
    repo = ecr_models.ecr_backends[account][backend.region_name].repositories.get(repository)
    found = next((i for i in (repo.images if repo else []) if tag in i.image_tags), None)
    return found.image_digest if found else None


def _arn(service, kind):
    cluster = service.cluster_arn.split("/")[-1]
    prefix = service.cluster_arn.split(":cluster/")[0]
    return f"{prefix}:{kind}/{cluster}/{service.name}/{mock_random.get_random_string(length=22)}"


def _record_deployment(backend, service, deployment):
    """A service deployment (and its target service revision) for a new ECS deployment."""
    now = utcnow()
    definition = backend.describe_task_definition(deployment["taskDefinition"])
    revision_arn = _arn(service, "service-revision")
    _service_revisions[revision_arn] = {
        "serviceRevisionArn": revision_arn, "serviceArn": service.arn, "clusterArn": service.cluster_arn,
        "taskDefinition": deployment["taskDefinition"], "launchType": service.launch_type or "FARGATE",
        "platformVersion": "1.4.0", "platformFamily": "Linux", "createdAt": now,
        "containerImages": [
            {"containerName": c.get("name"), "image": c.get("image"),
             "imageDigest": _image_digest(backend, c.get("image", ""))}
            for c in definition.container_definitions],
    }
    sources = [r for r in _service_deployments.values()
               if r["serviceArn"] == service.arn and r["status"] in ("SUCCESSFUL", "IN_PROGRESS")]
    for record in sources:
        if record["status"] == "IN_PROGRESS":
            record.update(status="STOPPED", statusReason="Stopped by a newer service deployment.",
                          finishedAt=now, updatedAt=now)
    arn = _arn(service, "service-deployment")
    _service_deployments[arn] = {
        "serviceDeploymentArn": arn, "serviceArn": service.arn, "clusterArn": service.cluster_arn,
        "createdAt": now, "startedAt": now, "updatedAt": now,
        "sourceServiceRevisions": [{"arn": r["targetServiceRevision"]["arn"]} for r in sources[-1:]],
        "targetServiceRevision": {"arn": revision_arn, "requestedTaskCount": service.desired_count,
                                  "runningTaskCount": 0, "pendingTaskCount": 0},
        "status": "IN_PROGRESS",
        "deploymentConfiguration": service.deployment_configuration or DEFAULT_DEPLOYMENT_CONFIGURATION,
    }
    _deployment_records[deployment["id"]] = (arn, False)


def _deployment_ended(deployment, completed, reason=None, rollback=None):
    arn, is_rollback = _deployment_records.get(deployment["id"], (None, False))
    record = _service_deployments.get(arn)
    if record is None:
        return
    now = utcnow()
    if completed:
        record.update(status="ROLLBACK_SUCCESSFUL" if is_rollback else "SUCCESSFUL", finishedAt=now)
        record["targetServiceRevision"]["runningTaskCount"] = deployment["desiredCount"]
    elif rollback is not None:
        _deployment_records[rollback["id"]] = (arn, True)
        revision = next((r["targetServiceRevision"]["arn"] for r in _service_deployments.values()
                         if r["serviceArn"] == record["serviceArn"]
                         and r["targetServiceRevision"]["arn"] in
                         [s["arn"] for s in record["sourceServiceRevisions"]]), None)
        record.update(status="ROLLBACK_IN_PROGRESS", statusReason=reason,
                      rollback={"reason": reason, "startedAt": now, "serviceRevisionArn": revision})
    else:
        record.update(status="STOPPED", statusReason=reason, finishedAt=now)
    record["updatedAt"] = now


def _page(items, max_results, token):
    start = int(token or 0)
    size = max(1, min(int(max_results or 20), 100))
    page = items[start:start + size]
    more = start + size < len(items)
    return page, (str(start + size) if more else None)


def _list_service_deployments(self):
    cluster = self.ecs_backend._get_cluster(self._get_param("cluster", "default"))
    name = self._get_param("service").split("/")[-1]
    statuses = self._get_param("status") or []
    records = [r for r in _service_deployments.values()
               if r["clusterArn"] == cluster.arn and r["serviceArn"].split("/")[-1] == name
               and (not statuses or r["status"] in statuses)]
    page, token = _page(records, self._get_param("maxResults"), self._get_param("nextToken"))
    briefs = [{key: r[key] for key in ("serviceDeploymentArn", "serviceArn", "clusterArn", "startedAt",
                                       "createdAt", "finishedAt", "status", "statusReason") if key in r}
              | {"targetServiceRevisionArn": r["targetServiceRevision"]["arn"]} for r in page]
    result = {"serviceDeployments": briefs}
    if token:
        result["nextToken"] = token
    return ActionResult(result)


def _describe_by_arn(store, arns, key):
    found = [store[arn] for arn in arns if arn in store]
    failures = [{"arn": arn, "reason": "MISSING"} for arn in arns if arn not in store]
    return ActionResult({key: found, "failures": failures})


def _describe_service_deployments(self):
    return _describe_by_arn(_service_deployments, self._get_param("serviceDeploymentArns") or [],
                            "serviceDeployments")


def _describe_service_revisions(self):
    return _describe_by_arn(_service_revisions, self._get_param("serviceRevisionArns") or [],
                            "serviceRevisions")


ecs_responses.EC2ContainerServiceResponse.list_service_deployments = _list_service_deployments
ecs_responses.EC2ContainerServiceResponse.describe_service_deployments = _describe_service_deployments
ecs_responses.EC2ContainerServiceResponse.describe_service_revisions = _describe_service_revisions

ECS.run_task = _run_task
ECS.describe_tasks = _describe_tasks
ECS.update_service = _update_service
ECS.describe_services = _describe_services


# 17. FilterLogEvents honours logStreamNamePrefix.
from moto.logs import responses as logs_responses  # noqa: E402

_filter_log_events = logs_responses.LogsResponse.filter_log_events


def _filter_log_events_by_prefix(self):
    prefix = self._get_param("logStreamNamePrefix")
    group = self.logs_backend.groups.get(self._get_param("logGroupName"))
    if not prefix or self._get_param("logStreamNames") or group is None:
        return _filter_log_events(self)
    names = [name for name in group.streams if name.startswith(prefix)]
    if not names:
        return json.dumps({"events": [], "searchedLogStreams": []})
    get_param = self._get_param
    self._get_param = lambda name, default=None: names if name == "logStreamNames" else get_param(name, default)
    return _filter_log_events(self)


logs_responses.LogsResponse.filter_log_events = _filter_log_events_by_prefix


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    import os
    import signal

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    # What moto.server.main does, with the layer download URLs (patch 14) in front.
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True
    run_simple(host, port, _one_dynamodb_request_at_a_time(_serve_blobs(app)), threaded=True,
               request_handler=MotoRequestHandler)


# 16. DynamoDB conditional writes are atomic: one DynamoDB request at a time.
_dynamodb_lock = threading.Lock()


def _one_dynamodb_request_at_a_time(app):
    def serve(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with _dynamodb_lock:
                return list(app(environ, start_response))
        return app(environ, start_response)
    return serve


if __name__ == "__main__":
    main()
