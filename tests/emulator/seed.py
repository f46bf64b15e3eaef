"""Seeds an emulator account with what an environment presupposes but reconcile does not own:
a VPC with two subnets, a security group, a target group, DB and cache subnet groups, ECR repositories holding pushed image tags, and the
Secrets Manager secrets and SSM parameters the state files reference. Prints the ids as JSON on stdout.

Usage: python seed.py --endpoint URL [--region R] [--image REPO=TAG[,TAG...]]... [--secret NAME]...
                      [--parameter /NAME]...
"""

import argparse
import hashlib
import json

import boto3


def client(service, args):
    c = boto3.client(
        service,
        region_name=args.region,
        endpoint_url=args.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    if args.account:
        def add_account(request, **_):
            request.headers["x-moto-account-id"] = args.account
        c.meta.events.register("before-sign.*.*", add_account)
    return c


def push_blob(ecr, repository, data):
    """Uploads one blob (config or layer) the way docker push does; returns its descriptor."""
    upload = ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
    ecr.upload_layer_part(repositoryName=repository, uploadId=upload, partFirstByte=0,
                          partLastByte=len(data) - 1, layerPartBlob=data)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    ecr.complete_layer_upload(repositoryName=repository, uploadId=upload, layerDigests=[digest])
    return {"size": len(data), "digest": digest}


def push_image(ecr, repository, tag):
    """A distinct, well-formed Docker image per tag (a config and one layer, both uploaded first,
    as ECR requires), so each tag has its own digest."""
    config = push_blob(ecr, repository, f"{repository}:{tag}".encode())
    layer = push_blob(ecr, repository, f"the files of {repository}:{tag}".encode())
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", **config},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", **layer}],
    })
    return ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", default="ap-south-1")
    parser.add_argument("--account")
    parser.add_argument("--image", action="append", default=[], help="REPO=TAG[,TAG...]")
    parser.add_argument("--secret", action="append", default=[], help="Secrets Manager secret name")
    parser.add_argument("--parameter", action="append", default=[], help="SSM SecureString parameter name")
    args = parser.parse_args()

    ec2 = client("ec2", args)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{args.region}{zone}")["Subnet"]["SubnetId"]
        for i, zone in enumerate("ab", start=1)
    ]
    group = ec2.create_security_group(GroupName="kaapi-app", Description="Kaapi tasks", VpcId=vpc)["GroupId"]
    # A target group for the API, as its load balancer's owner would have made it (Fargate: type ip).
    target_group = client("elbv2", args).create_target_group(
        Name="kaapi-api", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip",
        HealthCheckPath="/api/v1/utils/health/",
    )["TargetGroups"][0]["TargetGroupArn"]

    # Subnet groups for the data stores, as the network's owner would have made them.
    client("rds", args).create_db_subnet_group(
        DBSubnetGroupName="kaapi-db-subnets", DBSubnetGroupDescription="Kaapi databases", SubnetIds=subnets)
    client("elasticache", args).create_cache_subnet_group(
        CacheSubnetGroupName="kaapi-cache-subnets", CacheSubnetGroupDescription="Kaapi caches", SubnetIds=subnets)

    ecr = client("ecr", args)
    digests = {}
    for spec in args.image:
        repository, _, tags = spec.partition("=")
        try:
            ecr.create_repository(repositoryName=repository)
        except ecr.exceptions.RepositoryAlreadyExistsException:
            pass
        for tag in filter(None, tags.split(",")):
            image = push_image(ecr, repository, tag)
            digests[f"{repository}:{tag}"] = image["image"]["imageId"]["imageDigest"]

    secrets = client("secretsmanager", args)
    for name in args.secret:
        # Values are fixed, recognisable fakes so tests can assert they never reach any output.
        keys = ("SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "RABBITMQ_PASSWORD")
        value = {key: f"seeded-secret-value-{key.lower()}" for key in keys}
        secrets.create_secret(Name=name, SecretString=json.dumps(value))
    ssm = client("ssm", args)
    for name in args.parameter:
        ssm.put_parameter(Name=name, Value="seeded-secret-value-parameter", Type="SecureString")

    account = client("sts", args).get_caller_identity()["Account"]
    print(json.dumps({"account": account, "vpc": vpc, "subnets": subnets, "security_group": group,
                      "target_group": target_group, "digests": digests}))


if __name__ == "__main__":
    main()
