//! `reconcile import`: the state file of a live environment, written from what AWS holds (the
//! services, the revisions they run and the backing services), the smallest that renders back to
//! the same content. Pure: the AWS layer gathers an `ImportInput`; this module writes the text.
//!
//! Names that follow the convention are left to their defaults; variables every application
//! container shares go to the top, those a service's containers share to the service; secrets
//! stay references exactly as the task definition holds them; a plain value under a
//! credential-looking name is never written (a `secrets:` entry to fill in takes its place); an
//! image on `:latest` is pinned to the digest it runs. What the format cannot express is listed
//! at the top of the file, never dropped silently.

mod backing;
mod input;
mod node;
mod references;
mod service;
mod variables;

pub use input::{AppImage, EcrImage, ImportInput};
pub use references::PLACEHOLDER;

use node::{MapBuilder, Node, to_yaml};

use crate::state::naming::Names;

/// The written state file and what its owner has to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub text: String,
    /// Steps before the file validates or the first apply, naming settings, never values.
    pub todo: Vec<String>,
}

/// Why no state file could be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error(
        "no service to import in cluster {cluster}: name them with --service, or check the cluster"
    )]
    NoServices { cluster: String },
    #[error(
        "{} another environment's (their `reconcile:environment` tag): importing would relabel them\n  help: import the environment that owns them, or pass --take-over to move them to {environment} (the file then says `take_over_from:` and the plan shows each relabelling)",
        owned.iter().map(|(what, owner)| format!("{what} is {owner}'s")).collect::<Vec<_>>().join("; ") + ", so they are"
    )]
    OwnedElsewhere {
        environment: String,
        owned: Vec<(String, String)>,
    },
    #[error(
        "--take-over: the resources belong to several environments ({owners}); import one environment's at a time (--service)"
    )]
    SeveralOwners { owners: String },
}

/// The application image: the first container image from this account's ECR that names a tag
/// or a digest, in service order; `None` when no container runs one (each container then keeps
/// its image as written, whatever its registry).
fn app_image(input: &ImportInput) -> Option<AppImage> {
    let registry = format!("{}.dkr.ecr.{}.amazonaws.com/", input.account, input.region);
    input
        .services
        .iter()
        .flat_map(|(_, revision)| &revision.content.containers)
        .filter_map(|container| {
            let live = container.image.as_str();
            let path = live.strip_prefix(&registry)?;
            let (repository, tag, digest) = match path.split_once('@') {
                Some((repository, digest)) => (repository, None, Some(digest.to_string())),
                // A reference without a tag stays as written: the state's image always names one.
                None => path
                    .rsplit_once(':')
                    .map(|(repository, tag)| (repository, Some(tag.to_string()), None))?,
            };
            Some(AppImage {
                base: format!("{registry}{repository}"),
                repository: repository.to_string(),
                tag,
                digest,
                live: live.to_string(),
            })
        })
        .next()
}

