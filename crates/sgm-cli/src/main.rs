//! The `sgm` binary: a thin shell over [`sgm_cli::run`].

fn main() -> std::process::ExitCode {
    sgm_cli::main_with_args(std::env::args_os())
}
