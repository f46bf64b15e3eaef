"""Pushes an image into the emulator's ECR under one or more tags, standing in for a build's
`docker push` (a config and a layer uploaded, then the manifest under each tag). Prints its digest.

Usage: python push.py --endpoint URL [--region R] REPO TAG [TAG...]
"""

import argparse

import seed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", default="ap-south-1")
    parser.add_argument("--account")
    parser.add_argument("repository")
    parser.add_argument("tags", nargs="+")
    args = parser.parse_args()
    ecr = seed.client("ecr", args)
    image = seed.push_image(ecr, args.repository, args.tags[0])["image"]
    for tag in args.tags[1:]:
        ecr.put_image(repositoryName=args.repository, imageManifest=image["imageManifest"], imageTag=tag)
    print(image["imageId"]["imageDigest"])


if __name__ == "__main__":
    main()
