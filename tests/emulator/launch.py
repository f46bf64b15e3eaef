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


def main():
    host, port = sys.argv[1], sys.argv[2]
    from moto.server import main as moto_main

    moto_main(["-H", host, "-p", port])


if __name__ == "__main__":
    main()
