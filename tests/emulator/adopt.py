"""Puts one task definition of tests/fixtures/real-shapes behind a service, as its team would
have: registered as the file is written (a console export's read-only fields and nulls are what
`aws ecs register-task-definition --cli-input-json` is given too, and AWS ignores or refuses
them the same way boto3 needs them gone), then a cluster and a service made by hand.

The service's launch comes from the fixture's entry in services.json: its launch type (default:
FARGATE when the definition requires it, EC2 otherwise), scheduling strategy, desired count and
placement. `awsvpc` services get the seeded subnets and security group.

Usage: python adopt.py ENDPOINT FIXTURE SUBNET SECURITY_GROUP CLUSTER SERVICE
"""

import json
import pathlib
import sys

import boto3

REGION = "ap-south-1"
# What DescribeTaskDefinition returns beyond RegisterTaskDefinition's input (console exports).
READ_ONLY = ("taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
             "registeredAt", "registeredBy", "deregisteredAt")


def client(service, endpoint):
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def without_nulls(value):
    """A console export writes `null` for unset fields; the API takes them as absent."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def main():
    endpoint, fixture, subnet, group, cluster, service = sys.argv[1:]
    path = pathlib.Path(fixture)
    definition = without_nulls(json.loads(path.read_text()))
    for key in READ_ONLY:
        definition.pop(key, None)
    tags = definition.pop("tags", None)
    launch = json.loads((path.parent / "services.json").read_text()).get(path.stem, {})

    ecs = client("ecs", endpoint)
    ecs.create_cluster(clusterName=cluster)
    arn = ecs.register_task_definition(**definition, **({"tags": tags} if tags else {}))[
        "taskDefinition"]["taskDefinitionArn"]
    requires = definition.get("requiresCompatibilities", [])
    params = {"cluster": cluster, "serviceName": service, "taskDefinition": arn}
    if "capacityProviderStrategy" in launch:
        params["capacityProviderStrategy"] = launch["capacityProviderStrategy"]
    else:
        params["launchType"] = launch.get("launchType", "FARGATE" if "FARGATE" in requires else "EC2")
    strategy = launch.get("schedulingStrategy", "REPLICA")
    params["schedulingStrategy"] = strategy
    if strategy == "REPLICA":
        params["desiredCount"] = launch.get("desiredCount", 1)
    for key in ("placementConstraints", "placementStrategy", "deploymentConfiguration"):
        if key in launch:
            params[key] = launch[key]
    if definition.get("networkMode") == "awsvpc":
        params["networkConfiguration"] = {"awsvpcConfiguration": {
            "subnets": [subnet], "securityGroups": [group], "assignPublicIp": "DISABLED"}}
    # A running service's awslogs groups exist: its tasks could not have started without them
    # (or the agent created them, with awslogs-create-group).
    logs = client("logs", endpoint)
    for container in definition.get("containerDefinitions", []):
        options = (container.get("logConfiguration") or {}).get("options") or {}
        if container.get("logConfiguration", {}).get("logDriver") == "awslogs" and "awslogs-group" in options:
            try:
                logs.create_log_group(logGroupName=options["awslogs-group"])
            except logs.exceptions.ResourceAlreadyExistsException:
                pass
    ecs.create_service(**params)
    print(arn)


if __name__ == "__main__":
    main()
