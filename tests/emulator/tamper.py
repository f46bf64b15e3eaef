"""Changes a live service behind reconcile's back, the way someone in the console would.

Usage: python tamper.py ENDPOINT CLUSTER SERVICE CHANGE [ARGS...]
  env NAME VALUE         set a plain variable in container 0 (new revision, service moved to it)
  secret NAME VALUE_FROM point a secret of container 0 elsewhere (new revision)
  image CONTAINER IMAGE  run another image in one container (new revision)
  cpu CPU MEMORY         resize the task (new revision)
  desired-count N        scale the service
  set PATH JSON          set one field of the task definition (new revision): PATH is dotted, a
                         list element is named by its `name` (containerDefinitions.backend.user);
                         JSON null removes the field
  service PARAM JSON     UpdateService with one parameter (propagateTags "SERVICE", ...)
"""

import json

import sys

import boto3

import seed

READ_ONLY = {"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
             "registeredAt", "registeredBy", "deregisteredAt"}


def main():
    endpoint, cluster, service, change, *args = sys.argv[1:]
    ecs = boto3.client("ecs", region_name="ap-south-1", endpoint_url=endpoint,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    live = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
    if change == "desired-count":
        ecs.update_service(cluster=cluster, service=service, desiredCount=int(args[0]))
        return
    if change == "service":
        param, value = args
        ecs.update_service(cluster=cluster, service=service, **{param: json.loads(value)})
        return
    definition = ecs.describe_task_definition(taskDefinition=live["taskDefinition"])["taskDefinition"]
    definition = {k: v for k, v in definition.items() if k not in READ_ONLY}
    containers = definition["containerDefinitions"]
    if change == "env":
        name, value = args
        env = [e for e in containers[0].get("environment", []) if e["name"] != name]
        containers[0]["environment"] = env + [{"name": name, "value": value}]
    elif change == "secret":
        name, value_from = args
        secrets = [s for s in containers[0].get("secrets", []) if s["name"] != name]
        containers[0]["secrets"] = secrets + [{"name": name, "valueFrom": value_from}]
    elif change == "image":
        container, image = args
        next(c for c in containers if c["name"] == container)["image"] = image
        # Whoever deploys an image by hand pushed it first (else ECS could not start the tasks).
        repository, _, tag = image.split("/", 1)[1].partition(":")
        ecr = boto3.client("ecr", region_name="ap-south-1", endpoint_url=endpoint,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        seed.push_image(ecr, repository, tag)
    elif change == "cpu":
        definition["cpu"], definition["memory"] = args
    elif change == "set":
        path, value = args
        *parents, last = path.split(".")
        target = definition
        for part in parents:
            if isinstance(target, list):
                target = next(item for item in target if item.get("name") == part)
            else:
                target = target.setdefault(part, {})
        if json.loads(value) is None:
            target.pop(last, None)
        else:
            target[last] = json.loads(value)
    else:
        raise SystemExit(f"unknown change {change}")
    arn = ecs.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=cluster, service=service, taskDefinition=arn)


if __name__ == "__main__":
    main()
