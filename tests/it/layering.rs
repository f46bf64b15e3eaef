//! The architecture's rules, checked: the core crate's dependencies hold no AWS SDK crate and no
//! tokio, no two source files import each other (directly or around a longer loop), every source
//! file says what it is for, and the committed JSON Schema is current.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The crates' source folders, by the name other crates use for them.
fn crates() -> Vec<(&'static str, PathBuf)> {
    let root = super::support::root();
    vec![
        ("reconcile_core", root.join("crates/core/src")),
        ("reconcile", root.join("src")),
    ]
}

#[test]
fn the_core_crate_depends_on_no_aws_crate_and_no_tokio() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args([
            "tree",
            "--package",
            "reconcile-core",
            "--edges",
            "normal,build",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(super::support::root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8(output.stdout).unwrap();
    let crates: BTreeSet<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(
        crates.contains("reconcile-core") && crates.contains("serde"),
        "cargo tree listed the core's dependencies: {crates:?}"
    );
    let forbidden: Vec<&&str> = crates
        .iter()
        .filter(|name| {
            name.starts_with("aws-") || name.starts_with("tokio") || name.starts_with("hyper")
        })
        .collect();
    assert!(
        forbidden.is_empty(),
        "the core crate must stay free of AWS and async I/O, but depends on {forbidden:?}"
    );
}

/// A module's path inside its crate: `["plan", "backing"]`.
type ModulePath = Vec<String>;

/// The module path of a file of a crate's source folder.
fn module_of(src: &Path, file: &Path) -> ModulePath {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: ModulePath = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Every path a file names (`use` trees expanded, and paths in code), with the module it was
/// written in (inline modules such as `mod tests` included).
#[derive(Default)]
struct Paths {
    module: ModulePath,
    found: Vec<(ModulePath, Vec<String>)>,
}

fn expand(tree: &syn::UseTree, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let with = |name: String| {
        let mut path = prefix.to_vec();
        path.push(name);
        path
    };
    match tree {
        syn::UseTree::Path(path) => expand(&path.tree, &with(path.ident.to_string()), out),
        syn::UseTree::Name(name) => out.push(with(name.ident.to_string())),
        syn::UseTree::Rename(rename) => out.push(with(rename.ident.to_string())),
        syn::UseTree::Glob(_) => out.push(prefix.to_vec()),
        syn::UseTree::Group(group) => {
            for item in &group.items {
                expand(item, prefix, out);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if item.content.is_some() {
            self.module.push(item.ident.to_string());
            syn::visit::visit_item_mod(self, item);
            self.module.pop();
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut paths = Vec::new();
        expand(&item.tree, &[], &mut paths);
        for path in paths {
            self.found.push((self.module.clone(), path));
        }
    }

    // `pub(super)` names a module it does not import from.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.found.push((self.module.clone(), segments));
        syn::visit::visit_path(self, path);
    }
}

/// File-level import graph of both crates: an edge from each file to every file it names a path
/// into (the longest module prefix of the path that is a file).
fn import_graph() -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    // (crate, module path) -> file
    let mut modules: BTreeMap<(String, ModulePath), PathBuf> = BTreeMap::new();
    let mut files = Vec::new();
    for (name, src) in crates() {
        let mut found = Vec::new();
        rust_files(&src, &mut found);
        for file in found {
            if file.ends_with("main.rs") {
                continue;
            }
            modules.insert((name.to_string(), module_of(&src, &file)), file.clone());
            files.push((name, src.clone(), file));
        }
    }
    // What the root crate re-exports from the core under the same names (`crate::plan`).
    let reexported: BTreeSet<String> = modules
        .keys()
        .filter(|(krate, path)| krate == "reconcile_core" && path.len() == 1)
        .map(|(_, path)| path[0].clone())
        .collect();
    let mut graph: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for (krate, src, file) in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let parsed = syn::parse_file(&text)
            .unwrap_or_else(|error| panic!("{} does not parse: {error}", file.display()));
        let mut paths = Paths {
            module: module_of(src, file),
            ..Paths::default()
        };
        paths.visit_file(&parsed);
        let edges = graph.entry(file.clone()).or_default();
        for (module, path) in paths.found {
            let Some((target_crate, absolute)) = resolve(krate, &module, &path, &modules) else {
                continue;
            };
            let (target_crate, absolute) = if target_crate == "reconcile"
                && absolute
                    .first()
                    .is_some_and(|first| reexported.contains(first))
            {
                ("reconcile_core".to_string(), absolute)
            } else {
                (target_crate, absolute)
            };
            let target = (0..=absolute.len())
                .rev()
                .find_map(|len| modules.get(&(target_crate.clone(), absolute[..len].to_vec())));
            if let Some(target) = target
                && target != file
            {
                edges.insert(target.clone());
            }
        }
    }
    graph
}

/// The crate and absolute module path a path written in `module` of `krate` points at, or `None`
/// for paths outside both crates (std, serde, local names).
fn resolve(
    krate: &str,
    module: &ModulePath,
    path: &[String],
    modules: &BTreeMap<(String, ModulePath), PathBuf>,
) -> Option<(String, ModulePath)> {
    let first = path.first()?;
    let (krate, mut base, rest) = match first.as_str() {
        "crate" => (krate.to_string(), Vec::new(), &path[1..]),
        "reconcile_core" | "reconcile" => (first.clone(), Vec::new(), &path[1..]),
        "self" => (krate.to_string(), module.clone(), &path[1..]),
        "super" => (krate.to_string(), module.clone(), path),
        // A child module named without `self::` (uniform paths); a single name is a local.
        child
            if path.len() > 1
                && modules.contains_key(&(krate.to_string(), {
                    let mut child_path = module.clone();
                    child_path.push(child.to_string());
                    child_path
                })) =>
        {
            (krate.to_string(), module.clone(), path)
        }
        _ => return None,
    };
    let mut rest = rest;
    while rest.first().map(String::as_str) == Some("super") {
        base.pop();
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some((krate, base))
}

/// A loop in the graph, as the files around it, if there is one.
fn find_cycle(graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Option<Vec<PathBuf>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &PathBuf,
        graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        marks: &mut BTreeMap<PathBuf, Mark>,
        stack: &mut Vec<PathBuf>,
    ) -> Option<Vec<PathBuf>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = stack.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(node.clone());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.clone(), Mark::Open);
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        marks.insert(node.clone(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut marks, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn no_two_source_files_import_each_other() {
    let graph = import_graph();
    let edges: usize = graph.values().map(BTreeSet::len).sum();
    assert!(
        graph.len() > 50 && edges > 150,
        "the import graph was read: {} files, {edges} edges",
        graph.len()
    );
    let root = super::support::root();
    let name = |file: &PathBuf| file.strip_prefix(&root).unwrap().display().to_string();
    // Every loop, each reported once: cut the edge that closes it and look again.
    let mut graph = graph;
    let mut cycles = Vec::new();
    while let Some(cycle) = find_cycle(&graph) {
        let (from, to) = (&cycle[cycle.len() - 2], &cycle[cycle.len() - 1]);
        graph.get_mut(from).unwrap().remove(to);
        cycles.push(cycle.iter().map(name).collect::<Vec<_>>().join(" -> "));
    }
    assert!(
        cycles.is_empty(),
        "import cycles between source files:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_cycle_check_sees_a_cycle() {
    // Guards the check above: a graph with a loop is reported, one without is not.
    let (a, b, c) = (PathBuf::from("a"), PathBuf::from("b"), PathBuf::from("c"));
    let mut graph = BTreeMap::from([
        (a.clone(), BTreeSet::from([b.clone()])),
        (b.clone(), BTreeSet::from([c.clone()])),
        (c.clone(), BTreeSet::new()),
    ]);
    assert_eq!(find_cycle(&graph), None);
    graph.get_mut(&c).unwrap().insert(a.clone());
    assert_eq!(find_cycle(&graph), Some(vec![a.clone(), b, c, a]));
}

#[test]
fn every_source_file_says_what_it_is_for() {
    let mut files = Vec::new();
    for (_, src) in crates() {
        rust_files(&src, &mut files);
    }
    assert!(files.len() > 50);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} must open with a `//!` line",
            file.display()
        );
    }
}

#[test]
fn the_committed_json_schema_is_current() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_reconcile"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(output.status.success());
    let committed =
        std::fs::read_to_string(super::support::root().join("schema/state.schema.json")).unwrap();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        committed,
        "regenerate with: cargo run -- schema > schema/state.schema.json"
    );
}