/// Writes the state file for `input`.
pub fn import(input: &ImportInput) -> Result<Imported, ImportError> {
    if input.services.is_empty() {
        return Err(ImportError::NoServices {
            cluster: input.cluster.clone(),
        });
    }
    let names = Names::new(&input.prefix, &input.environment);
    let owner = owner_elsewhere(input)?;
    let image = app_image(input);
    let mut todo = Vec::new();
    let mut root = MapBuilder::new();
    root.value("version", 1)
        .value("environment", input.environment.as_str())
        .value("region", input.region.as_str())
        .value("account", input.account.as_str())
        .value("prefix", input.prefix.as_str());
    if let Some(owner) = &owner {
        root.set(
            "take_over_from",
            Node::commented(
                owner.as_str(),
                "reconcile import --take-over: the plan relabels its resources to this environment",
            ),
        );
    }
    if let Some(image) = &image {
        root.map("image", image_block(input, &names, image));
    }
    if input.cluster != names.cluster() {
        root.value("cluster", input.cluster.as_str());
    }
    let layout = service::Layout::new(input, &names, image.as_ref());
    layout.shared(&mut root);
    let outputs = backing::outputs(&input.backing);
    let variables = variables::split(input, image.as_ref(), &outputs);
    variables.write_top(&mut root, &mut todo);
    let mut backing_map = MapBuilder::new();
    for (key, live) in &input.backing {
        backing_map.set(key, backing::spec(input, key, live, &names, &mut todo));
    }
    root.map("backing", backing_map);
    let mut services = MapBuilder::new();
    for (index, (live, revision)) in input.services.iter().enumerate() {
        let key = layout.keys[index].clone();
        services.set(
            &key,
            layout.service(index, live, revision, &variables, &mut todo),
        );
    }
    root.map("services", services);
    let mut text = format!(
        "# Imported by `reconcile import` from {} ({} services{}) in account {}, region {}.\n# Check it with `reconcile validate`, then `reconcile plan` before the first apply.\n# No migrations were imported: add yours under `migrations:` (see the README).\n",
        input.cluster,
        input.services.len(),
        if input.backing.is_empty() {
            String::new()
        } else {
            format!(", {} backing services", input.backing.len())
        },
        input.account,
        input.region
    );
    text.push_str(&to_yaml(&root.build()));
    Ok(Imported { text, todo })
}

/// The `image:` block: the repository where it is not the default, and the tag or digest as the
/// running revisions name it (a digest by the tag naming it, while one does).
fn image_block(input: &ImportInput, names: &Names, image: &AppImage) -> MapBuilder {
    let mut map = MapBuilder::new();
    if image.repository != names.repository() {
        map.value("repository", image.repository.as_str());
    }
    match (&image.tag, &image.digest) {
        (Some(tag), _) if tag == "latest" => {
            map.set(
                "tag",
                Node::commented(
                    "latest",
                    "as the services run it; a moving tag: `reconcile image set --digest` pins it",
                ),
            );
        }
        (Some(tag), _) => {
            map.value("tag", tag.as_str());
        }
        (None, Some(digest)) => {
            // Revisions name the digest (reconcile pins it); the state names the tag while it
            // still names those bytes, as the file was written.
            let tag = input.images.get(&image.live).and_then(|found| {
                found
                    .tags
                    .iter()
                    .find(|tag| tag.as_str() != "latest")
                    .cloned()
            });
            match tag {
                Some(tag) => {
                    map.set(
                        "tag",
                        Node::commented(
                            tag,
                            format!("names {digest}, the digest the services run"),
                        ),
                    );
                }
                None => {
                    map.value("digest", digest.as_str());
                }
            }
        }
        (None, None) => {}
    }
    map
}

/// The one other environment whose tag the cluster or services carry, when `--take-over` moves
/// them; refused without it.
fn owner_elsewhere(input: &ImportInput) -> Result<Option<String>, ImportError> {
    use crate::state::desired::ENVIRONMENT_TAG;
    let other = |tags: &std::collections::BTreeMap<String, String>| {
        tags.get(ENVIRONMENT_TAG)
            .filter(|owner| **owner != input.environment)
            .cloned()
    };
    let mut owned: Vec<(String, String)> = Vec::new();
    if let Some(owner) = other(&input.cluster_tags) {
        owned.push((format!("cluster {}", input.cluster), owner));
    }
    for (service, _) in &input.services {
        if let Some(owner) = other(&service.tags) {
            owned.push((format!("service {}", service.name), owner));
        }
    }
    if owned.is_empty() {
        return Ok(None);
    }
    if !input.take_over {
        return Err(ImportError::OwnedElsewhere {
            environment: input.environment.clone(),
            owned,
        });
    }
    let owners: std::collections::BTreeSet<&str> =
        owned.iter().map(|(_, owner)| owner.as_str()).collect();
    match owners.len() {
        1 => Ok(owners.into_iter().next().map(str::to_string)),
        _ => Err(ImportError::SeveralOwners {
            owners: owners.into_iter().collect::<Vec<_>>().join(", "),
        }),
    }
}
