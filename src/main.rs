//! The `reconcile` binary: everything happens in `reconcile::cli`.

fn main() -> std::process::ExitCode {
    reconcile::cli::main()
}
