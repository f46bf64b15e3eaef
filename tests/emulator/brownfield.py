"""Builds Kaapi's production the way it was built before reconcile: by hand and with aws-cli
scripts, here boto3. Nothing of it is made by reconcile, nothing carries its tags.

A cluster; RDS PostgreSQL, ElastiCache Redis (AUTH token) and Amazon MQ RabbitMQ under the naming
convention; two services on ARM64 task definitions with ulimits, a non-essential FireLens sidecar
the backend waits for, Docker labels, an init process, stop timeouts and secrets from Secrets
Manager; ECS Exec on the API service. Run after seed.py (VPC, subnets, ECR image, secrets).

Usage: python brownfield.py ENDPOINT SUBNET_A SUBNET_B SECURITY_GROUP [--plain-password] [--latest]
  --plain-password  POSTGRES_PASSWORD in plain `environment` instead of a secret
  --latest          the application image on `:latest` (pushed under that tag too)
"""

import json
import sys

import boto3

REGION = "ap-south-1"
PASSWORD = "brownfield-plain-value-of-postgres-password"


def client(service, endpoint):
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def main():
    endpoint, subnet_a, subnet_b, group, *flags = sys.argv[1:]
    account = client("sts", endpoint).get_caller_identity()["Account"]
    secret = client("secretsmanager", endpoint).describe_secret(SecretId="kaapi/production")["ARN"]

    rds = client("rds", endpoint)
    rds.create_db_instance(
        DBInstanceIdentifier="kaapi-postgres", Engine="postgres", EngineVersion="16.3",
        DBInstanceClass="db.t4g.medium", AllocatedStorage=50, MaxAllocatedStorage=200,
        StorageType="gp3", MultiAZ=True, BackupRetentionPeriod=14, StorageEncrypted=True,
        DeletionProtection=True, MasterUsername="kaapi", MasterUserPassword=PASSWORD, DBName="kaapi",
        DBSubnetGroupName="kaapi-db-subnets", VpcSecurityGroupIds=[group],
        PreferredMaintenanceWindow="sun:21:00-sun:22:00")
    database = rds.describe_db_instances(DBInstanceIdentifier="kaapi-postgres")["DBInstances"][0]

    cache = client("elasticache", endpoint)
    cache.create_replication_group(
        ReplicationGroupId="kaapi-redis", ReplicationGroupDescription="Kaapi cache and Celery results",
        Engine="redis", EngineVersion="7.1", CacheNodeType="cache.t4g.small", NumCacheClusters=2,
        AutomaticFailoverEnabled=True, MultiAZEnabled=True, CacheSubnetGroupName="kaapi-cache-subnets",
        SecurityGroupIds=[group], TransitEncryptionEnabled=True, AtRestEncryptionEnabled=True,
        AuthToken="seeded-secret-value-redis_password")
    redis = cache.describe_replication_groups(ReplicationGroupId="kaapi-redis")["ReplicationGroups"][0]
    redis_host = redis["NodeGroups"][0]["PrimaryEndpoint"]["Address"]

    mq = client("mq", endpoint)
    broker = mq.create_broker(
        BrokerName="kaapi-rabbitmq", EngineType="RABBITMQ", EngineVersion="3.13",
        HostInstanceType="mq.m5.large", DeploymentMode="SINGLE_INSTANCE", PubliclyAccessible=False,
        AutoMinorVersionUpgrade=True, SubnetIds=[subnet_a], SecurityGroups=[group],
        Users=[{"Username": "kaapi", "Password": "seeded-secret-value-rabbitmq_password"}])
    amqps = mq.describe_broker(BrokerId=broker["BrokerId"])["BrokerInstances"][0]["Endpoints"][0]
    rabbit_host, rabbit_port = amqps.split("://", 1)[1].rsplit(":", 1)

    logs = client("logs", endpoint)
    for service in ("kaapi-service", "kaapi-celery-task"):
        logs.create_log_group(logGroupName=f"/ecs/kaapi-cluster/{service}")

    tag = "v1.8.0"
    if "--latest" in flags:
        ecr = client("ecr", endpoint)
        manifest = ecr.batch_get_image(repositoryName="kaapi-repo", imageIds=[{"imageTag": "v1.8.0"}])
        ecr.put_image(repositoryName="kaapi-repo", imageTag="latest",
                      imageManifest=manifest["images"][0]["imageManifest"])
        tag = "latest"
    image = f"{account}.dkr.ecr.{REGION}.amazonaws.com/kaapi-repo:{tag}"
    environment = {
        "ENVIRONMENT": "production", "PROJECT_NAME": "Kaapi", "POSTGRES_DB": "kaapi",
        "POSTGRES_USER": "kaapi", "POSTGRES_SERVER": database["Endpoint"]["Address"],
        "POSTGRES_PORT": str(database["Endpoint"]["Port"]), "REDIS_HOST": redis_host,
        "REDIS_PORT": "6379", "REDIS_DB": "0", "RABBITMQ_HOST": rabbit_host,
        "RABBITMQ_PORT": rabbit_port, "RABBITMQ_USER": "kaapi", "RABBITMQ_VHOST": "/",
    }
    secrets = {key: f"{secret}:{key}::" for key in
               ("SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "RABBITMQ_PASSWORD")}
    if "--plain-password" in flags:
        del secrets["POSTGRES_PASSWORD"]
        environment["POSTGRES_PASSWORD"] = PASSWORD

    def pairs(values):
        return [{"name": k, "value": v} for k, v in values.items()]

    def refs(values):
        return [{"name": k, "valueFrom": v} for k, v in values.items()]

    def logging(service, prefix="ecs"):
        return {"logDriver": "awslogs", "options": {
            "awslogs-group": f"/ecs/kaapi-cluster/{service}", "awslogs-region": REGION,
            "awslogs-stream-prefix": prefix}}

    def worker(service, concurrency):
        return {
            "name": "celery-worker", "image": image, "essential": True,
            "command": ["uv", "run", "celery", "-A", "app.celery.celery_app", "worker", "--loglevel=info"],
            "environment": pairs({**environment, "CELERY_WORKER_CONCURRENCY": concurrency}),
            "secrets": refs(secrets), "stopTimeout": 120,
            "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
            "logConfiguration": logging(service),
        }

    ecs = client("ecs", endpoint)
    ecs.create_cluster(clusterName="kaapi-cluster", capacityProviders=["FARGATE", "FARGATE_SPOT"])
    common = {
        "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "executionRoleArn": f"arn:aws:iam::{account}:role/kaapi-ecs-task-execution-role",
        "taskRoleArn": f"arn:aws:iam::{account}:role/kaapi-ecs-task-role",
        "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
    }
    ecs.register_task_definition(family="kaapi-task", cpu="1024", memory="2048", **common, containerDefinitions=[
        {
            "name": "backend", "image": image, "essential": True,
            "command": ["uv", "run", "uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "80"],
            "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp",
                              "name": "backend-80-tcp", "appProtocol": "http"}],
            "environment": pairs({**environment, "CELERY_WORKER_CONCURRENCY": "2"}),
            "secrets": refs(secrets),
            "healthCheck": {"command": ["CMD-SHELL", "curl -fsS http://localhost:80/api/v1/utils/health/ || exit 1"],
                            "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 60},
            "dependsOn": [{"containerName": "log-router", "condition": "START"}],
            "dockerLabels": {"team": "backend", "com.datadoghq.ad.check_names": "[\"kaapi\"]"},
            "linuxParameters": {"initProcessEnabled": True},
            "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
            "stopTimeout": 60,
            "logConfiguration": logging("kaapi-service"),
        },
        worker("kaapi-service", "2"),
        {
            "name": "log-router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
            "essential": False, "memoryReservation": 50, "user": "0",
            "firelensConfiguration": {"type": "fluentbit", "options": {"enable-ecs-log-metadata": "true"}},
            "logConfiguration": logging("kaapi-service", "firelens"),
        },
    ])
    ecs.register_task_definition(family="kaapi-celery-task", cpu="2048", memory="4096", **common,
                                 containerDefinitions=[worker("kaapi-celery-task", "8")])
    network = {"awsvpcConfiguration": {"subnets": [subnet_a, subnet_b], "securityGroups": [group],
                                       "assignPublicIp": "DISABLED"}}
    deployment = {"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                  "maximumPercent": 200, "minimumHealthyPercent": 100}
    ecs.create_service(cluster="kaapi-cluster", serviceName="kaapi-service", taskDefinition="kaapi-task",
                       desiredCount=2, launchType="FARGATE", networkConfiguration=network,
                       deploymentConfiguration=deployment, enableExecuteCommand=True)
    ecs.create_service(cluster="kaapi-cluster", serviceName="kaapi-celery-task",
                       taskDefinition="kaapi-celery-task", desiredCount=1, launchType="FARGATE",
                       networkConfiguration=network, deploymentConfiguration=deployment)
    print(json.dumps({"postgres": database["Endpoint"]["Address"], "redis": redis_host, "rabbitmq": rabbit_host}))


if __name__ == "__main__":
    main()
